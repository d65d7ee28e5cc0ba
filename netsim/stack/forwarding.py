"""A router's forwarding decision (RFC 1812 §5.2): the seam assignment 09 replaces.

`Forwarder` is the interface: a forwarding table (``add_route``, ``lookup``) and, for each
datagram a router receives, a `Decision` (``route``): deliver it here, forward it (on which
interface, to which next hop, with which bytes), or drop it (and which ICMP error to send
back). `Router` is netsim's implementation. A forwarding `Stack` decides the same way on its
own per-packet path (netsim/stack/host_forward.py, `_forward`) unless ``Stack.set_forwarder``
installs another forwarder, which then decides every datagram the router receives (called
from netsim/stack/seams.py). The stack does everything else: it checks the header checksum
before asking, finds the next hop's MAC (ARP), fragments, and sends the ICMP error the
decision names, under RFC 1122 §3.2.2's rules (never about an ICMP error, a broadcast, a
non-initial fragment) and its rate limit.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network
from typing import Final, NamedTuple, Protocol

from netsim.errors import UsageError
from netsim.stack.routing import RoutingTable
from netsim.wire import icmp as icmpw
from netsim.wire.ipv4 import decrement_ttl

DELIVER: Final = "deliver"
FORWARD: Final = "forward"
DROP: Final = "drop"
ACTIONS: Final = (DELIVER, FORWARD, DROP)

TIME_EXCEEDED: Final = (icmpw.TIME_EXCEEDED, icmpw.TTL_EXCEEDED)  # type 11, code 0
NET_UNREACHABLE: Final = (icmpw.DEST_UNREACHABLE, icmpw.UNREACH_NET)  # type 3, code 0


class Decision(NamedTuple):
    """What to do with one received datagram.

    deliver: it is for this router. forward: send `datagram` (TTL one less, header checksum
    updated) on `interface` to `next_hop` (the gateway, or the destination itself when the
    network is directly attached). drop: discard it, counted as `reason`, and send the ICMP
    error `icmp` = (type, code) to its source, or none (None)."""

    action: str
    datagram: bytes = b""
    interface: str = ""
    next_hop: IPv4Address | None = None
    icmp: tuple[int, int] | None = None
    reason: str = ""


def deliver() -> Decision:
    return Decision(DELIVER)


def forward(datagram: bytes, interface: str, next_hop: IPv4Address) -> Decision:
    return Decision(FORWARD, datagram, interface, next_hop)


def drop(reason: str, icmp: tuple[int, int] | None = None) -> Decision:
    return Decision(DROP, icmp=icmp, reason=reason)


class Forwarder(Protocol):
    def add_route(self, prefix: IPv4Address, length: int, interface: str,
                  next_hop: IPv4Address | None = None) -> None:
        """Datagrams to prefix/length go out on `interface`, to the gateway `next_hop` (None:
        the network is directly attached)."""
        ...

    def lookup(self, dst: IPv4Address) -> tuple[str, IPv4Address | None] | None:
        """The (interface, gateway or None) of the longest matching route, or None."""
        ...

    def route(self, datagram: bytes, for_us: bool) -> Decision:
        """The decision for one received datagram (header checksum already verified);
        `for_us`: its destination is one of this router's addresses."""
        ...


class Router:
    """netsim's forwarding decision over a `RoutingTable` (the stack's own, or a new one)."""

    def __init__(self, table: RoutingTable | None = None) -> None:
        self.table = table if table is not None else RoutingTable()

    def add_route(self, prefix: IPv4Address, length: int, interface: str,
                  next_hop: IPv4Address | None = None) -> None:
        if not 0 <= length <= 32:
            raise UsageError(f"length: {length} is not in 0..32")
        # the bits of `prefix` beyond `length` do not count (strict=False masks them off)
        self.table.add(IPv4Network((prefix, length), strict=False), interface, next_hop)

    def lookup(self, dst: IPv4Address) -> tuple[str, IPv4Address | None] | None:
        route = self.table.lookup(dst)  # RFC 1812 §5.2.4.3: the longest match
        return None if route is None else (route.interface, route.gateway)

    def route(self, datagram: bytes, for_us: bool) -> Decision:
        if for_us:
            # RFC 1812 §5.2.3 (local delivery decision): a datagram to the router is received,
            # whatever its TTL (RFC 1812 §4.2.2.9: Time to Live is checked only to forward)
            return Decision(DELIVER)
        if len(datagram) < 20:
            return Decision(DROP, reason="malformed")
        total = int.from_bytes(datagram[2:4], "big")
        return self.decide(datagram, datagram[8], IPv4Address(datagram[16:20]), total)

    def decide(self, datagram: bytes, ttl: int, dst: IPv4Address, total: int) -> Decision:
        """The decision for a datagram not addressed to the router; `datagram` may carry link
        padding beyond `total`."""
        # RFC 1812 §5.3.1 (Time to Live): the router decrements the TTL; a datagram whose TTL
        # reaches zero is discarded with an ICMP time exceeded (RFC 1812 §5.2.7.3)
        if ttl <= 1:
            return Decision(DROP, icmp=TIME_EXCEEDED, reason="ttl_exceeded")
        route = self.table.lookup(dst)
        if route is None:
            # RFC 1812 §5.2.7.1: no route to the destination network: net unreachable
            return Decision(DROP, icmp=NET_UNREACHABLE, reason="no_route")
        return Decision(FORWARD, decrement_ttl(datagram, total), route.interface,
                        route.gateway or dst)


__all__ = ["ACTIONS", "DELIVER", "DROP", "FORWARD", "NET_UNREACHABLE", "TIME_EXCEEDED",
           "Decision", "Forwarder", "Router", "decrement_ttl", "deliver", "drop", "forward"]
