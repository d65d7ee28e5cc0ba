"""Plots of a trace, each returning a matplotlib Figure with labelled axes.

    from netsim.trace.plots import plot_combined, plot_ladder
    plot_combined(rec).savefig("run.png")

Every function takes a `Recorder` (or a DataFrame from `Recorder.to_dataframe`, or a list of
records) and a connection (None: the end that sent the most data) — `plot_mac_table` a switch's
name instead — and `time_range=(t0, t1)` where it has a time axis. `plot_queue_delay` is the
exception: it takes runs of `netsim.sim.loaded_ping.ping_under_load` (a ping's RTT and a
queue's sojourn times, lesson 12); `plot_rip_metric` takes RIP's processes (their route
histories) and a network, `plot_ospf_cost` OSPF's; `plot_route_tables` either's processes
(every router's table over time) and `plot_convergence_loss` the probes a ping lost
(`lost_pings`).
"""

from __future__ import annotations

from netsim.trace.plots.combined import plot_combined
from netsim.trace.plots.cwnd import cwnd_data, plot_cwnd
from netsim.trace.plots.ladder import ladder_data, plot_ladder
from netsim.trace.plots.linkstate import ospf_cost_data, plot_ospf_cost
from netsim.trace.plots.mactable import mac_table_data, plot_mac_table
from netsim.trace.plots.queue import plot_queue_delay
from netsim.trace.plots.rate import plot_rate, rate_data
from netsim.trace.plots.routes import plot_rip_metric, rip_metric_data
from netsim.trace.plots.routetable import (
    lost_pings,
    plot_convergence_loss,
    plot_route_tables,
    route_table_data,
)
from netsim.trace.plots.rtt import plot_rtt, rtt_data
from netsim.trace.plots.timeseq import plot_time_sequence, time_sequence_data

__all__ = [
    "cwnd_data",
    "ladder_data",
    "lost_pings",
    "mac_table_data",
    "ospf_cost_data",
    "plot_combined",
    "plot_convergence_loss",
    "plot_cwnd",
    "plot_ladder",
    "plot_mac_table",
    "plot_ospf_cost",
    "plot_queue_delay",
    "plot_rate",
    "plot_rip_metric",
    "plot_route_tables",
    "plot_rtt",
    "rate_data",
    "plot_time_sequence",
    "rip_metric_data",
    "route_table_data",
    "rtt_data",
    "time_sequence_data",
]
