"""Routing tables over time, and the packets lost while they converge (lesson 15).

`plot_route_tables` draws every router's table over time: one panel per router, one row per
destination network, a bar for each stretch of time the router had a route to it, coloured by
next hop ("connected" in grey) and labelled with its metric; a gap is a time without a route
(RIP's metric 16, or OSPF's none). It takes the `RipDomain` of netsim.sim.rip or the
`OspfDomain` of netsim.sim.ospf (or any iterable of their processes: each keeps the history of
its route changes), and marks the domain's failures and recoveries with dotted lines.

`plot_convergence_loss` draws, for one or more runs (a row each: "RIP", "OSPF"), when each
probe of a ping was sent and whether it was answered: the lost ones as red crosses.
`lost_pings` gives those times from a ping's statistics.

    rip = enable_rip(net)
    rip.fail_link("r1", "r2", at=90)
    run = world.env.process(ping(h1, h2.ip, count=400, interval=0.5))   # from t = 60
    world.run(until=280)
    plot_route_tables(rip, routers=["r1", "r3"]).savefig("tables.png")
    plot_convergence_loss({"RIP": lost_pings(run.value, 60, 0.5)}, rip.events)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from ipaddress import IPv4Network
from typing import Any

from matplotlib.figure import Figure
from matplotlib.patches import Patch

from netsim.apps.ping import PingStats
from netsim.errors import UsageError
from netsim.trace.plots._common import check_time_range
from netsim.wire.rip import INFINITY

__all__ = ["lost_pings", "plot_convergence_loss", "plot_route_tables", "route_table_data"]

#: (time, metric or None when unreachable, next hop or "-" for a connected network)
Step = tuple[float, int | None, str]

_PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf",
            "#bcbd22", "#d62728", "#7f7f7f"]
_CONNECTED = "#b0b0b0"


def _processes(domain: Any) -> list[Any]:
    try:
        procs = list(domain)
    except TypeError:
        raise UsageError(f"processes: {type(domain).__name__} is not a RipDomain, an "
                         "OspfDomain or a list of their processes") from None
    for p in procs:
        if not hasattr(p, "history") or not hasattr(p, "stack"):
            raise UsageError(f"processes: {p!r} is not a RIP or OSPF process")
    return procs


def route_table_data(processes: Iterable[Any], routers: Iterable[str] | None = None
                     ) -> dict[str, dict[IPv4Network, list[Step]]]:
    """{router: {network: [(time, metric or None, next hop or "-"), ...]}}: every change of
    every route of the routers named (all of them when None), in time order. A RIP route at
    metric 16 is unreachable (None), as is an OSPF route that went away."""
    from netsim.stack.rip import RipProcess  # the plots import no protocol at module level

    procs = _processes(processes)
    names = [p.stack.name for p in procs]
    wanted = None if routers is None else _names(routers, "routers", "'r1'")
    if wanted is not None:
        unknown = [r for r in wanted if r not in names]
        if unknown:
            raise UsageError(f"routers: no {', '.join(map(repr, unknown))}; the processes "
                             f"are on {', '.join(names)}")
    out: dict[str, dict[IPv4Network, list[Step]]] = {}
    for proc in procs:
        name = proc.stack.name
        if wanted is not None and name not in wanted:
            continue
        rip = isinstance(proc, RipProcess)
        table: dict[IPv4Network, list[Step]] = {}
        for when, net, metric, hop in proc.history:
            gone = metric is None or (rip and metric >= INFINITY)
            table.setdefault(net, []).append(
                (float(when), None if gone else int(metric), "-" if hop is None else str(hop)))
        out[name] = dict(sorted(table.items()))
    if wanted is not None:
        out = {r: out[r] for r in wanted}
    return out


def plot_route_tables(processes: Iterable[Any], routers: Iterable[str] | None = None,
                      networks: Iterable[str | IPv4Network] | None = None,
                      time_range: tuple[float, float] | None = None) -> Figure:
    """One panel per router (those named, or all), one row per network (those named, or every
    one the router ever had a route to): its routes over time."""
    time_range = check_time_range(time_range)
    procs = _processes(processes)
    data = route_table_data(procs, routers)
    if networks is not None:
        wanted = _names(networks, "networks", "'10.0.1.0/24'")
        try:
            only = [IPv4Network(n) for n in wanted]
        except ValueError as exc:
            raise UsageError(f"networks: {exc}") from None
        data = {r: {n: t[n] for n in only if n in t} for r, t in data.items()}
    if not any(data.values()):
        raise UsageError("routers: none of them ever had a route")
    last = max((t for table in data.values() for steps in table.values() for t, _, _ in steps),
               default=0.0)
    world = getattr(getattr(processes, "net", None), "world", None)  # a domain: until now
    end = time_range[1] if time_range is not None else max(
        last, max((p.last_change for p in procs), default=0.0) * 1.05 + 1.0,
        float(world.now) if world is not None else 0.0)
    events: list[tuple[float, str]] = list(getattr(processes, "events", []))
    rows = sum(max(1, len(t)) for t in data.values())
    fig = Figure(figsize=(9, 1.2 + 0.32 * rows + 0.5 * len(data)))
    axes = fig.subplots(len(data), 1, sharex=True, squeeze=False,
                        gridspec_kw={"height_ratios": [max(1, len(t)) for t in data.values()]})
    colours: dict[str, str] = {}
    for ax, (router, table) in zip((a[0] for a in axes), data.items(), strict=True):
        nets = list(table)
        for y, net in enumerate(nets):
            steps = table[net]
            for i, (start, metric, hop) in enumerate(steps):
                stop = steps[i + 1][0] if i + 1 < len(steps) else end
                if metric is None or stop <= start:
                    continue
                if hop == "-":
                    colour = _CONNECTED
                else:
                    colour = colours.setdefault(hop, _PALETTE[len(colours) % len(_PALETTE)])
                ax.barh(y, stop - start, left=start, height=0.7, color=colour,
                        edgecolor="white", linewidth=0.5)
                ax.annotate(str(metric), (start, y), xytext=(2, 0),
                            textcoords="offset points", va="center", fontsize="x-small")
        ax.set_yticks(range(len(nets)))
        ax.set_yticklabels([str(n) for n in nets], fontsize="small")
        ax.set_ylim(len(nets) - 0.5, -0.5)
        ax.set_ylabel(router, rotation=0, ha="right", va="center", fontweight="bold")
        ax.yaxis.set_label_coords(-0.2, 0.5)
        for when, _ in events:
            ax.axvline(when, linestyle=":", color="black")
    first = axes[0][0]
    for when, what in events:
        first.annotate(what, (when, -0.5), xytext=(2, 2), textcoords="offset points",
                       fontsize="small", va="bottom")
    axes[-1][0].set_xlim(*(time_range or (0.0, end)))
    axes[-1][0].set_xlabel("time (s)")
    handles = [Patch(color=_CONNECTED, label="connected")]
    handles += [Patch(color=c, label=f"via {hop}") for hop, c in colours.items()]
    fig.legend(handles=handles, loc="lower center", ncol=min(4, len(handles)),
               fontsize="small", frameon=False)
    fig.suptitle("Routing tables over time (bar: a route, its metric; gap: no route)",
                 fontsize="medium")
    fig.tight_layout(rect=(0, 0.06, 1, 0.97))
    return fig


def lost_pings(stats: PingStats, start: float, interval: float
               ) -> tuple[list[float], list[float]]:
    """(when each echo request was sent, when each unanswered one was): a ping begun at time
    `start` sends request n at start + (n - 1) * interval."""
    if not isinstance(stats, PingStats):
        raise UsageError(f"stats: {type(stats).__name__} is not a ping's PingStats")
    if not isinstance(interval, int | float) or not interval > 0:
        raise UsageError(f"interval: {interval!r} is not a positive number of seconds")
    if isinstance(start, bool) or not isinstance(start, int | float) or start != start:
        raise UsageError(f"start: {start!r} is not a time in seconds")
    answered = {r.seq for r in stats.replies}
    sent = [start + (seq - 1) * interval for seq in range(1, stats.transmitted + 1)]
    lost = [t for seq, t in enumerate(sent, 1) if seq not in answered]
    return sent, lost


def plot_convergence_loss(runs: Mapping[str, tuple[Sequence[float], Sequence[float]]],
                          events: Iterable[tuple[float, str]] = (),
                          time_range: tuple[float, float] | None = None) -> Figure:
    """One row per run ({label: (times sent, times lost)}, as `lost_pings` gives them): a grey
    tick per probe answered, a red cross per probe lost, and the count and span of the losses;
    a dotted line at each of `events` ((time, "fail r1-r2"), ...)."""
    time_range = check_time_range(time_range)
    if not isinstance(runs, Mapping) or not runs:
        raise UsageError("runs: give at least one {label: (sent, lost)}")
    events = _events(events)
    fig = Figure(figsize=(9, 1.0 + 0.7 * len(runs)))
    ax = fig.add_subplot()
    labels = list(runs)
    for y, label in enumerate(labels):
        pair = runs[label]
        if not isinstance(pair, tuple | list) or len(pair) != 2:
            raise UsageError(f"runs: {label}: {pair!r:.60} is not a (sent, lost) pair of "
                             "lists of times, as lost_pings gives")
        sent, lost = pair
        gone = set(lost)
        if not gone <= set(sent):
            raise UsageError(f"runs: {label}: a lost time that was never sent")
        ok = [t for t in sent if t not in gone]
        ax.plot(ok, [y] * len(ok), "|", color="#7f7f7f", markersize=8)
        ax.plot(sorted(gone), [y] * len(gone), "x", color="#d62728", markersize=6)
        spans = _outages(sent, gone)
        note = f"{len(gone)} lost" + "".join(f", {a:g}–{b:g} s" for a, b in spans[:3]) + \
            (", ..." if len(spans) > 3 else "")
        ax.annotate(note, (1.0, y), xycoords=("axes fraction", "data"), xytext=(4, 0),
                    textcoords="offset points", va="center", fontsize="small")
    for when, what in events:
        ax.axvline(when, linestyle=":", color="black")
        ax.annotate(what, (when, -0.9), xytext=(2, -2), textcoords="offset points",
                    fontsize="small", va="top")
    ax.set_yticks(range(len(labels)))
    ax.set_yticklabels(labels)
    ax.set_ylim(len(labels) - 0.5, -0.9)
    if time_range is not None:
        ax.set_xlim(*time_range)
    ax.set_xlabel("time the echo request was sent (s)")
    ax.set_title("Packets lost during convergence (|: answered, x: lost)", fontsize="medium")
    fig.tight_layout()
    return fig



def _names(value: Any, name: str, example: str) -> list[Any]:
    """A list argument of names, or a `UsageError` (a single string is not a list)."""
    if isinstance(value, str | bytes):
        raise UsageError(f"{name}: {value!r} is one string; give a list, e.g. [{example}]")
    try:
        return list(value)
    except TypeError:
        raise UsageError(f"{name}: {value!r:.60} is not a list, e.g. [{example}]") from None


def _events(events: Any) -> list[tuple[float, str]]:
    """``events`` checked: (time, label) pairs, as a domain's ``events`` holds them."""
    out = list(_names(events, "events", "(90.0, 'fail r1-r2')"))
    for e in out:
        if not isinstance(e, tuple | list) or len(e) != 2 or \
                not isinstance(e[0], int | float) or isinstance(e[0], bool):
            raise UsageError(f"events: {e!r:.60} is not a (time, label) pair, e.g. "
                             "(90.0, 'fail r1-r2')")
    return [(float(t), str(label)) for t, label in out]


def _outages(sent: Sequence[float], lost: set[float]) -> list[tuple[float, float]]:
    """(first, last) send time of each run of consecutive probes lost."""
    spans: list[tuple[float, float]] = []
    run: list[float] = []
    for t in [*sent, None]:
        if t is not None and t in lost:
            run.append(t)
        elif run:
            spans.append((run[0], run[-1]))
            run = []
    return spans
