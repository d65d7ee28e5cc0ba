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
from collections.abc import Callable, Iterable

from netsim import argcheck
from netsim.errors import UsageError
from netsim.node import Node
from netsim.sim.domain import RoutingDomain, convergence_times
from netsim.sim.link import Link, LinkConfig
from netsim.sim.topology import Network, add_port, check_links, make_node
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
    check_links(config=config)
    cfg = config or LinkConfig(delay=0.001, rate_bps=100e6)
    if isinstance(edges, str | bytes) or not hasattr(edges, "__iter__"):
        raise UsageError(f"edges: {edges!r:.60} is not a list of (router, router) pairs; use "
                         "e.g. [('r1', 'r2'), ('r2', 'r3')]")
    net = Network(world)
    nodes: dict[str, Node] = {}
    for k, edge in enumerate(edges):
        # (a string of two letters is no pair: 'ab' would join routers a and b)
        if isinstance(edge, str | bytes) or not hasattr(edge, "__len__") or len(edge) != 2 \
                or edge[0] == edge[1]:
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
    check_links(config=config)
    cfg = config or LinkConfig(delay=0.001, rate_bps=100e6)
    i = len(net.hosts) + 1
    if i > 255:
        raise UsageError("add_host: at most 255 hosts")
    try:
        r = net.node(router)
    except KeyError:
        raise UsageError(f"router: no {router!r} in this network") from None
    host = make_node(net.world, name)
    link = Link(net.world, cfg, name=f"{name}-{router}")
    net.links.append(link)
    add_port(net.world, host, "eth0", f"192.168.{i}.1/24", link.a, mtu=cfg.mtu)
    add_port(net.world, r, f"to-{name}", f"192.168.{i}.254/24", link.b, mtu=cfg.mtu)
    host.stack.set_default_route(f"192.168.{i}.254")
    net.hosts.append(host)
    return host


class RipDomain(RoutingDomain[RipProcess]):
    """The RIP processes of a network's routers, by name: ``rip["r1"].table()``; their
    counters summed (`messages`: tx_update, tx_triggered, rx_response...)."""

    protocol = "RIP"


def enable_rip(net: Network, config: RipConfig | None = None,
               routers: Iterable[str] | None = None, *,
               table: Callable[[RipConfig], DistanceVector] | None = None) -> RipDomain:
    """Start a RIP process on every router of `net` (or those named), now. Each draws its
    jitter from its own stream of the world's seed, so a run is reproducible. `table`, given
    the config, makes each router's distance-vector table (assignment 12's ``DvRouter``:
    ``lambda c: DvRouter(c.split_horizon, c.timeout, c.garbage_collection)``) in place of
    netsim's."""
    world = net.world
    argcheck.instance("config", config, RipConfig, "a RipConfig")
    names = [r.name for r in net.routers] if routers is None else argcheck.names("routers",
                                                                                  routers)
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
