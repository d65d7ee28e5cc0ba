"""traceroute -6: UDP probes over IPv6 with a rising hop limit, printed like Linux
``traceroute -6 -n`` (80-byte packets: 40 IPv6 + 8 UDP + 32 data).

The same probe loop as IPv4 (`netsim.apps.traceroute.probe_loop`); what differs is the ICMPv6
answer. A router whose hop limit runs out answers "time exceeded" (RFC 4443 §3.3, code 0;
the Hop Limit of the IPv6 header, RFC 8200 §3), the destination "port unreachable"
(RFC 4443 §3.1, code 4), which ends the trace. Other answers end it with Linux traceroute's
marks: no route "!N", address unreachable or beyond scope "!H", administratively prohibited
"!X", other codes "!<code>", packet too big "!F-<mtu>" (RFC 4443 §3.2).

    traceroute to 2001:db8:2::2 (2001:db8:2::2), 30 hops max, 80 byte packets
     1  2001:db8::2  2.013 ms  2.010 ms  2.009 ms
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from ipaddress import IPv6Address
from typing import TYPE_CHECKING, Any, Final

from netsim import argcheck
from netsim.apps.ping6 import DAD_WAIT, _source
from netsim.apps.traceroute import (
    FIRST_PORT,
    Answer,
    Output,
    TracerouteResult,
    _int,
    probe_loop,
)
from netsim.errors import UsageError
from netsim.wire import icmpv6 as i6
from netsim.wire.errors import WireError
from netsim.wire.ipv6 import NH_UDP, IPv6Packet

if TYPE_CHECKING:
    from netsim.node import Node

__all__ = ["HEADERS6", "traceroute6"]

HEADERS6: Final = 40 + 8  # IPv6 + UDP
_MARK: Final = {i6.UNREACH_NO_ROUTE: "!N", i6.UNREACH_ADDRESS: "!H",
                i6.UNREACH_BEYOND_SCOPE: "!H", i6.UNREACH_ADMIN: "!X"}


def traceroute6(node: Node, destination: str | IPv6Address, *, max_hops: int = 30,
                first_ttl: int = 1, queries: int = 3, wait: float = 5.0,
                port: int = FIRST_PORT, packet_size: int = 80,
                out: Output | None = None) -> Generator[Any, Any, TracerouteResult]:
    """Trace the IPv6 path to `destination` (see `netsim.apps.traceroute.traceroute`;
    `packet_size` counts the 40-byte IPv6 header, as Linux does). Bad arguments raise
    `UsageError` here, before the process starts."""
    dst = argcheck.ipv6("destination", destination)
    if dst.is_multicast or dst.is_unspecified:
        raise UsageError(f"destination: {dst} is not a unicast address")
    _int("max_hops", max_hops, 1, 255)
    _int("first_ttl", first_ttl, 1, max_hops)
    _int("queries", queries, 1, 10)
    _int("port", port, 1, 0xFFFF - max_hops * queries)
    _int("packet_size", packet_size, HEADERS6, 65535)
    if isinstance(wait, bool) or not isinstance(wait, int | float) or not wait > 0:
        raise UsageError(f"wait: {wait!r} is not allowed; use a time > 0 seconds")
    layer = node.stack.ipv6

    def listen(answer: Answer) -> Callable[[], None]:
        def on_icmp(pkt: IPv6Packet, msg: i6.ICMPv6Message, now: float) -> None:
            if msg.type not in (i6.TIME_EXCEEDED, i6.DEST_UNREACHABLE, i6.PACKET_TOO_BIG):
                return
            try:
                quoted = msg.quoted_ipv6()
            except WireError:
                return
            head = quoted.payload
            if quoted.next_header != NH_UDP or quoted.dst != dst or len(head) < 4:
                return
            mark, final = "", True
            if msg.type == i6.TIME_EXCEEDED:
                final = msg.code != i6.HOP_LIMIT_EXCEEDED
                mark = "" if not final else f"!<{msg.type}-{msg.code}>"
            elif msg.type == i6.PACKET_TOO_BIG:
                mark = f"!F-{msg.mtu}"
            elif msg.code == i6.UNREACH_PORT:
                mark = "" if pkt.src == dst else "!P"
            else:
                mark = _MARK.get(msg.code, f"!<{msg.code}>")
            answer((head[0] << 8) | head[1], (head[2] << 8) | head[3], pkt.src, now, mark,
                   final)

        layer.handlers.append(on_icmp)

        def stop() -> None:
            if on_icmp in layer.handlers:
                layer.handlers.remove(on_icmp)
        return stop

    result = TracerouteResult(dst, max_hops, packet_size)
    return _after_dad(node, dst, probe_loop(node, dst, result, first_ttl, queries,
                                            float(wait), port, packet_size - HEADERS6,
                                            listen, out))


def _after_dad(node: Node, dst: IPv6Address,
               loop: Generator[Any, Any, TracerouteResult]
               ) -> Generator[Any, Any, TracerouteResult]:
    """`loop`, once the node has a source address for `dst` (its own may still be tentative:
    RFC 4862 §5.4, DAD), waiting at most `DAD_WAIT` as ping -6 does."""
    waited = 0.0
    while _source(node, dst) is None and waited < DAD_WAIT:
        yield node.env.timeout(0.1)
        waited += 0.1
    return (yield from loop)
