"""Router discovery (RFC 4861 §6, netsim/stack/routers6.py) in a simulation: a router's
advertisements and a host's solicitations, SLAAC from them, and the lifetimes that end what
an advertisement gave (RFC 4861 §6.3.5, RFC 4862 §5.5.3-§5.5.4)."""

from __future__ import annotations

from ipaddress import IPv6Address, IPv6Network

import pytest

from netsim.errors import UsageError
from netsim.node import Node
from netsim.sim.link import LinkConfig
from netsim.sim.topology import Network, capture, chain
from netsim.sim.world import World
from netsim.stack.routers6 import send_nd
from netsim.wire import icmpv6 as i6
from netsim.wire import nd
from netsim.wire.ethernet import ETHERTYPE_IPV6, parse_ethernet
from netsim.wire.ipv6 import (
    ALL_ROUTERS,
    NH_ICMPV6,
    IPv6Packet,
    interface_id,
    multicast_mac,
    parse_ipv6,
)
from netsim.wire.pcap import PcapReader

P0, P1 = "2001:db8:a::/64", "2001:db8:b::/64"


def slaac_of(node: Node, prefix: str) -> IPv6Address:
    net = IPv6Network(prefix)
    return IPv6Address(int(net.network_address) | interface_id(node.stack.interfaces["eth0"].mac))


def routed(world: World, *, solicit: bool = True, **adv: float) -> Network:
    """h1 — r1 — h2: the router has fixed addresses and advertises P0 and P1; the hosts have
    only their link-local addresses and (if `solicit`) ask for routers at once."""
    net = chain(world, 1, LinkConfig(delay=0.002))
    h1, h2 = net.hosts
    r = net.routers[0]
    r.stack.ipv6.enable("eth0", ("2001:db8:a::1/64",), dad=False)
    r.stack.ipv6.enable("eth1", ("2001:db8:b::1/64",), dad=False)
    r.stack.ipv6.routers.advertise("eth0", (P0,), **adv)  # type: ignore[arg-type]
    r.stack.ipv6.routers.advertise("eth1", (P1,), **adv)  # type: ignore[arg-type]
    for h in (h1, h2):
        h.stack.ipv6.enable("eth0")
        if solicit:
            h.stack.ipv6.routers.solicit("eth0")
    return net


def icmp6_sent(path: str) -> list[tuple[float, IPv6Packet, i6.ICMPv6Message]]:
    out = []
    for rec in PcapReader(path):
        eth = parse_ethernet(rec.frame)
        if eth.ethertype != ETHERTYPE_IPV6:
            continue
        pkt = parse_ipv6(eth.payload)
        if pkt.next_header == NH_ICMPV6:
            out.append((rec.timestamp_ns / 1e9, pkt, i6.parse_icmpv6(pkt.payload)))
    return out


def test_a_host_that_solicits_gets_an_address_and_a_default_route_and_can_ping(
        tmp_path: object) -> None:
    world = World(seed=1)
    net = routed(world)
    h1, h2 = net.hosts
    path = f"{tmp_path}/ra.pcap"
    got: list[float] = []
    with capture(net.links[0].b, path):  # the router's side of h1's link
        world.run(until=4.0)
        a1, a2 = slaac_of(h1, P0), slaac_of(h2, P1)
        assert a1 in h1.stack.ipv6.addresses("eth0") and a2 in h2.stack.ipv6.addresses("eth0")
        router_ll = next(a for a in net.routers[0].stack.ipv6.addresses("eth0")
                         if a.is_link_local)
        assert (IPv6Network("::/0"), "eth0", router_ll) in h1.stack.ipv6.routes

        def on_reply(pkt: IPv6Packet, msg: i6.ICMPv6Message, now: float) -> None:
            if msg.type == i6.ECHO_REPLY and pkt.src == a2:
                got.append(now)

        h1.stack.ipv6.handlers.append(on_reply)
        h1.stack.ipv6.send(a2, NH_ICMPV6, i6.echo(i6.ECHO_REQUEST, 1, 1).build(a1, a2),
                           world.env.now, src=a1)
        world.run(until=6.0)
    assert got, "the echo through the router was not answered"
    sent = icmp6_sent(path)
    rs = [(t, p) for t, p, m in sent if m.type == i6.ROUTER_SOLICITATION]
    ra = [(t, p) for t, p, m in sent if m.type == i6.ROUTER_ADVERTISEMENT]
    # the router's first advertisement went at once; h1's solicitation (after its random
    # delay of at most 1 s; sent although the advertisement came first) was answered within
    # MAX_RA_DELAY_TIME, or at MIN_DELAY_BETWEEN_RAS after the first, and h1 then stopped
    assert ra[0][0] == 0.0
    assert len(rs) == 1 and rs[0][0] <= 1.0 + 0.01
    answer = [t for t, _ in ra if t > rs[0][0]][0]
    assert answer - rs[0][0] <= 0.5 + 0.01 or abs(answer - (ra[0][0] + 3.0)) <= 0.5 + 0.01
    assert all(p.hop_limit == 255 and p.src.is_link_local for _, p in ra)


def test_unsolicited_advertisements_follow_the_interval_rules() -> None:
    world = World(seed=2)
    net = routed(world, solicit=False, max_interval=30.0, min_interval=10.0)
    r = net.routers[0]
    times: list[float] = []
    layer = r.stack.ipv6
    orig = layer.frame_out

    def spy(state: object, mac: bytes, raw: bytes) -> None:
        pkt = parse_ipv6(raw)
        if pkt.next_header == NH_ICMPV6 and pkt.payload[0] == i6.ROUTER_ADVERTISEMENT \
                and state is layer.ifaces["eth0"]:
            times.append(world.env.now)
        orig(state, mac, raw)  # type: ignore[arg-type]

    layer.frame_out = spy  # type: ignore[method-assign]
    world.run(until=300.0)
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert len(times) >= 10
    # RFC 4861 §6.2.4: the first few at most MAX_INITIAL_RTR_ADVERT_INTERVAL apart, then
    # uniform within [MinRtrAdvInterval, MaxRtrAdvInterval]
    assert all(10.0 - 1e-9 <= g <= 16.0 + 1e-9 for g in gaps[:3]), gaps
    assert all(10.0 - 1e-9 <= g <= 30.0 + 1e-9 for g in gaps[3:]), gaps
    assert max(gaps[3:]) > 16.0  # the cap ends after the initial ones


def test_solicitations_are_answered_rate_limited() -> None:
    """RFC 4861 §6.2.6: multicast answers at most one per MIN_DELAY_BETWEEN_RAS."""
    world = World(seed=3)
    net = routed(world, solicit=False)
    r = net.routers[0]
    h1 = net.hosts[0]
    world.run(until=2.0)  # the router's first advertisement has gone
    counts = r.stack.counters["icmp6"]
    before = counts["tx_ra"]
    layer = h1.stack.ipv6
    state = layer.ifaces["eth0"]
    src = next(a for a in layer.addresses("eth0") if a.is_link_local)

    def one_rs(_e: object) -> None:
        send_nd(layer, state, multicast_mac(ALL_ROUTERS), src, ALL_ROUTERS,
                nd.RouterSolicitation((nd.LinkLayerOption(1, state.iface.mac),)).message())

    for k in range(30):  # thirty solicitations, 0.2 s apart, from 2 s to 8 s
        world.env.timeout(0.2 * k).callbacks.append(one_rs)
    world.run(until=8.0)
    # multicast answers at most one per 3 s: two or three in these 6 s
    assert counts["rx_rs"] == 30
    assert 2 <= counts["tx_ra"] - before <= 3 + 1  # (+ eth1's unsolicited ones, ≤ 16 s apart)


def test_only_an_advertising_interface_learns_from_a_solicitation() -> None:
    """RFC 4861 §6.2.6: a host silently discards a router solicitation (its neighbour cache
    learns nothing from it); the router's advertising interface learns the sender's MAC."""
    world = World(seed=3)
    net = routed(world, solicit=False)
    h1, h2 = net.hosts
    r = net.routers[0]
    world.run(until=2.0)  # DAD is over
    fake, fake_mac = IPv6Address("fe80::99"), b"\x02\x00\x00\x00\x00\x99"
    rs = nd.RouterSolicitation((nd.LinkLayerOption(1, fake_mac),)).message()
    host = h1.stack.ipv6.ifaces["eth0"]
    router = r.stack.ipv6.ifaces["eth0"]
    # to the host, unicast (as if from the router's link), and to all-routers
    send_nd(r.stack.ipv6, router, h1.stack.interfaces["eth0"].mac, fake,
            next(a for a in h1.stack.ipv6.addresses("eth0") if a.is_link_local), rs)
    send_nd(h1.stack.ipv6, host, multicast_mac(ALL_ROUTERS), fake, ALL_ROUTERS, rs)
    world.run(until=3.0)
    assert h1.stack.counters["icmp6"]["rs_ignored"] == 1
    assert host.cache.lookup(fake) is None
    assert router.cache.lookup(fake) == fake_mac


def test_lifetimes_end_the_default_route_the_prefix_and_the_address() -> None:
    world = World(seed=4)
    net = routed(world, max_interval=10.0, lifetime=30)
    h1 = net.hosts[0]
    r = net.routers[0]
    world.run(until=5.0)
    a1 = slaac_of(h1, P0)
    assert a1 in h1.stack.ipv6.addresses("eth0")
    assert any(n.prefixlen == 0 for n, _, _ in h1.stack.ipv6.routes)
    # the router stops advertising: the default route ends with the router lifetime (30 s)
    r.stack.ipv6.routers.advertising.clear()
    world.run(until=60.0)
    assert not any(n.prefixlen == 0 for n, _, _ in h1.stack.ipv6.routes)
    # the address's lifetimes are the prefix's (7 and 30 days): it is still there
    assert a1 in h1.stack.ipv6.addresses("eth0")


def test_an_advertisement_cannot_cut_an_address_below_two_hours() -> None:
    """RFC 4862 §5.5.3 (e): a valid lifetime of 60 s for a 30-day address sets 2 hours; an
    address whose advertisements gave it 1000 s keeps that, and ends when it runs out."""
    world = World(seed=5)
    net = routed(world)
    h1 = net.hosts[0]
    world.run(until=5.0)
    a1 = slaac_of(h1, P0)
    routers = h1.stack.ipv6.routers
    state = h1.stack.ipv6.ifaces["eth0"]
    router_ll = next(a for a in net.routers[0].stack.ipv6.addresses("eth0") if a.is_link_local)

    def ra(valid: int, preferred: int, now: float) -> None:
        msg = nd.RouterAdvertisement(64, False, False, 1800, 0, 0, (nd.PrefixInformation(
            64, True, True, valid, preferred, IPv6Network(P0).network_address),))
        routers.advertisement(state, router_ll, msg, now)

    ra(60, 30, 5.0)
    assert routers.hosts["eth0"].addresses[a1][1] == pytest.approx(5.0 + 7200.0)
    ra(1000, 500, 6.0)  # not more than 2 hours, not more than what remains: ignored
    assert routers.hosts["eth0"].addresses[a1][1] == pytest.approx(5.0 + 7200.0)
    net.routers[0].stack.ipv6.routers.advertising.clear()
    world.run(until=5.0 + 7200.0 + 1.0)
    assert a1 not in h1.stack.ipv6.addresses("eth0")
    assert h1.stack.counters["icmp6"]["slaac_address_expired"] == 1


def test_a_deprecated_address_is_not_the_source_when_another_is_preferred() -> None:
    world = World(seed=6)
    net = routed(world)
    h1 = net.hosts[0]
    world.run(until=5.0)
    h1.stack.ipv6.add_address("eth0", "2001:db8:a::99/64", now=5.0, dad=False)
    state = h1.stack.ipv6.ifaces["eth0"]
    far = IPv6Address("2001:db8:ff::1")
    slaac = slaac_of(h1, P0)
    assert state.preferred(far) == slaac
    for a in state.addresses:
        if a.address == slaac:
            a.deprecated = True
    assert state.preferred(far) == IPv6Address("2001:db8:a::99")


@pytest.mark.parametrize(("kwargs", "words"), [
    ({"max_interval": 2.0}, "max_interval: 2 s is not within 4..1800 s"),
    ({"max_interval": 100.0, "min_interval": 90.0}, "min_interval: 90 s"),
    ({"lifetime": 20}, "lifetime: 20 s is neither 0 nor within"),
    ({"mtu": 1000}, "mtu: 1000 is not 0"),
    # the wrong type: named too, not a TypeError, nor (a float lifetime) a struct.error when
    # the first advertisement is built
    ({"max_interval": "10"}, "max_interval: '10' is not a number"),
    ({"lifetime": 1000.0}, "lifetime: 1000.0 is not a whole number"),
    ({"mtu": "1400"}, "mtu: '1400' is not a whole number"),
])
def test_bad_router_configuration_is_refused_naming_the_variable(kwargs: dict[str, float],
                                                                  words: str) -> None:
    world = World(seed=7)
    net = chain(world, 1)
    r = net.routers[0]
    r.stack.ipv6.enable("eth0")
    with pytest.raises(UsageError, match=words):
        r.stack.ipv6.routers.advertise("eth0", (P0,), **kwargs)  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="prefixes: fe80::/64 is link-local"):
        r.stack.ipv6.routers.advertise("eth0", ("fe80::/64",))
    with pytest.raises(UsageError, match="iface: IPv6 is not enabled on 'eth9'"):
        r.stack.ipv6.routers.advertise("eth9", (P0,))
    with pytest.raises(UsageError, match="prefixes: .* is not a tuple of prefixes"):
        r.stack.ipv6.routers.advertise("eth0", P0)  # type: ignore[arg-type]
    h = net.hosts[0]
    h.stack.ipv6.enable("eth0")
    with pytest.raises(UsageError, match="only a router sends router advertisements"):
        h.stack.ipv6.routers.advertise("eth0", (P0,))
