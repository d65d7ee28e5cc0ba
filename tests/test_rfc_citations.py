"""Every RFC section the project cites exists in that RFC, and the citations a reviewer checked by
hand still say what they were checked for.

The texts scanned: README.md, docs/, lessons/ (every .md), the notebooks' markdown cells and
netsim's source (comments, docstrings and messages). A citation is "RFC 9293 §3.8.6.1",
"RFC 6298 (2.3)" (RFC 6298 numbers its rules), "section 3.2 of RFC 6582", or a bare "§3.8.6.2"
that follows an "RFC N" in the same paragraph (a markdown table row: the RFC of its header).
The section titles are in tests/data/rfc_sections.json."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = json.loads((ROOT / "tests" / "data" / "rfc_sections.json").read_text())
RFCS: dict[str, dict[str, object]] = DATA["rfcs"]

TOKEN = re.compile(
    r"RFC\s?(?P<rfc>\d{3,4})(?P<poss>'s)?"
    r"|(?<!DESIGN )(?<!DESIGN\.md )(?<!Figure )§§?\s?(?P<num>\d+(?:\.\d+)*)"
    r"|\((?P<rule>\d\.\d)\)"
    r"|[Ss]ection\s(?P<snum>\d+(?:\.\d+)*)(?:\sof\sRFC\s?(?P<srfc>\d+))?")

Citation = tuple[str, str, str, str]  # file, RFC, section, the text around it


def _texts() -> Iterator[tuple[str, str]]:
    paths = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md")),
             *sorted((ROOT / "lessons").rglob("*.md"))]
    for p in paths:
        yield str(p.relative_to(ROOT)), p.read_text()
    for p in sorted((ROOT / "notebooks").glob("*.ipynb")):
        book = json.loads(p.read_text())
        yield str(p.relative_to(ROOT)), "\n\n".join(
            "".join(c["source"]) for c in book["cells"] if c["cell_type"] == "markdown")
    for p in sorted((ROOT / "netsim").rglob("*.py")):
        yield str(p.relative_to(ROOT)), p.read_text()


def _blocks(text: str) -> Iterator[tuple[str, str | None, bool]]:
    """Paragraphs; a markdown table yields one block per row, with its header's first RFC."""
    for para in re.split(r"\n\s*\n", text):
        lines = [line for line in para.splitlines() if line.strip()]
        if lines and all(line.lstrip().startswith("|") for line in lines):
            head = re.search(r"RFC\s?(\d{3,4})", lines[0])
            for line in lines:
                yield line, head.group(1) if head else None, True
        else:
            yield para, None, False


def citations(name: str, text: str) -> list[Citation]:
    out: list[Citation] = []
    for block, start, table in _blocks(text):
        current = start
        for m in TOKEN.finditer(block):
            around = " ".join(block[max(0, m.start() - 60):m.end() + 100].split())
            if m.group("rfc"):
                follows = block[m.end():m.end() + 2].lstrip().startswith("§")
                # "RFC 6528's keyed hash" names an RFC in passing; in a table only "RFC N §x"
                # changes the RFC that the row's bare sections refer to
                if not m.group("poss") and (follows or not table):
                    current = m.group("rfc")
            elif m.group("num"):
                if current:
                    out.append((name, current, m.group("num"), around))
            elif m.group("rule"):
                if current == "6298":
                    out.append((name, current, "rule " + m.group("rule"), around))
            elif m.group("snum"):
                rfc = m.group("srfc") or current
                current = rfc
                if rfc:
                    out.append((name, rfc, m.group("snum"), around))
    return out


ALL = [c for name, text in _texts() for c in citations(name, text)]


def _exists(rfc: str, section: str) -> bool:
    entry = RFCS[rfc]
    if section.startswith("rule "):
        rules = entry.get("rules", [])
        assert isinstance(rules, list)
        return section[5:] in rules
    sections = entry["sections"]
    assert isinstance(sections, dict)
    return section in sections


def test_the_scanner_finds_the_citation_forms_in_use() -> None:
    found = citations("x.md", "RFC 9293 §3.8.6.1 (probing), §3.8.6.2.2; RFC 6298 (2.3) and "
                      "(5.5); section 3.2 of RFC 6582. RFC 6528's hash, §3.5.\n\n"
                      "| m | RFC 5681 / RFC 3465 |\n|---|---|\n| a | b (§3.1, RFC 3465) |")
    assert [(c[1], c[2]) for c in found] == [
        ("9293", "3.8.6.1"), ("9293", "3.8.6.2.2"), ("6298", "rule 2.3"), ("6298", "rule 5.5"),
        ("6582", "3.2"), ("6582", "3.5"), ("5681", "3.1")]
    assert len(ALL) > 250  # the project cites sections in hundreds of places


def test_every_rfc_cited_by_section_is_in_the_table() -> None:
    missing = sorted({(c[1], c[0]) for c in ALL if c[1] not in RFCS})
    assert not missing, f"add these RFCs' sections to tests/data/rfc_sections.json: {missing}"


def test_every_cited_section_exists_in_its_rfc() -> None:
    wrong = [f"{c[0]}: RFC {c[1]} §{c[2]} does not exist — …{c[3]}…"
             for c in ALL if c[1] in RFCS and not _exists(c[1], c[2])]
    assert not wrong, "\n".join(wrong)


#: Citations checked by hand against the RFC text: (file, RFC, section, a word of the topic the
#: file cites it for). Each must still be cited in that file with the word near it, and the word
#: must belong to the section (its title, or the words listed in TOPICS).
CHECKED: list[tuple[str, str, str, str]] = [(str(a), str(b), str(c), str(d))
                                            for a, b, c, d in DATA["checked"]]
TOPICS: dict[str, list[str]] = DATA["topics"]


@pytest.mark.parametrize("file,rfc,section,word", CHECKED,
                         ids=[f"{c[0]}:{c[1]}:{c[2]}" for c in CHECKED])
def test_hand_checked_citations_still_say_what_was_checked(file: str, rfc: str, section: str,
                                                            word: str) -> None:
    sections = RFCS[rfc]["sections"]
    assert isinstance(sections, dict)
    key = f"{rfc} {section}"
    title = str(sections.get(section.removeprefix("rule "), ""))
    parts = section.split(".")
    ancestors = [str(sections.get(".".join(parts[:i]), "")) for i in range(1, len(parts))]
    vocabulary = [t.lower() for t in (title, *ancestors, *TOPICS.get(key, []))]
    assert any(word.lower() in v for v in vocabulary), \
        f"'{word}' is not the topic of RFC {rfc} §{section} ({title})"
    near = [c[3] for c in ALL if c[0] == file and c[1] == rfc and c[2] == section]
    assert near, f"{file} no longer cites RFC {rfc} §{section}"
    assert any(word.lower() in t.lower() for t in near), \
        f"{file} cites RFC {rfc} §{section} but not for '{word}': {near}"
