"""Bufferbloat on one time axis: a ping's RTT under load and the sojourn time of the frames
leaving the bottleneck's queue, one line per queue discipline (lesson 12).

    runs = {q: ping_under_load(link_with(q), record_queue=True) for q in ...}
    plot_queue_delay(runs).savefig("bloat.png")
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from matplotlib.figure import Figure

from netsim.errors import UsageError
from netsim.stack.events import QueueRecord

__all__ = ["LoadedRun", "plot_queue_delay"]


class LoadedRun(Protocol):
    """What the plot reads of a run (`netsim.sim.loaded_ping.LoadedPing` has it)."""

    @property
    def ping_times(self) -> Sequence[float]: ...   # s, when each answered ping was sent
    @property
    def rtts(self) -> Sequence[float]: ...         # s, its round-trip time
    @property
    def base_rtt(self) -> float: ...               # s, the ping's RTT on the idle link
    @property
    def queue(self) -> Sequence[QueueRecord]: ...  # the bottleneck queue's departures


def plot_queue_delay(runs: Mapping[str, LoadedRun], *, log: bool = True, floor: float = 0.1,
                     size: tuple[float, float] = (10.0, 7.0),
                     title: str | None = None) -> Figure:
    """Two panels sharing the time axis: the ping's RTT (ms) at each send time, with the idle
    link's RTT as a dotted line (``fig.axes[0]``), and each departing frame's sojourn time in
    the queue (ms, ``fig.axes[1]``), over the pings' span. One colour per run, labelled with
    its key. The y axes are logarithmic by default, as drop-tail's delays are a hundred times
    CoDel's; there a frame that did not wait at all (sojourn 0) is drawn at the bottom edge,
    ``floor`` ms."""
    if not runs:
        raise UsageError("runs: give at least one run to plot")
    fig = Figure(figsize=size, layout="constrained")
    ax_rtt, ax_q = fig.subplots(2, 1, sharex=True)
    base = min(run.base_rtt for run in runs.values())
    end = max((max(run.ping_times, default=0.0) for run in runs.values()), default=0.0)
    low = floor if log else 0.0
    for i, (label, run) in enumerate(runs.items()):
        colour = f"C{i}"
        ax_rtt.plot(list(run.ping_times), [r * 1000 for r in run.rtts], marker=".", ms=4,
                    lw=1.0, color=colour, label=label)
        if not run.queue:
            raise UsageError(f"runs[{label!r}]: no queue records (run it with "
                             "record_queue=True)")
        shown = [q for q in run.queue if q.time <= end]
        ax_q.plot([q.time for q in shown], [max(q.sojourn * 1000, low) for q in shown],
                  linestyle="none", marker=".", ms=1.5, color=colour, label=label)
    ax_rtt.axhline(base * 1000, color="black", ls=":", lw=1.0, label="idle link")
    ax_rtt.set_ylabel("ping RTT (ms)")
    ax_rtt.set_title("ping round-trip time under load", fontsize="medium", loc="left")
    ax_q.set_ylabel("sojourn time (ms)")
    ax_q.set_title("time each frame waited in the bottleneck's queue", fontsize="medium",
                   loc="left")
    ax_q.set_xlabel("time (s)")
    for ax in (ax_rtt, ax_q):
        if log:
            ax.set_yscale("log")
            ax.set_ylim(bottom=floor)
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(loc="upper left", fontsize="small", ncols=4, framealpha=0.85,
                  markerscale=3)
    if log:
        ax_rtt.set_ylim(bottom=base * 1000 / 2)
    if end > 0:
        ax_q.set_xlim(0.0, end)
    if title:
        fig.suptitle(title, fontsize="large")
    return fig
