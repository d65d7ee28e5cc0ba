"""RIP version 2 messages (RFC 2453): parse and build the UDP payload on port 520.

A message is a 4-byte header (command, version, two unused bytes) and 1 to 25 route
entries of 20 bytes each (RFC 2453 §3.6 message format; the RIP-2 entry of RFC 2453 §4:
address family, route tag, IP address, subnet mask, next hop, metric). `parse_rip` checks
the layout only and raises `RipError` for a message that is not one; whether an entry's
address and metric make sense is for the routing process to judge, entry by entry.
"""

from __future__ import annotations

import struct
from ipaddress import IPv4Address, IPv4Network
from typing import Final, NamedTuple

from netsim.wire.errors import WireError
from netsim.wire.ipv4 import ip_from_bytes

PORT: Final = 520
ALL_RIP_ROUTERS: Final = IPv4Address("224.0.0.9")  # RFC 2453 §4.5 multicasting
# RFC 1112: an IPv4 multicast group's MAC is 01:00:5e and its low 23 bits
ALL_RIP_ROUTERS_MAC: Final = bytes.fromhex("01005e000009")
REQUEST: Final = 1
RESPONSE: Final = 2
VERSION: Final = 2
AF_INET: Final = 2
AF_AUTH: Final = 0xFFFF  # RFC 2453 §4.1 authentication entry (the first entry only)
INFINITY: Final = 16
MAX_ENTRIES: Final = 25  # per message (RFC 2453 §3.6 message format)
HEADER_LEN: Final = 4
ENTRY_LEN: Final = 20

_HDR = struct.Struct("!BBH")
_RTE = struct.Struct("!HH4s4s4sI")


class RipError(WireError):
    pass


class RipEntry(NamedTuple):
    """One route entry. `family` 2 is IPv4; a whole-table request has one entry of family 0
    and metric 16 (RFC 2453 §3.9.1 request messages)."""

    network: IPv4Network
    metric: int
    next_hop: IPv4Address = IPv4Address(0)  # 0.0.0.0: via the message's sender (§4.4 next hop)
    tag: int = 0
    family: int = AF_INET


class RipMessage(NamedTuple):
    command: int
    entries: tuple[RipEntry, ...]
    version: int = VERSION
    authenticated: bool = False  # it began with an authentication entry (RFC 2453 §4.1)

    def build(self) -> bytes:
        return build_rip(self.command, self.entries, self.version)

    @property
    def whole_table_request(self) -> bool:
        """RFC 2453 §3.9.1: exactly one entry, family 0, metric infinity."""
        return (self.command == REQUEST and len(self.entries) == 1
                and self.entries[0].family == 0 and self.entries[0].metric == INFINITY)


def whole_table_request() -> RipMessage:
    return RipMessage(REQUEST, (RipEntry(IPv4Network("0.0.0.0/0"), INFINITY, family=0),))


def build_rip(command: int, entries: tuple[RipEntry, ...] | list[RipEntry],
              version: int = VERSION) -> bytes:
    if command not in (REQUEST, RESPONSE):
        raise RipError(f"RIP: command {command} is not 1 (request) or 2 (response)")
    if not 1 <= len(entries) <= MAX_ENTRIES:
        raise RipError(f"RIP: {len(entries)} entries; a message holds 1 to {MAX_ENTRIES}")
    out = [_HDR.pack(command, version, 0)]
    for e in entries:
        if not 0 <= e.metric <= 0xFFFFFFFF or not 0 <= e.tag <= 0xFFFF:
            raise RipError(f"RIP: entry {e.network} has metric {e.metric}, tag {e.tag}")
        out.append(_RTE.pack(e.family, e.tag, e.network.network_address.packed,
                             e.network.netmask.packed, e.next_hop.packed, e.metric))
    return b"".join(out)


def _mask_length(mask: bytes) -> int:
    bits = int.from_bytes(mask, "big")
    length = 32 - ((~bits & 0xFFFFFFFF).bit_length())
    if bits != (0xFFFFFFFF << (32 - length)) & 0xFFFFFFFF:
        raise RipError(f"RIP: subnet mask {IPv4Address(mask)} is not contiguous ones")
    return length


# Every update repeats the same networks: each (address, mask) is parsed once (IPv4Network
# objects are immutable, so the parsed ones are shared)
_net_cache: dict[bytes, IPv4Network] = {}


def _network(addr: bytes, mask: bytes) -> IPv4Network:
    key = addr + mask
    net = _net_cache.get(key)
    if net is None:
        length = _mask_length(mask)
        try:
            net = IPv4Network((int.from_bytes(addr, "big"), length))
        except ValueError:
            raise RipError(f"RIP: {IPv4Address(addr)} has bits beyond its /{length} mask"
                           ) from None
        if len(_net_cache) > 65536:
            _net_cache.clear()
        _net_cache[key] = net
    return net


def parse_rip(data: bytes) -> RipMessage:
    """The message in a UDP payload, or RipError: too short, a length that is not whole
    entries, more than 25 entries, an unknown command, version 0, a mask that is not a
    prefix, or an address with bits beyond its mask."""
    n = len(data)
    if n < HEADER_LEN + ENTRY_LEN:
        raise RipError(f"RIP: {n} bytes; a message has a header and at least one entry")
    if (n - HEADER_LEN) % ENTRY_LEN:
        raise RipError(f"RIP: {n - HEADER_LEN} bytes of entries is not a multiple of 20")
    count = (n - HEADER_LEN) // ENTRY_LEN
    if count > MAX_ENTRIES:
        raise RipError(f"RIP: {count} entries; at most {MAX_ENTRIES}")
    command, version, _unused = _HDR.unpack_from(data)
    if command not in (REQUEST, RESPONSE):
        raise RipError(f"RIP: command {command} is not 1 (request) or 2 (response)")
    if version == 0:
        raise RipError("RIP: version 0 messages are ignored")
    entries = []
    authenticated = False
    for i in range(count):
        family, tag, addr, mask, hop, metric = _RTE.unpack_from(data, HEADER_LEN + i * ENTRY_LEN)
        if family == AF_AUTH:
            if i:  # RFC 2453 §4.1: only the first entry may carry authentication
                raise RipError(f"RIP: authentication entry at position {i + 1}")
            authenticated = True
            continue
        network = _network(addr, mask if version >= 2 else b"\xff\xff\xff\xff")
        entries.append(RipEntry(network, metric, ip_from_bytes(hop), tag, family))
    return RipMessage(command, tuple(entries), version, authenticated)


__all__ = ["AF_AUTH", "AF_INET", "ALL_RIP_ROUTERS", "ALL_RIP_ROUTERS_MAC", "ENTRY_LEN",
           "HEADER_LEN", "INFINITY", "MAX_ENTRIES", "PORT", "REQUEST", "RESPONSE", "VERSION",
           "RipEntry", "RipError", "RipMessage", "build_rip", "parse_rip",
           "whole_table_request"]
