"""netsim's whole-sender reference (netsim.stack.tcp.lab_sender, assignment 07b): the rules a
student is graded on, checked on the reference itself, its bad-input errors, and the
simulated transfer the grader runs (and students run with ``python -m``)."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from netsim.grading.sender_timer_sim import transfer
from netsim.stack.tcp.lab_sender import LabSender

ROOT = Path(__file__).resolve().parent.parent
M = 1 << 32


def established(isn: int = 0, window: int = 1000, **kw: float) -> LabSender:
    s = LabSender(isn=isn, **kw)  # type: ignore[arg-type]
    assert s.push() == [(isn, True, b"", False)]
    s.receive((isn + 1) % M, window)
    assert s.in_flight() == 0
    return s


def test_syn_alone_until_the_window_is_known_then_data_and_fin_wrap() -> None:
    s = LabSender(isn=M - 1, max_payload=4)
    s.write(b"hello")
    s.close()
    assert s.push() == [(M - 1, True, b"", False)]  # the window is taken as 1
    assert s.push() == []
    s.receive(0, 10)
    # 5 bytes in segments of 4, the FIN after the last byte, sequence numbers past 2**32
    assert s.push() == [(0, False, b"hell", False), (4, False, b"o", True)]
    assert s.in_flight() == 6 and s.make_empty_message() == (6, False, b"", False)


def test_fin_waits_for_room_in_the_window() -> None:
    s = LabSender(isn=7)
    s.write(b"abc")
    s.close()
    s.receive(None, 4)  # SYN + 3 bytes fit, the FIN does not
    assert s.push() == [(7, True, b"abc", False)]
    s.receive(11, 1)
    assert s.push() == [(11, False, b"", True)]
    assert s.push() == []


def test_an_ack_of_unsent_data_is_ignored_window_included() -> None:
    s = established(max_payload=10)
    s.write(b"x" * 10)
    s.push()
    s.receive(500, 0)  # RFC 9293 §3.10.7.4: not yet sent
    assert s.in_flight() == 10
    s.write(b"y")
    assert s.push() == [(11, False, b"y", False)]  # the window is still 1000


def test_timeouts_back_off_and_an_ack_resets_rto_count_and_timer() -> None:
    s = established(max_payload=10)
    s.write(b"a" * 30)
    segs = s.push()
    assert len(segs) == 3
    assert s.tick(0.999) == [] and s.tick(0.001) == [segs[0]]  # the oldest, at RTO
    assert s.tick(1.999) == [] and s.tick(0.001) == [segs[0]]  # RTO doubled
    assert s.consecutive_retransmissions() == 2
    assert s.tick(3.5) == []
    s.receive(11, 1000)  # new data: RTO back to 1 s, count 0, the timer restarted
    assert s.consecutive_retransmissions() == 0
    assert s.tick(0.75) == [] and s.tick(0.25) == [segs[1]]
    s.receive(31, 1000)  # everything: the timer is off
    assert s.tick(100.0) == []


def test_zero_window_probes_repeat_without_backoff_or_count() -> None:
    s = established(window=0)
    s.write(b"abc")
    assert s.push() == [(1, False, b"a", False)]  # a zero window is taken as one
    assert s.push() == []
    for _ in range(3):
        assert s.tick(1.0) == [(1, False, b"a", False)]
    assert s.consecutive_retransmissions() == 0
    s.receive(1, 5)  # the window opens
    assert s.push() == [(2, False, b"bc", False)]


@pytest.mark.parametrize(("call", "words"), [
    (lambda: LabSender(isn=-1), "isn: -1 is not allowed"),
    (lambda: LabSender(isn=M), "isn:"),
    (lambda: LabSender(initial_rto=0), "initial_rto: 0"),
    (lambda: LabSender(initial_rto=float("nan")), "initial_rto:"),
    (lambda: LabSender(max_payload=0), "max_payload: 0"),
    (lambda: LabSender().receive(1, -1), "window: -1"),
    (lambda: LabSender().receive(M, 5), "ackno:"),
    (lambda: LabSender().receive(True, 5), "ackno: True"),
    (lambda: LabSender().tick(-0.5), "elapsed: -0.5"),
    (lambda: LabSender().write("text"), "data: a str"),  # type: ignore[arg-type]
])
def test_bad_arguments_are_one_line_errors_naming_the_argument(call: object,
                                                                 words: str) -> None:
    with pytest.raises(ValueError, match=words.replace("(", r"\(")) as info:
        call()  # type: ignore[operator]
    assert "\n" not in str(info.value)


def test_write_after_close_is_refused() -> None:
    s = LabSender()
    s.close()
    with pytest.raises(ValueError, match="closed"):
        s.write(b"x")


def test_the_transfer_over_a_hostile_link_is_intact_and_probes_zero_windows() -> None:
    data = random.Random(3).randbytes(200_000)
    for seed in (1, 2, 3):
        res = transfer(LabSender(isn=M - 1000, initial_rto=0.1), data, seed)
        assert res.intact and res.all_acked, res
        assert res.retransmissions > 0 and res.probes > 0  # losses and zero windows happened


def test_a_sender_that_never_retransmits_does_not_deliver() -> None:
    class NoTimer(LabSender):
        def tick(self, elapsed: float) -> list[tuple[int, bool, bytes, bool]]:
            super().tick(elapsed)
            return []

    res = transfer(NoTimer(initial_rto=0.1), bytes(200_000), 1, time_limit=20.0)
    assert not res.intact and res.delivered < 200_000 and not res.all_acked


def test_students_run_the_transfer_with_their_own_class(tmp_path: Path) -> None:
    sol = ROOT / "lessons" / "teachers" / "solutions" / "sender.py"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}  # this checkout's netsim
    proc = subprocess.run([sys.executable, "-m", "netsim.labrun", "sender-link", str(sol)],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "200000 of 200000 bytes" in proc.stdout and "intact=True" in proc.stdout


def test_gradescope_output_for_07b(tmp_path: Path) -> None:
    from netsim.cli import main

    sub = tmp_path / "sender.py"
    sub.write_text((ROOT / "lessons" / "teachers" / "solutions" / "sender.py").read_text())
    out = tmp_path / "results.json"
    assert main(["grade", "07b", str(sub), "--format", "gradescope", "-o", str(out)]) == 0
    results = json.loads(out.read_text())
    assert results["score"] == 26
    assert [t["name"] for t in results["tests"]][:2] == ["syn", "fill_window"]


def test_a_peer_with_the_reference_sender_talks_to_netsims_tcp_over_a_lossy_link() -> None:
    from netsim.grading.sender_timer_peer import exchange

    rng = random.Random(5)
    up, down = rng.randbytes(60_000), rng.randbytes(10_000)
    for seed in (1, 2):
        res = exchange(LabSender(isn=M - 30_000, initial_rto=0.2), up, down, loss=0.1,
                       seed=seed)
        assert res.up_intact and res.down_intact and not res.reset, res
        assert res.retransmissions > 0


def test_a_peer_whose_sender_ignores_acks_does_not_finish() -> None:
    from netsim.grading.sender_timer_peer import exchange

    class Deaf(LabSender):
        def receive(self, ackno: int | None, window: int) -> None:
            super().receive(None, window)  # no ACK counts: at most one window goes out

    res = exchange(Deaf(initial_rto=0.2), b"x" * 100_000, b"y" * 100, loss=0.0,
                   time_limit=10.0)
    assert not res.up_intact


def test_students_run_the_peer_with_their_own_class(tmp_path: Path) -> None:
    sol = ROOT / "lessons" / "teachers" / "solutions" / "sender.py"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    proc = subprocess.run([sys.executable, "-m", "netsim.labrun", "sender-peer", str(sol),
                           "--loss", "0.1"], capture_output=True, text=True, timeout=120,
                          cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("intact=True") == 2
    bad = subprocess.run([sys.executable, "-m", "netsim.labrun", "sender-peer", str(sol),
                          "--loss", "1.5"], capture_output=True, text=True, timeout=120,
                         cwd=tmp_path, env=env)
    assert bad.returncode == 2 and "--loss: 1.5 is not allowed" in bad.stderr


def test_07_and_07b_are_told_apart_by_name() -> None:
    from netsim.grading import resolve_name

    assert resolve_name("7") == resolve_name("07") == "07-tcp-sender"
    assert resolve_name("7b") == resolve_name("sender-timer") == "07b-sender-timer"


# ----------------------------------------------------------------- the simulations' audit
# A hostile or sloppy sender must not get the simulation checks' points by what the link
# tolerates (netsim's receiver trims what is past its window) or by what it says of itself.
class _Flood(LabSender):
    """push() sends every outstanding segment again: retransmissions no tick() returned."""

    def push(self) -> list[tuple[int, bool, bytes, bool]]:
        super().push()
        return [seg for _, seg in self._outstanding]


class _Huge(LabSender):
    """Ignores max_payload and the window: the whole stream in one segment."""

    def __init__(self, isn: int = 0, initial_rto: float = 1.0, max_payload: int = 1000) -> None:
        super().__init__(isn, initial_rto, 1 << 30)
        self._window = 1 << 30

    def receive(self, ackno: int | None, window: int) -> None:
        super().receive(ackno, window)
        self._window = 1 << 30


class _NoWindow(LabSender):
    """max_payload right, but the window taken as 20000 whatever the peer says."""

    def receive(self, ackno: int | None, window: int) -> None:
        super().receive(ackno, 20_000)


class _Garbled(LabSender):
    """Retransmissions carry other bytes than the first copy."""

    def tick(self, elapsed: float) -> list[tuple[int, bool, bytes, bool]]:
        return [(s, y, bytes(len(p)), f) for s, y, p, f in super().tick(elapsed)]


class _FinTooSoon(LabSender):
    """The FIN on a segment that is not the last of the stream."""

    def push(self) -> list[tuple[int, bool, bytes, bool]]:
        out = super().push()
        return [(s, y, p, f or (len(p) > 0 and self._closed)) for s, y, p, f in out]


class _SynAgain(LabSender):
    """Every retransmission carries the SYN."""

    def tick(self, elapsed: float) -> list[tuple[int, bool, bytes, bool]]:
        return [(s, True, p, f) for s, _, p, f in super().tick(elapsed)]


class _Empty(LabSender):
    """tick() returns an empty segment, make_empty_message() one with payload."""

    def tick(self, elapsed: float) -> list[tuple[int, bool, bytes, bool]]:
        return [(s, False, b"", False) for s, *_ in super().tick(elapsed)]

    def make_empty_message(self) -> tuple[int, bool, bytes, bool]:
        return (self.make_empty_message_seqno(), False, b"x", False)

    def make_empty_message_seqno(self) -> int:
        return super().make_empty_message()[0]


class _FinForgotten(LabSender):
    """Says nothing is in flight, and never sends the FIN again when its ACK is lost."""

    def in_flight(self) -> int:
        return 0

    def tick(self, elapsed: float) -> list[tuple[int, bool, bytes, bool]]:
        out = super().tick(elapsed)
        return [] if self._fin_sent and self._next - self._acked == 1 else out


@pytest.mark.parametrize(("cls", "words"), [
    (_Huge, "more than max_payload=1000"),
    (_NoWindow, "the peer's window ends at"),
    (_Garbled, "is not the stream's bytes"),
    (_FinTooSoon, "a FIN after stream byte"),
    (_SynAgain, "the SYN at absolute sequence number"),
    (_Empty, "an empty segment"),
])
def test_the_simulation_audits_every_segment(cls: type[LabSender], words: str) -> None:
    data = random.Random(7).randbytes(200_000)  # the grader's: losses, retransmissions
    res = transfer(cls(isn=M - 1000, initial_rto=0.1), data, 7)
    assert words in res.error and not res.intact, res


def test_the_simulation_counts_retransmissions_push_sends_again() -> None:
    data = random.Random(7).randbytes(200_000)
    honest = transfer(LabSender(isn=5, initial_rto=0.1), data, 7, max_retransmissions=100)
    assert honest.error == "" and 0 < honest.retransmissions < 100, honest
    flood = transfer(_Flood(isn=5, initial_rto=0.1), data, 7, max_retransmissions=100)
    assert "more than 100 segments sent again" in flood.error and not flood.intact, flood


def test_the_simulation_wants_the_fin_acknowledged_not_just_in_flight_zero() -> None:
    data = random.Random(7).randbytes(20_000)
    lost = [transfer(_FinForgotten(initial_rto=0.1), data, seed) for seed in range(1, 30)]
    assert any(r.intact and not r.all_acked for r in lost)  # the FIN's ACK lost: not done
    assert all(transfer(LabSender(initial_rto=0.1), data, seed).all_acked
               for seed in range(1, 30))


@pytest.mark.parametrize(("cls", "words"), [
    (_Huge, "more than max_payload=1000"),
    (_Garbled, "is not the stream's bytes"),
    (_Empty, "make_empty_message() gave a segment"),
])
def test_the_peer_audits_every_segment(cls: type[LabSender], words: str) -> None:
    from netsim.grading.sender_timer_peer import exchange

    rng = random.Random(5)
    res = exchange(cls(isn=M - 30_000, initial_rto=0.2), rng.randbytes(30_000),
                   rng.randbytes(5_000), loss=0.1, seed=1)
    assert words in res.error and not res.up_intact, res
