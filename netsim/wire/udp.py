"""UDP (RFC 768) with the IPv4 pseudo-header checksum."""

from __future__ import annotations

import struct
from ipaddress import IPv4Address, IPv6Address
from typing import NamedTuple

from netsim.wire.checksum import internet_checksum, pseudo_header_sum
from netsim.wire.errors import UDPChecksumError, UDPError
from netsim.wire.ipv4 import PROTO_UDP

HEADER_LEN = 8
_HDR = struct.Struct("!HHHH")
_from_bytes = int.from_bytes


class UDPDatagram(NamedTuple):
    src_port: int
    dst_port: int
    payload: bytes
    length: int = 0
    checksum: int = 0

    def build(self, src_ip: IPv4Address, dst_ip: IPv4Address) -> bytes:
        return build_udp(src_ip, dst_ip, self.src_port, self.dst_port, self.payload)


def build_udp(src_ip: IPv4Address | IPv6Address, dst_ip: IPv4Address | IPv6Address,
              src_port: int, dst_port: int, payload: bytes) -> bytes:
    if not (0 <= src_port <= 0xFFFF and 0 <= dst_port <= 0xFFFF):
        raise UDPError(f"UDP: ports must be 0..65535, got {src_port} and {dst_port}")
    if not (isinstance(src_ip, IPv4Address) and isinstance(dst_ip, IPv4Address)
            or isinstance(src_ip, IPv6Address) and isinstance(dst_ip, IPv6Address)):
        raise UDPError(f"UDP: pseudo-header addresses must be two IPv4Address or two "
                       f"IPv6Address values (RFC 8200 §8.1 upper-layer checksums), got "
                       f"{src_ip!r} and {dst_ip!r}")
    length = HEADER_LEN + len(payload)
    if length > 0xFFFF:
        raise UDPError(f"UDP: datagram of {length} bytes exceeds 65535")
    # RFC 768: the checksum covers the pseudo-header, the header and the data (padded with a
    # zero byte to a whole word). Summed as integers: the sum is never 0 (length >= 8).
    data_sum = _from_bytes(payload, "big")
    if len(payload) & 1:
        data_sum <<= 8
    folded = (src_port + dst_port + length
              + pseudo_header_sum(src_ip, dst_ip, PROTO_UDP, length) + data_sum) % 0xFFFF
    # A one's-complement sum of 0xFFFF (folded 0) gives checksum 0, which RFC 768 sends as all
    # ones (zero means "no checksum"); 0xFFFF - 0 is exactly that.
    csum = 0xFFFF - folded
    return _HDR.pack(src_port, dst_port, length, csum) + payload


def parse_udp(data: bytes, src_ip: IPv4Address | IPv6Address | None = None,
              dst_ip: IPv4Address | IPv6Address | None = None) -> UDPDatagram:
    """Parse a UDP datagram; the checksum is verified when both addresses are given."""
    n = len(data)
    if n < HEADER_LEN:
        raise UDPError(f"UDP: truncated header: {n} of {HEADER_LEN} bytes")
    data = bytes(data)
    sport, dport, length, csum = _HDR.unpack_from(data, 0)
    if length < HEADER_LEN:
        raise UDPError(f"UDP: length field {length} is shorter than the header")
    if length > n:
        raise UDPError(f"UDP: length field {length} runs beyond the {n} bytes received")
    # RFC 768: a transmitted checksum of zero means the sender computed none
    if src_ip is not None and dst_ip is not None and csum != 0 and internet_checksum(
            data[:length], pseudo_header_sum(src_ip, dst_ip, PROTO_UDP, length)) != 0:
        raise UDPChecksumError(f"UDP: bad checksum 0x{csum:04x}")
    return UDPDatagram(sport, dport, data[HEADER_LEN:length], length, csum)
