"""The sans-I/O network stack of one host or router: Ethernet, ARP, IPv4, ICMP, UDP, TCP.

Inputs: frames (`receive`) and the passage of time (`poll`). Outputs: frames
handed to the driver's `transmit(interface, frame)` callable, the next deadline
(`next_deadline`, and the `timers.on_earlier` hook), events to applications
through socket objects, and trace records. Nothing here reads a clock or does I/O
(DESIGN.md §1).
"""

from __future__ import annotations

from collections.abc import Callable
from ipaddress import IPv4Address, IPv4Interface, IPv6Address
from typing import Any, Final

from netsim.errors import UsageError
from netsim.stack.arp import ArpCache, ArpTable, Enqueue
from netsim.stack.counters import Counters
from netsim.stack.events import DropRecord, Tracer
from netsim.stack.forwarding import DELIVER, FORWARD, Decision, Forwarder, Router
from netsim.stack.fragments import Reassembler, fragment
from netsim.stack.icmp import TokenBucket, may_send_error_about
from netsim.stack.interface import Interface
from netsim.stack.ipv6 import Ipv6Layer
from netsim.stack.netif import NetworkInterface, arp_counts_in, arp_counts_out
from netsim.stack.routing import RoutingTable
from netsim.stack.tcp.layer import TcpLayer
from netsim.stack.timers import INF, TimerQueue
from netsim.stack.udp import UdpLayer
from netsim.wire import icmp as icmpw
from netsim.wire.arp import OP_REPLY, OP_REQUEST, ArpPacket, parse_arp
from netsim.wire.errors import IPv4ChecksumError, WireError
from netsim.wire.ethernet import ETHERTYPE_ARP, ETHERTYPE_IPV4, build_ethernet
from netsim.wire.ethernet import HEADER_LEN as ETH_HEADER_LEN
from netsim.wire.ipv4 import (
    PROTO_ICMP,
    PROTO_TCP,
    PROTO_UDP,
    IPv4Packet,
    build_ipv4,
    decrement_ttl,
    parse_ipv4,
)
from netsim.wire.ipv6 import NH_TCP
from netsim.wire.lazyframe import HEADERS, LazyFrame
from netsim.wire.mac import BROADCAST, MacAddress
from netsim.wire.tcp import IPAddress, TCPSegment, build_tcp

IcmpHandler = Callable[[IPv4Packet, icmpw.ICMPMessage, float], None]
IpHandler = Callable[[IPv4Packet, float], None]
# `frame` is a LazyFrame only on an interface whose port takes them (`Interface.lazy_frames`)
Transmit = Callable[[Interface, "bytes | LazyFrame"], None]

LIMITED_BROADCAST: Final = IPv4Address("255.255.255.255")
_ETH_IPV4: Final = b"\x08\x00"
_ETH_ARP: Final = b"\x08\x06"
_ETH_IPV6: Final = b"\x86\xdd"


def _no_transmit(iface: Interface, frame: bytes | LazyFrame) -> None:
    raise RuntimeError("stack has no driver: set stack.transmit before sending")


class Stack:
    """One host (or, with ``forwarding=True``, a router).

    `transmit` is set by the driver (netsim.node) to put a frame on an interface's port.
    """

    def __init__(self, name: str = "host", *, forwarding: bool = False,
                 trace: Tracer | None = None, default_ttl: int = 64,
                 icmp_rate: float = 100.0, icmp_burst: int = 50, tcp: Any = None) -> None:
        self.name = name
        self.forwarding = forwarding
        self.trace = trace
        self.default_ttl = default_ttl
        self.interfaces: dict[str, Interface] = {}
        self._by_ip: dict[IPv4Address, Interface] = {}
        self.routes = RoutingTable()
        # the forwarding decision (a router's): netsim's own over `routes`, or another
        # installed by set_forwarder (assignment 09), which then decides every datagram
        self.forwarder: Forwarder = Router(self.routes)
        self._own_forwarder = True
        self.timers = TimerQueue()
        self.timer_at = INF  # TimerOwner for ARP retries/expiry and fragment timeouts
        self.counters = Counters()
        # the counters of the layers every packet updates, held directly (the same objects)
        self.eth_counts = self.counters["eth"]
        self.ipv4_counts = self.counters["ipv4"]
        self.tcp_counts = self.counters["tcp"]
        self.transmit: Transmit = _no_transmit
        self.reassembler = Reassembler()
        self.icmp_limiter = TokenBucket(icmp_rate, icmp_burst)
        self.icmp_handlers: list[IcmpHandler] = []
        # the datagrams of other IP protocols delivered here, by number (OSPF's 89)
        self.ip_protocols: dict[int, IpHandler] = {}
        # ICMP echo identifiers handed out to ping runs on this stack, so that two pings on
        # one host do not take each other's replies, and a seed gives the same run ("NS")
        self.next_echo_ident = 0x4E53
        self.udp: UdpLayer = UdpLayer(self)
        self._ip_id = 0
        self.now = 0.0
        self.tcp = TcpLayer(self, tcp)
        self.ipv6 = Ipv6Layer(self)  # off until `ipv6.enable(interface)`

    # ------------------------------------------------------------------ configuration
    def add_interface(self, name: str, mac: MacAddress | str, address: str | IPv4Interface,
                      mtu: int = 1500, arp: ArpCache | None = None) -> Interface:
        if name in self.interfaces:
            raise UsageError(f"interface: {name!r} already exists on {self.name}")
        if not 68 <= mtu <= 65535:
            raise UsageError(f"mtu: {mtu} is not in 68..65535")
        try:
            addr = IPv4Interface(address) if isinstance(address, str) else address
        except ValueError as exc:
            raise UsageError(f"address: {exc}") from None
        iface = Interface(name, MacAddress(mac), addr, mtu, arp if arp is not None else ArpTable(),
                          index=len(self.interfaces))
        self.interfaces[name] = iface
        self._by_ip[iface.ip] = iface
        self.routes.add(addr.network, name)
        if not self._own_forwarder:
            self.forwarder.add_route(addr.network.network_address, addr.network.prefixlen, name)
        return iface

    def add_route(self, network: str, via: str | None = None,
                  interface: str | None = None) -> None:
        """Add a route; with only `via`, the interface is found from the connected routes."""
        if interface is None:
            if via is None:
                raise UsageError("route: give a gateway (via) or an interface")
            gw_route = self.routes.lookup(IPv4Address(via))
            if gw_route is None or gw_route.gateway is not None:
                raise UsageError(f"route: gateway {via} is not on a connected network")
            interface = gw_route.interface
        if interface not in self.interfaces:
            raise UsageError(f"route: no interface {interface!r} on {self.name}")
        route = self.routes.add(network, interface, via)
        if not self._own_forwarder:
            self.forwarder.add_route(route.network.network_address, route.network.prefixlen,
                                     interface, route.gateway)

    def set_forwarder(self, forwarder: Forwarder) -> None:
        """Let `forwarder` decide every datagram this router receives (assignment 09). It is
        given every route of the table now, and every route added later; the stack's own
        table still routes what the router itself sends."""
        if not self.forwarding:
            raise UsageError(f"forwarder: {self.name} is not a router (made with "
                             "forwarding=False)")
        self.forwarder = forwarder
        self._own_forwarder = False
        for route in self.routes:
            forwarder.add_route(route.network.network_address, route.network.prefixlen,
                                route.interface, route.gateway)

    def set_netif(self, interface: str, netif: NetworkInterface) -> None:
        """Let `netif` do the Ethernet framing and ARP of `interface` (assignment 08): every
        frame received there and every datagram sent there goes through it."""
        if interface not in self.interfaces:
            raise UsageError(f"netif: no interface {interface!r} on {self.name}")
        self.interfaces[interface].netif = netif

    def set_default_route(self, via: str) -> None:
        self.add_route("0.0.0.0/0", via=via)

    @property
    def ip(self) -> IPv4Address:
        """The address of the first interface (hosts usually have one)."""
        return next(iter(self.interfaces.values())).ip

    def is_local(self, ip: IPv4Address) -> bool:
        return ip in self._by_ip

    def source_for(self, dst: IPv4Address) -> IPv4Address | None:
        """The source address for a datagram to `dst` (that of the outgoing interface)."""
        if dst in self._by_ip:
            return dst
        route = self.routes.lookup(dst)
        if route is None:
            return None
        return self.interfaces[route.interface].ip

    def bring_up(self, iface: Interface | str, now: float) -> None:
        """Mark an interface up and announce it with a gratuitous ARP request."""
        if isinstance(iface, str):
            iface = self.interfaces[iface]
        iface.up = True
        self.now = now
        self._send_arp(iface, ArpPacket(OP_REQUEST, iface.mac, iface.ip, MacAddress(bytes(6)),
                                        iface.ip), BROADCAST)
        self.counters["arp"]["tx_gratuitous"] += 1

    # ------------------------------------------------------------------ time
    def poll(self, now: float) -> None:
        """Run every timer due at `now`."""
        self.now = now
        self.timers.run(now)

    def next_deadline(self) -> float | None:
        d = self.timers.next_deadline()
        return None if d == INF else d

    def on_timer(self, now: float) -> None:
        for iface in self.interfaces.values():
            if iface.netif is not None:
                self._netif_tick(iface, now)
                continue
            result = iface.arp.poll(now)
            for ip in result.requests:
                self._send_arp_request(iface, ip)
                self.counters["arp"]["retries"] += 1
            for ip, packets in result.failed:
                for raw in packets:
                    self.drop("arp", "unresolved", f"{ip} did not answer ARP")
                    self._arp_failed(raw, now)
        for key, first in self.reassembler.expire(now):
            self.drop("ipv4", "reassembly_timeout", f"{key[0]} id {key[3]}")
            if first is not None:
                # RFC 792: time exceeded, code 1, only when fragment zero has arrived
                self.icmp_error(first, icmpw.TIME_EXCEEDED, icmpw.REASSEMBLY_EXCEEDED, now)
        self._arm_housekeeping()

    def _arm_housekeeping(self) -> None:
        deadlines = [iface.arp.next_deadline() if iface.netif is None else
                     iface.netif.next_deadline() for iface in self.interfaces.values()]
        deadlines.append(self.reassembler.next_deadline())
        soon = min((d for d in deadlines if d is not None), default=None)
        if soon is not None:
            self.timers.ensure(self, soon)

    # ------------------------------------------------------------------ bookkeeping
    def drop(self, layer: str, reason: str, detail: str = "") -> None:
        self.counters[layer]["drop." + reason] += 1
        if self.trace is not None:
            self.trace.record(DropRecord(self.now, self.name, layer, reason, detail))

    # ------------------------------------------------------------------ input
    def receive(self, iface: Interface | str, frame: bytes | LazyFrame, now: float) -> None:
        """A frame arrived on `iface`."""
        if isinstance(iface, str):
            iface = self.interfaces[iface]
        self.now = now
        eth = self.eth_counts
        eth["rx"] += 1
        if iface.netif is not None:
            self._netif_input(iface, frame.raw() if isinstance(frame, LazyFrame) else frame,
                              now)
            return
        if isinstance(frame, LazyFrame):
            if not iface.up:
                self.drop("eth", "interface_down")
            elif frame.dst_mac != iface.mac:
                self.drop("eth", "not_our_mac", str(MacAddress(frame.dst_mac)))
            else:
                self._lazy_input(iface, frame, now)
            return
        if len(frame) < 14:
            self.drop("eth", "malformed", f"{len(frame)}-byte frame")
            return
        if not iface.up:
            self.drop("eth", "interface_down")
            return
        dst = frame[0:6]
        broadcast = dst == BROADCAST
        if dst != iface.mac and not broadcast:
            if frame[12:14] == _ETH_IPV6 and self.ipv6.accepts(iface, dst):
                self.ipv6.input(iface, frame, now)  # to a multicast group IPv6 joined
                return
            if dst in iface.group_macs and frame[12:14] == _ETH_IPV4:
                self._ip_input(iface, frame, now, True)  # to an IPv4 group joined (RIP)
                return
            self.drop("eth", "not_our_mac", str(MacAddress(dst)))
            return
        ethertype = frame[12:14]
        if ethertype == _ETH_IPV4:
            self._ip_input(iface, frame, now, broadcast)
        elif ethertype == _ETH_ARP:
            self._arp_input(iface, frame[14:], now)
        elif ethertype == _ETH_IPV6 and iface.name in self.ipv6.ifaces:
            self.ipv6.input(iface, frame, now)
        else:
            self.drop("eth", "unknown_ethertype", ethertype.hex())

    def _arp_input(self, iface: Interface, data: bytes, now: float) -> None:
        arpc = self.counters["arp"]
        try:
            pkt = parse_arp(data)
        except WireError as exc:
            self.drop("arp", "malformed", str(exc))
            return
        arpc["rx"] += 1
        # RFC 826 packet reception: merge if known; add if we are the target.
        for_us = pkt.target_ip == iface.ip
        if pkt.sender_ip == iface.ip:
            if pkt.sender_mac != iface.mac:
                self.drop("arp", "address_conflict", f"{pkt.sender_ip} is-at {pkt.sender_mac}")
            return
        if pkt.sender_ip.is_unspecified:
            waiting: list[bytes] = []  # an ARP probe (RFC 5227): nothing to learn
        else:
            waiting = iface.arp.update(pkt.sender_ip, pkt.sender_mac, now, create=for_us)
        for raw in waiting:
            self._send_frame(iface, pkt.sender_mac, ETHERTYPE_IPV4, raw)
        if for_us and pkt.op == OP_REQUEST:
            arpc["rx_request"] += 1
            reply = ArpPacket(OP_REPLY, iface.mac, iface.ip, pkt.sender_mac, pkt.sender_ip)
            self._send_arp(iface, reply, pkt.sender_mac)
        elif pkt.op == OP_REPLY:
            arpc["rx_reply"] += 1
        self._arm_housekeeping()

    def _lazy_input(self, iface: Interface, frame: LazyFrame, now: float) -> None:
        """A TCP frame another stack in this process sent (netsim.wire.lazyframe): to us, it
        goes to TCP as it is; a router sends it on as one, when nothing needs its bytes.
        Anything else takes the path of the frame's bytes."""
        dst = frame.ip_dst
        if not self._own_forwarder:
            self._ip_input(iface, frame.raw(), now, False)  # another forwarder decides
            return
        if dst in self._by_ip:
            ipc = self.ipv4_counts
            ipc["rx"] += 1
            ipc["delivered"] += 1
            self.tcp.segment_input(frame.ip_src, dst, frame.seg, now, frame.ecn)
            return
        if self.forwarding and frame.ttl > 1 and dst != LIMITED_BROADCAST and \
                dst != iface.broadcast:
            # (as _forward: RFC 1812 §5.3.1, TTL one less; no fragmentation needed)
            hop = self._lazy_hop(dst, frame.length - ETH_HEADER_LEN, now)
            if hop is not None:
                out, mac = hop
                ipc = self.ipv4_counts
                ipc["rx"] += 1
                ipc["forwarded"] += 1
                self.eth_counts["tx"] += 1
                self.transmit(out, frame.forwarded(mac, out.mac))
                return
        self._ip_input(iface, frame.raw(), now, False)

    def _lazy_hop(self, dst: IPv4Address, ip_length: int, now: float
                  ) -> tuple[Interface, MacAddress] | None:
        """Where a LazyFrame of `ip_length` bytes to `dst` goes: the interface and the next
        hop's MAC, when that port takes LazyFrame objects, the packet needs no fragmenting and
        ARP knows the next hop. None: the bytes path (no route, ARP to do, ...) decides."""
        route = self.routes.lookup(dst)
        if route is None:
            return None
        out = self.interfaces[route.interface]
        if not out.lazy_frames or ip_length > out.mtu or out.netif is not None:
            return None
        mac = out.arp.lookup(route.gateway or dst, now)
        return None if mac is None else (out, mac)

    def _ip_input(self, iface: Interface, frame: bytes, now: float, broadcast: bool) -> None:
        data = frame[14:]
        try:
            pkt = parse_ipv4(data)
        except WireError as exc:
            self.drop("ipv4", "checksum" if _header_damaged(data, exc) else "malformed",
                      str(exc))
            return
        ipc = self.ipv4_counts
        ipc["rx"] += 1
        dst = pkt.dst
        local = dst in self._by_ip
        if local or dst == LIMITED_BROADCAST or dst == iface.broadcast or \
                (broadcast and dst in iface.ip_groups):
            if local and not self._own_forwarder and not broadcast:
                # another forwarder decides for datagrams to the router too (netsim's
                # delivers them: RFC 1812 §5.2.3 local delivery decision)
                decision = self.forwarder.route(data[:pkt.total_length], True)
                if decision.action != DELIVER:
                    self._apply(pkt, decision, now)
                    return
            if pkt.mf or pkt.fragment_offset:
                whole, reason = self.reassembler.add(pkt, now)
                if reason is not None:
                    self.drop("ipv4", reason)
                self._arm_housekeeping()
                if whole is None:
                    return
                ipc["reassembled"] += 1
                pkt = whole
            ipc["delivered"] += 1
            self._deliver(pkt, now, broadcast or not local)
        elif self.forwarding and not broadcast:
            self._forward(iface, pkt, frame[14:], now)
        else:
            self.drop("ipv4", "not_for_us", str(dst))

    def _deliver(self, pkt: IPv4Packet, now: float, broadcast: bool = False) -> None:
        proto = pkt.protocol
        if proto == PROTO_TCP:
            if broadcast:
                self.drop("tcp", "broadcast")
                return
            self.tcp.input(pkt, now)
        elif proto == PROTO_UDP:
            self.udp.input(pkt, now, broadcast)
        elif proto == PROTO_ICMP:
            self._icmp_input(pkt, now, broadcast)
        elif proto in self.ip_protocols:
            self.ip_protocols[proto](pkt, now)
        else:
            self.drop("ipv4", "unknown_protocol", str(proto))
            self.icmp_error(pkt, icmpw.DEST_UNREACHABLE, icmpw.UNREACH_PROTOCOL, now,
                            arrived_as_broadcast=broadcast)

    def _forward(self, iface: Interface, pkt: IPv4Packet, raw: bytes, now: float) -> None:
        if not self._own_forwarder:
            self._apply(pkt, self.forwarder.route(raw[:pkt.total_length], False), now)
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
            self._apply(pkt, Decision(FORWARD, decrement_ttl(raw, total), route.interface,
                                      route.gateway or pkt.dst), now)
            return
        ipc["forwarded"] += 1
        self._ip_out(out, route.gateway or pkt.dst, decrement_ttl(raw, total), now)

    def _apply(self, pkt: IPv4Packet, decision: Any, now: float) -> None:
        """Carry out the forwarder's decision about `pkt` (a `Decision`; any other forwarder's
        answer is checked, field by field): send the datagram it gives (ARP, fragmenting to the
        interface's MTU) or drop with the ICMP error it names."""
        ipc = self.ipv4_counts
        action = decision.action
        if action == FORWARD:
            out = self.interfaces.get(decision.interface) \
                if isinstance(decision.interface, str) else None
            next_hop = decision.next_hop
            raw = decision.datagram
            if out is None or not isinstance(next_hop, IPv4Address) or \
                    not isinstance(raw, bytes) or len(raw) < 20:
                self.drop("ipv4", "bad_decision", f"forward on {decision.interface!r:.40}")
                return
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
                except WireError as exc:
                    self.drop("ipv4", "bad_decision", str(exc))
                    return
                for frag in smaller:
                    ipc["tx_fragments"] += 1
                    self._ip_out(out, next_hop, frag.build(), now)
                ipc["forwarded"] += 1
                return
            ipc["forwarded"] += 1
            self._ip_out(out, next_hop, raw, now)
        elif action == DELIVER:  # a datagram not for us: nothing here to deliver it to
            self.drop("ipv4", "not_for_us", str(pkt.dst))
        else:
            reason = decision.reason if isinstance(decision.reason, str) else ""
            reason = "".join(c for c in reason[:40] if c.isalnum() or c == "_") or "dropped"
            self.drop("ipv4", reason, str(pkt.dst))
            icmp = decision.icmp
            if icmp is not None:
                if isinstance(icmp, tuple | list) and len(icmp) == 2 and \
                        all(type(x) is int and 0 <= x <= 255 for x in icmp):
                    self.icmp_error(pkt, icmp[0], icmp[1], now)
                else:
                    self.drop("icmp", "bad_decision", repr(icmp)[:40])

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

    # ------------------------------------------------------------------ output
    def send_ip(self, dst: IPv4Address, protocol: int, payload: bytes, now: float, *,
                src: IPv4Address | None = None, ttl: int | None = None, df: bool = False,
                dscp: int = 0, ecn: int = 0) -> bool:
        """Route and send one datagram from this host. False when there is no route."""
        self.now = now
        ipc = self.ipv4_counts
        if dst in self._by_ip:  # to ourselves: loop back
            raw = build_ipv4(src or dst, dst, protocol, payload, ttl=ttl or self.default_ttl,
                             ecn=ecn)
            ipc["loopback"] += 1
            self._deliver(parse_ipv4(raw), now)
            return True
        route = self.routes.lookup(dst)
        if route is None:
            self.drop("ipv4", "no_route", str(dst))
            return False
        out = self.interfaces[route.interface]
        self._ip_id = (self._ip_id + 1) & 0xFFFF
        src = src or out.ip
        ttl = ttl or self.default_ttl
        raw = build_ipv4(src, dst, protocol, payload, ttl=ttl, identification=self._ip_id,
                         df=df, dscp=dscp, ecn=ecn)
        ipc["tx"] += 1
        if len(raw) > out.mtu:
            if df:
                self.drop("ipv4", "too_big_df", f"{len(raw)} > mtu {out.mtu}")
                return False
            for frag in fragment(parse_ipv4(raw, False), out.mtu):
                ipc["tx_fragments"] += 1
                self._ip_out(out, route.gateway or dst, frag.build(), now)
            return True
        self._ip_out(out, route.gateway or dst, raw, now)
        return True

    def send_tcp(self, src: IPAddress, dst: IPAddress, seg: TCPSegment, opts: bytes,
                 now: float, ecn: int = 0) -> bool:
        """Send a segment of one of this host's connections: `seg` with its options encoded
        as `opts`, in a datagram with DF set (as TCP always sends: RFC 1191 path MTU
        discovery) and `ecn` in its ECN field. Through a port that takes them it goes as a
        `LazyFrame`, its bytes never built unless something needs them; otherwise (or while ARP
        resolves) as `send_ip`. A segment to an IPv6 address goes to the IPv6 layer (never as
        a `LazyFrame`), `ecn` in the low bits of its Traffic Class (RFC 3168 §5, ECT)."""
        # (an IPv6 destination matches no IPv4 route: no hop, the bytes path below)
        hop = None if dst in self._by_ip else self._lazy_hop(
            dst, HEADERS - ETH_HEADER_LEN + len(opts) + len(seg.payload),  # type: ignore[arg-type]
            now)
        if hop is not None:
            out, mac = hop
            self.now = now
            ident = self._ip_id = (self._ip_id + 1) & 0xFFFF
            self.ipv4_counts["tx"] += 1
            self.eth_counts["tx"] += 1
            # (a hop was found: an IPv4 route, so both addresses are IPv4)
            self.transmit(out, LazyFrame(mac, out.mac, src, dst,  # type: ignore[arg-type]
                                         self.default_ttl, ident, seg, opts, ecn))
            return True
        raw = build_tcp(src, dst, seg.src_port, seg.dst_port, seg.seq, seg.ack, seg.flags,
                        seg.window, seg.payload, opts, seg.urgent)
        if isinstance(dst, IPv6Address):
            # (the checksum over the IPv6 pseudo-header: RFC 8200 §8.1, upper-layer checksums)
            return self.ipv6.send(dst, NH_TCP, raw, now, src=src,  # type: ignore[arg-type]
                                  traffic_class=ecn)
        return self.send_ip(dst, PROTO_TCP, raw, now, src=src, df=True,  # type: ignore[arg-type]
                            ecn=ecn)

    def _ip_out(self, iface: Interface, next_hop: IPv4Address, raw: bytes, now: float) -> None:
        if iface.netif is not None:
            self._netif_output(iface, next_hop, raw, now)
            return
        mac = iface.arp.lookup(next_hop, now)
        if mac is not None:
            self._send_frame(iface, mac, ETHERTYPE_IPV4, raw)
            return
        if next_hop == LIMITED_BROADCAST or next_hop == iface.broadcast:
            self._send_frame(iface, BROADCAST, ETHERTYPE_IPV4, raw)
            return
        outcome = iface.arp.enqueue(next_hop, raw, now)
        if outcome is Enqueue.SEND_REQUEST:
            self._send_arp_request(iface, next_hop)
            self._arm_housekeeping()
        elif outcome is Enqueue.DROPPED:
            # (the detail only for a trace: under a SYN flood from spoofed on-link addresses
            # this runs once per SYN-ACK)
            self.drop("arp", "pending_overflow", "" if self.trace is None else str(next_hop))

    # ------------------------------------------------------------------ another link layer
    def _netif_input(self, iface: Interface, frame: bytes, now: float) -> None:
        """A frame for an interface with its own link layer (`set_netif`)."""
        if not iface.up:
            self.drop("eth", "interface_down")
            return
        assert iface.netif is not None
        if frame[12:14] == _ETH_ARP:  # the stack's ARP counters still count (arp_counts_in)
            arpc = self.counters["arp"]
            for key in arp_counts_in(frame, iface.ip, iface.mac):
                arpc[key] += 1
        got = iface.netif.recv_frame(frame, now)
        self._transmit_all(iface, got.frames)
        if got.datagram is not None:
            self._ip_input(iface, frame[:14] + bytes(got.datagram), now,
                           frame[0:6] == BROADCAST)
        self._arm_housekeeping()

    def _netif_output(self, iface: Interface, next_hop: IPv4Address, raw: bytes,
                      now: float) -> None:
        if next_hop == LIMITED_BROADCAST or next_hop == iface.broadcast:
            self._send_frame(iface, BROADCAST, ETHERTYPE_IPV4, raw)
            return
        assert iface.netif is not None
        self._transmit_all(iface, iface.netif.send_datagram(raw, next_hop, now))
        self._arm_housekeeping()

    def _netif_tick(self, iface: Interface, now: float) -> None:
        assert iface.netif is not None
        got = iface.netif.tick(now)
        self._transmit_all(iface, got.frames, retry=True)
        for raw in got.failed:
            self.drop("arp", "unresolved", "a next hop did not answer ARP")
            self._arp_failed(bytes(raw), now)

    def _transmit_all(self, iface: Interface, frames: list[bytes], retry: bool = False) -> None:
        for f in frames:
            self.eth_counts["tx"] += 1
            if f[12:14] == _ETH_ARP:
                arpc = self.counters["arp"]
                for key in arp_counts_out(f, retry):
                    arpc[key] += 1
            self.transmit(iface, bytes(f))

    def _send_frame(self, iface: Interface, dst: bytes, ethertype: int, payload: bytes) -> None:
        self.eth_counts["tx"] += 1
        self.transmit(iface, build_ethernet(dst, iface.mac, ethertype, payload, mtu=65535))

    def _send_arp_request(self, iface: Interface, ip: IPv4Address) -> None:
        self.counters["arp"]["tx_request"] += 1
        self._send_arp(iface, ArpPacket.request(iface.mac, iface.ip, ip), BROADCAST)

    def _send_arp(self, iface: Interface, pkt: ArpPacket, dst: bytes) -> None:
        self.counters["arp"]["tx"] += 1
        self._send_frame(iface, dst, ETHERTYPE_ARP, pkt.build())

    def _arp_failed(self, raw: bytes, now: float) -> None:
        """ARP gave up on a next hop: tell the sender the host is unreachable (RFC 1122
        §2.3.2.2). A local sender gets the error looped back, like Linux's EHOSTUNREACH."""
        try:
            pkt = parse_ipv4(raw, verify_checksum=False)
        except WireError:
            return
        self.icmp_error(pkt, icmpw.DEST_UNREACHABLE, icmpw.UNREACH_HOST, now)


def _header_damaged(data: bytes, exc: WireError) -> bool:
    """Whether a header that failed to parse also fails its checksum: a bit flipped in the
    version, IHL or total length is damage the checksum catches, not a malformed sender."""
    if isinstance(exc, IPv4ChecksumError):
        return True
    if len(data) < 20:
        return False  # truncated: nothing to check
    hlen = max(20, min((data[0] & 0x0F) * 4, len(data)))
    return int.from_bytes(data[:hlen], "big") % 0xFFFF != 0


__all__ = ["Stack", "Interface"]
