"""Routers joined in any graph, running RIP (netsim/stack/rip.py), in a notebook cell.

    world = World(seed=7)
    net = routers_from_edges(world, random_edges(world.rng("graph"), 50, extra=25))
    rip = enable_rip(net)
    world.run(until=120)
    print(rip["r1"])                  # its table: network, metric, next hop, interface
    rip.fail_link("r1", "r2", at=150)
    world.run(until=400)
    rip.converged_at(), rip.messages()

Link k of the edge list is network 10.H.L.0/24 (H, L: k+256 in base 256), its first router
.1 and its second .2; a router's interface towards r7 is named "to-r7". `add_host` puts a
host on a LAN of its own behind a router, 192.168.i.0/24.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Iterator, Sequence

from netsim.errors import UsageError
from netsim.node import Node, call_at
from netsim.sim.link import Link, LinkConfig
from netsim.sim.topology import Network, add_port, make_node
from netsim.sim.world import World
from netsim.stack.dv import DistanceVector
from netsim.stack.events import Tracer
from netsim.stack.rip import RipConfig, RipProcess
from netsim.wire.rip import PORT

__all__ = ["RipDomain", "add_host", "convergence_times", "enable_rip", "random_edges",
           "routers_from_edges"]


def random_edges(rng: random.Random, n: int, extra: int = 0) -> list[tuple[str, str]]:
    """A connected graph on r1..rN: a random spanning tree (each router joins one already
    placed) plus `extra` more distinct links, all drawn from `rng`."""
    if type(n) is not int or n < 2:
        raise UsageError(f"n: {n!r} routers; give an integer of at least 2")
    most = n * (n - 1) // 2 - (n - 1)
    if type(extra) is not int or not 0 <= extra <= most:
        raise UsageError(f"extra: {extra!r} is not in 0..{most} for {n} routers")
    edges = [(f"r{rng.randrange(1, k)}", f"r{k}") for k in range(2, n + 1)]
    seen = {frozenset(e) for e in edges}
    while len(edges) < n - 1 + extra:
        a, b = rng.sample(range(1, n + 1), 2)
        key = frozenset((f"r{a}", f"r{b}"))
        if key not in seen:
            seen.add(key)
            edges.append((f"r{min(a, b)}", f"r{max(a, b)}"))
    return edges


def routers_from_edges(world: World, edges: Iterable[tuple[str, str]],
                       config: LinkConfig | None = None, *,
                       trace: Tracer | None = None) -> Network:
    """One router per name, one link per edge (a networkx graph's ``graph.edges()`` will
    do); no routes but the connected ones."""
    cfg = config or LinkConfig(delay=0.001, rate_bps=100e6)
    net = Network(world)
    nodes: dict[str, Node] = {}
    for k, edge in enumerate(edges):
        if len(edge) != 2 or edge[0] == edge[1]:
            raise UsageError(f"edges: {edge!r} is not a pair of two router names")
        a, b = (str(x) for x in edge)
        for name in (a, b):
            if name not in nodes:
                nodes[name] = make_node(world, name, forwarding=True, trace=trace)
                net.routers.append(nodes[name])
        for x, y in ((a, b), (b, a)):
            if f"to-{y}" in nodes[x].stack.interfaces:
                raise UsageError(f"edges: {a}-{b} is listed twice")
        hi, lo = divmod(k + 256, 256)
        if hi > 255:
            raise UsageError("edges: more than 65280 links")
        link = Link(world, cfg, name=f"{a}-{b}")
        net.links.append(link)
        add_port(world, nodes[a], f"to-{b}", f"10.{hi}.{lo}.1/24", link.a, mtu=cfg.mtu)
        add_port(world, nodes[b], f"to-{a}", f"10.{hi}.{lo}.2/24", link.b, mtu=cfg.mtu)
    return net


def add_host(net: Network, router: str, name: str, config: LinkConfig | None = None) -> Node:
    """A host on a LAN of its own behind `router` (call before `enable_rip`, so that RIP
    announces the LAN): 192.168.i.0/24, the router .254, the host .1."""
    cfg = config or LinkConfig(delay=0.001, rate_bps=100e6)
    i = len(net.hosts) + 1
    if i > 255:
        raise UsageError("add_host: at most 255 hosts")
    r = net.node(router)
    host = make_node(net.world, name)
    link = Link(net.world, cfg, name=f"{name}-{router}")
    net.links.append(link)
    add_port(net.world, host, "eth0", f"192.168.{i}.1/24", link.a, mtu=cfg.mtu)
    add_port(net.world, r, f"to-{name}", f"192.168.{i}.254/24", link.b, mtu=cfg.mtu)
    host.stack.set_default_route(f"192.168.{i}.254")
    net.hosts.append(host)
    return host


class RipDomain:
    """The RIP processes of a network's routers, by name: ``rip["r1"].table()``."""

    def __init__(self, net: Network, processes: dict[str, RipProcess]) -> None:
        self.net = net
        self.processes = processes
        self.events: list[tuple[float, str]] = []  # (time, "fail r1-r2" / "restore r1-r2")

    def __getitem__(self, name: str) -> RipProcess:
        try:
            return self.processes[name]
        except KeyError:
            raise UsageError(f"router: no RIP process on {name!r}") from None

    def __iter__(self) -> Iterator[RipProcess]:
        return iter(self.processes.values())

    def converged_at(self) -> float:
        """When a routing table last changed anywhere (the convergence time, once quiet)."""
        return max(p.last_change for p in self.processes.values())

    def convergence(self) -> list[tuple[str, float, float]]:
        """(event, its time, seconds until the last table change it caused) for the start
        and each failure or recovery: the last change before the next event."""
        return convergence_times(self.events, [p.history for p in self])

    def messages(self) -> dict[str, int]:
        """RIP counters summed over every router (tx_update, tx_triggered, rx_response...)."""
        total: dict[str, int] = {}
        for p in self.processes.values():
            for key, n in p.counts.items():
                total[key] = total.get(key, 0) + n
        return total

    def _link(self, a: str, b: str) -> tuple[Sequence[str], Sequence[str]]:
        for name in (a, b):
            if name not in self.processes:
                raise UsageError(f"link: no RIP router named {name!r}")
        if f"to-{b}" not in self.net.node(a).stack.interfaces:
            raise UsageError(f"link: {a} and {b} are not neighbours")
        return (a, f"to-{b}"), (b, f"to-{a}")

    def fail_link(self, a: str, b: str, at: float | None = None, detect: bool = True) -> None:
        """At time `at` (now if None) the link a-b stops carrying frames. `detect`: both
        routers see their interface go down at once; otherwise RIP finds out only when the
        routes through it time out (180 s)."""
        self._set(a, b, False, at, detect)

    def restore_link(self, a: str, b: str, at: float | None = None) -> None:
        self._set(a, b, True, at, True)

    def _set(self, a: str, b: str, up: bool, at: float | None, detect: bool) -> None:
        ends = self._link(a, b)
        env = self.net.world.env
        when = env.now if at is None else at
        if when < env.now:
            raise UsageError(f"at: {at} is in the past (now {env.now})")
        self.events.append((when, f"{'restore' if up else 'fail'} {a}-{b}"))

        def act(_ev: object) -> None:
            for router, ifname in ends:
                self.net.node(router).stack.interfaces[ifname].up = up
            if detect:
                for router, ifname in ends:
                    proc = self.processes.get(router)
                    if proc is not None:
                        if up:
                            proc.interface_up(ifname, env.now)
                        else:
                            proc.interface_down(ifname, env.now)

        call_at(env, when, act)


def convergence_times(events: Iterable[tuple[float, str]],
                      histories: Iterable[Sequence[tuple[float, object, object, object]]]
                      ) -> list[tuple[str, float, float]]:
    """(event, its time, seconds from it to the last route change before the next event) for
    the start (time 0) and each of `events`; `histories`: each process's (time, ...) changes."""
    marks = [(0.0, "start"), *sorted(events)]
    changes = sorted(t for history in histories for t, *_ in history)
    out = []
    for i, (at, what) in enumerate(marks):
        end = marks[i + 1][0] if i + 1 < len(marks) else float("inf")
        last = max((t for t in changes if at <= t < end), default=at)
        out.append((what, at, last - at))
    return out


def enable_rip(net: Network, config: RipConfig | None = None,
               routers: Iterable[str] | None = None, *,
               table: Callable[[RipConfig], DistanceVector] | None = None) -> RipDomain:
    """Start a RIP process on every router of `net` (or those named), now. Each draws its
    jitter from its own stream of the world's seed, so a run is reproducible. `table`, given
    the config, makes each router's distance-vector table (assignment 12's ``DvRouter``:
    ``lambda c: DvRouter(c.split_horizon, c.timeout, c.garbage_collection)``) in place of
    netsim's."""
    world = net.world
    names = [r.name for r in net.routers] if routers is None else list(routers)
    nodes = []
    for name in names:
        try:
            node = net.node(name)
        except KeyError:
            raise UsageError(f"routers: no {name!r} in this network") from None
        if not node.stack.forwarding:
            raise UsageError(f"routers: {name} is a host, not a router")
        if node.stack.udp.endpoint(PORT) is not None:
            raise UsageError(f"routers: {name} already has UDP port {PORT} bound (RIP runs)")
        nodes.append(node)
    procs: dict[str, RipProcess] = {}
    for node in nodes:
        name = node.name
        proc = RipProcess(node.stack, config, world.rng(f"rip:{name}"))
        if table is not None:
            proc.set_table(table(proc.config))
        proc.start(world.now)
        procs[name] = proc
    return RipDomain(net, procs)
