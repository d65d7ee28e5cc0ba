"""ICMPv4 (RFC 792, RFC 1191) and UDP (RFC 768) with the pseudo-header checksum."""

from __future__ import annotations

from ipaddress import IPv4Address

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netsim.wire import icmp
from netsim.wire.checksum import reference_checksum
from netsim.wire.errors import (
    ChecksumError,
    ICMPChecksumError,
    ICMPError,
    UDPChecksumError,
    UDPError,
)
from netsim.wire.icmp import ICMPMessage, echo, error, parse_icmp
from netsim.wire.ipv4 import PROTO_ICMP, PROTO_TCP, PROTO_UDP, build_ipv4, parse_ipv4
from netsim.wire.udp import UDPDatagram, build_udp, parse_udp

SRC = IPv4Address("10.0.0.1")
DST = IPv4Address("10.0.0.2")


def pseudo(src: IPv4Address, dst: IPv4Address, protocol: int, length: int) -> bytes:
    return src.packed + dst.packed + bytes((0, protocol)) + length.to_bytes(2, "big")


# --- ICMP echo -----------------------------------------------------------------------------

@pytest.mark.parametrize("type_", [icmp.ECHO_REQUEST, icmp.ECHO_REPLY])
def test_echo_layout_and_round_trip(type_: int) -> None:
    raw = echo(type_, 0x1234, 0xABCD, b"ping payload").build()
    # RFC 792 "Echo or Echo Reply Message": type, code 0, checksum, identifier, sequence, data
    assert raw[0] == type_ and raw[1] == 0
    assert raw[4:6] == b"\x12\x34" and raw[6:8] == b"\xab\xcd" and raw[8:] == b"ping payload"
    assert reference_checksum(raw) == 0
    msg = parse_icmp(raw)
    assert (msg.type, msg.code, msg.identifier, msg.sequence, msg.payload) == \
        (type_, 0, 0x1234, 0xABCD, b"ping payload")
    assert msg.checksum == int.from_bytes(raw[2:4], "big")
    assert not msg.is_error
    assert msg.build() == raw


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([icmp.ECHO_REQUEST, icmp.ECHO_REPLY]), st.integers(0, 0xFFFF),
       st.integers(0, 0xFFFF), st.binary(max_size=1472))
def test_echo_round_trip_any_values(type_: int, ident: int, seq: int, payload: bytes) -> None:
    msg = echo(type_, ident, seq, payload)
    parsed = parse_icmp(msg.build())
    assert parsed._replace(checksum=0) == msg
    assert (parsed.identifier, parsed.sequence) == (ident, seq)


def test_echo_rejects_bad_values() -> None:
    with pytest.raises(ICMPError, match="type 3 is not an echo"):
        echo(icmp.DEST_UNREACHABLE, 1, 1)
    with pytest.raises(ICMPError, match="identifier and sequence"):
        echo(icmp.ECHO_REQUEST, 0x10000, 1)
    with pytest.raises(ICMPError, match="identifier and sequence"):
        echo(icmp.ECHO_REQUEST, 1, -1)


def test_icmp_parse_errors() -> None:
    raw = echo(icmp.ECHO_REQUEST, 1, 2, b"abcd").build()
    with pytest.raises(ICMPError, match="truncated header: 7 of 8"):
        parse_icmp(raw[:7])
    bad = raw[:-1] + b"X"
    with pytest.raises(ICMPChecksumError, match="bad checksum") as info:
        parse_icmp(bad)
    assert isinstance(info.value, ChecksumError)
    assert parse_icmp(bad, verify_checksum=False).payload == b"abcX"


def test_icmp_build_rejects_bad_fields() -> None:
    with pytest.raises(ICMPError, match="4 bytes"):
        ICMPMessage(8, 0, b"\x00\x01", b"").build()
    with pytest.raises(ICMPError, match="0..255"):
        ICMPMessage(256, 0, bytes(4), b"").build()
    with pytest.raises(ICMPError, match="0..255"):
        ICMPMessage(3, -1, bytes(4), b"").build()


# --- ICMP errors ---------------------------------------------------------------------------

UDP_DGRAM = build_udp(SRC, DST, 5353, 33434, b"traceroute probe payload")
ORIGINAL = build_ipv4(SRC, DST, PROTO_UDP, UDP_DGRAM, ttl=1, identification=99)


@pytest.mark.parametrize("type_, code", [
    (icmp.DEST_UNREACHABLE, icmp.UNREACH_NET),
    (icmp.DEST_UNREACHABLE, icmp.UNREACH_HOST),
    (icmp.DEST_UNREACHABLE, icmp.UNREACH_PROTOCOL),
    (icmp.DEST_UNREACHABLE, icmp.UNREACH_PORT),
    (icmp.DEST_UNREACHABLE, icmp.UNREACH_FRAG_NEEDED),
    (icmp.TIME_EXCEEDED, icmp.TTL_EXCEEDED),
    (icmp.TIME_EXCEEDED, icmp.REASSEMBLY_EXCEEDED),
])
def test_error_quotes_ip_header_and_first_8_bytes(type_: int, code: int) -> None:
    raw = error(type_, code, ORIGINAL).build()
    assert raw[0] == type_ and raw[1] == code and raw[4:8] == bytes(4)
    assert reference_checksum(raw) == 0
    msg = parse_icmp(raw)
    assert msg.is_error and (msg.type, msg.code) == (type_, code)
    # RFC 792: "Internet Header + 64 bits of Original Data Datagram"
    assert msg.payload == ORIGINAL[:20 + 8]
    quoted = msg.quoted_ipv4()
    orig = parse_ipv4(ORIGINAL)
    assert (quoted.src, quoted.dst, quoted.protocol, quoted.identification, quoted.ttl) == \
        (SRC, DST, PROTO_UDP, 99, 1)
    assert quoted.total_length == orig.total_length
    assert quoted.checksum == orig.checksum
    assert quoted.payload == UDP_DGRAM[:8]  # the ports, length and checksum of the UDP header
    assert int.from_bytes(quoted.payload[2:4], "big") == 33434  # destination port


def test_fragmentation_needed_carries_next_hop_mtu() -> None:
    big = build_ipv4(SRC, DST, PROTO_TCP, bytes(1480), df=True)
    raw = error(icmp.DEST_UNREACHABLE, icmp.UNREACH_FRAG_NEEDED, big, next_hop_mtu=1400).build()
    # RFC 1191 §4: unused (16 bits, zero), then the next-hop MTU
    assert raw[4:6] == b"\x00\x00" and raw[6:8] == (1400).to_bytes(2, "big")
    msg = parse_icmp(raw)
    assert msg.next_hop_mtu == 1400 and msg.type_name == "unreachable"
    assert msg.quoted_ipv4().df


def test_error_quote_keeps_ip_options_and_short_originals() -> None:
    with_opts = build_ipv4(SRC, DST, PROTO_UDP, UDP_DGRAM, options=b"\x94\x04\x00\x00")
    msg = parse_icmp(error(icmp.TIME_EXCEEDED, 0, with_opts).build())
    assert msg.payload == with_opts[:24 + 8]
    assert msg.quoted_ipv4().options == b"\x94\x04\x00\x00"
    short = build_ipv4(SRC, DST, PROTO_UDP, b"abc")
    msg = parse_icmp(error(icmp.DEST_UNREACHABLE, icmp.UNREACH_PROTOCOL, short).build())
    assert msg.payload == short and msg.quoted_ipv4().payload == b"abc"


def test_error_rejects_bad_arguments() -> None:
    with pytest.raises(ICMPError, match="type 8 is not an error type"):
        error(icmp.ECHO_REQUEST, 0, ORIGINAL)
    with pytest.raises(ICMPError, match="at least an IPv4 header"):
        error(icmp.TIME_EXCEEDED, 0, ORIGINAL[:19])
    with pytest.raises(ICMPError, match="next-hop MTU 65536"):
        error(icmp.DEST_UNREACHABLE, icmp.UNREACH_FRAG_NEEDED, ORIGINAL, next_hop_mtu=65536)
    with pytest.raises(ICMPError, match="next-hop MTU -1"):
        error(icmp.DEST_UNREACHABLE, icmp.UNREACH_FRAG_NEEDED, ORIGINAL, next_hop_mtu=-1)
    with pytest.raises(ICMPError, match="only in fragmentation-needed"):
        error(icmp.DEST_UNREACHABLE, icmp.UNREACH_PORT, ORIGINAL, next_hop_mtu=1400)
    with pytest.raises(ICMPError, match="only in fragmentation-needed"):
        error(icmp.TIME_EXCEEDED, 0, ORIGINAL, next_hop_mtu=1400)
    with pytest.raises(ICMPError, match="code 256"):
        error(icmp.TIME_EXCEEDED, 256, ORIGINAL)


def test_quoted_ipv4_rejects_what_is_not_a_quote() -> None:
    with pytest.raises(ICMPError, match="quotes no datagram"):
        echo(icmp.ECHO_REPLY, 1, 1, ORIGINAL).quoted_ipv4()
    with pytest.raises(ICMPError, match="shorter than an IPv4 header"):
        ICMPMessage(icmp.TIME_EXCEEDED, 0, bytes(4), ORIGINAL[:12]).quoted_ipv4()
    with pytest.raises(ICMPError, match="version 6"):
        ICMPMessage(icmp.TIME_EXCEEDED, 0, bytes(4), b"\x60" + ORIGINAL[1:28]).quoted_ipv4()
    with pytest.raises(ICMPError, match="bad IHL 15"):
        ICMPMessage(icmp.TIME_EXCEEDED, 0, bytes(4), b"\x4f" + ORIGINAL[1:28]).quoted_ipv4()


def test_icmp_inside_ipv4() -> None:
    pkt = build_ipv4(DST, SRC, PROTO_ICMP, echo(icmp.ECHO_REPLY, 7, 9, b"x" * 56).build())
    ip = parse_ipv4(pkt)
    msg = parse_icmp(ip.payload)
    assert ip.protocol == PROTO_ICMP and msg.type_name == "echo reply"
    assert (msg.identifier, msg.sequence, len(msg.payload)) == (7, 9, 56)


# --- UDP -----------------------------------------------------------------------------------

def test_udp_layout_and_pseudo_header_checksum() -> None:
    raw = build_udp(SRC, DST, 1234, 53, b"query")
    assert raw[0:2] == (1234).to_bytes(2, "big") and raw[2:4] == (53).to_bytes(2, "big")
    assert raw[4:6] == (13).to_bytes(2, "big") and raw[8:] == b"query"
    # RFC 768: the checksum covers the pseudo-header, the header and the data
    assert reference_checksum(pseudo(SRC, DST, PROTO_UDP, 13) + raw) == 0
    d = parse_udp(raw, SRC, DST)
    assert d == UDPDatagram(1234, 53, b"query", 13, int.from_bytes(raw[6:8], "big"))
    assert d.build(SRC, DST) == raw


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 0xFFFF), st.integers(0, 0xFFFF), st.binary(max_size=1500),
       st.integers(0, 2**32 - 1).map(IPv4Address), st.integers(0, 2**32 - 1).map(IPv4Address))
def test_udp_round_trip(sport: int, dport: int, payload: bytes, src: IPv4Address,
                        dst: IPv4Address) -> None:
    raw = build_udp(src, dst, sport, dport, payload)
    assert raw[6:8] != b"\x00\x00"  # zero would mean "no checksum"
    assert reference_checksum(pseudo(src, dst, PROTO_UDP, len(raw)) + raw) == 0
    d = parse_udp(raw, src, dst)
    assert (d.src_port, d.dst_port, d.payload, d.length) == (sport, dport, payload, len(raw))


def test_udp_computed_zero_checksum_is_sent_as_all_ones() -> None:
    # Choose the last payload word so that the one's-complement sum becomes 0xFFFF: the computed
    # checksum is then 0, which RFC 768 transmits as 0xFFFF.
    base = build_udp(SRC, DST, 1000, 2000, b"ab\x00\x00")
    word = base[6:8]
    raw = build_udp(SRC, DST, 1000, 2000, b"ab" + word)
    assert raw[6:8] == b"\xff\xff"
    assert parse_udp(raw, SRC, DST).payload == b"ab" + word


def test_udp_zero_checksum_means_none_was_computed() -> None:
    raw = build_udp(SRC, DST, 1, 2, b"data")
    unchecked = raw[:6] + b"\x00\x00" + raw[8:]
    assert parse_udp(unchecked, SRC, DST).checksum == 0


def test_udp_bad_checksum_and_wrong_pseudo_header() -> None:
    raw = build_udp(SRC, DST, 1, 2, b"data")
    with pytest.raises(UDPChecksumError, match="bad checksum"):
        parse_udp(raw[:-1] + b"b", SRC, DST)
    with pytest.raises(UDPChecksumError):
        parse_udp(raw, SRC, IPv4Address("10.0.0.3"))
    # without both addresses nothing is verified
    assert parse_udp(raw[:-1] + b"b").payload == b"datb"
    assert parse_udp(raw[:-1] + b"b", SRC).payload == b"datb"


def test_udp_parse_errors_and_trailing_bytes() -> None:
    raw = build_udp(SRC, DST, 1, 2, b"data")
    with pytest.raises(UDPError, match="truncated header: 7 of 8"):
        parse_udp(raw[:7])
    with pytest.raises(UDPError, match="length field 7 is shorter than the header"):
        parse_udp(raw[:4] + b"\x00\x07" + raw[6:])
    with pytest.raises(UDPError, match="length field 12 runs beyond the 11 bytes"):
        parse_udp(raw[:11])
    # bytes beyond the UDP length are not part of the datagram
    assert parse_udp(raw + b"junk", SRC, DST).payload == b"data"


def test_udp_build_rejects_bad_fields() -> None:
    with pytest.raises(UDPError, match="ports must be 0..65535"):
        build_udp(SRC, DST, 65536, 1, b"")
    with pytest.raises(UDPError, match="ports must be 0..65535"):
        UDPDatagram(1, -1, b"").build(SRC, DST)
    with pytest.raises(UDPError, match="exceeds 65535"):
        build_udp(SRC, DST, 1, 2, bytes(65528))
    assert len(build_udp(SRC, DST, 1, 2, bytes(65527))) == 65535
    with pytest.raises(UDPError, match="IPv4Address"):
        build_udp("10.0.0.1", DST, 1, 2, b"")  # type: ignore[arg-type]
