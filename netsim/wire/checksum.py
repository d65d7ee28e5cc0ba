"""The internet checksum (RFC 1071) and the IPv4 pseudo-header sum.

The one's-complement sum of 16-bit words is computed as a single big-integer
reduction: since 2**16 ≡ 1 (mod 0xFFFF), the big-endian integer value of the
data is congruent to the sum of its 16-bit words modulo 0xFFFF. That is about
six times faster in CPython than summing words from `struct.unpack`
(DESIGN.md §5; benchmarks/bench_wire.py measures it).
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address
from typing import Final

# What parsers and checksums accept: any contiguous bytes (the annotation is enforced in the
# compiled build, so it must say what is really allowed).
BytesLike = bytes | bytearray | memoryview

_from_bytes: Final = int.from_bytes


def word_sum(data: bytes) -> int:
    """A non-negative integer congruent, modulo 0xFFFF, to the sum of the 16-bit big-endian
    words of `data` (padded with a zero byte if odd): reduce it with ``% 0xFFFF``.

    Long data are read as four integers cut at even offsets, each congruent to the sum of its
    own words: reducing four short integers is cheaper than one long one (CPython divides
    digit by digit), about 20% for a full segment.
    """
    n = len(data)
    if n < 512:
        return _from_bytes(data, "big") << 8 if n & 1 else _from_bytes(data, "big")
    q = (n >> 3) << 1  # a quarter of the length, rounded down to an even number
    last = _from_bytes(data[3 * q:], "big")
    if n & 1:
        last <<= 8
    return (_from_bytes(data[:q], "big") + _from_bytes(data[q:2 * q], "big")
            + _from_bytes(data[2 * q:3 * q], "big") + last)


def ones_complement_sum(data: BytesLike, initial: int = 0) -> int:
    """The 16-bit one's-complement sum of `data` (padded with a zero byte if odd) plus `initial`.

    Returns a value in 0..0xFFFF; 0 only when every word (and `initial`) is zero.
    """
    value = word_sum(bytes(data)) + initial
    folded = value % 0xFFFF
    if folded == 0 and value != 0:
        # RFC 1071: end-around carry never turns a non-zero sum into +0; it is -0 (0xFFFF).
        return 0xFFFF
    return folded


def internet_checksum(data: BytesLike, initial: int = 0) -> int:
    """RFC 1071 checksum of `data`: the complement of the one's-complement sum.

    Over data that already carries a correct checksum field the result is 0.
    `initial` adds extra words, e.g. a pseudo-header sum from `pseudo_header_sum`.
    """
    return 0xFFFF - ones_complement_sum(data, initial)


def pseudo_header_sum(src: IPv4Address | IPv6Address, dst: IPv4Address | IPv6Address,
                      protocol: int, length: int) -> int:
    """Sum of the IPv4 pseudo-header words (RFC 9293 §3.1, RFC 768), for `initial` above.

    A 32-bit address is congruent to the sum of its two 16-bit halves modulo 0xFFFF, so
    the integers can be added directly. The same sum serves IPv6 (RFC 8200 §8.1, upper-layer
    checksums): its pseudo-header holds the two 128-bit addresses, a 32-bit upper-layer packet
    length and the next header value, each congruent to the sum of its 16-bit words.
    """
    # _ip is the address as an int, read without the call that int() costs
    return src._ip + dst._ip + protocol + length  # type: ignore[union-attr,no-any-return]


def reference_checksum(data: BytesLike) -> int:
    """A straightforward word-by-word RFC 1071 implementation, kept as the test oracle."""
    data = bytes(data)
    if len(data) % 2:
        data += b"\x00"
    total = 0
    for i in range(0, len(data), 2):
        total += (data[i] << 8) | data[i + 1]
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF
