"""The RTO estimator over time (RFC 6298): RTT samples, SRTT, RTTVAR and the RTO, in ms."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure

from netsim.trace.plots._common import (
    COLORS,
    as_recorder,
    check_time_range,
    finish_time_axes,
    in_range,
    new_axes,
    pick_conn,
)
from netsim.trace.recorder import ConnLike

__all__ = ["RttSeries", "plot_rtt", "rtt_data"]


@dataclass
class RttSeries:
    """Times in s; values in ms (NaN where the estimator had none yet)."""

    conn: str
    time: list[float] = field(default_factory=list)
    srtt: list[float] = field(default_factory=list)
    rttvar: list[float] = field(default_factory=list)
    rto: list[float] = field(default_factory=list)
    samples: list[tuple[float, float]] = field(default_factory=list)
    backoffs: list[tuple[float, float]] = field(default_factory=list)  # (time, new RTO)


def _ms(v: float | None) -> float:
    return math.nan if v is None else v * 1000.0


def rtt_data(source: Any, conn: ConnLike = None,
             time_range: tuple[float, float] | None = None) -> RttSeries:
    time_range = check_time_range(time_range)
    rec = as_recorder(source)
    name = pick_conn(rec, conn)
    out = RttSeries(name)
    for r in rec.rtt(name):
        if not in_range(r.time, time_range):
            continue
        out.time.append(r.time)
        out.srtt.append(_ms(r.srtt))
        out.rttvar.append(_ms(r.rttvar))
        out.rto.append(_ms(r.rto))
        if r.sample is not None:
            out.samples.append((r.time, _ms(r.sample)))
        else:
            out.backoffs.append((r.time, _ms(r.rto)))  # RFC 6298 (5.5): the timer backed off
    return out


def draw_rtt(ax: Axes, series: RttSeries, legend: bool = True, log: bool = True) -> None:
    t = series.time
    if series.samples:
        xs, ys = zip(*series.samples, strict=True)
        ax.plot(xs, ys, linestyle="none", marker=".", ms=4, color=COLORS["sample"], alpha=0.6,
                label="RTT sample")
    ax.plot(t, series.srtt, drawstyle="steps-post", color=COLORS["srtt"], lw=1.6, label="SRTT")
    ax.plot(t, series.rttvar, drawstyle="steps-post", color=COLORS["rttvar"], lw=1.0,
            label="RTTVAR")
    ax.plot(t, series.rto, drawstyle="steps-post", color=COLORS["rto_line"], lw=1.6,
            label="RTO")
    if series.backoffs:
        xs, ys = zip(*series.backoffs, strict=True)
        ax.plot(xs, ys, linestyle="none", marker="^", ms=7, color=COLORS["rto_line"],
                mec="black", mew=0.6, label="RTO backoff", zorder=5)
    if log:
        ax.set_yscale("log")
        values = [v for v in series.rto + series.srtt + series.rttvar if v == v and v > 0]
        values += [v for _, v in series.samples if v > 0]
        if values:  # room above the RTO line for its backoff markers
            ax.set_ylim(min(values) / 1.6, max(values) * 2.2)
    ax.set_ylabel("time (ms)")
    ax.grid(True, which="major", alpha=0.3)
    if legend:
        ax.legend(loc="upper left", fontsize="small", ncols=3, framealpha=0.85)


def plot_rtt(source: Any, conn: ConnLike = None, *, ax: Axes | None = None,
             time_range: tuple[float, float] | None = None, title: str | None = None,
             legend: bool = True, log: bool = True) -> Figure:
    """RTT samples (dots), SRTT, RTTVAR and RTO (step lines) in milliseconds, log scale.

    Lines (by label): "RTT sample", "SRTT", "RTTVAR", "RTO", "RTO backoff" (markers where a
    timeout doubled the RTO).
    """
    time_range = check_time_range(time_range)
    series = rtt_data(as_recorder(source), conn, time_range)
    fig, ax = new_axes(ax, (9, 4))
    draw_rtt(ax, series, legend, log)
    finish_time_axes(ax, title if title is not None else
                     f"RTT and RTO (RFC 6298): {series.conn}", time_range)
    return fig
