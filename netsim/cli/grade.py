"""`netsim grade ASSIGNMENT PATH`: autograde a student's file (lessons/assignments/).

    netsim grade 02-rto-estimator my_rto.py
    netsim grade 04 my_reno.py:MyReno --format gradescope -o results.json
    netsim grade 03 --batch submissions/ --csv grades.csv

Prints a score and, for each check that did not pass, the input given, what was expected,
what happened, and for scripted checks the whole script up to the failure. The student's
code runs in a sandboxed process with a time limit per check, and is never imported by this
one (netsim.grading.supervisor). Exit status 0 only at full marks; with --batch, 0 when every
submission was found and graded (whatever the scores).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from netsim.errors import UsageError
from netsim.grading import ASSIGNMENTS, get_assignment
from netsim.grading.codec import clean_text
from netsim.grading.framework import RANDOM_TIME_FACTOR
from netsim.grading.report import batch_csv, gradescope_json, junit_xml, text_report
from netsim.grading.sandbox import features
from netsim.grading.supervisor import (
    DEFAULT_TIMEOUT,
    batch_entries,
    grade_batch,
    grade_submission,
)


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser(
        "grade",
        help="autograde a student's file for one of the classroom assignments",
        description="Run the autograder of ASSIGNMENT on a student's Python file and print "
                    "a score with feedback per check. Assignments: " + ", ".join(ASSIGNMENTS)
                    + " (the number alone also works). The code runs in a sandboxed process "
                    "with a time limit per check. Exit status 0 only at full marks.",
    )
    parser.add_argument("assignment", metavar="ASSIGNMENT")
    parser.add_argument("path", metavar="PATH", nargs="?", default=None,
                        help="the student's file, optionally FILE.py:ClassName")
    parser.add_argument("--batch", metavar="DIR", default=None,
                        help="grade every submission in DIR (a .py file or a folder each)")
    parser.add_argument("--csv", metavar="FILE", default=None,
                        help="with --batch: write one row per submission to FILE")
    parser.add_argument("--format", choices=("text", "gradescope", "junit"), default="text",
                        help="text (default), gradescope (results.json) or junit (XML)")
    parser.add_argument("-o", "--output", metavar="FILE", default=None,
                        help="write the gradescope/junit report to FILE instead of stdout")
    parser.add_argument("--timeout", type=float, metavar="SECONDS", default=DEFAULT_TIMEOUT,
                        help=f"time limit per check (default {DEFAULT_TIMEOUT:g}; the "
                        f"random-sequences check gets {RANDOM_TIME_FACTOR:g} times as long)")
    parser.add_argument("-j", "--jobs", type=int, metavar="N", default=None,
                        help="with --batch: submissions graded at once (default: CPUs)")
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="text format: one line per check, no feedback")
    parser.set_defaults(func=run)


def _write(text: str, output: str | None) -> None:
    if output is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    else:
        try:
            Path(output).write_text(text if text.endswith("\n") else text + "\n")
        except OSError as exc:
            raise UsageError(f"--output: cannot write {output!r}: {exc.strerror}") from None


def _check_output_file(flag: str, name: str | None) -> None:
    """Refuse an output path that cannot be written, before any grading."""
    if name is None:
        return
    path = Path(name)
    if path.is_dir():
        raise UsageError(f"{flag}: {name!r} is a folder; give a file name")
    if not path.parent.is_dir():
        raise UsageError(f"{flag}: the folder of {name!r} does not exist")


def run(args: argparse.Namespace) -> int:
    assignment = get_assignment(args.assignment)
    if not args.timeout > 0 or args.timeout > 3600:
        raise UsageError(f"--timeout: {args.timeout:g} is not a number of seconds in (0, 3600]")
    if args.jobs is not None and not 1 <= args.jobs <= 64:
        raise UsageError(f"--jobs: {args.jobs} is not a number of parallel gradings in 1..64")
    _check_output_file("--output", args.output)
    _check_output_file("--csv", args.csv)
    if args.batch is not None:
        return _run_batch(args, assignment)
    if args.path is None:
        raise UsageError("PATH: give the student's file (or --batch DIR)")
    if args.csv is not None:
        raise UsageError("--csv: only with --batch DIR")
    file_part = args.path.rpartition(":")[0] if args.path.rpartition(":")[2].isidentifier() \
        and args.path.rpartition(":")[0].endswith(".py") else args.path
    if Path(file_part).is_dir():
        raise UsageError(f"PATH: {file_part!r} is a folder; give the student's .py file (or "
                         "--batch DIR for a folder of submissions)")
    if not Path(file_part).is_file():
        raise UsageError(f"PATH: no such file {file_part!r}")
    if not file_part.endswith(".py"):
        raise UsageError(f"PATH: {file_part!r} is not a Python file (.py)")
    report = grade_submission(assignment, args.path, args.timeout)
    if args.format == "gradescope":
        _write(gradescope_json(report), args.output)
    elif args.format == "junit":
        _write(junit_xml(report), args.output)
    else:
        _write(text_report(report, verbose=not args.quiet), args.output)
    return 0 if report.full_marks else 1


def _run_batch(args: argparse.Namespace, assignment: Any) -> int:
    folder = Path(args.batch)
    if not folder.is_dir():
        raise UsageError(f"--batch: {args.batch!r} is not a folder")
    if args.path is not None:
        raise UsageError("PATH: give either a file or --batch DIR, not both")
    if args.format != "text":
        raise UsageError("--format: with --batch only text (use --csv for a table)")
    if not batch_entries(folder, assignment):
        raise UsageError(f"--batch: {args.batch!r} holds no submissions (a .py file or a "
                         "folder per student)")
    for missing in features().missing():
        print(f"sandbox: {missing}", file=sys.stderr)
    from netsim.sweep.progress import Progress
    bar = Progress(0, stream=sys.stderr, enabled=sys.stderr.isatty(), label="grade")

    def progress(done: int, total: int) -> None:
        bar.total = total
        bar.enabled = bar.tty and total > 0
        bar.update(done, 0, force=done == total)

    try:
        rows = grade_batch(assignment, folder, args.timeout, args.jobs, progress=progress)
    finally:
        bar.close()
    names = [c.name for c in assignment.checks]
    if args.csv is not None:
        try:
            Path(args.csv).write_text(batch_csv(rows, names))
        except OSError as exc:
            raise UsageError(f"--csv: cannot write {args.csv!r}: {exc.strerror}") from None
    width = max((len(n) for n, _ in rows), default=10)
    for raw, rep in rows:
        name = clean_text(raw, 200).replace("\n", " ")
        if rep is None:
            print(f"{name:{width}}  --  no {assignment.filename} (or single .py file) found")
        else:
            bad = [r.name for r in rep.results if not r.passed]
            print(f"{name:{width}}  {rep.score:>3}/{rep.max_score}"
                  + (f"  not passed: {', '.join(bad)}" if bad else "  full marks")
                  + (f"  [{clean_text(rep.problem, 200).splitlines()[0]}]" if rep.problem
                     else "")
                  + "".join(f"  [note: {clean_text(n, 500)}]" for n in rep.notes))
    print(f"{len(rows)} submission(s) graded" + (f"; wrote {args.csv}" if args.csv else ""))
    return 0 if all(rep is not None for _, rep in rows) else 1
