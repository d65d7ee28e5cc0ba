"""Run the checks of one submission in a subprocess, with a time limit per check.

The runner (`netsim.grading.runner`) reports each check as it starts and ends. When a check
overruns its limit, or the process dies (``os._exit``, a crash, memory exhausted), that check
is recorded as failed and a fresh runner carries on with the checks left. An endless loop in
the student's code therefore costs that check, never the grader.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO, Any

from netsim.grading import get_assignment
from netsim.grading.framework import Assignment, CheckResult, GradeReport, split_spec

DEFAULT_TIMEOUT = 10.0  # seconds per check
IMPORT_TIMEOUT = 10.0  # seconds to start Python and import the student's file


def _pump(stream: IO[str], q: queue.Queue[str | None]) -> None:
    for line in stream:
        q.put(line)
    q.put(None)


def _drain(stream: IO[str], keep: list[str]) -> None:
    size = 0
    for line in stream:
        if size < 20_000:
            keep.append(line)
            size += len(line)


def _kill(proc: subprocess.Popen[str]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)  # the runner is its own process group leader
    proc.wait()


def grade_submission(assignment: Assignment | str, spec: str | Path,
                     timeout: float = DEFAULT_TIMEOUT, python: str | None = None,
                     import_timeout: float = IMPORT_TIMEOUT) -> GradeReport:
    """Grade one file (``path.py`` or ``path.py:ClassName``); never raises for the student's
    code, whatever it does."""
    a = get_assignment(assignment) if isinstance(assignment, str) else assignment
    path, cls = split_spec(str(spec))
    t_start = time.perf_counter()
    results: dict[str, CheckResult] = {}
    desc = {c.name: c for c in a.checks}

    def record(name: str, status: str, output: str, seconds: float = 0.0) -> None:
        c = desc[name]
        results[name] = CheckResult(name, 0, c.points, status, c.description, output,
                                    round(seconds, 4))

    if not path.is_file():
        for c in a.checks:
            record(c.name, "error", f"no such file: {path}")
        return GradeReport(a.name, str(spec), [results[c.name] for c in a.checks], 0.0)

    notes: list[str] = []
    remaining = [c.name for c in a.checks]
    while remaining:
        cmd = [python or sys.executable, "-m", "netsim.grading.runner", a.name, str(path),
               "--only", ",".join(remaining)]
        if cls:
            cmd += ["--class", cls]
        env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", PYTHONHASHSEED="0")
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, start_new_session=True,
                                env=env)
        assert proc.stdout is not None and proc.stderr is not None
        lines: queue.Queue[str | None] = queue.Queue()
        errtail: list[str] = []
        t_out = threading.Thread(target=_pump, args=(proc.stdout, lines), daemon=True)
        t_err = threading.Thread(target=_drain, args=(proc.stderr, errtail), daemon=True)
        t_out.start()
        t_err.start()
        current: str | None = None
        started = time.monotonic()
        deadline = started + import_timeout + timeout
        while True:
            try:
                line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                _kill(proc)
                if current is None:
                    for name in remaining:
                        record(name, "timeout", f"importing {path.name} did not finish within "
                               f"{import_timeout + timeout:g} s (is there an endless loop at "
                               "the top level of your file?)")
                    remaining = []
                else:
                    record(current, "timeout",
                           f"time limit exceeded: this check did not finish within {timeout:g} s"
                           " (an endless loop, or far too slow?)", timeout)
                    remaining.remove(current)
                break
            if line is None:  # the runner exited
                proc.wait()
                t_err.join(timeout=1)
                if remaining:
                    tail = "".join(errtail)[-1500:]
                    why = (f"the process running your code died (exit status {proc.returncode})"
                           + (f":\n{tail}" if tail.strip() else ""))
                    if current is not None:
                        record(current, "error", why)
                        remaining.remove(current)
                    else:
                        for name in remaining:
                            record(name, "error", why)
                        remaining = []
                break
            try:
                msg: dict[str, Any] = json.loads(line)
            except ValueError:
                continue
            event = msg.get("event")
            if event == "start":
                current = str(msg["name"])
                deadline = time.monotonic() + timeout
            elif event == "result":
                res = CheckResult.from_dict(msg)
                results[res.name] = res
                if res.name in remaining:
                    remaining.remove(res.name)
                current = None
                deadline = time.monotonic() + timeout
            elif event == "note":
                text = str(msg.get("text", ""))
                if text and text not in notes:
                    notes.append(text)
            elif event == "fatal":
                for name in remaining:
                    record(name, "error", str(msg.get("output", "")))
                remaining = []
        if proc.poll() is None:
            _kill(proc)
        for stream in (proc.stdout, proc.stderr):
            stream.close()
    report = [results[c.name] for c in a.checks]
    return GradeReport(a.name, str(spec), report, round(time.perf_counter() - t_start, 3),
                       notes)


def find_submission(entry: Path, a: Assignment) -> Path | None:
    """A submission in a batch folder: a .py file, or a folder holding the starter's file name
    (or exactly one .py file)."""
    if entry.is_file():
        return entry if entry.suffix == ".py" else None
    if entry.is_dir():
        named = entry / a.filename
        if named.is_file():
            return named
        files = sorted(p for p in entry.rglob("*.py") if p.is_file())
        if len(files) == 1:
            return files[0]
    return None


def grade_batch(assignment: Assignment | str, folder: Path, timeout: float = DEFAULT_TIMEOUT,
                jobs: int | None = None, python: str | None = None
                ) -> list[tuple[str, GradeReport | None]]:
    """Grade every submission in `folder` (files and sub-folders, sorted by name), `jobs` at a
    time. A None report: no submission file found in that entry."""
    a = get_assignment(assignment) if isinstance(assignment, str) else assignment
    entries = sorted(p for p in folder.iterdir() if not p.name.startswith((".", "__")))
    found: list[tuple[str, Path | None]] = [(e.name, find_submission(e, a)) for e in entries]
    found = [(n, p) for n, p in found if p is not None or Path(folder, n).is_dir()]
    workers = jobs or max(1, min(8, os.cpu_count() or 1))

    def one(item: tuple[str, Path | None]) -> tuple[str, GradeReport | None]:
        name, path = item
        if path is None:
            return name, None
        return name, grade_submission(a, path, timeout, python)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(one, found))


def grade_many(items: Iterable[tuple[str, str]], timeout: float = DEFAULT_TIMEOUT,
               jobs: int | None = None,
               import_timeout: float = IMPORT_TIMEOUT) -> list[GradeReport]:
    """Grade (assignment, file) pairs in parallel (used by the tests)."""
    pairs = list(items)
    workers = jobs or max(1, min(8, os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda p: grade_submission(p[0], p[1], timeout,
                                                        import_timeout=import_timeout), pairs))
