"""The transport headers of `netsim pcap -v` (netsim.wire.describe): TCP with every option,
and UDP, over IPv4 or IPv6 (the checksum is verified with that version's pseudo-header)."""

from __future__ import annotations

from netsim.wire.checksum import internet_checksum
from netsim.wire.errors import WireError
from netsim.wire.fieldtext import (
    TCP_OPTION_LONG_NAMES,
    checksum_should_be,
    checksum_status,
    flag_names,
    parse_tcp_lenient,
    tcp_options_text,
    tcpdump_flags,
    transport_checksum,
)
from netsim.wire.ipv4 import PROTO_TCP, PROTO_UDP, IPv4Packet
from netsim.wire.ipv6 import IPv6Packet
from netsim.wire.tcp import OPT_EOL, OPT_NOP
from netsim.wire.udp import UDPDatagram, parse_udp


def malformed(lines: list[str], exc: WireError, data: bytes) -> None:
    lines.append(f"  malformed: {exc}")
    lines.extend(hexdump(data))


def hexdump(data: bytes, limit: int = 64) -> list[str]:
    lines = [f"  {off:04x}  {data[off:off + 16].hex(' ')}"
             for off in range(0, min(len(data), limit), 16)]
    if len(data) > limit:
        lines.append(f"  ... {len(data) - limit} more bytes")
    return lines


def checksum_text(stored: int, data: bytes, field: int, fragmented: bool,
                  pkt: IPv4Packet | IPv6Packet | None = None, proto: int = 0) -> str:
    """A checksum field (at offset `field` of `data`) and its verdict, over `pkt`'s
    pseudo-header for `proto` too (None: none, as ICMP over IPv4); a fragment's is not
    verified."""
    if fragmented:
        return f"0x{stored:04x} (not verified: IP fragment)"
    if pkt is None:
        ok, should = internet_checksum(data) == 0, checksum_should_be(data, field)
    else:
        ok, should = transport_checksum(pkt, proto, data, field)
    return checksum_status(stored, stored if ok else should)


def describe_tcp(pkt: IPv4Packet | IPv6Packet, fragmented: bool, lines: list[str]) -> None:
    data = pkt.payload
    lines.append(f"TCP, {len(data)} bytes")
    try:
        seg, raw_options = parse_tcp_lenient(data)
    except WireError as exc:
        malformed(lines, exc, data)
        return
    hlen = seg.data_offset * 4
    lines.append(f"  src port {seg.src_port}  dst port {seg.dst_port}")
    lines.append(f"  seq {seg.seq}  ack {seg.ack}")
    lines.append(f"  data offset {seg.data_offset} ({hlen} bytes)  flags 0x{seg.flags:03x} "
                 f"[{tcpdump_flags(seg.flags)}] ({flag_names(seg.flags)})")
    checksum = checksum_text(seg.checksum, data, 16, fragmented, pkt, PROTO_TCP)
    lines.append(f"  window {seg.window}  checksum {checksum}  urgent pointer {seg.urgent}")
    if raw_options:
        lines.extend(f"  option {text}" for text in _describe_tcp_options(raw_options))
    lines.append(f"  payload {len(seg.payload)} bytes")


def _describe_tcp_options(raw: bytes) -> list[str]:
    out: list[str] = []
    i, n = 0, len(raw)
    while i < n:
        kind = raw[i]
        long_name = TCP_OPTION_LONG_NAMES.get(kind, "unknown")
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


def describe_udp(pkt: IPv4Packet | IPv6Packet, fragmented: bool, lines: list[str]) -> None:
    data = pkt.payload
    lines.append(f"UDP, {len(data)} bytes")
    try:
        udp: UDPDatagram = parse_udp(data)
    except WireError as exc:
        malformed(lines, exc, data)
        return
    if udp.checksum == 0 and isinstance(pkt, IPv6Packet):
        # RFC 8200 §8.1: the UDP checksum is not optional over IPv6 (a zero one is discarded)
        checksum = "0x0000 (invalid over IPv6: the sender did not compute one)"
    elif udp.checksum == 0:
        checksum = "0x0000 (none: the sender did not compute one)"
    else:
        checksum = checksum_text(udp.checksum, data[:udp.length], 6, fragmented, pkt,
                                 PROTO_UDP)
    lines.append(f"  src port {udp.src_port}  dst port {udp.dst_port}  length {udp.length}  "
                 f"checksum {checksum}")
    lines.append(f"  payload {len(udp.payload)} bytes")
