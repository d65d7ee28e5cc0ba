"""The sans-I/O network stack of one host or router: Ethernet, ARP, IPv4, ICMP, UDP, TCP.

Inputs: frames (`receive`) and the passage of time (`poll`). Outputs: frames
handed to the driver's `transmit(interface, frame)` callable, the next deadline
(`next_deadline`, and the `timers.on_earlier` hook), events to applications
through socket objects, and trace records. Nothing here reads a clock or does I/O
(DESIGN.md §1).

`Stack` is the last of four parts, each extending the one before: `host_arp.ArpHost` (the
state they share, Ethernet output, ARP and the housekeeping timer), `host_forward.
ForwardingHost` (a router's forwarding, fragmenting, ICMP), `host_input.InputHost` (the input
of frames and datagrams), and here the configuration and the output of datagrams and TCP
segments. The parts students
replace (another link layer, another forwarder) are called through netsim/stack/seams.py.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Interface, IPv4Network, IPv6Address
from typing import Any

from netsim import argcheck
from netsim.errors import UsageError
from netsim.stack import seams
from netsim.stack.arp import ArpCache, ArpTable
from netsim.stack.events import Tracer
from netsim.stack.forwarding import Forwarder
from netsim.stack.fragments import fragment
from netsim.stack.host_arp import LIMITED_BROADCAST, IcmpHandler, Transmit
from netsim.stack.host_input import InputHost
from netsim.stack.interface import Interface
from netsim.stack.ipv6 import Ipv6Layer
from netsim.stack.netif import NetworkInterface
from netsim.stack.tcp.layer import TcpLayer
from netsim.stack.udp import UdpLayer
from netsim.wire.ethernet import HEADER_LEN as ETH_HEADER_LEN
from netsim.wire.ipv4 import PROTO_TCP, build_ipv4, parse_ipv4
from netsim.wire.ipv6 import NH_TCP
from netsim.wire.lazyframe import HEADERS, LazyFrame
from netsim.wire.mac import MacAddress
from netsim.wire.tcp import IPAddress, TCPSegment, build_tcp


class Stack(InputHost):
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

    def add_route(self, network: str | IPv4Network, via: str | IPv4Address | None = None,
                  interface: str | None = None) -> None:
        """Add a route; with only `via`, the interface is found from the connected routes."""
        # (the unions let a wrong type through the compiled build to the checks here, whose
        # UsageError names the argument; IPv4Address(5) would be 0.0.0.5)
        try:
            if isinstance(network, IPv4Network):
                net = network
            elif isinstance(network, str):
                net = IPv4Network(network, strict=False)  # host bits masked off, as before
            else:
                raise ValueError
        except ValueError:
            raise UsageError(f"network: {network!r:.60} is not an IPv4 network; use e.g. "
                             "'10.1.0.0/16'") from None
        gateway = argcheck.ipv4("via", via, "; use e.g. '10.0.0.2'") if via is not None else None
        if interface is None:
            if gateway is None:
                raise UsageError("route: give a gateway (via) or an interface")
            gw_route = self.routes.lookup(gateway)
            if gw_route is None or gw_route.gateway is not None:
                raise UsageError(f"via: gateway {via} is not on a connected network")
            interface = gw_route.interface
        if interface not in self.interfaces:
            raise UsageError(f"interface: no interface {interface!r} on {self.name}")
        route = self.routes.add(net, interface, gateway)
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

    def set_default_route(self, via: str | IPv4Address) -> None:
        self.add_route("0.0.0.0/0", via=via)

    @property
    def ip(self) -> IPv4Address:
        """The address of the first interface (hosts usually have one)."""
        return next(iter(self.interfaces.values())).ip

    def is_local(self, ip: IPv4Address) -> bool:
        return ip in self._by_ip

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


__all__ = ["LIMITED_BROADCAST", "IcmpHandler", "Interface", "Stack", "Transmit"]
