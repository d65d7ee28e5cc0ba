"""Pacing rate and delivery rate over time, with the controller's state (BBR's STARTUP,
DRAIN, PROBE_BW, PROBE_RTT) as shaded spans: the panel for a controller that takes rate
samples (netsim.stack.tcp.delivery, `RateRecord`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure

from netsim.stack.events import RateRecord
from netsim.trace.plots._common import (
    as_recorder,
    check_time_range,
    clip_span,
    finish_time_axes,
    in_range,
    new_axes,
    pick_conn,
)
from netsim.trace.recorder import ConnLike

__all__ = ["STATE_COLORS", "RateSeries", "draw_rate", "plot_rate", "rate_data"]

#: span colours of BBR's states
STATE_COLORS = {"startup": "#ffcc99", "drain": "#c6dbef", "probe_bw": "#e5f5e0",
                "probe_rtt": "#dadaeb"}


@dataclass
class RateSeries:
    conn: str
    time: list[float] = field(default_factory=list)
    pacing_bps: list[float] = field(default_factory=list)
    delivery_bps: list[float] = field(default_factory=list)
    # (start, end, state): the controller's state from one change to the next
    states: list[tuple[float, float, str]] = field(default_factory=list)


def rate_data(source: Any, conn: ConnLike = None,
              time_range: tuple[float, float] | None = None) -> RateSeries:
    time_range = check_time_range(time_range)
    rec = as_recorder(source)
    name = pick_conn(rec, conn)
    out = RateSeries(name)
    state, since, last = "", 0.0, 0.0
    for r in rec.of_kind(RateRecord, name):
        last = r.time
        if r.state != state:
            if state:
                _span(out, since, r.time, state, time_range)
            state, since = r.state, r.time
        if in_range(r.time, time_range):
            out.time.append(r.time)
            out.pacing_bps.append(r.pacing_bps)
            out.delivery_bps.append(r.delivery_bps)
    if state:
        _span(out, since, last, state, time_range)
    return out


def _span(out: RateSeries, a: float, b: float, state: str,
          time_range: tuple[float, float] | None) -> None:
    span = clip_span(a, b, time_range)
    if span is not None:
        out.states.append((*span, state))


def draw_rate(ax: Axes, series: RateSeries, legend: bool = True) -> None:
    seen: set[str] = set()
    for a, b, state in series.states:
        ax.axvspan(a, b, color=STATE_COLORS.get(state, "#eeeeee"), alpha=0.8, lw=0,
                   label=state.upper() if state not in seen else None)
        seen.add(state)
    ax.plot(series.time, [v / 1e6 for v in series.delivery_bps], linestyle="none",
            marker=".", ms=2.5, color="#555555", label="delivery rate (samples)")
    ax.plot(series.time, [v / 1e6 for v in series.pacing_bps], drawstyle="steps-post",
            color="#1f77b4", lw=1.6, label="pacing rate")
    ax.set_ylabel("Mbit/s")
    ax.set_ylim(bottom=0)
    ax.grid(True, alpha=0.3)
    if legend:
        ax.legend(loc="upper right", fontsize="small", ncols=3, framealpha=0.85)


def plot_rate(source: Any, conn: ConnLike = None, *, ax: Axes | None = None,
              time_range: tuple[float, float] | None = None, title: str | None = None,
              legend: bool = True) -> Figure:
    """Pacing rate (line "pacing rate") and delivery-rate samples ("delivery rate
    (samples)") in Mbit/s; the controller's states as shaded spans labelled STARTUP, DRAIN,
    PROBE_BW, PROBE_RTT. Empty for a controller without rate samples."""
    time_range = check_time_range(time_range)
    series = rate_data(as_recorder(source), conn, time_range)
    fig, ax = new_axes(ax, (9, 3.5))
    draw_rate(ax, series, legend)
    finish_time_axes(ax, title if title is not None else
                     f"pacing and delivery rate: {series.conn}", time_range)
    return fig
