"""OSPF version 2 packets (RFC 2328): parse and build the payload of IP protocol 89.

What netsim speaks of OSPFv2, in its wire formats (RFC 2328 appendix A.3 and A.4), so that
Wireshark reads netsim's frames as OSPF: the 24-byte packet header (appendix A.3.1), Hello
(A.3.2), Link State Update (A.3.5) and Link State Acknowledgment (A.3.6) packets, the LSA
header (A.4.1) and router-LSAs (A.4.2). Database Description and Link State Request packets
(types 2 and 3) are parsed as far as the header and kept as bytes. Only null authentication
(AuType 0) is accepted; a packet with another is an `OspfError`. The routing process uses them
on point-to-point links in the backbone area only, with no Designated Router (a Hello's DR and
BDR are 0.0.0.0).

Two checksums: the packet's is the IP one (RFC 1071) over the whole packet but the 8-byte
authentication field (RFC 2328 appendix A.3.1); an LSA's is the Fletcher checksum of RFC 905
annex B over the LSA but its LS age, so that the age can grow without recomputing it (RFC
2328 §12.1.7 LS checksum). `parse_ospf` checks both, and the layout; what the fields mean (an
area, an interval, a sequence number) is for the routing process (netsim/stack/ospf.py).
"""

from __future__ import annotations

import struct
from ipaddress import IPv4Address, IPv4Network
from itertools import accumulate
from typing import Final, NamedTuple

from netsim.wire.checksum import internet_checksum
from netsim.wire.errors import WireError
from netsim.wire.ipv4 import ip_from_bytes

PROTO_OSPF: Final = 89
ALL_SPF_ROUTERS: Final = IPv4Address("224.0.0.5")
ALL_SPF_ROUTERS_MAC: Final = bytes.fromhex("01005e000005")  # RFC 1112: the group's low bits
VERSION: Final = 2
HELLO: Final = 1
DB_DESCRIPTION: Final = 2
LS_REQUEST: Final = 3
LS_UPDATE: Final = 4
LS_ACK: Final = 5
TYPE_NAMES: Final = {HELLO: "Hello", DB_DESCRIPTION: "Database Description",
                     LS_REQUEST: "Link State Request", LS_UPDATE: "Link State Update",
                     LS_ACK: "Link State Acknowledgment"}
ROUTER_LSA: Final = 1
# router-LSA link types (appendix A.4.2)
LINK_POINT_TO_POINT: Final = 1
LINK_TRANSIT: Final = 2
LINK_STUB: Final = 3
LINK_VIRTUAL: Final = 4
OPTION_E: Final = 0x02  # the router takes AS-external-LSAs (appendix A.2); area 0 is no stub
HEADER_LEN: Final = 24
LSA_HEADER_LEN: Final = 20
MAX_AGE: Final = 3600  # appendix B architectural constants: MaxAge, one hour
INITIAL_SEQUENCE: Final = -0x7FFFFFFF  # 0x80000001 (RFC 2328 §12.1.6 LS sequence number)
MAX_SEQUENCE: Final = 0x7FFFFFFF
BACKBONE: Final = IPv4Address(0)  # area 0.0.0.0

_HDR = struct.Struct("!BBH4s4sHH8s")
_HELLO = struct.Struct("!4sHBBI4s4s")
_LSA_HDR = struct.Struct("!HBB4s4siHH")
_ROUTER = struct.Struct("!BBH")
_LINK = struct.Struct("!4s4sBBH")
_ZERO_AUTH = bytes(8)


class OspfError(WireError):
    pass


class LsaHeader(NamedTuple):
    """The 20-byte LSA header (appendix A.4.1). `seq`, the LS sequence number, is signed
    (RFC 2328 §12.1.6)."""

    age: int
    options: int
    ls_type: int
    ls_id: IPv4Address
    adv_router: IPv4Address
    seq: int
    checksum: int
    length: int

    @property
    def key(self) -> tuple[int, IPv4Address, IPv4Address]:
        """What identifies an LSA, whatever its instance: type, Link State ID, router."""
        return (self.ls_type, self.ls_id, self.adv_router)


class RouterLink(NamedTuple):
    """One link of a router-LSA: a point-to-point link's ID is the neighbour's Router ID and
    its data our interface address; a stub network's ID is its address, its data its mask."""

    link_id: IPv4Address
    link_data: IPv4Address
    type: int
    metric: int


class Lsa(NamedTuple):
    """An LSA as it travels (`raw`), its header, and for a router-LSA its links."""

    header: LsaHeader
    raw: bytes
    links: tuple[RouterLink, ...] = ()
    flags: int = 0

    def aged(self, age: int) -> Lsa:
        """The same LSA with another LS age: the checksum does not cover it."""
        age = min(age, MAX_AGE)
        return Lsa(self.header._replace(age=age), age.to_bytes(2, "big") + self.raw[2:],
                   self.links, self.flags)


class Hello(NamedTuple):
    """A Hello packet's body (appendix A.3.2). No DR or BDR on point-to-point links: 0.0.0.0."""

    mask: IPv4Address
    hello_interval: int
    dead_interval: int
    neighbors: tuple[IPv4Address, ...] = ()
    options: int = OPTION_E
    priority: int = 0
    dr: IPv4Address = IPv4Address(0)
    bdr: IPv4Address = IPv4Address(0)


Body = Hello | tuple[Lsa, ...] | tuple[LsaHeader, ...] | bytes


class OspfPacket(NamedTuple):
    type: int
    router_id: IPv4Address
    area_id: IPv4Address
    body: Body


# ---------------------------------------------------------------------- checksums
def fletcher(data: bytes, offset: int) -> int:
    """The two checksum bytes (as one int) that make `data` check, for a checksum field at
    `offset` holding zero (RFC 905 annex B.3; C0 and C1 summed as integers, then reduced)."""
    length = len(data)
    c0 = sum(data) % 255
    c1 = sum(accumulate(data)) % 255  # C1 adds C0 after each byte
    x = ((length - offset - 1) * c0 - c1) % 255
    x = x or 255
    y = 510 - c0 - x
    if y > 255:
        y -= 255
    return (x << 8) | y


def fletcher_ok(data: bytes) -> bool:
    """RFC 905 annex B.4: both running sums over data carrying its checksum are zero."""
    return sum(data) % 255 == 0 and sum(accumulate(data)) % 255 == 0


def _packet(kind: int, router_id: IPv4Address, area: IPv4Address, body: bytes) -> bytes:
    length = HEADER_LEN + len(body)
    if length > 0xFFFF:
        raise OspfError(f"OSPF: a {length}-byte packet exceeds 65535")
    head = _HDR.pack(VERSION, kind, length, router_id.packed, area.packed, 0, 0, _ZERO_AUTH)
    # appendix A.3.1: the IP checksum of the packet but its 64-bit authentication field
    csum = internet_checksum(head[:16] + body)
    return head[:12] + csum.to_bytes(2, "big") + head[14:] + body


# ---------------------------------------------------------------------- building
def build_router_lsa(router_id: IPv4Address, seq: int, links: tuple[RouterLink, ...] | list[
        RouterLink], age: int = 0, options: int = OPTION_E, flags: int = 0) -> Lsa:
    """A router-LSA (appendix A.4.2): its Link State ID is the router's ID, no TOS metrics."""
    if not INITIAL_SEQUENCE <= seq <= MAX_SEQUENCE:
        raise OspfError(f"OSPF: sequence number {seq} is out of "
                        f"{INITIAL_SEQUENCE}..{MAX_SEQUENCE}")
    if len(links) > 0xFFFF:
        raise OspfError(f"OSPF: {len(links)} links in one router-LSA")
    body = [_ROUTER.pack(flags, 0, len(links))]
    for link in links:
        if not 0 <= link.metric <= 0xFFFF:
            raise OspfError(f"OSPF: link {link.link_id} has metric {link.metric}, not 0..65535")
        body.append(_LINK.pack(link.link_id.packed, link.link_data.packed, link.type, 0,
                               link.metric))
    payload = b"".join(body)
    length = LSA_HEADER_LEN + len(payload)
    head = _LSA_HDR.pack(age, options, ROUTER_LSA, router_id.packed, router_id.packed, seq,
                         0, length)
    # RFC 2328 §12.1.7 LS checksum: Fletcher over the LSA from its Options field, so the
    # checksum field sits 14 bytes into what is summed
    csum = fletcher(head[2:] + payload, 14)
    raw = head[:16] + csum.to_bytes(2, "big") + head[18:] + payload
    header = LsaHeader(age, options, ROUTER_LSA, router_id, router_id, seq, csum, length)
    return Lsa(header, raw, tuple(links), flags)


def build_hello(router_id: IPv4Address, hello: Hello,
                area: IPv4Address = BACKBONE) -> bytes:
    body = _HELLO.pack(hello.mask.packed, hello.hello_interval, hello.options, hello.priority,
                       hello.dead_interval, hello.dr.packed, hello.bdr.packed)
    return _packet(HELLO, router_id, area, body + b"".join(n.packed for n in hello.neighbors))


def build_ls_update(router_id: IPv4Address, lsas: list[Lsa] | tuple[Lsa, ...],
                    area: IPv4Address = BACKBONE) -> bytes:
    return _packet(LS_UPDATE, router_id, area,
                   len(lsas).to_bytes(4, "big") + b"".join(lsa.raw for lsa in lsas))


def build_ls_ack(router_id: IPv4Address, headers: list[LsaHeader] | tuple[LsaHeader, ...],
                 area: IPv4Address = BACKBONE) -> bytes:
    return _packet(LS_ACK, router_id, area, b"".join(
        _LSA_HDR.pack(h.age, h.options, h.ls_type, h.ls_id.packed, h.adv_router.packed, h.seq,
                      h.checksum, h.length) for h in headers))


# ---------------------------------------------------------------------- parsing
def _lsa_header(data: bytes, offset: int) -> LsaHeader:
    age, options, ls_type, ls_id, adv, seq, csum, length = _LSA_HDR.unpack_from(data, offset)
    return LsaHeader(age, options, ls_type, ip_from_bytes(ls_id), ip_from_bytes(adv), seq,
                     csum, length)


def parse_lsa(data: bytes, offset: int = 0) -> Lsa:
    """The LSA at `offset`: its length must fit, its checksum check; a router-LSA's links
    must fill it exactly (their TOS metrics are skipped)."""
    if len(data) - offset < LSA_HEADER_LEN:
        raise OspfError(f"OSPF: {len(data) - offset} bytes left; an LSA header has 20")
    header = _lsa_header(data, offset)
    n = header.length
    if n < LSA_HEADER_LEN or n % 4 or offset + n > len(data):
        raise OspfError(f"OSPF: LSA length {n} (from byte {offset} of {len(data)})")
    raw = bytes(data[offset:offset + n])
    if not fletcher_ok(raw[2:]):
        raise OspfError(f"OSPF: LSA {header.ls_id} from {header.adv_router}: bad checksum")
    if header.ls_type != ROUTER_LSA:
        return Lsa(header, raw)
    if n < LSA_HEADER_LEN + 4:
        raise OspfError(f"OSPF: a {n}-byte router-LSA has no link count")
    flags, _, count = _ROUTER.unpack_from(raw, LSA_HEADER_LEN)
    links = []
    at = LSA_HEADER_LEN + 4
    for i in range(count):
        if at + 12 > n:
            raise OspfError(f"OSPF: router-LSA of {header.adv_router} ends in link {i + 1} "
                            f"of {count}")
        lid, ldata, ltype, tos, metric = _LINK.unpack_from(raw, at)
        links.append(RouterLink(ip_from_bytes(lid), ip_from_bytes(ldata), ltype, metric))
        at += 12 + 4 * tos
    if at != n:
        raise OspfError(f"OSPF: router-LSA of {header.adv_router}: {count} links fill {at} of "
                        f"its {n} bytes")
    return Lsa(header, raw, tuple(links), flags)


def parse_ospf(data: bytes) -> OspfPacket:
    """The packet in an IP payload, or OspfError: too short, a length beyond the data, version
    not 2, an unknown type, authentication other than null, a bad checksum, a body that does
    not fit its type, an LSA that does not parse."""
    data = bytes(data)
    if len(data) < HEADER_LEN:
        raise OspfError(f"OSPF: {len(data)} bytes; the header has {HEADER_LEN}")
    version, kind, length, rid, area, _csum, autype, _auth = _HDR.unpack_from(data)
    if version != VERSION:
        raise OspfError(f"OSPF: version {version}, not 2")
    if kind not in TYPE_NAMES:
        raise OspfError(f"OSPF: packet type {kind} is not 1..5")
    if not HEADER_LEN <= length <= len(data):
        raise OspfError(f"OSPF: packet length {length} with {len(data)} bytes")
    if autype != 0:
        raise OspfError(f"OSPF: authentication type {autype}; only null (0) is supported")
    data = data[:length]
    if internet_checksum(data[:16] + data[24:]):
        raise OspfError("OSPF: bad packet checksum")
    router_id, area_id = ip_from_bytes(rid), ip_from_bytes(area)
    body: Body
    if kind == HELLO:
        if (length - HEADER_LEN - _HELLO.size) % 4 or length < HEADER_LEN + _HELLO.size:
            raise OspfError(f"OSPF: a {length}-byte Hello")
        mask, hi, opts, prio, dead, dr, bdr = _HELLO.unpack_from(data, HEADER_LEN)
        neighbors = tuple(ip_from_bytes(data[i:i + 4])
                          for i in range(HEADER_LEN + _HELLO.size, length, 4))
        body = Hello(ip_from_bytes(mask), hi, dead, neighbors, opts, prio, ip_from_bytes(dr),
                     ip_from_bytes(bdr))
    elif kind == LS_UPDATE:
        if length < HEADER_LEN + 4:
            raise OspfError("OSPF: a Link State Update without its LSA count")
        count = int.from_bytes(data[24:28], "big")
        lsas = []
        at = HEADER_LEN + 4
        for _ in range(count):
            lsa = parse_lsa(data, at)
            lsas.append(lsa)
            at += lsa.header.length
        if at != length:
            raise OspfError(f"OSPF: {count} LSAs fill {at} of the update's {length} bytes")
        body = tuple(lsas)
    elif kind == LS_ACK:
        if (length - HEADER_LEN) % LSA_HEADER_LEN:
            raise OspfError(f"OSPF: {length - HEADER_LEN} bytes of LSA headers")
        body = tuple(_lsa_header(data, i) for i in range(HEADER_LEN, length, LSA_HEADER_LEN))
    else:
        body = data[HEADER_LEN:]
    return OspfPacket(kind, router_id, area_id, body)


def mask_of(network: IPv4Network) -> IPv4Address:
    return IPv4Address(network.netmask)


__all__ = ["ALL_SPF_ROUTERS", "ALL_SPF_ROUTERS_MAC", "BACKBONE", "DB_DESCRIPTION", "HEADER_LEN",
           "HELLO", "INITIAL_SEQUENCE", "LINK_POINT_TO_POINT", "LINK_STUB", "LINK_TRANSIT",
           "LINK_VIRTUAL", "LSA_HEADER_LEN", "LS_ACK", "LS_REQUEST", "LS_UPDATE", "MAX_AGE",
           "MAX_SEQUENCE", "OPTION_E", "PROTO_OSPF", "ROUTER_LSA", "TYPE_NAMES", "VERSION",
           "Hello", "Lsa", "LsaHeader", "OspfError", "OspfPacket", "RouterLink", "build_hello",
           "build_ls_ack", "build_ls_update", "build_router_lsa", "fletcher", "fletcher_ok",
           "mask_of", "parse_lsa", "parse_ospf"]
