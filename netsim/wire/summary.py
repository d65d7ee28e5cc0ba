"""Human-readable views of Ethernet frames: tcpdump-style one-liners and a field-by-field dump.

`summarize(frame)` prints what ``tcpdump -nn -S`` prints for the frame (without the
timestamp), for ARP, IPv4, ICMP, UDP and TCP, e.g.::

    IP 10.0.0.1.40000 > 10.0.0.2.7: Flags [S], seq 1000, win 65535, options [mss 1460], length 0
    ARP, Reply 10.0.0.2 is-at 02:00:00:00:00:02, length 28
    IP 10.0.0.254 > 10.0.0.1: ICMP time exceeded in-transit, length 36

(tcpdump 4.99 is the reference: tests compare every line of a real Linux capture.) Where tcpdump
would hand the payload to an application-layer printer (DNS on port 53, BGP, NFS, ...) or decode a
protocol netsim does not speak (GRE, IGMP, LLDP, ...), the summary stays at the layer netsim
understands. A frame that does not parse gives a line naming the problem, e.g.
``IP 10.0.0.1 > 10.0.0.2: [malformed: TCP: bad data offset 3 (header length 12 < 20)]``; neither
function ever raises. IPv6 lines come from summary6.py.

`describe(frame)` lists every header field, one header per block, with checksum verdicts.

Neither function is on the per-packet path: clarity comes before speed here.
"""

from __future__ import annotations

import struct
from ipaddress import IPv4Address

from netsim.wire import ethernet, udp
from netsim.wire import icmp as icmp_mod
from netsim.wire.arp import OP_REPLY, OP_REQUEST, parse_arp
from netsim.wire.checksum import internet_checksum
from netsim.wire.describe import describe
from netsim.wire.errors import ICMPError, UDPError, WireError
from netsim.wire.ethernet import ETHERTYPE_ARP, ETHERTYPE_IPV4, ETHERTYPE_IPV6, parse_ethernet
from netsim.wire.fieldtext import (
    ETHERTYPE_NAMES,
    U16,
    U32,
    UDP_HDR,
    checksum_should_be,
    ip_checksum_ok,
    parse_tcp_lenient,
    tcp_options_text,
    tcpdump_flags,
    transport_checksum,
)
from netsim.wire.icmp import ICMPMessage, parse_icmp
from netsim.wire.ipv4 import PROTO_ICMP, PROTO_TCP, PROTO_UDP, IPv4Packet, parse_ipv4
from netsim.wire.mac import MacAddress
from netsim.wire.summary6 import summarize_ipv6
from netsim.wire.udp import parse_udp

ETH_HEADER_LEN = ethernet.HEADER_LEN
#: Tag protocol identifiers tcpdump decodes as VLAN tags: 802.1Q, 802.1ad (S-tag), and the
#: pre-standard 0x9100 of QinQ
VLAN_TPIDS = (0x8100, 0x88A8, 0x9100)
UDP_HEADER_LEN = udp.HEADER_LEN

__all__ = ["summarize", "describe", "tcpdump_flags", "tcp_options_text"]


# ---------------------------------------------------------------------------------------------
# summarize()
# ---------------------------------------------------------------------------------------------


def summarize(frame: bytes, *, verbose: bool = False) -> str:
    """One line for an Ethernet frame, as ``tcpdump -nn -S`` prints it (no timestamp).

    With ``verbose=True`` a bad IPv4, ICMP, UDP or TCP checksum adds a note at the end, e.g.
    ``[bad tcp cksum 0xabce -> 0xaace!]`` (plain tcpdump without -v does not show them).
    """
    notes: list[str] = []
    try:
        line = _summarize_ethernet(bytes(frame), notes)
    except WireError as exc:  # pragma: no cover - each layer catches its own parser errors
        line = f"[malformed: {exc}]"
    except Exception as exc:  # noqa: BLE001 - a diagnostic printer must never crash its caller
        line = f"[malformed: internal error {type(exc).__name__}: {exc}]"
    if verbose and notes:
        line += " " + " ".join(notes)
    return line


def _summarize_ethernet(data: bytes, notes: list[str]) -> str:
    if len(data) < ETH_HEADER_LEN:
        return f"[malformed: Ethernet: truncated header: {len(data)} of {ETH_HEADER_LEN} bytes]"
    ethertype = U16.unpack_from(data, 12)[0]
    if ethertype < 0x0600:
        # IEEE 802.3 length field with an LLC header: not something netsim decodes.
        return (f"{MacAddress(data[6:12])} > {MacAddress(data[0:6])}, 802.3, length "
                f"{len(data)}: LLC, length {ethertype}")
    while ethertype in VLAN_TPIDS:
        # An 802.1Q (or 802.1ad) tag: tcpdump without -e prints the frame inside it as if it
        # were untagged, and so does this line (describe() shows the tag's fields).
        if len(data) < ETH_HEADER_LEN + 4:
            return (f"[malformed: 802.1Q: truncated tag: {len(data)} of "
                    f"{ETH_HEADER_LEN + 4} bytes]")
        data = data[:12] + data[16:]
        ethertype = U16.unpack_from(data, 12)[0]
    try:
        eth = parse_ethernet(data)
    except WireError as exc:
        return f"[malformed: {exc}]"
    if eth.ethertype == ETHERTYPE_IPV4:
        return "IP " + _summarize_ipv4(eth.payload, notes)
    if eth.ethertype == ETHERTYPE_ARP:
        return "ARP, " + _summarize_arp(eth.payload)
    if eth.ethertype == ETHERTYPE_IPV6:
        return "IP6 " + summarize_ipv6(eth.payload, notes)
    name = ETHERTYPE_NAMES.get(eth.ethertype, "Unknown")
    return (f"{eth.src} > {eth.dst}, ethertype {name} (0x{eth.ethertype:04x}), "
            f"length {len(data)}")


def _summarize_arp(payload: bytes) -> str:
    try:
        arp = parse_arp(payload)
    except WireError as exc:
        return f"[malformed: {exc}]"
    # print-arp.c: the length is that of the Ethernet payload, link padding included.
    if arp.op == OP_REQUEST:
        target = "" if arp.target_mac == bytes(6) else f" ({arp.target_mac})"
        return (f"Request who-has {arp.target_ip}{target} tell {arp.sender_ip}, "
                f"length {len(payload)}")
    assert arp.op == OP_REPLY  # parse_arp accepts nothing else
    return f"Reply {arp.sender_ip} is-at {arp.sender_mac}, length {len(payload)}"


def _summarize_ipv4(data: bytes, notes: list[str]) -> str:
    try:
        pkt = parse_ipv4(data, verify_checksum=False)
    except WireError as exc:
        return f"[malformed: {exc}]"
    if not ip_checksum_ok(data[:pkt.header_len]):
        notes.append(f"[bad ip cksum 0x{pkt.checksum:04x} -> "
                     f"0x{checksum_should_be(data[:pkt.header_len], 10):04x}!]")
    addrs = f"{pkt.src} > {pkt.dst}:"
    if pkt.fragment_offset:
        # RFC 791: a later fragment carries no transport header; tcpdump -nn names the protocol.
        return f"{addrs} ip-proto-{pkt.protocol}"
    fragmented = pkt.mf
    try:
        if pkt.protocol == PROTO_TCP:
            return _summarize_tcp(pkt, fragmented, notes)
        if pkt.protocol == PROTO_UDP:
            return _summarize_udp(pkt, fragmented, notes)
        if pkt.protocol == PROTO_ICMP:
            return f"{addrs} ICMP " + _summarize_icmp(pkt, fragmented, notes)
    except WireError as exc:
        if pkt.protocol in (PROTO_TCP, PROTO_UDP) and len(pkt.payload) >= 4:
            sport, dport = struct.unpack_from("!HH", pkt.payload)
            addrs = f"{pkt.src}.{sport} > {pkt.dst}.{dport}:"
        return f"{addrs} [malformed: {exc}]"
    return f"{addrs}  ip-proto-{pkt.protocol} {len(pkt.payload)}"


def _summarize_tcp(pkt: IPv4Packet, fragmented: bool, notes: list[str]) -> str:
    data = pkt.payload
    seg, raw_options = parse_tcp_lenient(data)
    if not fragmented:
        ok, should = transport_checksum(pkt, PROTO_TCP, data, 16)
        if not ok:
            notes.append(f"[bad tcp cksum 0x{seg.checksum:04x} -> 0x{should:04x}!]")
    length = len(seg.payload)
    parts = [f"{pkt.src}.{seg.src_port} > {pkt.dst}.{seg.dst_port}: "
             f"Flags [{tcpdump_flags(seg.flags)}]"]
    # print-tcp.c: the sequence number shows when there is data or SYN/FIN/RST.
    if length > 0 or seg.flags & 0x07:
        parts.append(f"seq {seg.seq}" + (f":{(seg.seq + length) & 0xFFFFFFFF}" if length else ""))
    if seg.flags & 0x10:
        parts.append(f"ack {seg.ack}")
    parts.append(f"win {seg.window}")
    if seg.flags & 0x20:
        parts.append(f"urg {seg.urgent}")
    if raw_options:
        options = tcp_options_text(raw_options)
        if "[bad opt]" in options:
            return ", ".join(parts) + ", options " + options  # tcpdump stops the line here
        parts.append("options " + options)
    parts.append(f"length {length}")
    return ", ".join(parts)


def _summarize_udp(pkt: IPv4Packet, fragmented: bool, notes: list[str]) -> str:
    data = pkt.payload
    try:
        udp = parse_udp(data)
    except UDPError:
        # The first fragment of a large datagram holds only part of it: show the header anyway.
        if not fragmented or len(data) < UDP_HEADER_LEN:
            raise
        sport, dport, ulen, _ = UDP_HDR.unpack_from(data)
        if ulen < UDP_HEADER_LEN:
            raise
        return f"{pkt.src}.{sport} > {pkt.dst}.{dport}: UDP, length {ulen - UDP_HEADER_LEN}"
    if not fragmented and udp.checksum != 0:
        ok, should = transport_checksum(pkt, PROTO_UDP, data[:udp.length], 6)
        if not ok:
            notes.append(f"[bad udp cksum 0x{udp.checksum:04x} -> 0x{should:04x}!]")
    return (f"{pkt.src}.{udp.src_port} > {pkt.dst}.{udp.dst_port}: UDP, length "
            f"{udp.length - UDP_HEADER_LEN}")


# print-icmp.c's unreach2str: text for destination-unreachable codes other than 2, 3 and 4.
_UNREACH_TEXT = {
    0: "net {} unreachable", 1: "host {} unreachable",
    5: "{} unreachable - source route failed", 6: "net {} unreachable - unknown",
    7: "host {} unreachable - unknown", 8: "{} unreachable - source host isolated",
    9: "net {} unreachable - admin prohibited", 10: "host {} unreachable - admin prohibited",
    11: "net {} unreachable - tos prohibited", 12: "host {} unreachable - tos prohibited",
    13: "host {} unreachable - admin prohibited filter",
    14: "host {} unreachable - host precedence violation",
    15: "host {} unreachable - precedence cutoff",
}
_REDIRECT_TEXT = {0: "redirect {} to net {}", 1: "redirect {} to host {}",
                  2: "redirect-tos {} to net {}", 3: "redirect-tos {} to host {}"}
_ICMP_SIMPLE = {4: "source quench", 10: "router solicitation", 15: "information request",
                16: "information reply", 17: "address mask request"}


def _quoted_dst(msg: ICMPMessage) -> IPv4Address:
    """The destination address of the datagram an ICMP error quotes (RFC 792)."""
    if len(msg.payload) < 20:
        raise ICMPError(f"ICMP: the quoted datagram has {len(msg.payload)} bytes, fewer than "
                        "an IPv4 header")
    return IPv4Address(msg.payload[16:20])


def _ms_of_day(value: int) -> str:
    """An ICMP timestamp (milliseconds since midnight UT, RFC 792) as tcpdump prints it."""
    seconds, ms = divmod(value, 1000)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}.{ms:03d}"


def _icmp_text(msg: ICMPMessage) -> str:
    t, code = msg.type, msg.code
    if t in (icmp_mod.ECHO_REQUEST, icmp_mod.ECHO_REPLY):
        kind = "request" if t == icmp_mod.ECHO_REQUEST else "reply"
        return f"echo {kind}, id {msg.identifier}, seq {msg.sequence}"
    if t == icmp_mod.DEST_UNREACHABLE:
        dst = _quoted_dst(msg)
        if code == icmp_mod.UNREACH_PROTOCOL:
            return f"{dst} protocol {msg.payload[9]} unreachable"
        if code == icmp_mod.UNREACH_PORT:
            inner_hlen = (msg.payload[0] & 0x0F) * 4
            if len(msg.payload) < inner_hlen + 4:
                raise ICMPError("ICMP: port unreachable quotes no transport ports")
            dport = U16.unpack_from(msg.payload, inner_hlen + 2)[0]
            proto = msg.payload[9]
            if proto in (PROTO_TCP, PROTO_UDP):
                name = "tcp" if proto == PROTO_TCP else "udp"
                return f"{dst} {name} port {dport} unreachable"
            return f"{dst} protocol {proto} port {dport} unreachable"
        if code == icmp_mod.UNREACH_FRAG_NEEDED:
            # RFC 1191: the next-hop MTU, when the router supplies it
            mtu = msg.next_hop_mtu
            return f"{dst} unreachable - need to frag" + (f" (mtu {mtu})" if mtu else "")
        return _UNREACH_TEXT.get(code, f"{{}} unreachable - #{code}").format(dst)
    if t == icmp_mod.TIME_EXCEEDED:
        _quoted_dst(msg)  # tcpdump insists on seeing the quoted header
        if code == icmp_mod.TTL_EXCEEDED:
            return "time exceeded in-transit"
        if code == icmp_mod.REASSEMBLY_EXCEEDED:
            return "ip reassembly time exceeded"
        return f"time exceeded-#{code}"
    if t == icmp_mod.REDIRECT:
        dst = _quoted_dst(msg)
        gateway = IPv4Address(msg.rest)
        return _REDIRECT_TEXT.get(code, f"redirect-#{code} {{}} to {{}}").format(dst, gateway)
    if t == icmp_mod.PARAMETER_PROBLEM:
        if code:
            return f"parameter problem - code {code}"
        return f"parameter problem - octet {msg.rest[0]}"
    if t == 9:  # RFC 1256 router advertisement
        return _router_advertisement(msg)
    if t == 13:
        return f"time stamp query id {msg.identifier} seq {msg.sequence}"
    if t == 14:
        if len(msg.payload) < 12:
            raise ICMPError(f"ICMP: timestamp reply has {len(msg.payload)} of 12 bytes of "
                            "timestamps")
        org, recv, xmit = struct.unpack_from("!III", msg.payload)
        return (f"time stamp reply id {msg.identifier} seq {msg.sequence}: "
                f"org {_ms_of_day(org)}, recv {_ms_of_day(recv)}, xmit {_ms_of_day(xmit)}")
    if t == 18:
        if len(msg.payload) < 4:
            raise ICMPError("ICMP: address mask reply without a mask")
        return f"address mask is 0x{U32.unpack_from(msg.payload)[0]:08x}"
    return _ICMP_SIMPLE.get(t, f"type-#{t}")


def _router_advertisement(msg: ICMPMessage) -> str:
    num, size = msg.rest[0], msg.rest[1]
    lifetime = U16.unpack_from(msg.rest, 2)[0]
    if lifetime < 60:
        life = f"{lifetime}"
    elif lifetime < 3600:
        life = f"{lifetime // 60}:{lifetime % 60:02d}"
    else:
        life = f"{lifetime // 3600}:{lifetime % 3600 // 60:02d}:{lifetime % 60:02d}"
    text = f"router advertisement lifetime {life} {num}:"
    if size != 2:
        return text + f" [size {size}]"
    if len(msg.payload) < 8 * num:
        raise ICMPError(f"ICMP: router advertisement lists {num} addresses in "
                        f"{len(msg.payload)} bytes")
    for i in range(num):
        addr = IPv4Address(msg.payload[8 * i:8 * i + 4])
        pref = U32.unpack_from(msg.payload, 8 * i + 4)[0]
        text += f" {{{addr} {pref}}}"
    return text


def _summarize_icmp(pkt: IPv4Packet, fragmented: bool, notes: list[str]) -> str:
    msg = parse_icmp(pkt.payload, verify_checksum=False)
    if not fragmented and internet_checksum(pkt.payload) != 0:
        notes.append(f"[bad icmp cksum 0x{msg.checksum:04x} -> "
                     f"0x{checksum_should_be(pkt.payload, 2):04x}!]")
    return f"{_icmp_text(msg)}, length {len(pkt.payload)}"
