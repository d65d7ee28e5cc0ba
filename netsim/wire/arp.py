"""ARP for IPv4 over Ethernet (RFC 826)."""

from __future__ import annotations

import struct
from ipaddress import IPv4Address
from typing import NamedTuple

from netsim.wire.errors import ArpError
from netsim.wire.ipv4 import ip_from_bytes
from netsim.wire.mac import ZERO, MacAddress, mac_from_bytes

OP_REQUEST = 1
OP_REPLY = 2
HTYPE_ETHERNET = 1
PTYPE_IPV4 = 0x0800
ARP_LEN = 28

_ARP = struct.Struct("!HHBBH6s4s6s4s")


class ArpPacket(NamedTuple):
    op: int
    sender_mac: MacAddress
    sender_ip: IPv4Address
    target_mac: MacAddress
    target_ip: IPv4Address

    def build(self) -> bytes:
        if self.op not in (OP_REQUEST, OP_REPLY):
            raise ArpError(f"ARP: operation {self.op} is neither request (1) nor reply (2)")
        # struct's "6s" would silently pad or cut a wrong-sized address: refuse it instead.
        for name in ("sender_mac", "target_mac"):
            mac = getattr(self, name)
            if not isinstance(mac, (bytes, bytearray)) or len(mac) != 6:
                raise ArpError(f"ARP: {name} must be 6 bytes, got {mac!r}")
        for name in ("sender_ip", "target_ip"):
            if not isinstance(getattr(self, name), IPv4Address):
                raise ArpError(f"ARP: {name} must be an IPv4Address, got {getattr(self, name)!r}")
        return _ARP.pack(HTYPE_ETHERNET, PTYPE_IPV4, 6, 4, self.op, bytes(self.sender_mac),
                         self.sender_ip.packed, bytes(self.target_mac), self.target_ip.packed)

    @property
    def is_gratuitous(self) -> bool:
        return self.sender_ip == self.target_ip

    @classmethod
    def request(cls, sender_mac: MacAddress, sender_ip: IPv4Address,
                target_ip: IPv4Address) -> ArpPacket:
        return cls(OP_REQUEST, sender_mac, sender_ip, ZERO, target_ip)

    @classmethod
    def reply(cls, sender_mac: MacAddress, sender_ip: IPv4Address, target_mac: MacAddress,
              target_ip: IPv4Address) -> ArpPacket:
        return cls(OP_REPLY, sender_mac, sender_ip, target_mac, target_ip)


def parse_arp(data: bytes) -> ArpPacket:
    """Parse an ARP packet; trailing link padding is ignored."""
    if len(data) < ARP_LEN:
        raise ArpError(f"ARP: truncated packet: {len(data)} of {ARP_LEN} bytes")
    htype, ptype, hlen, plen, op, sha, spa, tha, tpa = _ARP.unpack_from(data, 0)
    if htype != HTYPE_ETHERNET or ptype != PTYPE_IPV4 or hlen != 6 or plen != 4:
        raise ArpError(
            f"ARP: not IPv4 over Ethernet (htype {htype}, ptype 0x{ptype:04x}, "
            f"hlen {hlen}, plen {plen})"
        )
    if op not in (OP_REQUEST, OP_REPLY):
        raise ArpError(f"ARP: unknown operation {op}")
    return ArpPacket(op, mac_from_bytes(sha), ip_from_bytes(spa), mac_from_bytes(tha),
                     ip_from_bytes(tpa))
