"""IPv4 fragmentation (RFC 791 §3.2) and reassembly: end to end across a small-MTU link, and the
reassembler's timeout, memory bound, duplicates and overlaps."""

from __future__ import annotations

import hashlib
from ipaddress import IPv4Address

from hypothesis import given, settings
from hypothesis import strategies as st

from netsim.apps.ping import ping
from netsim.sim.link import LinkConfig
from netsim.sim.topology import chain
from netsim.sim.world import World
from netsim.stack.fragments import Reassembler, fragment
from netsim.stack.host import Stack
from netsim.wire import icmp as icmpw
from netsim.wire.arp import ArpPacket
from netsim.wire.ethernet import ETHERTYPE_ARP, ETHERTYPE_IPV4, build_ethernet
from netsim.wire.ipv4 import PROTO_UDP, IPv4Packet, build_ipv4, parse_ipv4
from netsim.wire.mac import BROADCAST, MacAddress

A = IPv4Address
SRC, DST = A("10.0.0.1"), A("10.0.0.2")


def _datagram(size: int, ident: int = 7) -> IPv4Packet:
    payload = bytes((i * 7 + 3) & 0xFF for i in range(size))
    return parse_ipv4(build_ipv4(SRC, DST, PROTO_UDP, payload, identification=ident))


@settings(max_examples=200, deadline=None)
@given(size=st.integers(1, 9000), mtu=st.integers(68, 1500), seed=st.randoms())
def test_fragments_fit_the_mtu_and_reassemble_in_any_order(size: int, mtu: int,
                                                           seed: object) -> None:
    whole = _datagram(size)
    frags = fragment(whole, mtu)
    for f in frags[:-1]:
        assert f.mf and len(f.payload) % 8 == 0
    assert not frags[-1].mf
    assert all(len(f.build()) <= mtu for f in frags)
    assert frags[0].fragment_offset == 0
    order = list(frags)
    seed.shuffle(order)  # type: ignore[attr-defined]
    r = Reassembler()
    results = [r.add(parse_ipv4(f.build()), 0.0) for f in order]
    assert all(reason is None for _, reason in results)
    done = [pkt for pkt, _ in results if pkt is not None]
    assert len(done) == 1 and done[0].payload == whole.payload
    assert len(r) == 0  # nothing left behind


def test_a_large_udp_datagram_crosses_a_small_mtu_link_intact() -> None:
    world = World(3)
    net = chain(world, 2, LinkConfig(delay=0.001, rate_bps=10e6),
                bottleneck=LinkConfig(delay=0.001, rate_bps=1e6, mtu=576))
    h1, h2 = net.hosts
    payload = bytes((i * 31) & 0xFF for i in range(6000))
    rx = h2.udp(7000)
    tx = h1.udp()
    got: list[bytes] = []
    sizes: list[int] = []
    net.links[1].a.add_tap(lambda t, d, f: sizes.append(len(f)) if d == "tx" else None)

    def receiver():  # type: ignore[no-untyped-def]
        data, _addr = yield rx.recvfrom()
        got.append(data)

    def sender():  # type: ignore[no-untyped-def]
        yield world.env.timeout(0.1)
        tx.sendto(payload, ("10.0.2.2", 7000))

    world.env.process(receiver())
    world.env.process(sender())
    world.run(5)
    assert [hashlib.sha256(g).hexdigest() for g in got] == [hashlib.sha256(payload).hexdigest()]
    # h1 sent it whole-ish in 1500-byte pieces, r1 cut it again for the 576-byte link
    assert h1.stack.counters["ipv4"]["tx_fragments"] == 5  # ceil(6008 / 1480)
    assert net.routers[0].stack.counters["ipv4"]["tx_fragments"] > 5
    assert h2.stack.counters["ipv4"]["reassembled"] == 1
    assert 500 < max(sizes) <= 576 + 14  # full fragments, and none bigger


def test_a_big_ping_is_fragmented_and_its_reply_reassembled() -> None:
    world = World(1)
    net = chain(world, 1, LinkConfig(delay=0.001, rate_bps=10e6, mtu=576))
    lines: list[str] = []
    proc = world.env.process(ping(net.hosts[0], "10.0.1.2", count=2, size=3000,
                                  out=lines.append))
    world.env.run(until=proc)
    assert proc.value.received == 2
    assert any(line.startswith("3008 bytes from 10.0.1.2: icmp_seq=2 ttl=63") for line in lines)
    assert net.hosts[0].stack.counters["ipv4"]["reassembled"] == 2


MAC_ME, MAC_PEER = MacAddress.local(1), MacAddress.local(2)


class Receiver:
    """A host stack fed fragments by hand (its neighbour 10.0.0.1 already resolved)."""

    def __init__(self, reassembler: Reassembler | None = None) -> None:
        self.stack = Stack("h2")
        if reassembler is not None:
            self.stack.reassembler = reassembler
        self.stack.add_interface("eth0", MAC_ME, "10.0.0.2/24")
        self.sent: list[bytes] = []
        self.stack.transmit = lambda iface, frame: self.sent.append(frame)
        req = ArpPacket.request(MAC_PEER, SRC, DST)
        self.stack.receive("eth0", build_ethernet(BROADCAST, MAC_PEER, ETHERTYPE_ARP,
                                                  req.build()), 0.0)
        self.sent.clear()
        self.got: list[bytes] = []
        self.stack.udp.bind(9, lambda data, ip, port, now: self.got.append(data))

    def feed(self, pkt: IPv4Packet, now: float) -> None:
        self.stack.receive("eth0", build_ethernet(MAC_ME, MAC_PEER, ETHERTYPE_IPV4,
                                                  pkt.build()), now)

    def advance(self, now: float) -> None:
        while (due := self.stack.next_deadline()) is not None and due <= now:
            self.stack.poll(due)


def _udp_fragments(size: int, mtu: int, ident: int = 7) -> list[IPv4Packet]:
    from netsim.wire.udp import build_udp

    payload = bytes(i & 0xFF for i in range(size))
    raw = build_ipv4(SRC, DST, PROTO_UDP, build_udp(SRC, DST, 1234, 9, payload),
                     identification=ident)
    return fragment(parse_ipv4(raw), mtu)


def test_an_incomplete_datagram_times_out_with_time_exceeded_to_the_sender() -> None:
    h = Receiver()
    frags = _udp_fragments(2000, 576)
    for f in frags[:-1]:  # the last fragment never comes
        h.feed(f, 1.0)
    h.advance(30.999)
    assert h.sent == [] and len(h.stack.reassembler) == 1
    h.advance(31.0)  # RFC 1122 §3.3.2: give up after the reassembly timeout (30 s here)
    assert len(h.stack.reassembler) == 0 and h.got == []
    assert h.stack.counters.drops() == {"ipv4.reassembly_timeout": 1}
    (frame,) = h.sent
    err = parse_ipv4(frame[14:])
    msg = icmpw.parse_icmp(err.payload)
    assert err.dst == SRC
    assert (msg.type, msg.code) == (icmpw.TIME_EXCEEDED, icmpw.REASSEMBLY_EXCEEDED)
    assert msg.quoted_ipv4().identification == 7


def test_no_time_exceeded_when_the_first_fragment_never_arrived() -> None:
    h = Receiver()
    for f in _udp_fragments(2000, 576)[1:]:
        h.feed(f, 1.0)
    h.advance(40.0)
    assert h.sent == []  # RFC 792: only when fragment zero has been received
    assert h.stack.counters.drops() == {"ipv4.reassembly_timeout": 1}


def test_reassembly_memory_is_bounded_and_overflow_is_counted() -> None:
    h = Receiver(Reassembler(max_bytes=4096))
    for ident in range(10):  # ten datagrams each missing its last piece: 1104 bytes apiece
        for f in _udp_fragments(2000, 576, ident)[:-1]:
            h.feed(f, 1.0)
    r = h.stack.reassembler
    assert r._bytes <= 4096
    assert h.stack.counters.drops()["ipv4.reassembly_memory"] >= 1
    # a complete datagram that fits still gets through
    h.advance(40.0)
    for f in _udp_fragments(1000, 576, 99):
        h.feed(f, 41.0)
    assert h.got == [bytes(i & 0xFF for i in range(1000))]


def test_duplicate_and_out_of_order_fragments_reassemble_once() -> None:
    h = Receiver()
    frags = _udp_fragments(3000, 576)
    for f in [frags[2], frags[0], frags[2], *reversed(frags), frags[1]]:
        h.feed(f, 1.0)
    assert h.got == [bytes(i & 0xFF for i in range(3000))]


def test_overlapping_fragments_take_the_bytes_of_the_lower_one() -> None:
    r = Reassembler()
    whole = _datagram(48)
    a = whole._replace(payload=b"A" * 24, mf=True)
    b = whole._replace(payload=b"B" * 24, mf=False, fragment_offset=16)  # overlaps 16..24
    assert r.add(b, 0.0) == (None, None)
    done, reason = r.add(a, 0.0)
    assert reason is None and done is not None
    assert done.payload == b"A" * 24 + b"B" * 16
    assert done.total_length == 20 + 40


def test_a_middle_fragment_not_a_multiple_of_eight_is_dropped_and_counted() -> None:
    h = Receiver()
    frags = _udp_fragments(2000, 576)
    bad = frags[1]._replace(payload=frags[1].payload[:-3])
    h.feed(bad, 1.0)
    assert h.stack.counters.drops() == {"ipv4.fragment_not_multiple_of_8": 1}
    assert len(h.stack.reassembler) == 0  # no state kept for it


def test_a_lost_fragment_ends_in_reassembly_time_exceeded_for_ping() -> None:
    from netsim.sim.loss import Scripted

    # lose the non-first fragments (fragment offset != 0) of the first request only
    state = {"left": 2}

    def later_fragment(frame: bytes) -> bool:
        if frame[12:14] != b"\x08\x00" or not (frame[20] & 0x1F or frame[21]):
            return False
        state["left"] -= 1
        return state["left"] >= 0

    world = World(1)
    net = chain(world, 0, LinkConfig(delay=0.001, loss=Scripted(predicate=later_fragment)))
    lines: list[str] = []
    proc = world.env.process(ping(net.hosts[0], "10.0.0.2", count=2, interval=40.0, size=3000,
                                  out=lines.append))
    world.env.run(until=proc)
    assert "From 10.0.0.2 icmp_seq=1 Frag reassembly time exceeded" in lines
    assert any(line.startswith("3008 bytes from 10.0.0.2: icmp_seq=2 ") for line in lines)
    assert net.hosts[1].stack.counters.drops() == {"ipv4.reassembly_timeout": 1}
