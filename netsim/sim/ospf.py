"""Routers joined in any graph, running OSPF (netsim/stack/ospf.py), in a notebook cell.

    world = World(seed=7)
    edges, costs = read_topology("examples/topologies/mesh.toml")  # or edges_from_graph(g),
    net = routers_from_edges(world, edges)         # or random_edges(...), as for RIP
    ospf = enable_ospf(net, costs=costs)
    ospf.fail_link("r1", "r2", at=30)
    ospf.restore_link("r1", "r2", at=60)
    ospf.snapshot_at([20, 50, 90])                 # every router's table, at those times
    world.run(until=100)
    print(ospf["r1"])                              # network, cost, next hop, interface
    ospf.convergence()                             # each event: when the tables settled

The topology is built as for RIP (`netsim.sim.rip.routers_from_edges`, `add_host`): link k
of the edge list is network 10.H.L.0/24, a router's interface towards r7 is "to-r7". Every
route change is an `EventRecord` of kind "route" in the trace (``trace=`` of
`routers_from_edges`), and each snapshot one of kind "table" per router.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from netsim import argcheck
from netsim.errors import UsageError
from netsim.node import call_at
from netsim.sim.domain import RoutingDomain
from netsim.sim.rip import add_host, random_edges, routers_from_edges
from netsim.sim.topofile import edges_from_graph, read_topology
from netsim.sim.topology import Network
from netsim.stack.events import EventRecord
from netsim.stack.ospf import OspfConfig, OspfProcess

__all__ = ["OspfDomain", "add_host", "edges_from_graph", "enable_ospf", "random_edges",
           "read_topology", "routers_from_edges"]

Table = list[tuple[str, int, str, str]]


class OspfDomain(RoutingDomain[OspfProcess]):
    """The OSPF processes of a network's routers, by name: ``ospf["r1"].table()``; their
    counters summed (`messages`: tx_hello, tx_update, retransmitted...), their tables at given
    times (`snapshot_at`)."""

    protocol = "OSPF"

    def __init__(self, net: Network, processes: dict[str, OspfProcess]) -> None:
        super().__init__(net, processes)
        self.snapshots: list[tuple[float, dict[str, Table]]] = []

    def tables(self) -> dict[str, Table]:
        """Every router's routing table now."""
        return {name: p.table() for name, p in self.processes.items()}

    def snapshot_at(self, times: Iterable[float]) -> None:
        """Record every router's table at each of `times`: into `snapshots`, and into the
        trace as an EventRecord of kind "table" per router."""
        env = self.net.world.env
        for when in times:
            if not isinstance(when, int | float) or when < env.now:
                raise UsageError(f"times: {when!r} is not a time from now ({env.now}) on")

            def take(_ev: object) -> None:
                tables = self.tables()
                self.snapshots.append((env.now, tables))
                for name, rows in tables.items():
                    trace = self.processes[name].stack.trace
                    if trace is not None:
                        text = "; ".join(f"{n} {c} via {h} dev {d}" for n, c, h, d in rows)
                        trace.record(EventRecord(env.now, name, "ospf", "table", text))

            call_at(env, when, take)


def _link_costs(net: Network, costs: Mapping[tuple[str, str], int]
                ) -> dict[str, dict[str, int]]:
    """{router: {interface: cost}} from {(a, b): cost} (either order)."""
    out: dict[str, dict[str, int]] = {}
    for (a, b), cost in costs.items():
        for x, y in ((a, b), (b, a)):
            try:
                stack = net.node(x).stack
            except KeyError:
                raise UsageError(f"costs: no router {x!r} in this network") from None
            if f"to-{y}" not in stack.interfaces:
                raise UsageError(f"costs: {a} and {b} are not neighbours")
            out.setdefault(x, {})[f"to-{y}"] = cost
    return out


def enable_ospf(net: Network, config: OspfConfig | None = None,
                routers: Iterable[str] | None = None,
                costs: Mapping[tuple[str, str], int] | None = None) -> OspfDomain:
    """Start an OSPF process on every router of `net` (or those named), now. `costs`: the
    cost of a link both ways, by its two routers (`read_topology` gives them); others cost
    ``config.cost``."""
    argcheck.instance("config", config, OspfConfig, "an OspfConfig")
    names = [r.name for r in net.routers] if routers is None else argcheck.names("routers",
                                                                                  routers)
    per_router = _link_costs(net, costs or {})
    nodes = []
    for name in names:
        try:
            node = net.node(name)
        except KeyError:
            raise UsageError(f"routers: no {name!r} in this network") from None
        if not node.stack.forwarding:
            raise UsageError(f"routers: {name} is a host, not a router")
        if 89 in node.stack.ip_protocols:
            raise UsageError(f"routers: {name} already runs OSPF")
        nodes.append(node)
    procs = {node.name: OspfProcess(node.stack, config, costs=per_router.get(node.name))
             for node in nodes}
    for proc in procs.values():
        proc.start(net.world.now)
    return OspfDomain(net, procs)
