"""The cost each router has to one network over time, from OSPF's route history: a step line
per router, "unreachable" at the top, a dotted line at each failure or recovery, and, when
given, the times packets were lost (a red cross each, on the time axis).

    ospf = enable_ospf(net, OspfConfig(hello_interval=1, dead_interval=4))
    ospf.fail_link("r1", "r2", at=30)
    ...
    plot_ospf_cost(ospf, "192.168.2.0/24", lost=[...]).savefig("cost.png")

It takes the `OspfDomain` of netsim.sim.ospf (or any iterable of `OspfProcess`), as
`plot_rip_metric` takes RIP's processes: each process keeps its own history of route changes.
"""

from __future__ import annotations

from collections.abc import Iterable
from ipaddress import IPv4Network
from typing import TYPE_CHECKING

from matplotlib.figure import Figure

from netsim.errors import UsageError

if TYPE_CHECKING:
    from netsim.stack.ospf import OspfProcess

__all__ = ["ospf_cost_data", "plot_ospf_cost"]


def ospf_cost_data(processes: Iterable[OspfProcess], network: str | IPv4Network,
                   routers: Iterable[str] | None = None
                   ) -> dict[str, list[tuple[float, int | None]]]:
    """{router: [(time, cost or None when unreachable), ...]}: every change of its route to
    `network` (a router that never had one is left out)."""
    try:
        net = IPv4Network(network)
    except ValueError as exc:
        raise UsageError(f"network: {exc}") from None
    wanted = None if routers is None else set(routers)
    out: dict[str, list[tuple[float, int | None]]] = {}
    for proc in processes:
        name = proc.stack.name
        if wanted is not None and name not in wanted:
            continue
        steps = [(t, c) for t, n, c, _ in proc.history if n == net]
        if steps:
            out[name] = steps
    return out


def plot_ospf_cost(processes: Iterable[OspfProcess], network: str | IPv4Network,
                   routers: Iterable[str] | None = None,
                   time_range: tuple[float, float] | None = None,
                   lost: Iterable[float] = ()) -> Figure:
    """A step line per router (those named, or every one that had a route to `network`);
    `lost`: the times packets to that network were sent and lost (a ping's unanswered
    requests), drawn as crosses on the time axis."""
    procs = list(processes)
    data = ospf_cost_data(procs, network, routers)
    if not data:
        raise UsageError(f"network: no router had a route to {network}")
    top = max((c for steps in data.values() for _, c in steps if c is not None), default=1) + 1
    end = max(max(t for steps in data.values() for t, _ in steps),
              max((p.last_change for p in procs), default=0.0))
    if time_range is not None:
        end = time_range[1]
    fig = Figure(figsize=(8, 4))
    ax = fig.add_subplot()
    for name, steps in data.items():
        times = [t for t, _ in steps] + [end]
        costs = [top if c is None else c for _, c in steps]
        ax.step(times, costs + costs[-1:], where="post", label=name)
    events = getattr(processes, "events", [])
    for when, what in events:
        ax.axvline(when, linestyle=":", color="grey")
        ax.annotate(what, (when, top), fontsize="small", rotation=90, va="top")
    losses = sorted(lost)
    if losses:
        ax.plot(losses, [0.0] * len(losses), "x", color="red", clip_on=False,
                label=f"lost ({len(losses)})")
    ax.set_ylim(0, top + 0.5)
    ticks = list(range(0, top, max(1, top // 8)))
    ax.set_yticks(ticks + [top])
    ax.set_yticklabels([str(t) for t in ticks] + ["unreachable"])
    if time_range is not None:
        ax.set_xlim(*time_range)
    ax.set_xlabel("time (s)")
    ax.set_ylabel(f"cost to {network}")
    ax.set_title(f"OSPF: each router's cost to {network}")
    ax.legend(loc="lower right", fontsize="small")
    fig.tight_layout()
    return fig
