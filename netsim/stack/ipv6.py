"""The IPv6 layer of a dual-stack host (RFC 8200), beside the IPv4 code of netsim/stack/host.py.

It is off until `enable(interface)`: then the interface gets its link-local address from
the MAC (RFC 4862 §5.3), joins the all-nodes and solicited-node multicast groups, and checks
its addresses with duplicate address detection (netsim/stack/nd.py). Inputs: IPv6 frames from
`Stack.receive` (dispatched on the EtherType, so IPv4 never passes here) and the passage of
time (`on_timer`, through the stack's timer queue). Outputs go through the stack's driver.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from ipaddress import IPv6Address, IPv6Interface, IPv6Network
from typing import TYPE_CHECKING, Final

from netsim import argcheck
from netsim.errors import UsageError
from netsim.stack.icmp import TokenBucket
from netsim.stack.ipv6_input import (
    error_to_transport,
    extensions_ok,
    forward,
    tcp_input,
    udp_input,
)
from netsim.stack.ipv6_state import Addr6, Iface6, Ipv6Host
from netsim.stack.nd import NeighborDiscovery
from netsim.stack.ndcache import NeighborCache
from netsim.stack.timers import INF
from netsim.wire import icmpv6 as i6
from netsim.wire.errors import WireError
from netsim.wire.ethernet import ETHERTYPE_IPV6, build_ethernet
from netsim.wire.ipv6 import (
    ALL_NODES,
    NH_ICMPV6,
    NH_NONE,
    NH_TCP,
    NH_UDP,
    IPv6Packet,
    build_ipv6,
    link_local,
    multicast_mac,
    parse_ipv6,
    solicited_node,
)
from netsim.wire.udp import build_udp

if TYPE_CHECKING:
    from netsim.stack.interface import Interface


Icmp6Handler = Callable[[IPv6Packet, i6.ICMPv6Message, float], None]

LINK_LOCAL_NET: Final = IPv6Network("fe80::/64")


class Ipv6Layer:
    """IPv6 and ICMPv6 for one stack."""

    def __init__(self, stack: Ipv6Host, icmp_rate: float = 100.0, icmp_burst: int = 50) -> None:
        self.stack = stack
        self.ifaces: dict[str, Iface6] = {}
        self._local: dict[IPv6Address, Iface6] = {}  # every unicast address, tentative too
        self.routes: list[tuple[IPv6Network, str, IPv6Address | None]] = []
        # RFC 4443 §2.4 (f): a token bucket limits the rate of ICMPv6 errors
        self.limiter = TokenBucket(icmp_rate, icmp_burst)
        self.handlers: list[Icmp6Handler] = []
        self.nd = NeighborDiscovery(self)
        self.routers = self.nd.routers  # router discovery: advertise(), solicit()
        self.timer_at = INF
        self.counts = stack.counters["ipv6"]
        self.icmp_counts = stack.counters["icmp6"]
        self.default_hop_limit = 64

    # ------------------------------------------------------------------ configuration
    def enable(self, iface: str | Interface, addresses: tuple[str, ...] = (), *,
               now: float = 0.0, dad: bool = True) -> Iface6:
        """Turn IPv6 on for `iface`: its link-local address plus `addresses` ("2001:db8::1/64"),
        each checked by DAD first (RFC 4862 §5.4) unless `dad` is False."""
        if isinstance(iface, str):
            if iface not in self.stack.interfaces:
                raise UsageError(f"interface: no interface {iface!r} on {self.stack.name}")
            iface = self.stack.interfaces[iface]
        if iface.name in self.ifaces:
            raise UsageError(f"ipv6: already enabled on {iface.name}")
        seed = f"{self.stack.name}/{iface.name}/{iface.mac}"
        state = Iface6(iface, NeighborCache(random.Random(seed)))
        self.ifaces[iface.name] = state
        state.join(ALL_NODES)
        self.add_address(iface.name, f"{link_local(iface.mac)}/64", now=now, dad=dad)
        for text in addresses:
            self.add_address(iface.name, text, now=now, dad=dad)
        return state

    def add_address(self, iface: str, text: str, *, now: float = 0.0, dad: bool = True) -> Addr6:
        state = self.ifaces.get(iface)
        if state is None:
            raise UsageError(f"ipv6: not enabled on {iface!r}; enable it first")
        try:
            net = IPv6Interface(text)
        except ValueError as exc:
            raise UsageError(f"address: {text!r} is not an IPv6 address with a prefix "
                             f"such as 2001:db8::1/64 ({exc})") from None
        addr = net.ip
        if addr.is_multicast or addr.is_unspecified or addr.is_loopback:
            raise UsageError(f"address: {addr} is not a unicast address")
        if addr in self._local:
            raise UsageError(f"address: {addr} is already configured")
        entry = Addr6(addr, net.network, tentative=dad)
        state.addresses.append(entry)
        self._local[addr] = state
        # RFC 4862 §5.4.2: join the solicited-node group of a tentative address for DAD
        state.join(solicited_node(addr))
        self.add_on_link(iface, net.network)
        if dad:
            self.nd.start_dad(state, entry, now)
        return entry

    def add_route(self, network: str, via: str, iface: str) -> None:
        """A route to `network` through router `via` (a link-local or global address)."""
        if iface not in self.ifaces:
            raise UsageError(f"iface: IPv6 is not enabled on {iface!r}")
        try:
            net = IPv6Network(network, strict=False)
        except (TypeError, ValueError):
            raise UsageError(f"network: {network!r:.60} is not an IPv6 network; use e.g. "
                             "'2001:db8:1::/64'") from None
        gw = argcheck.ipv6("via", via)
        self.routes.append((net, iface, gw))
        self.routes.sort(key=lambda r: -r[0].prefixlen)

    def set_default_router(self, iface: str, router: IPv6Address, on: bool) -> None:
        """Add (or remove) a default route ::/0 through `router` on `iface`."""
        entry = (IPv6Network("::/0"), iface, router)
        if on and entry not in self.routes:
            self.routes.append(entry)
        elif not on and entry in self.routes:
            self.routes.remove(entry)

    def add_on_link(self, iface: str, net: IPv6Network) -> None:
        """A prefix reachable directly on `iface`."""
        if (net, iface, None) not in self.routes:
            self.routes.append((net, iface, None))
            self.routes.sort(key=lambda r: -r[0].prefixlen)

    def remove_on_link(self, iface: str, net: IPv6Network) -> None:
        if (net, iface, None) in self.routes and not any(
                a.network == net for a in self.ifaces[iface].addresses):
            self.routes.remove((net, iface, None))

    def addresses(self, iface: str) -> list[IPv6Address]:
        """The usable (not tentative, not duplicate) addresses of `iface`."""
        return [a.address for a in self.ifaces[iface].addresses
                if not a.tentative and not a.duplicate]

    def accepts(self, iface: Interface, dst_mac: bytes) -> bool:
        """Whether a frame to `dst_mac` (a multicast MAC) is for one of our groups."""
        state = self.ifaces.get(iface.name)
        return state is not None and dst_mac in state.groups

    # ------------------------------------------------------------------ time
    def on_timer(self, now: float) -> None:
        for state in self.ifaces.values():
            self.nd.poll(state, now)
        self.arm()

    def arm(self) -> None:
        soon = min((d for d in (self.nd.next_deadline(s) for s in self.ifaces.values())
                    if d is not None), default=None)
        if soon is not None:
            self.stack.timers.ensure(self, soon)

    # ------------------------------------------------------------------ input
    def input(self, iface: Interface, frame: bytes, now: float) -> None:
        stack = self.stack
        state = self.ifaces.get(iface.name)
        if state is None:
            stack.drop("ipv6", "disabled", iface.name)
            return
        try:
            pkt = parse_ipv6(frame[14:])
        except WireError as exc:
            stack.drop("ipv6", "malformed", str(exc))
            return
        self.counts["rx"] += 1
        dst = pkt.dst
        link_multicast = bool(frame[0] & 1)
        if dst.is_multicast:
            if dst not in state.multicast:
                stack.drop("ipv6", "not_our_group", str(dst))
                return
        else:
            owner = self._local.get(dst)
            if owner is None:
                if stack.forwarding and not link_multicast:
                    forward(self, state, pkt, frame, now)
                else:
                    stack.drop("ipv6", "not_for_us", str(dst))
                return
            if self._tentative(dst):
                # RFC 4862 §5.4: packets to a tentative address are discarded, except the
                # neighbour solicitations DAD looks for (sent to the solicited-node group)
                stack.drop("ipv6", "tentative_address", str(dst))
                return
        if not extensions_ok(self, pkt, now, link_multicast):
            return
        nh = pkt.next_header
        self.counts["delivered"] += 1
        if nh == NH_ICMPV6:
            self._icmp_input(state, pkt, frame, now, link_multicast)
        elif nh == NH_TCP:
            tcp_input(self, pkt, now, link_multicast)
        elif nh == NH_UDP:
            udp_input(self, pkt, now, link_multicast)
        elif nh == NH_NONE:
            self.counts["no_next_header"] += 1  # RFC 8200 §4.7: nothing follows
        else:
            # RFC 8200 §4: an unrecognized Next Header: parameter problem, code 1, pointing
            # at the field that names it
            stack.drop("ipv6", "unknown_next_header", str(nh))
            self.icmp_error(pkt, i6.PARAMETER_PROBLEM, i6.PARAM_NEXT_HEADER, now,
                            value=pkt.nh_field, link_multicast=link_multicast)

    def send_udp(self, dst: IPv6Address, sport: int, dport: int, payload: bytes, now: float,
                 *, hop_limit: int | None = None) -> bool:
        """One UDP datagram over IPv6 (the checksum over the IPv6 pseudo-header)."""
        hop = self.route(dst)
        src = None if hop is None else hop[0].preferred(dst)
        if src is None:
            self.stack.counters.drop("udp", "no_route")
            return False
        data = build_udp(src, dst, sport, dport, payload)
        self.stack.counters["udp"]["tx"] += 1
        return self.send(dst, NH_UDP, data, now, src=src, hop_limit=hop_limit)

    def source_for(self, dst: IPv6Address) -> IPv6Address | None:
        """Our address for packets to `dst` (None: no route, or no usable address)."""
        if dst in self._local:
            return dst
        hop = self.route(dst)
        return None if hop is None else hop[0].preferred(dst)

    def mtu_for(self, dst: IPv6Address) -> int | None:
        """The MTU of the interface packets to `dst` leave by (None: no route)."""
        hop = self.route(dst)
        return None if hop is None else hop[0].iface.mtu

    def _tentative(self, addr: IPv6Address) -> bool:
        state = self._local.get(addr)
        return state is not None and any(a.address == addr and a.tentative
                                         for a in state.addresses)

    def _icmp_input(self, state: Iface6, pkt: IPv6Packet, frame: bytes, now: float,
                    link_multicast: bool) -> None:
        stack = self.stack
        try:
            msg = i6.parse_icmpv6(pkt.payload, pkt.src, pkt.dst)
        except WireError as exc:
            stack.drop("icmp6", "checksum" if "checksum" in str(exc) else "malformed",
                       str(exc))
            return
        counts = self.icmp_counts
        counts["rx"] += 1
        counts[f"rx_type_{msg.type}"] += 1
        t = msg.type
        if 133 <= t <= 137:
            self.nd.input(state, pkt, msg, now)
            return
        if t == i6.ECHO_REQUEST:
            # RFC 4443 §4.2: the reply carries the request's identifier, sequence and data;
            # to a multicast request the source is a unicast address of the interface
            src = pkt.dst if not pkt.dst.is_multicast else state.preferred(pkt.src)
            if src is None:
                stack.drop("icmp6", "no_source_address")
                return
            reply = i6.ICMPv6Message(i6.ECHO_REPLY, 0, msg.rest, msg.payload)
            counts["tx_echo_reply"] += 1
            self.send(pkt.src, NH_ICMPV6, reply.build(src, pkt.src), now, src=src,
                      iface=state)
        elif msg.is_error:
            error_to_transport(self, msg, pkt.src, now)
        for handler in list(self.handlers):
            handler(pkt, msg, now)

    # ------------------------------------------------------------------ ICMPv6 errors
    def icmp_error(self, about: IPv6Packet, type_: int, code: int, now: float, *,
                   value: int = 0, link_multicast: bool = False,
                   multicast_ok: bool = False) -> bool:
        """Send an ICMPv6 error about `about` to its source, if RFC 4443 §2.4 (e) allows and
        the rate limit (§2.4 (f)) has room. `multicast_ok`: the packet too big and parameter
        problem (code 2) exceptions to the multicast rule."""
        counts = self.icmp_counts
        src = about.src
        multicast_ok = multicast_ok or type_ == i6.PACKET_TOO_BIG
        if (about.next_header == NH_ICMPV6 and about.payload and about.payload[0] < 128) \
                or ((about.dst.is_multicast or link_multicast) and not multicast_ok) \
                or src.is_unspecified or src.is_multicast:
            # RFC 4443 §2.4 (e): never about an error, a multicast packet (but for the
            # exceptions) or a packet whose source is not a single node
            counts["error_suppressed"] += 1
            return False
        if not self.limiter.take(now):
            self.stack.drop("icmp6", "rate_limited")
            return False
        state = self.route(src)
        me = state[0].preferred(src) if state is not None else None
        if me is None:
            counts["error_suppressed"] += 1
            return False
        msg = i6.error(type_, code, about.build(), value)
        counts["tx_error"] += 1
        return self.send(src, NH_ICMPV6, msg.build(me, src), now, src=me)

    # ------------------------------------------------------------------ output
    def route(self, dst: IPv6Address, iface: Iface6 | None = None
               ) -> tuple[Iface6, IPv6Address] | None:
        """(interface, next hop) for `dst`. Link-local and multicast destinations leave by
        `iface` (default: the first IPv6 interface)."""
        if dst.is_link_local or dst.is_multicast:
            state = iface or next(iter(self.ifaces.values()), None)
            return None if state is None else (state, dst)
        for net, name, gw in self.routes:
            if dst in net and (iface is None or iface.iface.name == name):
                return self.ifaces[name], gw or dst
        return None

    def send(self, dst: IPv6Address, nh: int, payload: bytes, now: float, *,
             src: IPv6Address | None = None, hop_limit: int | None = None,
             iface: Iface6 | None = None, traffic_class: int = 0) -> bool:
        """Route and send one packet from this host. False when it cannot leave.
        `traffic_class`: the header's octet; its low two bits are the ECN field (RFC 3168 §5,
        ECT and CE)."""
        stack = self.stack
        stack.now = now
        hop = self.route(dst, iface)
        if hop is None:
            stack.drop("ipv6", "no_route", str(dst))
            return False
        state, next_hop = hop
        src = src or state.preferred(dst)
        if src is None:
            stack.drop("ipv6", "no_source_address", str(dst))
            return False
        raw = build_ipv6(src, dst, nh, payload, hop_limit=hop_limit or self.default_hop_limit,
                         traffic_class=traffic_class)
        self.counts["tx"] += 1
        if dst in self._local:  # to ourselves: loop back
            self.counts["loopback"] += 1
            self.input(state.iface, build_ethernet(state.iface.mac, state.iface.mac,
                                                   ETHERTYPE_IPV6, raw, mtu=65535), now)
            return True
        if len(raw) > state.iface.mtu:
            # RFC 8200 §5 packet size: a source may fragment; this host does not (yet)
            stack.drop("ipv6", "too_big", f"{len(raw)} > mtu {state.iface.mtu}")
            return False
        self.output(state, next_hop, raw, now)
        return True

    def output(self, state: Iface6, next_hop: IPv6Address, raw: bytes, now: float) -> None:
        if next_hop.is_multicast:
            self.frame_out(state, multicast_mac(next_hop), raw)
            return
        mac, solicit, dropped, wake = state.cache.resolve(next_hop, raw, now)
        if dropped:
            self.stack.drop("ipv6", "pending_overflow", str(next_hop))
        if mac is not None:
            self.frame_out(state, mac, raw)
        elif solicit:
            self.nd.solicit(state, next_hop, None, now)
        if wake != INF:
            self.stack.timers.ensure(self, wake)  # a resolution started, or STALE -> DELAY

    def frame_out(self, state: Iface6, mac: bytes, raw: bytes) -> None:
        self.stack.eth_counts["tx"] += 1
        self.stack.transmit(state.iface, build_ethernet(mac, state.iface.mac, ETHERTYPE_IPV6,
                                                        raw, mtu=65535))

    def resolution_failed(self, state: Iface6, packets: list[bytes], now: float) -> None:
        """RFC 4861 §7.2.2: address resolution gave up: destination unreachable, code 3
        (address unreachable), for each packet that was waiting."""
        for raw in packets:
            self.stack.drop("ipv6", "unresolved")
            try:
                pkt = parse_ipv6(raw)
            except WireError:
                continue
            self.icmp_error(pkt, i6.DEST_UNREACHABLE, i6.UNREACH_ADDRESS, now)


__all__ = ["Ipv6Layer", "Iface6", "Addr6"]
