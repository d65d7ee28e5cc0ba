"""UDP (RFC 768) through the stack: bind, send, receive; port unreachable for closed ports; ICMP
errors delivered to the socket that sent the datagram; checksums; counters."""

from __future__ import annotations

from collections.abc import Generator
from ipaddress import IPv4Address
from typing import Any

import pytest

from netsim.errors import NetsimError, UsageError
from netsim.sim.link import LinkConfig
from netsim.sim.topology import chain
from netsim.sim.world import World
from netsim.stack.host import Stack
from netsim.stack.udp import EPHEMERAL
from netsim.wire import icmp as icmpw
from netsim.wire.arp import ArpPacket
from netsim.wire.ethernet import ETHERTYPE_ARP, ETHERTYPE_IPV4, build_ethernet
from netsim.wire.ipv4 import PROTO_UDP, build_ipv4
from netsim.wire.mac import BROADCAST, MacAddress
from netsim.wire.udp import build_udp

A = IPv4Address


def _net(routers: int = 2) -> tuple[World, Any]:
    world = World(5)
    return world, chain(world, routers, LinkConfig(delay=0.002, rate_bps=10e6))


def test_datagrams_go_both_ways_between_bound_sockets() -> None:
    world, net = _net()
    h1, h2 = net.hosts
    server = h2.udp(5353)
    client = h1.udp()
    log: list[tuple[str, bytes, tuple[IPv4Address, int]]] = []

    def serve() -> Generator[Any, Any, None]:
        while True:
            data, addr = yield server.recvfrom()
            log.append(("server", data, addr))
            server.sendto(data.upper(), addr)

    def ask() -> Generator[Any, Any, None]:
        for word in (b"one", b"two", b"three"):
            client.sendto(word, ("10.0.2.2", 5353))
            data, addr = yield client.recvfrom()
            log.append(("client", data, addr))

    world.env.process(serve())
    done = world.env.process(ask())
    world.env.run(until=done)
    assert [(who, data) for who, data, _ in log] == [
        ("server", b"one"), ("client", b"ONE"), ("server", b"two"), ("client", b"TWO"),
        ("server", b"three"), ("client", b"THREE")]
    assert {addr for who, _, addr in log if who == "server"} == {(A("10.0.0.1"), client.port)}
    assert {addr for who, _, addr in log if who == "client"} == {(A("10.0.2.2"), 5353)}
    assert client.port in EPHEMERAL
    assert h1.stack.counters["udp"]["tx"] == 3 and h1.stack.counters["udp"]["rx"] == 3
    assert h2.stack.counters["udp"]["rx"] == 3


def test_a_closed_port_gives_the_sender_port_unreachable() -> None:
    world, net = _net()
    h1, h2 = net.hosts
    sock = h1.udp()
    other = h1.udp()
    sock.sendto(b"anyone?", ("10.0.2.2", 9999))
    world.run(1.0)
    assert [(t, c, ip) for t, c, ip, _ in sock.errors] == [
        (icmpw.DEST_UNREACHABLE, icmpw.UNREACH_PORT, A("10.0.2.2"))]
    assert not other.errors  # only the socket that sent it hears about it
    assert h2.stack.counters.drops() == {"udp.port_unreachable": 1}


def test_time_exceeded_on_the_way_reaches_the_sending_socket() -> None:
    world, net = _net()
    sock = net.hosts[0].udp()
    sock.sendto(b"short-lived", ("10.0.2.2", 9999), ttl=2)
    world.run(1.0)
    assert [(t, c, ip) for t, c, ip, _ in sock.errors] == [
        (icmpw.TIME_EXCEEDED, icmpw.TTL_EXCEEDED, A("10.0.1.2"))]  # r2 (ttl ran out there)


def test_binding_rules() -> None:
    stack = Stack("h")
    stack.add_interface("eth0", MacAddress.local(1), "10.0.0.1/24")
    ep = stack.udp.bind(7000)
    with pytest.raises(NetsimError, match="already bound"):
        stack.udp.bind(7000)
    ep.close()
    stack.udp.bind(7000)  # free again after close
    with pytest.raises(UsageError, match="port"):
        stack.udp.bind(70000)
    ports = {stack.udp.bind().port for _ in range(100)}
    assert len(ports) == 100 and ports <= set(EPHEMERAL)


ME, PEER = A("10.0.0.2"), A("10.0.0.1")
MY_MAC, PEER_MAC = MacAddress.local(2), MacAddress.local(1)


def _receiver() -> tuple[Stack, list[bytes], list[bytes]]:
    stack = Stack("h")
    stack.add_interface("eth0", MY_MAC, "10.0.0.2/24")
    sent: list[bytes] = []
    stack.transmit = lambda iface, frame: sent.append(frame)
    req = ArpPacket.request(PEER_MAC, PEER, ME)
    stack.receive("eth0", build_ethernet(BROADCAST, PEER_MAC, ETHERTYPE_ARP, req.build()), 0.0)
    sent.clear()
    got: list[bytes] = []
    stack.udp.bind(9, lambda data, ip, port, now: got.append(data))
    return stack, got, sent


def _feed(stack: Stack, udp: bytes) -> None:
    raw = build_ipv4(PEER, ME, PROTO_UDP, udp)
    stack.receive("eth0", build_ethernet(MY_MAC, PEER_MAC, ETHERTYPE_IPV4, raw), 1.0)


def test_a_damaged_datagram_never_reaches_the_socket() -> None:
    stack, got, sent = _receiver()
    good = build_udp(PEER, ME, 4000, 9, b"payload!")
    damaged = []
    for bit in range(len(good) * 8):  # every single-bit flip in header and data
        raw = bytearray(good)
        raw[bit >> 3] ^= 0x80 >> (bit & 7)
        damaged.append(bytes(raw))
    for d in damaged:
        _feed(stack, d)
    assert got == []  # none got through
    assert sent == []  # and none was answered (a flip in the port is still a checksum error)
    assert stack.counters.drops() == {"udp.checksum": len(damaged)}
    _feed(stack, good)
    assert got == [b"payload!"]


def test_a_zero_checksum_means_none_was_computed() -> None:
    stack, got, _ = _receiver()
    udp = bytearray(build_udp(PEER, ME, 4000, 9, b"no checksum"))
    udp[6:8] = b"\x00\x00"  # RFC 768: transmitted zero = no checksum
    _feed(stack, bytes(udp))
    assert got == [b"no checksum"]


def test_a_truncated_datagram_is_malformed() -> None:
    stack, got, _ = _receiver()
    _feed(stack, b"\x0f\xa0\x00")
    assert got == [] and stack.counters.drops() == {"udp.malformed": 1}
