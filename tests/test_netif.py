"""The link layer as a seam (netsim/stack/netif.py, assignment 08): netsim's `EthernetArp`
installed with `Stack.set_netif` on every interface sends the same frames at the same times
as the stack's own Ethernet and ARP, ARP expiry, retries and failures included."""

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
from netsim.sim.topology import chain
from netsim.sim.world import World
from netsim.stack.arp import ArpTable
from netsim.stack.netif import EthernetArp
from netsim.wire.arp import OP_REPLY, ArpPacket
from netsim.wire.ethernet import ETHERTYPE_ARP, build_ethernet
from netsim.wire.lazyframe import as_bytes
from netsim.wire.mac import BROADCAST, MacAddress


def _run(install: bool) -> tuple[list[tuple[float, str, bytes]], list[str],
                               list[dict[str, int]]]:
    world = World(6)
    net = chain(world, 2, LinkConfig(delay=0.002, rate_bps=5e6, loss=Bernoulli(0.02)))
    for node in net.hosts + net.routers:
        for iface in node.stack.interfaces.values():
            arp = ArpTable(timeout=0.3, retries=2, retry_interval=0.2)
            if install:
                node.stack.set_netif(iface.name, EthernetArp(iface.mac, iface.ip, arp))
            else:
                iface.arp = arp
    frames: list[tuple[float, str, bytes]] = []
    for link, end in ((net.links[0], "a"), (net.links[-1], "b")):
        getattr(link, end).add_tap(lambda t, d, f, n=end: frames.append((t, n + d,
                                                                           as_bytes(f))))
    lines: list[str] = []
    h1, h2 = net.hosts

    def probes() -> Generator[Any, Any, None]:
        yield from traceroute(h1, h2.ip, wait=1.0, out=lines.append)
        yield from ping(h1, h2.ip, count=3, interval=0.5, out=lines.append)
        yield from ping(h1, "10.0.0.77", count=2, interval=0.5, out=lines.append)  # nobody

    world.env.process(probes())
    sres, kres = BulkSendResult(), SinkResult()
    world.env.process(bulk_sink(h2, 5001, into=kres))
    world.env.process(bulk_sender(h1, h2.ip, 5001, 150_000, into=sres))
    world.run(until=40.0)
    assert kres.sha256 == sres.sha256 and kres.bytes_received == 150_000
    return frames, lines, [dict(node.stack.counters["arp"]) for node in net.hosts + net.routers]


def test_ethernet_arp_installed_sends_the_same_frames_at_the_same_times() -> None:
    built_in, lines, counted = _run(False)
    installed, lines2, counted2 = _run(True)
    assert any("Unreachable" in line for line in lines)  # ARP gave up on 10.0.0.77
    assert sum(1 for _, _, f in built_in if f[12:14] == b"\x08\x06") > 6  # entries expired
    assert lines2 == lines
    assert installed == built_in
    # the stack's ARP counters count what crosses the seam as its own ARP counts it
    assert all(c["tx_request"] and c["rx_reply"] for c in counted), counted
    assert counted[0]["retries"] and counted[0]["drop.unresolved"]
    assert counted2 == counted


def test_arp_counters_count_a_conflict_and_a_malformed_message_through_the_seam() -> None:
    net = chain(World(1), 1)
    h = net.hosts[0]
    iface = next(iter(h.stack.interfaces.values()))
    h.stack.set_netif(iface.name, EthernetArp(iface.mac, iface.ip))
    h.stack.transmit = lambda i, f: None
    other = MacAddress.local(77)
    claim = build_ethernet(BROADCAST, other, ETHERTYPE_ARP,
                           ArpPacket(OP_REPLY, other, iface.ip, iface.mac, iface.ip).build())
    h.stack.receive(iface, claim, 1.0)
    h.stack.receive(iface, build_ethernet(BROADCAST, other, ETHERTYPE_ARP, b"\x00" * 28), 1.0)
    arp = h.stack.counters["arp"]
    assert arp["drop.address_conflict"] == 1 and arp["drop.malformed"] == 1 and arp["rx"] == 1


def test_set_netif_names_a_missing_interface() -> None:
    net = chain(World(1), 1)
    with pytest.raises(UsageError, match="netif: no interface 'eth9'"):
        net.hosts[0].stack.set_netif("eth9", EthernetArp(MacAddress.local(1),
                                                         IPv4Address("10.0.0.1")))


def test_ethernet_arp_by_itself() -> None:
    me, peer = MacAddress.local(1), MacAddress.local(2)
    ip, peer_ip = IPv4Address("10.0.0.1"), IPv4Address("10.0.0.2")
    nic = EthernetArp(me, ip)
    (req,) = nic.send_datagram(b"d1", peer_ip, 0.0)
    assert req[:6] == BROADCAST and req[12:14] == b"\x08\x06"
    assert nic.send_datagram(b"d2", peer_ip, 0.1) == []  # one request per resolution
    reply = build_ethernet(me, peer, ETHERTYPE_ARP,
                           ArpPacket(OP_REPLY, peer, peer_ip, me, ip).build())
    got = nic.recv_frame(reply, 0.2)
    assert got.datagram is None
    assert [f[14:] for f in got.frames] == [b"d1", b"d2"]
    assert all(f[:6] == peer for f in got.frames)
    assert nic.recv_frame(build_ethernet(MacAddress.local(3), peer, 0x0800, b"x" * 20),
                          0.3).datagram is None  # not our MAC
    assert nic.recv_frame(build_ethernet(me, peer, 0x0800, b"y" * 20), 0.3).datagram == \
        b"y" * 20
