"""Ethernet II frames, the MAC address type, and ARP (RFC 826)."""

from __future__ import annotations

from ipaddress import IPv4Address

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netsim.errors import NetsimError, UsageError
from netsim.wire.arp import (
    ARP_LEN,
    OP_REPLY,
    OP_REQUEST,
    ArpPacket,
    parse_arp,
)
from netsim.wire.errors import ArpError, EthernetError, WireError
from netsim.wire.ethernet import (
    DEFAULT_MTU,
    ETHERTYPE_ARP,
    ETHERTYPE_IPV4,
    HEADER_LEN,
    MIN_FRAME_LEN,
    EthernetFrame,
    build_ethernet,
    parse_ethernet,
)
from netsim.wire.mac import BROADCAST, ZERO, MacAddress, mac_from_bytes

A = MacAddress("02:00:00:00:00:0a")
B = MacAddress("02:00:00:00:00:0b")
IP_A = IPv4Address("10.0.0.1")
IP_B = IPv4Address("10.0.0.2")

macs = st.binary(min_size=6, max_size=6).map(MacAddress)
ipv4s = st.integers(0, 2**32 - 1).map(IPv4Address)


# --- MAC addresses -------------------------------------------------------------------------

def test_mac_from_text_and_bytes_is_the_same_value() -> None:
    m = MacAddress("02:1A:b3:00:ff:09")
    assert m == MacAddress("02-1a-b3-00-ff-09") == MacAddress(bytes.fromhex("021ab300ff09"))
    assert str(m) == "02:1a:b3:00:ff:09"
    assert repr(m) == "MacAddress('02:1a:b3:00:ff:09')"
    assert len(m) == 6 and isinstance(m, bytes)
    assert MacAddress(m) is m
    assert {m: 1}[MacAddress("02:1a:b3:00:ff:09")] == 1


@pytest.mark.parametrize("text", [
    "02:00:00:00:00", "02:00:00:00:00:01:02", "02:00:00:00:00:0g", "02:00-00:00:00:01",
    "0200.0000.0001", "02:00:00:00:00:01\n", " 02:00:00:00:00:01", "",
])
def test_mac_rejects_malformed_text(text: str) -> None:
    with pytest.raises(UsageError, match="MAC address"):
        MacAddress(text)


@pytest.mark.parametrize("value", [b"\x00" * 5, b"\x00" * 7, bytearray(3), 12345, None])
def test_mac_rejects_wrong_sizes_and_types(value: object) -> None:
    with pytest.raises(UsageError, match="MAC address"):
        MacAddress(value)


def test_mac_broadcast_multicast_and_local() -> None:
    assert BROADCAST.is_broadcast and BROADCAST.is_multicast
    assert MacAddress("01:00:5e:00:00:01").is_multicast
    assert not A.is_multicast and not A.is_broadcast
    assert MacAddress.local(0x0A0B0C0D) == MacAddress("02:00:0a:0b:0c:0d")
    assert MacAddress.local(1) != MacAddress.local(2)
    assert not MacAddress.local(7).is_multicast
    assert bytes(6) == ZERO


def test_mac_from_bytes_returns_equal_mac_addresses() -> None:
    m = mac_from_bytes(b"\x02\x00\x00\x00\x00\x0a")
    assert isinstance(m, MacAddress) and m == A
    assert mac_from_bytes(bytes(A)) == m


# --- Ethernet ------------------------------------------------------------------------------

def test_ethernet_layout_is_dst_src_ethertype_payload() -> None:
    frame = build_ethernet(B, A, ETHERTYPE_IPV4, b"hello")
    assert frame[0:6] == bytes(B)
    assert frame[6:12] == bytes(A)
    assert frame[12:14] == b"\x08\x00"
    assert frame[14:] == b"hello"


@settings(max_examples=300, deadline=None)
@given(macs, macs, st.integers(0x0600, 0xFFFF), st.binary(max_size=DEFAULT_MTU))
def test_ethernet_round_trip(dst: MacAddress, src: MacAddress, ethertype: int,
                             payload: bytes) -> None:
    frame = EthernetFrame(dst, src, ethertype, payload)
    raw = frame.build()
    assert len(raw) == HEADER_LEN + len(payload)
    parsed = parse_ethernet(raw)
    assert parsed == frame
    assert isinstance(parsed.dst, MacAddress) and isinstance(parsed.src, MacAddress)
    assert parsed.build() == raw


def test_ethernet_pad_brings_short_frames_to_60_bytes() -> None:
    frame = build_ethernet(BROADCAST, A, ETHERTYPE_ARP, b"x" * 28, pad=True)
    assert len(frame) == MIN_FRAME_LEN
    assert frame[14 + 28:] == bytes(MIN_FRAME_LEN - 14 - 28)
    assert len(build_ethernet(BROADCAST, A, ETHERTYPE_ARP, b"x" * 100, pad=True)) == 114
    # without padding a short frame stays short
    assert len(build_ethernet(BROADCAST, A, ETHERTYPE_ARP, b"x" * 28)) == 42


def test_ethernet_mtu_bounds_the_payload() -> None:
    assert len(build_ethernet(B, A, ETHERTYPE_IPV4, bytes(DEFAULT_MTU))) == 1514
    with pytest.raises(EthernetError, match="exceeds the MTU of 1500"):
        build_ethernet(B, A, ETHERTYPE_IPV4, bytes(DEFAULT_MTU + 1))
    assert len(build_ethernet(B, A, ETHERTYPE_IPV4, bytes(9000), mtu=9000)) == 9014
    with pytest.raises(EthernetError, match="MTU of 576"):
        EthernetFrame(B, A, ETHERTYPE_IPV4, bytes(577)).build(mtu=576)


@pytest.mark.parametrize("ethertype", [-1, 0, 0x05DC, 0x05FF, 0x10000])
def test_ethernet_build_rejects_ethertypes_parse_would_refuse(ethertype: int) -> None:
    with pytest.raises(EthernetError, match="EtherType"):
        build_ethernet(B, A, ethertype, b"")


@pytest.mark.parametrize("dst", [b"\x00" * 5, b"\x00" * 7, "02:00:00:00:00:01", "abcdef"])
def test_ethernet_build_rejects_bad_addresses(dst: object) -> None:
    with pytest.raises(EthernetError, match="6 bytes"):
        build_ethernet(dst, A, ETHERTYPE_IPV4, b"")  # type: ignore[arg-type]


def test_ethernet_parse_errors_say_what_is_wrong() -> None:
    with pytest.raises(EthernetError, match="truncated header: 13 of 14"):
        parse_ethernet(bytes(13))
    with pytest.raises(EthernetError, match="802.3 length"):
        parse_ethernet(bytes(12) + b"\x00\x2e" + bytes(46))


def test_ethernet_parse_keeps_link_padding_in_the_payload() -> None:
    raw = build_ethernet(B, A, ETHERTYPE_ARP, b"abc", pad=True)
    assert parse_ethernet(raw).payload == b"abc" + bytes(MIN_FRAME_LEN - 17)
    assert parse_ethernet(memoryview(raw)).payload == parse_ethernet(raw).payload


def test_ethertype_names() -> None:
    assert EthernetFrame(B, A, ETHERTYPE_IPV4, b"").ethertype_name == "IPv4"
    assert EthernetFrame(B, A, ETHERTYPE_ARP, b"").ethertype_name == "ARP"
    assert EthernetFrame(B, A, 0x88CC, b"").ethertype_name == "0x88cc"


def test_wire_errors_are_netsim_errors() -> None:
    with pytest.raises(NetsimError):
        parse_ethernet(b"")
    assert issubclass(EthernetError, WireError) and issubclass(ArpError, WireError)


# --- ARP -----------------------------------------------------------------------------------

def test_arp_request_layout_follows_rfc826() -> None:
    raw = ArpPacket.request(A, IP_A, IP_B).build()
    assert len(raw) == ARP_LEN
    assert raw[0:2] == b"\x00\x01"  # ar$hrd: Ethernet
    assert raw[2:4] == b"\x08\x00"  # ar$pro: IPv4
    assert raw[4] == 6 and raw[5] == 4  # ar$hln, ar$pln
    assert raw[6:8] == b"\x00\x01"  # ar$op: request
    assert raw[8:14] == bytes(A) and raw[14:18] == IP_A.packed
    assert raw[18:24] == bytes(6) and raw[24:28] == IP_B.packed


def test_arp_request_and_reply_round_trip() -> None:
    req = ArpPacket.request(A, IP_A, IP_B)
    assert req.op == OP_REQUEST and req.target_mac == ZERO
    parsed = parse_arp(req.build())
    assert parsed == req
    assert isinstance(parsed.sender_mac, MacAddress)
    assert isinstance(parsed.sender_ip, IPv4Address)
    rep = ArpPacket.reply(B, IP_B, A, IP_A)
    assert rep.op == OP_REPLY
    assert parse_arp(rep.build()) == rep
    assert parse_arp(rep.build()).build() == rep.build()


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([OP_REQUEST, OP_REPLY]), macs, ipv4s, macs, ipv4s,
       st.binary(max_size=18))
def test_arp_round_trip_ignores_link_padding(op: int, sha: MacAddress, spa: IPv4Address,
                                             tha: MacAddress, tpa: IPv4Address,
                                             padding: bytes) -> None:
    pkt = ArpPacket(op, sha, spa, tha, tpa)
    assert parse_arp(pkt.build() + padding) == pkt


def test_arp_inside_a_padded_ethernet_frame() -> None:
    frame = build_ethernet(BROADCAST, A, ETHERTYPE_ARP, ArpPacket.request(A, IP_A, IP_B).build(),
                           pad=True)
    eth = parse_ethernet(frame)
    assert eth.ethertype == ETHERTYPE_ARP
    assert parse_arp(eth.payload) == ArpPacket.request(A, IP_A, IP_B)


def test_gratuitous_arp() -> None:
    assert ArpPacket.request(A, IP_A, IP_A).is_gratuitous
    assert not ArpPacket.request(A, IP_A, IP_B).is_gratuitous


def test_arp_parse_errors_say_what_is_wrong() -> None:
    good = ArpPacket.request(A, IP_A, IP_B).build()
    with pytest.raises(ArpError, match="truncated packet: 27 of 28"):
        parse_arp(good[:27])
    with pytest.raises(ArpError, match="htype 6"):
        parse_arp(b"\x00\x06" + good[2:])
    with pytest.raises(ArpError, match="ptype 0x86dd"):
        parse_arp(good[:2] + b"\x86\xdd" + good[4:])
    with pytest.raises(ArpError, match="hlen 8"):
        parse_arp(good[:4] + b"\x08" + good[5:])
    with pytest.raises(ArpError, match="unknown operation 3"):
        parse_arp(good[:6] + b"\x00\x03" + good[8:])


def test_arp_build_rejects_bad_fields() -> None:
    with pytest.raises(ArpError, match="operation 3"):
        ArpPacket(3, A, IP_A, ZERO, IP_B).build()
    # struct's "6s" would silently pad a 5-byte or cut a 7-byte address
    with pytest.raises(ArpError, match="sender_mac must be 6 bytes"):
        ArpPacket(OP_REQUEST, b"\x02" * 5, IP_A, ZERO, IP_B).build()  # type: ignore[arg-type]
    with pytest.raises(ArpError, match="target_mac must be 6 bytes"):
        ArpPacket(OP_REPLY, A, IP_A, b"\x02" * 7, IP_B).build()  # type: ignore[arg-type]
    with pytest.raises(ArpError, match="target_ip must be an IPv4Address"):
        ArpPacket(OP_REPLY, A, IP_A, B, "10.0.0.2").build()  # type: ignore[arg-type]
