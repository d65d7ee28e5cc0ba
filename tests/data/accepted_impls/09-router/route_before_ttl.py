"""Accepted, not a mistake: the route is looked up before the TTL is checked, the order of
RFC 1812 §5.2.1.2's forwarding walk-through (step 5, the next hop; step 7, the TTL). A
datagram that both expires and has no route gets net unreachable instead of time exceeded;
the README accepts both orders.
"""

from __future__ import annotations

from ipaddress import IPv4Address

from netsim.stack.forwarding import (
    NET_UNREACHABLE,
    TIME_EXCEEDED,
    Decision,
    deliver,
    drop,
    forward,
)


def header_checksum(header: bytes) -> int:
    """The internet checksum of an IPv4 header whose checksum field is zero (RFC 1071)."""
    total = 0
    for i in range(0, len(header), 2):
        total += (header[i] << 8) | header[i + 1]
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


class Router:
    def __init__(self) -> None:
        # (network as an int, mask as an int, length, interface, gateway), in the order added
        self.routes: list[tuple[int, int, int, str, IPv4Address | None]] = []

    def add_route(self, prefix: IPv4Address, length: int, interface: str,
                  next_hop: IPv4Address | None = None) -> None:
        mask = (0xFFFFFFFF << (32 - length)) & 0xFFFFFFFF
        self.routes.append((int(prefix) & mask, mask, length, interface, next_hop))

    def lookup(self, dst: IPv4Address) -> tuple[str, IPv4Address | None] | None:
        best = None
        best_length = -1
        address = int(dst)
        for network, mask, length, interface, gateway in self.routes:
            # the longest match wins; among equal ones, the first added (strictly longer)
            if address & mask == network and length > best_length:
                best, best_length = (interface, gateway), length
        return best

    def route(self, datagram: bytes, for_us: bool) -> Decision:
        if for_us:
            return deliver()
        ttl = datagram[8]
        dst = IPv4Address(datagram[16:20])
        found = self.lookup(dst)  # RFC 1812 §5.2.1.2: step 5 (the next hop), then step 7
        if found is None:
            return drop("no_route", NET_UNREACHABLE)
        if ttl <= 1:  # it would leave with TTL 0
            return drop("ttl_exceeded", TIME_EXCEEDED)
        interface, gateway = found
        total = int.from_bytes(datagram[2:4], "big")
        header_length = (datagram[0] & 0x0F) * 4
        header = bytearray(datagram[:header_length])
        header[8] = ttl - 1
        header[10:12] = b"\0\0"
        header[10:12] = header_checksum(bytes(header)).to_bytes(2, "big")
        return forward(bytes(header) + datagram[header_length:total], interface,
                       gateway if gateway is not None else dst)
