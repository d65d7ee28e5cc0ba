"""The time-sequence graph, in tcptrace's convention.

Each data segment is a vertical bar at the time it was sent, from its first to its last byte
(relative sequence numbers: the SYN is 0, the first data byte 1); retransmissions are red. The
green step line is the cumulative ACK; the gold one the right edge of the receive window
(ACK + window, scaled); purple bars are SACK blocks; SYN, FIN and RST are marked.

The view is that of the end given: for the data sender, its segments at the times it sent
them and the ACKs at the times they arrived (a capture at the sender, as tcptrace reads it);
for the receiver, the data as it arrived and the ACKs it sent.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from typing import Any

from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure

from netsim.trace.plots._common import (
    COLORS,
    MASK,
    as_recorder,
    bytes_axis,
    check_time_range,
    in_range,
    isn_of,
    new_axes,
    pick_conn,
    window_shift,
)
from netsim.trace.recorder import ConnLike, Recorder, peer_of

__all__ = ["TimeSequence", "plot_time_sequence", "time_sequence_data"]

Bar = tuple[tuple[float, float], tuple[float, float]]


@dataclass
class TimeSequence:
    """What the time-sequence graph draws (times in s, sequence numbers relative)."""

    conn: str
    data_direction: str  # "tx": the sender's view; "rx": the receiver's
    data: list[Bar] = field(default_factory=list)
    retransmissions: list[Bar] = field(default_factory=list)
    ack: list[tuple[float, int]] = field(default_factory=list)
    window: list[tuple[float, int]] = field(default_factory=list)
    sack: list[Bar] = field(default_factory=list)
    syn: list[tuple[float, int]] = field(default_factory=list)
    fin: list[tuple[float, int]] = field(default_factory=list)
    rst: list[tuple[float, int]] = field(default_factory=list)
    probes: list[tuple[float, int]] = field(default_factory=list)  # sent beyond the window


def time_sequence_data(source: Any, conn: ConnLike = None,
                       time_range: tuple[float, float] | None = None) -> TimeSequence:
    time_range = check_time_range(time_range)
    rec = as_recorder(source)
    name = pick_conn(rec, conn)
    tx = rec.segments(name, "tx")
    rx = rec.segments(name, "rx")
    sent = sum(s.length for s in tx)
    received = sum(s.length for s in rx)
    data_dir = "tx" if tx and sent >= received else "rx"
    data_segs, ack_segs = (tx, rx) if data_dir == "tx" else (rx, tx)
    out = TimeSequence(name, data_dir)
    # The window in ACKs is scaled by the shift of whoever sends the ACKs.
    ack_sender = peer_of(name) if data_dir == "tx" else name
    shift = window_shift(rec, ack_sender)
    base = isn_of(data_segs)
    if base is None:
        base = isn_of(rec.segments(peer_of(name), "tx" if data_dir == "rx" else "rx"))
    last_ack = 0
    edges: list[tuple[float, int]] = []  # (time, right edge of the window), all times
    for s in ack_segs:
        if "." in s.flags:
            last_ack = s.ack_rel
            win = s.window if "S" in s.flags else s.window << shift
            edges.append((s.time, s.ack_rel + win))
        if not in_range(s.time, time_range):
            continue
        if "R" in s.flags:
            out.rst.append((s.time, last_ack))
        if "." not in s.flags:
            continue
        out.ack.append((s.time, s.ack_rel))
        out.window.append(edges[-1])  # RFC 7323 §2.2: a SYN's window is never scaled
        if s.sack and base is not None:
            for left, right in s.sack:
                out.sack.append(((s.time, (left - base) & MASK), (s.time, (right - base) & MASK)))
    highest = -1
    edge_times = [t for t, _ in edges]
    for s in data_segs:
        flags = s.flags
        end = s.seq_rel + s.length
        if in_range(s.time, time_range):
            if s.length:
                retx = s.retransmit if data_dir == "tx" else end <= highest
                bar: Bar = ((s.time, s.seq_rel), (s.time, end))
                (out.retransmissions if retx else out.data).append(bar)
                # At or beyond the right edge of the window last advertised: a zero-window
                # probe (RFC 9293 §3.8.6.1), which the receiver may not accept.
                k = bisect_right(edge_times, s.time) - 1
                if data_dir == "tx" and k >= 0 and s.seq_rel >= edges[k][1]:
                    out.probes.append((s.time, s.seq_rel))
            if "S" in flags:
                out.syn.append((s.time, s.seq_rel))
            if "F" in flags:
                out.fin.append((s.time, end))
            if "R" in flags:
                out.rst.append((s.time, s.seq_rel))
        highest = max(highest, end)
    return out


def _steps(ax: Axes, points: list[tuple[float, int]], **kw: Any) -> None:
    if points:
        xs, ys = zip(*points, strict=True)
        ax.plot(xs, ys, drawstyle="steps-post", **kw)


def plot_time_sequence(source: Any, conn: ConnLike = None, *, ax: Axes | None = None,
                       time_range: tuple[float, float] | None = None,
                       title: str | None = None, legend: bool = True) -> Figure:
    """The tcptrace time-sequence graph of one connection (default: the main data sender).

    source: a Recorder, a DataFrame from `to_dataframe`, or records. conn: a connection name
    (either end), a TcpConnection or Stream. time_range: (t0, t1) in seconds, to zoom in.
    Returns the Figure; its axes hold, by label: LineCollections "data", "retransmission",
    "SACK"; step lines "ACK" and "window"; markers "SYN", "FIN", "RST", "window probe".
    """
    rec = as_recorder(source)
    ts = time_sequence_data(rec, conn, time_range)
    fig, ax = new_axes(ax, (9, 5))
    _draw(ax, ts)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("relative sequence number (bytes)")
    bytes_axis(ax)
    view = "sender" if ts.data_direction == "tx" else "receiver"
    ax.set_title(title if title is not None else f"time-sequence graph: {ts.conn} ({view} view)",
                 fontsize="medium")
    if legend:
        ax.legend(loc="upper left", fontsize="small", ncols=2, framealpha=0.85)
    ax.grid(True, alpha=0.3)
    if time_range is not None:
        ax.set_xlim(*time_range)
    return fig


def _draw(ax: Axes, ts: TimeSequence) -> None:
    _steps(ax, ts.window, color=COLORS["window"], lw=1.2, label="window")
    _steps(ax, ts.ack, color=COLORS["ack"], lw=1.4, label="ACK")
    if ts.data:
        ax.add_collection(LineCollection(ts.data, colors=COLORS["data"], linewidths=1.6,
                                         label="data", zorder=2.5), autolim=True)
    if ts.retransmissions:
        ax.add_collection(LineCollection(ts.retransmissions, colors=COLORS["retransmit"],
                                         linewidths=2.2, label="retransmission",
                                         zorder=3), autolim=True)
        # A bar one segment tall is hard to see on a graph of megabytes: tick its top too.
        ax.plot([b[1][0] for b in ts.retransmissions], [b[1][1] for b in ts.retransmissions],
                linestyle="none", marker="<", ms=5, color=COLORS["retransmit"],
                label="_nolegend_", gid="retransmission-tick", zorder=3)
    if ts.sack:
        ax.add_collection(LineCollection(ts.sack, colors=COLORS["sack"], linewidths=2.5,
                                         alpha=0.55, label="SACK", zorder=1.5), autolim=True)
    for key, marker, label in (("syn", "o", "SYN"), ("fin", "s", "FIN"), ("rst", "X", "RST"),
                               ("probes", "D", "window probe")):
        pts: list[tuple[float, int]] = getattr(ts, key)
        if pts:
            xs, ys = zip(*pts, strict=True)
            ax.plot(xs, ys, linestyle="none", marker=marker, ms=7, mfc="none",
                    mew=1.8, color=COLORS[key], label=label)
    ax.autoscale_view()
    # The receive window is often far above the data (a 1 MB buffer, 100 kB sent): keep the
    # data readable and let the window line leave the top unless it is close.
    heights = [y for bar in ts.data + ts.retransmissions + ts.sack for _, y in bar]
    heights += [float(y) for _, y in ts.ack + ts.syn + ts.fin + ts.rst]
    if heights and ts.window:
        lo, hi = min(heights), max(heights)
        wmax = max(y for _, y in ts.window)
        span = max(hi - lo, 1)
        top = wmax if wmax <= hi + 0.5 * span else hi
        ax.set_ylim(lo - 0.04 * span, top + 0.06 * span)


def draw_time_sequence(ax: Axes, rec: Recorder, conn: str,
                       time_range: tuple[float, float] | None = None) -> TimeSequence:
    """Draw into `ax` without titles or legend (the combined figure uses it)."""
    ts = time_sequence_data(rec, conn, time_range)
    _draw(ax, ts)
    ax.set_ylabel("relative seq (bytes)")
    bytes_axis(ax)
    ax.grid(True, alpha=0.3)
    return ts

