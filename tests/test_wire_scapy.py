"""An independent check of the wire formats against scapy, both ways.

For each protocol a seeded `random.Random` draws a few hundred packets; netsim builds them and
scapy reads them (every field, checksums recomputed by scapy, TCP options), then scapy builds
them and netsim reads them (checksums verified by netsim). Only specific scapy layers are
imported, which keeps its start-up quiet and its payload dissection predictable.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterator
from ipaddress import IPv4Address
from typing import Any

import pytest

logging.getLogger("scapy").setLevel(logging.ERROR)  # no start-up warnings (routes, IPv6...)
pytest.importorskip("scapy")

from scapy.layers.inet import (  # noqa: E402
    ICMP,
    IP,
    TCP,
    UDP,
    IPerror,
    IPOption,
    TCPerror,
    TCPOptions,
    UDPerror,
)
from scapy.layers.l2 import ARP, Ether  # noqa: E402
from scapy.packet import Raw  # noqa: E402

from netsim.wire import icmp  # noqa: E402
from netsim.wire.arp import OP_REPLY, OP_REQUEST, ArpPacket, parse_arp  # noqa: E402
from netsim.wire.ethernet import build_ethernet, parse_ethernet  # noqa: E402
from netsim.wire.icmp import echo, error, parse_icmp  # noqa: E402
from netsim.wire.ipv4 import (  # noqa: E402
    PROTO_TCP,
    PROTO_UDP,
    build_ipv4,
    parse_ipv4,
)
from netsim.wire.mac import MacAddress  # noqa: E402
from netsim.wire.tcp import (  # noqa: E402
    EOL,
    NOP,
    SACK_PERMITTED,
    EolOption,
    MSSOption,
    NopOption,
    SackOption,
    SackPermittedOption,
    TCPOption,
    TCPSegment,
    TimestampOption,
    UnknownOption,
    WindowScaleOption,
    encode_options,
    parse_tcp,
)
from netsim.wire.udp import build_udp, parse_udp  # noqa: E402

N = 300  # packets per protocol and direction
U32 = 2**32 - 1


def rngs(name: str) -> Iterator[random.Random]:
    """N draws, reproducible per test."""
    rng = random.Random(f"netsim-scapy-{name}")
    for _ in range(N):
        yield rng


def rand_ip(rng: random.Random) -> IPv4Address:
    return IPv4Address(rng.getrandbits(32))


def rand_mac(rng: random.Random) -> MacAddress:
    return MacAddress(rng.randbytes(6))


def bound(layer: Any, field: str) -> set[int]:
    """Values of `field` for which scapy dissects the payload as another layer."""
    return {int(fval[field]) for fval, _ in layer.payload_guess if field in fval}


def rand_port(rng: random.Random, layer: Any) -> int:
    taken = bound(layer, "sport") | bound(layer, "dport")
    while True:
        port = rng.randrange(0x10000)
        if port not in taken:
            return port


def rand_protocol(rng: random.Random) -> int:
    taken = bound(IP, "proto") | {0}  # 0 is IPv6 hop-by-hop for scapy
    while True:
        proto = rng.randrange(256)
        if proto not in taken:
            return proto


def scapy_checksum(pkt: Any, layer: Any) -> int:
    """The checksum scapy computes for `layer` in `pkt` (the field deleted and rebuilt)."""
    copy = pkt.copy()
    del copy[layer].chksum
    return int(pkt.__class__(bytes(copy))[layer].chksum)


# --- Ethernet ------------------------------------------------------------------------------

def rand_ethertype(rng: random.Random) -> int:
    taken = bound(Ether, "type")
    while True:
        ethertype = rng.randrange(0x0600, 0x10000)
        if ethertype not in taken:
            return ethertype


def test_ethernet_netsim_builds_scapy_reads() -> None:
    for rng in rngs("ether-out"):
        dst, src, ethertype = rand_mac(rng), rand_mac(rng), rand_ethertype(rng)
        payload = rng.randbytes(rng.randrange(0, 1501))
        s = Ether(build_ethernet(dst, src, ethertype, payload))
        assert (s.dst, s.src, s.type) == (str(dst), str(src), ethertype)
        assert bytes(s.payload) == payload


def test_ethernet_scapy_builds_netsim_reads() -> None:
    for rng in rngs("ether-in"):
        dst, src, ethertype = rand_mac(rng), rand_mac(rng), rand_ethertype(rng)
        payload = rng.randbytes(rng.randrange(0, 1501))
        frame = parse_ethernet(bytes(Ether(dst=str(dst), src=str(src), type=ethertype)
                                     / Raw(payload)))
        assert frame == (dst, src, ethertype, payload)


# --- ARP -----------------------------------------------------------------------------------

def rand_arp(rng: random.Random) -> ArpPacket:
    return ArpPacket(rng.choice([OP_REQUEST, OP_REPLY]), rand_mac(rng), rand_ip(rng),
                     rand_mac(rng), rand_ip(rng))


def test_arp_netsim_builds_scapy_reads() -> None:
    for rng in rngs("arp-out"):
        pkt = rand_arp(rng)
        s = ARP(pkt.build())
        assert (s.hwtype, s.ptype, s.hwlen, s.plen, s.op) == (1, 0x0800, 6, 4, pkt.op)
        assert (s.hwsrc, s.psrc, s.hwdst, s.pdst) == (str(pkt.sender_mac), str(pkt.sender_ip),
                                                      str(pkt.target_mac), str(pkt.target_ip))


def test_arp_scapy_builds_netsim_reads() -> None:
    for rng in rngs("arp-in"):
        pkt = rand_arp(rng)
        raw = bytes(ARP(op=pkt.op, hwsrc=str(pkt.sender_mac), psrc=str(pkt.sender_ip),
                        hwdst=str(pkt.target_mac), pdst=str(pkt.target_ip)))
        assert parse_arp(raw) == pkt


# --- IPv4 with options ---------------------------------------------------------------------

def rand_ip_options(rng: random.Random) -> bytes:
    """A few well-formed IPv4 options (RFC 791 §3.1, RFC 2113), at most 40 bytes."""
    out = b""
    for _ in range(rng.randrange(0, 5)):
        kind = rng.choice(["nop", "router-alert", "record-route", "eol"])
        if kind == "nop":
            opt = b"\x01"
        elif kind == "router-alert":
            opt = b"\x94\x04\x00\x00"
        elif kind == "record-route":
            slots = rng.randrange(1, 4)
            opt = bytes((7, 3 + 4 * slots, 4)) + rng.randbytes(4 * slots)
        else:
            opt = b"\x00"
        if len(out) + len(opt) <= 40:
            out += opt
        if kind == "eol":
            break
    return out


def test_ipv4_netsim_builds_scapy_reads() -> None:
    for rng in rngs("ipv4-out"):
        src, dst, proto = rand_ip(rng), rand_ip(rng), rand_protocol(rng)
        fields = dict(ttl=rng.randrange(256), identification=rng.randrange(0x10000),
                      df=rng.random() < 0.5, mf=rng.random() < 0.5,
                      fragment_offset=8 * rng.randrange(0x2000), dscp=rng.randrange(64),
                      ecn=rng.randrange(4), options=rand_ip_options(rng))
        payload = rng.randbytes(rng.randrange(0, 100))
        raw = build_ipv4(src, dst, proto, payload, **fields)  # type: ignore[arg-type]
        s = IP(raw)
        padded = fields["options"] + bytes(-len(fields["options"]) % 4)  # type: ignore[arg-type]
        assert (s.version, s.ihl, s.len) == (4, 5 + len(padded) // 4, len(raw))
        assert (s.tos >> 2, s.tos & 3) == (fields["dscp"], fields["ecn"])
        assert (s.id, s.ttl, s.proto) == (fields["identification"], fields["ttl"], proto)
        assert (bool(s.flags.DF), bool(s.flags.MF), int(s.flags) & 4) == \
            (fields["df"], fields["mf"], 0)
        assert s.frag * 8 == fields["fragment_offset"]
        assert (s.src, s.dst) == (str(src), str(dst))
        assert b"".join(bytes(o) for o in s.options) == padded
        assert s.chksum == scapy_checksum(s, IP)
        assert bytes(s.payload) == payload


def test_ipv4_scapy_builds_netsim_reads() -> None:
    for rng in rngs("ipv4-in"):
        src, dst, proto = rand_ip(rng), rand_ip(rng), rand_protocol(rng)
        tos, ident, ttl = rng.randrange(256), rng.randrange(0x10000), rng.randrange(256)
        flags, frag = rng.randrange(4), rng.randrange(0x2000)  # DF=2, MF=1
        options = rand_ip_options(rng)
        payload = rng.randbytes(rng.randrange(0, 100))
        s = IP(src=str(src), dst=str(dst), proto=proto, tos=tos, id=ident, ttl=ttl, flags=flags,
               frag=frag, options=[IPOption(options)] if options else []) / Raw(payload)
        raw = bytes(s)
        p = parse_ipv4(raw)  # checksum verified by netsim
        assert (p.src, p.dst, p.protocol, p.payload) == (src, dst, proto, payload)
        assert (p.dscp << 2 | p.ecn, p.identification, p.ttl) == (tos, ident, ttl)
        assert (p.df, p.mf, p.fragment_offset) == (bool(flags & 2), bool(flags & 1), frag * 8)
        assert p.options == raw[20:p.header_len]
        assert p.options[:len(options)] == options and not any(p.options[len(options):])
        assert (p.total_length, p.checksum) == (len(raw), IP(raw).chksum)
        assert p.build() == raw


# --- ICMP ----------------------------------------------------------------------------------

def rand_original(rng: random.Random) -> bytes:
    """A datagram for an ICMP error to quote: UDP or TCP inside IPv4, maybe with options."""
    src, dst = rand_ip(rng), rand_ip(rng)
    if rng.random() < 0.5:
        inner = build_udp(src, dst, rng.randrange(0x10000), rng.randrange(0x10000),
                          rng.randbytes(rng.randrange(0, 40)))
        proto = PROTO_UDP
    else:
        seg = TCP(sport=rng.randrange(0x10000), dport=rng.randrange(0x10000),
                  seq=rng.getrandbits(32))
        inner = bytes(IP(src=str(src), dst=str(dst)) / seg)[20:]
        proto = PROTO_TCP
    return build_ipv4(src, dst, proto, inner, ttl=rng.randrange(1, 3),
                      identification=rng.randrange(0x10000), options=rand_ip_options(rng))


ERROR_KINDS = [(icmp.DEST_UNREACHABLE, code) for code in range(6)] + \
    [(icmp.TIME_EXCEEDED, 0), (icmp.TIME_EXCEEDED, 1)]


def test_icmp_netsim_builds_scapy_reads() -> None:
    for rng in rngs("icmp-out"):
        if rng.random() < 0.5:
            type_ = rng.choice([icmp.ECHO_REQUEST, icmp.ECHO_REPLY])
            ident, seq = rng.randrange(0x10000), rng.randrange(0x10000)
            payload = rng.randbytes(rng.randrange(0, 200))
            s = ICMP(echo(type_, ident, seq, payload).build())
            assert (s.type, s.code, s.id, s.seq) == (type_, 0, ident, seq)
            assert bytes(s.payload) == payload
        else:
            type_, code = rng.choice(ERROR_KINDS)
            mtu = rng.randrange(68, 0x10000) if (type_, code) == (3, 4) else 0
            original = rand_original(rng)
            s = ICMP(error(type_, code, original, mtu).build())
            assert (s.type, s.code) == (type_, code)
            if type_ == icmp.DEST_UNREACHABLE:
                assert s.nexthopmtu == mtu
            quoted = s[IPerror]
            orig = parse_ipv4(original)
            assert (quoted.src, quoted.dst, quoted.proto, quoted.id, quoted.ttl) == \
                (str(orig.src), str(orig.dst), orig.protocol, orig.identification, orig.ttl)
            inner = quoted[UDPerror] if orig.protocol == PROTO_UDP else quoted[TCPerror]
            assert (inner.sport, inner.dport) == (int.from_bytes(orig.payload[0:2], "big"),
                                                  int.from_bytes(orig.payload[2:4], "big"))
            assert bytes(quoted) == original[:orig.header_len + 8]
        assert s.chksum == scapy_checksum(s, ICMP)


def test_icmp_scapy_builds_netsim_reads() -> None:
    for rng in rngs("icmp-in"):
        if rng.random() < 0.5:
            type_ = rng.choice([icmp.ECHO_REQUEST, icmp.ECHO_REPLY])
            ident, seq = rng.randrange(0x10000), rng.randrange(0x10000)
            payload = rng.randbytes(rng.randrange(0, 200))
            m = parse_icmp(bytes(ICMP(type=type_, id=ident, seq=seq) / Raw(payload)))
            assert (m.type, m.code, m.identifier, m.sequence, m.payload) == \
                (type_, 0, ident, seq, payload)
            assert not m.is_error
        else:
            type_, code = rng.choice(ERROR_KINDS)
            original = rand_original(rng)
            orig = parse_ipv4(original)
            quote = original[:orig.header_len + 8]
            mtu = rng.randrange(68, 0x10000) if (type_, code) == (3, 4) else 0
            built = ICMP(type=type_, code=code, nexthopmtu=mtu) if type_ == 3 else \
                ICMP(type=type_, code=code)
            m = parse_icmp(bytes(built / Raw(quote)))  # checksum verified by netsim
            assert (m.type, m.code, m.payload, m.is_error) == (type_, code, quote, True)
            if (type_, code) == (3, 4):
                assert m.next_hop_mtu == mtu
            q = m.quoted_ipv4()
            assert q == orig._replace(payload=orig.payload[:8])


# --- UDP -----------------------------------------------------------------------------------

def test_udp_netsim_builds_scapy_reads() -> None:
    for rng in rngs("udp-out"):
        src, dst = rand_ip(rng), rand_ip(rng)
        sport, dport = rand_port(rng, UDP), rand_port(rng, UDP)
        payload = rng.randbytes(rng.randrange(0, 600))
        s = IP(build_ipv4(src, dst, PROTO_UDP, build_udp(src, dst, sport, dport, payload)))
        u = s[UDP]
        assert (u.sport, u.dport, u.len) == (sport, dport, 8 + len(payload))
        assert bytes(u.payload) == payload
        assert u.chksum == scapy_checksum(s, UDP)


def test_udp_scapy_builds_netsim_reads() -> None:
    for rng in rngs("udp-in"):
        src, dst = rand_ip(rng), rand_ip(rng)
        sport, dport = rand_port(rng, UDP), rand_port(rng, UDP)
        payload = rng.randbytes(rng.randrange(0, 600))
        ip = parse_ipv4(bytes(IP(src=str(src), dst=str(dst)) / UDP(sport=sport, dport=dport)
                              / Raw(payload)))
        d = parse_udp(ip.payload, ip.src, ip.dst)  # checksum verified by netsim
        assert (d.src_port, d.dst_port, d.payload, d.length) == \
            (sport, dport, payload, 8 + len(payload))
        assert d.checksum == IP(ip.build())[UDP].chksum


# --- TCP -----------------------------------------------------------------------------------

SCAPY_KNOWN_KINDS = set(TCPOptions[0])


def rand_tcp_options(rng: random.Random) -> tuple[TCPOption, ...]:
    """A random option list that fits in 40 bytes: known kinds, SACK, unknown kinds."""
    opts: list[TCPOption] = []
    for _ in range(rng.randrange(0, 7)):
        kind = rng.choice(["nop", "mss", "wscale", "sackok", "ts", "sack", "unknown"])
        opt: TCPOption
        if kind == "nop":
            opt = NOP
        elif kind == "mss":
            opt = MSSOption(rng.randrange(0x10000))
        elif kind == "wscale":
            opt = WindowScaleOption(rng.randrange(15))
        elif kind == "sackok":
            opt = SACK_PERMITTED
        elif kind == "ts":
            opt = TimestampOption(rng.getrandbits(32), rng.getrandbits(32))
        elif kind == "sack":
            opt = SackOption(tuple((rng.getrandbits(32), rng.getrandbits(32))
                                   for _ in range(rng.randrange(1, 5))))
        else:
            k = rng.choice([k for k in range(9, 256) if k not in SCAPY_KNOWN_KINDS])
            opt = UnknownOption(k, rng.randbytes(rng.randrange(0, 10)))
        if fits((*opts, opt)):
            opts.append(opt)
    return tuple(opts)


def fits(options: tuple[TCPOption, ...]) -> bool:
    return sum(map(option_len, options)) <= 40


def to_scapy(opt: TCPOption) -> tuple[Any, Any]:
    if isinstance(opt, NopOption):
        return ("NOP", None)
    if isinstance(opt, EolOption):
        return ("EOL", None)
    if isinstance(opt, MSSOption):
        return ("MSS", opt.mss)
    if isinstance(opt, WindowScaleOption):
        return ("WScale", opt.shift)
    if isinstance(opt, SackPermittedOption):
        return ("SAckOK", b"")
    if isinstance(opt, TimestampOption):
        return ("Timestamp", (opt.tsval, opt.tsecr))
    if isinstance(opt, SackOption):
        return ("SAck", tuple(edge for block in opt.blocks for edge in block))
    return (opt.kind, opt.data)


def option_len(opt: TCPOption) -> int:
    """Bytes of one option on the wire, before padding."""
    if isinstance(opt, NopOption | EolOption):
        return 1
    if isinstance(opt, UnknownOption):
        return 2 + len(opt.data)
    if isinstance(opt, SackOption):
        return 2 + 8 * len(opt.blocks)
    return {MSSOption: 4, WindowScaleOption: 3, SackPermittedOption: 2,
            TimestampOption: 10}[type(opt)]


def test_tcp_netsim_builds_scapy_reads() -> None:
    for rng in rngs("tcp-out"):
        src, dst = rand_ip(rng), rand_ip(rng)
        sport, dport = rand_port(rng, TCP), rand_port(rng, TCP)
        seq, ack, flags = rng.getrandbits(32), rng.getrandbits(32), rng.randrange(0x1000)
        window, urgent = rng.randrange(0x10000), rng.randrange(0x10000)
        options = rand_tcp_options(rng)
        payload = rng.randbytes(rng.randrange(0, 600))
        seg = TCPSegment(sport, dport, seq, ack, flags, window, payload, options, urgent)
        s = IP(build_ipv4(src, dst, PROTO_TCP, seg.build(src, dst)))
        t = s[TCP]
        encoded = encode_options(options)
        assert (t.sport, t.dport, t.seq, t.ack) == (sport, dport, seq, ack)
        assert (t.reserved << 9 | int(t.flags), t.window, t.urgptr) == (flags, window, urgent)
        assert t.dataofs == 5 + len(encoded) // 4
        expected = [to_scapy(o) for o in options]
        if len(encoded) > sum(map(option_len, options)):
            expected.append(("EOL", None))  # the zero padding reads as End of Option List
        assert t.options == expected
        assert bytes(t.payload) == payload
        assert t.chksum == scapy_checksum(s, TCP)


def test_tcp_scapy_builds_netsim_reads() -> None:
    for rng in rngs("tcp-in"):
        src, dst = rand_ip(rng), rand_ip(rng)
        sport, dport = rand_port(rng, TCP), rand_port(rng, TCP)
        seq, ack, flags = rng.getrandbits(32), rng.getrandbits(32), rng.randrange(0x1000)
        window, urgent = rng.randrange(0x10000), rng.randrange(0x10000)
        options = rand_tcp_options(rng)
        if rng.random() < 0.2 and fits((*options, EOL)):
            options = (*options, EOL)
        payload = rng.randbytes(rng.randrange(0, 600))
        built = IP(src=str(src), dst=str(dst)) / TCP(
            sport=sport, dport=dport, seq=seq, ack=ack, flags=flags & 0x1FF,
            reserved=flags >> 9, window=window, urgptr=urgent,
            options=[to_scapy(o) for o in options]) / Raw(payload)
        raw = bytes(built)
        ip = parse_ipv4(raw)
        seg = parse_tcp(ip.payload, ip.src, ip.dst)  # checksum verified by netsim
        assert (seg.src_port, seg.dst_port, seg.seq, seg.ack) == (sport, dport, seq, ack)
        assert (seg.flags, seg.window, seg.urgent, seg.payload) == (flags, window, urgent,
                                                                    payload)
        # scapy pads with zeros, which netsim reads as one End of Option List
        assert [to_scapy(o) for o in seg.options] == IP(raw)[TCP].options
        assert seg.options[:len(options)] == options
        assert all(o == EOL for o in seg.options[len(options):])
        assert seg.data_offset == IP(raw)[TCP].dataofs
        assert seg.checksum == IP(raw)[TCP].chksum
        assert seg.build(ip.src, ip.dst) == ip.payload
