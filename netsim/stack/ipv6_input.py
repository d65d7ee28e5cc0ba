"""What the IPv6 layer (netsim/stack/ipv6.py) decides about a packet it received: its
extension headers (RFC 8200 §4), forwarding it as a router, delivering it to UDP or TCP, and
ICMPv6 errors about our own UDP datagrams and TCP segments."""

from __future__ import annotations

from ipaddress import IPv6Address
from typing import TYPE_CHECKING, Final

from netsim.wire import icmpv6 as i6
from netsim.wire.errors import TCPChecksumError, WireError
from netsim.wire.ipv6 import (
    MIN_MTU,
    NH_DSTOPTS,
    NH_FRAGMENT,
    NH_HOPOPTS,
    NH_ROUTING,
    NH_TCP,
    NH_UDP,
    IPv6Packet,
)
from netsim.wire.tcp import parse_tcp
from netsim.wire.udp import parse_udp

if TYPE_CHECKING:
    from netsim.stack.ipv6_state import Iface6, Ipv6LayerApi

#: Hop-by-hop options this host recognizes (RFC 8200 §4.2 leaves Pad1/PadN out of the list
#: the parser returns; 5 is the router alert of RFC 2711)
_KNOWN_OPTIONS: Final = frozenset({5})


def extensions_ok(layer: Ipv6LayerApi, pkt: IPv6Packet, now: float, link_multicast: bool) -> bool:
    """RFC 8200 §4: process the extension headers in order; False when the packet is
    dropped (counted, with a parameter problem where the RFC asks for one)."""
    stack = layer.stack
    for i, h in enumerate(pkt.extensions):
        if h.type == NH_HOPOPTS and i > 0:
            # RFC 8200 §4.1 (extension header order): hop-by-hop only right after the
            # IPv6 header; elsewhere it is an unrecognized Next Header value
            stack.drop("ipv6", "hop_by_hop_not_first")
            where = 6 if i == 0 else pkt.extensions[i - 1].offset
            layer.icmp_error(pkt, i6.PARAMETER_PROBLEM, i6.PARAM_NEXT_HEADER, now,
                            value=where, link_multicast=link_multicast)
            return False
        if h.type in (NH_HOPOPTS, NH_DSTOPTS):
            for opt in h.options:
                if h.type == NH_HOPOPTS and opt.type in _KNOWN_OPTIONS:
                    continue
                action = opt.action
                if action == 0:
                    layer.counts["option_skipped"] += 1
                    continue
                # RFC 8200 §4.2: 01 discard; 10 discard and send a parameter problem,
                # code 2, to the option; 11 the same unless the destination is multicast
                stack.drop("ipv6", "unrecognized_option", str(opt.type))
                if action == 2 or (action == 3 and not pkt.dst.is_multicast):
                    layer.icmp_error(pkt, i6.PARAMETER_PROBLEM, i6.PARAM_OPTION, now,
                                    value=opt.offset, link_multicast=link_multicast,
                                    multicast_ok=action == 2)
                return False
        elif h.type == NH_ROUTING:
            if h.segments_left == 0:
                layer.counts["routing_header_ignored"] += 1
                continue  # RFC 8200 §4.4: ignore the header, go on to the next
            # RFC 8200 §4.4: an unrecognized routing type with segments left: parameter
            # problem, code 0, pointing at the routing type field
            stack.drop("ipv6", "routing_header", str(h.routing_type))
            layer.icmp_error(pkt, i6.PARAMETER_PROBLEM, i6.PARAM_HEADER_FIELD, now,
                            value=h.offset + 2, link_multicast=link_multicast)
            return False
        elif h.type == NH_FRAGMENT:
            if h.fragment_offset == 0 and not h.more_fragments:
                layer.counts["atomic_fragment"] += 1  # RFC 8200 §4.5: a whole packet
                continue
            stack.drop("ipv6", "fragment_unsupported", f"id {h.identification}")
            return False
    return True


def forward(layer: Ipv6LayerApi, state: Iface6, pkt: IPv6Packet, frame: bytes, now: float) -> None:
    """A router sends on a packet for someone else (extension headers other than
    hop-by-hop are not its business, RFC 8200 §4)."""
    stack = layer.stack
    if pkt.dst.is_link_local:
        stack.drop("ipv6", "not_for_us", str(pkt.dst))  # another node on this link
        return
    if pkt.src.is_link_local:
        # RFC 4291 §2.5.6: routers do not forward packets with link-local source
        # addresses; RFC 4443 §3.1: beyond the scope of the source address
        stack.drop("ipv6", "link_local_not_forwarded", str(pkt.src))
        layer.icmp_error(pkt, i6.DEST_UNREACHABLE, i6.UNREACH_BEYOND_SCOPE, now)
        return
    if pkt.hop_limit <= 1:
        # RFC 8200 §3 (Hop Limit) and RFC 4443 §3.3: hop limit exceeded in transit
        stack.drop("ipv6", "hop_limit_exceeded", str(pkt.dst))
        layer.icmp_error(pkt, i6.TIME_EXCEEDED, i6.HOP_LIMIT_EXCEEDED, now)
        return
    hop = layer.route(pkt.dst)
    if hop is None:
        stack.drop("ipv6", "no_route", str(pkt.dst))
        layer.icmp_error(pkt, i6.DEST_UNREACHABLE, i6.UNREACH_NO_ROUTE, now)  # §3.1
        return
    out, next_hop = hop
    raw = frame[14:14 + 40 + pkt.payload_length]
    if len(raw) > out.iface.mtu:
        # RFC 4443 §3.2: routers do not fragment; packet too big with the next-hop MTU
        stack.drop("ipv6", "too_big", f"{len(raw)} > mtu {out.iface.mtu}")
        layer.icmp_error(pkt, i6.PACKET_TOO_BIG, 0, now, value=out.iface.mtu)
        return
    layer.counts["forwarded"] += 1
    layer.output(out, next_hop, raw[:7] + bytes((pkt.hop_limit - 1,)) + raw[8:], now)


def udp_input(layer: Ipv6LayerApi, pkt: IPv6Packet, now: float, link_multicast: bool) -> None:
    stack = layer.stack
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
        layer.icmp_error(pkt, i6.DEST_UNREACHABLE, i6.UNREACH_PORT, now,
                        link_multicast=link_multicast)
        return
    if ep.on_datagram is not None:
        ep.on_datagram(dgram.payload, pkt.src, dgram.src_port, now)

def tcp_input(layer: Ipv6LayerApi, pkt: IPv6Packet, now: float, link_multicast: bool) -> None:
    """A TCP segment over IPv6: checked over the IPv6 pseudo-header (RFC 8200 §8.1,
    upper-layer checksums), then demultiplexed as any other (netsim.stack.tcp.layer)."""
    stack = layer.stack
    src = pkt.src
    if pkt.dst.is_multicast or link_multicast or src.is_multicast or src.is_unspecified:
        # RFC 1122 §4.2.3.10 remote address validation: a segment from (or to) an address
        # that is not one host's is dropped; TCP connects unicast addresses only
        stack.drop("tcp", "not_unicast", f"{src} > {pkt.dst}")
        return
    try:
        seg = parse_tcp(pkt.payload, src, pkt.dst)
    except WireError as exc:
        stack.drop("tcp", "checksum" if isinstance(exc, TCPChecksumError) else "malformed",
                   str(exc))
        return
    # the ECN field: the Traffic Class's low two bits (RFC 3168 §5, CE)
    stack.tcp.segment_input(src, pkt.dst, seg, now, pkt.traffic_class & 0b11)


#: ICMPv6 destination unreachable codes (RFC 4443 §3.1), as TCP's error kinds (the names the
#: IPv4 codes get in netsim.stack.tcp.layer); port unreachable aborts a connection that is
#: still opening, the others are soft errors (RFC 1122 §4.2.3.9)
_UNREACH_KINDS: Final = {0: "net unreachable", 1: "administratively prohibited",
                         2: "beyond scope of source address", 3: "host unreachable",
                         4: "port unreachable"}


def error_to_transport(layer: Ipv6LayerApi, msg: i6.ICMPv6Message, sender: IPv6Address,
                       now: float) -> None:
    """An ICMPv6 error about one of our UDP datagrams or TCP segments: tell the endpoint or
    the connection that sent it."""
    try:
        quoted = msg.quoted_ipv6()
    except WireError:
        return
    if quoted.src not in layer._local or len(quoted.payload) < 4:
        return
    data = quoted.payload
    if quoted.next_header == NH_UDP:
        ep = layer.stack.udp.endpoint((data[0] << 8) | data[1])
        if ep is not None and ep.on_error is not None:
            ep.on_error(msg.type, msg.code, sender, now)
    elif quoted.next_header == NH_TCP:
        mtu = 0
        if msg.type == i6.DEST_UNREACHABLE:
            kind = _UNREACH_KINDS.get(msg.code, msg.type_name)
        elif msg.type == i6.PACKET_TOO_BIG:
            # RFC 4443 §3.2: the MTU of the next-hop link. RFC 8200 §5 packet size: no link
            # is below 1280 bytes, and RFC 8201 §4 (protocol requirements): a report of less
            # than that is discarded, never taken as 1280 (Linux too, since 5.10)
            if msg.mtu < MIN_MTU:
                layer.stack.drop("icmp6", "too_big_below_min_mtu", str(msg.mtu))
                return
            kind, mtu = "fragmentation needed", msg.mtu
        elif msg.type == i6.PARAMETER_PROBLEM and msg.code == i6.PARAM_NEXT_HEADER:
            kind = "protocol unreachable"  # RFC 4443 §3.4: TCP is not known there
        else:
            kind = msg.type_name
        layer.stack.tcp.icmp_error_for(quoted.src, (data[0] << 8) | data[1], quoted.dst,
                                       (data[2] << 8) | data[3], kind, now, mtu)
