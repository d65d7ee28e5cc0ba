"""A switch's MAC address table over time: one row per address, a bar for each stretch of time
the address was in the table, coloured (and labelled) by the port it was reached through, with
moves and age-outs marked; below, the number of entries.

    rec = Recorder()
    net = lan(world, hosts=4, switches=2, trace=rec, ageing_time=30)
    ...
    plot_mac_table(rec, "s1", names=net.mac_names()).savefig("s1.png")
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from netsim.errors import UsageError
from netsim.trace.plots._common import as_recorder, in_range
from netsim.trace.recorder import Recorder

__all__ = ["MacTableSeries", "mac_table_data", "plot_mac_table"]

#: colours of the ports, in the order they first appear
_PORT_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
                "#7f7f7f", "#bcbd22", "#17becf")


@dataclass
class MacTableSeries:
    """The table of one switch. ``stays``: (mac, port, start, end, how it ended) with how one of
    "age", "move", "flush" or "" (still there at ``until``); ``size``: (time, entries). An
    address of a VLAN other than 1 is written "02:00:00:00:00:01 vlan 10" (one table per
    VLAN)."""

    switch: str
    until: float
    macs: list[str] = field(default_factory=list)  # in the order first learned
    ports: list[str] = field(default_factory=list)  # in the order first used
    stays: list[tuple[str, str, float, float, str]] = field(default_factory=list)
    size: list[tuple[float, int]] = field(default_factory=list)
    full: list[tuple[float, str]] = field(default_factory=list)  # (time, mac) not learned


def _pick_switch(rec: Recorder, switch: str | None) -> str:
    counts: dict[str, int] = {}
    for r in rec.mac_table():
        counts[r.host] = counts.get(r.host, 0) + 1
    if not counts:
        raise UsageError("trace: no MAC table records (was the recorder passed as trace= to "
                         "the switches, e.g. lan(..., trace=rec)?)")
    if switch is None:
        return max(counts, key=lambda s: counts[s])
    if switch not in counts:
        raise UsageError(f"switch: {switch!r} has no MAC table records in this trace "
                         f"(switches: {', '.join(counts)})")
    return switch


def mac_table_data(source: Any, switch: str | None = None, *, until: float | None = None,
                   time_range: tuple[float, float] | None = None) -> MacTableSeries:
    """The stays of each address in ``switch``'s table (None: the switch with most records).
    ``until``: where stays still open end (default: the last record of the trace)."""
    rec = as_recorder(source)
    name = _pick_switch(rec, switch)
    end = until if until is not None else max((r.time for r in rec.records), default=0.0)
    out = MacTableSeries(name, end)
    open_: dict[str, tuple[str, float]] = {}

    def close(mac: str, t: float, how: str) -> None:
        port, start = open_.pop(mac)
        if time_range is None or (start <= time_range[1] and t >= time_range[0]):
            out.stays.append((mac, port, start, t, how))

    for r in rec.mac_table(name):
        mac = r.mac if r.vlan == 1 else f"{r.mac} vlan {r.vlan}"
        if r.port not in out.ports and r.event != "full":
            out.ports.append(r.port)
        if r.event == "full":
            if in_range(r.time, time_range):
                out.full.append((r.time, mac))
            continue
        if mac not in out.macs and r.event in ("learn", "move"):
            out.macs.append(mac)
        if mac in open_:
            close(mac, r.time, r.event)
        if r.event in ("learn", "move"):
            open_[mac] = (r.port, r.time)
        if in_range(r.time, time_range):
            out.size.append((r.time, r.size))
    for mac in list(open_):
        close(mac, max(end, open_[mac][1]), "")
    return out


def _label(key: str, names: dict[str, str]) -> str:
    mac, _, vlan = key.partition(" vlan ")
    name = names.get(mac, mac)
    return f"{name} (VLAN {vlan})" if vlan else name


def plot_mac_table(source: Any, switch: str | None = None, *, names: dict[str, str] | None = None,
                   until: float | None = None, time_range: tuple[float, float] | None = None,
                   title: str | None = None, ax: Axes | None = None) -> Figure:
    """The MAC table of ``switch`` over time (see the module doc). ``names`` labels addresses
    ({"02:00:00:00:00:01": "h1"}); with ``ax`` only the table is drawn, on it."""
    series = mac_table_data(source, switch, until=until, time_range=time_range)
    if ax is None:
        fig = Figure(figsize=(9, 1.6 + 0.35 * max(len(series.macs), 1)), layout="constrained")
        ax, size_ax = fig.subplots(2, 1, sharex=True, height_ratios=[3, 1])
    else:
        fig_ = ax.figure
        assert isinstance(fig_, Figure)
        fig, size_ax = fig_, None
    colour = {p: _PORT_COLORS[i % len(_PORT_COLORS)] for i, p in enumerate(series.ports)}
    row = {mac: i for i, mac in enumerate(series.macs)}
    drawn: set[str] = set()
    for mac, port, start, end, how in series.stays:
        y = row[mac]
        ax.broken_barh([(start, max(end - start, 1e-9))], (y - 0.35, 0.7),
                       facecolors=colour[port], label=None if port in drawn else f"port {port}")
        drawn.add(port)
        ax.text(start, y, f" {port}", va="center", ha="left", fontsize="x-small",
                color="white" if end - start > 0 else "black")
        if how == "age":
            ax.plot([end], [y], marker="x", color="black", linestyle="none", zorder=5)
        elif how == "move":
            ax.plot([end], [y], marker=">", color="black", linestyle="none", ms=5, zorder=5)
    ax.set_yticks(range(len(series.macs)))
    ax.set_yticklabels([_label(m, names or {}) for m in series.macs], fontsize="small")
    ax.set_ylim(len(series.macs) - 0.5, -0.5)
    ax.set_ylabel("address")
    ax.grid(True, axis="x", alpha=0.3)
    if drawn:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small")
    ax.set_title(title if title is not None else
                 f"MAC table of {series.switch} (x: aged out, >: moved)", fontsize="medium")
    bottom = ax
    if size_ax is not None:
        if series.size:
            xs = [t for t, _ in series.size] + [series.until]
            ys = [n for _, n in series.size] + [series.size[-1][1]]
            size_ax.plot(xs, ys, drawstyle="steps-post", color="#555555")
        size_ax.set_ylabel("entries")
        size_ax.set_ylim(bottom=0)
        size_ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        size_ax.grid(True, alpha=0.3)
        bottom = size_ax
    bottom.set_xlabel("time (s)")
    if time_range is not None:
        ax.set_xlim(*time_range)
    return fig
