"""Congestion window, ssthresh and bytes in flight over time, with fast retransmits and RTOs
marked and fast-recovery periods shaded."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure

from netsim.trace.plots._common import (
    COLORS,
    as_recorder,
    bytes_axis,
    check_time_range,
    clip_span,
    finish_time_axes,
    in_range,
    new_axes,
    pick_conn,
)
from netsim.trace.recorder import ConnLike

__all__ = ["INFINITE_SSTHRESH", "CwndSeries", "cwnd_data", "plot_cwnd"]

#: ssthresh at or above this is "infinite" (RFC 5681 §3.1: "arbitrarily high") and not drawn.
INFINITE_SSTHRESH = 1 << 30


@dataclass
class CwndSeries:
    conn: str
    time: list[float] = field(default_factory=list)
    cwnd: list[int] = field(default_factory=list)
    ssthresh: list[float] = field(default_factory=list)  # NaN while infinite
    flight: list[int] = field(default_factory=list)
    fast_retransmits: list[tuple[float, int]] = field(default_factory=list)
    rtos: list[tuple[float, int]] = field(default_factory=list)
    ecn_reductions: list[tuple[float, int]] = field(default_factory=list)  # ECE answered
    recovery: list[tuple[float, float]] = field(default_factory=list)  # (start, end)


def cwnd_data(source: Any, conn: ConnLike = None,
              time_range: tuple[float, float] | None = None) -> CwndSeries:
    time_range = check_time_range(time_range)
    rec = as_recorder(source)
    name = pick_conn(rec, conn)
    out = CwndSeries(name)
    start: float | None = None
    last = 0.0
    for r in rec.cwnd(name):
        last = r.time
        # Recovery periods: from a fast retransmit to the full ACK that ends recovery
        # (RFC 6582 §3.2 step 3) or to an RTO, which abandons it.
        if r.event == "fast_retransmit" and start is None:
            start = r.time
        elif r.event in ("recovery_exit", "rto") and start is not None:
            _add_span(out, start, r.time, time_range)
            start = None
        if not in_range(r.time, time_range):
            continue
        out.time.append(r.time)
        out.cwnd.append(r.cwnd)
        out.ssthresh.append(math.nan if r.ssthresh >= INFINITE_SSTHRESH else r.ssthresh)
        out.flight.append(r.flight)
        if r.event == "fast_retransmit":
            out.fast_retransmits.append((r.time, r.cwnd))
        elif r.event == "rto":
            out.rtos.append((r.time, r.cwnd))
        elif r.event == "ecn":
            out.ecn_reductions.append((r.time, r.cwnd))
    if start is not None:
        _add_span(out, start, last, time_range)
    return out


def _add_span(out: CwndSeries, a: float, b: float, time_range: tuple[float, float] | None) -> None:
    span = clip_span(a, b, time_range)
    if span is not None:
        out.recovery.append(span)


def draw_cwnd(ax: Axes, series: CwndSeries, legend: bool = True) -> None:
    for i, (a, b) in enumerate(series.recovery):
        ax.axvspan(a, b, color=COLORS["recovery"], alpha=0.5, lw=0,
                   label="fast recovery" if i == 0 else None)
    t = series.time
    ax.plot(t, series.flight, drawstyle="steps-post", color=COLORS["flight"], lw=1.0,
            label="bytes in flight")
    ax.plot(t, series.cwnd, drawstyle="steps-post", color=COLORS["cwnd"], lw=1.8, label="cwnd")
    if any(not math.isnan(s) for s in series.ssthresh):
        ax.plot(t, series.ssthresh, drawstyle="steps-post", color=COLORS["ssthresh"], lw=1.4,
                ls="--", label="ssthresh")
    for pts, marker, color, label in ((series.fast_retransmits, "v", "fast_retransmit",
                                       "fast retransmit"),
                                      (series.rtos, "X", "rto", "RTO"),
                                      (series.ecn_reductions, "D", "ecn", "ECN-Echo")):
        if pts:
            xs, ys = zip(*pts, strict=True)
            ax.plot(xs, ys, linestyle="none", marker=marker, ms=8, color=COLORS[color],
                    mec="black", mew=0.6, label=label, zorder=5)
    ax.set_ylabel("bytes")
    # Bytes in flight can jump far above cwnd after a timeout (everything sent is still
    # outstanding): keep cwnd readable and let such spikes leave the top.
    windows = series.cwnd + [s for s in series.ssthresh if not math.isnan(s)]
    top = max(windows, default=0)
    if top > 0:
        peak = max(series.flight, default=0)
        ax.set_ylim(0, (peak if peak <= 1.5 * top else top) * 1.12)
    else:
        ax.set_ylim(bottom=0)
    bytes_axis(ax)
    ax.grid(True, alpha=0.3)
    if legend:
        ax.legend(loc="upper left", fontsize="small", ncols=3, framealpha=0.85)


def plot_cwnd(source: Any, conn: ConnLike = None, *, ax: Axes | None = None,
              time_range: tuple[float, float] | None = None, title: str | None = None,
              legend: bool = True) -> Figure:
    """cwnd, ssthresh and bytes in flight of the sending end of a connection.

    Lines (by label): "cwnd", "ssthresh" (NaN while infinite), "bytes in flight"; markers
    "fast retransmit" and "RTO"; shaded spans (patches) for fast recovery.
    """
    time_range = check_time_range(time_range)
    series = cwnd_data(as_recorder(source), conn, time_range)
    fig, ax = new_axes(ax, (9, 4))
    draw_cwnd(ax, series, legend)
    finish_time_axes(ax, title if title is not None else f"congestion window: {series.conn}",
                     time_range)
    return fig
