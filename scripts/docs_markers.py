"""The markers of scripts/refresh_docs.py (its docstring describes them): parsing a markdown
file into run blocks, and finding shown outputs that carry no marker."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

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


class DocError(Exception):
    """A marker that cannot be honoured: bad syntax, a failing command, a wrong exit status."""



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
