"""Numbers the lessons and lessons/teachers/ANSWERS.md state about runs that the lessons do not
show as command output (test_lessons.py compares those): each is re-measured here, so that a
change in netsim's behaviour fails until the text is corrected."""

from __future__ import annotations

import statistics

import pytest

from netsim.cli import main
from netsim.sim.link import LinkConfig
from netsim.sim.loss import Bernoulli
from netsim.sim.scenario import BulkScenario, run_bulk
from netsim.stack.events import RttRecord
from netsim.stack.tcp.config import TcpConfig
from netsim.stack.tcp.congestion import cubic
from netsim.testing.script import TcpScript
from netsim.trace.recorder import Recorder


def _sim(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    capsys.readouterr()
    main(["sim", *argv])
    return capsys.readouterr().out


def test_lesson6_cubic_is_mostly_in_its_reno_friendly_region(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Lesson 6 §2: in the 1%-loss comparison CUBIC's window is set by the Reno-friendly
    estimate for almost all ACKs in congestion avoidance (RFC 9438 §4.3)."""
    region = _count_cubic_regions(monkeypatch)
    r = run_bulk(BulkScenario(bytes=2_000_000, cc="cubic", link=LinkConfig(
        delay=0.02, rate_bps=20e6, loss=Bernoulli(0.01))))
    assert f"{r.goodput_bps / 1e6:.2f}" == "4.92"
    assert region["reno-friendly"] > 0.9 * (region["reno-friendly"] + region["cubic"]), region


def _count_cubic_regions(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Count, for each ACK CUBIC takes in congestion avoidance, which region set cwnd."""
    region = {"reno-friendly": 0, "cubic": 0}
    on_ack = cubic.Cubic.on_ack

    def counting(self: cubic.Cubic, acked: int, rtt: float | None, flight: int,
                 now: float) -> None:
        avoiding = self.cwnd >= self.ssthresh
        on_ack(self, acked, rtt, flight, now)
        if avoiding and self.epoch_start is not None:
            t = now - self.epoch_start
            region["reno-friendly" if self._w_cubic(t) < self.w_est else "cubic"] += 1

    monkeypatch.setattr(cubic.Cubic, "on_ack", counting)
    return region


def test_lesson6_exercise6_both_controllers_at_100ms(capsys: pytest.CaptureFixture[str],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    common = ("--bytes", "2MB", "--delay", "100ms", "--rate", "20Mbit", "--loss", "0.01")
    assert "goodput          704 kbit/s" in _sim(capsys, *common, "--cc", "reno")
    region = _count_cubic_regions(monkeypatch)
    assert "goodput          1.05 Mbit/s" in _sim(capsys, *common, "--cc", "cubic")
    assert 0.5 < region["reno-friendly"] / (region["reno-friendly"] + region["cubic"]) < 0.9


def test_lesson10_exercises_2_and_3() -> None:
    # 2: the rebooted peer's RST at the challenge ACK's ACK value resets the connection
    h = TcpScript(TcpConfig(timestamps=False, sack=False, window_scaling=False))
    h.establish_active(80)
    h.inject(flags="R", seq=5101)
    h.expect(flags="A", seq=h.rel(1), ack=5001)
    h.inject(flags="R", seq=5001)
    assert str(h.state) == "CLOSED"
    # 3: the lowest ACK value accepted is SND.UNA - MAX.SND.WND = ISS + 1001 - 65535
    for below, delivered in ((65000, b"evil"), (65535, b"evil"), (65536, b"")):
        h = TcpScript(TcpConfig(timestamps=False, sack=False, window_scaling=False,
                                nodelay=True))
        conn = h.establish_active(80, options={"mss": 1460})
        h.app_send(b"x" * 1000)
        h.drain()
        h.inject(flags="A", ack=h.rel(1001))
        h.inject(flags="PA", seq=5001, ack=h.rel(1001) - below, payload=b"evil")
        h.advance(0.2)
        assert h.app_recv() == delivered, below
        assert conn.max_snd_wnd == 65535


def test_lesson11_exercises_2_and_5(capsys: pytest.CaptureFixture[str]) -> None:
    link = ("--bytes", "2MB", "--rate", "20Mbit", "--delay", "20ms", "--queue", "66")
    out = _sim(capsys, "--flows", "4", *link)
    assert "goodput          17.3 Mbit/s" in out and "fairness index 0.998" in out
    out = _sim(capsys, "--flows", "8", *link)
    assert "goodput          18.5 Mbit/s" in out and "fairness index 0.978" in out
    assert "timeouts         0" in out  # RACK-TLP repairs what DupAck counting timed out on
    out = _sim(capsys, "--flows", "8", *link, "--no-rack")
    assert "timeouts         4" in out and "fairness index 0.968" in out
    out = _sim(capsys, "--bytes", "2MB", "--loss", "0.01", "--delay", "80ms")
    assert "goodput          891 kbit/s" in out
    assert "retransmissions  17 (13 fast retransmits, 13 SACK recoveries)" in out


def test_lesson11_exercise3_a_large_queue_costs_delay(capsys: pytest.CaptureFixture[str]
                                                     ) -> None:
    out = _sim(capsys, "--flows", "2", "--bytes", "8MB", "--rate", "20Mbit", "--delay", "20ms",
               "--queue", "1000")
    assert "retransmissions  182 " in out and "timeouts         0" in out
    assert "fairness index 0.994" in out and "goodput          18.1 Mbit/s" in out
    rtts = {}
    for queue in (66, 1000):
        rec = Recorder(hosts={"h1"}, kinds={"rtt"})
        run_bulk(BulkScenario(bytes=8_000_000, flows=2, trace=rec, link=LinkConfig(
            delay=0.02, rate_bps=20e6, queue_packets=queue)))
        samples = [x.sample for x in rec.of_kind(RttRecord) if x.sample is not None]
        rtts[queue] = (statistics.median_low(samples), max(samples))
    assert [round(v, 3) for v in rtts[66]] == [0.064, 0.13]
    assert [round(v, 3) for v in rtts[1000]] == [0.281, 0.666]
