"""Every RFC section the project cites exists in that RFC, and is cited for what it says.

The texts scanned: README.md, docs/, lessons/ (every .md, and the assignments' and solutions'
.py files), the notebooks' markdown cells and netsim's source (comments, docstrings and
messages). A citation is "RFC 9293 §3.8.6.1", "RFC 6298 (2.3)" (RFC 6298 numbers its rules),
"section 3.2 of RFC 6582", or a bare "§3.8.6.2" that follows an "RFC N" in the same sentence
(a markdown table row: the RFC of its header). A bare "§2" in a sentence that names no RFC is a
section of the lesson itself, and must be one of its headings.

The section titles are in tests/data/rfc_sections.json, each RFC's read from the copy of its
text named there; the words a citation may use besides a title's ("topics") were each found in
that section's text. The sentence around a citation must use one of them."""

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
    for p in [*sorted((ROOT / "netsim").rglob("*.py")), *sorted((ROOT / "lessons").rglob("*.py"))]:
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


#: Where a sentence ends: after . ? or ! before a capital, a bracket, a quote or a section sign;
#: before a list item; at a line of a fenced code block (a comment there is one line)
_SENTENCE_END = re.compile(r"(?<=[.?!])\s+(?=[A-Z(\[`*_\"§])|\n(?=\s*(?:[-*]|\d+\.)\s)")
_CODE_LINE = re.compile(r"\n(?=\s*#)")


def _sentences(block: str, table: bool, code: bool) -> Iterator[tuple[int, str]]:
    """(offset, sentence) pieces of a block; a table row is one sentence. In a text (not in
    Python source, where comments wrap) a comment line of a code block is one too."""
    if table:
        yield 0, block
        return
    start = 0
    ends = [*_SENTENCE_END.finditer(block), *([] if code else _CODE_LINE.finditer(block))]
    for m in sorted(ends, key=lambda m: m.start()):
        if m.start() < start:
            continue
        yield start, block[start:m.start()]
        start = m.end()
    yield start, block[start:]


#: Own-section references: a bare "§2" in a sentence that names no RFC ("the script of §2",
#: "(§1)") points at a numbered heading of the file itself (or of the .md file it links to).
_OWN_BEFORE = re.compile(r"\b(?:scripts?|trace|runs?|commands?|comparison|table|outputs?)\s+"
                         r"(?:of|in)\s+(?:§\d+\s+and\s+)?$")
_OWN_AFTER = re.compile(r"\s+(?:below|above|here)\b")
OwnRef = tuple[str, str, str, str]  # file, the file it points into, section, the text around it
OWN: list[OwnRef] = []


#: What may stand between two citations that share their text: punctuation, "and", "or",
#: "with", numbers, "eq. 3", "step 2", another RFC's number
_BETWEEN = re.compile(r"(?:[\s,;/()\-–.:+]|\d|\band\b|\bor\b|\bwith\b|\beq\.|\bsteps?\b"
                      r"|RFC\s?\d{3,4}(?:'s)?)*")


def _groups(sentence: str) -> list[tuple[int, int]]:
    """(start, end) of each run of side-by-side section citations in a sentence."""
    groups: list[tuple[int, int]] = []
    for m in TOKEN.finditer(sentence):
        if m.group("rfc"):
            continue
        if groups and _BETWEEN.fullmatch(sentence[groups[-1][1]:m.start()]):
            groups[-1] = (groups[-1][0], m.end())
        else:
            groups.append((m.start(), m.end()))
    return groups


def citations(name: str, text: str, own: list[OwnRef] | None = None) -> list[Citation]:
    """Each citation with the text around it: its sentence (a table row: the row), cut at the
    citations before and after it. A bare "§x" belongs to the RFC named before it in the same
    sentence (a table row: the RFC of the row, else of the header)."""
    out: list[Citation] = []
    for block, start, table in _blocks(text):
        for _, sentence in _sentences(block, table, name.endswith(".py")):
            current = start
            groups = _groups(sentence)
            for m in TOKEN.finditer(sentence):
                # the text around a citation: its sentence, from the citation before it to the
                # one after it ("§3.1 (header format), §3.3.2 (the state machine)"); citations
                # side by side ("RFC 9293 §3.8.6.1, RFC 1122 §4.2.2.17") share it, and all
                # share what the sentence says before the first
                g = next((i for i, (x, y) in enumerate(groups) if x <= m.start() < y), None)
                a = groups[g - 1][1] if g else 0
                b = groups[g + 1][0] if g is not None and g + 1 < len(groups) else len(sentence)
                a, b = max(a, m.start() - 200), min(b, m.end() + 200)
                # what the sentence says before its first citation is said of all of them
                lead = sentence[:min(a, groups[0][0])] if groups else ""
                around = " ".join((lead[-200:] + " " + sentence[a:b]).split())
                if m.group("rfc"):
                    follows = sentence[m.end():m.end() + 2].lstrip().startswith("§")
                    # "RFC 6528's keyed hash" names an RFC in passing; in a table only "RFC N §x"
                    # changes the RFC that the row's bare sections refer to
                    if not m.group("poss") and (follows or not table):
                        current = m.group("rfc")
                elif m.group("num"):
                    mine = _OWN_BEFORE.search(sentence[:m.start()]) or \
                        _OWN_AFTER.match(sentence[m.end():])
                    if current and not mine:
                        # RFC 6298 has no subsections: its "§2.3" is rule (2.3)
                        rule = current == "6298" and "." in m.group("num")
                        out.append((name, current, ("rule " if rule else "") + m.group("num"),
                                    around))
                    elif own is not None:
                        link = re.findall(r"([\w./-]+\.md)\b", sentence[:m.start()])
                        own.append((name, link[-1] if link else name, m.group("num"), around))
                elif m.group("rule"):
                    if current == "6298":
                        out.append((name, current, "rule " + m.group("rule"), around))
                elif m.group("snum"):
                    rfc = m.group("srfc") or current
                    current = rfc
                    if rfc:
                        out.append((name, rfc, m.group("snum"), around))
    return out


ALL = [c for name, text in _texts() for c in citations(name, text, OWN)]


def _exists(rfc: str, section: str) -> bool:
    entry = RFCS[rfc]
    if section.startswith("rule "):
        rules = entry.get("rules", {})
        assert isinstance(rules, dict)
        return section[5:] in rules
    sections = entry["sections"]
    assert isinstance(sections, dict)
    return section in sections


def _titles(rfc: str, section: str) -> list[str]:
    """The section's title and its ancestors' (a rule of RFC 6298: what it says, and its
    section's title)."""
    entry = RFCS[rfc]
    sections = entry["sections"]
    assert isinstance(sections, dict)
    out = []
    if section.startswith("rule "):
        rules = entry["rules"]
        assert isinstance(rules, dict)
        out.append(str(rules.get(section[5:], "")))
        section = section[5:].split(".")[0]
    parts = section.split(".")
    return out + [str(sections.get(".".join(parts[:i]), "")) for i in range(len(parts), 0, -1)]


#: Words of a title that say nothing about its topic
_VAGUE = frozenset({
    "the", "and", "for", "with", "from", "into", "than", "this", "that", "other", "some", "more",
    "its", "use", "using", "tcp", "rfc", "issues", "specific", "general", "considerations",
    "introduction", "overview", "discussion", "section", "protocol", "walk", "through"})


def _stem(word: str) -> str:
    stem = re.sub(r"(?:ations?|ions?|ing|ments?|ed|es|s)$", "", word.lower()) or word.lower()
    return stem[:-1] if len(stem) > 3 and stem.endswith("e") else stem


def _vocabulary(rfc: str, section: str) -> list[str]:
    """Titles and topic words of a section (a rule of RFC 6298: its section's topic words too)."""
    parent = [f"{rfc} {section[5:].split('.')[0]}"] if section.startswith("rule ") else []
    return [*_titles(rfc, section),
            *(w for key in (f"{rfc} {section}", *parent) for w in TOPICS.get(key, []))]


def _about(vocabulary: list[str], text: str) -> bool:
    """Whether the text uses the vocabulary (titles and topic words): one of them whole, or a
    word of the text and a keyword agree on their stems' first six letters (all of a shorter
    stem)."""
    words = {_stem(w) for w in re.findall(r"[A-Za-z][A-Za-z0-9]*", text)}
    for phrase in vocabulary:
        if re.search(r"(?<!\w)" + re.escape(phrase) + r"(?!\w)", text, re.I):
            return True
        for key in re.findall(r"[A-Za-z][A-Za-z0-9]*", phrase):
            if len(key) < 3 or key.lower() in _VAGUE:
                continue
            k = _stem(key)
            n = min(6, len(k))
            if any(w[:n] == k[:n] and len(w) >= n for w in words):
                return True
    return False


def test_the_scanner_finds_the_citation_forms_in_use() -> None:
    found = citations("x.md", "RFC 9293 §3.8.6.1 (probing), §3.8.6.2.2; RFC 6298 (2.3) and "
                      "(5.5); section 3.2 of RFC 6582, RFC 6528's hash, §3.5. Its §2.\n\n"
                      "| m | RFC 5681 / RFC 3465 |\n|---|---|\n| a | b (§3.1, RFC 3465) |")
    assert [(c[1], c[2]) for c in found] == [
        ("9293", "3.8.6.1"), ("9293", "3.8.6.2.2"), ("6298", "rule 2.3"), ("6298", "rule 5.5"),
        ("6582", "3.2"), ("6582", "3.5"), ("5681", "3.1")]
    own: list[OwnRef] = []
    found = citations("x.md", "RFC 5961 §3.2; the script of §2 shows it. (§1)\n\n"
                      "```\nh.send()  # RFC 5961 §7\n# one challenge ACK (§4)\n```", own)
    assert [(c[1], c[2]) for c in found] == [("5961", "3.2"), ("5961", "7")]
    assert [c[2] for c in citations("x.md", "RFC 6298 §2.1 and §5.")] == ["rule 2.1", "5"]
    assert [o[2] for o in own] == ["2", "1", "4"]
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
    titles = _titles(rfc, section)
    vocabulary = [t.lower() for t in (*titles, *TOPICS.get(f"{rfc} {section}", []))]
    assert any(word.lower() in v for v in vocabulary), \
        f"'{word}' is not the topic of RFC {rfc} §{section} ({titles[0]})"
    near = [c[3] for c in ALL if c[0] == file and c[1] == rfc and c[2] == section]
    assert near, f"{file} no longer cites RFC {rfc} §{section}"
    assert any(word.lower() in t.lower() for t in near), \
        f"{file} cites RFC {rfc} §{section} but not for '{word}': {near}"


def test_every_citation_is_about_its_section() -> None:
    """The sentence (a table row) that cites a section uses a word of its title, of an
    ancestor's title, or of the topic words listed for it in TOPICS (each of which occurs in
    the section's text)."""
    wrong = [f"{c[0]}: RFC {c[1]} §{c[2]} ({_titles(c[1], c[2])[0]}) — …{c[3]}…"
             for c in ALL if c[1] in RFCS and _exists(c[1], c[2])
             and not _about(_vocabulary(c[1], c[2]), c[3])]
    assert not wrong, "\n".join(wrong)


ANSWERS = "lessons/teachers/ANSWERS.md"


def _headings(path: Path) -> set[str]:
    return set(re.findall(r"^#+ (\d+(?:\.\d+)*)\.? ", path.read_text(), re.M))


def test_bare_section_signs_point_at_headings_of_the_lesson() -> None:
    """A "§2" in a sentence that names no RFC is the file's own section 2 (or, after a link to
    an .md file, that file's); in the teachers' answers, the lesson the answer is about."""
    wrong = []
    for name, into, num, around in OWN:
        if not name.startswith("lessons/") or not name.endswith(".md"):
            continue
        path = (ROOT / name).parent / into if into != name else ROOT / name
        if name == ANSWERS and into == name:
            continue  # checked below, per lesson
        if not path.is_file() or num not in _headings(path):
            wrong.append(f"{name}: §{num} is no section of {path.relative_to(ROOT)} — …{around}…")
    answers = re.split(r"^## Lesson (\d+)\b.*$", (ROOT / ANSWERS).read_text(), flags=re.M)
    for number, body in zip(answers[1::2], answers[2::2], strict=True):
        lesson = next((ROOT / "lessons").glob(f"{int(number):02d}-*.md"))
        own: list[OwnRef] = []
        citations(ANSWERS, body, own)
        for _, into, num, around in own:
            path = lesson if into == ANSWERS else (ROOT / ANSWERS).parent / into
            if num not in _headings(path):
                wrong.append(f"{ANSWERS} (lesson {number}): §{num} is no section of "
                             f"{path.relative_to(ROOT)} — …{around}…")
    assert not wrong, "\n".join(wrong)


#: "RFC 5681 3.1", "RFC 5681, sec. 3.1", "RFC 5681 (3.1)" (only RFC 6298 numbers rules),
#: "section 3.1 of [RFC5681]", "rfc5681#section-3.1": forms the scanner does not read
_UNREAD = re.compile(r"RFC\s?\d{3,4}[,:]?\s(?:sec\.?\s?|s\.\s?|p\.\s?)?\d+\.\d+"
                     r"|RFC\s?(?!6298)\d{3,4}\s\(\d+\.\d+\)"
                     r"|section\s\d+(?:\.\d+)*\sof\s\["
                     r"|rfc\d{3,4}(?:\.html|\.txt)?#section-", re.I)


def test_no_citation_is_in_a_form_the_scanner_does_not_read() -> None:
    unread = [f"{name}: …{' '.join(text[max(0, m.start() - 40):m.end() + 40].split())}…"
              for name, text in _texts() for m in _UNREAD.finditer(text)]
    assert not unread, "write these as 'RFC N §x.y':\n" + "\n".join(unread)
    assert _UNREAD.search("cwnd grows (RFC 5681 (3.1))") and not _UNREAD.search("RFC 6298 (2.3)")


def test_the_topic_check_tells_a_right_citation_from_a_wrong_one() -> None:
    (_, _, _, around), = citations("x.md", "In slow start cwnd doubles every round trip "
                                   "(RFC 5681 §4.2).")
    assert not _about(_titles("5681", "4.2"), around)  # Generating Acknowledgments
    assert _about(_titles("5681", "3.1"), around)  # Slow Start and Congestion Avoidance
    found = citations("x.md", "Window probes (RFC 9293 §3.8.6.1, RFC 1122 §4.2.2.17) and the "
                      "rest: RFC 9293 §3.1 (header format), §3.3.2 (states), §3.7.1 (MSS option).")
    assert [("probes" in c[3], "header" in c[3], "MSS" in c[3]) for c in found] == [
        (True, False, False), (True, False, False), (True, True, False), (True, True, False),
        (True, False, True)]
