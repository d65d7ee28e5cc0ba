"""The pseudo-header's TCP length is the header length (data offset * 4), not the length of the
whole segment.

Category: arithmetic
RFC: RFC 9293 §3.1: TCP Length is the TCP header length plus the data length
Observable: returned
Expect: TCP length
"""

import struct
from dataclasses import dataclass
from ipaddress import IPv4Address


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


def internet_checksum(data):
    if len(data) % 2 == 1:
        data = data + b"\x00"
    total = 0
    for i in range(0, len(data), 2):
        total += (data[i] << 8) | data[i + 1]
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def parse_tcp_header(segment):
    if len(segment) < 20:
        raise ValueError("segment shorter than 20 bytes")
    src_port, dst_port, seq, ack = struct.unpack("!HHII", segment[:12])
    data_offset = segment[12] >> 4
    flags = segment[13]
    window, checksum, urgent = struct.unpack("!HHH", segment[14:20])
    if data_offset < 5:
        raise ValueError("data offset below 5")
    if data_offset * 4 > len(segment):
        raise ValueError("header longer than the segment")
    return TcpHeader(src_port, dst_port, seq, ack, data_offset, flags, window, checksum,
                     urgent, bytes(segment[20:data_offset * 4]),
                     bytes(segment[data_offset * 4:]))


def tcp_checksum_ok(src_ip, dst_ip, segment):
    pseudo = IPv4Address(src_ip).packed + IPv4Address(dst_ip).packed
    header_length = (segment[12] >> 4) * 4
    pseudo += bytes([0, 6]) + header_length.to_bytes(2, "big")
    return internet_checksum(pseudo + segment) == 0
