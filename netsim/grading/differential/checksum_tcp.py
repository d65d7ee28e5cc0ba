"""Differential check of assignment 01: the checksum and TCP header functions against
netsim's wire code.

Calls of the three functions with buffers at the corners of the one's-complement sum (empty,
one byte, odd lengths, all 0xFF, sums of exactly 0xFFFF and multiples), TCP headers with every
data offset from 0 to 15 (options of random content), the reserved bits and every flag bit
set, 32-bit values at their limits, segments cut short of their header, and checksums over
odd payloads or with one bit or one address changed. It compares the return value (each
field of a parsed header; a ValueError as such) of every call.
"""

from __future__ import annotations

import functools
import struct
from ipaddress import IPv4Address
from typing import Any

from netsim.grading.differential.spec import (
    Call,
    Example,
    Observation,
    Spec,
    more,
    pick,
)
from netsim.grading.differential.values import plain
from netsim.wire.checksum import reference_checksum

FIELDS = ("src_port", "dst_port", "seq", "ack", "data_offset", "flags", "window", "checksum",
          "urgent", "options", "payload")
_FIXED = struct.Struct("!HHIIBBHHH")  # RFC 9293 §3.1 Figure 1, the 20 fixed bytes
ADDRS = ["192.0.2.1", "198.51.100.7", "10.0.0.1", "255.255.255.255", "0.0.0.0"]

RULES = {
    "returned": "the RFC 1071 checksum (one's-complement sum with end-around carry, an odd "
                "byte padded on the right) / the verdict on the TCP checksum over the "
                "pseudo-header (RFC 9293 §3.1)",
    "raised": "a malformed segment raises ValueError, and only then",
    **{f: "each field where RFC 9293 §3.1 Figure 1 places it (flags: byte 13 only; options: "
          "bytes 20 to data_offset*4; payload: the rest)" for f in FIELDS},
}


class Reference:
    """The three functions, computed with netsim's wire code."""

    @staticmethod
    def internet_checksum(data: bytes) -> int:
        return reference_checksum(data)

    @staticmethod
    def parse_tcp_header(segment: bytes) -> dict[str, Any]:
        # The assignment parses the fixed header only; options stay raw bytes (netsim's
        # parse_tcp would also reject malformed options, which the assignment does not ask).
        if len(segment) < 20:
            raise ValueError(f"truncated: {len(segment)} bytes")
        values = _FIXED.unpack_from(segment)
        offset = values[4] >> 4
        if offset < 5 or offset * 4 > len(segment):
            raise ValueError(f"bad data offset {offset}")
        out = dict(zip(FIELDS[:9], (*values[:4], offset, values[5], *values[6:]), strict=True))
        return {**out, "options": bytes(segment[20:offset * 4]),
                "payload": bytes(segment[offset * 4:])}

    @staticmethod
    def tcp_checksum_ok(src_ip: str, dst_ip: str, segment: bytes) -> bool:
        pseudo = IPv4Address(src_ip).packed + IPv4Address(dst_ip).packed + \
            struct.pack("!BBH", 0, 6, len(segment))
        return reference_checksum(pseudo + segment) == 0


@functools.lru_cache(maxsize=128)
def _binary(n: int) -> Any:
    from hypothesis import strategies as st
    return st.binary(min_size=n, max_size=n)


def _header(draw: Any) -> bytes:
    big = [0, 1, 0xFFFFFFFF, 0x80000000, 0x7FFFFFFF, 0x12345678]
    sport = pick(draw, [80, 0, 65535, 443], 0, 65535)
    dport = pick(draw, [51234, 0, 65535], 0, 65535)
    seq = pick(draw, big, 0, 1 << 31)
    ack = pick(draw, big, 0, 1 << 31)
    offset = pick(draw, [5, 6, 8, 15, 4, 0, 1], 0, 15)
    reserved = pick(draw, [0, 0xF, 0x1, 0x8])
    flags = pick(draw, [0x10, 0x02, 0x12, 0x11, 0xFF, 0x80, 0x01, 0x20], 0, 255)
    window = pick(draw, [65535, 0, 1, 0x8000], 0, 65535)
    csum = pick(draw, [0, 0xFFFF, 0x1234], 0, 65535)
    urgent = pick(draw, [0, 1, 0xFFFF], 0, 65535)
    head = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, (offset << 4) | reserved, flags,
                       window, csum, urgent)
    options = draw(_binary(max(0, offset - 5) * 4))
    payload = bytes(i % 251 for i in range(pick(draw, [0, 1, 7, 20], 0, 40)))
    seg = head + bytes(options) + payload
    cut = pick(draw, [len(seg), 20, 19, 0, 4 * offset - 1, 4 * offset], 0, len(seg))
    return seg[:max(0, cut)]


def _buffer(draw: Any) -> bytes:
    kind = pick(draw, ["random", "carry", "sum_ffff", "ff", "zeros", "empty", "one"])
    n = int(pick(draw, [2, 1, 3, 20, 1461], 0, 64))
    if kind == "ff":
        return b"\xff" * n
    if kind == "zeros":
        return bytes(n)
    if kind == "carry":  # the first fold of the carry carries again (0x1FFFF -> 0x10000)
        return bytes(pick(draw, [b"\xff\xff\xff\xff\x00\x01", b"\xff\xfe\xff\xff\x00\x02",
                                 b"\x00\x01" + b"\xff\xff" * 3 + b"\xff\xfe\x00\x02"]))
    if kind == "sum_ffff":  # sums of exactly 0xFFFF (checksum 0)
        return bytes(pick(draw, [b"\xff\xff", b"\x80\x00\x7f\xff", b"\xff\xfe\x00\x01",
                                 b"\x00\x00"]))
    if kind == "empty":
        return b""
    if kind == "one":
        return bytes([pick(draw, [1, 0xFF, 0x80], 0, 255)])
    return bytes(draw(_binary(min(n, 64))))


def examples() -> Any:
    from hypothesis import strategies as st

    @st.composite
    def build(draw: Any) -> Example:
        calls: list[Call] = []
        while more(draw, len(calls), 6, least=3):
            kind = pick(draw, ["internet_checksum", "parse_tcp_header", "tcp_checksum_ok"])
            if kind == "internet_checksum":
                calls.append(Call(kind, (("data", _buffer(draw)),)))
            elif kind == "parse_tcp_header":
                calls.append(Call(kind, (("segment", _header(draw)),)))
            else:
                src, dst = pick(draw, ADDRS), pick(draw, ADDRS)
                seg = bytearray(_header(draw)[:20].ljust(20, b"\0"))
                seg[12] = (5 << 4) | (seg[12] & 0x0F)
                seg += bytes(i % 251 for i in range(pick(draw, [0, 1, 3, 1448, 1449], 0, 60)))
                seg[16:18] = b"\0\0"
                good = Reference.internet_checksum(
                    IPv4Address(src).packed + IPv4Address(dst).packed
                    + struct.pack("!BBH", 0, 6, len(seg)) + bytes(seg))
                seg[16:18] = good.to_bytes(2, "big")
                how = pick(draw, ["good", "bit", "dst", "ffff"])
                if how == "bit":
                    i = pick(draw, [0, len(seg) - 1], 0, len(seg) - 1)
                    seg[i] ^= 1 << pick(draw, [0, 7], 0, 7)
                elif how == "dst":
                    dst = pick(draw, [a for a in ADDRS if a != dst])
                elif how == "ffff" and good == 0:  # 0 and 0xFFFF are the same in 1's compl.
                    seg[16:18] = b"\xff\xff"
                calls.append(Call(kind, (("src_ip", src), ("dst_ip", dst),
                                         ("segment", bytes(seg)))))
        return Example((), tuple(calls))

    return build()


def observe(mod: Any, call: Call) -> Observation:
    fn = getattr(mod, call.method)
    if call.method != "parse_tcp_header":
        return [("returned", plain(fn(*call.values())))]
    try:
        h = fn(*call.values())
    except ValueError:
        return [("raised", "ValueError")]
    get = h.get if isinstance(h, dict) else lambda f: getattr(h, f, "<missing>")
    return [(f, plain(get(f))) for f in FIELDS]


SPEC = Spec("01-checksum-tcp-parsing", "", "", examples, observe, RULES,
            construct=lambda factory, params: factory(), references=[Reference],
            max_examples=200, seed=1)
