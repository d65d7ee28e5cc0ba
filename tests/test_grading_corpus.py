"""The real graders (sandboxed, every check) against the corpus of plausible wrong
implementations (tests/data/wrong_impls/<assignment>/<name>.py) and the teachers' model
solutions (lessons/teachers/solutions/).

Each wrong implementation scores below full marks, and the FIRST failing check's feedback
names its mistake: the corpus file's ``Expect:`` line (words, ``|`` between alternatives) must
appear in it, so one root mistake is not reported as another. Each model solution scores 100%.
Each assignment README lists the grader's checks and points exactly.

Everything is graded once, in parallel, by a module-scoped fixture; a wrong implementation's
grading stops at its first failing check (the only one these tests read) and leaves out the
comparison behind the "looks like a copy" note (no test here reads it; these files are near
copies of the solutions, so it cost most of a second of CPU each), a model solution's runs
every check. The models' reports are shared with the other grading tests (tests/
model_grades.py: each model is graded once per session).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from model_grades import SOLUTION_FILES, SOLUTIONS, Job, SharedGrades

from netsim.grading import ASSIGNMENTS, get_assignment
from netsim.grading.framework import GradeReport
from netsim.grading.report import text_report

ROOT = Path(__file__).resolve().parent.parent
CORPUS = Path(__file__).resolve().parent / "data" / "wrong_impls"
CASES = sorted((p.parent.name, p) for p in CORPUS.glob("*/*.py"))
# Not mistakes: other choices a README allows, each graded like a model solution
ACCEPTED = sorted((p.parent.name, p) for p in (CORPUS.parent / "accepted_impls").glob("*/*.py"))
# Grading the whole corpus (about ten submissions per assignment) takes minutes on a loaded
# machine: more than the default per-test limit, which counts the module fixture's setup.
pytestmark = pytest.mark.timeout(900)


def _expect(path: Path) -> list[str]:
    m = re.search(r"^Expect: (.+)$", path.read_text(), re.M)
    assert m, f"{path.name} has no 'Expect:' line"
    return [w.strip() for w in m.group(1).split("|")]


def staged(assignment: str, path: Path, tmp: Path) -> str:
    """The file to grade for a corpus entry: itself, or, for an assignment whose file imports
    the student's earlier work (`Assignment.helpers`: 10's sender.py and tcp_receiver.py), a
    copy named as the starter in a folder of its own, with the model solutions of that work
    next to it."""
    helpers = get_assignment(assignment).helpers
    if not helpers:
        return str(path)
    folder = tmp / f"{path.parent.name}-{path.stem}"
    folder.mkdir()
    shutil.copyfile(path, folder / get_assignment(assignment).filename)
    for name in helpers:
        shutil.copyfile(SOLUTIONS / name, folder / name)
    return str(folder / get_assignment(assignment).filename)


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory,
           shared_grades: SharedGrades) -> dict[str, GradeReport]:
    tmp = tmp_path_factory.mktemp("corpus")
    first_failure = {"stop_at_first_failure": True, "compare_copies": False}
    wrong: list[Job] = [(a, staged(a, p, tmp), first_failure) for a, p in CASES]
    accepted: list[Job] = [(a, staged(a, p, tmp)) for a, p in ACCEPTED]
    # the models with the rest, in one parallel batch (any graded earlier in the session, by
    # the attack tests, are not graded again)
    models, reports = shared_grades.models(list(SOLUTION_FILES), [*wrong, *accepted])
    keys = [str(p) for _, p in CASES] + [str(p) for _, p in ACCEPTED]
    return {**dict(zip(keys, reports, strict=True)),
            **{str(SOLUTIONS / SOLUTION_FILES[a]): rep for a, rep in models.items()}}


@pytest.mark.parametrize(("assignment", "path"), CASES,
                         ids=[f"{a.split('-')[0]}-{p.stem}" for a, p in CASES])
def test_first_failing_check_names_the_mistake(graded: dict[str, GradeReport],
                                               assignment: str, path: Path) -> None:
    rep = graded[str(path)]
    assert rep.score < rep.max_score, text_report(rep)
    first = next(r for r in rep.results if not r.passed)
    assert first.status == "fail", text_report(rep)  # a verdict, not a crash or a timeout
    words = _expect(path)
    assert any(w.lower() in first.output.lower() for w in words), \
        f"{path.name}: first failing check {first.name} does not name {words}:\n{first.output}"


@pytest.mark.parametrize("assignment", list(SOLUTION_FILES))
def test_model_solution_scores_full_marks(graded: dict[str, GradeReport],
                                          assignment: str) -> None:
    rep = graded[str(SOLUTIONS / SOLUTION_FILES[assignment])]
    assert rep.full_marks, text_report(rep)
    # written out, not netsim's reference re-exported (the similarity note names the solution
    # itself, which the grader compares submissions with)
    assert not any("reference implementation" in n for n in rep.notes), rep.notes


@pytest.mark.parametrize(("assignment", "path"), ACCEPTED,
                         ids=[f"{a[:2]}-{p.stem}" for a, p in ACCEPTED])
def test_an_accepted_choice_scores_full_marks(graded: dict[str, GradeReport],
                                              assignment: str, path: Path) -> None:
    """E.g. 09: the route looked up before the TTL (RFC 1812 §5.2.1.2's order), which the
    README accepts."""
    rep = graded[str(path)]
    assert rep.full_marks, text_report(rep)


def test_solutions_stay_out_of_the_starter_folders() -> None:
    for a, name in SOLUTION_FILES.items():
        starter = (ROOT / "lessons" / "assignments" / a / get_assignment(a).filename)
        assert "NotImplementedError" in starter.read_text()
        assert not (ROOT / "lessons" / "assignments" / a / "solutions").exists()
        assert (SOLUTIONS / name).read_text() != starter.read_text()


def test_corpus_has_ten_per_assignment() -> None:
    for a in ASSIGNMENTS:
        assert sum(1 for x, _ in CASES if x == a) >= 10, a


@pytest.mark.parametrize("assignment", list(ASSIGNMENTS))
def test_readme_lists_the_checks_and_points(assignment: str) -> None:
    """No drift: the README's table is the grader's check list, in order, with its points."""
    asg = get_assignment(assignment)
    text = (ROOT / "lessons" / "assignments" / assignment / "README.md").read_text()
    rows = re.findall(r"^\| `(\w+)` \| (\d+) \|", text, re.M)
    assert rows == [(c.name, str(c.points)) for c in asg.checks]
    assert f"Points: {asg.max_score}." in text
    assert f"{asg.max_score} points in all" in text
