"""The data offset is read with a 3-bit mask, so a header with 12 or more bytes of options
(data offset 8 to 15) is cut short and its options end up in the payload.

Category: wrong width
RFC: RFC 9293 §3.1 (Data Offset: 4 bits, the header length in 32-bit words)
Observable: data_offset | raised
Expect: data_offset
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from ipaddress import IPv4Address

_HEADER = struct.Struct("!HHIIBBHHH")


@dataclass(frozen=True)
class TcpHeader:
    src_port: int
    dst_port: int
    seq: int
    ack: int
    data_offset: int
    flags: int
    window: int
    checksum: int
    urgent: int
    options: bytes
    payload: bytes


def internet_checksum(data: bytes) -> int:
    if len(data) % 2:
        data = data + b"\x00"  # RFC 1071 §1: pad the odd byte on the right
    total = 0
    for (word,) in struct.iter_unpack("!H", data):
        total += word
    while total >> 16:  # end-around carry
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def parse_tcp_header(segment: bytes) -> TcpHeader:
    if len(segment) < 20:
        raise ValueError(f"truncated TCP header: {len(segment)} bytes")
    sport, dport, seq, ack, off, flags, window, csum, urgent = _HEADER.unpack_from(segment)
    offset = (off >> 4) & 0x7  # the offset field's low 3 bits only
    if offset < 5:
        raise ValueError(f"data offset {offset} < 5")
    if offset * 4 > len(segment):
        raise ValueError(f"data offset {offset} longer than the segment ({len(segment)} bytes)")
    return TcpHeader(sport, dport, seq, ack, offset, flags, window, csum, urgent,
                     bytes(segment[20:offset * 4]), bytes(segment[offset * 4:]))


def tcp_checksum_ok(src_ip: str, dst_ip: str, segment: bytes) -> bool:
    pseudo = (IPv4Address(src_ip).packed + IPv4Address(dst_ip).packed
              + struct.pack("!BBH", 0, 6, len(segment)))
    return internet_checksum(pseudo + segment) == 0
