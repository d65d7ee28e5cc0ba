"""Assignment 09: the forwarding part of an IPv4 router (RFC 1812).

A router's stack (netsim/stack/seams.py) asks this class what to do with every datagram it
receives, and does the rest itself:

  - add_route() is called for every route of the router: its directly attached networks
    (next_hop None) and the routes to other networks through a gateway, default route
    (0.0.0.0/0) included;
  - route() is called for every datagram that arrives (its header checksum already verified),
    with for_us=True when it is addressed to the router itself. It returns a Decision:
    deliver(), forward(datagram, interface, next_hop) or drop(reason, icmp). The stack then
    delivers, or finds the next hop's MAC with ARP and sends the datagram you return, or
    sends the ICMP error you name back to the datagram's source.

Fill in the TODOs. Grade your work with

    netsim grade 09-router router.py
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

__all__ = ["NET_UNREACHABLE", "TIME_EXCEEDED", "Decision", "Router", "deliver", "drop",
           "forward"]


class Router:
    def __init__(self) -> None:
        # TODO: the forwarding table
        pass

    def add_route(self, prefix: IPv4Address, length: int, interface: str,
                  next_hop: IPv4Address | None = None) -> None:
        """Datagrams to the network prefix/length leave on `interface`, to the gateway
        `next_hop`, or (next_hop None) straight to their destination: the network is
        directly attached. Bits of `prefix` beyond the first `length` do not count."""
        raise NotImplementedError("TODO: Router.add_route")

    def lookup(self, dst: IPv4Address) -> tuple[str, IPv4Address | None] | None:
        """(interface, next_hop) of the route with the longest prefix that matches `dst`
        (among equal ones, the one added first), or None when no route matches."""
        raise NotImplementedError("TODO: Router.lookup")

    def route(self, datagram: bytes, for_us: bool) -> Decision:
        """The decision for one received IPv4 datagram (bytes from its first header byte; link
        padding may follow its total length):

        - for_us: deliver();
        - a TTL that would reach 0: drop("ttl_exceeded", TIME_EXCEEDED);
        - no route: drop("no_route", NET_UNREACHABLE);
        - otherwise forward(the datagram with TTL one less and its header checksum updated,
          the route's interface, the route's gateway or else the destination)."""
        raise NotImplementedError("TODO: Router.route")
