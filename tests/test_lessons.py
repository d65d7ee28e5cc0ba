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


def _run(command: str, capsys: pytest.CaptureFixture[str]) -> str:
    """Run `netsim ...` in this process (in the current directory) and return its stdout;
    ``| head -N`` keeps the first N lines."""
    pipe = command.split(" | ")
    capsys.readouterr()
    main(shlex.split(pipe[0])[1:])
    out = capsys.readouterr().out
    if len(pipe) > 1:
        m = re.fullmatch(r"head -(\d+)", pipe[1].strip())
        if m:
            out = "\n".join(out.splitlines()[:int(m.group(1))])
    return out


@pytest.mark.parametrize("path", LESSON_TEXTS, ids=[p.name for p in LESSON_TEXTS])
def test_quoted_command_output_is_real(path: Path, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    """Run each simulated command in order (later ones read the pcaps earlier ones wrote) and
    find every quoted output line in what it printed. Live commands (root, a TAP) and
    commands on the student's own files are not run here."""
    monkeypatch.chdir(tmp_path)
    ran = 0
    for command, quoted in _quoted_commands(path.read_text()):
        if ".py:" in command or "| less" in command or " live" in command:
            continue
        actual = {line.strip() for line in _run(command, capsys).splitlines()}
        for line in _comparable(quoted):
            assert line in actual, f"{path.name}: `{command}` did not print:\n{line}"
        ran += 1
    # (lesson 9 shows its simulated numbers in a Python snippet, checked below)
    if path.name not in ("05-flow-control.md", "07-live-mode.md", "09-syn-flood-cookies.md",
                         "10-rst-and-blind-attacks.md"):
        assert ran >= 1


def _python_blocks(text: str) -> list[tuple[str, list[str]]]:
    """(code, quoted output) for each ```python block followed (within two lines) by an
    indented output block."""
    out: list[tuple[str, list[str]]] = []
    for m in re.finditer(r"```python\n(.*?)```\n", text, re.S):
        rest = text[m.end():].splitlines()
        start = next((i for i, ln in enumerate(rest[:3]) if ln.startswith("    ")), None)
        quoted: list[str] = []
        if start is not None:
            for ln in rest[start:]:
                if ln.strip() and not ln.startswith("    "):
                    break
                quoted.append(ln.strip())
        out.append((m.group(1), quoted))
    return out


@pytest.mark.parametrize("path", LESSON_TEXTS, ids=[p.name for p in LESSON_TEXTS])
def test_python_snippets_run_and_print_what_is_quoted(path: Path, tmp_path: Path) -> None:
    for code, quoted in _python_blocks(path.read_text()):
        proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, text=True,
                              capture_output=True, timeout=120)
        assert proc.returncode == 0, f"{path.name}: snippet failed:\n{code}\n{proc.stderr}"
        actual = {line.strip() for line in proc.stdout.splitlines()}
        for line in _comparable(quoted):
            assert line in actual, f"{path.name}: snippet did not print:\n{line}"


def test_assignment_starters_import_and_run(tmp_path: Path) -> None:
    """`python starter.py` works for every starter with a __main__ demo, or at least imports."""
    for name in ASSIGNMENTS:
        folder = LESSONS / "assignments" / name
        starters = [p for p in folder.glob("*.py")]
        assert len(starters) == 1, name
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
