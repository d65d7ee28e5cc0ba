"""Time-sequence graph, congestion window and RTT/RTO on one shared time axis (and, for a
controller with rate samples such as BBR, pacing and delivery rate with its state)."""

from __future__ import annotations

from typing import Any

from matplotlib.figure import Figure

from netsim.trace.plots._common import as_recorder, pick_conn
from netsim.trace.plots.cwnd import cwnd_data, draw_cwnd
from netsim.trace.plots.rate import draw_rate, rate_data
from netsim.trace.plots.rtt import draw_rtt, rtt_data
from netsim.trace.plots.timeseq import draw_time_sequence
from netsim.trace.recorder import ConnLike

__all__ = ["plot_combined"]


def plot_combined(source: Any, conn: ConnLike = None, *,
                  time_range: tuple[float, float] | None = None,
                  title: str | None = None, size: tuple[float, float] = (10.0, 10.0)) -> Figure:
    """Three panels sharing the time axis: the time-sequence graph (top), cwnd / ssthresh /
    bytes in flight, and RTT / RTO. Axes are ``fig.axes[0..2]`` in that order; each holds
    the same artists as `plot_time_sequence`, `plot_cwnd` and `plot_rtt`. When the trace has
    rate samples for the connection (BBR), a fourth panel, ``fig.axes[3]``, shows pacing and
    delivery rate and the controller's state (`plot_rate`)."""
    rec = as_recorder(source)
    name = pick_conn(rec, conn)
    rates = rate_data(rec, name, time_range)
    fig = Figure(figsize=size, layout="constrained")
    ratios = [2.2, 1.3, 1.0] + ([1.1] if rates.time else [])
    axes = fig.subplots(len(ratios), 1, sharex=True, gridspec_kw={"height_ratios": ratios})
    ax_seq, ax_cwnd, ax_rtt = axes[0], axes[1], axes[2]
    ts = draw_time_sequence(ax_seq, rec, name, time_range)
    ax_seq.legend(loc="upper left", fontsize="small", ncols=4, framealpha=0.85)
    ax_seq.set_title("time-sequence graph (tcptrace style)", fontsize="medium", loc="left")
    draw_cwnd(ax_cwnd, cwnd_data(rec, name, time_range))
    ax_cwnd.set_title("congestion window", fontsize="medium", loc="left")
    draw_rtt(ax_rtt, rtt_data(rec, name, time_range))
    ax_rtt.set_title("round-trip time and retransmission timeout", fontsize="medium", loc="left")
    if rates.time:
        draw_rate(axes[3], rates)
        axes[3].set_title("pacing rate, delivery rate and state", fontsize="medium", loc="left")
    axes[-1].set_xlabel("time (s)")
    if time_range is not None:
        axes[-1].set_xlim(*time_range)
    view = "sender" if ts.data_direction == "tx" else "receiver"
    fig.suptitle(title if title is not None else f"{name} ({view} view)", fontsize="large")
    return fig
