"""Human-readable views of Ethernet frames: tcpdump-style one-liners and a field-by-field dump.

`summarize(frame)` prints what ``tcpdump -nn -S`` prints for the frame (without the
timestamp), for ARP, IPv4, ICMP, UDP and TCP, e.g.::

    IP 10.0.0.1.40000 > 10.0.0.2.7: Flags [S], seq 1000, win 65535, options [mss 1460], length 0
    ARP, Reply 10.0.0.2 is-at 02:00:00:00:00:02, length 28
    IP 10.0.0.254 > 10.0.0.1: ICMP time exceeded in-transit, length 36

(tcpdump 4.99 is the reference: tests compare every line of a real Linux capture.) Where tcpdump
would hand the payload to an application-layer printer (DNS on port 53, BGP, NFS, ...) or decode a
protocol netsim does not speak (IPv6, GRE, IGMP, LLDP, ...), the summary stays at the layer netsim
understands. A frame that does not parse gives a line naming the problem, e.g.
``IP 10.0.0.1 > 10.0.0.2: [malformed: TCP: bad data offset 3 (header length 12 < 20)]``; neither
function ever raises.

`describe(frame)` lists every header field, one header per block, with checksum verdicts.

Neither function is on the per-packet path: clarity comes before speed here.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from ipaddress import IPv4Address

from netsim.wire import ethernet, tcp, udp
from netsim.wire import icmp as icmp_mod
from netsim.wire.arp import OP_REPLY, OP_REQUEST, parse_arp
from netsim.wire.checksum import internet_checksum, pseudo_header_sum
from netsim.wire.errors import ICMPError, TCPError, UDPError, WireError
from netsim.wire.ethernet import ETHERTYPE_ARP, ETHERTYPE_IPV4, EthernetFrame, parse_ethernet
from netsim.wire.icmp import ICMPMessage, parse_icmp
from netsim.wire.ipv4 import PROTO_ICMP, PROTO_TCP, PROTO_UDP, IPv4Packet, parse_ipv4
from netsim.wire.mac import MacAddress
from netsim.wire.tcp import (
    OPT_EOL,
    OPT_MSS,
    OPT_NOP,
    OPT_SACK,
    OPT_SACK_PERMITTED,
    OPT_TIMESTAMPS,
    OPT_WSCALE,
    TCPSegment,
    flags_str,
    parse_tcp,
)
from netsim.wire.udp import UDPDatagram, parse_udp

ETH_HEADER_LEN = ethernet.HEADER_LEN
TCP_HEADER_LEN = tcp.HEADER_LEN
UDP_HEADER_LEN = udp.HEADER_LEN

__all__ = ["summarize", "describe", "tcpdump_flags"]

_U16 = struct.Struct("!H")
_U32 = struct.Struct("!I")
_UDP_HDR = struct.Struct("!HHHH")

# tcpdump's names for EtherTypes it would decode and netsim does not (print-ether.c, ethertype.h)
_ETHERTYPE_NAMES = {
    0x0800: "IPv4", 0x0806: "ARP", 0x8035: "Reverse ARP", 0x86DD: "IPv6", 0x8100: "802.1Q",
    0x88A8: "802.1Q-QinQ", 0x8847: "MPLS unicast", 0x8848: "MPLS multicast", 0x8863: "PPPoE D",
    0x8864: "PPPoE S", 0x888E: "EAPOL", 0x88CC: "LLDP", 0x8809: "Slow Protocols",
    0x88F7: "PTP", 0x9000: "Loopback",
}

# ---------------------------------------------------------------------------------------------
# TCP flags and options, the way tcpdump prints them
# ---------------------------------------------------------------------------------------------

_FLAG_NAMES = ((0x100, "AE"), (0x80, "CWR"), (0x40, "ECE"), (0x20, "URG"), (0x10, "ACK"),
               (0x08, "PSH"), (0x04, "RST"), (0x02, "SYN"), (0x01, "FIN"))


def tcpdump_flags(flags: int) -> str:
    """The letters inside ``Flags [...]``, as tcpdump 4.99 prints them."""
    return flags_str(flags)


def _flag_names(flags: int) -> str:
    names = [name for bit, name in _FLAG_NAMES if flags & bit]
    if flags & 0xE00:
        names.append(f"reserved 0x{flags & 0xE00:03x}")
    return ", ".join(names) if names else "none"


# tcpdump's tcp_option_values (print-tcp.c); an unknown kind prints as unknown-<kind>.
_TCP_OPTION_NAMES = {0: "eol", 1: "nop", 2: "mss", 3: "wscale", 4: "sackOK", 5: "sack",
                     6: "echo", 7: "echoreply", 8: "TS", 11: "cc", 12: "ccnew", 13: "",
                     19: "md5", 20: "scps", 28: "uto", 29: "tcp-ao", 30: "mptcp", 34: "tfo",
                     254: "exp"}
_TCP_OPTION_LONG_NAMES = {0: "End of Option List", 1: "No-Operation", 2: "Maximum Segment Size",
                          3: "Window Scale", 4: "SACK Permitted", 5: "SACK", 8: "Timestamps",
                          19: "TCP MD5 Signature", 28: "User Timeout", 29: "TCP-AO",
                          30: "Multipath TCP", 34: "TCP Fast Open", 253: "Experimental",
                          254: "Experimental"}
_FOUR_BYTE_OPTIONS = frozenset({6, 7, 11, 12, 13})  # RFC 1072/1644 (obsolete), a 32-bit value


class _BadOption(Exception):
    """Internal: tcpdump's LENCHECK failed (``[bad opt]``)."""


def _tfo_text(cookie: bytes) -> str:
    """TCP Fast Open (RFC 7413): a cookie request (no data) or a 4..16-byte even cookie."""
    if not cookie:
        return " cookiereq"
    if len(cookie) % 2 or not 4 <= len(cookie) <= 16:
        return " (invalid)"
    return f" cookie {cookie.hex()}"


def _option_text(kind: int, length: int, rest: bytes) -> tuple[str, int]:
    """tcpdump's text after an option's name, and how many data bytes its printer consumes.

    `rest` is everything after the kind and length bytes up to the end of the options area:
    like tcpdump, a fixed-size option is read at its natural size whatever its length byte
    says (``mss 1460[len 5]``), and reading past the area raises `_BadOption`.
    """

    def need(n: int) -> None:
        if n > len(rest):
            raise _BadOption

    if kind in (OPT_EOL, OPT_NOP, OPT_SACK_PERMITTED):
        return "", 0
    if kind == OPT_MSS:
        need(2)
        return f" {_U16.unpack_from(rest)[0]}", 2
    if kind == OPT_WSCALE:
        need(1)
        return f" {rest[0]}", 1
    if kind == OPT_TIMESTAMPS:
        need(8)
        tsval, tsecr = struct.unpack_from("!II", rest)
        return f" val {tsval} ecr {tsecr}", 8
    if kind in _FOUR_BYTE_OPTIONS:
        need(4)
        return f" {_U32.unpack_from(rest)[0]}", 4
    if kind == 28:  # RFC 5482 User Timeout: granularity bit (1 = minutes), 15-bit value
        need(2)
        value = _U16.unpack_from(rest)[0]
        seconds = (value >> 1) * 60 if value & 1 else value >> 1
        return f" 0x{value:x} {seconds}", 2
    if kind == 19:  # RFC 2385 TCP MD5 signature: 16 bytes (tcpdump cannot check it without -M)
        need(16)
        return f" shared secret not supplied with -M, can't check - {rest[:16].hex()}", 16
    datalen = length - 2
    body = rest[:datalen]
    if kind == 29:  # RFC 5925 TCP-AO: key id, receive-next key id, then the MAC
        if datalen < 2:
            return " (invalid)", datalen
        text = f" keyid {body[0]} rnextkeyid {body[1]}"
        return text + (f" mac 0x{body[2:].hex()}" if datalen > 2 else ""), datalen
    if kind == OPT_SACK:  # RFC 2018: 8-byte blocks of left and right edges
        if datalen % 8:
            return " invalid sack", datalen
        blocks = "".join(f"{{{_U32.unpack_from(body, i)[0]}:{_U32.unpack_from(body, i + 4)[0]}}}"
                         for i in range(0, datalen, 8))
        return f" {datalen // 8} {blocks}", datalen
    if kind == 34:  # RFC 7413 TCP Fast Open
        return " " + _tfo_text(body), datalen
    if kind == 254:  # RFC 6994 shared experimental option, identified by a 16-bit magic
        if datalen < 2:
            raise _BadOption
        magic = _U16.unpack_from(body)[0]
        if magic == 0xF989:
            return "-tfo" + _tfo_text(body[2:]), datalen
        return f"-{magic:04x}", datalen
    return (f" 0x{body.hex()}" if body else ""), datalen


def tcp_options_text(raw: bytes) -> str:
    """The ``options [...]`` list of tcpdump 4.99 for the raw option bytes of a TCP header.

    Malformed options come out the way tcpdump shows them: ``mss 1460[len 5]`` when a known
    option has an unexpected length, ``[bad opt]`` when an option runs past the header (tcpdump
    ends the line there, and so does `summarize`).
    """
    parts: list[str] = []
    i, n = 0, len(raw)
    while i < n:
        kind = raw[i]
        if kind in (OPT_EOL, OPT_NOP):
            length = 1
        else:
            if i + 1 >= n:
                return _bad_options(parts)
            length = raw[i + 1]
            if length < 2 or length > n - i:
                return _bad_options(parts)
        name = _TCP_OPTION_NAMES.get(kind, f"unknown-{kind}")
        header = 1 if length == 1 else 2
        try:
            text, datalen = _option_text(kind, length, raw[i + header:])
        except _BadOption:
            parts.append(name)
            return _bad_options(parts, after_name=True)
        if datalen + header != length:
            text += f"[len {length}]"
        parts.append(name + text)
        i += header + datalen  # tcpdump moves on by what it read, not by the length byte
        if kind == OPT_EOL:
            break
    return "[" + ",".join(parts) + "]"


def _bad_options(parts: list[str], after_name: bool = False) -> str:
    """tcpdump ends the whole line at a bad option: ``[nop,[bad opt]]`` or ``[md5[bad opt]``."""
    if after_name:
        # The option's name is already printed, glued to the marker.
        done, last = parts[:-1], parts[-1]
        head = ",".join([*done, last]) if done else last
        return "[" + head + "[bad opt]" + ("]" if done else "")
    return "[" + "".join(p + "," for p in parts) + "[bad opt]" + ("]" if parts else "")


# ---------------------------------------------------------------------------------------------
# Checksums
# ---------------------------------------------------------------------------------------------


def _should_be(data: bytes, field: int, initial: int = 0) -> int:
    """The checksum value the 16-bit field at offset `field` of `data` should hold."""
    zeroed = data[:field] + b"\x00\x00" + data[field + 2:]
    return internet_checksum(zeroed, initial)


def _checksum_status(stored: int, correct: int) -> str:
    if stored == correct:
        return f"0x{stored:04x} (correct)"
    return f"0x{stored:04x} (incorrect, should be 0x{correct:04x})"


def _ip_checksum_ok(ip_header: bytes) -> bool:
    return internet_checksum(ip_header) == 0


def _transport_checksum(pkt: IPv4Packet, proto: int, data: bytes, field: int
                        ) -> tuple[bool, int]:
    """(verifies, value the field should hold) for a TCP or UDP checksum over `data`."""
    initial = pseudo_header_sum(pkt.src, pkt.dst, proto, len(data))
    ok = internet_checksum(data, initial) == 0
    should = _should_be(data, field, initial)
    if proto == PROTO_UDP and should == 0:
        should = 0xFFFF  # RFC 768: a computed zero is sent as all ones
    return ok, should


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
    ethertype = _U16.unpack_from(data, 12)[0]
    if ethertype < 0x0600:
        # IEEE 802.3 length field with an LLC header: not something netsim decodes.
        return (f"{MacAddress(data[6:12])} > {MacAddress(data[0:6])}, 802.3, length "
                f"{len(data)}: LLC, length {ethertype}")
    try:
        eth = parse_ethernet(data)
    except WireError as exc:
        return f"[malformed: {exc}]"
    if eth.ethertype == ETHERTYPE_IPV4:
        return "IP " + _summarize_ipv4(eth.payload, notes)
    if eth.ethertype == ETHERTYPE_ARP:
        return "ARP, " + _summarize_arp(eth.payload)
    name = _ETHERTYPE_NAMES.get(eth.ethertype, "Unknown")
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
    if not _ip_checksum_ok(data[:pkt.header_len]):
        notes.append(f"[bad ip cksum 0x{pkt.checksum:04x} -> "
                     f"0x{_should_be(data[:pkt.header_len], 10):04x}!]")
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


def _parse_tcp_lenient(data: bytes) -> tuple[TCPSegment, bytes]:
    """The segment and its raw option bytes; bad options do not stop the fixed header from
    being shown (tcpdump prints them inline), so on an option error the header is re-parsed
    with the options left out."""
    try:
        seg = parse_tcp(data)
    except TCPError:
        if len(data) < TCP_HEADER_LEN:
            raise
        hlen = (data[12] >> 4) * 4
        if hlen < TCP_HEADER_LEN or hlen > len(data):
            raise
        stripped = data[:12] + bytes(((5 << 4) | (data[12] & 0x0F),)) + data[13:20] + data[hlen:]
        seg = parse_tcp(stripped)._replace(data_offset=hlen // 4)
    hlen = seg.data_offset * 4
    return seg, data[TCP_HEADER_LEN:hlen]


def _summarize_tcp(pkt: IPv4Packet, fragmented: bool, notes: list[str]) -> str:
    data = pkt.payload
    seg, raw_options = _parse_tcp_lenient(data)
    if not fragmented:
        ok, should = _transport_checksum(pkt, PROTO_TCP, data, 16)
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
        sport, dport, ulen, _ = _UDP_HDR.unpack_from(data)
        if ulen < UDP_HEADER_LEN:
            raise
        return f"{pkt.src}.{sport} > {pkt.dst}.{dport}: UDP, length {ulen - UDP_HEADER_LEN}"
    if not fragmented and udp.checksum != 0:
        ok, should = _transport_checksum(pkt, PROTO_UDP, data[:udp.length], 6)
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
            dport = _U16.unpack_from(msg.payload, inner_hlen + 2)[0]
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
        return f"address mask is 0x{_U32.unpack_from(msg.payload)[0]:08x}"
    return _ICMP_SIMPLE.get(t, f"type-#{t}")


def _router_advertisement(msg: ICMPMessage) -> str:
    num, size = msg.rest[0], msg.rest[1]
    lifetime = _U16.unpack_from(msg.rest, 2)[0]
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
        pref = _U32.unpack_from(msg.payload, 8 * i + 4)[0]
        text += f" {{{addr} {pref}}}"
    return text


def _summarize_icmp(pkt: IPv4Packet, fragmented: bool, notes: list[str]) -> str:
    msg = parse_icmp(pkt.payload, verify_checksum=False)
    if not fragmented and internet_checksum(pkt.payload) != 0:
        notes.append(f"[bad icmp cksum 0x{msg.checksum:04x} -> "
                     f"0x{_should_be(pkt.payload, 2):04x}!]")
    return f"{_icmp_text(msg)}, length {len(pkt.payload)}"


# ---------------------------------------------------------------------------------------------
# describe()
# ---------------------------------------------------------------------------------------------

_ECN_NAMES = ("Not-ECT", "ECT(1)", "ECT(0)", "CE")
_IP_PROTO_NAMES = {1: "ICMP", 2: "IGMP", 4: "IPIP", 6: "TCP", 17: "UDP", 41: "IPv6", 47: "GRE",
                   50: "ESP", 51: "AH", 89: "OSPF", 132: "SCTP"}
_IP_OPTION_NAMES = {0: "EOL", 1: "NOP", 7: "RR", 68: "TS", 130: "SEC", 131: "LSRR",
                    137: "SSRR", 148: "RA"}
_ICMP_CODE_NAMES: dict[int, dict[int, str]] = {
    icmp_mod.DEST_UNREACHABLE: {0: "net unreachable", 1: "host unreachable",
                                2: "protocol unreachable", 3: "port unreachable",
                                4: "fragmentation needed and DF set",
                                5: "source route failed", 9: "net administratively prohibited",
                                10: "host administratively prohibited",
                                13: "communication administratively prohibited"},
    icmp_mod.TIME_EXCEEDED: {0: "TTL exceeded in transit", 1: "fragment reassembly time exceeded"},
    icmp_mod.REDIRECT: {0: "for network", 1: "for host", 2: "for TOS and network",
                        3: "for TOS and host"},
}


def _hexdump(data: bytes, limit: int = 64) -> list[str]:
    lines = [f"  {off:04x}  {data[off:off + 16].hex(' ')}"
             for off in range(0, min(len(data), limit), 16)]
    if len(data) > limit:
        lines.append(f"  ... {len(data) - limit} more bytes")
    return lines


def describe(frame: bytes) -> str:
    """Every header field of an Ethernet frame, one block per header (no trailing newline).

    Checksums are shown with their verdict; a header that does not parse ends the dump with a
    ``malformed:`` line and a hex dump of the bytes that could not be decoded.
    """
    data = bytes(frame)
    lines: list[str] = []
    try:
        _describe_ethernet(data, lines)
    except Exception as exc:  # noqa: BLE001 - a diagnostic printer must never crash its caller
        lines.append(f"  malformed: internal error {type(exc).__name__}: {exc}")
    return "\n".join(lines)


def _malformed(lines: list[str], exc: WireError, data: bytes) -> None:
    lines.append(f"  malformed: {exc}")
    lines.extend(_hexdump(data))


def _describe_ethernet(data: bytes, lines: list[str]) -> None:
    lines.append(f"Ethernet II, {len(data)} bytes")
    if len(data) < ETH_HEADER_LEN:
        lines.append(f"  malformed: Ethernet: truncated header: {len(data)} of "
                     f"{ETH_HEADER_LEN} bytes")
        lines.extend(_hexdump(data))
        return
    ethertype = _U16.unpack_from(data, 12)[0]
    lines.append(f"  dst {MacAddress(data[0:6])}  src {MacAddress(data[6:12])}")
    if ethertype < 0x0600:
        lines.append(f"  length {ethertype} (IEEE 802.3 with LLC, not decoded)")
        lines.extend(_hexdump(data[ETH_HEADER_LEN:]))
        return
    eth: EthernetFrame = parse_ethernet(data)
    name = _ETHERTYPE_NAMES.get(ethertype, "unknown")
    lines.append(f"  type 0x{ethertype:04x} ({name})")
    if ethertype == ETHERTYPE_IPV4:
        _describe_ipv4(eth.payload, lines)
    elif ethertype == ETHERTYPE_ARP:
        _describe_arp(eth.payload, lines)
    else:
        lines.append(f"Payload, {len(eth.payload)} bytes (not decoded)")
        lines.extend(_hexdump(eth.payload))


def _describe_arp(payload: bytes, lines: list[str]) -> None:
    lines.append(f"ARP, {len(payload)} bytes")
    try:
        arp = parse_arp(payload)
    except WireError as exc:
        _malformed(lines, exc, payload)
        return
    op = {OP_REQUEST: "request", OP_REPLY: "reply"}[arp.op]
    lines.append("  hardware type 1 (Ethernet)  protocol type 0x0800 (IPv4)  "
                 "hardware size 6  protocol size 4")
    lines.append(f"  opcode {arp.op} ({op}){'  gratuitous' if arp.is_gratuitous else ''}")
    lines.append(f"  sender MAC {arp.sender_mac}  sender IP {arp.sender_ip}")
    lines.append(f"  target MAC {arp.target_mac}  target IP {arp.target_ip}")
    if len(payload) > 28:
        lines.append(f"  padding {len(payload) - 28} bytes")


def _ip_options_text(raw: bytes) -> str:
    names: list[str] = []
    i = 0
    while i < len(raw):
        kind = raw[i]
        name = _IP_OPTION_NAMES.get(kind, f"option-{kind}")
        if kind in (0, 1):
            names.append(name)
            i += 1
            if kind == 0:
                break
            continue
        length = raw[i + 1] if i + 1 < len(raw) else 0
        if length < 2 or i + length > len(raw):
            names.append(f"{name} [bad length {length}]")
            break
        body = raw[i + 2:i + length]
        names.append(f"{name} 0x{body.hex()}" if body else name)
        i += length
    return ", ".join(names)


def _describe_ipv4(data: bytes, lines: list[str]) -> None:
    lines.append(f"IPv4, {len(data)} bytes")
    try:
        pkt = parse_ipv4(data, verify_checksum=False)
    except WireError as exc:
        _malformed(lines, exc, data)
        return
    hlen = pkt.header_len
    flags = [name for on, name in ((pkt.df, "DF"), (pkt.mf, "MF")) if on]
    proto = _IP_PROTO_NAMES.get(pkt.protocol, "unknown")
    correct = _should_be(data[:hlen], 10)
    lines.append(f"  version {pkt.version}  header length {hlen} (ihl {pkt.ihl})  "
                 f"dscp {pkt.dscp}  ecn {pkt.ecn} ({_ECN_NAMES[pkt.ecn]})  "
                 f"total length {pkt.total_length}")
    lines.append(f"  id 0x{pkt.identification:04x} ({pkt.identification})  "
                 f"flags [{', '.join(flags) or 'none'}]  fragment offset {pkt.fragment_offset}  "
                 f"ttl {pkt.ttl}")
    lines.append(f"  protocol {pkt.protocol} ({proto})  header checksum "
                 f"{_checksum_status(pkt.checksum, correct)}")
    lines.append(f"  src {pkt.src}  dst {pkt.dst}")
    if pkt.options:
        lines.append(f"  options ({len(pkt.options)} bytes): {_ip_options_text(pkt.options)}")
    if len(data) > pkt.total_length:
        lines.append(f"  link padding {len(data) - pkt.total_length} bytes")
    if pkt.fragment_offset:
        lines.append(f"Fragment data, {len(pkt.payload)} bytes (protocol {pkt.protocol}, "
                     "no transport header in a later fragment)")
        return
    fragmented = pkt.mf
    handlers: dict[int, Callable[[IPv4Packet, bool, list[str]], None]] = {
        PROTO_TCP: _describe_tcp, PROTO_UDP: _describe_udp, PROTO_ICMP: _describe_icmp}
    handler = handlers.get(pkt.protocol)
    if handler is None:
        lines.append(f"Payload, {len(pkt.payload)} bytes (IP protocol {pkt.protocol}, "
                     "not decoded)")
        lines.extend(_hexdump(pkt.payload))
        return
    handler(pkt, fragmented, lines)


def _describe_tcp(pkt: IPv4Packet, fragmented: bool, lines: list[str]) -> None:
    data = pkt.payload
    lines.append(f"TCP, {len(data)} bytes")
    try:
        seg, raw_options = _parse_tcp_lenient(data)
    except WireError as exc:
        _malformed(lines, exc, data)
        return
    hlen = seg.data_offset * 4
    lines.append(f"  src port {seg.src_port}  dst port {seg.dst_port}")
    lines.append(f"  seq {seg.seq}  ack {seg.ack}")
    lines.append(f"  data offset {seg.data_offset} ({hlen} bytes)  flags 0x{seg.flags:03x} "
                 f"[{tcpdump_flags(seg.flags)}] ({_flag_names(seg.flags)})")
    if fragmented:
        checksum = f"0x{seg.checksum:04x} (not verified: IP fragment)"
    else:
        ok, should = _transport_checksum(pkt, PROTO_TCP, data, 16)
        checksum = _checksum_status(seg.checksum, seg.checksum if ok else should)
    lines.append(f"  window {seg.window}  checksum {checksum}  urgent pointer {seg.urgent}")
    if raw_options:
        lines.extend(f"  option {text}" for text in _describe_tcp_options(raw_options))
    lines.append(f"  payload {len(seg.payload)} bytes")


def _describe_tcp_options(raw: bytes) -> list[str]:
    out: list[str] = []
    i, n = 0, len(raw)
    while i < n:
        kind = raw[i]
        long_name = _TCP_OPTION_LONG_NAMES.get(kind, "unknown")
        if kind in (OPT_EOL, OPT_NOP):
            out.append(f"kind {kind} ({long_name})")
            i += 1
            if kind == OPT_EOL:
                if any(raw[i:]):
                    out.append(f"(after EOL: {n - i} bytes, not all zero: {raw[i:].hex()})")
                break
            continue
        if i + 1 >= n:
            out.append(f"kind {kind} at offset {i}: malformed, no length byte")
            break
        length = raw[i + 1]
        if length < 2 or length > n - i:
            out.append(f"kind {kind} ({long_name}) at offset {i}: malformed, length {length} "
                       f"with {n - i} bytes left")
            break
        short = tcp_options_text(raw[i:i + length]).strip("[]")
        out.append(f"kind {kind} ({long_name}) length {length}: {short}")
        i += length
    return out


def _describe_udp(pkt: IPv4Packet, fragmented: bool, lines: list[str]) -> None:
    data = pkt.payload
    lines.append(f"UDP, {len(data)} bytes")
    try:
        udp: UDPDatagram = parse_udp(data)
    except WireError as exc:
        _malformed(lines, exc, data)
        return
    if udp.checksum == 0:
        checksum = "0x0000 (none: the sender did not compute one)"
    elif fragmented:
        checksum = f"0x{udp.checksum:04x} (not verified: IP fragment)"
    else:
        ok, should = _transport_checksum(pkt, PROTO_UDP, data[:udp.length], 6)
        checksum = _checksum_status(udp.checksum, udp.checksum if ok else should)
    lines.append(f"  src port {udp.src_port}  dst port {udp.dst_port}  length {udp.length}  "
                 f"checksum {checksum}")
    lines.append(f"  payload {len(udp.payload)} bytes")


def _describe_icmp(pkt: IPv4Packet, fragmented: bool, lines: list[str]) -> None:
    data = pkt.payload
    lines.append(f"ICMP, {len(data)} bytes")
    try:
        msg = parse_icmp(data, verify_checksum=False)
    except WireError as exc:
        _malformed(lines, exc, data)
        return
    code_name = _ICMP_CODE_NAMES.get(msg.type, {}).get(msg.code, "")
    if fragmented:
        checksum = f"0x{msg.checksum:04x} (not verified: IP fragment)"
    else:
        ok = internet_checksum(data) == 0
        checksum = _checksum_status(msg.checksum, msg.checksum if ok else _should_be(data, 2))
    lines.append(f"  type {msg.type} ({msg.type_name})  code {msg.code}"
                 + (f" ({code_name})" if code_name else "") + f"  checksum {checksum}")
    if msg.type in (icmp_mod.ECHO_REQUEST, icmp_mod.ECHO_REPLY, 13, 14, 15, 16, 17, 18):
        lines.append(f"  identifier {msg.identifier}  sequence {msg.sequence}")
    elif msg.type == icmp_mod.DEST_UNREACHABLE and msg.code == icmp_mod.UNREACH_FRAG_NEEDED:
        lines.append(f"  next-hop MTU {msg.next_hop_mtu}")
    elif msg.type == icmp_mod.REDIRECT:
        lines.append(f"  gateway {IPv4Address(msg.rest)}")
    elif msg.type == icmp_mod.PARAMETER_PROBLEM:
        lines.append(f"  pointer {msg.rest[0]}")
    else:
        lines.append(f"  rest of header 0x{msg.rest.hex()}")
    if msg.is_error:
        lines.append(f"  quoted datagram {len(msg.payload)} bytes: {_quoted_text(msg.payload)}")
    else:
        lines.append(f"  data {len(msg.payload)} bytes")


def _quoted_text(quoted: bytes) -> str:
    """A short description of the datagram an ICMP error quotes (its header + 8 bytes)."""
    if len(quoted) < 20 or quoted[0] >> 4 != 4:
        return "not an IPv4 header"
    hlen = (quoted[0] & 0x0F) * 4
    proto = quoted[9]
    text = (f"IPv4 {IPv4Address(quoted[12:16])} > {IPv4Address(quoted[16:20])}, "
            f"protocol {proto} ({_IP_PROTO_NAMES.get(proto, 'unknown')}), ttl {quoted[8]}")
    ports = quoted[hlen:hlen + 4]
    if proto in (PROTO_TCP, PROTO_UDP) and len(ports) == 4:
        sport, dport = struct.unpack("!HH", ports)
        text += f", ports {sport} > {dport}"
        if proto == PROTO_TCP and len(quoted) >= hlen + 8:
            text += f", seq {_U32.unpack_from(quoted, hlen + 4)[0]}"
    elif proto == PROTO_ICMP and len(quoted) >= hlen + 8:
        text += f", ICMP type {quoted[hlen]} id {_U16.unpack_from(quoted, hlen + 4)[0]} " \
                f"seq {_U16.unpack_from(quoted, hlen + 6)[0]}"
    return text
