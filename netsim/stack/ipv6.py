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
from dataclasses import dataclass, field
from ipaddress import IPv6Address, IPv6Interface, IPv6Network
from typing import TYPE_CHECKING, Final

from netsim.errors import UsageError
from netsim.stack.icmp import TokenBucket
from netsim.stack.nd import NeighborDiscovery
from netsim.stack.ndcache import NeighborCache
from netsim.stack.timers import INF
from netsim.wire import icmpv6 as i6
from netsim.wire.errors import WireError
from netsim.wire.ethernet import ETHERTYPE_IPV6, build_ethernet
from netsim.wire.ipv6 import (
    ALL_NODES,
    NH_DSTOPTS,
    NH_FRAGMENT,
    NH_HOPOPTS,
    NH_ICMPV6,
    NH_NONE,
    NH_ROUTING,
    NH_UDP,
    IPv6Packet,
    build_ipv6,
    link_local,
    multicast_mac,
    parse_ipv6,
    solicited_node,
)
from netsim.wire.udp import build_udp, parse_udp

if TYPE_CHECKING:
    from netsim.stack.host import Stack
    from netsim.stack.interface import Interface

Icmp6Handler = Callable[[IPv6Packet, i6.ICMPv6Message, float], None]

#: Hop-by-hop options this host recognizes (RFC 8200 §4.2 leaves Pad1/PadN out of the list
#: the parser returns; 5 is the router alert of RFC 2711)
_KNOWN_OPTIONS: Final = frozenset({5})
LINK_LOCAL_NET: Final = IPv6Network("fe80::/64")


@dataclass(eq=False)
class Addr6:
    address: IPv6Address
    network: IPv6Network
    tentative: bool = True
    duplicate: bool = False


@dataclass(eq=False)
class Iface6:
    """The IPv6 state of one interface."""

    iface: Interface
    cache: NeighborCache
    addresses: list[Addr6] = field(default_factory=list)
    groups: set[bytes] = field(default_factory=set)  # multicast MACs it listens to
    multicast: set[IPv6Address] = field(default_factory=set)

    def preferred(self, dst: IPv6Address) -> IPv6Address | None:
        """RFC 8200 leaves source selection to RFC 6724; this host takes the usable address
        of the destination's scope: link-local for link-local and multicast link scope,
        else a global one (the first whose prefix matches, else the first)."""
        usable = [a for a in self.addresses if not a.tentative and not a.duplicate]
        if dst.is_link_local or (dst.is_multicast and (int(dst) >> 112) & 0xF == 2):
            return next((a.address for a in usable if a.address.is_link_local), None)
        glob = [a for a in usable if not a.address.is_link_local]
        for a in glob:
            if dst in a.network:
                return a.address
        if glob:
            return glob[0].address
        return next((a.address for a in usable), None)


class Ipv6Layer:
    """IPv6 and ICMPv6 for one stack."""

    def __init__(self, stack: Stack, icmp_rate: float = 100.0, icmp_burst: int = 50) -> None:
        self.stack = stack
        self.ifaces: dict[str, Iface6] = {}
        self._local: dict[IPv6Address, Iface6] = {}  # every unicast address, tentative too
        self.routes: list[tuple[IPv6Network, str, IPv6Address | None]] = []
        # RFC 4443 §2.4 (f): a token bucket limits the rate of ICMPv6 errors
        self.limiter = TokenBucket(icmp_rate, icmp_burst)
        self.handlers: list[Icmp6Handler] = []
        self.nd = NeighborDiscovery(self)
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
        self._join(state, ALL_NODES)
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
        self._join(state, solicited_node(addr))
        self.add_on_link(iface, net.network)
        if dad:
            self.nd.start_dad(state, entry, now)
        return entry

    def add_route(self, network: str, via: str, iface: str) -> None:
        """A route to `network` through router `via` (a link-local or global address)."""
        if iface not in self.ifaces:
            raise UsageError(f"route: IPv6 is not enabled on {iface!r}")
        try:
            net, gw = IPv6Network(network, strict=False), IPv6Address(via)
        except ValueError as exc:
            raise UsageError(f"route: {exc}") from None
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

    def _join(self, state: Iface6, group: IPv6Address) -> None:
        state.multicast.add(group)
        state.groups.add(multicast_mac(group))

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
                    self._forward(state, pkt, frame, now)
                else:
                    stack.drop("ipv6", "not_for_us", str(dst))
                return
            if self._tentative(dst):
                # RFC 4862 §5.4: packets to a tentative address are discarded, except the
                # neighbour solicitations DAD looks for (sent to the solicited-node group)
                stack.drop("ipv6", "tentative_address", str(dst))
                return
        if not self._extensions_ok(pkt, now, link_multicast):
            return
        nh = pkt.next_header
        self.counts["delivered"] += 1
        if nh == NH_ICMPV6:
            self._icmp_input(state, pkt, frame, now, link_multicast)
        elif nh == NH_UDP:
            self._udp_input(pkt, now, link_multicast)
        elif nh == NH_NONE:
            self.counts["no_next_header"] += 1  # RFC 8200 §4.7: nothing follows
        else:
            # RFC 8200 §4: an unrecognized Next Header: parameter problem, code 1, pointing
            # at the field that names it
            stack.drop("ipv6", "unknown_next_header", str(nh))
            self.icmp_error(pkt, i6.PARAMETER_PROBLEM, i6.PARAM_NEXT_HEADER, now,
                            value=pkt.nh_field, link_multicast=link_multicast)

    def _forward(self, state: Iface6, pkt: IPv6Packet, frame: bytes, now: float) -> None:
        """A router sends on a packet for someone else (extension headers other than
        hop-by-hop are not its business, RFC 8200 §4)."""
        stack = self.stack
        if pkt.dst.is_link_local:
            stack.drop("ipv6", "not_for_us", str(pkt.dst))  # another node on this link
            return
        if pkt.src.is_link_local:
            # RFC 4291 §2.5.6: routers do not forward packets with link-local source
            # addresses; RFC 4443 §3.1: beyond the scope of the source address
            stack.drop("ipv6", "link_local_not_forwarded", str(pkt.src))
            self.icmp_error(pkt, i6.DEST_UNREACHABLE, i6.UNREACH_BEYOND_SCOPE, now)
            return
        if pkt.hop_limit <= 1:
            # RFC 8200 §3 (Hop Limit) and RFC 4443 §3.3: hop limit exceeded in transit
            stack.drop("ipv6", "hop_limit_exceeded", str(pkt.dst))
            self.icmp_error(pkt, i6.TIME_EXCEEDED, i6.HOP_LIMIT_EXCEEDED, now)
            return
        hop = self.route(pkt.dst)
        if hop is None:
            stack.drop("ipv6", "no_route", str(pkt.dst))
            self.icmp_error(pkt, i6.DEST_UNREACHABLE, i6.UNREACH_NO_ROUTE, now)  # §3.1
            return
        out, next_hop = hop
        raw = frame[14:14 + 40 + pkt.payload_length]
        if len(raw) > out.iface.mtu:
            # RFC 4443 §3.2: routers do not fragment; packet too big with the next-hop MTU
            stack.drop("ipv6", "too_big", f"{len(raw)} > mtu {out.iface.mtu}")
            self.icmp_error(pkt, i6.PACKET_TOO_BIG, 0, now, value=out.iface.mtu)
            return
        self.counts["forwarded"] += 1
        self.output(out, next_hop, raw[:7] + bytes((pkt.hop_limit - 1,)) + raw[8:], now)

    # ------------------------------------------------------------------ UDP
    def _udp_input(self, pkt: IPv6Packet, now: float, link_multicast: bool) -> None:
        stack = self.stack
        data = pkt.payload
        if len(data) >= 8 and data[6:8] == b"\x00\x00":
            # RFC 8200 §8.1 upper-layer checksums: over IPv6 a UDP checksum of zero is not
            # "none" (as RFC 768 has it over IPv4): the datagram is discarded
            stack.drop("udp", "zero_checksum_ipv6", str(pkt.src))
            return
        try:
            dgram = parse_udp(data, pkt.src, pkt.dst)
        except WireError as exc:
            stack.drop("udp", "checksum" if "checksum" in str(exc) else "malformed", str(exc))
            return
        stack.counters["udp"]["rx"] += 1
        ep = stack.udp.endpoint(dgram.dst_port)
        if ep is None:
            stack.drop("udp", "port_unreachable", f"port {dgram.dst_port}")
            # RFC 4443 §3.1: destination unreachable, port unreachable (code 4)
            self.icmp_error(pkt, i6.DEST_UNREACHABLE, i6.UNREACH_PORT, now,
                            link_multicast=link_multicast)
            return
        if ep.on_datagram is not None:
            ep.on_datagram(dgram.payload, pkt.src, dgram.src_port, now)

    def _error_to_udp(self, msg: i6.ICMPv6Message, sender: IPv6Address, now: float) -> None:
        """An ICMPv6 error about one of our UDP datagrams: tell the endpoint that sent it."""
        try:
            quoted = msg.quoted_ipv6()
        except WireError:
            return
        if quoted.next_header != NH_UDP or quoted.src not in self._local \
                or len(quoted.payload) < 2:
            return
        ep = self.stack.udp.endpoint((quoted.payload[0] << 8) | quoted.payload[1])
        if ep is not None and ep.on_error is not None:
            ep.on_error(msg.type, msg.code, sender, now)

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

    def _tentative(self, addr: IPv6Address) -> bool:
        state = self._local.get(addr)
        return state is not None and any(a.address == addr and a.tentative
                                         for a in state.addresses)

    def _extensions_ok(self, pkt: IPv6Packet, now: float, link_multicast: bool) -> bool:
        """RFC 8200 §4: process the extension headers in order; False when the packet is
        dropped (counted, with a parameter problem where the RFC asks for one)."""
        stack = self.stack
        for i, h in enumerate(pkt.extensions):
            if h.type == NH_HOPOPTS and i > 0:
                # RFC 8200 §4.1 (extension header order): hop-by-hop only right after the
                # IPv6 header; elsewhere it is an unrecognized Next Header value
                stack.drop("ipv6", "hop_by_hop_not_first")
                where = 6 if i == 0 else pkt.extensions[i - 1].offset
                self.icmp_error(pkt, i6.PARAMETER_PROBLEM, i6.PARAM_NEXT_HEADER, now,
                                value=where, link_multicast=link_multicast)
                return False
            if h.type in (NH_HOPOPTS, NH_DSTOPTS):
                for opt in h.options:
                    if h.type == NH_HOPOPTS and opt.type in _KNOWN_OPTIONS:
                        continue
                    action = opt.action
                    if action == 0:
                        self.counts["option_skipped"] += 1
                        continue
                    # RFC 8200 §4.2: 01 discard; 10 discard and send a parameter problem,
                    # code 2, to the option; 11 the same unless the destination is multicast
                    stack.drop("ipv6", "unrecognized_option", str(opt.type))
                    if action == 2 or (action == 3 and not pkt.dst.is_multicast):
                        self.icmp_error(pkt, i6.PARAMETER_PROBLEM, i6.PARAM_OPTION, now,
                                        value=opt.offset, link_multicast=link_multicast,
                                        multicast_ok=action == 2)
                    return False
            elif h.type == NH_ROUTING:
                if h.segments_left == 0:
                    self.counts["routing_header_ignored"] += 1
                    continue  # RFC 8200 §4.4: ignore the header, go on to the next
                # RFC 8200 §4.4: an unrecognized routing type with segments left: parameter
                # problem, code 0, pointing at the routing type field
                stack.drop("ipv6", "routing_header", str(h.routing_type))
                self.icmp_error(pkt, i6.PARAMETER_PROBLEM, i6.PARAM_HEADER_FIELD, now,
                                value=h.offset + 2, link_multicast=link_multicast)
                return False
            elif h.type == NH_FRAGMENT:
                if h.fragment_offset == 0 and not h.more_fragments:
                    self.counts["atomic_fragment"] += 1  # RFC 8200 §4.5: a whole packet
                    continue
                stack.drop("ipv6", "fragment_unsupported", f"id {h.identification}")
                return False
        return True

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
            self._error_to_udp(msg, pkt.src, now)
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
             iface: Iface6 | None = None) -> bool:
        """Route and send one packet from this host. False when it cannot leave."""
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
        raw = build_ipv6(src, dst, nh, payload, hop_limit=hop_limit or self.default_hop_limit)
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
