"""Shared helpers of the plots: input normalisation, figure creation, colours and formatters.

Figures are made with the object-oriented API (`matplotlib.figure.Figure`), not pyplot: no
global figure list to leak in scripts and tests, no GUI backend needed (saving uses Agg),
and in Jupyter a figure returned as a cell's value is shown once.
"""

from __future__ import annotations

import re
from typing import Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import EngFormatter

from netsim.errors import UsageError
from netsim.stack.events import SegmentRecord
from netsim.trace.recorder import ConnLike, Recorder, conn_name, peer_of

MASK = 0xFFFFFFFF

# tcptrace's colours, adapted to a white background.
COLORS = {
    "data": "#1f3b73",
    "retransmit": "#d62728",
    "ack": "#2ca02c",
    "window": "#c9a100",
    "sack": "#9467bd",
    "syn": "#17becf",
    "fin": "#8c564b",
    "rst": "#e377c2",
    "probes": "#ff7f0e",
    "cwnd": "#1f77b4",
    "ssthresh": "#ff7f0e",
    "flight": "#7f7f7f",
    "fast_retransmit": "#ff7f0e",
    "rto": "#d62728",
    "ecn": "#2ca02c",
    "recovery": "#ffdd99",
    "srtt": "#1f77b4",
    "rttvar": "#2ca02c",
    "rto_line": "#d62728",
    "sample": "#555555",
}

_WSCALE = re.compile(r"wscale (\d+)")


def as_recorder(source: Any) -> Recorder:
    """A `Recorder` from a Recorder, a DataFrame made by `to_dataframe`, or records."""
    if isinstance(source, Recorder):
        return source
    if hasattr(source, "columns") and hasattr(source, "itertuples"):
        return Recorder.from_dataframe(source)
    try:
        return Recorder.from_records(list(source))
    except TypeError:
        raise UsageError(f"source: {type(source).__name__} is not a Recorder, a DataFrame "
                         "or a list of trace records") from None


def pick_conn(rec: Recorder, conn: ConnLike) -> str:
    """`conn` as a name; None means the end that sent the most data."""
    name = conn_name(conn)
    if name is None:
        return rec.sender()
    if not rec.segments(name) and not rec.cwnd(name) and not rec.rtt(name):
        known = ", ".join(rec.connections()[:6]) or "none"
        raise UsageError(f"conn: {name!r} has no records in this trace (connections: {known})")
    return name


def new_axes(ax: Axes | None, size: tuple[float, float]) -> tuple[Figure, Axes]:
    if ax is not None:
        fig = ax.figure
        assert isinstance(fig, Figure)
        return fig, ax
    fig = Figure(figsize=size, layout="constrained")
    return fig, fig.add_subplot()


def bytes_axis(ax: Axes, which: str = "y") -> None:
    """Byte counts shown as 0, 500 kB, 1 MB (SI)."""
    axis = ax.yaxis if which == "y" else ax.xaxis
    axis.set_major_formatter(EngFormatter(unit="B", sep=" "))


def in_range(t: float, time_range: tuple[float, float] | None) -> bool:
    return time_range is None or time_range[0] <= t <= time_range[1]


def check_time_range(time_range: object) -> tuple[float, float] | None:
    """A plot's ``time_range`` argument: None, or (start, end) in seconds; anything else is
    a `UsageError` naming it."""
    if time_range is None:
        return None
    if not isinstance(time_range, tuple | list) or len(time_range) != 2 or any(
            isinstance(t, bool) or not isinstance(t, int | float) or t != t
            for t in time_range):
        raise UsageError(f"time_range: {time_range!r} is not a (start, end) pair of times in "
                         "seconds, e.g. (0, 5)")
    return (time_range[0], time_range[1])


def clip_span(a: float, b: float, time_range: tuple[float, float] | None
              ) -> tuple[float, float] | None:
    """The span [a, b] cut to `time_range` (None: nothing of it is inside)."""
    if time_range is not None:
        a, b = max(a, time_range[0]), min(b, time_range[1])
        if a > b:
            return None
    return (a, b)


def finish_time_axes(ax: Axes, title: str, time_range: tuple[float, float] | None) -> None:
    """The x axis (time in seconds, cut to `time_range`) and the title of a panel over time."""
    ax.set_xlabel("time (s)")
    ax.set_title(title, fontsize="medium")
    if time_range is not None:
        ax.set_xlim(*time_range)


def syn_options(rec: Recorder, name: str) -> str | None:
    """The options of the first SYN the end `name` sent, from its own trace or its peer's."""
    for seg in rec.segments(name, "tx"):
        if "S" in seg.flags:
            return seg.options
    for seg in rec.segments(peer_of(name), "rx"):
        if "S" in seg.flags:
            return seg.options
    return None


def wscale_of(options: str | None) -> int | None:
    if options is None:
        return None
    m = _WSCALE.search(options)
    return min(int(m.group(1)), 14) if m else None


def window_shift(rec: Recorder, sender: str) -> int:
    """The shift applied to the window fields `sender` puts in non-SYN segments (RFC 7323
    §2.2: both SYNs must carry the option; unknown SYNs count as carrying it)."""
    own = syn_options(rec, sender)
    other = syn_options(rec, peer_of(sender))
    mine, theirs = wscale_of(own), wscale_of(other)
    if mine is None or (other is not None and theirs is None):
        return 0
    return mine


def isn_of(segs: list[SegmentRecord]) -> int | None:
    """The initial sequence number behind a list of one direction's segments."""
    for s in segs:
        if s.length or "S" not in s.flags:
            return (s.seq - s.seq_rel) & MASK
    for s in segs:
        return (s.seq - s.seq_rel) & MASK
    return None
