"""The line numbers lessons/teachers/claims-checked.md cites, in every section (the lessons 01 to
15, their answers, congestion-theory.md, the assignments' READMEs and the repository's README),
are right: each cited line still reads as it did when the claim was checked, recorded in
tests/data/claims_lines.json. Text added
above a cited line moves it: the test fails naming the line's new number. A cited line whose
own text changed fails too: its claim should be read again against the new text. The values
refresh_docs.py writes between ``<!-- val: ... -->`` and ``<!-- /val -->`` are left out of
the comparison (tests/test_docs_outputs.py checks those).

    python tests/test_claims_checked.py --renumber   # move the rows' numbers to where their
                                                     # recorded lines are now
    python tests/test_claims_checked.py --write      # record the cited lines as they are now
                                                     # (once every claim has been re-read;
                                                     # refused while a line has only moved)
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLAIMS = ROOT / "lessons" / "teachers" / "claims-checked.md"
RECORDED = ROOT / "tests" / "data" / "claims_lines.json"
MARK = "tests/test_claims_checked.py"  # this file, as the messages name it
#: a row citing lines: "| lessons/13-switches-vlans.md:43, :336 | claim | ..."
ROW = re.compile(r"^\| ((?:lessons/|docs/)?[\w./-]+\.md):(\d+(?:, :\d+)*) \|")
VAL = re.compile(r"(<!-- val:.*?-->).*?<!-- /val -->")


def _rows() -> list[tuple[int, str, list[int]]]:
    """(line of claims-checked.md, file, line numbers) of every row that cites lines."""
    out = []
    for i, line in enumerate(CLAIMS.read_text(encoding="utf-8").splitlines(), 1):
        m = ROW.match(line)
        if m:
            out.append((i, m.group(1), [int(n) for n in re.findall(r"\d+", m.group(2))]))
    return out


def cited() -> list[tuple[int, str, int]]:
    """(line of claims-checked.md, file, line number) of every line cited."""
    return [(i, path, n) for i, path, ns in _rows() for n in ns]


def _text(line: str) -> str:
    """A line as compared: the values of val markers left out."""
    return VAL.sub(r"\1...", line).rstrip()


def _lines(path: str) -> list[str]:
    return [_text(line) for line in (ROOT / path).read_text(encoding="utf-8").splitlines()]


def problems() -> list[str]:
    recorded: dict[str, str] = json.loads(RECORDED.read_text(encoding="utf-8"))
    out = []
    files: dict[str, list[str]] = {}
    for row, path, n in cited():
        lines = files.setdefault(path, _lines(path))
        where = f"claims-checked.md:{row} cites {path}:{n}"
        want = recorded.get(f"{path}:{n}")
        if want is None:
            out.append(f"{where}, whose text is not recorded (python {MARK} --write, once the "
                       "claim has been checked against it)" if n <= len(lines) and
                       lines[n - 1].strip() else f"{where}: no such line, or a blank one")
        elif n > len(lines) or lines[n - 1] != want:
            now = [k for k, line in enumerate(lines, 1) if line == want]
            out.append(f"{where}, which now reads otherwise: " + (
                f"the line it was checked against is now line {now[0]} (python {MARK} "
                "--renumber)" if len(now) == 1 else
                f"read the claim again against the new text, then python {MARK} --write"))
    return out


def test_the_cited_lines_read_as_when_their_claims_were_checked() -> None:
    rows = cited()
    # every section is checked, and every lesson has rows in it
    lessons = {p.relative_to(ROOT).as_posix() for p in (ROOT / "lessons").glob("[0-9][0-9]-*.md")}
    assert len(lessons) >= 15 and lessons <= {path for _, path, _ in rows}, lessons
    assert len(rows) >= 380, len(rows)
    found = problems()
    assert not found, "\n".join(found)


def test_every_recorded_line_is_cited() -> None:
    recorded = json.loads(RECORDED.read_text(encoding="utf-8"))
    cites = {f"{path}:{n}" for _, path, n in cited()}
    assert set(recorded) == cites, sorted(set(recorded) ^ cites)


def _renumber() -> None:
    recorded: dict[str, str] = json.loads(RECORDED.read_text(encoding="utf-8"))
    text = CLAIMS.read_text(encoding="utf-8").split("\n")
    moved = {}
    for row, path, ns in _rows():
        lines = _lines(path)
        new = []
        for n in ns:
            want = recorded.get(f"{path}:{n}")
            now = [k for k, line in enumerate(lines, 1) if line == want]
            if want is not None and len(now) == 1 and now[0] != n:
                moved[f"{path}:{now[0]}"] = want
                print(f"claims-checked.md:{row}: {path}:{n} -> {now[0]}")
                n = now[0]
            new.append(n)
        old = f"| {path}:" + ", :".join(map(str, ns)) + " |"
        text[row - 1] = text[row - 1].replace(old, f"| {path}:" + ", :".join(map(str, new)) + " |",
                                              1)
    CLAIMS.write_text("\n".join(text), encoding="utf-8")
    keep = {f"{path}:{n}" for _, path, n in cited()}
    RECORDED.write_text(json.dumps({k: v for k, v in {**recorded, **moved}.items() if k in keep},
                                   indent=1, sort_keys=True, ensure_ascii=False) + "\n",
                        encoding="utf-8")


def _write() -> None:
    moved = [p for p in problems() if "--renumber" in p]
    if moved:  # recording now would tie those rows to whatever text took their lines' place
        raise SystemExit("\n".join([*moved, f"python {MARK} --renumber first"]))
    out = {}
    for row, path, n in cited():
        lines = _lines(path)
        if n > len(lines) or not lines[n - 1].strip():
            raise SystemExit(f"claims-checked.md:{row} cites {path}:{n}: no such line, or a "
                             "blank one")
        out[f"{path}:{n}"] = lines[n - 1]
    RECORDED.write_text(json.dumps(out, indent=1, sort_keys=True, ensure_ascii=False) + "\n",
                        encoding="utf-8")
    print(f"recorded {len(out)} cited lines in {RECORDED.relative_to(ROOT)}")


if __name__ == "__main__":
    if sys.argv[1:] == ["--write"]:
        _write()
    elif sys.argv[1:] == ["--renumber"]:
        _renumber()
    else:
        print("\n".join(problems()) or "every cited line reads as recorded")
