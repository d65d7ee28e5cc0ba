"""BBR (draft-cardwell-iccrg-bbr-congestion-control-00) and pacing: the state machine driven
by hand-made rate samples, pacing's spacing on the wire, BBR's goodput under random loss
against NewReno's, determinism, and controllers without the new hooks left alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from netsim.link.loss import Bernoulli
from netsim.sim.link import LinkConfig
from netsim.sim.scenario import BulkScenario, run_bulk
from netsim.stack.events import CwndRecord, RateRecord, RttRecord, SegmentRecord
from netsim.stack.tcp.config import TcpConfig
from netsim.stack.tcp.congestion.bbr import (
    DRAIN,
    HIGH_GAIN,
    MIN_PIPE_CWND,
    PROBE_BW,
    PROBE_RTT,
    STARTUP,
    Bbr,
)
from netsim.stack.tcp.congestion.reno import NewReno
from netsim.stack.tcp.rate_sample import RateSample
from netsim.trace.recorder import Recorder

MSS = 1448
BW = 1_000_000.0  # bytes per second, 8 Mbit/s
RTT = 0.05


class Driver:
    """Feeds a Bbr one ACK of `per_ack` bytes at a time, each round one RTT long."""

    def __init__(self, bbr: Bbr) -> None:
        self.bbr = bbr
        self.now = 0.0
        self.delivered = 0
        bbr.init(MSS, 0.0)

    def ack(self, rate: float, rtt: float = RTT, inflight: int | None = None,
            new_round: bool = True, acked: int = MSS) -> None:
        rs = RateSample()
        rs.prior_delivered = self.bbr.next_round_delivered if new_round else \
            self.bbr.next_round_delivered - 1
        self.delivered += acked
        rs.conn_delivered = self.delivered
        rs.acked = acked
        rs.delivery_rate = rate
        rs.valid = True
        rs.rtt = rtt
        rs.inflight = self.bbr.cwnd if inflight is None else inflight
        self.bbr.on_rate_sample(rs, self.now)

    def rounds(self, n: int, rate: float, **kw: object) -> None:
        for _ in range(n):
            self.now += RTT
            self.ack(rate, **kw)  # type: ignore[arg-type]


def startup_filled() -> Driver:
    d = Driver(Bbr())
    d.rounds(3, BW)  # the first rounds set full_bw
    d.rounds(3, BW)
    return d


def test_startup_paces_at_the_high_gain_and_leaves_after_three_rounds_without_growth() -> None:
    d = Driver(Bbr())
    rate = BW / 8
    for _ in range(6):  # growing by 2x a round: Startup goes on
        d.rounds(1, rate)
        rate *= 2
        assert d.bbr.state == STARTUP
        assert d.bbr.pacing_rate == pytest.approx(HIGH_GAIN * d.bbr.btl_bw)
    top = d.bbr.btl_bw
    d.rounds(2, top * 1.2)  # less than 25 % growth: two rounds are not enough
    assert d.bbr.state == STARTUP and not d.bbr.filled_pipe
    d.rounds(1, top * 1.2, inflight=10**9)  # the third: the pipe is full, Drain
    assert d.bbr.filled_pipe
    assert d.bbr.state == DRAIN
    assert d.bbr.pacing_gain == pytest.approx(1 / HIGH_GAIN)


def test_25_percent_growth_restarts_the_count() -> None:
    d = Driver(Bbr())
    d.rounds(1, BW)
    d.rounds(2, BW)  # two rounds without growth
    d.rounds(1, BW * 1.3)  # 30 % more: the count starts again
    d.rounds(2, BW * 1.3)
    assert d.bbr.state == STARTUP
    d.rounds(1, BW * 1.3, inflight=10**9)
    assert d.bbr.state == DRAIN


def test_drain_lasts_until_inflight_is_one_bdp() -> None:
    d = Driver(Bbr())
    d.rounds(3, BW)
    d.rounds(3, BW, inflight=10**9)
    assert d.bbr.state == DRAIN
    bdp = BW * RTT
    d.rounds(2, BW, inflight=int(2 * bdp))  # still a queue's worth in flight
    assert d.bbr.state == DRAIN
    d.ack(BW, inflight=int(bdp * 0.9), new_round=False)
    assert d.bbr.state == PROBE_BW
    assert d.bbr.cwnd_gain == 2.0


def test_probe_bw_cycles_through_five_quarters_three_quarters_and_one() -> None:
    d = startup_filled()
    d.ack(BW, inflight=0, new_round=False)
    assert d.bbr.state == PROBE_BW
    gains = set()
    for _ in range(40):  # one phase per RTprop
        d.now += RTT * 1.01
        d.ack(BW, inflight=int(BW * RTT * 1.5))
        gains.add(d.bbr.pacing_gain)
    assert gains == {1.25, 0.75, 1.0}
    assert d.bbr.btl_bw == BW
    assert d.bbr.pacing_rate == pytest.approx(d.bbr.pacing_gain * BW)


def test_probe_rtt_after_ten_seconds_without_a_new_minimum() -> None:
    d = startup_filled()
    d.ack(BW, inflight=0, new_round=False)
    assert d.bbr.state == PROBE_BW and d.bbr.rtprop == RTT
    start = d.now
    while d.now - start < 9.9:  # RTTs above the minimum: no new RTprop for 10 s
        d.now += RTT
        d.ack(BW, rtt=RTT * 1.5)
        assert d.bbr.state == PROBE_BW
    cwnd_before = d.bbr.cwnd
    d.now = start + 10.01
    d.ack(BW, rtt=RTT * 1.5)
    assert d.bbr.state == PROBE_RTT
    assert d.bbr.cwnd == MIN_PIPE_CWND * MSS  # 4 segments in flight at most
    # 200 ms and a round at 4 segments, then back to ProbeBW with the old window
    d.now += RTT
    d.ack(BW, rtt=RTT, inflight=3 * MSS, new_round=False)
    assert d.bbr.state == PROBE_RTT
    d.now += RTT
    d.ack(BW, rtt=RTT, inflight=3 * MSS)  # the round ends, but 200 ms have not passed
    assert d.bbr.state == PROBE_RTT
    d.now += 0.2
    d.ack(BW, rtt=RTT, inflight=3 * MSS, new_round=False)
    assert d.bbr.state == PROBE_BW
    assert d.bbr.cwnd >= cwnd_before


def test_a_new_minimum_rtt_postpones_probe_rtt() -> None:
    d = startup_filled()
    d.ack(BW, inflight=0, new_round=False)
    start = d.now
    while d.now - start < 15:
        d.now += RTT
        d.ack(BW, rtt=RTT)  # as low as the minimum: RTprop refreshed every time
        assert d.bbr.state != PROBE_RTT


def test_bandwidth_filter_forgets_after_ten_rounds() -> None:
    d = startup_filled()
    d.ack(BW, inflight=0, new_round=False)
    d.rounds(9, BW / 2)
    assert d.bbr.btl_bw == BW  # the max of the last 10 rounds
    d.rounds(2, BW / 2)
    assert d.bbr.btl_bw == BW / 2


def test_loss_keeps_cwnd_near_what_is_in_flight_and_restores_it_after() -> None:
    d = startup_filled()
    d.ack(BW, inflight=0, new_round=False)
    d.rounds(3, BW)
    cwnd = d.bbr.cwnd
    d.bbr.on_loss(cwnd, d.now)
    assert d.bbr.ssthresh == d.bbr.cwnd >= cwnd // 2  # no multiplicative decrease
    d.bbr.on_recovery_end(cwnd, d.now)
    assert d.bbr.cwnd >= cwnd


# ---------------------------------------------------------------------- on the wire
def bulk(cc: str, nbytes: int, link: LinkConfig, trace: Recorder | None = None,
         pacing: bool | None = None, pcap: Path | None = None) -> float:
    result = run_bulk(BulkScenario(bytes=nbytes, link=link, cc=cc, seed=1, trace=trace,
                                   pacing=pacing, pcap=pcap))
    assert result.intact
    return result.goodput_bps


def data_gaps(rec: Recorder) -> tuple[list[float], list[float]]:
    """Gaps between data segments h1 sent, and for each the pacing bound Linux's default
    rate gives (payload / (2 x cwnd / SRTT), from the cwnd and SRTT recorded before)."""
    cwnd: float = 0.0
    srtt: float | None = None
    last: SegmentRecord | None = None
    gaps, bounds = [], []
    for r in rec.records:
        if r.host != "h1":
            continue
        if isinstance(r, CwndRecord):
            cwnd = max(r.cwnd, r.flight)
        elif isinstance(r, RttRecord) and r.srtt is not None:
            srtt = r.srtt
        elif isinstance(r, SegmentRecord) and r.direction == "tx" and r.length:
            if last is not None and srtt is not None and cwnd:
                gaps.append(r.time - last.time)
                bounds.append(last.length / (2 * cwnd / srtt))
            last = r
    return gaps, bounds


def test_pacing_spaces_segments_on_the_wire() -> None:
    link = LinkConfig(delay=0.02, rate_bps=1e9)
    paced, unpaced = Recorder(), Recorder()
    bulk("newreno", 300_000, link, paced, pacing=True)
    bulk("newreno", 300_000, link, unpaced)
    gaps, bounds = data_gaps(paced)
    assert len(gaps) > 100
    # every data segment leaves no sooner than the pacing rate allows
    assert all(g >= b * 0.999 for g, b in zip(gaps, bounds, strict=True))
    # without pacing, slow start sends bursts at the link's rate (12 us per segment)
    gaps, bounds = data_gaps(unpaced)
    assert sum(g < b / 10 for g, b in zip(gaps, bounds, strict=True)) > len(gaps) // 2


def test_bbr_paces_at_its_bandwidth_estimate_and_records_it() -> None:
    rec = Recorder()
    bulk("bbr", 2_000_000, LinkConfig(delay=0.01, rate_bps=20e6), rec)
    rates = [r for r in rec.of_kind(RateRecord) if r.host == "h1"]
    states = [r.state for r in rates]
    assert states[0] == STARTUP and PROBE_BW in states and DRAIN in states
    late = [r for r in rates if r.state == PROBE_BW]
    # in ProbeBW the pacing rate is gain x BtlBw, near the 20 Mbit/s link (payload)
    mean = sum(r.pacing_bps for r in late) / len(late)
    assert 15e6 < mean < 25e6
    assert max(r.delivery_bps for r in late) <= 20e6


def test_bbr_goodput_at_one_percent_loss_is_five_times_newreno() -> None:
    # The scenario, shorter: 100 Mbit/s, 10 ms each way, 1 % random loss. NewReno
    # halves its window for each loss (Mathis: ~MSS/RTT x 1.22/sqrt(p)); BBR's model ignores
    # random loss and keeps pacing at the bottleneck rate
    link = LinkConfig(delay=0.01, rate_bps=100e6, loss=Bernoulli(0.01))
    bbr = bulk("bbr", 10_000_000, link)
    newreno = bulk("newreno", 10_000_000, link)
    assert bbr >= 5 * newreno
    assert bbr > 50e6


def test_same_seed_same_pcap(tmp_path: Path) -> None:
    link = LinkConfig(delay=0.01, rate_bps=50e6, loss=Bernoulli(0.01))
    bulk("bbr", 1_000_000, link, pcap=tmp_path / "a.pcap")
    bulk("bbr", 1_000_000, link, pcap=tmp_path / "b.pcap")
    assert (tmp_path / "a.pcap").read_bytes() == (tmp_path / "b.pcap").read_bytes()


# ---------------------------------------------------------------------- the interface
class PlainReno(NewReno):
    """A controller as a student writes it: the interface without the new hooks."""


def test_a_controller_without_the_new_hooks_gets_no_pacer_and_no_rate_samples() -> None:
    rec = Recorder()
    tcp = TcpConfig(cc_factory=PlainReno)
    result = run_bulk(BulkScenario(bytes=200_000, cc="factory", tcp=tcp, trace=rec,
                                   link=LinkConfig(delay=0.01, rate_bps=10e6)))
    assert result.intact
    assert not rec.of_kind(RateRecord)


def test_pacing_flag_must_be_a_bool() -> None:
    from netsim.errors import UsageError
    with pytest.raises(UsageError, match="pacing"):
        TcpConfig(pacing="yes")  # type: ignore[arg-type]


# ---------------------------------------------------------------------- plots
def test_the_combined_plot_gains_a_rate_panel_for_bbr_only() -> None:
    from netsim.trace.plots import plot_combined, plot_rate
    link = LinkConfig(delay=0.01, rate_bps=20e6)
    bbr, reno = Recorder(), Recorder()
    bulk("bbr", 500_000, link, bbr)
    bulk("newreno", 500_000, link, reno)
    fig = plot_combined(bbr)
    assert len(fig.axes) == 4
    legend = fig.axes[3].get_legend()
    assert legend is not None
    labels = {t.get_text() for t in legend.get_texts()}
    assert {"pacing rate", "delivery rate (samples)", "STARTUP"} <= labels
    assert len(plot_combined(reno).axes) == 3
    lines = {ln.get_label(): ln for ln in plot_rate(bbr).axes[0].lines}
    pacing = [float(v) for v in lines["pacing rate"].get_ydata()]  # type: ignore[union-attr,arg-type]
    assert max(pacing) > 20  # Startup: 2/ln 2 x BtlBw, Mbit/s


class Forwarding:
    """Like the grader's proxies for a student's controller: every attribute is forwarded."""

    def __init__(self, inner: NewReno) -> None:
        object.__setattr__(self, "_inner", inner)

    def __getattr__(self, name: str) -> object:
        return getattr(object.__getattribute__(self, "_inner"), name)

    def __setattr__(self, name: str, value: object) -> None:
        setattr(object.__getattribute__(self, "_inner"), name, value)


def test_a_forwarding_proxy_is_not_asked_for_the_new_hooks() -> None:
    asked: list[str] = []

    class Spy(NewReno):
        def __getattribute__(self, name: str) -> object:
            asked.append(name)
            return super().__getattribute__(name)

    rec = Recorder()
    tcp = TcpConfig(cc_factory=lambda: Forwarding(Spy()))  # type: ignore[arg-type,return-value]
    result = run_bulk(BulkScenario(bytes=100_000, cc="factory", tcp=tcp, trace=rec,
                                   link=LinkConfig(delay=0.01, rate_bps=10e6)))
    assert result.intact
    assert "on_rate_sample" not in asked and "pacing_rate" not in asked
    assert not rec.of_kind(RateRecord)
