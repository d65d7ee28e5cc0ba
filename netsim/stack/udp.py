"""UDP for applications (RFC 768): bind, send, receive; port unreachable for closed ports."""

from __future__ import annotations

from collections.abc import Callable
from ipaddress import IPv4Address, IPv6Address, ip_address
from typing import Protocol

from netsim.errors import NetsimError, UsageError
from netsim.stack.counters import Counters
from netsim.wire import icmp as icmpw
from netsim.wire.checksum import internet_checksum, pseudo_header_sum
from netsim.wire.errors import ChecksumError, WireError
from netsim.wire.ipv4 import PROTO_UDP, IPv4Packet
from netsim.wire.udp import build_udp, parse_udp

Address = IPv4Address | IPv6Address  # an endpoint takes datagrams of both (netsim/stack/ipv6.py)
DatagramHandler = Callable[[bytes, Address, int, float], None]
ErrorHandler = Callable[[int, int, Address, float], None]

EPHEMERAL = range(49152, 65536)


class Udp6Sender(Protocol):
    """What UDP needs from the IPv6 layer (netsim.stack.ipv6.Ipv6Layer provides it)."""

    def send_udp(self, dst: IPv6Address, sport: int, dport: int, payload: bytes, now: float,
                 *, hop_limit: int | None = None) -> bool: ...


class UdpHost(Protocol):
    """What UDP needs from the stack (netsim.stack.host.Stack provides it)."""

    counters: Counters

    @property
    def ipv6(self) -> Udp6Sender:
        """The IPv6 layer (read only: a protocol member that is, so Ipv6Layer fits)."""

    def drop(self, layer: str, reason: str, detail: str = "") -> None: ...

    def source_for(self, dst: IPv4Address) -> IPv4Address | None: ...

    def send_ip(self, dst: IPv4Address, protocol: int, payload: bytes, now: float, *,
                src: IPv4Address | None = None, ttl: int | None = None, df: bool = False,
                dscp: int = 0, ecn: int = 0) -> bool: ...

    def icmp_error(self, about: IPv4Packet, type_: int, code: int, now: float, *,
                   next_hop_mtu: int = 0, arrived_as_broadcast: bool = False) -> bool: ...


def _damaged(pkt: IPv4Packet, exc: WireError) -> bool:
    """Whether a datagram that failed to parse also fails its checksum taken over all the IP
    payload: a bit flipped in the length field is damage, not a malformed sender."""
    if isinstance(exc, ChecksumError):
        return True
    data = pkt.payload
    if len(data) < 8 or data[6:8] == b"\x00\x00":
        return False
    return internet_checksum(data, pseudo_header_sum(pkt.src, pkt.dst, PROTO_UDP,
                                                     len(data))) != 0


class PortInUse(NetsimError):
    pass


class UdpEndpoint:
    def __init__(self, layer: UdpLayer, port: int, on_datagram: DatagramHandler | None,
                 on_error: ErrorHandler | None) -> None:
        self.layer = layer
        self.port = port
        self.on_datagram = on_datagram
        self.on_error = on_error
        self.closed = False

    def sendto(self, payload: bytes, addr: tuple[Address | str, int], now: float, *,
               ttl: int = 64) -> bool:
        """Send one datagram; False when it could not be routed."""
        if isinstance(addr[0], str):
            try:
                ip = ip_address(addr[0])
            except ValueError:
                raise UsageError(f"address: {addr[0]!r} is not an IP address") from None
        else:
            ip = addr[0]
        stack = self.layer.stack
        if isinstance(ip, IPv6Address):
            return stack.ipv6.send_udp(ip, self.port, addr[1], payload, now, hop_limit=ttl)
        src = stack.source_for(ip)
        if src is None:
            stack.counters.drop("udp", "no_route")
            return False
        data = build_udp(src, ip, self.port, addr[1], payload)
        stack.counters["udp"]["tx"] += 1
        return stack.send_ip(ip, PROTO_UDP, data, now, src=src, ttl=ttl)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.layer._ports.pop(self.port, None)


class UdpLayer:
    def __init__(self, stack: UdpHost) -> None:
        self.stack = stack
        self._ports: dict[int, UdpEndpoint] = {}
        self._next_ephemeral = EPHEMERAL.start

    def bind(self, port: int = 0, on_datagram: DatagramHandler | None = None,
             on_error: ErrorHandler | None = None) -> UdpEndpoint:
        if not 0 <= port <= 0xFFFF:
            raise UsageError(f"port: {port} is not in 0..65535")
        if port == 0:
            port = self.ephemeral_port()
        if port in self._ports:
            raise PortInUse(f"UDP port {port} is already bound")
        ep = self._ports[port] = UdpEndpoint(self, port, on_datagram, on_error)
        return ep

    def endpoint(self, port: int) -> UdpEndpoint | None:
        """The endpoint bound to `port` (IPv4 and IPv6 share the port space)."""
        return self._ports.get(port)

    def ephemeral_port(self) -> int:
        for _ in EPHEMERAL:
            port = self._next_ephemeral
            self._next_ephemeral = port + 1 if port + 1 < EPHEMERAL.stop else EPHEMERAL.start
            if port not in self._ports:
                return port
        raise PortInUse("no free ephemeral UDP port")

    def input(self, pkt: IPv4Packet, now: float, arrived_as_broadcast: bool) -> None:
        stack = self.stack
        try:
            dgram = parse_udp(pkt.payload, pkt.src, pkt.dst)
        except WireError as exc:
            stack.drop("udp", "checksum" if _damaged(pkt, exc) else "malformed", str(exc))
            return
        stack.counters["udp"]["rx"] += 1
        ep = self._ports.get(dgram.dst_port)
        if ep is None:
            stack.drop("udp", "port_unreachable", f"port {dgram.dst_port}")
            # RFC 1122 §4.1.3.1: port unreachable for a datagram to a closed port
            stack.icmp_error(pkt, icmpw.DEST_UNREACHABLE, icmpw.UNREACH_PORT, now,
                             arrived_as_broadcast=arrived_as_broadcast)
            return
        if ep.on_datagram is not None:
            ep.on_datagram(dgram.payload, pkt.src, dgram.src_port, now)

    def icmp_error(self, msg: icmpw.ICMPMessage, quoted: IPv4Packet, sender: IPv4Address,
                   now: float) -> None:
        """An ICMP error about one of our datagrams: tell the endpoint that sent it."""
        if len(quoted.payload) < 4:
            return
        sport = (quoted.payload[0] << 8) | quoted.payload[1]
        ep = self._ports.get(sport)
        if ep is not None and ep.on_error is not None:
            ep.on_error(msg.type, msg.code, sender, now)
