"""Agreement with theory: under periodic loss a long Reno transfer settles into the AIMD
sawtooth, cwnd climbing one segment per round trip from W/2 to W and halving at each loss,
with W = sqrt(8N/3) segments when one packet in N is lost (the deterministic model behind
Mathis et al. 1997). CUBIC's sawtooth drops to 0.7 W instead (RFC 9438 §4.6)."""

from __future__ import annotations

import math
import statistics
from collections.abc import Generator
from typing import Any

import pytest

from netsim.sim.link import LinkConfig
from netsim.sim.loss import Periodic
from netsim.sim.topology import two_hosts
from netsim.sim.world import World
from netsim.stack.events import CwndRecord, TraceRecord
from netsim.stack.tcp.config import TcpConfig

EVERY_N = 300  # one data frame in 300 is lost
ONE_WAY = 0.01
DURATION = 10.0
SKIP = 10  # loss events of slow start and convergence, left out


class CwndTrace:
    def __init__(self) -> None:
        self.records: list[CwndRecord] = []

    def record(self, rec: TraceRecord) -> None:
        if isinstance(rec, CwndRecord) and rec.host == "h1":
            self.records.append(rec)


def sawtooth(cc: str, sack: bool) -> tuple[list[float], list[float], list[float], int, Any]:
    """Run a bulk transfer; return the peaks (cwnd just before each loss, in segments), the
    troughs (ssthresh set by that loss), the times of the losses, the MSS and the sender."""
    trace = CwndTrace()
    world = World(3)
    data = LinkConfig(delay=ONE_WAY, rate_bps=1e9, queue_packets=10_000,
                      loss=Periodic(EVERY_N))
    acks = LinkConfig(delay=ONE_WAY, rate_bps=1e9, queue_packets=10_000)
    net = two_hosts(world, data, acks, trace=trace, tcp=TcpConfig(cc=cc, sack=sack))
    h1, h2 = net.hosts
    conns: list[Any] = []

    def server() -> Generator[Any, Any, None]:
        sock = yield h2.listen(9000).accept()
        while (yield sock.recv(1 << 20)):
            pass

    def client() -> Generator[Any, Any, None]:
        sock = yield h1.connect("10.0.0.2", 9000)
        conns.append(sock)
        chunk = b"x" * (1 << 20)
        while True:
            yield sock.sendall(chunk)

    world.env.process(server())
    world.env.process(client())
    world.run(until=DURATION)
    conn = next(iter(h1.stack.tcp.conns.values()))
    mss = conn.snd_mss
    peaks: list[float] = []
    troughs: list[float] = []
    times: list[float] = []
    top = 0
    for rec in trace.records:
        if rec.event == "fast_retransmit":
            peaks.append(top / mss)
            troughs.append(rec.ssthresh / mss)
            times.append(rec.time)
            top = 0
        elif rec.event == "ack":  # outside recovery (no window inflation)
            top = max(top, rec.cwnd)
    return peaks[SKIP:], troughs[SKIP:], times[SKIP:], mss, conn


@pytest.mark.parametrize(("cc", "sack"), [("newreno", True), ("reno", False)])
def test_reno_sawtooth_halves_at_each_loss_and_peaks_at_sqrt_8n_over_3(cc: str,
                                                                       sack: bool) -> None:
    peaks, troughs, times, mss, conn = sawtooth(cc, sack)
    assert len(peaks) >= 15, "too few loss events for a steady state"
    assert conn.timeouts <= 1  # at most one, in the slow-start overshoot
    # multiplicative decrease: every trough is half the peak before it
    ratios = [t / p for t, p in zip(troughs, peaks, strict=True)]
    assert statistics.mean(ratios) == pytest.approx(0.5, abs=0.03)
    assert min(ratios) > 0.45 and max(ratios) < 0.55
    # a steady sawtooth: successive peaks alike, near the model's W = sqrt(8N/3)
    w = math.sqrt(8 * EVERY_N / 3)
    assert statistics.mean(peaks) == pytest.approx(w, rel=0.15)
    assert max(peaks) - min(peaks) <= 2
    # additive increase: from W/2 back to W at one segment per round trip
    rtt = conn.rto_est.srtt
    cycle = statistics.mean(b - a for a, b in zip(times, times[1:], strict=False))
    climb = statistics.mean(peaks) - statistics.mean(troughs)
    assert climb / (cycle / rtt) == pytest.approx(1.0, rel=0.2)


def test_cubic_sawtooth_keeps_seventy_percent() -> None:
    peaks, troughs, _, _, conn = sawtooth("cubic", True)
    assert len(peaks) >= 15
    ratios = [t / p for t, p in zip(troughs, peaks, strict=True)]
    assert statistics.mean(ratios) == pytest.approx(0.7, abs=0.03)
    assert conn.timeouts <= 1
