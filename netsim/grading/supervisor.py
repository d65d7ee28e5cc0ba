"""Grade submissions: run each check in this (trusted) process against a proxy of the
student's code, with a time limit per check, and keep the points table.

The student's file is never imported here. It is parsed (not run) for a syntax error and for
the similarity notes (`netsim.grading.similarity`); everything else happens through a
`Session` with a sandboxed process. A check passes by returning; its points are the check
table's (`Assignment.checks`), never anything the student's side sends. A check that runs out
of time, a process that dies, a malformed message: each costs that check, the next check
starts a fresh sandbox, and the batch goes on.
"""

from __future__ import annotations

import ast
import multiprocessing
import os
import time
import traceback
from collections.abc import Callable, Collection, Iterable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from netsim.grading import get_assignment
from netsim.grading.codec import TEXT_CAP, clean_text, one_line, quoted
from netsim.grading.framework import (
    Assignment,
    Check,
    CheckFailed,
    CheckResult,
    Context,
    GradeReport,
    split_spec,
)
from netsim.grading.proxy import SandboxFault, Session, StudentError
from netsim.grading.sandbox import Limits, features
from netsim.grading.similarity import AST_LOCK, MAX_SOURCE, helper_notes, similarity_notes

DEFAULT_TIMEOUT = 10.0  # seconds per check
IMPORT_TIMEOUT = 10.0  # seconds to start Python and import the student's file
MAX_PRINTED = 2000  # characters of the student's own output kept in the feedback


def _enums() -> dict[str, type]:
    from netsim.stack.arp import Enqueue
    return {"Enqueue": Enqueue}


def _file_name(path: Path) -> str:
    """The submission's file name for the feedback: the student's (in a batch, a folder may
    hold one .py file of any name, line breaks included), so on one line, capped."""
    return one_line(path.name, 200)


def precheck(path: Path) -> tuple[str, str]:
    """(problem, source): a problem that stops grading before any code runs, said once."""
    name = _file_name(path)
    if path.is_dir():
        return f"{name} is a folder, not a Python file: give the .py file in it", ""
    if not path.is_file():
        return f"no such file: {one_line(str(path), 300)}", ""
    if path.suffix != ".py":
        return (f"{name} is not a Python file (.py): hand in the starter file with "
                "your code in it"), ""
    size = path.stat().st_size
    if size > MAX_SOURCE:
        return f"{name} has {size} bytes; the grader takes files up to {MAX_SOURCE}", ""
    try:
        source = path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return f"{name} cannot be read as UTF-8 text ({exc})", ""
    try:
        with AST_LOCK:  # (ast is not thread-safe in CPython 3.11: see similarity.AST_LOCK)
            ast.parse(source, filename=path.name)
    except SyntaxError as exc:
        where = f" (line {exc.lineno}: {one_line((exc.text or '').strip(), 200)})" \
            if exc.lineno else ""
        return f"{name} does not compile: SyntaxError: {one_line(str(exc.msg), 300)}{where}", source
    except (RecursionError, MemoryError, ValueError):
        return f"{name} is nested too deeply to compile", source
    return "", source


def grade_submission(assignment: Assignment | str, spec: str | Path,
                     timeout: float = DEFAULT_TIMEOUT, python: str | None = None,
                     import_timeout: float = IMPORT_TIMEOUT,
                     limits: Limits | None = None, siblings: bool = True,
                     stop_at_first_failure: bool = False,
                     only: Collection[str] | None = None,
                     compare_copies: bool = True) -> GradeReport:
    """Grade one file (``path.py`` or ``path.py:ClassName``); never raises for the student's
    code, whatever it does. `siblings`: copy the other .py files of its folder along (its
    helper modules; at most 20). `stop_at_first_failure`: the checks after the first one that
    does not pass are not run (status "skipped"; for the corpus tests, which look only at the
    first failure). `only`: the names of the checks to run; the others are not run (status
    "skipped"; for tests that read one check of a submission). `compare_copies`: False leaves
    out the comparison with the reference and the solutions behind the "looks like a copy"
    note (most of a second of CPU per file; for the corpus tests, which read no notes)."""
    a = get_assignment(assignment) if isinstance(assignment, str) else assignment
    if only is not None:
        unknown = sorted(set(only) - {c.name for c in a.checks})
        if unknown:
            raise ValueError(f"only: {a.name} has no check named {', '.join(unknown)} "
                             f"(its checks: {', '.join(c.name for c in a.checks)})")
    path, cls = split_spec(str(spec))
    t_start = time.perf_counter()
    limits = limits or Limits()
    feats = features()
    problem, source = precheck(path)
    notes = similarity_notes(source, a, cls or a.target, compare_copies) if source else []
    if source and siblings and a.helpers:
        notes += helper_notes(path.parent, a)
    results: list[CheckResult] = []
    if problem:
        results = [_not_run(c, "error", "not run: " + problem) for c in a.checks]
        return GradeReport(a.name, str(spec), results, round(time.perf_counter() - t_start, 3),
                           notes, problem=clean_text(problem, 500), sandbox=feats.missing())
    session = Session(path, limits, feats, python, _enums(), siblings)
    session.returns = a.returns
    status = "error"
    try:
        for check in a.checks:
            if only is not None and check.name not in only:
                results.append(_not_run(check, "skipped", "not run: not asked for"))
                continue
            if stop_at_first_failure and results and not results[-1].passed:
                results.append(_not_run(check, "skipped", "not run: stopped at the first "
                                        "check that did not pass"))
                continue
            if problem:
                results.append(_not_run(check, status, f"not run: {problem.splitlines()[0]}"))
                continue
            if not session.alive:
                status, problem = _start(session, import_timeout, path)
                if problem:
                    results.append(_not_run(check, status,
                                            f"not run: {problem.splitlines()[0]}"))
                    continue
            results.append(run_check(session, check, cls or a.target, path, timeout))
            session.end()
    finally:
        session.close()
    return GradeReport(a.name, str(spec), results, round(time.perf_counter() - t_start, 3),
                       notes, problem=clean_text(problem, 500), sandbox=feats.missing()
                       + ([session.missing] if session.missing else []))


def _not_run(check: Check, status: str, output: str) -> CheckResult:
    return CheckResult(check.name, 0, check.points, status, check.description,
                       clean_text(output))


def _start(session: Session, import_timeout: float, path: Path) -> tuple[str, str]:
    """Start the sandbox: ("", "") or (status, problem) when the file cannot be imported."""
    name = _file_name(path)
    try:
        session.start(import_timeout)
    except StudentError as exc:
        return "error", f"importing {name} failed\n{exc.tb}"
    except OSError as exc:  # the machine's trouble, not the student's: said as such
        session.close()
        return "error", f"the grader could not start a sandbox for {name}: {exc}"
    except SandboxFault as exc:
        code = session.box.proc.poll() if session.box is not None else None
        session.close()
        if exc.kind == "timeout":
            return "timeout", (f"importing {name} did not finish within "
                               f"{import_timeout:g} s (is there an endless loop at the top "
                               "level of your file?)")
        died = "died" + (f" (exit status {code})" if code is not None else "")
        return "error", (f"importing {name}: the process running your code "
                         + (died if exc.kind == "died" else f"failed ({exc.message})"))
    if session.setup.get("not_dropped"):
        session.missing = f"not run as an unprivileged uid: {session.setup['not_dropped']}"
    return "", ""


def run_check(session: Session, check: Check, target: str, path: Path,
              timeout: float) -> CheckResult:
    ctx = Context(session, target, path)
    timeout = check.time_limit(timeout)
    session.begin(timeout)
    t0 = time.perf_counter()
    status, output = "pass", ""
    try:
        check.fn(ctx)
    except CheckFailed as exc:
        status, output = "fail", exc.render(ctx.steps)
    except AssertionError as exc:  # a TcpScript expectation: the message has the script
        status, output = "fail", str(exc)
    except StudentError as exc:
        status, output = "error", "your code raised an exception\n" + exc.tb
    except SandboxFault:
        status = "error"  # replaced below by the session's first fault
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # noqa: BLE001 - a value from the student broke the check
        last = traceback.extract_tb(exc.__traceback__)[-1:]
        where = f" (in {Path(last[0].filename).name}, line {last[0].lineno})" if last else ""
        status = "error"
        output = ("the check could not go on with what your code returned (a value of the "
                  f"wrong type?): {type(exc).__name__}: {one_line(str(exc), 1000)}{where}")
    fault = session.fault
    if fault is not None:
        status, output = _fault_text(fault, timeout, session)
    if status not in ("pass", "fail") and ctx.steps and "script so far" not in output:
        output += "\n\nscript so far:\n" + "\n".join("  " + s for s in ctx.steps[-40:])
    printed = session.printed_text()
    if printed.strip() and status != "pass":
        output += "\n\nyour code printed:\n" + quoted(printed, MAX_PRINTED)
    return CheckResult(check.name, check.points if status == "pass" else 0, check.points,
                       status, check.description, clean_text(output, TEXT_CAP),
                       round(time.perf_counter() - t0, 4))


def _fault_text(fault: SandboxFault, timeout: float, session: Session) -> tuple[str, str]:
    if fault.kind == "timeout":
        return "timeout", (f"time limit exceeded: this check did not finish within "
                           f"{timeout:g} s (an endless loop, or far too slow?)")
    if fault.kind == "died":
        code = session.box.proc.returncode if session.box is not None else None
        return "error", ("the process running your code died"
                         + (f" (exit status {code})" if code is not None else "")
                         + " (exit(), a crash, or a resource limit: memory, CPU, processes)")
    if fault.kind == "value":
        return "error", fault.message
    return "error", "the process running your code broke the protocol: " + fault.message


# ------------------------------------------------------------------------------ batches
def find_submission(entry: Path, a: Assignment) -> Path | None:
    """A submission in a batch folder: a .py file, or a folder holding the starter's file name
    (or exactly one .py file)."""
    if entry.is_symlink():
        return None
    if entry.is_file():
        return entry if entry.suffix == ".py" else None
    if entry.is_dir():
        named = entry / a.filename
        if named.is_file() and not named.is_symlink():
            return named
        files = sorted(p for p in entry.rglob("*.py") if p.is_file() and not p.is_symlink())
        if len(files) == 1:
            return files[0]
    return None


def batch_entries(folder: Path, a: Assignment) -> list[tuple[str, Path | None]]:
    """The entries of a batch folder, sorted by name: (name, its submission file or None)."""
    entries = sorted(p for p in folder.iterdir() if not p.name.startswith((".", "__")))
    found = [(e.name, find_submission(e, a)) for e in entries]
    return [(n, p) for n, p in found if p is not None or Path(folder, n).is_dir()]


def grade_batch(assignment: Assignment | str, folder: Path, timeout: float = DEFAULT_TIMEOUT,
                jobs: int | None = None, python: str | None = None,
                limits: Limits | None = None,
                progress: Callable[[int, int], None] | None = None
                ) -> list[tuple[str, GradeReport | None]]:
    """Grade every submission in `folder` (files and sub-folders, sorted by name), `jobs` at a
    time. A None report: no submission file found in that entry. `progress(done, total)` is
    called as submissions finish."""
    a = get_assignment(assignment) if isinstance(assignment, str) else assignment
    found = batch_entries(folder, a)
    workers = jobs or max(1, min(8, os.cpu_count() or 1))
    out: dict[int, GradeReport | None] = {}
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(grade_submission, a, p, timeout, python, IMPORT_TIMEOUT,
                               limits, p.parent != folder): i
                   for i, (_, p) in enumerate(found) if p is not None}
        for i, (_, p) in enumerate(found):
            if p is None:
                out[i] = None
        if progress:
            progress(len(out), len(found))
        for fut in as_completed(futures):
            i = futures[fut]
            try:
                out[i] = fut.result()
            except Exception as exc:  # noqa: BLE001 - a grader bug must not lose the batch
                out[i] = _failed(a, found[i][0], exc)
            if progress:
                progress(len(out), len(found))
    return [(name, out[i]) for i, (name, _) in enumerate(found)]


def _failed(a: Assignment, name: str, exc: Exception) -> GradeReport:
    problem = f"the grader failed on this submission: {type(exc).__name__}: {exc}"
    return GradeReport(a.name, name, [_not_run(c, "error", "not run: " + problem)
                                      for c in a.checks], problem=clean_text(problem, 500))


def grade_many(items: Iterable[tuple[str, str] | tuple[str, str, dict[str, Any]]],
               timeout: float = DEFAULT_TIMEOUT, jobs: int | None = None,
               import_timeout: float = IMPORT_TIMEOUT, limits: Limits | None = None,
               stop_at_first_failure: bool = False, compare_copies: bool = True
               ) -> list[GradeReport]:
    """Grade (assignment, file) pairs in parallel (used by the tests), the reports in the
    order given. A third element, a dict, gives that file's own keyword arguments of
    `grade_submission` (e.g. ``{"only": ["abc"]}``), over the ones given here for all.

    One worker process per core (at most 8), not threads: the similarity notes and the
    simulations then run side by side (the notes hold a process-wide lock: CPython 3.11's
    ast is not thread-safe), and so do the differential checks (each compares a fixed number
    of random sequences, however many run beside it). Workers are
    started fresh ("spawn"), never forked from a caller that may hold other threads' locks:
    a script calling this needs the usual ``if __name__ == "__main__":`` guard."""
    common: dict[str, Any] = {
        "timeout": timeout, "import_timeout": import_timeout, "limits": limits,
        "stop_at_first_failure": stop_at_first_failure, "compare_copies": compare_copies}
    work = [(p[0], p[1], {**common, **(p[2] if len(p) > 2 else {})}) for p in items]
    workers = min(len(work), jobs or max(1, min(8, os.cpu_count() or 1)))
    if workers <= 1:
        return [_grade_job(w) for w in work]
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        # one at a time per worker (chunksize 1): a slow submission holds up no others
        return list(pool.map(_grade_job, work))


def _grade_job(job: tuple[str, str, dict[str, Any]]) -> GradeReport:
    assignment, path, kw = job
    return grade_submission(assignment, path, **kw)
