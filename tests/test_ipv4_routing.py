"""IPv4 routing and forwarding: longest-prefix match, default route, TTL handling on routers
(with the incremental checksum checked against a full recompute), time exceeded from the right
router, net unreachable, fragmentation needed with the next-hop MTU."""

from __future__ import annotations

from ipaddress import IPv4Address

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netsim.apps.ping import ping
from netsim.sim.link import LinkConfig
from netsim.sim.topology import chain
from netsim.sim.world import World
from netsim.stack.host import Stack
from netsim.stack.routing import RoutingTable
from netsim.wire import icmp as icmpw
from netsim.wire.arp import ArpPacket
from netsim.wire.ethernet import ETHERTYPE_ARP, ETHERTYPE_IPV4, build_ethernet
from netsim.wire.ipv4 import PROTO_ICMP, PROTO_UDP, build_ipv4, parse_ipv4
from netsim.wire.mac import BROADCAST, MacAddress

A = IPv4Address


def test_longest_prefix_wins_and_the_default_route_catches_the_rest() -> None:
    table = RoutingTable()
    table.add("0.0.0.0/0", "wan", "192.0.2.1")
    table.add("10.0.0.0/8", "core", "10.255.0.1")
    table.add("10.1.0.0/16", "site", "10.255.0.2")
    table.add("10.1.2.0/24", "lan")
    table.add("10.1.2.128/25", "dmz")
    assert table.lookup(A("10.1.2.200")).interface == "dmz"
    assert table.lookup(A("10.1.2.3")).interface == "lan"
    assert table.lookup(A("10.1.3.3")).interface == "site"
    assert table.lookup(A("10.9.9.9")).interface == "core"
    assert table.lookup(A("8.8.8.8")).interface == "wan"
    table.remove("10.1.2.128/25")
    assert table.lookup(A("10.1.2.200")).interface == "lan"  # the cache forgets too


def test_without_a_default_route_an_unknown_network_has_no_route() -> None:
    table = RoutingTable()
    table.add("10.0.0.0/24", "eth0")
    assert table.lookup(A("10.0.1.1")) is None
    # the insertion order does not matter: a /24 added after a /16 still wins
    table.add("10.0.0.0/16", "eth1")
    table.add("10.0.0.0/24", "eth2", metric=5)
    assert table.lookup(A("10.0.0.9")).interface == "eth0"
    assert table.lookup(A("10.0.9.9")).interface == "eth1"


def test_a_host_with_no_route_refuses_to_send_and_counts_it() -> None:
    stack = Stack("h")
    stack.add_interface("eth0", MacAddress.local(1), "10.0.0.1/24")
    stack.transmit = lambda iface, frame: pytest.fail("nothing should be sent")
    assert stack.send_ip(A("192.0.2.1"), PROTO_UDP, b"x" * 8, 0.0) is False
    assert stack.counters.drops() == {"ipv4.no_route": 1}


R_MAC0, R_MAC1 = MacAddress.local(10), MacAddress.local(11)
LEFT_MAC, RIGHT_MAC = MacAddress.local(1), MacAddress.local(2)


class Router:
    """A sans-I/O router: eth0 10.0.0.254/24, eth1 10.0.1.254/24, neighbours resolved."""

    def __init__(self) -> None:
        self.stack = Stack("r", forwarding=True)
        self.stack.add_interface("eth0", R_MAC0, "10.0.0.254/24")
        self.stack.add_interface("eth1", R_MAC1, "10.0.1.254/24")
        self.sent: list[tuple[str, bytes]] = []
        self.stack.transmit = lambda iface, frame: self.sent.append((iface.name, frame))
        for ifname, mac, ip, target in (("eth0", LEFT_MAC, "10.0.0.1", "10.0.0.254"),
                                        ("eth1", RIGHT_MAC, "10.0.1.2", "10.0.1.254")):
            req = ArpPacket.request(mac, A(ip), A(target))
            self.stack.receive(ifname, build_ethernet(BROADCAST, mac, ETHERTYPE_ARP,
                                                      req.build()), 0.0)
        self.sent.clear()

    def inject(self, raw_ip: bytes, ifname: str = "eth0", dst_mac: bytes = R_MAC0) -> None:
        src_mac = LEFT_MAC if ifname == "eth0" else RIGHT_MAC
        self.stack.receive(ifname, build_ethernet(dst_mac, src_mac, ETHERTYPE_IPV4, raw_ip), 1.0)

    def take(self) -> list[tuple[str, bytes]]:
        out, self.sent = self.sent, []
        return out


@settings(max_examples=300, deadline=None)
@given(ttl=st.integers(2, 255), ident=st.integers(0, 0xFFFF), dscp=st.integers(0, 63),
       ecn=st.integers(0, 3), df=st.booleans(), proto=st.integers(0, 255),
       options=st.binary(max_size=40).map(lambda b: b[: len(b) // 4 * 4]),
       payload=st.binary(max_size=64), src=st.integers(1, 2**32 - 2))
def test_forwarding_decrements_ttl_with_a_checksum_equal_to_a_full_recompute(
        ttl: int, ident: int, dscp: int, ecn: int, df: bool, proto: int, options: bytes,
        payload: bytes, src: int) -> None:
    router = Router()
    kw = dict(identification=ident, dscp=dscp, ecn=ecn, df=df, options=options)
    raw = build_ipv4(A(src), A("10.0.1.2"), proto, payload, ttl=ttl, **kw)  # type: ignore[arg-type]
    router.inject(raw)
    ((ifname, frame),) = router.take()
    assert ifname == "eth1" and frame[:6] == RIGHT_MAC and frame[6:12] == R_MAC1
    expected = build_ipv4(A(src), A("10.0.1.2"), proto, payload, ttl=ttl - 1, **kw)  # type: ignore[arg-type]
    assert frame[14:] == expected  # RFC 1624 incremental update == RFC 791 full recompute
    assert router.stack.counters["ipv4"]["forwarded"] == 1


def test_ttl_one_is_not_forwarded_and_the_router_answers_time_exceeded() -> None:
    router = Router()
    raw = build_ipv4(A("10.0.0.1"), A("10.0.1.2"), PROTO_UDP, bytes(12), ttl=1)
    router.inject(raw)
    ((ifname, frame),) = router.take()
    assert ifname == "eth0"  # back towards the source
    reply = parse_ipv4(frame[14:])
    assert (reply.src, reply.dst) == (A("10.0.0.254"), A("10.0.0.1"))
    msg = icmpw.parse_icmp(reply.payload)
    assert (msg.type, msg.code) == (icmpw.TIME_EXCEEDED, icmpw.TTL_EXCEEDED)
    assert msg.quoted_ipv4().dst == A("10.0.1.2")
    assert router.stack.counters.drops() == {"ipv4.ttl_exceeded": 1}


def test_a_router_does_not_forward_what_arrived_as_a_link_broadcast() -> None:
    router = Router()
    router.inject(build_ipv4(A("10.0.0.1"), A("10.0.1.2"), PROTO_UDP, bytes(12)),
                  dst_mac=BROADCAST)
    assert router.take() == []


def test_a_host_drops_datagrams_that_are_not_addressed_to_it() -> None:
    stack = Stack("h")
    stack.add_interface("eth0", R_MAC0, "10.0.0.9/24")
    stack.transmit = lambda iface, frame: pytest.fail("a host does not forward")
    raw = build_ipv4(A("10.0.0.1"), A("10.0.1.2"), PROTO_UDP, bytes(12))
    stack.receive("eth0", build_ethernet(R_MAC0, LEFT_MAC, ETHERTYPE_IPV4, raw), 0.0)
    assert stack.counters.drops() == {"ipv4.not_for_us": 1}


def test_a_damaged_header_is_dropped_as_a_checksum_error() -> None:
    router = Router()
    raw = bytearray(build_ipv4(A("10.0.0.1"), A("10.0.1.2"), PROTO_UDP, bytes(12)))
    raw[8] ^= 0x10  # TTL
    router.inject(bytes(raw))
    raw[8] ^= 0x10
    raw[2] ^= 0x40  # total length now runs past the frame: still damage, not a bad sender
    router.inject(bytes(raw))
    assert router.take() == []
    assert router.stack.counters.drops() == {"ipv4.checksum": 2}


def _ping_lines(routers: int, dst: str, config: LinkConfig | None = None,
                **kw: object) -> list[str]:
    world = World(1)
    net = chain(world, routers, config or LinkConfig(delay=0.001, rate_bps=10e6))
    lines: list[str] = []
    proc = world.env.process(ping(net.hosts[0], dst, count=1, out=lines.append,
                                  **kw))  # type: ignore[arg-type]
    world.env.run(until=proc)
    return lines


@pytest.mark.parametrize("ttl", [1, 2, 3])
def test_time_exceeded_comes_from_the_router_where_the_ttl_ran_out(ttl: int) -> None:
    # router k faces h1 with 10.0.(k-1).2
    lines = _ping_lines(3, "10.0.3.2", ttl=ttl)
    assert f"From 10.0.{ttl - 1}.2 icmp_seq=1 Time to live exceeded" in lines


def test_ttl_just_large_enough_reaches_the_destination() -> None:
    lines = _ping_lines(3, "10.0.3.2", ttl=4)
    assert any(line.startswith("64 bytes from 10.0.3.2: icmp_seq=1 ttl=61 ") for line in lines)


def test_no_route_at_a_router_gives_net_unreachable_from_that_router() -> None:
    # r1 knows 10.0.0/24, 10.0.1/24 and (via r2) 10.0.2/24, and has no default route
    lines = _ping_lines(2, "192.0.2.7")
    assert "From 10.0.0.2 icmp_seq=1 Destination Net Unreachable" in lines


def test_a_router_answers_for_its_far_interface_itself() -> None:
    lines = _ping_lines(2, "10.0.1.1")  # r1's right-hand address
    assert any(line.startswith("64 bytes from 10.0.1.1: icmp_seq=1 ttl=64 ") for line in lines)


def test_df_and_too_big_gives_fragmentation_needed_with_the_next_hop_mtu() -> None:
    world = World(1)
    # chain(2): h1 -link0- r1 -link1- r2 -link2- h2; the bottleneck is link1
    net = chain(world, 2, LinkConfig(delay=0.001), bottleneck=LinkConfig(delay=0.001, mtu=576))
    lines: list[str] = []
    proc = world.env.process(ping(net.hosts[0], "10.0.2.2", count=1, size=1000, df=True,
                                  out=lines.append))
    world.env.run(until=proc)
    assert "From 10.0.0.2 icmp_seq=1 Frag needed and DF set (mtu = 576)" in lines
    assert net.routers[0].stack.counters.drops() == {"ipv4.fragmentation_needed": 1}
    stats = net.links[1].a.stats
    assert stats.dropped["mtu"] == 0 and stats.bytes_offered == 42  # its gratuitous ARP only


def test_a_host_does_not_send_a_df_datagram_bigger_than_its_mtu() -> None:
    stack = Stack("h")
    stack.add_interface("eth0", MacAddress.local(1), "10.0.0.1/24", mtu=576)
    stack.transmit = lambda iface, frame: pytest.fail("nothing should be sent")
    assert stack.send_ip(A("10.0.0.2"), PROTO_ICMP, bytes(600), 0.0, df=True) is False
    assert stack.counters.drops() == {"ipv4.too_big_df": 1}


def test_per_layer_counters_tell_what_each_node_did_during_a_ping() -> None:
    world = World(1)
    net = chain(world, 1, LinkConfig(delay=0.001, rate_bps=10e6))
    h1, h2 = net.hosts
    r1 = net.routers[0]

    def later():  # type: ignore[no-untyped-def]
        yield world.env.timeout(1.0)  # after the gratuitous ARPs
        yield from ping(h1, "10.0.1.2", count=3, interval=0.1)

    world.env.run(until=world.env.process(later()))
    c1, c2, cr = h1.stack.counters, h2.stack.counters, r1.stack.counters
    assert (c1["ipv4"]["tx"], c1["ipv4"]["rx"], c1["icmp"]["rx_type_0"]) == (3, 3, 3)
    assert (c2["icmp"]["rx_type_8"], c2["icmp"]["tx_echo_reply"]) == (3, 3)
    assert cr["ipv4"]["forwarded"] == 6 and cr["ipv4"]["delivered"] == 0
    # one resolution per hop on the way out; the way back was learned from the askers
    assert (c1["arp"]["tx_request"], cr["arp"]["tx_request"], c2["arp"]["tx_request"]) == (1, 1, 0)
    # each way: 6 pings, 2 gratuitous ARPs, one ARP request and one reply
    assert cr["eth"]["rx"] == cr["eth"]["tx"] == 6 + 2 + 2
    assert all(not n.stack.counters.drops() for n in (h1, h2, r1))


def test_every_sender_of_a_dumbbell_reaches_every_receiver() -> None:
    from netsim.sim.topology import dumbbell

    world = World(1)
    net = dumbbell(world, 3, LinkConfig(delay=0.001), LinkConfig(delay=0.005, rate_bps=10e6))
    senders, receivers = net.hosts[:3], net.hosts[3:]
    procs = [world.env.process(ping(s, d.ip, count=1)) for s in senders for d in receivers]
    world.env.run(until=world.env.all_of(procs))
    assert [p.value.received for p in procs] == [1] * 9
    assert {r.ttl for p in procs for r in p.value.replies} == {62}
