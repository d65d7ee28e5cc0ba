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
- ``mask: wall time`` a nondeterministic field, named from MASKS below: the text shows the
  value of the last refresh, the check compares with the field masked;
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
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import io
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT / "scripts") not in sys.path:
    sys.path.insert(0, str(ROOT / "scripts"))
import docs_live  # noqa: E402  (scripts/docs_live.py, next to this file)


#: Every markdown file whose shown outputs are generated (and checked).
def doc_files() -> list[Path]:
    files = [ROOT / "README.md"]
    files += sorted((ROOT / "lessons").glob("*.md"))
    files += sorted((ROOT / "lessons" / "teachers").glob("*.md"))
    files += [ROOT / "lessons" / "assignments" / "README.md"]
    files += sorted((ROOT / "lessons" / "assignments").glob("*/README.md"))
    return files


#: The only reasons a shown output may be exempt from regeneration: none.
NOT_RUN: set[str] = set()

#: Named nondeterministic fields: (pattern, replacement) applied before comparing.
MASKS: dict[str, list[tuple[str, str]]] = {
    "wall time": [(r"(wall time\s+)[\d.,]+ ?\w+", r"\1<wall>"),
                  (r"[\d.,]+ ?(?:ns|µs|us|ms|s|min) wall", "<wall> wall")],
    # a live capture (tcpdump lines): the clock, Linux's port and ISN, both TS clocks
    # and Linux's window scale and windows, which depend on the kernel's buffer settings
    "live capture": [(r"(?m)^(\S+ IP 10\.0\.0\.1\.\S+ > .*? win )\d+", r"\1<n>"),
                     (r"(?m)^(\S+ IP 10\.0\.0\.1\.\S+ > .*?wscale )\d+", r"\1<n>"),
                     (r"(?m)^\d{9,}\.\d{6} ", "<time> "),
                     (r"(10\.0\.0\.1)\.\d+\b", r"\1.<port>"),
                     (r"\b(seq|ack) \d+(:\d+)?", r"\1 <n>"),
                     (r"TS val \d+ ecr \d+", "TS val <n> ecr <n>")],
    # how many frames a live run exchanged (Linux may ACK data and FIN together or apart)
    "frame counts": [(r"tap rx \d+ frames / tx \d+ frames", "tap rx <n> frames / tx <n> frames")],
}

#: Masks for one ``val:`` value (``; mask: NAME`` at its end), never for a whole file.
VAL_MASKS: dict[str, list[tuple[str, str]]] = {
    "number": [(r"\d+(?:\.\d+)?", "<n>")],
}

RUN = re.compile(r"^(?P<indent>\s*)<!-- run: (?P<body>.*?) -->\s*$")
NOTRUN = re.compile(r"^(?P<indent>\s*)<!-- not run: (?P<reason>.*?) -->\s*$")
END = re.compile(r"^\s*<!-- end -->\s*$")
FENCE = re.compile(r"^\s*```")
VAL = re.compile(r"<!-- val: (?P<src>.*?) ; (?P<fmt>.*?) -->(?P<text>.*?)<!-- /val -->", re.S)
PYTHON = re.compile(r"^\s*```python\s*$")
NETSIM = ("netsim", ".venv/bin/netsim")


class DocError(Exception):
    """A marker that cannot be honoured: bad syntax, a failing command, a wrong exit status."""


class MissingTool(Exception):
    """A command needs a system tool this machine lacks."""


class LiveUnavailable(Exception):
    """A live block cannot run on this machine (not root, no /dev/net/tun, no ``ip``)."""


@dataclass
class Run:
    command: str                      # "python" for the Python block above the marker
    options: dict[str, str]
    code: str = ""                    # for "python": the code it runs

    def opt(self, name: str, default: str = "") -> str:
        return self.options.get(name, default)


@dataclass
class Block:
    start: int                        # index of the first marker line
    end: int                          # index of the <!-- end --> line
    indent: str
    runs: list[Run] = field(default_factory=list)
    not_run: str | None = None


def parse_run(body: str, path: Path, lineno: int) -> Run:
    parts = body.split(" ; ")
    command, options = parts[0].strip(), {}
    for part in parts[1:]:
        key, sep, value = part.partition(":")
        if not sep or key.strip() not in {"show", "mask", "exit", "files", "figure", "id",
                                           "needs", "live"}:
            raise DocError(f"{path.name}:{lineno}: unknown option {part!r} in run marker")
        options[key.strip()] = value.strip()
    for name in filter(None, (m.strip() for m in options.get("mask", "").split(","))):
        if name not in MASKS:
            raise DocError(f"{path.name}:{lineno}: unknown mask {name!r} (known: {sorted(MASKS)})")
    return Run(command, options)


def find_blocks(lines: list[str], path: Path) -> list[Block]:
    blocks: list[Block] = []
    last_python = ""
    i = 0
    while i < len(lines):
        line = lines[i]
        if PYTHON.match(line):
            j = i + 1
            while j < len(lines) and not FENCE.match(lines[j]):
                j += 1
            indent = len(line) - len(line.lstrip())
            last_python = "\n".join(ln[indent:] for ln in lines[i + 1:j]) + "\n"
            i = j + 1
            continue
        m_run, m_not = RUN.match(line), NOTRUN.match(line)
        if not (m_run or m_not):
            i += 1
            continue
        block = Block(start=i, end=-1, indent=(m_run or m_not).group("indent"))  # type: ignore[union-attr]
        if m_not:
            if m_not.group("reason") not in NOT_RUN:
                raise DocError(f"{path.name}:{i + 1}: not-run reason {m_not.group('reason')!r}"
                               f" is not one of {sorted(NOT_RUN)}")
            block.not_run = m_not.group("reason")
            i += 1
        while i < len(lines) and (m := RUN.match(lines[i])) and not block.not_run:
            run = parse_run(m.group("body"), path, i + 1)
            if run.command == "python":
                if not last_python:
                    raise DocError(f"{path.name}:{i + 1}: run: python with no python block above")
                run.code = last_python
            block.runs.append(run)
            i += 1
        if i >= len(lines) or not FENCE.match(lines[i]):
            raise DocError(f"{path.name}:{i + 1}: a fenced block must follow the marker")
        i += 1
        while i < len(lines) and not FENCE.match(lines[i]):
            i += 1
        i += 1
        if i >= len(lines) or not END.match(lines[i]):
            raise DocError(f"{path.name}:{i + 1}: expected <!-- end --> after the fenced block")
        block.end = i
        blocks.append(block)
        i += 1
    return blocks


# -- running ------------------------------------------------------------------------------

@dataclass
class Output:
    text: str
    status: int


class Runner:
    """Runs commands and snippets; pure simulations are cached across files."""

    def __init__(self) -> None:
        self._shared: dict[str, Output] = {}
        self._local: dict[tuple[Path, str], Output] = {}
        self._tmp = Path(tempfile.mkdtemp(prefix="netsim-docs-"))
        self._dirs: dict[Path, Path] = {}
        self.named: dict[str, Output] = {}            # "lessons/x.md#id" -> its output
        self.live_skipped: set[str] = set()           # ids of live runs that could not run
        self.results: dict[Path, Result] = {}         # each file regenerated once (live runs)
        self._namespaces = docs_live.LiveNamespaces()

    def close(self) -> None:
        try:
            self._namespaces.close()
        finally:
            shutil.rmtree(self._tmp, ignore_errors=True)

    def run_block(self, doc: Path, block: Block) -> list[Output]:
        """The outputs of a block's runs (a live block's all at once, in order)."""
        live = [r.opt("live") for r in block.runs if r.opt("live")]
        if not live:
            return [self.run(doc, run) for run in block.runs]
        reason = docs_live.live_unavailable()
        if reason:
            raise LiveUnavailable(reason)
        rel = doc.as_posix()
        names = {name: self._namespaces.real(rel, name) for name in live}
        names |= self._namespaces.names(rel)
        try:
            results = docs_live.run_block([r.command for r in block.runs], self.workdir(doc),
                                          names)
        except (docs_live.LiveError, subprocess.TimeoutExpired) as exc:
            raise DocError(f"{doc.name}: live block failed: {exc}") from None
        outputs = []
        for run, (text, status) in zip(block.runs, results, strict=False):
            want = int(run.opt("exit", "0"))
            if status != want:
                raise DocError(f"{doc.name}: `{run.command}` exited with status {status}, "
                               f"not {want}:\n{text}")
            outputs.append(Output(text, status))
        if len(outputs) != len(block.runs):
            stopped = block.runs[len(outputs) - 1].command
            raise DocError(f"{doc.name}: live block stopped after `{stopped}`")
        return outputs

    def workdir(self, doc: Path) -> Path:
        if doc not in self._dirs:
            d = self._tmp / f"{len(self._dirs):02d}-{doc.stem}"
            d.mkdir()
            self._dirs[doc] = d
        return self._dirs[doc]

    def run(self, doc: Path, run: Run) -> Output:
        cwd = self.workdir(doc)
        for pair in filter(None, (p.strip() for p in run.opt("files").split(","))):
            src, _, dest = pair.partition("=")
            target = cwd / (dest or Path(src).name)
            target.parent.mkdir(parents=True, exist_ok=True)
            if (ROOT / src).is_dir():
                shutil.copytree(ROOT / src, target, dirs_exist_ok=True)
            else:
                shutil.copyfile(ROOT / src, target)
        key = run.command if run.command != "python" else "python:" + run.code
        local = (doc, key)                      # a command repeated in one file runs once
        if _is_pure(run.command):
            if key not in self._shared:
                self._shared[key] = self._execute(run, cwd)
            out = self._shared[key]
        else:
            if local not in self._local or run.opt("files"):
                self._local[local] = self._execute(run, cwd)
            out = self._local[local]
        want = int(run.opt("exit", "0"))
        if out.status != want:
            raise DocError(f"{doc.name}: `{run.command if run.command != 'python' else run.code}`"
                           f" exited with status {out.status}, not {want}:\n{out.text}")
        return out

    def _execute(self, run: Run, cwd: Path) -> Output:
        env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": _pythonpath()}
        if run.command == "python":
            p = subprocess.run([sys.executable, "-c", run.code], cwd=cwd, env=env, text=True,
                               capture_output=True, timeout=300)
            text = p.stdout if p.returncode == 0 else p.stdout + p.stderr
            return Output(text, p.returncode)
        parts = _split_unquoted(run.command, " && ")
        if len(parts) > 1:                      # like the shell: both outputs, stop at a failure
            text = ""
            for part in parts:
                out = self._execute(Run(part.strip(), run.options), cwd)
                text += out.text
                if out.status:
                    return Output(text, out.status)
            return Output(text, 0)
        pipeline = [s.strip() for s in _split_unquoted(run.command, " | ")]
        argv = shlex.split(pipeline[0])
        if argv[0] in NETSIM:
            text, status = _netsim_in_process(argv[1:], cwd)
        else:
            if argv[0] == "python":
                argv[0] = sys.executable
            tool = run.opt("needs") or argv[0]
            if argv[0] != sys.executable and shutil.which(argv[0]) is None:
                raise MissingTool(tool)
            p = subprocess.run(argv, cwd=cwd, env=env, text=True, capture_output=True,
                               timeout=300)
            text, status = p.stdout, p.returncode
        for stage in pipeline[1:]:
            m = re.fullmatch(r"head -(\d+)", stage)
            if not m:
                raise DocError(f"only `| head -N` may follow a command, not {stage!r}")
            text = "".join(text.splitlines(keepends=True)[:int(m.group(1))])
        return Output(text, status)


def _split_unquoted(command: str, sep: str) -> list[str]:
    """``command`` split at each ``sep`` that is not inside quotes."""
    parts, start, quote, i = [], 0, "", 0
    while i < len(command):
        c = command[i]
        if quote:
            quote = "" if c == quote else quote
        elif c in "'\"":
            quote = c
        elif command.startswith(sep, i):
            parts.append(command[start:i])
            start = i = i + len(sep)
            continue
        i += 1
    return parts + [command[start:]]


def _pythonpath() -> str:
    old = os.environ.get("PYTHONPATH", "")
    return str(ROOT) + (os.pathsep + old if old else "")


def _is_pure(command: str) -> bool:
    """A netsim simulation that neither reads nor writes files: the same anywhere."""
    argv = command.split()
    return (len(argv) > 1 and argv[0] in NETSIM and argv[1] in {"sim", "echo", "ping",
                                                                "traceroute"}
            and not any(a.startswith(("--pcap", "--plot", "--trace", "--out")) or ".py:" in a
                        for a in argv))


def _netsim_in_process(argv: list[str], cwd: Path) -> tuple[str, int]:
    from netsim.cli import main
    buf, err = io.StringIO(), io.StringIO()
    old = Path.cwd()
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(err):
            try:
                status = main(argv)
            except SystemExit as exc:
                status = exc.code if isinstance(exc.code, int) else 1
    finally:
        os.chdir(old)
    text = buf.getvalue()
    return (text if status == 0 else text + err.getvalue()), status


# -- rendering ----------------------------------------------------------------------------

def select(lines: list[str], spec: str) -> list[str]:
    if not spec:
        return lines
    keep: set[int] = set()
    if spec != "none":
        for part in spec.split(","):
            a, dash, b = part.strip().partition("-")
            lo = int(a)
            hi = (int(b) if b else len(lines)) if dash else lo
            keep.update(range(lo, hi + 1))
    out: list[str] = []
    for n, line in enumerate(lines, 1):
        if n in keep:
            out.append(line)
        elif not out or out[-1] != "...":
            out.append("...")
    return out


def render(runs: list[Run], outputs: list[Output]) -> list[str]:
    shown: list[str] = []
    for run, out in zip(runs, outputs, strict=True):
        lines = [ln.rstrip() for ln in out.text.splitlines()]
        while lines and not lines[-1]:
            lines.pop()
        while lines and not lines[0]:
            lines.pop(0)
        if run.command != "python":
            shown.append(f"$ {run.command}")
        shown += select(lines, run.opt("show"))
    return shown


def masked(text: str, names: list[str]) -> str:
    for name in names:
        for pattern, repl in MASKS[name]:
            text = re.sub(pattern, repl, text)
    return text


def masked_val(text: str, name: str) -> str:
    for pattern, repl in VAL_MASKS[name]:
        text = re.sub(pattern, repl, text)
    return text


SPEC = re.compile(r"^[<>^=]?[+\- ]?#?0?\d*[,_]?(?:\.\d+)?[bcdeEfFgGnosxX%]?$")


def format_value(fmt: str, out: Output) -> str:
    ns: dict[str, Any] = {"out": out.text}
    with contextlib.suppress(ValueError):
        data = json.loads(out.text)
        if isinstance(data, dict):
            ns.update(data)

    def find(pattern: str) -> str:
        m = re.search(pattern, out.text, re.M)
        if not m:
            raise DocError(f"val: {pattern!r} not found in the output:\n{out.text[:2000]}")
        return m.group(1)

    def count(pattern: str) -> int:
        return sum(1 for ln in out.text.splitlines() if re.search(pattern, ln))

    def findall(pattern: str) -> list[Any]:
        return re.findall(pattern, out.text, re.M)

    def between(value: float, lo: float, hi: float) -> float:
        if not lo <= value <= hi:
            raise DocError(f"val: {value} is outside the range {lo}..{hi} the text claims")
        return value

    ns.update(re=find, findall=findall, count=count, int=int, float=float, round=round,
              abs=abs, len=len, min=min, max=max, between=between)

    def field_(m: re.Match[str]) -> str:
        body = m.group(1)
        expr, spec = body, ""
        head, colon, tail = body.rpartition(":")
        if colon and SPEC.match(tail) and head.count("(") == head.count(")"):
            expr, spec = head, tail
        try:
            value = eval(expr, {"__builtins__": {}, **ns})  # the docs' own text, not user input
        except Exception as exc:
            raise DocError(f"val: {{{body}}} failed: {type(exc).__name__}: {exc}") from None
        return format(value, spec)

    return re.sub(r"\{([^{}]+)\}", field_, fmt)


# -- one file -----------------------------------------------------------------------------

@dataclass
class Result:
    path: Path
    old: str
    new: str
    masks: list[str]
    figures: list[tuple[Path, Path]]
    live_skipped: list[str] = field(default_factory=list)   # why live parts were left as is

    def stale(self) -> bool:
        return masked(self.old, self.masks) != masked(self.new, self.masks)

    def diff(self) -> str:
        rel = str(self.path.relative_to(ROOT) if self.path.is_relative_to(ROOT) else self.path)
        return "".join(difflib.unified_diff(self.old.splitlines(True), self.new.splitlines(True),
                                            f"{rel} (in git)", f"{rel} (regenerated)"))


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


def unmarked_outputs(path: Path) -> list[str]:
    """Code blocks that show a command's output, or follow a printing Python block, without a
    marker: each is a shown output no test would check."""
    lines = path.read_text().split("\n")
    problems: list[str] = []
    inside: set[int] = set()
    for block in find_blocks(lines, path):
        inside.update(range(block.start, block.end + 1))
    i = 0
    after_python = False
    while i < len(lines):
        line = lines[i]
        fenced = FENCE.match(line) is not None
        indented = line.startswith("    ") and (i == 0 or not lines[i - 1].strip())
        if i in inside or not (fenced or indented):
            if line.strip() and not line.strip().startswith(("prints", "<!--")):
                after_python = after_python and i in inside
            i += 1
            continue
        is_python = PYTHON.match(line) is not None
        j, body = i + 1, []
        if fenced:
            while j < len(lines) and not FENCE.match(lines[j]):
                body.append(lines[j])
                j += 1
            j += 1
        else:
            j = i
            while j < len(lines) and (lines[j].startswith("    ") or not lines[j].strip()):
                body.append(lines[j])
                j += 1
        commands = [b for b in body if b.strip().startswith("$ ")]
        others = [b for b in body if b.strip() and not b.strip().startswith("$ ")]
        if commands and others and not is_python:
            problems.append(f"{path.name}:{i + 1}: output of `{commands[0].strip()}` "
                            "shown without a run: marker")
        elif after_python and not is_python:
            problems.append(f"{path.name}:{i + 1}: output of the Python block above shown "
                            "without a run: python marker")
        after_python = is_python and "print(" in "\n".join(body)
        i = j
    return problems


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
