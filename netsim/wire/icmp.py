"""ICMPv4 (RFC 792): echo, destination unreachable, time exceeded."""

from __future__ import annotations

import struct
from typing import NamedTuple

from netsim.wire.checksum import internet_checksum
from netsim.wire.errors import ICMPChecksumError, ICMPError, IPv4Error
from netsim.wire.ipv4 import HEADER_LEN as IPV4_HEADER_LEN
from netsim.wire.ipv4 import IPv4Packet, parse_ipv4

ECHO_REPLY = 0
DEST_UNREACHABLE = 3
SOURCE_QUENCH = 4
REDIRECT = 5
ECHO_REQUEST = 8
TIME_EXCEEDED = 11
PARAMETER_PROBLEM = 12

# Destination unreachable codes (RFC 792, RFC 1191 for code 4's next-hop MTU)
UNREACH_NET = 0
UNREACH_HOST = 1
UNREACH_PROTOCOL = 2
UNREACH_PORT = 3
UNREACH_FRAG_NEEDED = 4
UNREACH_ADMIN = 13
# Time exceeded codes
TTL_EXCEEDED = 0
REASSEMBLY_EXCEEDED = 1

ERROR_TYPES = frozenset({DEST_UNREACHABLE, SOURCE_QUENCH, REDIRECT, TIME_EXCEEDED,
                         PARAMETER_PROBLEM})

TYPE_NAMES = {ECHO_REPLY: "echo reply", DEST_UNREACHABLE: "unreachable",
              ECHO_REQUEST: "echo request", TIME_EXCEEDED: "time exceeded",
              SOURCE_QUENCH: "source quench", REDIRECT: "redirect",
              PARAMETER_PROBLEM: "parameter problem"}

HEADER_LEN = 8
_HDR = struct.Struct("!BBHHH")
_REST_MTU = struct.Struct("!HH")  # echo: identifier, sequence; frag-needed: unused, MTU


class ICMPMessage(NamedTuple):
    """An ICMP message: type, code and the 4-byte "rest of header", then the body.

    Echo messages carry identifier and sequence in the rest of header; errors carry the
    original IP header plus at least 8 bytes of its payload in the body.
    """

    type: int
    code: int
    rest: bytes  # the 4 bytes after the checksum
    payload: bytes
    checksum: int = 0

    def build(self) -> bytes:
        if len(self.rest) != 4:
            raise ICMPError("ICMP: the rest-of-header field must be 4 bytes")
        if not (0 <= self.type <= 255 and 0 <= self.code <= 255):
            raise ICMPError("ICMP: type and code must be 0..255")
        head = bytes((self.type, self.code, 0, 0)) + self.rest
        csum = internet_checksum(head + self.payload)
        return head[:2] + csum.to_bytes(2, "big") + self.rest + self.payload

    @property
    def is_error(self) -> bool:
        return self.type in ERROR_TYPES

    @property
    def identifier(self) -> int:
        return (self.rest[0] << 8) | self.rest[1]

    @property
    def sequence(self) -> int:
        return (self.rest[2] << 8) | self.rest[3]

    @property
    def next_hop_mtu(self) -> int:
        """RFC 1191: the next-hop MTU in a fragmentation-needed message (0 if absent)."""
        return (self.rest[2] << 8) | self.rest[3]

    @property
    def type_name(self) -> str:
        return TYPE_NAMES.get(self.type, f"type {self.type}")

    def quoted_ipv4(self) -> IPv4Packet:
        """The original datagram quoted by an error message (RFC 792: "Internet Header + 64
        bits of Original Data Datagram").

        Its `payload` is the quoted leading bytes of the original payload (normally 8: the
        ports of a UDP or TCP header, the identifier of an echo); `total_length` and
        `checksum` are the original's fields, not checked against the quote.
        """
        if self.type not in ERROR_TYPES:
            raise ICMPError(f"ICMP: type {self.type} ({self.type_name}) quotes no datagram")
        body = self.payload
        if len(body) < IPV4_HEADER_LEN:
            raise ICMPError(f"ICMP: quoted datagram of {len(body)} bytes is shorter than an "
                            "IPv4 header")
        if body[0] >> 4 != 4:
            raise ICMPError(f"ICMP: quoted datagram has IP version {body[0] >> 4}, not 4")
        hlen = (body[0] & 0x0F) * 4
        if not IPV4_HEADER_LEN <= hlen <= len(body):
            raise ICMPError(f"ICMP: quoted IPv4 header has bad IHL {hlen // 4} "
                            f"({len(body)} bytes quoted)")
        total = (body[2] << 8) | body[3]
        # The quote is cut short on purpose: parse it with the total length patched to what
        # was quoted, then put the original total length back.
        head = bytes(body[:2]) + min(len(body), 0xFFFF).to_bytes(2, "big") + bytes(body[4:])
        try:
            packet = parse_ipv4(head, verify_checksum=False)
        except IPv4Error as exc:
            raise ICMPError(f"ICMP: quoted datagram: {exc}") from None
        return packet._replace(total_length=total)


def echo(type_: int, identifier: int, sequence: int, payload: bytes = b"") -> ICMPMessage:
    if type_ not in (ECHO_REQUEST, ECHO_REPLY):
        raise ICMPError(f"ICMP: type {type_} is not an echo request (8) or reply (0)")
    if not (0 <= identifier <= 0xFFFF and 0 <= sequence <= 0xFFFF):
        raise ICMPError("ICMP: identifier and sequence must be 0..65535")
    return ICMPMessage(type_, 0, _REST_MTU.pack(identifier, sequence), payload)


def error(type_: int, code: int, original: bytes, next_hop_mtu: int = 0) -> ICMPMessage:
    """An ICMP error quoting the original datagram: its IP header plus 8 bytes of payload.

    `next_hop_mtu` belongs only in a fragmentation-needed message (type 3, code 4).
    """
    if type_ not in ERROR_TYPES:
        raise ICMPError(f"ICMP: type {type_} is not an error type")
    if not 0 <= code <= 255:
        raise ICMPError(f"ICMP: code {code} is not in 0..255")
    if len(original) < 20:
        raise ICMPError("ICMP: the quoted datagram must hold at least an IPv4 header")
    if not 0 <= next_hop_mtu <= 0xFFFF:
        raise ICMPError(f"ICMP: next-hop MTU {next_hop_mtu} is not in 0..65535")
    if next_hop_mtu and (type_, code) != (DEST_UNREACHABLE, UNREACH_FRAG_NEEDED):
        # RFC 792: the field is "unused" (zero) in every other error; RFC 1191 §4 gives it
        # the next-hop MTU in fragmentation-needed only.
        raise ICMPError(f"ICMP: a next-hop MTU goes only in fragmentation-needed (type 3 "
                        f"code 4), not type {type_} code {code}")
    ihl = (original[0] & 0x0F) * 4
    quoted = bytes(original[: max(ihl, 20) + 8])  # RFC 792: internet header + 64 bits of data
    rest = _REST_MTU.pack(0, next_hop_mtu)
    return ICMPMessage(type_, code, rest, quoted)


def parse_icmp(data: bytes, verify_checksum: bool = True) -> ICMPMessage:
    if len(data) < HEADER_LEN:
        raise ICMPError(f"ICMP: truncated header: {len(data)} of {HEADER_LEN} bytes")
    data = bytes(data)
    if verify_checksum and internet_checksum(data) != 0:
        raise ICMPChecksumError(f"ICMP: bad checksum 0x{(data[2] << 8) | data[3]:04x}")
    return ICMPMessage(data[0], data[1], data[4:8], data[8:], (data[2] << 8) | data[3])
