"""Field texts shared by `summary` (tcpdump one-liners) and `describe` (field dumps).

TCP flags and options the way tcpdump 4.99 prints them, tcpdump's names for EtherTypes, checksum
verdicts, and a lenient TCP header parse that still shows a header whose options are bad.
"""

from __future__ import annotations

import struct

from netsim.wire import tcp
from netsim.wire.checksum import internet_checksum, pseudo_header_sum
from netsim.wire.errors import TCPError
from netsim.wire.ipv4 import PROTO_UDP, IPv4Packet
from netsim.wire.ipv6 import IPv6Packet
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

TCP_HEADER_LEN = tcp.HEADER_LEN


U16 = struct.Struct("!H")
U32 = struct.Struct("!I")
UDP_HDR = struct.Struct("!HHHH")

# tcpdump's names for EtherTypes it would decode and netsim does not (print-ether.c, ethertype.h)
ETHERTYPE_NAMES = {
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


def flag_names(flags: int) -> str:
    names = [name for bit, name in _FLAG_NAMES if flags & bit]
    if flags & 0xE00:
        names.append(f"reserved 0x{flags & 0xE00:03x}")
    return ", ".join(names) if names else "none"


# tcpdump's tcp_option_values (print-tcp.c); an unknown kind prints as unknown-<kind>.
_TCP_OPTION_NAMES = {0: "eol", 1: "nop", 2: "mss", 3: "wscale", 4: "sackOK", 5: "sack",
                     6: "echo", 7: "echoreply", 8: "TS", 11: "cc", 12: "ccnew", 13: "",
                     19: "md5", 20: "scps", 28: "uto", 29: "tcp-ao", 30: "mptcp", 34: "tfo",
                     254: "exp"}
TCP_OPTION_LONG_NAMES = {0: "End of Option List", 1: "No-Operation", 2: "Maximum Segment Size",
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
        return f" {U16.unpack_from(rest)[0]}", 2
    if kind == OPT_WSCALE:
        need(1)
        return f" {rest[0]}", 1
    if kind == OPT_TIMESTAMPS:
        need(8)
        tsval, tsecr = struct.unpack_from("!II", rest)
        return f" val {tsval} ecr {tsecr}", 8
    if kind in _FOUR_BYTE_OPTIONS:
        need(4)
        return f" {U32.unpack_from(rest)[0]}", 4
    if kind == 28:  # RFC 5482 User Timeout: granularity bit (1 = minutes), 15-bit value
        need(2)
        value = U16.unpack_from(rest)[0]
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
        blocks = "".join(f"{{{U32.unpack_from(body, i)[0]}:{U32.unpack_from(body, i + 4)[0]}}}"
                         for i in range(0, datalen, 8))
        return f" {datalen // 8} {blocks}", datalen
    if kind == 34:  # RFC 7413 TCP Fast Open
        return " " + _tfo_text(body), datalen
    if kind == 254:  # RFC 6994 shared experimental option, identified by a 16-bit magic
        if datalen < 2:
            raise _BadOption
        magic = U16.unpack_from(body)[0]
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


def checksum_should_be(data: bytes, field: int, initial: int = 0) -> int:
    """The checksum value the 16-bit field at offset `field` of `data` should hold."""
    zeroed = data[:field] + b"\x00\x00" + data[field + 2:]
    return internet_checksum(zeroed, initial)


def checksum_status(stored: int, correct: int) -> str:
    if stored == correct:
        return f"0x{stored:04x} (correct)"
    return f"0x{stored:04x} (incorrect, should be 0x{correct:04x})"


def ip_checksum_ok(ip_header: bytes) -> bool:
    return internet_checksum(ip_header) == 0


def transport_checksum(pkt: IPv4Packet | IPv6Packet, proto: int, data: bytes, field: int
                       ) -> tuple[bool, int]:
    """(verifies, value the field should hold) for a TCP or UDP checksum over `data`."""
    initial = pseudo_header_sum(pkt.src, pkt.dst, proto, len(data))
    ok = internet_checksum(data, initial) == 0
    should = checksum_should_be(data, field, initial)
    if proto == PROTO_UDP and should == 0:
        should = 0xFFFF  # RFC 768: a computed zero is sent as all ones
    return ok, should


def parse_tcp_lenient(data: bytes) -> tuple[TCPSegment, bytes]:
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
