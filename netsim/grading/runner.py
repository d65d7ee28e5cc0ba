"""The subprocess that runs a student's code: ``python -m netsim.grading.runner``.

    python -m netsim.grading.runner ASSIGNMENT PATH [--class NAME] [--only a,b,c]

It imports the student's file and runs the checks in order, writing one JSON object per line
to its standard output: ``{"event": "start", "name": ...}`` before a check and
``{"event": "result", ...}`` after it (a `CheckResult`), or ``{"event": "fatal", ...}`` when
the file cannot be imported. Whatever the student's code prints goes to standard error (file
descriptor 1 is moved there), so it cannot disturb the protocol. The supervisor
(`netsim.grading.supervisor`) enforces the time limit and survives a crash of this process.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import time
from pathlib import Path
from typing import IO, Any

from netsim.grading import get_assignment
from netsim.grading.framework import (
    CheckFailed,
    CheckResult,
    Context,
    load_module,
    reference_note,
    student_traceback,
)

MEMORY_LIMIT = 2 << 30  # bytes of address space for the student's process
MAX_PRINTED = 2000  # characters of the student's own output kept in the feedback


def _emit(out: IO[str], obj: dict[str, Any]) -> None:
    out.write(json.dumps(obj) + "\n")
    out.flush()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m netsim.grading.runner")
    parser.add_argument("assignment")
    parser.add_argument("path")
    parser.add_argument("--class", dest="cls", default=None)
    parser.add_argument("--only", default=None, help="comma-separated check names")
    args = parser.parse_args(argv)

    try:  # a runaway allocation becomes a MemoryError in the student's check
        import resource
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    except (ImportError, ValueError, OSError):
        pass
    # The protocol keeps the real stdout; fd 1 (and print) now lead to stderr.
    out = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr

    assignment = get_assignment(args.assignment)
    path = Path(args.path)
    names = args.only.split(",") if args.only else [c.name for c in assignment.checks]
    checks = [assignment.check(n) for n in names]

    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed):
            module = load_module(path)
    except BaseException as exc:  # noqa: BLE001 - the student's import: report anything
        if isinstance(exc, KeyboardInterrupt):
            raise
        where = ""
        if isinstance(exc, SyntaxError) and exc.lineno is not None:
            where = f" (line {exc.lineno}: {(exc.text or '').strip()})"
            msg = f"importing {path.name} failed: SyntaxError: {exc.msg}{where}"
        else:
            msg = f"importing {path.name} failed\n{student_traceback(exc, path)}"
        _emit(out, {"event": "fatal", "output": msg})
        return 0
    try:
        note = reference_note(module, assignment, args.cls or assignment.target)
    except Exception:  # noqa: BLE001 - a note is optional; odd modules must not stop grading
        note = None
    if note:
        _emit(out, {"event": "note", "text": note})

    for check in checks:
        _emit(out, {"event": "start", "name": check.name})
        ctx = Context(module, args.cls or assignment.target, path)
        printed = io.StringIO()
        t0 = time.perf_counter()
        status, output = "pass", ""
        try:
            with contextlib.redirect_stdout(printed):
                check.fn(ctx)
        except CheckFailed as exc:
            status, output = "fail", exc.render(ctx.steps)
        except AssertionError as exc:  # a TcpScript expectation: the message has the script
            status, output = "fail", str(exc)
        except BaseException as exc:  # noqa: BLE001 - any exception in the student's code
            if isinstance(exc, KeyboardInterrupt):
                raise
            status = "error"
            output = "your code raised an exception\n" + student_traceback(exc, path)
            if ctx.steps:
                output += "\n\nscript so far:\n" + "\n".join("  " + s for s in ctx.steps)
        text = printed.getvalue()
        if text and status != "pass":
            cut = text[:MAX_PRINTED] + ("\n[...]" if len(text) > MAX_PRINTED else "")
            output += "\n\nyour code printed:\n" + cut
        result = CheckResult(check.name, check.points if status == "pass" else 0, check.points,
                             status, check.description, output,
                             round(time.perf_counter() - t0, 4))
        _emit(out, {"event": "result", **result.to_dict()})
    return 0


if __name__ == "__main__":
    sys.exit(main())
