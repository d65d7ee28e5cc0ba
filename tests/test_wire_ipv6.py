"""IPv6 (RFC 8200), ICMPv6 (RFC 4443) and neighbour discovery (RFC 4861 §4) wire formats:
fields laid out and read back, extension headers walked, addresses derived from a MAC, and
every malformed input answered with the layer's WireError (random bytes and mutations)."""

from __future__ import annotations

from collections.abc import Callable
from ipaddress import IPv6Address

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netsim.wire import icmpv6, ipv6, nd
from netsim.wire.checksum import reference_checksum
from netsim.wire.errors import ICMPv6ChecksumError, ICMPv6Error, IPv6Error, NDError, WireError
from netsim.wire.icmpv6 import ICMPv6Message, parse_icmpv6
from netsim.wire.ipv6 import (
    NH_DSTOPTS,
    NH_FRAGMENT,
    NH_HOPOPTS,
    NH_ICMPV6,
    NH_ROUTING,
    NH_UDP,
    IPv6Packet,
    build_ipv6,
    fragment_header,
    options_header,
    parse_ipv6,
    routing_header,
)
from netsim.wire.mac import MacAddress
from netsim.wire.udp import build_udp, parse_udp

A = IPv6Address("2001:db8::1")
B = IPv6Address("fe80::5054:ff:fe12:3456")
addrs = st.integers(0, 2**128 - 1).map(IPv6Address)
macs = st.binary(min_size=6, max_size=6).map(MacAddress)
FUZZ = settings(max_examples=400, deadline=None)


def test_build_lays_out_every_field() -> None:
    raw = build_ipv6(A, B, 17, b"abcd", hop_limit=7, traffic_class=0xB8, flow_label=0x12345)
    assert raw[:8] == bytes.fromhex("6b812345 0004 11 07")
    assert raw[8:24] == A.packed and raw[24:40] == B.packed and raw[40:] == b"abcd"


def test_parse_reads_every_field_and_drops_link_padding() -> None:
    raw = build_ipv6(A, B, 17, b"abcd", hop_limit=7, traffic_class=0xB8, flow_label=0x12345)
    p = parse_ipv6(raw + bytes(10))
    assert (p.src, p.dst, p.next_header, p.payload, p.hop_limit, p.traffic_class,
            p.flow_label, p.payload_length, p.extensions) == (
        A, B, 17, b"abcd", 7, 0xB8, 0x12345, 4, ())


@st.composite
def chains(draw: st.DrawFn) -> tuple[bytes, int, list[int]]:
    """A payload behind 0..4 extension headers: (bytes, first header, header types)."""
    kinds = draw(st.lists(st.sampled_from([NH_HOPOPTS, NH_ROUTING, NH_FRAGMENT, NH_DSTOPTS]),
                          max_size=4))
    body = draw(st.binary(max_size=40))
    nh = NH_UDP
    for kind in reversed(kinds):
        if kind == NH_FRAGMENT:
            head = fragment_header(nh, 8 * draw(st.integers(0, 0x1FFF)), draw(st.booleans()),
                                   draw(st.integers(0, 2**32 - 1)))
        elif kind == NH_ROUTING:
            head = routing_header(nh, draw(st.integers(0, 255)), draw(st.integers(0, 255)),
                                  bytes(4 + 8 * draw(st.integers(0, 2))))
        else:
            opts = draw(st.lists(st.tuples(st.integers(2, 255), st.binary(max_size=12)),
                                 max_size=3))
            head = options_header(nh, opts)
        body, nh = head + body, kind
    return body, nh, kinds


@FUZZ
@given(addrs, addrs, chains(), st.integers(0, 255), st.integers(0, 255),
       st.integers(0, 0xFFFFF))
def test_round_trip_with_extension_headers(src: IPv6Address, dst: IPv6Address,
                                           chain: tuple[bytes, int, list[int]], hlim: int,
                                           tc: int, flow: int) -> None:
    body, first, kinds = chain
    raw = build_ipv6(src, dst, first, body, hop_limit=hlim, traffic_class=tc, flow_label=flow)
    p = parse_ipv6(raw)
    assert [h.type for h in p.extensions] == kinds
    assert p.next_header == NH_UDP and p.first_header == first
    assert p.build() == raw
    assert p.nh_field == (p.extensions[-1].offset if kinds else 6)
    assert raw[p.nh_field if kinds else 6] == NH_UDP


def test_options_are_read_with_offsets_and_padding_left_out() -> None:
    head = options_header(NH_ICMPV6, [(0xC2, b"\x01\x02"), (0x05, b"")])
    assert len(head) == 8
    p = parse_ipv6(build_ipv6(A, B, NH_HOPOPTS, head + b"x"))
    (hbh,) = p.extensions
    assert [(o.type, o.data, o.offset, o.action) for o in hbh.options] == [
        (0xC2, b"\x01\x02", 42, 3), (0x05, b"", 46, 0)]
    assert p.payload == b"x" and p.next_header == NH_ICMPV6


def test_fragment_and_routing_fields() -> None:
    body = routing_header(NH_FRAGMENT, 3, 2) + fragment_header(NH_UDP, 1448, True, 0xDEADBEEF)
    rt, frag = parse_ipv6(build_ipv6(A, B, NH_ROUTING, body)).extensions
    assert (rt.routing_type, rt.segments_left) == (3, 2)
    assert (frag.fragment_offset, frag.more_fragments, frag.identification) == (
        1448, True, 0xDEADBEEF)


@pytest.mark.parametrize("raw,message", [
    (bytes(39), "truncated header"),
    (bytes.fromhex("40000000") + bytes(36), "version field is 4"),
    (build_ipv6(A, B, 17, b"abcd")[:43], "runs beyond"),
    (build_ipv6(A, B, NH_HOPOPTS, b"\x11\x00\x01\x04\x00\x00"), "truncated"),
    (build_ipv6(A, B, NH_DSTOPTS, b"\x11\x01" + bytes(6)), "says 16 bytes"),
    (build_ipv6(A, B, NH_DSTOPTS, b"\x11\x00\x05\x09" + bytes(4)), "runs beyond its header"),
    (build_ipv6(A, B, NH_HOPOPTS, b"")[:4] + b"\x00\x00" + bytes(34), "jumbogram"),
])
def test_malformed_packets_raise_ipv6error(raw: bytes, message: str) -> None:
    with pytest.raises(IPv6Error, match=message):
        parse_ipv6(raw)


@pytest.mark.parametrize("call", [
    lambda: build_ipv6(A, B, 256, b""),
    lambda: build_ipv6(A, B, 17, b"", hop_limit=-1),
    lambda: build_ipv6(A, B, 17, b"", flow_label=1 << 20),
    lambda: build_ipv6(A, B, 17, bytes(65536)),
    lambda: build_ipv6("::1", B, 17, b""),  # type: ignore[arg-type]
    lambda: fragment_header(17, 7, False, 0),
    lambda: routing_header(17, 0, 0, b"abc"),
    lambda: options_header(17, [(1, bytes(256))]),
])
def test_builders_refuse_out_of_range_fields(call: Callable[[], object]) -> None:
    with pytest.raises(IPv6Error):
        call()


def test_link_local_solicited_node_and_multicast_mac() -> None:
    # RFC 4291 Appendix A: 52:54:00:12:34:56 -> 5054:00ff:fe12:3456 (u/l bit inverted)
    mac = MacAddress("52:54:00:12:34:56")
    assert ipv6.link_local(mac) == B
    assert ipv6.solicited_node(B) == IPv6Address("ff02::1:ff12:3456")
    assert ipv6.multicast_mac(IPv6Address("ff02::1:ff12:3456")) == bytes.fromhex("3333ff123456")
    assert ipv6.link_local(MacAddress("02:00:00:00:00:01")) == IPv6Address("fe80::ff:fe00:1")
    with pytest.raises(IPv6Error):
        ipv6.multicast_mac(A)


# --- ICMPv6 ------------------------------------------------------------------------------

def test_icmpv6_checksum_covers_the_pseudo_header() -> None:
    raw = icmpv6.echo(icmpv6.ECHO_REQUEST, 0x1234, 7, b"hi").build(A, B)
    pseudo = A.packed + B.packed + len(raw).to_bytes(4, "big") + bytes(3) + b"\x3a"
    assert reference_checksum(pseudo + raw) == 0
    msg = parse_icmpv6(raw, A, B)
    assert (msg.type, msg.identifier, msg.sequence, msg.payload) == (128, 0x1234, 7, b"hi")
    with pytest.raises(ICMPv6ChecksumError):
        parse_icmpv6(raw, A, IPv6Address("2001:db8::2"))


def test_errors_quote_up_to_the_minimum_mtu_and_carry_mtu_or_pointer() -> None:
    big = build_ipv6(A, B, NH_UDP, build_udp(A, B, 1, 2, bytes(1400)))
    ptb = icmpv6.error(icmpv6.PACKET_TOO_BIG, 0, big, 1280)
    raw = ptb.build(B, A)
    assert 40 + len(raw) == 1280  # RFC 4443 §2.4 (c)
    back = parse_icmpv6(raw, B, A)
    assert back.mtu == 1280 and back.is_error
    quoted = back.quoted_ipv6()
    assert (quoted.src, quoted.dst, quoted.next_header) == (A, B, NH_UDP)
    pp = icmpv6.error(icmpv6.PARAMETER_PROBLEM, icmpv6.PARAM_NEXT_HEADER, big, 6)
    assert parse_icmpv6(pp.build(B, A)).pointer == 6
    with pytest.raises(ICMPv6Error):
        icmpv6.error(icmpv6.TIME_EXCEEDED, 0, big, 5)  # its field is unused
    with pytest.raises(ICMPv6Error):
        icmpv6.error(icmpv6.ECHO_REQUEST, 0, big)


def test_udp_over_ipv6_checksum() -> None:
    raw = build_udp(A, B, 5000, 53, b"query")
    pseudo = A.packed + B.packed + len(raw).to_bytes(4, "big") + bytes(3) + b"\x11"
    assert reference_checksum(pseudo + raw) == 0
    assert parse_udp(raw, A, B).payload == b"query"


# --- neighbour discovery -----------------------------------------------------------------

MAC = MacAddress("02:00:00:00:00:01")


@pytest.mark.parametrize("message", [
    nd.RouterSolicitation((nd.LinkLayerOption(nd.OPT_SOURCE_LLA, MAC),)),
    nd.RouterAdvertisement(64, True, False, 1800, 30000, 1000, (
        nd.LinkLayerOption(nd.OPT_SOURCE_LLA, MAC), nd.MTUOption(1500),
        nd.PrefixInformation(64, True, True, 86400, 14400, IPv6Address("2001:db8::")),
        nd.UnknownNDOption(200, bytes(6)))),
    nd.NeighborSolicitation(A, (nd.LinkLayerOption(nd.OPT_SOURCE_LLA, MAC),)),
    nd.NeighborSolicitation(A),
    nd.NeighborAdvertisement(A, True, True, False,
                             (nd.LinkLayerOption(nd.OPT_TARGET_LLA, MAC),)),
])
def test_nd_messages_round_trip(message: nd.NDMessage) -> None:
    raw = message.message().build(B, A)
    assert nd.parse_nd(parse_icmpv6(raw, B, A)) == message


@pytest.mark.parametrize("body,message", [
    (bytes(16) + b"\x01\x00" + bytes(6), "length zero"),
    (bytes(16) + b"\x01\x02" + bytes(6), "says 16 bytes"),
    (bytes(16) + b"\x05\x02" + bytes(14), "wrong length"),
    (bytes(15), "shorter than 24"),
    (bytes(16) + b"\x01", "truncated"),
])
def test_malformed_nd_raises_nderror(body: bytes, message: str) -> None:
    with pytest.raises(NDError, match=message):
        nd.parse_nd(ICMPv6Message(icmpv6.NEIGHBOR_SOLICITATION, 0, bytes(4), body))


# --- fuzz: every parser parses or raises its WireError -----------------------------------

def parse_all(data: bytes) -> None:
    p = parse_ipv6(data)
    if p.next_header == NH_ICMPV6:
        msg = parse_icmpv6(p.payload)
        if 133 <= msg.type <= 136:
            nd.parse_nd(msg)
        if msg.is_error:
            msg.quoted_ipv6()


@st.composite
def valid_packets(draw: st.DrawFn) -> bytes:
    src, dst = draw(addrs), draw(addrs)
    kind = draw(st.integers(0, 3))
    if kind == 0:
        body = draw(chains())[0]
        return build_ipv6(src, dst, NH_HOPOPTS if body and body[0] else NH_UDP, body)
    if kind == 1:
        msg = nd.NeighborAdvertisement(draw(addrs), True, False, True,
                                       (nd.LinkLayerOption(2, draw(macs)),)).message()
    elif kind == 2:
        msg = nd.RouterAdvertisement(options=(nd.MTUOption(1500), nd.PrefixInformation(
            64, True, True, 1, 1, draw(addrs)))).message()
    else:
        msg = icmpv6.error(icmpv6.DEST_UNREACHABLE, 4, build_ipv6(dst, src, NH_UDP, bytes(8)))
    return build_ipv6(src, dst, NH_ICMPV6, msg.build(src, dst))


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(valid_packets()))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.integers(0, 3))
        i = draw(st.integers(0, max(0, len(data) - 1)))
        if op == 0 and data:
            data[i] ^= 1 << draw(st.integers(0, 7))
        elif op == 1 and data:
            data[i] = draw(st.integers(0, 255))
        elif op == 2:
            data[i:i] = draw(st.binary(min_size=1, max_size=8))
        else:
            del data[i:]
    return bytes(data)


@FUZZ
@given(st.one_of(st.binary(max_size=120), mutated()))
def test_bad_input_raises_wireerror_not_a_crash(data: bytes) -> None:
    try:
        parse_all(data)
    except WireError as exc:
        assert isinstance(exc, (IPv6Error, ICMPv6Error)), exc
        assert str(exc).split(":")[0] in ("IPv6", "ICMPv6", "ND"), exc


def test_packet_build_keeps_extensions() -> None:
    p = IPv6Packet(A, B, NH_UDP, b"x")
    assert parse_ipv6(p.build()).payload == b"x"
