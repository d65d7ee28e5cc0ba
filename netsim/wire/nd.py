"""Neighbour discovery messages (RFC 4861 §4 message formats): router solicitation and
advertisement, neighbour solicitation and advertisement, with the source/target link-layer
address, prefix information and MTU options (RFC 4861 §4.6 option formats).

Each message converts to and from an `ICMPv6Message`; this module checks the structure
(lengths, options of non-zero length: RFC 4861 §4.6). The rest of the validation (hop limit
255, code 0, where an option may appear) is the stack's (netsim/stack/nd.py).
"""

from __future__ import annotations

import struct
from ipaddress import IPv6Address
from typing import Final, NamedTuple

from netsim.wire.errors import NDError
from netsim.wire.icmpv6 import (
    NEIGHBOR_ADVERTISEMENT,
    NEIGHBOR_SOLICITATION,
    ROUTER_ADVERTISEMENT,
    ROUTER_SOLICITATION,
    ICMPv6Message,
)
from netsim.wire.ipv6 import ip6_from_bytes
from netsim.wire.mac import MacAddress, mac_from_bytes

OPT_SOURCE_LLA: Final = 1
OPT_TARGET_LLA: Final = 2
OPT_PREFIX_INFO: Final = 3
OPT_REDIRECTED: Final = 4
OPT_MTU: Final = 5

_PREFIX: Final = struct.Struct("!BBBBIII16s")
_RA: Final = struct.Struct("!BBH")
_TIMES: Final = struct.Struct("!II")
_MTU: Final = struct.Struct("!BBHI")

FLAG_ROUTER: Final = 0x80
FLAG_SOLICITED: Final = 0x40
FLAG_OVERRIDE: Final = 0x20


class LinkLayerOption(NamedTuple):
    """Source (1) or target (2) link-layer address (RFC 4861 §4.6.1), for Ethernet a MAC."""

    type: int
    mac: MacAddress

    def encode(self) -> bytes:
        return bytes((self.type, 1)) + bytes(self.mac)


class PrefixInformation(NamedTuple):
    """RFC 4861 §4.6.2 prefix information."""

    prefix_length: int
    on_link: bool
    autonomous: bool
    valid_lifetime: int
    preferred_lifetime: int
    prefix: IPv6Address
    type: int = OPT_PREFIX_INFO

    def encode(self) -> bytes:
        if not 0 <= self.prefix_length <= 128:
            raise NDError(f"ND: prefix length {self.prefix_length} is not in 0..128")
        if not (0 <= self.valid_lifetime <= 0xFFFFFFFF
                and 0 <= self.preferred_lifetime <= 0xFFFFFFFF):
            raise NDError("ND: prefix lifetimes must be 0..2**32-1")
        flags = (0x80 if self.on_link else 0) | (0x40 if self.autonomous else 0)
        return _PREFIX.pack(OPT_PREFIX_INFO, 4, self.prefix_length, flags, self.valid_lifetime,
                            self.preferred_lifetime, 0, self.prefix.packed)


class MTUOption(NamedTuple):
    """RFC 4861 §4.6.4 MTU."""

    mtu: int
    type: int = OPT_MTU

    def encode(self) -> bytes:
        if not 0 <= self.mtu <= 0xFFFFFFFF:
            raise NDError(f"ND: MTU {self.mtu} is not in 0..2**32-1")
        return _MTU.pack(OPT_MTU, 1, 0, self.mtu)


class UnknownNDOption(NamedTuple):
    """An option kept as its bytes after type and length (RFC 4861 §9: options a node does
    not recognize are skipped)."""

    type: int
    data: bytes

    def encode(self) -> bytes:
        if not 0 <= self.type <= 255 or (len(self.data) + 2) % 8 or len(self.data) > 2038:
            raise NDError(f"ND: option {self.type} with {len(self.data)} data bytes does not "
                          "fill whole 8-byte units")
        return bytes((self.type, (len(self.data) + 2) // 8)) + self.data


NDOption = LinkLayerOption | PrefixInformation | MTUOption | UnknownNDOption


def encode_options(options: tuple[NDOption, ...] | list[NDOption]) -> bytes:
    return b"".join(o.encode() for o in options)


def decode_options(data: bytes) -> tuple[NDOption, ...]:
    """RFC 4861 §4.6: options are type, length in units of 8 bytes, value; a length of zero
    is invalid (the whole message is discarded)."""
    out: list[NDOption] = []
    i, n = 0, len(data)
    while i < n:
        if i + 2 > n:
            raise NDError(f"ND: option at offset {i} is truncated")
        otype, units = data[i], data[i + 1]
        if units == 0:
            raise NDError(f"ND: option {otype} at offset {i} has length zero")
        size = units * 8
        if i + size > n:
            raise NDError(f"ND: option {otype} at offset {i} says {size} bytes but {n - i} "
                          "are left")
        raw = data[i:i + size]
        if otype in (OPT_SOURCE_LLA, OPT_TARGET_LLA) and units == 1:
            out.append(LinkLayerOption(otype, mac_from_bytes(raw[2:8])))
        elif otype == OPT_PREFIX_INFO and units == 4:
            _, _, plen, flags, valid, preferred, _, prefix = _PREFIX.unpack(raw)
            if plen > 128:
                raise NDError(f"ND: prefix length {plen} is not in 0..128")
            out.append(PrefixInformation(plen, bool(flags & 0x80), bool(flags & 0x40), valid,
                                         preferred, ip6_from_bytes(prefix)))
        elif otype == OPT_MTU and units == 1:
            out.append(MTUOption(_MTU.unpack(raw)[3]))
        elif otype in (OPT_SOURCE_LLA, OPT_TARGET_LLA, OPT_PREFIX_INFO, OPT_MTU):
            raise NDError(f"ND: option {otype} of {size} bytes has the wrong length")
        else:
            out.append(UnknownNDOption(otype, raw[2:]))
        i += size
    return tuple(out)


class RouterSolicitation(NamedTuple):
    """RFC 4861 §4.1."""

    options: tuple[NDOption, ...] = ()

    def message(self) -> ICMPv6Message:
        return ICMPv6Message(ROUTER_SOLICITATION, 0, bytes(4), encode_options(self.options))


class RouterAdvertisement(NamedTuple):
    """RFC 4861 §4.2. Lifetimes in seconds, reachable time and retrans timer in ms."""

    cur_hop_limit: int = 64
    managed: bool = False
    other: bool = False
    router_lifetime: int = 1800
    reachable_time: int = 0
    retrans_timer: int = 0
    options: tuple[NDOption, ...] = ()

    def message(self) -> ICMPv6Message:
        if not 0 <= self.cur_hop_limit <= 255 or not 0 <= self.router_lifetime <= 0xFFFF:
            raise NDError("ND: hop limit must be 0..255, router lifetime 0..65535")
        if not (0 <= self.reachable_time <= 0xFFFFFFFF
                and 0 <= self.retrans_timer <= 0xFFFFFFFF):
            raise NDError("ND: reachable time and retrans timer must be 0..2**32-1")
        flags = (0x80 if self.managed else 0) | (0x40 if self.other else 0)
        return ICMPv6Message(ROUTER_ADVERTISEMENT, 0,
                             _RA.pack(self.cur_hop_limit, flags, self.router_lifetime),
                             _TIMES.pack(self.reachable_time, self.retrans_timer)
                             + encode_options(self.options))


class NeighborSolicitation(NamedTuple):
    """RFC 4861 §4.3."""

    target: IPv6Address
    options: tuple[NDOption, ...] = ()

    def message(self) -> ICMPv6Message:
        return ICMPv6Message(NEIGHBOR_SOLICITATION, 0, bytes(4),
                             _packed(self.target) + encode_options(self.options))


class NeighborAdvertisement(NamedTuple):
    """RFC 4861 §4.4."""

    target: IPv6Address
    router: bool = False
    solicited: bool = False
    override: bool = False
    options: tuple[NDOption, ...] = ()

    def message(self) -> ICMPv6Message:
        flags = ((FLAG_ROUTER if self.router else 0) | (FLAG_SOLICITED if self.solicited else 0)
                 | (FLAG_OVERRIDE if self.override else 0))
        return ICMPv6Message(NEIGHBOR_ADVERTISEMENT, 0, bytes((flags, 0, 0, 0)),
                             _packed(self.target) + encode_options(self.options))


NDMessage = RouterSolicitation | RouterAdvertisement | NeighborSolicitation | NeighborAdvertisement


def _packed(addr: IPv6Address) -> bytes:
    if not isinstance(addr, IPv6Address):
        raise NDError(f"ND: target must be an IPv6Address, got {addr!r}")
    return addr.packed


def parse_nd(msg: ICMPv6Message) -> NDMessage:
    """The ND message an ICMPv6 message of type 133..136 holds."""
    t, body = msg.type, msg.payload
    if t == ROUTER_SOLICITATION:
        return RouterSolicitation(decode_options(body))
    if t == ROUTER_ADVERTISEMENT:
        if len(body) < 8:
            raise NDError(f"ND: router advertisement of {len(body) + 8} bytes is shorter "
                          "than 16")
        hop, flags, lifetime = _RA.unpack(msg.rest)
        reachable, retrans = _TIMES.unpack_from(body, 0)
        return RouterAdvertisement(hop, bool(flags & 0x80), bool(flags & 0x40), lifetime,
                                   reachable, retrans, decode_options(body[8:]))
    if t in (NEIGHBOR_SOLICITATION, NEIGHBOR_ADVERTISEMENT):
        if len(body) < 16:
            raise NDError(f"ND: neighbor message of {len(body) + 8} bytes is shorter than 24")
        target = ip6_from_bytes(body[:16])
        options = decode_options(body[16:])
        if t == NEIGHBOR_SOLICITATION:
            return NeighborSolicitation(target, options)
        flags = msg.rest[0]
        return NeighborAdvertisement(target, bool(flags & FLAG_ROUTER),
                                     bool(flags & FLAG_SOLICITED), bool(flags & FLAG_OVERRIDE),
                                     options)
    raise NDError(f"ND: ICMPv6 type {t} is not a router or neighbor message (133..136)")


def link_layer_option(options: tuple[NDOption, ...], type_: int) -> MacAddress | None:
    """The MAC of the first source (1) or target (2) link-layer address option."""
    for o in options:
        if isinstance(o, LinkLayerOption) and o.type == type_:
            return o.mac
    return None
