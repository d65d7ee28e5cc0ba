"""The sans-I/O network stack of one host or router: Ethernet, ARP, IPv4, ICMP, UDP, TCP.

Inputs: frames (`receive`) and the passage of time (`poll`). Outputs: frames
handed to the driver's `transmit(interface, frame)` callable, the next deadline
(`next_deadline`, and the `timers.on_earlier` hook), events to applications
through socket objects, and trace records. Nothing here reads a clock or does I/O
(DESIGN.md §1).

`Stack` is the last of three parts, each extending the one before: `host_arp.ArpHost` (the
state they share, Ethernet output, ARP and the housekeeping timer), `host_forward.
ForwardingHost` (a router's forwarding, fragmenting, ICMP), and here the configuration, the
input of frames and datagrams and the output of datagrams and TCP segments. The parts students
replace (another link layer, another forwarder) are called through netsim/stack/seams.py.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Interface, IPv6Address
from typing import Any, Final

from netsim.errors import UsageError
from netsim.stack import seams
from netsim.stack.arp import ArpCache, ArpTable
from netsim.stack.events import Tracer
from netsim.stack.forwarding import Forwarder
from netsim.stack.fragments import fragment
from netsim.stack.host_arp import LIMITED_BROADCAST, IcmpHandler, Transmit
from netsim.stack.host_forward import ForwardingHost
from netsim.stack.interface import Interface
from netsim.stack.ipv6 import Ipv6Layer
from netsim.stack.netif import NetworkInterface
from netsim.stack.tcp.layer import TcpLayer
from netsim.stack.udp import UdpLayer
from netsim.wire import icmp as icmpw
from netsim.wire.errors import IPv4ChecksumError, WireError
from netsim.wire.ethernet import HEADER_LEN as ETH_HEADER_LEN
from netsim.wire.ipv4 import PROTO_ICMP, PROTO_TCP, PROTO_UDP, IPv4Packet, build_ipv4, parse_ipv4
from netsim.wire.ipv6 import NH_TCP
from netsim.wire.lazyframe import HEADERS, LazyFrame
from netsim.wire.mac import BROADCAST, MacAddress
from netsim.wire.tcp import IPAddress, TCPSegment, build_tcp

_ETH_IPV4: Final = b"\x08\x00"
_ETH_ARP: Final = b"\x08\x06"
_ETH_IPV6: Final = b"\x86\xdd"


class Stack(ForwardingHost):
    """One host (or, with ``forwarding=True``, a router).

    `transmit` is set by the driver (netsim.node) to put a frame on an interface's port.
    """

    def __init__(self, name: str = "host", *, forwarding: bool = False,
                 trace: Tracer | None = None, default_ttl: int = 64,
                 icmp_rate: float = 100.0, icmp_burst: int = 50, tcp: Any = None) -> None:
        super().__init__(name, forwarding, trace, default_ttl, icmp_rate, icmp_burst)
        self.udp = UdpLayer(self)
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
        self._not_ours = None
        self._routed.clear()
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
        seams.install_forwarder(self, forwarder)

    def set_netif(self, interface: str, netif: NetworkInterface) -> None:
        """Let `netif` do the Ethernet framing and ARP of `interface` (assignment 08): every
        frame received there and every datagram sent there goes through it."""
        seams.install_netif(self, interface, netif)

    def set_default_route(self, via: str) -> None:
        self.add_route("0.0.0.0/0", via=via)

    @property
    def ip(self) -> IPv4Address:
        """The address of the first interface (hosts usually have one)."""
        return next(iter(self.interfaces.values())).ip

    def is_local(self, ip: IPv4Address) -> bool:
        return ip in self._by_ip

    # ------------------------------------------------------------------ input
    def receive(self, iface: Interface | str, frame: bytes | LazyFrame, now: float) -> None:
        """A frame arrived on `iface`."""
        if isinstance(iface, str):
            iface = self.interfaces[iface]
        if isinstance(frame, LazyFrame):
            self.receive_lazy(iface, frame, now)
            return
        self.now = now
        n = self._eth_rx
        if not n:
            self._touch("eth", "rx")
        self._eth_rx = n + 1
        if iface.netif is not None:
            seams.netif_input(self, iface, frame, now)
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

    def receive_lazy(self, iface: Interface, frame: LazyFrame, now: float) -> None:
        """`receive` of a TCP frame another stack in this process sent (netsim.wire.
        lazyframe), called by the driver directly: to us, it goes to TCP as it is; a router
        sends it on as one, when nothing needs its bytes. Anything else takes the path of the
        frame's bytes."""
        self.now = now
        n = self._eth_rx
        if not n:
            self._touch("eth", "rx")
        self._eth_rx = n + 1
        if iface.netif is not None:
            seams.netif_input(self, iface, frame.raw(), now)
            return
        if not iface.up:
            self.drop("eth", "interface_down")
            return
        if frame.dst_mac != iface.mac:
            self.drop("eth", "not_our_mac", str(MacAddress(frame.dst_mac)))
            return
        dst = frame.ip_dst
        if not self._own_forwarder:
            self._ip_input(iface, frame.raw(), now, False)  # another forwarder decides
            return
        local = dst is self._ours
        if not local and self._routed.get(iface) is not dst:
            if dst in self._by_ip:
                self._ours = dst
                local = True
            elif dst in iface.broadcasts:  # (not to be forwarded: the bytes path decides)
                self._ip_input(iface, frame.raw(), now, False)
                return
            else:
                self._routed[iface] = dst
        if local:
            n = self._lazy_in
            if not n:
                self._touch("ipv4", "rx")
                self._touch("ipv4", "delivered")
            self._lazy_in = n + 1
            self.tcp.segment_input(frame.ip_src, dst, frame.seg, now, frame.ecn)
            return
        if self.forwarding and frame.ttl > 1:
            # (as _forward: RFC 1812 §5.3.1, TTL one less; no fragmentation needed)
            hop = self._lazy_hop(dst, frame.length - ETH_HEADER_LEN, now)
            if hop is not None:
                out, mac = hop
                n = self._lazy_fwd
                if not n:
                    self._touch("ipv4", "rx")
                    self._touch("ipv4", "forwarded")
                    self._touch("eth", "tx")
                self._lazy_fwd = n + 1
                # (frame.forwarded(mac, out.mac), made here: a call less per frame forwarded)
                sent = LazyFrame(mac, out.mac, frame.ip_src, dst, frame.ttl - 1, frame.ident,
                                 frame.seg, frame.opts, frame.ecn)
                send = out.port_send
                if send is not None and self.transmit is self._driver_transmit:
                    send(sent)  # (what _send_out does, without the call)
                else:
                    self._send_out(out, sent)
                return
        self._ip_input(iface, frame.raw(), now, False)

    def _lazy_hop(self, dst: IPv4Address, ip_length: int, now: float
                  ) -> tuple[Interface, MacAddress] | None:
        """Where a LazyFrame of `ip_length` bytes to `dst` goes: the interface and the next
        hop's MAC, when that port takes LazyFrame objects, the packet needs no fragmenting and
        ARP knows the next hop. None: the bytes path (no route, ARP to do, ...) decides."""
        # (RoutingTable.lookup's answers for its last two addresses, read without the call)
        routes = self.routes
        if dst is routes._last:
            route = routes._last_route
        elif dst is routes._prev:
            route = routes._prev_route
        else:
            route = routes.lookup(dst)
        if route is None:
            return None
        out = self.interfaces[route.interface]
        if not out.lazy_frames or ip_length > out.mtu or out.netif is not None:
            return None
        arp = out.arp
        ip = route.gateway or dst
        if type(arp) is ArpTable:
            # The reference table's `lookup` (netsim/stack/arp.py), read without calling it
            # once per frame: an entry not yet expired is the answer; otherwise `lookup`
            # itself (it forgets an expired entry). Exactly that class: a subclass or another
            # ArpCache (a student's, assignment 08) is asked every time.
            entry = arp._cache.get(ip)
            mac = entry[0] if entry is not None and entry[1] > now else arp.lookup(ip, now)
        else:
            mac = arp.lookup(ip, now)
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
        self._count_ip_rx()
        dst = pkt.dst
        local = dst in self._by_ip
        if local or dst == LIMITED_BROADCAST or dst == iface.broadcast or \
                (broadcast and dst in iface.ip_groups):
            if local and not self._own_forwarder and not broadcast and \
                    not seams.delivers(self, pkt, data, now):
                return  # another forwarder decided for a datagram to the router too
            if pkt.mf or pkt.fragment_offset:
                whole, reason = self.reassembler.add(pkt, now)
                if reason is not None:
                    self.drop("ipv4", reason)
                self._arm_housekeeping()
                if whole is None:
                    return
                ipc["reassembled"] += 1
                pkt = whole
            self._count_ip_delivered()
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
        self._count_ip_tx()
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
        if dst is self._not_ours:
            local = False
        else:
            local = dst in self._by_ip
            if not local:
                self._not_ours = dst
        hop = None if local else self._lazy_hop(
            dst, HEADERS - ETH_HEADER_LEN + len(opts) + len(seg.payload),  # type: ignore[arg-type]
            now)
        if hop is not None:
            out, mac = hop
            self.now = now
            ident = self._ip_id = (self._ip_id + 1) & 0xFFFF
            n = self._lazy_out
            if not n:
                self._touch("ipv4", "tx")
                self._touch("eth", "tx")
            self._lazy_out = n + 1
            # (a hop was found: an IPv4 route, so both addresses are IPv4)
            frame = LazyFrame(mac, out.mac, src, dst,  # type: ignore[arg-type]
                              self.default_ttl, ident, seg, opts, ecn)
            send = out.port_send
            if send is not None and self.transmit is self._driver_transmit:
                send(frame)  # (what _send_out does, without the call)
            else:
                self._send_out(out, frame)
            return True
        raw = build_tcp(src, dst, seg.src_port, seg.dst_port, seg.seq, seg.ack, seg.flags,
                        seg.window, seg.payload, opts, seg.urgent)
        if isinstance(dst, IPv6Address):
            # (the checksum over the IPv6 pseudo-header: RFC 8200 §8.1, upper-layer checksums)
            return self.ipv6.send(dst, NH_TCP, raw, now, src=src,  # type: ignore[arg-type]
                                  traffic_class=ecn)
        return self.send_ip(dst, PROTO_TCP, raw, now, src=src, df=True,  # type: ignore[arg-type]
                            ecn=ecn)


def _header_damaged(data: bytes, exc: WireError) -> bool:
    """Whether a header that failed to parse also fails its checksum: a bit flipped in the
    version, IHL or total length is damage the checksum catches, not a malformed sender."""
    if isinstance(exc, IPv4ChecksumError):
        return True
    if len(data) < 20:
        return False  # truncated: nothing to check
    hlen = max(20, min((data[0] & 0x0F) * 4, len(data)))
    return int.from_bytes(data[:hlen], "big") % 0xFFFF != 0


__all__ = ["LIMITED_BROADCAST", "IcmpHandler", "Interface", "Stack", "Transmit"]
