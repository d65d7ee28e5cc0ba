"""The second part of a `Stack` (netsim/stack/host.py; the parts: netsim/stack/host_arp.py):
a router's forwarding (RFC 1812 §5.3.1), fragmenting to the outgoing MTU, and ICMP (RFC 792,
RFC 1122 §3.2.2): echo replies, errors in (to UDP and TCP) and out, most of which are the
forwarding's verdicts. Another forwarder (assignment 09, ``Stack.set_forwarder``) is called
through netsim/stack/seams.py, which hands its decision back to `_send_forwarded`.
"""

from __future__ import annotations

from ipaddress import IPv4Address

from netsim.stack import seams
from netsim.stack.fragments import fragment
from netsim.stack.host_arp import ArpHost
from netsim.stack.icmp import may_send_error_about
from netsim.stack.interface import Interface
from netsim.stack.tcp.layer import TcpLayer
from netsim.stack.udp import UdpLayer
from netsim.wire import icmp as icmpw
from netsim.wire.errors import WireError
from netsim.wire.ipv4 import PROTO_ICMP, PROTO_TCP, PROTO_UDP, IPv4Packet, decrement_ttl, parse_ipv4


class ForwardingHost(ArpHost):
    """Forwarding and ICMP; see `netsim.stack.host.Stack`."""

    udp: UdpLayer  # both made by Stack.__init__, with the Stack
    tcp: TcpLayer

    # ------------------------------------------------------------------ from later parts
    def send_ip(self, dst: IPv4Address, protocol: int, payload: bytes, now: float, *,
                src: IPv4Address | None = None, ttl: int | None = None, df: bool = False,
                dscp: int = 0, ecn: int = 0) -> bool:
        raise NotImplementedError  # host.Stack

    # ------------------------------------------------------------------ forwarding
    def source_for(self, dst: IPv4Address) -> IPv4Address | None:
        """The source address for a datagram to `dst` (that of the outgoing interface)."""
        if dst in self._by_ip:
            return dst
        route = self.routes.lookup(dst)
        if route is None:
            return None
        return self.interfaces[route.interface].ip

    def _forward(self, iface: Interface, pkt: IPv4Packet, raw: bytes, now: float) -> None:
        if not self._own_forwarder:
            seams.forward(self, pkt, raw, now)
            return
        # netsim's own decision, inline on the per-packet path (the same as `Router.decide`,
        # which tests/test_forwarding.py holds to the same frames)
        ipc = self.ipv4_counts
        # RFC 1812 §5.3.1: a router decrements TTL; at zero it discards and sends time exceeded
        if pkt.ttl <= 1:
            self.drop("ipv4", "ttl_exceeded", str(pkt.dst))
            self.icmp_error(pkt, icmpw.TIME_EXCEEDED, icmpw.TTL_EXCEEDED, now)
            return
        route = self.routes.lookup(pkt.dst)
        if route is None:
            self.drop("ipv4", "no_route", str(pkt.dst))
            self.icmp_error(pkt, icmpw.DEST_UNREACHABLE, icmpw.UNREACH_NET, now)
            return
        out = self.interfaces[route.interface]
        total = pkt.total_length
        if total > out.mtu:
            self._send_forwarded(pkt, out, route.gateway or pkt.dst,
                                 decrement_ttl(raw, total), now)
            return
        ipc["forwarded"] += 1
        self._ip_out(out, route.gateway or pkt.dst, decrement_ttl(raw, total), now)

    def _send_forwarded(self, pkt: IPv4Packet, out: Interface, next_hop: IPv4Address,
                        raw: bytes, now: float) -> None:
        """Send `raw`, the forwarded copy of `pkt` (TTL one less), on `out` to `next_hop`,
        in fragments when it is larger than the interface's MTU."""
        ipc = self.ipv4_counts
        total = len(raw)
        if total > out.mtu:
            if pkt.df:
                self.drop("ipv4", "fragmentation_needed", f"{total} > mtu {out.mtu}")
                # RFC 1191: fragmentation needed, carrying the next-hop MTU
                self.icmp_error(pkt, icmpw.DEST_UNREACHABLE, icmpw.UNREACH_FRAG_NEEDED,
                                now, next_hop_mtu=out.mtu)
                return
            try:
                smaller = fragment(parse_ipv4(raw, verify_checksum=False), out.mtu)
            except WireError as exc:  # (the bytes another forwarder gave)
                self.drop("ipv4", "bad_decision", str(exc))
                return
            for frag in smaller:
                ipc["tx_fragments"] += 1
                self._ip_out(out, next_hop, frag.build(), now)
            ipc["forwarded"] += 1
            return
        ipc["forwarded"] += 1
        self._ip_out(out, next_hop, raw, now)

    # ------------------------------------------------------------------ ICMP
    def _icmp_input(self, pkt: IPv4Packet, now: float, broadcast: bool) -> None:
        icc = self.counters["icmp"]
        try:
            msg = icmpw.parse_icmp(pkt.payload)
        except WireError as exc:
            self.drop("icmp", "checksum" if "checksum" in str(exc) else "malformed", str(exc))
            return
        icc["rx"] += 1
        icc[f"rx_type_{msg.type}"] += 1
        if msg.type == icmpw.ECHO_REQUEST:
            if broadcast:
                self.drop("icmp", "echo_to_broadcast")  # as Linux icmp_echo_ignore_broadcasts
                return
            # RFC 1122 §3.2.2.6: reply with the same identifier, sequence and data
            reply = icmpw.ICMPMessage(icmpw.ECHO_REPLY, 0, msg.rest, msg.payload)
            icc["tx_echo_reply"] += 1
            self.send_ip(pkt.src, PROTO_ICMP, reply.build(), now, src=pkt.dst)
        elif msg.is_error:
            try:
                # the quote is cut short (header + 8 bytes): parse it as a quote
                quoted = msg.quoted_ipv4()
            except WireError:
                quoted = None
            if quoted is not None and quoted.src in self._by_ip:
                if quoted.protocol == PROTO_UDP:
                    self.udp.icmp_error(msg, quoted, pkt.src, now)
                elif quoted.protocol == PROTO_TCP:
                    self.tcp.icmp_error(msg, quoted, pkt.src, now)
        for handler in list(self.icmp_handlers):
            handler(pkt, msg, now)

    def icmp_error(self, about: IPv4Packet, type_: int, code: int, now: float, *,
                   next_hop_mtu: int = 0, arrived_as_broadcast: bool = False) -> bool:
        """Send an ICMP error about `about` to its source, if RFC 1122 allows and the rate
        limit has room. Returns whether it was sent."""
        if not may_send_error_about(about, arrived_as_broadcast):
            self.counters["icmp"]["error_suppressed"] += 1
            return False
        if not self.icmp_limiter.take(now):
            self.drop("icmp", "rate_limited")
            return False
        msg = icmpw.error(type_, code, about.build(), next_hop_mtu)
        self.counters["icmp"]["tx_error"] += 1
        src = self.source_for(about.src)
        return self.send_ip(about.src, PROTO_ICMP, msg.build(), now, src=src)


__all__ = ["ForwardingHost"]
