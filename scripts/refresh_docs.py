#!/usr/bin/env python3
"""Regenerate every command output, Python output and run-derived number shown in the docs.

    python scripts/refresh_docs.py           # rewrite the marked blocks (and docs/demo.png)
    python scripts/refresh_docs.py --check   # change nothing; exit 1 and show a diff if stale

``tests/test_docs_outputs.py`` runs the same code and fails on any difference, so a change in
netsim's behaviour fails CI until this script is run and the new text reviewed.

The markers (HTML comments: invisible when the markdown is rendered)
---------------------------------------------------------------------

A **run block** is one or more ``run:`` lines, a fenced block, and ``<!-- end -->``::

    <!-- run: netsim sim --loss 0.01 --pcap f.pcap ; show: none -->
    <!-- run: netsim pcap -v -c 2 f.pcap -->
    ```
    (regenerated: "$ COMMAND" and its output, for each run: line in turn)
    ```
    <!-- end -->

``<!-- run: python -->`` instead shows the output (only) of the nearest ```python block above
it. Options, after `` ; `` each:

- ``show: 1-3, 7, 9-`` which output lines to show (1-based; ``9-`` to the end; ``none``);
  every run of omitted lines becomes one ``...`` line;
- ``mask: wall time`` a nondeterministic field, named from MASKS (scripts/docs_markers.py):
  the text shows the value of the last refresh, the check compares with the field masked;
- ``exit: 1`` the exit status the command must end with (default 0);
- ``files: SRC=DEST, ...`` copy repository files into the working directory first;
- ``figure: SRC=DEST`` (refresh only) copy a file the run wrote into the repository;
- ``id: NAME`` name the run's full output for ``val:`` markers (``@NAME``);
- ``needs: tshark`` a system tool the command runs (missing outside CI: the file is skipped);
- ``live: lab`` the command needs root, /dev/net/tun and ``ip``, and uses the network
  namespace ``lab``: it runs in bash, in a namespace of its own named ``lab`` in the text
  (scripts/docs_live.py: ``sudo`` dropped, ``&`` for a background server). Where live mode is
  impossible the block is left as it is and reported (tests/test_docs_outputs.py skips it,
  or fails in CI on a root machine, like the live tests).

Commands run in order in one scratch directory per markdown file (later commands read what
earlier ones wrote); a command repeated in one file runs once, and a simulation that touches no
file runs once for all files. ``netsim ...`` runs in this process, ``python`` is this
interpreter, ``X | head -N`` keeps N lines, ``A && B`` runs both.

A **not-run block** (``<!-- not run: REASON -->``, a fenced block, ``<!-- end -->``) would be
for output no test can reproduce; its reason must be in NOT_RUN, which is empty: every shown
output is regenerated.

A **value** is a number in prose, computed from a run::

    <!-- val: netsim sim --bytes 500kB --json ; {sim_seconds:.2f} s -->0.06 s<!-- /val -->

The part after `` ; `` is a format string: each ``{EXPR}`` or ``{EXPR:SPEC}`` is a Python
expression over the run's JSON fields (when its output is a JSON object), ``out`` (the whole
output), ``re(PATTERN)`` (group 1 of the first match), ``findall(PATTERN)`` (every match, as
re.findall) and ``count(PATTERN)`` (matching lines); patterns may not contain braces. The
source is a command, ``@NAME`` (the run block with ``id: NAME`` in this file) or
``@lessons/FILE.md#NAME`` (one in another file); ``{repo}`` in a command is the repository's
root (for files such as tests/data/docs/*).

A value that differs from run to run (a live capture's timings) ends with ``; mask: NAME``
(VAL_MASKS): the text keeps the value of a refresh, the check compares it masked; and
``{between(X, LO, HI)}`` (X, after checking LO <= X <= HI) asserts the range the prose
claims::

    <!-- val: @lessons/07-live-mode.md#capture ; {between(us, 20, 5000):.0f} µs ; mask: number -->

The parts, each a module next to this one: docs_markers.py (the markers, parsed), docs_runner.py
(running their commands), docs_values.py (what a block shows, masks, ``val:`` formats),
docs_live.py (live blocks); this file regenerates one file from them and is the command.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for _dir in (ROOT, ROOT / "scripts"):          # this checkout's netsim, and the parts below
    if str(_dir) not in sys.path:
        sys.path.insert(0, str(_dir))
# The parts, next to this file (imported through sys.path, as scripts are run): the markers,
# running their commands, rendering what the commands printed, and live blocks.
import docs_live  # noqa: E402
from docs_markers import (  # noqa: E402
    FENCE,
    VAL,
    VAL_MASKS,
    DocError,
    find_blocks,
    parse_run,
    unmarked_outputs,
)
from docs_runner import LiveUnavailable, MissingTool, Runner, _split_unquoted  # noqa: E402
from docs_values import Result, format_value, masked_val, render  # noqa: E402

__all__ = ["DocError", "MissingTool", "Runner", "_split_unquoted", "doc_files", "docs_live",
           "find_blocks", "main", "refresh", "regenerate", "unmarked_outputs"]


#: Every markdown file whose shown outputs are generated (and checked).
def doc_files() -> list[Path]:
    files = [ROOT / "README.md"]
    files += sorted((ROOT / "lessons").glob("*.md"))
    files += sorted((ROOT / "lessons" / "teachers").glob("*.md"))
    files += [ROOT / "lessons" / "assignments" / "README.md"]
    files += sorted((ROOT / "lessons" / "assignments").glob("*/README.md"))
    return files


# -- one file -----------------------------------------------------------------------------

def regenerate(path: Path, runner: Runner) -> Result:
    if path in runner.results and runner.results[path].old == path.read_text():
        return runner.results[path]
    old = path.read_text()
    lines = old.split("\n")
    blocks = find_blocks(lines, path)
    rel = path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else path.name
    masks: list[str] = []
    figures: list[tuple[Path, Path]] = []
    skipped: list[str] = []
    new_lines: list[str] = []
    pos = 0
    for block in blocks:
        first_fence = next(i for i in range(block.start, block.end) if FENCE.match(lines[i]))
        if block.not_run:
            continue
        try:
            outputs = runner.run_block(path, block)
        except LiveUnavailable as exc:                  # left as it is, and said so
            skipped.append(f"{path.name}:{block.start + 1}: live block not run: {exc}")
            runner.live_skipped.update(f"{rel}#{r.opt('id')}" for r in block.runs if r.opt("id"))
            continue
        for run, out in zip(block.runs, outputs, strict=True):
            if run.opt("id"):
                runner.named[f"{rel}#{run.opt('id')}"] = out
            masks += [m.strip() for m in run.opt("mask").split(",") if m.strip()]
            if run.opt("figure"):
                src, _, dest = run.opt("figure").partition("=")
                figures.append((runner.workdir(path) / src.strip(), ROOT / dest.strip()))
        body = [(block.indent + ln) if ln else "" for ln in render(block.runs, outputs)]
        new_lines += lines[pos:first_fence + 1] + body
        pos = block.end - 1                     # the closing fence, then <!-- end -->
    new_lines += lines[pos:]
    text = "\n".join(new_lines)

    def value(m: re.Match[str]) -> str:
        src = m.group("src").strip().replace("{repo}", str(ROOT))
        if src.startswith("@"):
            doc, _, name = src[1:].rpartition("#")
            key = f"{doc or rel}#{name}"
            if key not in runner.named and doc and doc != rel:
                regenerate(ROOT / doc, runner)          # a block in another file, not run yet
            if key in runner.live_skipped:
                skipped.append(f"{path.name}: val from {key} not checked: live block not run")
                return m.group(0)
            if key not in runner.named:
                raise DocError(f"{path.name}: val: no run block with id: {name} in {doc or rel}")
            out = runner.named[key]
        else:
            out = runner.run(path, parse_run(src, path, 0))
        fmt, _, mask = m.group("fmt").partition(" ; mask: ")
        value = format_value(fmt, out)
        if mask:
            if mask not in VAL_MASKS:
                raise DocError(f"{path.name}: unknown val mask {mask!r} (known: "
                               f"{sorted(VAL_MASKS)})")
            same = [masked_val(t, mask) for t in (value, m.group("text"))]
            if same[0] == same[1]:
                value = m.group("text")                 # equal but for the masked field
        return f"<!-- val: {m.group('src')} ; {m.group('fmt')} -->{value}<!-- /val -->"

    text = VAL.sub(value, text)
    result = Result(path, old, text, sorted(set(masks)), figures, skipped)
    runner.results[path] = result
    return result



def refresh(paths: list[Path], check: bool, write: Callable[[str], None] = print,
            ) -> tuple[int, list[str]]:
    """Regenerate each file (rewrite it unless ``check``); a file whose markers fail is left as
    it is and its error reported, the others are still done. Returns (stale files, errors)."""
    runner = Runner()
    stale, errors = 0, []
    try:
        for path in paths:
            try:
                result = regenerate(path, runner)
            except (DocError, MissingTool) as exc:
                errors.append(f"{path.name}: {type(exc).__name__}: {exc}")
                continue
            for why in result.live_skipped:         # a note, not an error: no root here
                print(f"refresh_docs: {why}", file=sys.stderr)
            if result.stale():
                stale += 1
                write(result.diff())
            if not check:
                if result.stale():          # a file equal but for masked fields is left alone
                    path.write_text(result.new)
                for src, dest in result.figures:
                    shutil.copyfile(src, dest)
    finally:
        runner.close()
    return stale, errors


def iter_problems(paths: list[Path]) -> Iterator[str]:
    for path in paths:
        yield from unmarked_outputs(path)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--check", action="store_true", help="change nothing; exit 1 if stale")
    ap.add_argument("files", nargs="*", type=Path, help="markdown files (default: all docs)")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    paths = [p.resolve() for p in args.files] or doc_files()
    try:
        problems = list(iter_problems(paths))
    except DocError as exc:                     # a marker that cannot even be parsed
        print(f"refresh_docs: {exc}", file=sys.stderr)
        return 2
    for p in problems:
        print(p, file=sys.stderr)
    stale, errors = refresh(paths, args.check)
    for error in errors:
        print(f"refresh_docs: {error}", file=sys.stderr)
    if errors:
        return 2
    if args.check:
        print(f"{stale} file(s) out of date" if stale else "all shown outputs are current",
              file=sys.stderr)
    return 1 if (problems or (args.check and stale)) else 0


if __name__ == "__main__":
    sys.exit(main())
