"""The 10-tcp-peer grader (the capstone): what it checks in process (the differential
check's verdicts and hints, the fairness of the simulation's seeds, the validation of every
value, the teacher's notes on helper files), and hostile and sloppy submissions graded for
real (sandboxed, every check), with the Gradescope and --batch outputs.

The corpus of plausible wrong peers (tests/data/wrong_impls/10-tcp-peer) and the model
solution's full marks are in tests/test_grading_corpus.py.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
from pathlib import Path

import pytest
from model_grades import SharedGrades

from netsim.cli import main
from netsim.grading import get_assignment
from netsim.grading.framework import GradeReport
from netsim.grading.report import gradescope_json, text_report
from netsim.stack.tcp.lab_peer import LabPeer

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "lessons" / "teachers" / "solutions"
STARTER = ROOT / "lessons" / "assignments" / "10-tcp-peer" / "tcp_peer.py"
HELPERS = ("sender.py", "tcp_receiver.py")
PEER = "from netsim.stack.tcp.lab_peer import LabPeer\n"
ASG = get_assignment("10-tcp-peer")
ALL = {c.name for c in ASG.checks}


# ------------------------------------------------------------------ in process
class _NoEmptyAck(LabPeer):
    def receive(self, seg):  # type: ignore[no-untyped-def]
        return [s for s in super().receive(seg) if s[3] or s[4] or s[6]]


class _GivesUpAtEight(LabPeer):
    def tick(self, elapsed):  # type: ignore[no-untyped-def]
        out = super().tick(elapsed)
        if self._active and self._sender.consecutive_retransmissions() == 8:
            self._active = False
            return [(self._sender.make_empty_message()[0], self._receiver.ackno(),
                     self._window_field(), False, False, True, b"")]
        return out


class _LingersAlways(LabPeer):
    def receive(self, seg):  # type: ignore[no-untyped-def]
        ended = self._receiver.reassembler.finished
        out = super().receive(seg)
        if self._receiver.reassembler.finished and not ended:
            self._linger = True
        return out


def test_random_exchanges_pass_the_reference_and_catch_mistakes() -> None:
    from netsim.grading import differential

    def check(peer: type) -> differential.DiffOutcome:
        return differential.check("10-tcp-peer", peer)

    ok = check(LabPeer)
    assert ok.passed and ok.examples >= 10, ok.feedback
    for wrong, words in ((_NoEmptyAck, "is acknowledged"), (_GivesUpAtEight, "EXCEEDS 8"),
                         (_LingersAlways, "passive close")):
        out = check(wrong)
        assert not out.passed, wrong.__name__
        assert out.hint is not None and words in out.hint, (wrong.__name__, out.feedback)
        assert "p = TcpPeer(" in out.script and "step 1:" in out.script


def test_the_simulation_runs_are_clean_for_the_reference() -> None:
    """A peer that answers as LabPeer does gets the points: every run the check makes ends
    cleanly with the reference (the simulation is deterministic for a seed)."""
    from netsim.grading.tcp_peer_sim import NBYTES, RUNS, TIME_LIMIT
    from netsim.sim.peer_transfer import transfer

    assert {active for _, active in RUNS} == {False, True}  # both ways of opening
    for seed, active in RUNS:
        res = transfer(LabPeer, seed, active=active, nbytes=NBYTES, time_limit=TIME_LIMIT)
        assert res.to_peer_intact and res.from_peer_intact, res
        assert res.peer_closed and res.netsim_closed and not res.reset and not res.error, res


@pytest.mark.parametrize(("value", "words"), [
    ((1, None, 0, False, False, False), "tuple of 7 values"),
    ([1, None, 0, False, False, False, b""], "tuple of 7 values"),
    ((1 << 32, None, 0, False, False, False, b""), "seqno must be an int in [0, 2**32)"),
    ((True, None, 0, False, False, False, b""), "seqno must be an int"),
    ((1, -1, 0, False, False, False, b""), "ackno must be None or an int"),
    ((1, 5, 70000, False, False, False, b""), "16-bit window field"),
    ((1, 5, 1.5, False, False, False, b""), "16-bit window field"),
    ((1, 5, 10, 1, False, False, b""), "syn must be True or False"),
    ((1, 5, 10, False, False, 0, b""), "rst must be True or False"),
    ((1, 5, 10, False, False, False, "abc"), "payload must be bytes"),
])
def test_every_segment_from_the_student_is_checked(value: object, words: str) -> None:
    from netsim.grading.tcp_peer_run import segment_problem

    problem = segment_problem(value)
    assert problem is not None and words in problem, problem
    assert segment_problem((1, None, 65535, True, False, False, b"x")) is None


def test_a_helper_file_taken_from_the_reference_is_noted(tmp_path: Path) -> None:
    from netsim.grading.similarity import helper_notes

    for name in HELPERS:
        shutil.copyfile(SOLUTIONS / name, tmp_path / name)
    assert helper_notes(tmp_path, ASG) == []  # the student's own sender and receiver
    (tmp_path / "sender.py").write_text(
        "from netsim.stack.tcp.lab_sender import LabSender as Sender\n")
    (tmp_path / "tcp_receiver.py").write_text(
        "from netsim.stack.tcp import tcp_receiver as r\n\n"
        "class TcpReceiver(r.StreamReceiver):\n    pass\n")
    notes = " ".join(helper_notes(tmp_path, ASG))
    assert "sender.py uses netsim's reference implementation" in notes
    assert "Sender is (a subclass of) netsim.stack.tcp.lab_sender.LabSender" in notes
    assert "TcpReceiver is (a subclass of) netsim.stack.tcp.tcp_receiver.StreamReceiver" \
        in notes
    (tmp_path / "sender.py").write_text("class Sender(:\n")  # broken: no note, no crash
    assert len(helper_notes(tmp_path, ASG)) == 1


# ------------------------------------------------------------- graded for real
ATTACKS: dict[str, tuple[str, set[str], str]] = {
    # name: (source, checks that must give 0, words in the first one's feedback)
    "ints_for_flags": (PEER + '''
class TcpPeer(LabPeer):  # 1 == True in Python: flags must still be bools
    def _send(self, messages):
        return [(s, a, w, int(y), int(f), r, p) for s, a, w, y, f, r, p in
                super()._send(messages)]
''', ALL, "True or False"),
    "objects_for_segments": (PEER + '''
class Seg:
    def __init__(self, t):
        self.t = t
    def __eq__(self, other):
        return True
class TcpPeer(LabPeer):  # objects stay in the sandbox: only plain values cross
    def _send(self, messages):
        return [Seg(s) for s in super()._send(messages)]
''', ALL, "tuple"),
    "huge_window": (PEER + '''
class TcpPeer(LabPeer):  # the room, not the 16-bit field
    def _window_field(self):
        return self._capacity * 1000 - len(self._unread)
''', ALL, "16-bit"),
    "raises_on_fin": (PEER + '''
class TcpPeer(LabPeer):
    def receive(self, seg):
        if seg[4]:
            raise KeyError("\\x1b[31mno FIN here\\x00")
        return super().receive(seg)
''', {"active_close", "passive_close", "random_sequences", "simulation_lossy_link"},
        "KeyError"),
    "never_closes": (PEER + '''
class TcpPeer(LabPeer):  # never says the connection is over
    def active(self):
        return True
''', {"rst_syn_sent", "give_up", "simulation_lossy_link"}, "active()"),
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory,
           shared_grades: SharedGrades) -> dict[str, GradeReport]:
    folder = tmp_path_factory.mktemp("attacks10")
    files = {}
    for name, (src, _, _) in ATTACKS.items():
        files[name] = folder / f"{name}.py"
        files[name].write_text(src)
    # the model (lessons/teachers/solutions/tcp_peer.py with its sender.py and
    # tcp_receiver.py), graded once per session
    models, reps = shared_grades.models(["10-tcp-peer"],
                                      [("10-tcp-peer", str(p)) for p in files.values()])
    return {**dict(zip(files, reps, strict=True)), "model": models["10-tcp-peer"]}


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


def test_gradescope_json_has_one_test_per_check(graded: dict[str, GradeReport]) -> None:
    for rep in (graded["model"], graded["huge_window"]):
        doc = json.loads(gradescope_json(rep))
        assert doc["score"] == rep.score
        assert [t["name"] for t in doc["tests"]] == [c.name for c in ASG.checks]
        assert sum(t["max_score"] for t in doc["tests"]) == ASG.max_score == 26
    failing = next(t for t in json.loads(gradescope_json(graded["huge_window"]))["tests"]
                   if t["name"] == "passive_open")
    assert failing["score"] == 0 and "16-bit" in failing["output"]


def test_batch_grades_folders_with_their_helpers_and_notes_the_reference(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A submission is a folder: tcp_peer.py with the student's sender.py and
    tcp_receiver.py. alice hands in netsim's LabPeer and LabSender (full marks, and notes for
    the teacher); bob hands in the starter with his own sender and receiver (0 points)."""
    subs = tmp_path / "subs"
    alice, bob = subs / "alice", subs / "bob"
    for who in (alice, bob):
        who.mkdir(parents=True)
        for name in HELPERS:
            shutil.copyfile(SOLUTIONS / name, who / name)
    (alice / "tcp_peer.py").write_text(
        "from netsim.stack.tcp.lab_peer import LabPeer as TcpPeer\n")
    (alice / "sender.py").write_text(
        "from netsim.stack.tcp.lab_sender import LabSender as Sender\n")
    shutil.copyfile(STARTER, bob / "tcp_peer.py")
    table = tmp_path / "grades.csv"
    # (exit status 0: every entry held a submission; the points are in the table)
    assert main(["grade", "10", "--batch", str(subs), "--csv", str(table),
                 "--timeout", "20"]) == 0
    by = {r["submission"]: r for r in csv.DictReader(table.open())}
    assert by["alice"]["score"] == by["alice"]["max_score"] == "26"
    assert "TcpPeer is (a subclass of) netsim.stack.tcp.lab_peer.LabPeer" in by["alice"]["notes"]
    assert "sender.py uses netsim's reference implementation" in by["alice"]["notes"]
    assert by["bob"]["score"] == "0" and "passive_open" in by["bob"]["not_passed"]
    assert not by["bob"]["notes"]
    assert "alice" in capsys.readouterr().out
