"""What TCP needs from the world around it, and nothing more.

A connection (netsim.stack.tcp.connection) emits segments, arms one timer entry, counts,
traces and reads the clock through `ConnectionHost` (its `send_tcp` as the TCP layer hands it
out, one bound method for all connections); it asks the TCP layer for an MSS, a RST for a
segment it will not accept, and to be forgotten through `ConnectionTable`; a listener through
`ListenerHooks`. The TCP layer (netsim.stack.tcp.layer) also routes and sends IP
datagrams: `LayerHost`. `netsim.stack.host.Stack`, `TcpLayer` and `TcpListener` provide these,
but so can a test's small fake: no part of TCP imports the stack.
"""

from __future__ import annotations

from collections import Counter
from ipaddress import IPv4Address, IPv6Address
from typing import Any, Protocol

from netsim.stack.events import Tracer
from netsim.stack.interface import Interface
from netsim.stack.routing import RoutingTable
from netsim.stack.timers import TimerQueue
from netsim.wire.tcp import IPAddress, TCPSegment


class ConnectionHost(Protocol):
    """The stack seen from a connection."""

    name: str  # the host's name, in trace records
    now: float  # the stack's clock (the time of the event being handled)
    trace: Tracer | None
    timers: TimerQueue  # `ensure(conn, when)` / `cancel(conn)`: the connection's timer entry
    tcp_counts: Counter[str]  # the stack's TCP counters (`netsim.stack.counters`)

    def drop(self, layer: str, reason: str, detail: str = "") -> None:
        """Count (and trace) a segment dropped for `reason`."""

    def send_tcp(self, src: IPAddress, dst: IPAddress, seg: TCPSegment, opts: bytes,
                 now: float, ecn: int = 0) -> bool:
        """Send `seg`, its options already encoded as `opts`, with `ecn` in the IP header's
        ECN field (RFC 3168 §5: ECT(0) for new data of an ECN connection)."""


class ConnectionTable(Protocol):
    """The TCP layer seen from a connection."""

    @property
    def stack(self) -> ConnectionHost: ...

    def send_tcp(self, src: IPAddress, dst: IPAddress, seg: TCPSegment, opts: bytes,
                 now: float, ecn: int = 0) -> bool:
        """The stack's `send_tcp`, the same object every time it is read (a bound method
        kept by every connection)."""

    def mss_for(self, remote: IPAddress) -> int:
        """The MSS to announce to `remote` (RFC 9293 §3.7.1)."""

    def send_rst(self, src: IPAddress, dst: IPAddress, sport: int, dport: int, seq: int,
                 ack: int, flags: int, now: float) -> None:
        """Send a RST that belongs to no connection."""

    def remove(self, conn: Any) -> None:
        """Forget a connection that reached CLOSED."""

    def challenge_ack_allowed(self, now: float) -> bool:
        """Whether the host-wide limit of challenge ACKs (RFC 5961 §7) has room now."""


class ListenerHooks(Protocol):
    """The listener a passively opened connection reports to."""

    def may_establish(self, conn: Any) -> bool:
        """Whether the accept queue has room for `conn`."""

    def established(self, conn: Any, now: float) -> None:
        """`conn` completed its handshake."""

    def forget(self, conn: Any) -> None:
        """`conn` left SYN-RECEIVED without completing its handshake."""


class Ip6Host(Protocol):
    """The IPv6 layer seen from TCP (netsim.stack.ipv6.Ipv6Layer provides it)."""

    def source_for(self, dst: IPv6Address) -> IPv6Address | None:
        """Our address on the way to `dst` (None: no route, or no usable address)."""

    def mtu_for(self, dst: IPv6Address) -> int | None:
        """The MTU of the interface towards `dst` (None: no route)."""

    def send(self, dst: IPv6Address, nh: int, payload: bytes, now: float, *,
             src: IPv6Address | None = None, hop_limit: int | None = None) -> bool:
        """Route and send one packet with next header `nh` (False: it cannot leave)."""


class LayerHost(ConnectionHost, Protocol):
    """The stack seen from the TCP layer: also routes, interfaces and IP output (IPv6's
    through `ipv6`)."""

    routes: RoutingTable
    interfaces: dict[str, Interface]

    @property
    def ipv6(self) -> Ip6Host:
        """The IPv6 layer (read only: a protocol member that is, so Ipv6Layer fits)."""

    def source_for(self, dst: IPv4Address) -> IPv4Address | None:
        """Our address on the way to `dst` (None: no route)."""

    def send_ip(self, dst: IPv4Address, protocol: int, payload: bytes, now: float, *,
                src: IPv4Address | None = None, ttl: int | None = None, df: bool = False,
                dscp: int = 0, ecn: int = 0) -> bool:
        """Route and send one datagram (False: no route)."""
