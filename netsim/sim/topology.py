"""Small topologies simple enough to write in a notebook cell.

    world = World(seed=7)
    net = two_hosts(world, LinkConfig(delay=0.01, rate_bps=10e6))
    a, b = net.hosts
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from netsim import argcheck
from netsim.errors import UsageError
from netsim.node import Node
from netsim.sim.link import Endpoint, Link, LinkConfig
from netsim.sim.world import World
from netsim.stack.events import DropRecord, QueueRecord, Tracer
from netsim.stack.host import Stack
from netsim.stack.tcp.config import TcpConfig
from netsim.wire.mac import MacAddress


@dataclass
class Network:
    world: World
    hosts: list[Node] = field(default_factory=list)
    routers: list[Node] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)

    @property
    def env(self) -> Any:
        return self.world.env

    def node(self, name: str) -> Node:
        """The host or router called `name` (an `UnknownNameError`, also a KeyError, if none)."""
        for n in self.hosts + self.routers:
            if n.name == name:
                return n
        raise argcheck.unknown("name", name, "a node of this network",
                               [n.name for n in self.hosts + self.routers])

    def run(self, until: float | None = None) -> None:
        self.world.run(until)


_mac_counter = 0


def _mac(world: World) -> MacAddress:
    n = getattr(world, "_mac_counter", 0) + 1
    world._mac_counter = n  # type: ignore[attr-defined]
    return MacAddress.local(n)


def make_node(world: World, name: str, *, forwarding: bool = False, trace: Tracer | None = None,
              tcp: TcpConfig | None = None) -> Node:
    """A node named `name` in `world` (the arguments every topology builder takes are
    checked here: a wrong one is a `UsageError` naming it)."""
    argcheck.instance("world", world, World, "a World; use World(seed)")
    argcheck.instance("tcp", tcp, TcpConfig, "a TcpConfig")
    if trace is not None and not callable(getattr(trace, "record", None)):
        raise UsageError(f"trace: {trace!r:.60} is not a tracer (an object with "
                         "record(rec), such as a Recorder)")
    return Node(world.env, Stack(name, forwarding=forwarding, trace=trace, tcp=tcp))


def add_port(world: World, node: Node, ifname: str, address: str, endpoint: Endpoint,
             mtu: int = 1500, announce: bool = True) -> None:
    node.stack.add_interface(ifname, _mac(world), address, mtu=mtu)
    node.attach(ifname, endpoint, announce=announce)


def check_links(**configs: object) -> None:
    """Each named link argument is a LinkConfig or None (0 or '' would pass for None)."""
    for name, value in configs.items():
        argcheck.instance(name, value, LinkConfig, "a LinkConfig")


def _trace_link_drops(link: Link, trace: Tracer | None) -> None:
    if trace is None:
        return

    def hook(time: float, where: str, reason: str, frame: bytes) -> None:
        trace.record(DropRecord(time, where, "link", reason, f"{len(frame)} bytes"))

    link.drop_hooks.append(hook)
    asks_for = getattr(trace, "asks_for", None)
    if callable(asks_for) and asks_for("queue"):
        record_queues(link, trace)


def _add_link(net: Network, config: LinkConfig, reverse: LinkConfig | None = None, *,
              name: str, trace: Tracer | None) -> Link:
    """A link of `net` (appended to ``net.links``), its drops (and queues) traced."""
    link = Link(net.world, config, reverse, name=name)
    _trace_link_drops(link, trace)
    net.links.append(link)
    return link


def record_queues(link: Link, trace: Tracer) -> None:
    """Record a `QueueRecord` (sojourn time, queue length) into ``trace`` for every frame
    leaving either queue of ``link``. Topologies do this for a recorder whose ``kinds`` name
    "queue"; otherwise a link computes nothing of the kind."""

    def hook(time: float, where: str, sojourn: float, qlen: int, marked: bool) -> None:
        trace.record(QueueRecord(time, where, sojourn, qlen, marked))

    link.queue_hooks.append(hook)


def two_hosts(world: World, config: LinkConfig | None = None,
              reverse: LinkConfig | None = None, *, trace: Tracer | None = None,
              tcp: TcpConfig | None = None, prefix: str = "10.0.0") -> Network:
    """h1 (PREFIX.1) and h2 (PREFIX.2) on one link."""
    argcheck.instance("world", world, World, "a World; use World(seed)")
    octets = prefix.split(".") if isinstance(prefix, str) else []
    if len(octets) != 3 or not all(o.isdigit() and int(o) < 256 for o in octets):
        raise UsageError(f"prefix: {prefix!r:.60} is not the first three octets of an IPv4 "
                         "address; use e.g. '10.0.0'")
    check_links(config=config, reverse=reverse)
    cfg = config or LinkConfig()
    link = Link(world, cfg, reverse, name="link")
    _trace_link_drops(link, trace)
    h1 = make_node(world, "h1", trace=trace, tcp=tcp)
    h2 = make_node(world, "h2", trace=trace, tcp=tcp)
    add_port(world, h1, "eth0", f"{prefix}.1/24", link.a, mtu=cfg.mtu)
    add_port(world, h2, "eth0", f"{prefix}.2/24", link.b, mtu=(reverse or cfg).mtu)
    return Network(world, [h1, h2], [], [link])


def chain(world: World, routers: int = 1, config: LinkConfig | None = None, *,
          bottleneck: LinkConfig | None = None, trace: Tracer | None = None,
          tcp: TcpConfig | None = None) -> Network:
    """h1 — r1 — r2 — … — rN — h2. Network i is 10.0.i.0/24: hosts are .1 (left) and .2
    (right) on it, so h1 is 10.0.0.1, router k has 10.0.(k-1).2 and 10.0.k.1, h2 is
    10.0.N.2. Every link uses `config`; the middle one uses `bottleneck` if given."""
    routers = argcheck.whole("routers", routers, 0, 255, "a number of routers")
    check_links(config=config, bottleneck=bottleneck)
    cfg = config or LinkConfig()
    net = Network(world)
    h1 = make_node(world, "h1", trace=trace, tcp=tcp)
    h2 = make_node(world, "h2", trace=trace, tcp=tcp)
    rs = [make_node(world, f"r{k + 1}", forwarding=True, trace=trace) for k in range(routers)]
    nodes = [h1, *rs, h2]
    for i in range(len(nodes) - 1):
        link_cfg = bottleneck if bottleneck is not None and i == (len(nodes) - 1) // 2 else cfg
        link = _add_link(net, link_cfg, name=f"link{i}", trace=trace)
        left, right = nodes[i], nodes[i + 1]
        add_port(world, left, f"eth{1 if left in rs else 0}", f"10.0.{i}.1/24", link.a,
                 mtu=link_cfg.mtu)
        add_port(world, right, "eth0", f"10.0.{i}.2/24", link.b, mtu=link_cfg.mtu)
    h1.stack.set_default_route("10.0.0.2")
    h2.stack.set_default_route(f"10.0.{routers}.1")
    for k, r in enumerate(rs):
        # Router k+1 sits between networks k and k+1.
        if k > 0:
            r.stack.add_route("10.0.0.0/16", via=f"10.0.{k}.1")  # leftwards, by default
        if k + 1 < routers:
            for j in range(k + 2, routers + 1):
                r.stack.add_route(f"10.0.{j}.0/24", via=f"10.0.{k + 1}.2")
    net.hosts = [h1, h2]
    net.routers = rs
    return net


def dumbbell(world: World, pairs: int = 2, access: LinkConfig | None = None,
             bottleneck: LinkConfig | None = None, *, trace: Tracer | None = None,
             tcp: TcpConfig | None = None) -> Network:
    """`pairs` senders s1..sN on the left, receivers d1..dN on the right, two routers
    joined by a shared bottleneck. Senders are 10.1.i.1, receivers 10.2.i.1."""
    pairs = argcheck.whole("pairs", pairs, 1, 255, "a number of pairs")
    check_links(access=access, bottleneck=bottleneck)
    acc = access or LinkConfig()
    bn = bottleneck or LinkConfig(rate_bps=10e6, delay=0.01)
    net = Network(world)
    left = make_node(world, "rL", forwarding=True, trace=trace)
    right = make_node(world, "rR", forwarding=True, trace=trace)
    mid = _add_link(net, bn, name="bottleneck", trace=trace)
    add_port(world, left, "core", "10.255.0.1/30", mid.a, mtu=bn.mtu)
    add_port(world, right, "core", "10.255.0.2/30", mid.b, mtu=bn.mtu)
    left.stack.add_route("10.2.0.0/16", via="10.255.0.2")
    right.stack.add_route("10.1.0.0/16", via="10.255.0.1")
    senders: list[Node] = []
    receivers: list[Node] = []
    for i in range(1, pairs + 1):
        for side, router, lst, net_prefix in ((f"s{i}", left, senders, "10.1"),
                                              (f"d{i}", right, receivers, "10.2")):
            host = make_node(world, side, trace=trace, tcp=tcp)
            link = _add_link(net, acc, name=f"access-{side}", trace=trace)
            add_port(world, host, "eth0", f"{net_prefix}.{i}.1/24", link.a, mtu=acc.mtu)
            add_port(world, router, f"to-{side}", f"{net_prefix}.{i}.254/24", link.b,
                     mtu=acc.mtu)
            host.stack.set_default_route(f"{net_prefix}.{i}.254")
            lst.append(host)
    net.hosts = senders + receivers
    net.routers = [left, right]
    return net


def _resolved(a: Node, a_if: str, b: Node, b_if: str) -> None:
    """Each end of a link knows the other's MAC (an ARP entry learned at time 0)."""
    ia, ib = a.stack.interfaces[a_if], b.stack.interfaces[b_if]
    ia.arp.update(ib.ip, ib.mac, 0.0)
    ib.arp.update(ia.ip, ia.mac, 0.0)


#: The most senders `fan_in` numbers (10.1.i.0/24, i = 1..250)
FAN_IN_MAX = 250


def fan_in(world: World, access_delays: list[float], bottleneck: LinkConfig | None = None,
           reverse: LinkConfig | None = None, *, trace: Tracer | None = None,
           tcp: TcpConfig | None = None) -> Network:
    """Senders s1..sN, each on an access link of its own (one-way delay ``access_delays[i]``,
    no rate limit: it never queues), into router r1, which reaches receiver h2 over one shared
    ``bottleneck`` (``reverse``: its h2 -> r1 direction). Flow i's base round trip is
    2 * (access_delays[i] + bottleneck.delay), and its packets queue only at r1's bottleneck
    port (link.a of ``links[0]``), where ``bottleneck.qdisc`` acts.

    Sender i is 10.1.i.1 (r1 is 10.1.i.254 on its network); r1 is 10.0.0.1 and h2 10.0.0.2.
    ``hosts`` is [s1, ..., sN, h2]; ``links`` is [bottleneck, access 1, ..., access N]. The
    ARP caches at both ends of every link start filled in (for the usual 60 s), so that each
    flow's handshake takes its base round trip, not an ARP exchange on each hop as well."""
    if isinstance(access_delays, str | bytes) or not hasattr(access_delays, "__len__"):
        raise UsageError(f"access_delays: {access_delays!r:.60} is not a list of one-way "
                         "delays in seconds, one per sender; use e.g. [0.01, 0.05]")
    if not 1 <= len(access_delays) <= FAN_IN_MAX:
        raise UsageError(f"access_delays: {len(access_delays)} senders is not in "
                         f"1..{FAN_IN_MAX}")
    check_links(bottleneck=bottleneck, reverse=reverse)
    bn = bottleneck or LinkConfig(rate_bps=10e6, delay=0.01)
    net = Network(world)
    router = make_node(world, "r1", forwarding=True, trace=trace)
    dst = make_node(world, "h2", trace=trace, tcp=tcp)
    mid = _add_link(net, bn, reverse, name="bottleneck", trace=trace)
    add_port(world, router, "core", "10.0.0.1/24", mid.a, mtu=bn.mtu)
    add_port(world, dst, "eth0", "10.0.0.2/24", mid.b, mtu=(reverse or bn).mtu)
    dst.stack.set_default_route("10.0.0.1")
    _resolved(router, "core", dst, "eth0")
    mtu = min(bn.mtu, (reverse or bn).mtu)
    senders: list[Node] = []
    for i, delay in enumerate(access_delays, start=1):
        host = make_node(world, f"s{i}", trace=trace, tcp=tcp)
        link = _add_link(net, LinkConfig(delay=delay, mtu=mtu), name=f"access-s{i}",
                         trace=trace)
        add_port(world, host, "eth0", f"10.1.{i}.1/24", link.a, mtu=mtu)
        add_port(world, router, f"to-s{i}", f"10.1.{i}.254/24", link.b, mtu=mtu)
        host.stack.set_default_route(f"10.1.{i}.254")
        _resolved(host, "eth0", router, f"to-s{i}")
        senders.append(host)
    net.hosts = [*senders, dst]
    net.routers = [router]
    return net


@contextmanager
def capture(endpoint: Endpoint, path: str | Path, nanosecond: bool = True) -> Iterator[None]:
    """Write every frame sent or received at `endpoint` to a pcap, in simulated time."""
    from netsim.wire.pcap import PcapWriter

    argcheck.instance("endpoint", endpoint, Endpoint, "a link's endpoint, e.g. net.links[0].a")
    argcheck.path("path", path)
    writer = PcapWriter(path, nanosecond=nanosecond)
    active = [True]

    def tap(time: float, direction: str, frame: bytes) -> None:
        if active[0]:
            writer.write(time, frame)

    endpoint.add_tap(tap)
    try:
        yield
    finally:
        active[0] = False
        writer.close()
