"""The metric each router has to one network over time, from RIP's route history: a step line
per router, 16 (unreachable) at the top. Counting to infinity shows as stairs climbing to it.

    rip = enable_rip(net, RipConfig(split_horizon="off", triggered_updates=False))
    ...
    plot_rip_metric(rip, "10.1.3.0/24").savefig("count.png")

It takes the `RipDomain` of netsim.sim.rip (or any iterable of `RipProcess`), not a
`Recorder`: each process keeps its own history of route changes.
"""

from __future__ import annotations

from collections.abc import Iterable
from ipaddress import IPv4Network
from typing import TYPE_CHECKING

from matplotlib.figure import Figure

from netsim.errors import UsageError
from netsim.wire.rip import INFINITY

if TYPE_CHECKING:
    from netsim.stack.rip import RipProcess

__all__ = ["plot_rip_metric", "rip_metric_data"]


def rip_metric_data(processes: Iterable[RipProcess], network: str | IPv4Network,
                    routers: Iterable[str] | None = None
                    ) -> dict[str, list[tuple[float, int]]]:
    """{router: [(time, metric), ...]}: every change of its route to `network` (a router that
    never had one is left out)."""
    try:
        net = IPv4Network(network)
    except ValueError as exc:
        raise UsageError(f"network: {exc}") from None
    wanted = None if routers is None else set(routers)
    out: dict[str, list[tuple[float, int]]] = {}
    for proc in processes:
        name = proc.stack.name
        if wanted is not None and name not in wanted:
            continue
        steps = [(t, m) for t, n, m, _ in proc.history if n == net]
        if steps:
            out[name] = steps
    return out


def plot_rip_metric(processes: Iterable[RipProcess], network: str | IPv4Network,
                    routers: Iterable[str] | None = None,
                    time_range: tuple[float, float] | None = None) -> Figure:
    """A step line per router (those named, or every one that had a route to `network`)."""
    data = rip_metric_data(processes, network, routers)
    if not data:
        raise UsageError(f"network: no router had a route to {network}")
    fig = Figure(figsize=(8, 4))
    ax = fig.add_subplot()
    end = max(t for steps in data.values() for t, _ in steps)
    if time_range is not None:
        end = time_range[1]
    for name, steps in data.items():
        times = [t for t, _ in steps] + [end]
        metrics = [m for _, m in steps] + [steps[-1][1]]
        ax.step(times, metrics, where="post", label=name)
    ax.set_ylim(0, INFINITY + 1)
    ax.set_yticks(list(range(0, INFINITY, 2)) + [INFINITY])
    ax.set_yticklabels([str(m) for m in range(0, INFINITY, 2)] + ["16 (unreachable)"])
    if time_range is not None:
        ax.set_xlim(*time_range)
    ax.set_xlabel("time (s)")
    ax.set_ylabel(f"metric to {network}")
    ax.set_title(f"RIP: each router's metric to {network}")
    ax.legend(loc="lower right", fontsize="small")
    fig.tight_layout()
    return fig
