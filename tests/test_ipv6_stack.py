"""The IPv6 layer sans-I/O, with hand-made frames: neighbour discovery and the neighbour
cache's states (RFC 4861 §7.3), duplicate address detection (RFC 4862 §5.4), extension
headers (RFC 8200 §4) and the ICMPv6 error rules and rate limit (RFC 4443 §2.4)."""

from __future__ import annotations

from ipaddress import IPv6Address

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netsim.errors import UsageError
from netsim.stack.host import Stack
from netsim.stack.ndcache import NState
from netsim.wire import icmpv6 as i6
from netsim.wire import nd
from netsim.wire.ethernet import ETHERTYPE_IPV6, build_ethernet
from netsim.wire.ipv6 import (
    ALL_NODES,
    NH_DSTOPTS,
    NH_FRAGMENT,
    NH_HOPOPTS,
    NH_ICMPV6,
    NH_ROUTING,
    NH_UDP,
    UNSPECIFIED,
    IPv6Packet,
    build_ipv6,
    fragment_header,
    link_local,
    multicast_mac,
    options_header,
    parse_ipv6,
    routing_header,
    solicited_node,
)
from netsim.wire.mac import MacAddress

MY_MAC, PEER_MAC = MacAddress.local(2), MacAddress.local(1)
ME_LL, PEER_LL = link_local(MY_MAC), link_local(PEER_MAC)
ME, PEER = IPv6Address("2001:db8::2"), IPv6Address("2001:db8::1")


class Host:
    def __init__(self, dad: bool = False) -> None:
        self.stack = Stack("h")
        self.stack.add_interface("eth0", MY_MAC, "10.0.0.2/24")
        self.sent: list[bytes] = []
        self.stack.transmit = lambda iface, frame: self.sent.append(
            bytes(frame))  # type: ignore[arg-type]
        self.v6 = self.stack.ipv6
        self.v6.enable("eth0", ("2001:db8::2/64",), dad=dad)
        self.icmp: list[tuple[IPv6Packet, i6.ICMPv6Message]] = []
        self.v6.handlers.append(lambda p, m, now: self.icmp.append((p, m)))

    def feed(self, src: IPv6Address, dst: IPv6Address, nh: int, payload: bytes,
             now: float = 1.0, hop_limit: int = 64, mac: bytes | None = None) -> None:
        if mac is None:
            mac = multicast_mac(dst) if dst.is_multicast else MY_MAC
        raw = build_ipv6(src, dst, nh, payload, hop_limit=hop_limit)
        self.stack.receive("eth0", build_ethernet(mac, PEER_MAC, ETHERTYPE_IPV6, raw), now)

    def feed_icmp(self, src: IPv6Address, dst: IPv6Address, msg: i6.ICMPv6Message,
                  now: float = 1.0, hop_limit: int = 64) -> None:
        self.feed(src, dst, NH_ICMPV6, msg.build(src, dst), now, hop_limit)

    def out(self) -> list[tuple[bytes, IPv6Packet, i6.ICMPv6Message | None]]:
        """(destination MAC, packet, ICMPv6 message) of each frame sent, then forget them."""
        got = []
        for frame in self.sent:
            pkt = parse_ipv6(frame[14:])
            msg = i6.parse_icmpv6(pkt.payload, pkt.src, pkt.dst) \
                if pkt.next_header == NH_ICMPV6 else None
            got.append((frame[:6], pkt, msg))
        self.sent.clear()
        return got

    def learn_peer(self, now: float = 0.5) -> None:
        """The peer resolves us: its NS carries its MAC (the entry starts STALE)."""
        ns = nd.NeighborSolicitation(ME, (nd.LinkLayerOption(nd.OPT_SOURCE_LLA, PEER_MAC),))
        self.feed_icmp(PEER, solicited_node(ME), ns.message(), now, hop_limit=255)
        self.sent.clear()


def echo(seq: int = 1) -> i6.ICMPv6Message:
    return i6.echo(i6.ECHO_REQUEST, 7, seq, b"ping")


# --- neighbour solicitation and advertisement ----------------------------------------------

def test_a_solicitation_is_answered_with_our_mac_and_teaches_the_cache() -> None:
    h = Host()
    ns = nd.NeighborSolicitation(ME, (nd.LinkLayerOption(nd.OPT_SOURCE_LLA, PEER_MAC),))
    h.feed_icmp(PEER, solicited_node(ME), ns.message(), hop_limit=255)
    ((mac, pkt, msg),) = h.out()
    assert msg is not None
    na = nd.parse_nd(msg)
    assert (mac, pkt.src, pkt.dst, pkt.hop_limit) == (PEER_MAC, ME, PEER, 255)
    assert na == nd.NeighborAdvertisement(ME, False, True, True, (
        nd.LinkLayerOption(nd.OPT_TARGET_LLA, MY_MAC),))
    # RFC 4861 §7.2.3: the solicitation's source link-layer address makes a STALE entry
    assert h.v6.ifaces["eth0"].cache.state(PEER) is NState.STALE


@pytest.mark.parametrize("hop_limit,code,reason", [(64, 0, "nd_hop_limit"), (255, 1, "nd_code")])
def test_solicitations_that_fail_validation_are_dropped(hop_limit: int, code: int,
                                                        reason: str) -> None:
    h = Host()
    msg = nd.NeighborSolicitation(ME).message()._replace(code=code)
    h.feed_icmp(PEER, solicited_node(ME), msg, hop_limit=hop_limit)
    assert h.out() == []
    assert h.stack.counters["icmp6"][f"drop.{reason}"] == 1


def test_a_solicitation_for_another_address_is_not_answered() -> None:
    h = Host()
    other = IPv6Address("2001:db8::99")
    h.feed(PEER, ME, NH_ICMPV6, nd.NeighborSolicitation(other).message().build(PEER, ME),
           hop_limit=255)
    assert h.out() == [] and h.stack.counters["icmp6"]["drop.ns_not_for_us"] == 1


def test_frames_to_groups_we_did_not_join_are_dropped_at_ethernet() -> None:
    h = Host()
    group = IPv6Address("ff02::1:ff00:99")
    h.feed_icmp(PEER, group, echo(), hop_limit=255)
    assert h.stack.counters["eth"]["drop.not_our_mac"] == 1 and h.out() == []


def test_neighbour_cache_states_from_resolution_to_probe() -> None:
    h = Host()
    cache = h.v6.ifaces["eth0"].cache
    assert h.v6.send(PEER, NH_ICMPV6, echo(1).build(ME, PEER), 1.0)
    ((mac, pkt, msg),) = h.out()  # no packet yet: a multicast solicitation
    assert mac == multicast_mac(solicited_node(PEER)) and pkt.dst == solicited_node(PEER)
    assert msg is not None and msg.type == i6.NEIGHBOR_SOLICITATION
    assert cache.state(PEER) is NState.INCOMPLETE
    na = nd.NeighborAdvertisement(PEER, False, True, True, (
        nd.LinkLayerOption(nd.OPT_TARGET_LLA, PEER_MAC),))
    h.feed_icmp(PEER, ME, na.message(), 1.01, hop_limit=255)
    ((mac, pkt, msg),) = h.out()  # the queued echo request leaves
    assert mac == PEER_MAC and msg is not None and msg.type == i6.ECHO_REQUEST
    assert cache.state(PEER) is NState.REACHABLE
    # RFC 4861 §6.3.2: ReachableTime is 0.5..1.5 times 30 s
    h.stack.poll(15.0)
    assert cache.state(PEER) is NState.REACHABLE
    h.stack.poll(46.0)
    assert cache.state(PEER) is NState.STALE
    h.v6.send(PEER, NH_ICMPV6, echo(2).build(ME, PEER), 50.0)  # sent at once, then DELAY
    assert [m for m, _, _ in h.out()] == [PEER_MAC]
    assert cache.state(PEER) is NState.DELAY
    h.stack.poll(55.0)  # DELAY_FIRST_PROBE_TIME: a unicast probe
    ((mac, pkt, msg),) = h.out()
    assert (mac, pkt.dst) == (PEER_MAC, PEER) and msg is not None and msg.type == 135
    assert cache.state(PEER) is NState.PROBE
    for t in (56.0, 57.0):
        h.stack.poll(t)
    assert len(h.out()) == 2  # MAX_UNICAST_SOLICIT probes in all
    h.stack.poll(58.0)
    assert cache.state(PEER) is None  # nobody answered: the entry is gone


def test_unanswered_resolution_gives_up_after_three_and_reports_unreachable() -> None:
    h = Host()
    h.v6.send(PEER, NH_ICMPV6, echo().build(ME, PEER), 1.0)
    h.stack.poll(2.0)
    h.stack.poll(3.0)
    assert len(h.out()) == 3  # MAX_MULTICAST_SOLICIT solicitations, RETRANS_TIMER apart
    h.stack.poll(4.0)
    assert h.v6.ifaces["eth0"].cache.state(PEER) is None
    # RFC 4861 §7.2.2: destination unreachable, address unreachable, to the (local) sender
    errors = [m for _, m in h.icmp if m.type == i6.DEST_UNREACHABLE]
    assert [(m.code, m.quoted_ipv6().dst) for m in errors] == [(i6.UNREACH_ADDRESS, PEER)]
    assert h.stack.counters["ipv6"]["drop.unresolved"] == 1


def test_unsolicited_override_advertisement_with_a_new_mac_makes_the_entry_stale() -> None:
    h = Host()
    h.learn_peer()
    cache = h.v6.ifaces["eth0"].cache
    cache.confirm(PEER, 1.0)
    new = MacAddress.local(9)
    na = nd.NeighborAdvertisement(PEER, False, False, True, (
        nd.LinkLayerOption(nd.OPT_TARGET_LLA, new),))
    h.feed_icmp(PEER, ALL_NODES, na.message(), 2.0, hop_limit=255)
    assert cache.state(PEER) is NState.STALE and cache.lookup(PEER) == new
    # without the override flag a different MAC is not taken (RFC 4861 §7.2.5)
    na = na._replace(override=False, options=(nd.LinkLayerOption(nd.OPT_TARGET_LLA, PEER_MAC),))
    h.feed_icmp(PEER, ALL_NODES, na.message(), 3.0, hop_limit=255)
    assert cache.lookup(PEER) == new


# --- duplicate address detection ------------------------------------------------------------

def test_dad_probes_from_the_unspecified_address_then_the_address_is_usable() -> None:
    h = Host(dad=True)
    assert h.v6.addresses("eth0") == []  # tentative
    h.stack.poll(1.0)  # after the random delay of up to 1 s
    probes = h.out()
    assert {p.src for _, p, _ in probes} == {UNSPECIFIED}
    assert {p.dst for _, p, _ in probes} == {solicited_node(ME_LL), solicited_node(ME)}
    assert all(m is not None and nd.parse_nd(m).options == () for _, _, m in probes)
    # a packet to a tentative address is discarded (RFC 4862 §5.4)
    h.feed_icmp(PEER, ME, echo(), 1.5)
    assert h.stack.counters["ipv6"]["drop.tentative_address"] == 1
    h.stack.poll(2.0)
    assert h.v6.addresses("eth0") == [ME_LL, ME]


@pytest.mark.parametrize("conflict", ["advertisement", "probe"])
def test_dad_finds_a_duplicate(conflict: str) -> None:
    h = Host(dad=True)
    h.stack.poll(1.0)
    h.out()
    if conflict == "advertisement":  # RFC 4862 §5.4.4
        na = nd.NeighborAdvertisement(ME, False, False, True, (
            nd.LinkLayerOption(nd.OPT_TARGET_LLA, PEER_MAC),))
        h.feed_icmp(PEER, ALL_NODES, na.message(), 1.2, hop_limit=255)
    else:  # RFC 4862 §5.4.3: someone else probes the same address
        h.feed_icmp(UNSPECIFIED, solicited_node(ME), nd.NeighborSolicitation(ME).message(),
                    1.2, hop_limit=255)
    h.stack.poll(3.0)
    assert h.v6.addresses("eth0") == [ME_LL]
    assert h.stack.counters["icmp6"]["drop.dad_duplicate"] == 1


# --- echo, extension headers and errors ----------------------------------------------------

def test_echo_to_all_nodes_is_answered_from_the_link_local_address() -> None:
    h = Host()
    h.learn_peer()
    h.feed_icmp(PEER_LL, ALL_NODES, echo(5))
    ((_, pkt, msg),) = h.out()  # the reply waits for the peer's link-local to resolve
    assert msg is not None and msg.type == i6.NEIGHBOR_SOLICITATION
    assert (pkt.src, pkt.dst) == (ME_LL, solicited_node(PEER_LL))
    na = nd.NeighborAdvertisement(PEER_LL, False, True, True, (
        nd.LinkLayerOption(nd.OPT_TARGET_LLA, PEER_MAC),))
    h.feed_icmp(PEER_LL, ME_LL, na.message(), 1.1, hop_limit=255)
    replies = [(p.src, p.dst, m.sequence) for _, p, m in h.out()
               if m is not None and m.type == i6.ECHO_REPLY]
    # RFC 4443 §4.2: a reply to a multicast request comes from a unicast address
    assert replies == [(ME_LL, PEER_LL, 5)]


def _options(*opts: tuple[int, bytes]) -> bytes:
    return options_header(NH_ICMPV6, list(opts)) + echo().build(PEER, ME)


def _errors(h: Host) -> list[tuple[int, int, int]]:
    return [(m.type, m.code, m.pointer) for _, _, m in h.out() if m is not None and m.is_error]


@pytest.mark.parametrize("nh,body,expect", [
    (NH_DSTOPTS, _options((0x1E, b"ab")), []),  # action 00: skipped, the echo is answered
    (NH_DSTOPTS, _options((0x5E, b"ab")), "drop"),  # 01: discarded silently
    (NH_DSTOPTS, _options((0x9E, b"ab")), [(4, 2, 42)]),  # 10: parameter problem, code 2
    (NH_HOPOPTS, _options((0xDE, b"ab")), [(4, 2, 42)]),  # 11: the same to a unicast dst
    (NH_ROUTING, routing_header(NH_ICMPV6, 0, 0) + echo().build(PEER, ME), []),
    (NH_ROUTING, routing_header(NH_ICMPV6, 4, 1) + echo().build(PEER, ME), [(4, 0, 42)]),
    (NH_FRAGMENT, fragment_header(NH_ICMPV6, 0, False, 1) + echo().build(PEER, ME), []),
    (NH_FRAGMENT, fragment_header(NH_ICMPV6, 0, True, 1) + echo().build(PEER, ME), "drop"),
    (99, b"what", [(4, 1, 6)]),  # unrecognized next header: points at the field naming it
    (NH_DSTOPTS, options_header(99, []) + b"what", [(4, 1, 40)]),
    (NH_DSTOPTS, options_header(NH_HOPOPTS, []) + options_header(NH_ICMPV6, [])
     + echo().build(PEER, ME), [(4, 1, 40)]),  # hop-by-hop not first (RFC 8200 §4.1)
])
def test_extension_headers(nh: int, body: bytes, expect: list[tuple[int, int, int]] | str
                           ) -> None:
    h = Host()
    h.learn_peer()
    h.feed(PEER, ME, nh, body)
    sent = h.out()
    errors = [(m.type, m.code, m.pointer) for _, _, m in sent if m is not None and m.is_error]
    replies = [m for _, _, m in sent if m is not None and m.type == i6.ECHO_REPLY]
    if expect == "drop":
        assert sent == [] and h.stack.counters.drops()
    elif expect:
        assert errors == expect and replies == []
        assert h.stack.counters.drops()
    else:
        assert errors == [] and len(replies) == 1


def test_no_error_about_multicast_unless_the_option_asks_for_one() -> None:
    h = Host()
    h.learn_peer()
    h.feed(PEER, ALL_NODES, NH_DSTOPTS, options_header(NH_ICMPV6, [(0xDE, b"")])
           + echo().build(PEER, ALL_NODES))  # 11 to multicast: silently
    assert _errors(h) == []
    h.feed(PEER, ALL_NODES, 99, b"x")
    assert _errors(h) == [] and h.stack.counters["icmp6"]["error_suppressed"] == 1
    h.feed(PEER, ALL_NODES, NH_DSTOPTS, options_header(NH_ICMPV6, [(0x9E, b"")])
           + echo().build(PEER, ALL_NODES))  # 10 even to multicast (RFC 4443 §2.4 (e))
    assert _errors(h) == [(4, 2, 42)]


def test_no_error_about_an_error() -> None:
    h = Host()
    h.learn_peer()
    bad = build_ipv6(ME, PEER, NH_UDP, bytes(8))
    h.feed(PEER, ME, NH_DSTOPTS, options_header(NH_ICMPV6, [(0x9E, b"")])
           + i6.error(i6.DEST_UNREACHABLE, 4, bad).build(PEER, ME))
    assert _errors(h) == [] and h.stack.counters["icmp6"]["error_suppressed"] == 1


def test_errors_are_rate_limited() -> None:
    h = Host()
    h.learn_peer()
    for _ in range(80):
        h.feed(PEER, ME, 99, b"x", now=1.0)
    assert len(_errors(h)) == 50  # the burst; RFC 4443 §2.4 (f)
    assert h.stack.counters["icmp6"]["drop.rate_limited"] == 30
    h.feed(PEER, ME, 99, b"x", now=1.5)  # 100 per second refill
    assert len(_errors(h)) == 1


def test_bad_checksum_and_malformed_packets_are_counted_drops() -> None:
    h = Host()
    raw = echo().build(PEER, ME)
    h.feed(PEER, ME, NH_ICMPV6, raw[:2] + b"\x00\x00" + raw[4:])
    h.stack.receive("eth0", build_ethernet(MY_MAC, PEER_MAC, ETHERTYPE_IPV6, bytes(30)), 1.0)
    assert h.stack.counters.drops() == {"icmp6.checksum": 1, "ipv6.malformed": 1}


def test_ipv6_frames_are_an_unknown_ethertype_until_enabled() -> None:
    s = Stack("v4")
    s.add_interface("eth0", MY_MAC, "10.0.0.2/24")
    s.transmit = lambda iface, frame: None
    s.receive("eth0", build_ethernet(MY_MAC, PEER_MAC, ETHERTYPE_IPV6,
                                     build_ipv6(PEER, ME, 59, b"")), 0.0)
    assert s.counters.drops() == {"eth.unknown_ethertype": 1}


@pytest.mark.parametrize("args", [("eth9",), ("eth0", ("2001:db8::1/129",)),
                                  ("eth0", ("ff02::1/64",)), ("eth0", ("banana/64",))])
def test_bad_configuration_is_refused(args: tuple[object, ...]) -> None:
    s = Stack("v4")
    s.add_interface("eth0", MY_MAC, "10.0.0.2/24")
    with pytest.raises(UsageError):
        s.ipv6.enable(*args)  # type: ignore[arg-type]


# --- hostile input never crashes the stack ---------------------------------------------------

@st.composite
def hostile_frames(draw: st.DrawFn) -> bytes:
    """IPv6 frames to us or our groups: random payloads behind real headers, or valid ND and
    echo messages with a few bytes changed."""
    dst = draw(st.sampled_from([ME, ME_LL, ALL_NODES, solicited_node(ME)]))
    src = draw(st.sampled_from([PEER, PEER_LL, UNSPECIFIED, ALL_NODES]))
    if draw(st.booleans()):
        nh = draw(st.sampled_from([NH_HOPOPTS, NH_ROUTING, NH_FRAGMENT, NH_DSTOPTS, NH_ICMPV6,
                                   NH_UDP, 59, 99]))
        raw = build_ipv6(src, dst, nh, draw(st.binary(max_size=80)),
                         hop_limit=draw(st.sampled_from([1, 64, 255])))
    else:
        msg = draw(st.sampled_from([
            nd.NeighborSolicitation(ME, (nd.LinkLayerOption(1, PEER_MAC),)).message(),
            nd.NeighborAdvertisement(ME_LL, True, True, True).message(),
            nd.RouterAdvertisement(options=(nd.MTUOption(1500),)).message(), echo()]))
        raw = bytearray(build_ipv6(src, dst, NH_ICMPV6, msg.build(src, dst), hop_limit=255))
        for _ in range(draw(st.integers(0, 3))):
            i = draw(st.integers(0, len(raw) - 1))
            raw[i] = draw(st.integers(0, 255))
        raw = bytes(raw)
    mac = multicast_mac(dst) if dst.is_multicast else MY_MAC
    return build_ethernet(mac, PEER_MAC, ETHERTYPE_IPV6, raw)


@settings(max_examples=300, deadline=None)
@given(st.lists(hostile_frames(), min_size=1, max_size=5))
def test_hostile_frames_are_answered_or_counted_never_a_crash(frames: list[bytes]) -> None:
    h = Host(dad=True)
    for k, frame in enumerate(frames):
        h.stack.receive("eth0", frame, 0.5 + k * 0.3)
        h.stack.poll(0.5 + k * 0.3)
    h.stack.poll(10.0)
    for _mac, pkt, _msg in h.out():  # whatever went out parses, checksums included
        assert pkt.src != UNSPECIFIED or _msg is not None


def test_udp_with_a_zero_checksum_is_dropped_over_ipv6() -> None:
    h = Host()
    h.stack.udp.bind(53)
    dgram = bytes.fromhex("0fa0 0035 000c 0000") + b"hey!"  # checksum 0: fine over IPv4
    h.feed(PEER, ME, NH_UDP, dgram)
    assert h.stack.counters.drops() == {"udp.zero_checksum_ipv6": 1}  # RFC 8200 §8.1


def test_a_router_advertisement_configures_an_address_and_a_default_route() -> None:
    h = Host()
    router_mac = MacAddress.local(7)
    router_ll = link_local(router_mac)
    ra = nd.RouterAdvertisement(64, False, False, 1800, 0, 0, (
        nd.LinkLayerOption(nd.OPT_SOURCE_LLA, router_mac),
        nd.PrefixInformation(64, True, True, 86400, 14400, IPv6Address("2001:db8:5::"))))
    h.feed_icmp(router_ll, ALL_NODES, ra.message(), 1.0, hop_limit=255)
    slaac = IPv6Address("2001:db8:5::ff:fe00:2")  # the prefix and our EUI-64 identifier
    assert slaac not in h.v6.addresses("eth0")  # tentative: DAD first (RFC 4862 §5.4)
    h.stack.poll(2.0)
    h.stack.poll(3.0)
    assert slaac in h.v6.addresses("eth0")
    h.out()
    far = IPv6Address("2001:db8:99::1")
    assert h.v6.send(far, NH_ICMPV6, echo().build(slaac, far), 4.0, src=slaac)
    ((mac, pkt, _),) = h.out()  # the router is known from its advertisement's SLLA
    assert (mac, pkt.src, pkt.dst) == (router_mac, slaac, far)
    # a router lifetime of 0: no longer a default router (RFC 4861 §6.3.4)
    h.feed_icmp(router_ll, ALL_NODES, ra._replace(router_lifetime=0).message(), 5.0,
                hop_limit=255)
    assert not h.v6.send(far, NH_ICMPV6, echo().build(slaac, far), 6.0, src=slaac)
    assert h.stack.counters["ipv6"]["drop.no_route"] == 1


def test_a_router_advertisement_from_a_global_address_is_ignored() -> None:
    h = Host()
    ra = nd.RouterAdvertisement(options=(nd.PrefixInformation(
        64, True, True, 86400, 14400, IPv6Address("2001:db8:5::")),))
    h.feed_icmp(PEER, ALL_NODES, ra.message(), 1.0, hop_limit=255)
    assert h.stack.counters["icmp6"]["drop.ra_not_link_local"] == 1  # RFC 4861 §6.1.2
    assert len(h.v6.ifaces["eth0"].addresses) == 2
