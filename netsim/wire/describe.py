"""`describe(frame)`: every header field of an Ethernet frame, one block per header.

The verbose companion of `netsim.wire.summary.summarize` (``netsim pcap -v``); checksums come with
their verdict, and a header that does not parse ends the dump with a hex dump. Never raises.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from ipaddress import IPv4Address

from netsim.wire import ethernet
from netsim.wire import icmp as icmp_mod
from netsim.wire.arp import OP_REPLY, OP_REQUEST, parse_arp
from netsim.wire.describe6 import describe_ipv6
from netsim.wire.describe_l4 import (
    checksum_text,
    describe_tcp,
    describe_udp,
    hexdump,
    malformed,
)
from netsim.wire.errors import WireError
from netsim.wire.ethernet import (
    ETHERTYPE_ARP,
    ETHERTYPE_IPV4,
    ETHERTYPE_IPV6,
    EthernetFrame,
    parse_ethernet,
)
from netsim.wire.fieldtext import (
    ETHERTYPE_NAMES,
    U16,
    U32,
    checksum_should_be,
    checksum_status,
)
from netsim.wire.icmp import parse_icmp
from netsim.wire.ipv4 import PROTO_ICMP, PROTO_TCP, PROTO_UDP, IPv4Packet, parse_ipv4
from netsim.wire.mac import MacAddress

ETH_HEADER_LEN = ethernet.HEADER_LEN

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


def _describe_ethernet(data: bytes, lines: list[str]) -> None:
    lines.append(f"Ethernet II, {len(data)} bytes")
    if len(data) < ETH_HEADER_LEN:
        lines.append(f"  malformed: Ethernet: truncated header: {len(data)} of "
                     f"{ETH_HEADER_LEN} bytes")
        lines.extend(hexdump(data))
        return
    ethertype = U16.unpack_from(data, 12)[0]
    lines.append(f"  dst {MacAddress(data[0:6])}  src {MacAddress(data[6:12])}")
    if ethertype < 0x0600:
        lines.append(f"  length {ethertype} (IEEE 802.3 with LLC, not decoded)")
        lines.extend(hexdump(data[ETH_HEADER_LEN:]))
        return
    while ethertype in (0x8100, 0x88A8, 0x9100):  # 802.1Q / 802.1ad tags, outermost first
        lines.append(f"  type 0x{ethertype:04x} ({ETHERTYPE_NAMES.get(ethertype, 'VLAN tag')})")
        if len(data) < ETH_HEADER_LEN + 4:
            lines.append(f"  malformed: 802.1Q: truncated tag: {len(data)} of "
                         f"{ETH_HEADER_LEN + 4} bytes")
            lines.extend(hexdump(data[12:]))
            return
        tci = U16.unpack_from(data, 14)[0]
        lines.append(f"802.1Q tag: priority {tci >> 13}  drop eligible {(tci >> 12) & 1}  "
                     f"VLAN {tci & 0x0FFF}")
        data = data[:12] + data[16:]
        ethertype = U16.unpack_from(data, 12)[0]
    eth: EthernetFrame = parse_ethernet(data)
    name = ETHERTYPE_NAMES.get(ethertype, "unknown")
    lines.append(f"  type 0x{ethertype:04x} ({name})")
    if ethertype == ETHERTYPE_IPV4:
        _describe_ipv4(eth.payload, lines)
    elif ethertype == ETHERTYPE_ARP:
        _describe_arp(eth.payload, lines)
    elif ethertype == ETHERTYPE_IPV6:
        describe_ipv6(eth.payload, lines)
    else:
        lines.append(f"Payload, {len(eth.payload)} bytes (not decoded)")
        lines.extend(hexdump(eth.payload))


def _describe_arp(payload: bytes, lines: list[str]) -> None:
    lines.append(f"ARP, {len(payload)} bytes")
    try:
        arp = parse_arp(payload)
    except WireError as exc:
        malformed(lines, exc, payload)
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
        malformed(lines, exc, data)
        return
    hlen = pkt.header_len
    flags = [name for on, name in ((pkt.df, "DF"), (pkt.mf, "MF")) if on]
    proto = _IP_PROTO_NAMES.get(pkt.protocol, "unknown")
    correct = checksum_should_be(data[:hlen], 10)
    lines.append(f"  version {pkt.version}  header length {hlen} (ihl {pkt.ihl})  "
                 f"dscp {pkt.dscp}  ecn {pkt.ecn} ({_ECN_NAMES[pkt.ecn]})  "
                 f"total length {pkt.total_length}")
    lines.append(f"  id 0x{pkt.identification:04x} ({pkt.identification})  "
                 f"flags [{', '.join(flags) or 'none'}]  fragment offset {pkt.fragment_offset}  "
                 f"ttl {pkt.ttl}")
    lines.append(f"  protocol {pkt.protocol} ({proto})  header checksum "
                 f"{checksum_status(pkt.checksum, correct)}")
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
        PROTO_TCP: describe_tcp, PROTO_UDP: describe_udp, PROTO_ICMP: _describe_icmp}
    handler = handlers.get(pkt.protocol)
    if handler is None:
        lines.append(f"Payload, {len(pkt.payload)} bytes (IP protocol {pkt.protocol}, "
                     "not decoded)")
        lines.extend(hexdump(pkt.payload))
        return
    handler(pkt, fragmented, lines)


def _describe_icmp(pkt: IPv4Packet, fragmented: bool, lines: list[str]) -> None:
    data = pkt.payload
    lines.append(f"ICMP, {len(data)} bytes")
    try:
        msg = parse_icmp(data, verify_checksum=False)
    except WireError as exc:
        malformed(lines, exc, data)
        return
    code_name = _ICMP_CODE_NAMES.get(msg.type, {}).get(msg.code, "")
    checksum = checksum_text(msg.checksum, data, 2, fragmented)
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
            text += f", seq {U32.unpack_from(quoted, hlen + 4)[0]}"
    elif proto == PROTO_ICMP and len(quoted) >= hlen + 8:
        text += f", ICMP type {quoted[hlen]} id {U16.unpack_from(quoted, hlen + 4)[0]} " \
                f"seq {U16.unpack_from(quoted, hlen + 6)[0]}"
    return text
