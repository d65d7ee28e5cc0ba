"""IPv4 headers (RFC 791): every field both ways, options as bytes, and the errors."""

from __future__ import annotations

import copy
import pickle
from ipaddress import IPv4Address

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netsim.wire.checksum import reference_checksum
from netsim.wire.errors import ChecksumError, IPv4ChecksumError, IPv4Error
from netsim.wire.ipv4 import (
    HEADER_LEN,
    PROTO_ICMP,
    PROTO_TCP,
    PROTO_UDP,
    IPv4Packet,
    build_ipv4,
    ip_from_bytes,
    parse_ipv4,
)

SRC = IPv4Address("192.168.1.10")
DST = IPv4Address("10.20.30.40")
ROUTER_ALERT = b"\x94\x04\x00\x00"  # RFC 2113


def header_fields(raw: bytes) -> dict[str, int]:
    """The header decoded by hand from RFC 791 §3.1's diagram, independently of netsim."""
    return {
        "version": raw[0] >> 4, "ihl": raw[0] & 0xF, "dscp": raw[1] >> 2, "ecn": raw[1] & 3,
        "total_length": int.from_bytes(raw[2:4], "big"),
        "identification": int.from_bytes(raw[4:6], "big"),
        "reserved": raw[6] >> 7, "df": (raw[6] >> 6) & 1, "mf": (raw[6] >> 5) & 1,
        "offset_units": int.from_bytes(raw[6:8], "big") & 0x1FFF,
        "ttl": raw[8], "protocol": raw[9], "checksum": int.from_bytes(raw[10:12], "big"),
    }


def with_checksum(header: bytes) -> bytes:
    """Recompute the header checksum of a hand-edited header."""
    header = header[:10] + b"\x00\x00" + header[12:]
    return header[:10] + reference_checksum(header).to_bytes(2, "big") + header[12:]


def test_build_lays_out_every_field() -> None:
    raw = build_ipv4(SRC, DST, PROTO_UDP, b"payload!", ttl=17, identification=0xBEEF, df=True,
                     mf=True, fragment_offset=1480, dscp=46, ecn=3)
    f = header_fields(raw)
    assert f == {"version": 4, "ihl": 5, "dscp": 46, "ecn": 3, "total_length": 28,
                 "identification": 0xBEEF, "reserved": 0, "df": 1, "mf": 1,
                 "offset_units": 1480 // 8, "ttl": 17, "protocol": PROTO_UDP,
                 "checksum": f["checksum"]}
    assert raw[12:16] == SRC.packed and raw[16:20] == DST.packed
    assert raw[20:] == b"payload!"
    # the builder filled the checksum: the header sums to -0
    assert reference_checksum(raw[:20]) == 0


def test_parse_reads_every_field() -> None:
    raw = build_ipv4(SRC, DST, PROTO_TCP, b"abc", ttl=1, identification=7, mf=True,
                     fragment_offset=8, dscp=10, ecn=1, options=ROUTER_ALERT)
    p = parse_ipv4(raw)
    assert (p.version, p.ihl, p.header_len, p.total_length) == (4, 6, 24, 27)
    assert (p.src, p.dst, p.protocol, p.payload) == (SRC, DST, PROTO_TCP, b"abc")
    assert (p.ttl, p.identification, p.df, p.mf, p.fragment_offset) == (1, 7, False, True, 8)
    assert (p.dscp, p.ecn, p.options) == (10, 1, ROUTER_ALERT)
    assert p.checksum == int.from_bytes(raw[10:12], "big")
    assert isinstance(p.src, IPv4Address) and isinstance(p.dst, IPv4Address)
    assert p.is_fragment


packets = st.builds(
    IPv4Packet,
    src=st.integers(0, 2**32 - 1).map(IPv4Address),
    dst=st.integers(0, 2**32 - 1).map(IPv4Address),
    protocol=st.integers(0, 255),
    payload=st.binary(max_size=64),
    ttl=st.integers(0, 255),
    identification=st.integers(0, 0xFFFF),
    df=st.booleans(),
    mf=st.booleans(),
    fragment_offset=st.integers(0, 0x1FFF).map(lambda u: u * 8),
    dscp=st.integers(0, 63),
    ecn=st.integers(0, 3),
    options=st.integers(0, 10).flatmap(lambda n: st.binary(min_size=4 * n, max_size=4 * n)),
    version=st.just(4), ihl=st.just(5), total_length=st.just(0), checksum=st.just(0),
)


@settings(max_examples=400, deadline=None)
@given(packets)
def test_round_trip_every_field(pkt: IPv4Packet) -> None:
    raw = pkt.build()
    assert reference_checksum(raw[:HEADER_LEN + len(pkt.options)]) == 0
    parsed = parse_ipv4(raw)
    expected = pkt._replace(ihl=5 + len(pkt.options) // 4, total_length=len(raw),
                            checksum=int.from_bytes(raw[10:12], "big"))
    assert parsed == expected
    assert parsed.build() == raw


def test_options_are_padded_to_a_word_with_end_of_option_list() -> None:
    raw = build_ipv4(SRC, DST, PROTO_ICMP, b"", options=b"\x01\x07\x03")
    p = parse_ipv4(raw)
    assert p.ihl == 6 and p.options == b"\x01\x07\x03\x00"
    assert build_ipv4(SRC, DST, PROTO_ICMP, b"", options=bytes(40))[0] == 0x4F
    with pytest.raises(IPv4Error, match="44 bytes of options exceed 40"):
        build_ipv4(SRC, DST, PROTO_ICMP, b"", options=bytes(41))


def test_link_padding_beyond_total_length_is_dropped() -> None:
    raw = build_ipv4(SRC, DST, PROTO_UDP, b"data")
    p = parse_ipv4(raw + bytes(22))
    assert p.payload == b"data" and p.total_length == 24


def test_build_recomputes_length_and_checksum_after_replace() -> None:
    p = parse_ipv4(build_ipv4(SRC, DST, PROTO_UDP, b"x" * 10, ttl=64))
    forwarded = p._replace(ttl=63, payload=b"y" * 3)
    q = parse_ipv4(forwarded.build())
    assert q.ttl == 63 and q.total_length == 23 and q.payload == b"yyy"


def test_parse_accepts_bytearray_and_memoryview() -> None:
    raw = build_ipv4(SRC, DST, PROTO_UDP, b"data")
    assert parse_ipv4(bytearray(raw)) == parse_ipv4(memoryview(raw)) == parse_ipv4(raw)


def test_ip_from_bytes_gives_addresses() -> None:
    assert ip_from_bytes(b"\x0a\x00\x00\x01") == IPv4Address("10.0.0.1")
    assert ip_from_bytes(b"\x0a\x00\x00\x01") == ip_from_bytes(bytes([10, 0, 0, 1]))


def test_interned_address_is_the_same_key_as_a_plain_one() -> None:
    # The stack's interned addresses (netsim.wire.address) keep the stdlib's hash, so a
    # user's IPv4Address finds what the stack stored, and the other way round; pickling and
    # copying give back an equal address (pickled as a plain IPv4Address).
    addr = ip_from_bytes(bytes([10, 0, 0, 7]))
    plain = IPv4Address("10.0.0.7")
    assert hash(addr) == hash(plain) and addr == plain
    assert {addr: "x"}[plain] == "x" and {plain: "y"}[addr] == "y"
    assert addr in {plain} and plain in frozenset((addr,))
    assert ip_from_bytes(bytes([10, 0, 0, 8])) not in {plain}
    back = pickle.loads(pickle.dumps(addr))
    assert type(back) is IPv4Address and back == addr
    assert copy.copy(addr) == addr and copy.deepcopy(addr) == addr
    assert repr(addr) == "IPv4Address('10.0.0.7')"


# --- malformed input: each error names what is wrong ----------------------------------------

GOOD = build_ipv4(SRC, DST, PROTO_UDP, b"0123456789", options=ROUTER_ALERT)


@pytest.mark.parametrize("raw, message", [
    (GOOD[:19], "truncated header: 19 of 20"),
    (with_checksum(b"\x66" + GOOD[1:24]) + GOOD[24:], "version field is 6"),
    (with_checksum(b"\x44" + GOOD[1:24]) + GOOD[24:], "bad IHL 4"),
    (with_checksum(b"\x4f" + GOOD[1:24]) + GOOD[24:], "IHL 15 says 60 header bytes but only 34"),
    (with_checksum(GOOD[:2] + (23).to_bytes(2, "big") + GOOD[4:24]) + GOOD[24:],
     "total length 23 is shorter than the header"),
    (GOOD[:30], "total length 34 runs beyond the 30 bytes"),
    (with_checksum(GOOD[:6] + bytes([GOOD[6] | 0x80]) + GOOD[7:24]) + GOOD[24:],
     "reserved flag"),
])
def test_malformed_headers_raise_ipv4error(raw: bytes, message: str) -> None:
    with pytest.raises(IPv4Error, match=message):
        parse_ipv4(raw)


def test_bad_checksum_is_reported_only_when_verifying() -> None:
    bad = GOOD[:8] + bytes([GOOD[8] ^ 0x01]) + GOOD[9:]  # TTL changed, checksum not updated
    with pytest.raises(IPv4ChecksumError, match="bad header checksum") as info:
        parse_ipv4(bad)
    assert isinstance(info.value, ChecksumError) and isinstance(info.value, IPv4Error)
    assert parse_ipv4(bad, verify_checksum=False).ttl == GOOD[8] ^ 0x01
    # the payload is not covered by the header checksum
    assert parse_ipv4(GOOD[:-1] + b"X").payload == b"012345678X"


def test_checksum_covers_the_options() -> None:
    bad = GOOD[:21] + b"\x05" + GOOD[22:]
    with pytest.raises(IPv4ChecksumError):
        parse_ipv4(bad)


@pytest.mark.parametrize("kwargs, message", [
    ({"ttl": 256}, "TTL 256"),
    ({"ttl": -1}, "TTL -1"),
    ({"dscp": 64}, "DSCP"),
    ({"ecn": 4}, "ECN"),
    ({"identification": 0x10000}, "identification"),
    ({"fragment_offset": 7}, "fragment offset 7"),
    ({"fragment_offset": 65536}, "fragment offset 65536"),
    ({"fragment_offset": -8}, "fragment offset -8"),
])
def test_builder_rejects_out_of_range_fields(kwargs: dict[str, int], message: str) -> None:
    with pytest.raises(IPv4Error, match=message):
        build_ipv4(SRC, DST, PROTO_UDP, b"", **kwargs)  # type: ignore[arg-type]


def test_builder_rejects_bad_protocol_length_and_addresses() -> None:
    with pytest.raises(IPv4Error, match="protocol 256"):
        build_ipv4(SRC, DST, 256, b"")
    with pytest.raises(IPv4Error, match="total length 65536 exceeds 65535"):
        build_ipv4(SRC, DST, PROTO_UDP, bytes(65536 - HEADER_LEN))
    assert len(build_ipv4(SRC, DST, PROTO_UDP, bytes(65535 - HEADER_LEN))) == 65535
    with pytest.raises(IPv4Error, match="IPv4Address"):
        build_ipv4("10.0.0.1", DST, PROTO_UDP, b"")  # type: ignore[arg-type]


def test_fragment_offset_is_in_bytes_as_tcpdump_prints_it() -> None:
    p = parse_ipv4(build_ipv4(SRC, DST, PROTO_UDP, b"", fragment_offset=0x1FFF * 8))
    assert p.fragment_offset == 65528 and p.is_fragment
    assert not parse_ipv4(build_ipv4(SRC, DST, PROTO_UDP, b"", df=True)).is_fragment
