"""tcpdump-style one-line summaries of IPv6 packets (the part after ``IP6 ``), e.g.::

    fe80::1 > ff02::1:ff00:2: ICMP6, neighbor solicitation, who has fe80::2, length 32
    2001:db8::1 > 2001:db8::2: ICMP6, echo request, id 4660, seq 1, length 64
    2001:db8::1.5000 > 2001:db8::2.9: UDP, length 5

as ``tcpdump -nn`` 4.99 prints them (tests/test_summary_ipv6.py compares with the installed
tcpdump). Extension headers show as tcpdump's HBH, DSTOPT, frag and RT6 words. Never raises:
a packet that does not parse gives ``[malformed: ...]``.
"""

from __future__ import annotations

from netsim.wire import icmpv6 as i6
from netsim.wire.checksum import internet_checksum, pseudo_header_sum
from netsim.wire.errors import WireError
from netsim.wire.ipv6 import (
    NH_DSTOPTS,
    NH_FRAGMENT,
    NH_HOPOPTS,
    NH_ICMPV6,
    NH_NONE,
    NH_ROUTING,
    NH_UDP,
    ExtensionHeader,
    IPv6Packet,
    parse_ipv6,
)
from netsim.wire.nd import NeighborAdvertisement, NeighborSolicitation, parse_nd
from netsim.wire.udp import HEADER_LEN as UDP_HEADER_LEN
from netsim.wire.udp import parse_udp

_PARAM_TEXT = {i6.PARAM_HEADER_FIELD: "erroneous", i6.PARAM_NEXT_HEADER: "next header",
               i6.PARAM_OPTION: "option"}
_PROTO_WORDS = {6: "tcp", 17: "udp"}


def summarize_ipv6(data: bytes, notes: list[str]) -> str:
    try:
        pkt = parse_ipv6(data)
    except WireError as exc:
        return f"[malformed: {exc}]"
    addrs = f"{pkt.src} > {pkt.dst}:"
    words = [_ext_text(h, 40 + pkt.payload_length - h.offset - 8) for h in pkt.extensions]
    frag = pkt.fragment
    if frag is not None and frag.fragment_offset:
        return f"{addrs} " + " ".join(words)  # a later fragment: no upper-layer header
    prefix = f"{addrs} " + "".join(w + " " for w in words)
    try:
        if pkt.next_header == NH_UDP:
            return _udp_text(pkt, prefix, not words, notes)
        if pkt.next_header == NH_ICMPV6:
            return prefix + "ICMP6, " + _icmp6_text(pkt, notes)
        if pkt.next_header == 6 and not words:
            # TCP as over IPv4 (tcpdump prints both alike); imported here: summary imports us
            from netsim.wire.summary import _summarize_tcp
            return _summarize_tcp(pkt, False, notes)  # type: ignore[arg-type]
    except WireError as exc:
        return f"{prefix}[malformed: {exc}]"
    if pkt.next_header == NH_NONE:
        return prefix + "no next header"
    return f"{prefix} ip-proto-{pkt.next_header} {len(pkt.payload)}"


def _ext_text(h: ExtensionHeader, after: int) -> str:
    """tcpdump's word for an extension header; `after`: the bytes behind a fragment header."""
    if h.type == NH_HOPOPTS:
        return "HBH"
    if h.type == NH_DSTOPTS:
        return "DSTOPT"
    if h.type == NH_FRAGMENT:
        return f"frag ({h.fragment_offset}|{after})"
    assert h.type == NH_ROUTING
    deprecated = " [Deprecated]" if h.routing_type == 0 else ""
    return (f"RT6 (len={h.raw[1]}, type={h.routing_type}{deprecated}, "
            f"segleft={h.segments_left})")


def _udp_text(pkt: IPv6Packet, prefix: str, joined: bool, notes: list[str]) -> str:
    udp = parse_udp(pkt.payload)
    if internet_checksum(pkt.payload[:udp.length], pseudo_header_sum(
            pkt.src, pkt.dst, NH_UDP, udp.length)) != 0:
        notes.append(f"[bad udp cksum 0x{udp.checksum:04x}!]")
    length = udp.length - UDP_HEADER_LEN
    if joined:  # tcpdump joins address and port only when no extension header stands between
        return (f"{pkt.src}.{udp.src_port} > {pkt.dst}.{udp.dst_port}: UDP, length {length}")
    return f"{prefix}{udp.src_port} > {udp.dst_port}: UDP, length {length}"


def _icmp6_text(pkt: IPv6Packet, notes: list[str]) -> str:
    data = pkt.payload
    msg = i6.parse_icmpv6(data)
    if internet_checksum(data, pseudo_header_sum(pkt.src, pkt.dst, NH_ICMPV6, len(data))):
        notes.append(f"[bad icmp6 cksum 0x{msg.checksum:04x}!]")
    n = len(data)
    t, code = msg.type, msg.code
    if t in (i6.ECHO_REQUEST, i6.ECHO_REPLY):
        return f"{msg.type_name}, id {msg.identifier}, seq {msg.sequence}, length {n}"
    if t in (i6.ROUTER_SOLICITATION, i6.ROUTER_ADVERTISEMENT):
        return f"{msg.type_name}, length {n}"
    if t == i6.NEIGHBOR_SOLICITATION:
        ns = parse_nd(msg)
        assert isinstance(ns, NeighborSolicitation)
        return f"neighbor solicitation, who has {ns.target}, length {n}"
    if t == i6.NEIGHBOR_ADVERTISEMENT:
        na = parse_nd(msg)
        assert isinstance(na, NeighborAdvertisement)
        return f"neighbor advertisement, tgt is {na.target}, length {n}"
    if t == i6.PACKET_TOO_BIG:
        return f"packet too big, mtu {msg.mtu}, length {n}"
    if t == i6.PARAMETER_PROBLEM and code in _PARAM_TEXT:
        return f"parameter problem, {_PARAM_TEXT[code]} - octet {msg.pointer}, length {n}"
    if t == i6.TIME_EXCEEDED and code == i6.REASSEMBLY_EXCEEDED:
        return f"time exceeded in-transit (reassembly), length {n}"
    if t in (i6.DEST_UNREACHABLE, i6.TIME_EXCEEDED):
        quoted = msg.quoted_ipv6()
        if t == i6.TIME_EXCEEDED:
            return f"time exceeded in-transit for {quoted.dst}, length {n}"
        if code == i6.UNREACH_PORT and quoted.next_header in _PROTO_WORDS \
                and len(quoted.payload) >= 4:
            port = int.from_bytes(quoted.payload[2:4], "big")
            return (f"destination unreachable, unreachable port, {quoted.dst} "
                    f"{_PROTO_WORDS[quoted.next_header]} port {port}, length {n}")
        # (print-icmp6.c prints two spaces before "unreachable prohibited")
        text = {i6.UNREACH_NO_ROUTE: "unreachable route", i6.UNREACH_ADMIN:
                " unreachable prohibited", i6.UNREACH_ADDRESS: "unreachable address"}.get(code)
        if text is not None:
            return f"destination unreachable, {text} {quoted.dst}, length {n}"
    return f"{msg.type_name}, code {code}, length {n}"


__all__ = ["summarize_ipv6"]
