"""The internet checksum (RFC 1071) and the IPv4 pseudo-header sum."""

from __future__ import annotations

import struct
from ipaddress import IPv4Address

from hypothesis import example, given, settings
from hypothesis import strategies as st

from netsim.wire.checksum import (
    internet_checksum,
    ones_complement_sum,
    pseudo_header_sum,
    reference_checksum,
)

SETTINGS = settings(max_examples=400, deadline=None)


def words_checksum(data: bytes) -> int:
    """A second oracle, independent of `reference_checksum`: sum all words, then fold."""
    if len(data) % 2:
        data += b"\x00"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def test_rfc1071_numerical_example() -> None:
    # RFC 1071 §3: bytes 00 01 f2 03 f4 f5 f6 f7 have the one's-complement sum 0xddf2.
    data = bytes.fromhex("0001f203f4f5f6f7")
    assert ones_complement_sum(data) == 0xDDF2
    assert internet_checksum(data) == 0xFFFF - 0xDDF2 == reference_checksum(data)


@SETTINGS
@given(st.binary(max_size=3000))
@example(b"")
@example(b"\x00")
@example(b"\xff")
@example(b"\xff\xff")
@example(b"\xff\xff" * 701)
@example(b"\x00" * 1460)
@example(b"\x80\x00\x80\x00")  # a carry out of bit 15 wraps around to 0x0001
def test_checksum_matches_reference_implementations(data: bytes) -> None:
    assert internet_checksum(data) == reference_checksum(data) == words_checksum(data)


@SETTINGS
@given(st.binary(min_size=1, max_size=1501).filter(lambda b: len(b) % 2 == 1))
def test_odd_length_is_padded_with_a_zero_byte(data: bytes) -> None:
    assert internet_checksum(data) == internet_checksum(data + b"\x00")
    assert internet_checksum(data) == reference_checksum(data)


def test_all_zero_data_has_checksum_ffff() -> None:
    # The sum of zero words is +0; its complement is 0xFFFF.
    for n in (0, 1, 2, 3, 20, 1460):
        assert ones_complement_sum(bytes(n)) == 0
        assert internet_checksum(bytes(n)) == 0xFFFF


def test_nonzero_data_summing_to_ffff_has_checksum_zero_not_ffff() -> None:
    # 0x0001 + 0xfffe and 0xffff alone sum to 0xFFFF ("-0"); a modulo-0xFFFF reduction would
    # give 0 and a checksum of 0xFFFF, which a receiver would then reject.
    for data in (b"\xff\xff", b"\x00\x01\xff\xfe", b"\x12\x34\xed\xcb", b"\xff\xff" * 730):
        assert ones_complement_sum(data) == 0xFFFF
        assert internet_checksum(data) == 0x0000 == reference_checksum(data)


def test_initial_value_adds_words() -> None:
    data = bytes.fromhex("45000073000040004011")
    assert internet_checksum(data, 0x1234) == internet_checksum(data + b"\x12\x34")
    assert internet_checksum(b"", 0xFFFF) == 0


@SETTINGS
@given(st.binary(max_size=200).map(lambda b: b + b"\x00" * (len(b) % 2)),
       st.integers(0, 100))
def test_data_carrying_its_checksum_verifies_to_zero(data: bytes, at: int) -> None:
    # RFC 1071 §1 (3): a receiver sums the data together with the checksum and gets -0.
    at = (at * 2) % (len(data) + 2)
    blank = data[:at] + b"\x00\x00" + data[at:]
    csum = internet_checksum(blank)
    filled = blank[:at] + csum.to_bytes(2, "big") + blank[at + 2:]
    assert internet_checksum(filled) == 0
    assert reference_checksum(filled) == 0


@SETTINGS
@given(st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1), st.integers(0, 255),
       st.binary(max_size=300))
def test_pseudo_header_sum_equals_summing_the_pseudo_header_bytes(
        src: int, dst: int, protocol: int, data: bytes) -> None:
    # RFC 9293 §3.1: source address, destination address, zero, PTCL, TCP length.
    s, d = IPv4Address(src), IPv4Address(dst)
    pseudo = s.packed + d.packed + bytes((0, protocol)) + len(data).to_bytes(2, "big")
    assert internet_checksum(data, pseudo_header_sum(s, d, protocol, len(data))) == \
        reference_checksum(pseudo + data)


def test_memoryview_and_bytearray_are_accepted() -> None:
    data = bytes(range(255))
    assert internet_checksum(memoryview(data)) == internet_checksum(bytearray(data)) == \
        reference_checksum(data)
