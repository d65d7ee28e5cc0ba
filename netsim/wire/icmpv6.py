"""ICMPv6 (RFC 4443): echo, destination unreachable, packet too big, time exceeded,
parameter problem; the checksum covers the IPv6 pseudo-header (RFC 4443 §2.3 message
checksum calculation). Neighbour discovery messages are ICMPv6 messages too: netsim/wire/nd.py.
"""

from __future__ import annotations

import struct
from ipaddress import IPv6Address
from typing import Final, NamedTuple

from netsim.wire.checksum import internet_checksum, pseudo_header_sum
from netsim.wire.errors import ICMPv6ChecksumError, ICMPv6Error, IPv6Error
from netsim.wire.ipv6 import HEADER_LEN as IPV6_HEADER_LEN
from netsim.wire.ipv6 import MIN_MTU, NH_ICMPV6, IPv6Packet, parse_ipv6

DEST_UNREACHABLE: Final = 1
PACKET_TOO_BIG: Final = 2
TIME_EXCEEDED: Final = 3
PARAMETER_PROBLEM: Final = 4
ECHO_REQUEST: Final = 128
ECHO_REPLY: Final = 129
ROUTER_SOLICITATION: Final = 133
ROUTER_ADVERTISEMENT: Final = 134
NEIGHBOR_SOLICITATION: Final = 135
NEIGHBOR_ADVERTISEMENT: Final = 136
REDIRECT: Final = 137

# Destination unreachable codes (RFC 4443 §3.1)
UNREACH_NO_ROUTE: Final = 0
UNREACH_ADMIN: Final = 1
UNREACH_BEYOND_SCOPE: Final = 2
UNREACH_ADDRESS: Final = 3
UNREACH_PORT: Final = 4
# Time exceeded codes (RFC 4443 §3.3)
HOP_LIMIT_EXCEEDED: Final = 0
REASSEMBLY_EXCEEDED: Final = 1
# Parameter problem codes (RFC 4443 §3.4)
PARAM_HEADER_FIELD: Final = 0
PARAM_NEXT_HEADER: Final = 1
PARAM_OPTION: Final = 2

TYPE_NAMES: Final = {
    DEST_UNREACHABLE: "destination unreachable", PACKET_TOO_BIG: "packet too big",
    TIME_EXCEEDED: "time exceeded", PARAMETER_PROBLEM: "parameter problem",
    ECHO_REQUEST: "echo request", ECHO_REPLY: "echo reply",
    ROUTER_SOLICITATION: "router solicitation", ROUTER_ADVERTISEMENT: "router advertisement",
    NEIGHBOR_SOLICITATION: "neighbor solicitation",
    NEIGHBOR_ADVERTISEMENT: "neighbor advertisement", REDIRECT: "redirect"}

HEADER_LEN: Final = 8
#: RFC 4443 §2.4 (c): an error quotes as much of the invoking packet as fits in a packet of
#: the minimum IPv6 MTU
MAX_QUOTE: Final = MIN_MTU - IPV6_HEADER_LEN - HEADER_LEN
_REST: Final = struct.Struct("!HH")
_U32: Final = struct.Struct("!I")


class ICMPv6Message(NamedTuple):
    """An ICMPv6 message (RFC 4443 §2.1): type, code, the 4 bytes after the checksum
    (identifier and sequence of an echo, MTU of packet too big, pointer of a parameter
    problem), then the body."""

    type: int
    code: int
    rest: bytes
    payload: bytes
    checksum: int = 0

    def build(self, src: IPv6Address, dst: IPv6Address) -> bytes:
        """The message's bytes with the checksum over the pseudo-header of `src` and `dst`
        (RFC 8200 §8.1 upper-layer checksums)."""
        if len(self.rest) != 4:
            raise ICMPv6Error("ICMPv6: the 4 bytes after the checksum must be 4 bytes")
        if not (0 <= self.type <= 255 and 0 <= self.code <= 255):
            raise ICMPv6Error("ICMPv6: type and code must be 0..255")
        if not isinstance(src, IPv6Address) or not isinstance(dst, IPv6Address):
            raise ICMPv6Error(f"ICMPv6: pseudo-header addresses must be IPv6Address values, "
                              f"got {src!r} and {dst!r}")
        head = bytes((self.type, self.code, 0, 0)) + self.rest
        length = len(head) + len(self.payload)
        csum = internet_checksum(head + self.payload,
                                 pseudo_header_sum(src, dst, NH_ICMPV6, length))
        return head[:2] + csum.to_bytes(2, "big") + self.rest + self.payload

    @property
    def is_error(self) -> bool:
        """RFC 4443 §2.1, the general message format: types 0..127 are errors, 128..255
        informational."""
        return self.type < 128

    @property
    def identifier(self) -> int:
        return (self.rest[0] << 8) | self.rest[1]

    @property
    def sequence(self) -> int:
        return (self.rest[2] << 8) | self.rest[3]

    @property
    def mtu(self) -> int:
        """The MTU of a packet too big message (RFC 4443 §3.2)."""
        return int.from_bytes(self.rest, "big")

    @property
    def pointer(self) -> int:
        """The pointer of a parameter problem message (RFC 4443 §3.4)."""
        return int.from_bytes(self.rest, "big")

    @property
    def type_name(self) -> str:
        return TYPE_NAMES.get(self.type, f"type {self.type}")

    def quoted_ipv6(self) -> IPv6Packet:
        """The invoking packet quoted by an error message, cut where the quote ends."""
        if not self.is_error:
            raise ICMPv6Error(f"ICMPv6: type {self.type} ({self.type_name}) quotes no packet")
        body = self.payload
        if len(body) < IPV6_HEADER_LEN:
            raise ICMPv6Error(f"ICMPv6: quoted packet of {len(body)} bytes is shorter than an "
                              "IPv6 header")
        quoted = min(len(body) - IPV6_HEADER_LEN, 0xFFFF)
        head = body[:4] + quoted.to_bytes(2, "big") + body[6:IPV6_HEADER_LEN + quoted]
        try:
            return parse_ipv6(head)
        except IPv6Error as exc:
            raise ICMPv6Error(f"ICMPv6: quoted packet: {exc}") from None


def echo(type_: int, identifier: int, sequence: int, payload: bytes = b"") -> ICMPv6Message:
    """An echo request or reply (RFC 4443 §4.1, §4.2)."""
    if type_ not in (ECHO_REQUEST, ECHO_REPLY):
        raise ICMPv6Error(f"ICMPv6: type {type_} is not an echo request (128) or reply (129)")
    if not (0 <= identifier <= 0xFFFF and 0 <= sequence <= 0xFFFF):
        raise ICMPv6Error("ICMPv6: identifier and sequence must be 0..65535")
    return ICMPv6Message(type_, 0, _REST.pack(identifier, sequence), payload)


def error(type_: int, code: int, original: bytes, value: int = 0) -> ICMPv6Message:
    """An error message quoting `original` (RFC 4443 §3). `value` is the MTU of packet too big
    or the pointer of a parameter problem; 0 (unused) in the others."""
    if type_ not in (DEST_UNREACHABLE, PACKET_TOO_BIG, TIME_EXCEEDED, PARAMETER_PROBLEM):
        raise ICMPv6Error(f"ICMPv6: type {type_} is not an error this stack sends (1..4)")
    if not 0 <= code <= 255:
        raise ICMPv6Error(f"ICMPv6: code {code} is not in 0..255")
    if not 0 <= value <= 0xFFFFFFFF:
        raise ICMPv6Error(f"ICMPv6: MTU or pointer {value} is not in 0..2**32-1")
    if value and type_ not in (PACKET_TOO_BIG, PARAMETER_PROBLEM):
        raise ICMPv6Error(f"ICMPv6: type {type_} carries no MTU or pointer (its field is unused)")
    if len(original) < IPV6_HEADER_LEN:
        raise ICMPv6Error("ICMPv6: the quoted packet must hold at least an IPv6 header")
    return ICMPv6Message(type_, code, _U32.pack(value), bytes(original[:MAX_QUOTE]))


def parse_icmpv6(data: bytes, src: IPv6Address | None = None,
                 dst: IPv6Address | None = None) -> ICMPv6Message:
    """Parse an ICMPv6 message; the checksum is verified when both addresses are given
    (RFC 4443 §2.4 (a) rules: a message that fails it is discarded)."""
    if len(data) < HEADER_LEN:
        raise ICMPv6Error(f"ICMPv6: truncated header: {len(data)} of {HEADER_LEN} bytes")
    data = bytes(data)
    if src is not None and dst is not None and internet_checksum(
            data, pseudo_header_sum(src, dst, NH_ICMPV6, len(data))) != 0:
        raise ICMPv6ChecksumError(f"ICMPv6: bad checksum 0x{(data[2] << 8) | data[3]:04x}")
    return ICMPv6Message(data[0], data[1], data[4:8], data[8:], (data[2] << 8) | data[3])
