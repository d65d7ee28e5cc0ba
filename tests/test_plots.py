"""netsim.trace.plots: each figure's drawn data (lines, collections, markers, spans, arrows and
labels) is read back from its axes and compared with the trace it was drawn from."""

from __future__ import annotations

import math
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.text import Annotation

from netsim.errors import UsageError
from netsim.stack.events import SegmentRecord
from netsim.stack.tcp.config import TcpConfig
from netsim.trace import Recorder
from netsim.trace.plots import (
    plot_combined,
    plot_cwnd,
    plot_ladder,
    plot_rtt,
    plot_time_sequence,
)
from netsim.trace.plots.cwnd import INFINITE_SSTHRESH
from netsim.trace.plots.ladder import flag_names

sys.path.insert(0, str(Path(__file__).parent))
from trace_helpers import transfer  # noqa: E402

CLIENT = "10.0.0.1:49152>10.0.0.2:9000"
SERVER = "10.0.0.2:9000>10.0.0.1:49152"
MASK = 0xFFFFFFFF


@pytest.fixture(scope="module")
def lossy() -> Recorder:
    """60 kB with two data frames lost: fast retransmits, SACK blocks, recovery."""
    return transfer(60_000, lose=[3, 24])


@pytest.fixture(scope="module")
def tail() -> Recorder:
    """20 kB whose last data segment is lost: only a retransmission timeout recovers it
    (without RACK-TLP, whose loss probe would recover it before the timeout)."""
    return transfer(20_000, lose=[13], tcp=TcpConfig(rack=False, dsack=False))


def line(ax: Axes, label: str) -> Line2D:
    found = [ln for ln in ax.lines if ln.get_label() == label]
    assert len(found) == 1, f"{label!r} among {[ln.get_label() for ln in ax.lines]}"
    return found[0]


def coll(ax: Axes, label: str) -> LineCollection:
    found = [c for c in ax.collections if c.get_label() == label]
    assert len(found) == 1, f"{label!r} among {[c.get_label() for c in ax.collections]}"
    assert isinstance(found[0], LineCollection)
    return found[0]


def bars(c: LineCollection) -> list[tuple[float, float, float, float]]:
    return [(float(s[0][0]), float(s[0][1]), float(s[1][0]), float(s[1][1]))
            for s in c.get_segments()]


def xy(ln: Line2D) -> list[tuple[float, float]]:
    return [(float(x), float(y)) for x, y in ln.get_xydata()]


def close(got: Any, want: Any) -> None:
    """Drawn data equals the trace's numbers (floats compared to 1e-9)."""
    g, w = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
    assert g.shape == w.shape, (g.shape, w.shape)
    assert np.allclose(g, w, rtol=1e-9, atol=1e-12, equal_nan=True)


def only_axes(fig: Figure) -> Axes:
    assert len(fig.axes) == 1
    return fig.axes[0]


def wscale(seg: SegmentRecord) -> int:
    m = re.search(r"wscale (\d+)", seg.options)
    return int(m.group(1)) if m else 0


# ---------------------------------------------------------------------- time-sequence graph
def test_time_sequence_bars_are_the_data_segments_sent(lossy: Recorder) -> None:
    ax = only_axes(plot_time_sequence(lossy, CLIENT))
    tx = [s for s in lossy.segments(CLIENT, "tx") if s.length]
    first = [(s.time, s.seq_rel, s.time, s.seq_rel + s.length) for s in tx if not s.retransmit]
    again = [(s.time, s.seq_rel, s.time, s.seq_rel + s.length) for s in tx if s.retransmit]
    assert len(again) == 2
    close(bars(coll(ax, "data")), first)
    retx = coll(ax, "retransmission")
    close(bars(retx), again)
    red, green, blue = retx.get_color()[0][:3]
    assert red > 0.7 and green < 0.3 and blue < 0.3


def test_time_sequence_ack_and_window_lines_follow_the_acks_received(lossy: Recorder) -> None:
    ax = only_axes(plot_time_sequence(lossy))  # default: the end that sent the data
    acks = [s for s in lossy.segments(CLIENT, "rx") if "." in s.flags]
    ack_line = line(ax, "ACK")
    assert ack_line.get_drawstyle() == "steps-post"
    close(xy(ack_line), [(s.time, s.ack_rel) for s in acks])
    # The window the receiver advertises, scaled by the shift in ITS SYN (RFC 7323 §2.2);
    # the SYN+ACK's own window field is never scaled.
    (synack,) = [s for s in acks if "S" in s.flags]
    shift = wscale(synack)
    assert shift > 0
    expected = [(s.time, s.ack_rel + (s.window if "S" in s.flags else s.window << shift))
                for s in acks]
    close(xy(line(ax, "window")), expected)


def test_time_sequence_sack_blocks_are_relative_to_the_senders_isn(lossy: Recorder) -> None:
    ax = only_axes(plot_time_sequence(lossy, CLIENT))
    (syn,) = [s for s in lossy.segments(CLIENT, "tx") if s.flags == "S"]
    iss = syn.seq
    blocks = [(s.time, (a - iss) & MASK, s.time, (b - iss) & MASK)
              for s in lossy.segments(CLIENT, "rx") for a, b in s.sack]
    assert blocks
    close(bars(coll(ax, "SACK")), blocks)
    # Every SACKed range lies above the cumulative ACK of the same segment
    for s in lossy.segments(CLIENT, "rx"):
        for a, _ in s.sack:
            assert (a - iss) & MASK > s.ack_rel


def test_time_sequence_marks_syn_and_fin(lossy: Recorder) -> None:
    ax = only_axes(plot_time_sequence(lossy, CLIENT))
    tx = lossy.segments(CLIENT, "tx")
    syn = [s for s in tx if "S" in s.flags]
    fin = [s for s in tx if "F" in s.flags]
    close(xy(line(ax, "SYN")), [(s.time, 0) for s in syn])
    close(xy(line(ax, "FIN")), [(s.time, 60_001) for s in fin])
    assert line(ax, "SYN").get_linestyle() == "None"


def test_time_sequence_receiver_view_draws_data_at_arrival(lossy: Recorder) -> None:
    ax = only_axes(plot_time_sequence(lossy, SERVER))
    rx = [s for s in lossy.segments(SERVER, "rx") if s.length]
    drawn = bars(coll(ax, "data"))
    if any(c.get_label() == "retransmission" for c in ax.collections):
        drawn += bars(coll(ax, "retransmission"))
    close(sorted(drawn), sorted((s.time, s.seq_rel, s.time, s.seq_rel + s.length) for s in rx))
    acks = [s for s in lossy.segments(SERVER, "tx") if "." in s.flags]
    close(xy(line(ax, "ACK")), [(s.time, s.ack_rel) for s in acks])
    assert "receiver" in ax.get_title()


def test_time_range_zooms_into_part_of_the_trace(lossy: Recorder) -> None:
    t0, t1 = 0.05, 0.12
    ax = only_axes(plot_time_sequence(lossy, CLIENT, time_range=(t0, t1)))
    xs = [b[0] for b in bars(coll(ax, "data"))]
    assert xs and all(t0 <= x <= t1 for x in xs)
    close(ax.get_xlim(), (t0, t1))


@pytest.mark.parametrize("bad", [(1.0,), "0-5", (0.0, "5"), (0.0, math.nan)])
def test_a_time_range_that_is_no_pair_of_times_is_a_usage_error(lossy: Recorder,
                                                                 bad: Any) -> None:
    for plot in (plot_time_sequence, plot_cwnd, plot_rtt):
        with pytest.raises(UsageError, match="time_range: .* is not a \\(start, end\\) pair"):
            plot(lossy, CLIENT, time_range=bad)


# ---------------------------------------------------------------------- cwnd
def test_cwnd_lines_are_the_cwnd_records(lossy: Recorder) -> None:
    ax = only_axes(plot_cwnd(lossy, CLIENT))
    recs = lossy.cwnd(CLIENT)
    close(xy(line(ax, "cwnd")), [(r.time, r.cwnd) for r in recs])
    close(xy(line(ax, "bytes in flight")), [(r.time, r.flight) for r in recs])
    ss = line(ax, "ssthresh").get_ydata()
    for value, r in zip(ss, recs, strict=True):
        if r.ssthresh >= INFINITE_SSTHRESH:
            assert math.isnan(value)  # "infinite" ssthresh is not drawn
        else:
            assert value == r.ssthresh
    assert any(math.isnan(v) for v in ss) and not all(math.isnan(v) for v in ss)


def test_cwnd_marks_fast_retransmits_and_shades_recovery(lossy: Recorder) -> None:
    ax = only_axes(plot_cwnd(lossy, CLIENT))
    fr_times = [e.time for e in lossy.events(CLIENT, "fast_retransmit")]
    assert fr_times
    marks = line(ax, "fast retransmit")
    close(list(marks.get_xdata()), fr_times)
    spans = sorted((p.get_x(), p.get_x() + p.get_width()) for p in ax.patches)
    exits = [c.time for c in lossy.cwnd(CLIENT) if c.event in ("recovery_exit", "rto")]
    assert len(spans) == len(fr_times)
    for (a, b), start in zip(spans, fr_times, strict=True):
        assert a == pytest.approx(start)
        assert b == pytest.approx(min(t for t in exits if t >= start))
    assert not any(ln.get_label() == "RTO" for ln in ax.lines)


def test_cwnd_marks_a_retransmission_timeout(tail: Recorder) -> None:
    ax = only_axes(plot_cwnd(tail))
    rtos = [c for c in tail.cwnd(CLIENT) if c.event == "rto"]
    assert len(rtos) == 1
    close(xy(line(ax, "RTO")), [(rtos[0].time, rtos[0].cwnd)])
    assert tail.events(CLIENT, "rto")[0].time == rtos[0].time


# ---------------------------------------------------------------------- RTT
def test_rtt_lines_are_the_estimator_in_milliseconds(tail: Recorder) -> None:
    ax = only_axes(plot_rtt(tail, CLIENT))
    recs = tail.rtt(CLIENT)
    close(line(ax, "SRTT").get_ydata(), [r.srtt * 1000 for r in recs])
    close(line(ax, "RTTVAR").get_ydata(), [r.rttvar * 1000 for r in recs])
    close(xy(line(ax, "RTO")), [(r.time, r.rto * 1000) for r in recs])
    samples = [(r.time, r.sample * 1000) for r in recs if r.sample is not None]
    close(xy(line(ax, "RTT sample")), samples)
    # The timeout doubled the RTO (RFC 6298 (5.5)): marked where it happened
    backoffs = [(r.time, r.rto * 1000) for r in recs if r.sample is None]
    assert len(backoffs) == 1
    close(xy(line(ax, "RTO backoff")), backoffs)
    assert ax.get_yscale() == "log"


# ---------------------------------------------------------------------- labels, combined
@pytest.mark.parametrize("plot, ylabel", [
    (plot_time_sequence, "(bytes)"), (plot_cwnd, "bytes"), (plot_rtt, "(ms)"),
])
def test_axes_are_labelled_with_units(lossy: Recorder, plot: Any, ylabel: str) -> None:
    ax = only_axes(plot(lossy))
    assert ax.get_xlabel() == "time (s)"
    assert ylabel in ax.get_ylabel()
    assert ax.get_title()
    assert ax.get_legend() is not None


def test_combined_figure_has_three_panels_on_one_time_axis(lossy: Recorder,
                                                           tmp_path: Path) -> None:
    fig = plot_combined(lossy)
    seq, cwnd, rtt = fig.axes[:3]
    assert seq.get_shared_x_axes().joined(seq, cwnd)
    assert seq.get_shared_x_axes().joined(seq, rtt)
    assert rtt.get_xlabel() == "time (s)"
    alone = only_axes(plot_time_sequence(lossy, CLIENT))
    assert bars(coll(seq, "data")) == bars(coll(alone, "data"))
    close(xy(line(cwnd, "cwnd")), [(r.time, r.cwnd) for r in lossy.cwnd(CLIENT)])
    close(line(rtt, "SRTT").get_ydata(), [r.srtt * 1000 for r in lossy.rtt(CLIENT)])
    out = tmp_path / "c.png"
    fig.savefig(out, dpi=60)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plots_accept_a_dataframe(lossy: Recorder) -> None:
    pytest.importorskip("pandas")
    from_df = only_axes(plot_time_sequence(lossy.to_dataframe(), CLIENT))
    direct = only_axes(plot_time_sequence(lossy, CLIENT))
    assert bars(coll(from_df, "data")) == bars(coll(direct, "data"))
    assert xy(line(from_df, "ACK")) == xy(line(direct, "ACK"))


def test_plot_of_an_unknown_connection_is_a_usage_error(lossy: Recorder) -> None:
    with pytest.raises(UsageError, match="no records"):
        plot_cwnd(lossy, "10.9.9.9:1>10.9.9.8:2")
    with pytest.raises(UsageError, match="no TCP segments"):
        plot_time_sequence(Recorder())


# ---------------------------------------------------------------------- ladder
def messages(ax: Axes) -> list[Annotation]:
    return [t for t in ax.texts if isinstance(t, Annotation) and t.get_gid() == "message"]


def labels(ax: Axes) -> list[str]:
    return [t.get_text() for t in ax.texts if t.get_gid() == "label"]


def test_flag_names() -> None:
    assert flag_names("S") == "SYN"
    assert flag_names("S.") == "SYN+ACK"
    assert flag_names("FP.") == "FIN+PSH+ACK"
    assert flag_names("R") == "RST"


def test_ladder_labels_the_handshake_relative_and_absolute(lossy: Recorder) -> None:
    rel = labels(only_axes(plot_ladder(lossy, CLIENT, first=6)))
    assert rel[:3] == ["SYN seq=0", "SYN+ACK seq=0 ack=1", "ACK seq=1 ack=1"]
    assert len(rel) == 6
    (syn,) = [s for s in lossy.segments(CLIENT, "tx") if s.flags == "S"]
    (synack,) = [s for s in lossy.segments(SERVER, "tx") if s.flags == "S."]
    ab = labels(only_axes(plot_ladder(lossy, SERVER, first=3, relative=False)))
    assert ab == [f"SYN seq={syn.seq}", f"SYN+ACK seq={synack.seq} ack={(syn.seq + 1) & MASK}",
                  f"ACK seq={(syn.seq + 1) & MASK} ack={(synack.seq + 1) & MASK}"]


def test_ladder_arrows_go_from_send_time_to_arrival_time(tail: Recorder) -> None:
    ax = only_axes(plot_ladder(tail, CLIENT, first=None, spacing="time"))
    sent = sorted([(s.time, 0, s) for s in tail.segments(CLIENT, "tx")]
                  + [(s.time, 1, s) for s in tail.segments(SERVER, "tx")],
                  key=lambda x: (x[0], x[1]))
    t0 = sent[0][0]
    arrows = messages(ax)
    lost = [ln for ln in ax.lines if ln.get_gid() == "lost"]
    assert len(arrows) + len(lost) // 2 == len(sent)
    assert len(lost) == 2  # one lost segment: a dashed line and its cross
    for ann in arrows:
        (x0, y0), (x1, y1) = ann.xyann, ann.xy
        side = int(x0)
        assert x1 == 1 - side
        t_tx, t_rx = t0 + y0 / 1000, t0 + y1 / 1000
        # There is a segment sent by that side at t_tx that the other side got at t_rx.
        src, dst = (CLIENT, SERVER) if side == 0 else (SERVER, CLIENT)
        sends = [s for s in tail.segments(src, "tx") if s.time == pytest.approx(t_tx)]
        gots = [s for s in tail.segments(dst, "rx") if s.time == pytest.approx(t_rx)]
        if not gots:  # the listener's SYN: traced as its LISTEN -> SYN-RECEIVED transition
            gots = [st for st in tail.states(dst) if st.time == pytest.approx(t_rx)]
            assert sends[0].flags == "S" and gots
            continue
        keys = {(s.seq, s.ack, s.flags, s.length) for s in sends}
        assert any((g.seq, g.ack, g.flags, g.length) in keys for g in gots)
        assert t_rx > t_tx


def test_ladder_shows_the_lost_segment_and_its_retransmission(tail: Recorder) -> None:
    ax = only_axes(plot_ladder(tail, last=10))
    texts = labels(ax)
    assert len(texts) == 10
    assert sum("(lost)" in t for t in texts) == 1
    assert sum("(retransmission)" in t for t in texts) == 1
    (lost,) = [t for t in texts if "(lost)" in t]
    (again,) = [t for t in texts if "(retransmission)" in t]
    assert lost.split("  ")[0] == again.split("  ")[0]  # the same segment, sent again
    assert "FIN" in " ".join(texts)


def test_ladder_puts_the_active_opener_on_the_left(lossy: Recorder) -> None:
    fig = plot_ladder(lossy, SERVER, first=4)
    hosts = [t.get_text() for t in fig.axes[0].texts if t.get_gid() == "host"]
    assert hosts[0].startswith("h1\n10.0.0.1:49152")
    assert hosts[1].startswith("h2\n10.0.0.2:9000")
    first = messages(fig.axes[0])[0]
    assert first.xyann[0] == 0.0 and first.xy[0] == 1.0


def test_ladder_needs_both_ends_and_sane_arguments(tail: Recorder) -> None:
    one_side = Recorder.from_records(r for r in tail if r.host == "h1")
    with pytest.raises(UsageError, match="both"):
        plot_ladder(one_side)
    with pytest.raises(UsageError, match="spacing"):
        plot_ladder(tail, spacing="log")
    with pytest.raises(UsageError, match="first"):
        plot_ladder(tail, first=0)


def test_even_spacing_gives_every_send_and_arrival_its_own_row(lossy: Recorder) -> None:
    ax = only_axes(plot_ladder(lossy, first=20))
    ys = [y for a in messages(ax) for y in (a.xyann[1], a.xy[1])]
    assert len(set(ys)) == len(ys)
    assert all(float(y).is_integer() for y in ys)
    assert np.all(np.diff(ax.get_ylim()) < 0)  # time runs down


# ---------------------------------------------------------------------- flow control, pcaps
def slow_reader_trace() -> Recorder:
    """h2 reads nothing for 3 s with a 10-segment buffer: zero window, persist probes."""
    from netsim.sim.link import LinkConfig
    from netsim.sim.topology import two_hosts
    from netsim.sim.world import World
    from netsim.stack.tcp.config import TcpConfig

    rec = Recorder()
    world = World(1)
    env = world.env
    h1, h2 = two_hosts(world, LinkConfig(delay=0.01, rate_bps=10e6), trace=rec).hosts

    def reader() -> Any:
        stream = yield h2.listen(9000, cfg=TcpConfig(rcvbuf=10 * 1448)).accept()
        yield env.timeout(3.0)
        while (yield stream.recv(1 << 16)):
            pass
        yield stream.close()

    def sender() -> Any:
        stream = yield h1.connect("10.0.0.2", 9000)
        yield stream.sendall(bytes(40_000))
        yield stream.close()

    env.process(reader())
    env.process(sender())
    world.run(until=30)
    return rec


def test_time_sequence_marks_zero_window_probes() -> None:
    rec = slow_reader_trace()
    ax = only_axes(plot_time_sequence(rec, CLIENT))
    zero = [s for s in rec.segments(CLIENT, "rx") if s.window == 0 and "S" not in s.flags]
    assert zero  # the receiver closed its window
    persist = [t.time for t in rec.timers(CLIENT) if t.timer == "persist"]
    probes = [s for s in rec.segments(CLIENT, "tx") if s.time in persist and s.length]
    assert len(probes) >= 1
    close(xy(line(ax, "window probe")), [(s.time, s.seq_rel) for s in probes])


def test_ladder_and_time_sequence_of_a_linux_capture() -> None:
    from netsim.trace.pcap import records_from_pcap

    pcap = Path(__file__).resolve().parent / "data" / "captures" / "linux-nc-lossy.pcap"
    if not pcap.exists():
        pytest.skip(f"{pcap} (the shared Linux reference capture) is not here")
    rec = records_from_pcap(pcap)
    ax = only_axes(plot_ladder(rec, first=4))
    assert labels(ax) == ["SYN seq=0", "SYN+ACK seq=0 ack=1", "ACK seq=1 ack=1",
                          "ACK seq=1 ack=1 len=1448"]  # tcpdump: Flags [.], length 1448
    for ann in messages(ax):  # sent and seen at the same instant: still drawn downwards
        assert ann.xy[1] > ann.xyann[1]
    conn = rec.sender()
    ts = only_axes(plot_time_sequence(rec))
    retx = [s for s in rec.segments(conn, "tx") if s.retransmit and s.length]
    close(bars(coll(ts, "retransmission")),
          [(s.time, s.seq_rel, s.time, s.seq_rel + s.length) for s in retx])


def test_queue_delay_draws_each_runs_pings_and_sojourn_times() -> None:
    """Lesson 12's figure: the ping's RTTs at their send times (ms), and each frame's sojourn
    time in h1's queue, one line per discipline; a frame that did not wait sits at the floor."""
    from netsim.link.qdisc import parse_qdisc
    from netsim.sim.link import LinkConfig
    from netsim.sim.loaded_ping import ping_under_load
    from netsim.trace.plots import plot_queue_delay

    runs = {q: ping_under_load(LinkConfig(delay=0.01, rate_bps=10e6, queue_packets=100,
                                          qdisc=parse_qdisc(q)),
                               duration=2.0, warmup=0.5, record_queue=True)
            for q in ("droptail", "codel")}
    fig = plot_queue_delay(runs)
    ax_rtt, ax_q = fig.axes
    for name, run in runs.items():
        assert run.queue and all(r.host == "link.a" for r in run.queue)
        assert len(run.ping_times) == len(run.rtts) and run.ping_times[0] == 0.5
        close(xy(line(ax_rtt, name)), [(t, r * 1000) for t, r in zip(run.ping_times, run.rtts,
                                                                      strict=True)])
        shown = [(q.time, max(q.sojourn * 1000, 0.1)) for q in run.queue
                 if q.time <= run.ping_times[-1]]
        close(xy(line(ax_q, name)), shown)
    # a 100-frame drop-tail queue at 10 Mbit/s holds ~120 ms; CoDel keeps it near 5 ms
    assert max(r.sojourn for r in runs["droptail"].queue) > 0.1
    assert ax_rtt.get_ylabel() == "ping RTT (ms)" and ax_q.get_xlabel() == "time (s)"
    assert ax_q.get_yscale() == "log"
    with pytest.raises(UsageError, match="record_queue"):
        plot_queue_delay({"x": ping_under_load(LinkConfig(delay=0.01, rate_bps=10e6),
                                               duration=1.0, warmup=0.5)})
