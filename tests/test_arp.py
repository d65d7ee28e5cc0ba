"""ARP (RFC 826) in the stack: resolution, cache expiry, retries, the pending queue, answering
requests, gratuitous ARP — driven sans-I/O with a fake clock, and end to end with ping."""

from __future__ import annotations

from ipaddress import IPv4Address

import pytest

from netsim.apps.ping import ping
from netsim.sim.link import LinkConfig
from netsim.sim.topology import chain, two_hosts
from netsim.sim.world import World
from netsim.stack.arp import ArpTable, Enqueue
from netsim.stack.host import Stack
from netsim.wire import icmp as icmpw
from netsim.wire.arp import OP_REPLY, OP_REQUEST, ArpPacket, parse_arp
from netsim.wire.ethernet import ETHERTYPE_ARP, ETHERTYPE_IPV4, build_ethernet, parse_ethernet
from netsim.wire.ipv4 import parse_ipv4
from netsim.wire.mac import BROADCAST, MacAddress

ME = IPv4Address("10.0.0.1")
PEER = IPv4Address("10.0.0.2")
MY_MAC = MacAddress.local(1)
PEER_MAC = MacAddress.local(2)


class Harness:
    """One stack on one interface; every frame it sends is kept in `sent`."""

    def __init__(self, arp: ArpTable | None = None) -> None:
        self.stack = Stack("h")
        self.iface = self.stack.add_interface("eth0", MY_MAC, "10.0.0.1/24", arp=arp)
        self.sent: list[bytes] = []
        self.stack.transmit = lambda iface, frame: self.sent.append(frame)
        self.errors: list[tuple[int, int, IPv4Address, float]] = []
        self.got: list[bytes] = []
        self.sock = self.stack.udp.bind(
            5000, lambda data, ip, port, now: self.got.append(data),
            lambda t, c, ip, now: self.errors.append((t, c, ip, now)))

    def send_udp(self, payload: bytes, now: float, dst: IPv4Address = PEER) -> None:
        self.sock.sendto(payload, (dst, 9), now)

    def advance(self, now: float) -> None:
        """Run timers up to `now`, in deadline order, as a driver would."""
        while True:
            due = self.stack.next_deadline()
            if due is None or due > now:
                break
            self.stack.poll(due)
        self.stack.poll(now)

    def take(self) -> list[bytes]:
        out, self.sent = self.sent, []
        return out

    def arp_frames(self) -> list[ArpPacket]:
        return [parse_arp(f[14:]) for f in self.take() if f[12:14] == b"\x08\x06"]

    def feed_arp(self, pkt: ArpPacket, now: float, dst: bytes = BROADCAST) -> None:
        self.stack.receive("eth0", build_ethernet(dst, pkt.sender_mac, ETHERTYPE_ARP,
                                                  pkt.build()), now)


def test_first_datagram_sends_who_has_and_goes_out_once_the_reply_arrives() -> None:
    h = Harness()
    h.send_udp(b"hello", 0.0)
    frames = h.take()
    assert len(frames) == 1
    eth = parse_ethernet(frames[0])
    assert eth.dst == BROADCAST and eth.ethertype == ETHERTYPE_ARP
    req = parse_arp(eth.payload)
    assert (req.op, req.sender_ip, req.sender_mac, req.target_ip) == (OP_REQUEST, ME, MY_MAC, PEER)
    h.feed_arp(ArpPacket.reply(PEER_MAC, PEER, MY_MAC, ME), 0.002, dst=MY_MAC)
    frames = h.take()
    assert len(frames) == 1
    eth = parse_ethernet(frames[0])
    assert eth.dst == PEER_MAC and eth.ethertype == ETHERTYPE_IPV4
    assert parse_ipv4(eth.payload).dst == PEER
    assert h.iface.arp.entries(0.002) == {PEER: PEER_MAC}
    h.send_udp(b"again", 0.003)  # resolved: straight out, no new request
    assert [parse_ethernet(f).dst for f in h.take()] == [PEER_MAC]


@pytest.mark.parametrize("timeout", [60.0, 5.0])
def test_cache_entries_expire_after_the_timeout_in_simulated_time(timeout: float) -> None:
    h = Harness(ArpTable() if timeout == 60.0 else ArpTable(timeout=timeout))
    h.send_udp(b"x", 0.0)
    h.take()
    h.feed_arp(ArpPacket.reply(PEER_MAC, PEER, MY_MAC, ME), 1.0, dst=MY_MAC)
    h.take()
    h.advance(1.0 + timeout - 0.001)
    h.send_udp(b"x", 1.0 + timeout - 0.001)
    assert h.arp_frames() == []  # still cached just before the timeout
    h.advance(1.0 + timeout)
    assert h.iface.arp.entries(1.0 + timeout) == {}
    h.send_udp(b"x", 1.0 + timeout)
    assert [p.target_ip for p in h.arp_frames()] == [PEER]  # resolved anew


def test_three_requests_one_second_apart_then_the_sender_hears_host_unreachable() -> None:
    h = Harness()
    h.send_udp(b"lost", 0.0)
    times = [0.0] if h.arp_frames() else []
    for t in (0.5, 0.999, 1.0, 1.5, 2.0, 2.5, 2.999):
        h.advance(t)
        if h.arp_frames():
            times.append(t)
    assert times == [0.0, 1.0, 2.0]
    assert h.errors == []
    h.advance(3.0)
    assert h.arp_frames() == []  # no fourth request
    # RFC 1122 §2.3.2.2: the waiting datagram is dropped and the sender told
    assert [(t, c, ip) for t, c, ip, _ in h.errors] == [
        (icmpw.DEST_UNREACHABLE, icmpw.UNREACH_HOST, ME)]
    assert h.stack.counters.drops()["arp.unresolved"] == 1
    assert h.stack.next_deadline() is None  # nothing left to retry


def test_retries_are_configurable() -> None:
    h = Harness(ArpTable(retries=5, retry_interval=0.25))
    h.send_udp(b"lost", 0.0)
    count = len(h.arp_frames())
    h.advance(10.0)
    count += len(h.arp_frames())
    assert count == 5
    assert len(h.errors) == 1 and h.errors[0][3] == pytest.approx(5 * 0.25)


def test_ping_to_a_silent_neighbour_prints_destination_host_unreachable() -> None:
    world = World(1)
    net = two_hosts(world, LinkConfig(delay=0.001, rate_bps=10e6))
    h1 = net.hosts[0]
    lines: list[str] = []
    proc = world.env.process(ping(h1, "10.0.0.99", count=2, interval=1.0, out=lines.append))
    world.env.run(until=proc)
    stats = proc.value
    assert stats.received == 0 and stats.errors == 2
    assert "From 10.0.0.1 icmp_seq=1 Destination Host Unreachable" in lines
    assert "From 10.0.0.1 icmp_seq=2 Destination Host Unreachable" in lines
    assert any(", +2 errors, 100% packet loss" in line for line in lines)


def test_a_router_that_cannot_resolve_the_next_hop_tells_the_source() -> None:
    world = World(1)
    net = chain(world, 1, LinkConfig(delay=0.001))
    lines: list[str] = []
    proc = world.env.process(ping(net.hosts[0], "10.0.1.99", count=1, out=lines.append))
    world.env.run(until=proc)
    assert "From 10.0.0.2 icmp_seq=1 Destination Host Unreachable" in lines
    assert net.routers[0].stack.counters.drops()["arp.unresolved"] == 1


def test_pending_queue_is_bounded_keeps_the_latest_and_counts_the_overflow() -> None:
    h = Harness(ArpTable(max_pending=4))
    for i in range(10):
        h.send_udp(bytes([i]), 0.0)
    assert len(h.arp_frames()) == 1  # one request however many packets wait
    assert h.stack.counters.drops()["arp.pending_overflow"] == 6
    h.feed_arp(ArpPacket.reply(PEER_MAC, PEER, MY_MAC, ME), 0.1, dst=MY_MAC)
    out = h.take()
    # RFC 1122 §2.3.2.2 asks to save "at least one (the latest) packet": the oldest six were
    # dropped, the latest four go out, in the order they were sent
    assert [parse_ipv4(f[14:]).payload[8:] for f in out] == [bytes([i]) for i in range(6, 10)]


def test_a_one_packet_queue_holds_the_latest_packet() -> None:
    arp = ArpTable(max_pending=1)
    ip = IPv4Address("10.0.0.2")
    assert arp.enqueue(ip, b"first", 0.0) is Enqueue.SEND_REQUEST
    assert arp.enqueue(ip, b"second", 0.1) is Enqueue.DROPPED  # "first" made room
    assert arp.enqueue(ip, b"third", 0.2) is Enqueue.DROPPED
    assert arp.update(ip, MacAddress("02:00:00:00:00:02"), 0.3) == [b"third"]


def test_answers_a_request_for_its_own_address_and_learns_the_asker() -> None:
    h = Harness()
    h.feed_arp(ArpPacket.request(PEER_MAC, PEER, ME), 0.0)
    frames = h.take()
    assert len(frames) == 1
    eth = parse_ethernet(frames[0])
    assert eth.dst == PEER_MAC  # a reply goes straight back, not broadcast
    rep = parse_arp(eth.payload)
    assert rep == ArpPacket(OP_REPLY, MY_MAC, ME, PEER_MAC, PEER)
    assert h.iface.arp.entries(0.0) == {PEER: PEER_MAC}
    h.send_udp(b"x", 0.1)  # no resolution needed now
    assert [parse_ethernet(f).ethertype for f in h.take()] == [ETHERTYPE_IPV4]
    assert h.stack.counters["arp"]["rx_request"] == 1


def test_a_request_for_another_address_is_neither_answered_nor_learned() -> None:
    h = Harness()
    h.feed_arp(ArpPacket.request(PEER_MAC, PEER, IPv4Address("10.0.0.3")), 0.0)
    assert h.take() == []
    assert h.iface.arp.entries(0.0) == {}  # RFC 826: only merge what is already known


def test_gratuitous_arp_refreshes_an_entry_already_known() -> None:
    h = Harness()
    h.feed_arp(ArpPacket.request(PEER_MAC, PEER, ME), 0.0)
    h.take()
    new_mac = MacAddress.local(77)
    h.feed_arp(ArpPacket.request(new_mac, PEER, PEER), 1.0)  # gratuitous: "PEER is-at new"
    assert h.take() == []
    assert h.iface.arp.entries(1.0) == {PEER: new_mac}


def test_interface_coming_up_sends_a_gratuitous_arp() -> None:
    world = World(1)
    net = two_hosts(world, LinkConfig(delay=0.001))
    seen: list[tuple[float, ArpPacket]] = []
    net.links[0].a.add_tap(lambda t, d, f: seen.append((t, parse_arp(f[14:])))
                           if d == "tx" and f[12:14] == b"\x08\x06" else None)
    world.run(0.5)
    assert len(seen) == 1
    t, pkt = seen[0]
    assert t == 0.0 and pkt.op == OP_REQUEST and pkt.is_gratuitous
    assert pkt.sender_ip == net.hosts[0].ip
    assert net.hosts[0].stack.counters["arp"]["tx_gratuitous"] == 1


def test_bring_up_on_a_stack_announces_the_address() -> None:
    h = Harness()
    h.stack.bring_up("eth0", 0.0)
    (pkt,) = h.arp_frames()
    assert pkt.sender_ip == pkt.target_ip == ME and pkt.sender_mac == MY_MAC


def test_a_truncated_arp_packet_is_dropped_and_counted() -> None:
    h = Harness()
    h.stack.receive("eth0", build_ethernet(BROADCAST, PEER_MAC, ETHERTYPE_ARP, b"\x00\x01"), 0.0)
    assert h.take() == []
    assert h.stack.counters.drops() == {"arp.malformed": 1}


def test_someone_else_claiming_our_address_is_counted_as_a_conflict() -> None:
    h = Harness()
    h.feed_arp(ArpPacket.request(PEER_MAC, ME, ME), 0.0)
    assert h.take() == []
    assert h.stack.counters.drops() == {"arp.address_conflict": 1}


def test_an_arp_flood_from_many_senders_cannot_grow_the_cache_past_its_bound() -> None:
    h = Harness(ArpTable(max_entries=100))
    for i in range(1000):
        sender = IPv4Address(f"10.{i // 250}.{i % 250}.7")
        h.feed_arp(ArpPacket.request(MacAddress.local(1000 + i), sender, ME), i * 0.001)
    assert len(h.arp_frames()) == 1000  # every request answered
    entries = h.iface.arp.entries(1.0)
    assert len(entries) == 100 and h.iface.arp.evicted == 900  # type: ignore[attr-defined]
    assert IPv4Address("10.3.249.7") in entries  # the newest stay, the oldest went


def test_resolutions_under_way_are_bounded() -> None:
    h = Harness(ArpTable(max_unresolved=8))
    for i in range(20):
        h.send_udp(b"x", 0.0, dst=IPv4Address(f"10.0.0.{10 + i}"))
    assert len(h.arp_frames()) == 8
    assert h.stack.counters.drops()["arp.pending_overflow"] == 12
