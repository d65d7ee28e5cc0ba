"""The 07b grader (the whole TCP sender) under attack: hostile and sloppy submissions graded
for real (sandboxed, every check), each against the checks it targets. The rules of the two
simulations are tested in process in tests/test_lab_sender.py (the audit); here the whole path
is: sandbox, proxy, codec, checks.
"""

from __future__ import annotations

import re

import pytest
from model_grades import SharedGrades

from netsim.grading import get_assignment
from netsim.grading.framework import GradeReport
from netsim.grading.report import text_report

LAB = "from netsim.stack.tcp.lab_sender import LabSender\n"
SIMS = {"simulation_lossy_link", "netsim_tcp"}
ALL = {c.name for c in get_assignment("07b-sender-timer").checks}

ATTACKS: dict[str, tuple[str, set[str], str]] = {
    # name: (source, checks that must give 0, words in the feedback)
    "odd_tuples": (LAB + '''
class T(tuple):  # equal to anything: the grader must not compare with it
    def __eq__(self, other):
        return True
    __hash__ = tuple.__hash__
class Sender(LabSender):
    def push(self):
        return [T(s) for s in super().push()]
    def tick(self, elapsed):
        return [T(s) for s in super().tick(elapsed)]
''', ALL, "plain tuples"),
    "odd_numbers": (LAB + '''
class Sender(LabSender):
    def push(self):
        return [(s[0] - 2**32, s[1], s[2], s[3]) for s in super().push()]
    def in_flight(self):
        return float("nan")
''', ALL, "NaN"),
    "no_window_no_max_payload": (LAB + '''
class Sender(LabSender):  # the whole stream in one segment: the receiver would trim it
    def __init__(self, isn=0, initial_rto=1.0, max_payload=1000):
        super().__init__(isn, initial_rto, 10**9)
        self._window = 10**9
    def receive(self, ackno, window):
        super().receive(ackno, 10**9)
''', SIMS, "more than max_payload"),
    "push_floods": (LAB + '''
class Sender(LabSender):  # go-back-N from push(), past the window; tick() never resends
    def receive(self, ackno, window):
        super().receive(ackno, max(window, 20000))
    def push(self):
        super().push()
        return [seg for _, seg in self._outstanding]
    def tick(self, elapsed):
        super().tick(elapsed)
        return []
''', SIMS, "the peer's window ends"),
    "garbled_retransmissions": (LAB + '''
class Sender(LabSender):  # right shape and numbers, wrong bytes when sent again
    def tick(self, elapsed):
        return [(s, y, bytes(len(p)), f) for s, y, p, f in super().tick(elapsed)]
''', SIMS, "not the stream's bytes"),
    "ints_for_flags": (LAB + '''
class Sender(LabSender):  # 1 == True in Python: flags must still be bools
    def push(self):
        return [(s, int(y), p, int(f)) for s, y, p, f in super().push()]
''', ALL, "True or False"),
    "moody": (LAB + '''
import itertools
_n = itertools.count()
class Sender(LabSender):  # in_flight() right only every other call
    def in_flight(self):
        return super().in_flight() + next(_n) % 2
''', ALL - SIMS, "in_flight()"),
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory,
           shared_grades: SharedGrades) -> dict[str, GradeReport]:
    folder = tmp_path_factory.mktemp("attacks07b")
    files = {}
    for name, (src, _, _) in ATTACKS.items():
        files[name] = folder / f"{name}.py"
        files[name].write_text(src)
    # the model (lessons/teachers/solutions/sender.py), graded once per session
    models, reps = shared_grades.models(["07b-sender-timer"],
                                      [("07b-sender-timer", str(p)) for p in files.values()])
    return {**dict(zip(files, reps, strict=True)), "model": models["07b-sender-timer"]}


def test_the_model_solution_keeps_full_marks(graded: dict[str, GradeReport]) -> None:
    assert graded["model"].full_marks, text_report(graded["model"])


@pytest.mark.parametrize("name", list(ATTACKS))
def test_an_attack_gets_nothing_from_the_checks_it_targets(graded: dict[str, GradeReport],
                                                           name: str) -> None:
    rep = graded[name]
    _, targets, words = ATTACKS[name]
    by_name = {r.name: r for r in rep.results}
    for check in targets:
        assert by_name[check].points == 0, text_report(rep)
    first = next(by_name[c] for c in by_name if c in targets)
    assert words in first.output, first.output
    for r in rep.results:  # capped, no control characters, whatever the code sent
        assert len(r.output) <= 4200
        assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", r.output), repr(r.output[:300])
