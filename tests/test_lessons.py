"""The course texts in lessons/: their links resolve and the netsim commands they cite exist with
those flags. (The output they show is checked by tests/test_docs_outputs.py.)"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from netsim.cli import build_parser
from netsim.grading import ASSIGNMENTS

ROOT = Path(__file__).resolve().parent.parent
LESSONS = ROOT / "lessons"
TEXTS = sorted(LESSONS.rglob("*.md"))
LESSON_TEXTS = sorted(LESSONS.glob("[0-9][0-9]-*.md"))
LINK = re.compile(r"\]\(([^)#\s]+)(#[^)]*)?\)")
COMMAND = re.compile(r"^(\s*)\$ (netsim .*)$")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _quoted_commands(text: str) -> list[tuple[str, list[str]]]:
    """(command, quoted output lines) for each ``$ netsim ...`` line of an indented block."""
    lines = text.splitlines()
    out: list[tuple[str, list[str]]] = []
    for i, line in enumerate(lines):
        m = COMMAND.match(line)
        if not m:
            continue
        indent = len(m.group(1))
        quoted: list[str] = []
        for nxt in lines[i + 1:]:
            if nxt.strip() and (_indent(nxt) < indent or nxt.strip().startswith("$ ")):
                break
            quoted.append(nxt.strip())
        out.append((m.group(2), quoted))
    return out


@pytest.mark.parametrize("path", TEXTS, ids=[str(p.relative_to(LESSONS)) for p in TEXTS])
def test_relative_links_resolve(path: Path) -> None:
    text = re.sub(r"<!--.*?-->", "", path.read_text(), flags=re.S)  # markers are not links
    for target, _ in LINK.findall(text):
        if "://" in target:
            continue
        resolved = (path.parent / target).resolve()
        assert resolved.exists(), f"{path.name}: broken link {target}"


def test_course_path_lists_every_lesson_and_assignment() -> None:
    readme = (LESSONS / "README.md").read_text()
    for lesson in LESSON_TEXTS:
        assert f"({lesson.name})" in readme
    for name in ASSIGNMENTS:
        assert (LESSONS / "assignments" / name / "README.md").is_file()
        assert name in (LESSONS / "assignments" / "README.md").read_text()


@pytest.mark.parametrize("path", LESSON_TEXTS, ids=[p.name for p in LESSON_TEXTS])
def test_lesson_has_goals_rfcs_and_exercises(path: Path) -> None:
    text = path.read_text()
    assert "## Learning goals" in text and "## RFCs" in text
    assert text.rstrip().rsplit("\n## ", 1)[-1].startswith("Exercises")  # ends with them
    assert re.search(r"^1\. ", text, re.M)
    answers = (LESSONS / "teachers" / "ANSWERS.md").read_text()
    number = int(path.name[:2])
    assert re.search(rf"^## Lesson {number} ", answers, re.M)


@pytest.mark.parametrize("path", LESSON_TEXTS, ids=[p.name for p in LESSON_TEXTS])
def test_lesson_starts_with_predictions_answered_for_teachers(path: Path) -> None:
    text = path.read_text()
    sections = re.findall(r"^## (.+)$", text, re.M)
    assert sections and sections[0] == "Predict, then run", f"{path.name}: {sections[:1]}"
    block = text.split("## Predict, then run", 1)[1].split("\n## ", 1)[0]
    asked = len(re.findall(r"^\d+\. ", block, re.M))
    assert asked >= 2, f"{path.name} asks {asked} questions"
    number = int(path.name[:2])
    answers = (LESSONS / "teachers" / "ANSWERS.md").read_text()
    section = re.split(rf"^## Lesson {number} .*$", answers, flags=re.M)[1].split("\n## ", 1)[0]
    assert "**Predict, then run**" in section
    given = re.findall(r"^- P(\d+)\. ", section, re.M)
    assert given == [str(i) for i in range(1, asked + 1)], \
        f"{path.name}: {asked} predictions, answers {given}"


def test_every_cited_command_parses() -> None:
    parser = build_parser()
    texts = TEXTS
    seen = 0
    for path in texts:
        for command, _ in _quoted_commands(path.read_text()):
            argv = shlex.split(command.split(" | ")[0])[1:]
            parser.parse_args(argv)  # SystemExit on an unknown command or flag
            seen += 1
    assert seen >= 15


def test_assignment_starters_import_and_run(tmp_path: Path) -> None:
    """`python starter.py` works for every starter with a __main__ demo, or at least imports."""
    from netsim.grading import get_assignment

    for name in ASSIGNMENTS:
        folder = LESSONS / "assignments" / name
        starters = [p for p in folder.glob("*.py")]
        assert len(starters) == 1, name
        for helper in get_assignment(name).helpers:  # 10: the student's 07b and 06 files
            (tmp_path / helper).write_text((LESSONS / "teachers" / "solutions" / helper)
                                           .read_text())
        proc = subprocess.run([sys.executable, "-c", f"import runpy; runpy.run_path("
                               f"{str(starters[0])!r})"], cwd=tmp_path, text=True,
                              capture_output=True, timeout=60)
        # a starter with a demo raises NotImplementedError from a TODO; none may fail otherwise
        assert proc.returncode == 0 or "NotImplementedError: TODO" in proc.stderr, proc.stderr


def test_assignment_readmes_state_the_graders_points() -> None:
    """"Points: N" in each assignment README is what `netsim grade` scores out of."""
    from netsim.grading import get_assignment

    for name in ASSIGNMENTS:
        text = (LESSONS / "assignments" / name / "README.md").read_text()
        m = re.search(r"Points: (\d+)\.", text)
        assert m, f"{name}/README.md does not state its points"
        assert int(m.group(1)) == get_assignment(name).max_score, name
