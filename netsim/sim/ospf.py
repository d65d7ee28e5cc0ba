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

from collections.abc import Iterable, Iterator, Mapping

from netsim.errors import UsageError
from netsim.node import call_at
from netsim.sim.rip import add_host, convergence_times, random_edges, routers_from_edges
from netsim.sim.topofile import edges_from_graph, read_topology
from netsim.sim.topology import Network
from netsim.stack.events import EventRecord
from netsim.stack.ospf import OspfConfig, OspfProcess

__all__ = ["OspfDomain", "add_host", "edges_from_graph", "enable_ospf", "random_edges",
           "read_topology", "routers_from_edges"]

Table = list[tuple[str, int, str, str]]


class OspfDomain:
    """The OSPF processes of a network's routers, by name: ``ospf["r1"].table()``."""

    def __init__(self, net: Network, processes: dict[str, OspfProcess]) -> None:
        self.net = net
        self.processes = processes
        self.events: list[tuple[float, str]] = []  # (time, "fail r1-r2" / "restore r1-r2")
        self.snapshots: list[tuple[float, dict[str, Table]]] = []

    def __getitem__(self, name: str) -> OspfProcess:
        try:
            return self.processes[name]
        except KeyError:
            raise UsageError(f"router: no OSPF process on {name!r}") from None

    def __iter__(self) -> Iterator[OspfProcess]:
        return iter(self.processes.values())

    def converged_at(self) -> float:
        """When a routing table last changed anywhere (the convergence time, once quiet)."""
        return max(p.last_change for p in self.processes.values())

    def convergence(self) -> list[tuple[str, float, float]]:
        """(event, its time, seconds until the last table change it caused) for the start
        and each failure or recovery: the last change before the next event."""
        return convergence_times(self.events, [p.history for p in self])

    def messages(self) -> dict[str, int]:
        """OSPF counters summed over every router (tx_hello, tx_update, retransmitted...)."""
        total: dict[str, int] = {}
        for p in self.processes.values():
            for key, n in p.counts.items():
                total[key] = total.get(key, 0) + n
        return total

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

    def fail_link(self, a: str, b: str, at: float | None = None, detect: bool = True) -> None:
        """At time `at` (now if None) the link a-b stops carrying frames. `detect`: both
        routers see their interface go down at once; otherwise OSPF finds out when the
        neighbour's Hellos stop for RouterDeadInterval."""
        self._set(a, b, False, at, detect)

    def restore_link(self, a: str, b: str, at: float | None = None) -> None:
        self._set(a, b, True, at, True)

    def _set(self, a: str, b: str, up: bool, at: float | None, detect: bool) -> None:
        for name in (a, b):
            if name not in self.processes:
                raise UsageError(f"link: no OSPF router named {name!r}")
        if f"to-{b}" not in self.net.node(a).stack.interfaces:
            raise UsageError(f"link: {a} and {b} are not neighbours")
        env = self.net.world.env
        when = env.now if at is None else at
        if when < env.now:
            raise UsageError(f"at: {at} is in the past (now {env.now})")
        ends = ((a, f"to-{b}"), (b, f"to-{a}"))
        self.events.append((when, f"{'restore' if up else 'fail'} {a}-{b}"))

        def act(_ev: object) -> None:
            for router, ifname in ends:
                self.net.node(router).stack.interfaces[ifname].up = up
            if detect:
                for router, ifname in ends:
                    if up:
                        self.processes[router].interface_up(ifname, env.now)
                    else:
                        self.processes[router].interface_down(ifname, env.now)

        call_at(env, when, act)


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
    names = [r.name for r in net.routers] if routers is None else list(routers)
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
