"""The forwarding decision as a seam (netsim/stack/forwarding.py, assignment 09): netsim's
`Router` installed through `Stack.set_forwarder` gives the same frames as the built-in path,
and a forwarder's decisions are carried out (or refused) as documented."""

from __future__ import annotations

from collections.abc import Generator
from ipaddress import IPv4Address
from typing import Any

import pytest

from netsim.apps.bulk import BulkSendResult, SinkResult, bulk_sender, bulk_sink
from netsim.apps.ping import ping
from netsim.apps.traceroute import traceroute
from netsim.errors import UsageError
from netsim.sim.link import LinkConfig
from netsim.sim.loss import Bernoulli
from netsim.sim.topology import chain, two_hosts
from netsim.sim.world import World
from netsim.stack.forwarding import DROP, FORWARD, Decision, Router
from netsim.wire.ipv4 import PROTO_UDP, build_ipv4, decrement_ttl, parse_ipv4
from netsim.wire.lazyframe import as_bytes

A = IPv4Address


def _run(install: bool) -> tuple[list[tuple[float, str, bytes]], list[str]]:
    """Traceroute, ping and a lossy TCP transfer across three routers; every frame seen at
    both hosts, and the traceroute and ping lines."""
    world = World(4)
    net = chain(world, 3, LinkConfig(delay=0.002, rate_bps=5e6, loss=Bernoulli(0.02)))
    if install:
        for r in net.routers:
            r.stack.set_forwarder(Router())
    frames: list[tuple[float, str, bytes]] = []
    for link, end in ((net.links[0], "a"), (net.links[-1], "b")):
        ep = getattr(link, end)
        ep.add_tap(lambda t, d, f, n=end: frames.append((t, n + d, as_bytes(f))))
    lines: list[str] = []
    h1, h2 = net.hosts

    def probes() -> Generator[Any, Any, None]:
        yield from traceroute(h1, h2.ip, wait=1.0, out=lines.append)
        yield from ping(h1, h2.ip, count=3, interval=0.2, out=lines.append)

    world.env.process(probes())
    sres, kres = BulkSendResult(), SinkResult()
    world.env.process(bulk_sink(h2, 5001, into=kres))
    world.env.process(bulk_sender(h1, h2.ip, 5001, 200_000, into=sres))
    world.run(until=40.0)
    assert kres.sha256 == sres.sha256 and kres.bytes_received == 200_000
    return frames, lines


def test_router_installed_as_a_forwarder_sends_the_same_frames_at_the_same_times() -> None:
    built_in, lines = _run(False)
    installed, lines2 = _run(True)
    assert any("10.0.1.2" in line for line in lines)  # traceroute saw the second router
    assert lines == lines2
    assert installed == built_in


def test_only_a_router_takes_a_forwarder() -> None:
    net = two_hosts(World(1))
    with pytest.raises(UsageError, match="forwarder: h1 is not a router"):
        net.hosts[0].stack.set_forwarder(Router())


def test_the_forwarder_gets_every_route_before_and_after_it_is_installed() -> None:
    world = World(1)
    net = chain(world, 2)
    got: list[tuple[str, int, str, IPv4Address | None]] = []

    class Recorder(Router):
        def add_route(self, prefix: IPv4Address, length: int, interface: str,
                      next_hop: IPv4Address | None = None) -> None:
            got.append((str(prefix), length, interface, next_hop))
            super().add_route(prefix, length, interface, next_hop)

    r1 = net.routers[0].stack
    r1.set_forwarder(Recorder())
    r1.add_route("192.168.7.0/24", via="10.0.1.2")
    assert ("10.0.0.0", 24, "eth0", None) in got  # connected
    assert ("10.0.2.0", 24, "eth1", A("10.0.1.2")) in got  # static, given at install
    assert got[-1] == ("192.168.7.0", 24, "eth1", A("10.0.1.2"))


class _Fixed:
    """A forwarder that answers every datagram with one decision."""

    def __init__(self, decision: Decision) -> None:
        self.decision = decision

    def add_route(self, *args: Any) -> None:
        pass

    def lookup(self, dst: IPv4Address) -> None:
        return None

    def route(self, datagram: bytes, for_us: bool) -> Decision:
        return self.decision


@pytest.mark.parametrize("decision", [
    Decision(FORWARD, b"\x45", "eth1", A("10.0.1.2")),  # too short
    Decision(FORWARD, b"x" * 40, "nowhere", A("10.0.1.2")),  # no such interface
    Decision(FORWARD, b"x" * 40, "eth1", None),  # no next hop
    Decision(DROP, icmp=(300, 0), reason="x"),  # not an ICMP type
], ids=["short", "interface", "next_hop", "icmp"])
def test_a_bad_decision_is_a_counted_drop_not_a_crash(decision: Decision) -> None:
    world = World(1)
    net = chain(world, 1)
    r = net.routers[0].stack
    r.set_forwarder(_Fixed(decision))
    sent: list[bytes] = []
    r.transmit = lambda iface, frame: sent.append(as_bytes(frame))
    raw = build_ipv4(A("10.0.0.1"), A("10.0.1.2"), PROTO_UDP, b"\0" * 12, ttl=9)
    frame = bytes(r.interfaces["eth0"].mac) + b"\x02" * 6 + b"\x08\x00" + raw
    r.receive("eth0", frame, 0.0)
    drops = r.counters.drops()
    assert drops.get("ipv4.bad_decision", 0) + drops.get("icmp.bad_decision", 0) == 1
    assert sent == []



class _OwnAnswer:
    """A decision as a student may write it: the fields of a `Decision`, not a tuple."""

    def __init__(self, action: str, **fields: Any) -> None:
        self.action, self.datagram, self.interface = action, b"", ""
        self.next_hop, self.icmp, self.reason = None, None, ""
        self.__dict__.update(fields)


@pytest.mark.parametrize(("answer", "counted"), [
    (_OwnAnswer(DROP, reason="policy", icmp=(3, 13)), "ipv4.drop.policy"),
    (_OwnAnswer(FORWARD, interface="eth1", next_hop=A("10.0.1.2")), "ipv4.forwarded"),
], ids=["drop", "forward"])
def test_a_forwarder_answering_with_its_own_object_is_checked_field_by_field(
        answer: _OwnAnswer, counted: str) -> None:
    # (the compiled build once refused anything but a tuple with a TypeError)
    world = World(1)
    net = chain(world, 1)
    r = net.routers[0].stack
    r.set_forwarder(_Fixed(answer))  # type: ignore[arg-type]
    sent: list[bytes] = []
    r.transmit = lambda iface, frame: sent.append(as_bytes(frame))
    for iface, neighbour in (("eth0", "10.0.0.1"), ("eth1", "10.0.1.2")):
        r.interfaces[iface].arp.update(A(neighbour), b"\x02" * 6, 0.0, create=True)
    raw = build_ipv4(A("10.0.0.1"), A("10.0.1.2"), PROTO_UDP, b"\0" * 12, ttl=9)
    if answer.action == FORWARD:
        answer.datagram = decrement_ttl(raw, len(raw))
    frame = bytes(r.interfaces["eth0"].mac) + b"\x02" * 6 + b"\x08\x00" + raw
    r.receive("eth0", frame, 0.0)
    layer, _, key = counted.partition(".")
    assert r.counters[layer][key] == 1
    assert len(sent) == 1  # the ICMP error (communication administratively prohibited), or
    #                        the datagram, TTL one less
    assert sent[0][14 + 9] == (1 if answer.action == DROP else PROTO_UDP)


def test_router_decisions() -> None:
    r = Router()
    r.add_route(A("10.0.0.0"), 8, "a")
    r.add_route(A("10.1.2.99"), 24, "b", A("10.9.9.9"))  # host bits are ignored
    r.add_route(A("0.0.0.0"), 0, "d", A("192.0.2.1"))
    r.add_route(A("10.1.2.3"), 32, "h")
    assert r.lookup(A("10.1.2.3")) == ("h", None)
    assert r.lookup(A("10.1.2.4")) == ("b", A("10.9.9.9"))
    assert r.lookup(A("10.200.0.1")) == ("a", None)
    assert r.lookup(A("11.0.0.1")) == ("d", A("192.0.2.1"))
    raw = build_ipv4(A("172.16.0.1"), A("10.1.2.4"), PROTO_UDP, b"\0" * 12, ttl=2)
    d = r.route(raw + b"\0" * 6, False)  # link padding is cut
    assert (d.action, d.interface, d.next_hop) == (FORWARD, "b", A("10.9.9.9"))
    assert parse_ipv4(d.datagram).ttl == 1  # the checksum verifies
    assert d.datagram == decrement_ttl(raw, len(raw))
    once = parse_ipv4(d.datagram)
    assert r.route(d.datagram, False) == Decision(DROP, icmp=(11, 0), reason="ttl_exceeded")
    assert r.route(d.datagram, True).action == "deliver"
    assert once.dst == A("10.1.2.4")
    with pytest.raises(UsageError, match="length: 33"):
        r.add_route(A("10.0.0.0"), 33, "a")


def _fragmenting_run(install: bool) -> tuple[list[tuple[float, str, bytes]], list[str]]:
    """A 600-byte MTU in the middle: UDP datagrams fragmented at r1, a ping with DF set
    answered with fragmentation needed."""
    world = World(2)
    net = chain(world, 2, LinkConfig(delay=0.002, rate_bps=5e6),
                bottleneck=LinkConfig(delay=0.002, rate_bps=5e6, mtu=600))
    if install:
        for r in net.routers:
            r.stack.set_forwarder(Router())
    frames: list[tuple[float, str, bytes]] = []
    for link, end in ((net.links[0], "a"), (net.links[-1], "b")):
        getattr(link, end).add_tap(lambda t, d, f, n=end: frames.append((t, n + d,
                                                                           as_bytes(f))))
    lines: list[str] = []
    h1, h2 = net.hosts
    sock = h1.udp()

    def probes() -> Generator[Any, Any, None]:
        for size in (1400, 500, 1000):
            sock.sendto(bytes(size), (str(h2.ip), 9))
            yield world.env.timeout(0.1)
        yield from ping(h1, h2.ip, count=2, size=1000, df=True, interval=0.2,
                        out=lines.append)

    world.env.process(probes())
    world.run(until=5.0)
    return frames, lines


def test_router_installed_fragments_as_the_built_in_path() -> None:
    built_in, lines = _fragmenting_run(False)
    installed, lines2 = _fragmenting_run(True)
    assert sum(1 for _, where, f in built_in if where == "brx" and f[20] & 0x20) >= 2  # MF
    assert any("Frag needed" in line or "frag" in line.lower() for line in lines)
    assert (installed, lines2) == (built_in, lines)
