"""Rendering what scripts/refresh_docs.py's runs printed: the lines a block shows, the masks
that hide nondeterministic fields, ``val:`` format strings, and one file's result."""

from __future__ import annotations

import contextlib
import difflib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from docs_markers import MASKS, VAL_MASKS, DocError, Run
from docs_runner import Output

ROOT = Path(__file__).resolve().parent.parent


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
