"""Grader for assignment 01-checksum-tcp-parsing: the internet checksum and the TCP header.

The student's file defines three functions (see the starter)::

    internet_checksum(data: bytes) -> int
    parse_tcp_header(segment: bytes) -> TcpHeader      # ValueError when malformed
    tcp_checksum_ok(src_ip: str, dst_ip: str, segment: bytes) -> bool

Expected values come from netsim's own wire code (`netsim.wire.checksum`, `netsim.wire.tcp`).
"""

from __future__ import annotations

import random
import tempfile
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

from netsim.grading.differential import check_fn as differential_check
from netsim.grading.framework import Assignment, Check, CheckFailed, Context
from netsim.wire.checksum import reference_checksum
from netsim.wire.tcp import (
    ACK,
    CWR,
    ECE,
    FIN,
    PSH,
    RST,
    SYN,
    URG,
    MSSOption,
    NopOption,
    SackPermittedOption,
    TimestampOption,
    WindowScaleOption,
    build_tcp,
    encode_options,
    parse_tcp,
)

SRC = IPv4Address("192.0.2.1")
DST = IPv4Address("198.51.100.7")
FIELDS = ("src_port", "dst_port", "seq", "ack", "data_offset", "flags", "window", "checksum",
          "urgent")


def _hex(data: bytes, limit: int = 48) -> str:
    text = data[:limit].hex(" ")
    return f"bytes.fromhex('{text}')" + (f" ... ({len(data)} bytes)" if len(data) > limit else "")


def _no_carry(data: bytes) -> int:
    if len(data) % 2:
        data += b"\x00"
    total = sum(int.from_bytes(data[i:i + 2], "big") for i in range(0, len(data), 2))
    return ~total & 0xFFFF


def _checksum_case(ctx: Context, data: bytes, rule: str, diagnoses: dict[int, str]) -> None:
    fn = ctx.get("internet_checksum")
    want = reference_checksum(data)
    got = fn(data)
    ctx.step(f"internet_checksum({_hex(data)}) -> {got!r}")
    if got != want:
        shown = f"0x{got:04x}" if isinstance(got, int) else repr(got)
        hint = diagnoses.get(got) if isinstance(got, int) else \
            "return an int in 0..0xFFFF"
        raise CheckFailed(rule, input=_hex(data), expected=f"0x{want:04x}", got=shown,
                          hint=hint)


# --------------------------------------------------------------------------------- checksum
def check_rfc1071_example(ctx: Context) -> None:
    data = bytes.fromhex("0001f203f4f5f6f7")
    _checksum_case(ctx, data, "the example of RFC 1071 §3: the sum is 0xddf2, the checksum "
                   "its complement 0x220d", {0xDDF2: "return the complement (~sum & 0xFFFF), "
                                             "not the sum"})


def check_end_around_carry(ctx: Context) -> None:
    for data in (b"\x80\x00\x80\x00", b"\xff\xff\xff\xff", b"\xff\xff\x00\x02\xff\xfe",
                 bytes.fromhex("4500003c1c4640004006") + b"\xff\xff" * 40):
        _checksum_case(ctx, data, "one's-complement addition: a carry out of bit 15 is "
                       "added back in (end-around carry, RFC 1071 §2 (B))",
                       {_no_carry(data): "the carries out of the top bit are lost: fold the "
                        "sum (sum = (sum & 0xFFFF) + (sum >> 16)) until it fits in 16 bits"})


def check_odd_length(ctx: Context) -> None:
    for data in (b"\x01", b"\x00\x01\xf2", bytes(range(1, 60)), b"\xff" * 1461):
        padded_left = data[:-1] + b"\x00" + data[-1:]
        _checksum_case(ctx, data, "an odd count of bytes: the last byte is padded with a zero "
                       "byte on the RIGHT, i.e. it is the high byte of the last word "
                       "(RFC 1071 §1)",
                       {reference_checksum(data[:-1]): "the last (odd) byte was ignored",
                        reference_checksum(padded_left): "the last byte was taken as the LOW "
                        "byte of a word: pad it with a zero byte after it"})


def check_random(ctx: Context) -> None:
    rng = random.Random(1071)
    fn = ctx.get("internet_checksum")
    cases = [b"", b"\x00\x00", b"\xff\xff"] + [
        rng.randbytes(rng.choice([rng.randrange(0, 64), rng.randrange(0, 1501)]))
        for _ in range(300)]
    for data in cases:
        want = reference_checksum(data)
        got = fn(data)
        if got != want:
            ctx.step(f"internet_checksum({_hex(data)}) -> {got!r}")
            raise CheckFailed("the checksum of random data (300 buffers of 0 to 1500 bytes) "
                              "differs from RFC 1071's", input=_hex(data),
                              expected=f"0x{want:04x}", got=repr(got),
                              hint="the empty buffer's checksum is 0xFFFF" if not data else None)
    ctx.step(f"{len(cases)} random buffers: all correct")


def check_verifies_to_zero(ctx: Context) -> None:
    from netsim.wire.ipv4 import PROTO_TCP, build_ipv4
    fn = ctx.get("internet_checksum")
    for ttl in (1, 64, 255):
        raw = build_ipv4(SRC, DST, PROTO_TCP, b"x" * 20, ttl=ttl)[:20]
        got = fn(raw)
        ctx.step(f"internet_checksum(<an IPv4 header with its checksum, ttl {ttl}>) -> {got!r}")
        if got != 0:
            raise CheckFailed("over data that already holds a correct checksum, the checksum "
                              "is 0 (how a receiver verifies, RFC 1071 §1)", input=_hex(raw),
                              expected="0", got=repr(got))


# --------------------------------------------------------------------------------- TCP
def _parse(ctx: Context, raw: bytes) -> Any:
    fn = ctx.get("parse_tcp_header")
    ctx.step(f"parse_tcp_header({_hex(raw)})")
    try:
        return fn(raw)
    except ValueError as exc:  # the student's ValueError on a segment the checks built
        offset = raw[12] >> 4 if len(raw) > 12 else 0
        if len(raw) >= 20 and offset >= 5 and offset * 4 <= len(raw):  # well-formed
            full = offset * 4 == len(raw)
            raise CheckFailed(
                "a header that fills the whole segment (no payload) is valid: data_offset * "
                "4 == len(segment) is allowed (RFC 9293 §3.1: the data may be empty)" if full
                else f"a well-formed segment must parse: data_offset {offset} (the 4-bit field "
                f"in the high nibble of byte 12: a {offset * 4}-byte header) in a "
                f"{len(raw)}-byte segment (RFC 9293 §3.1)", input=_hex(raw),
                expected=f"the parsed header, data_offset {offset}",
                got=f"ValueError: {str(exc)[:200]}",
                hint="reject only data_offset * 4 > len(segment)" if full else
                "data_offset is 4 bits wide (values 5 to 15)" if offset >= 8 else None
            ) from None
        raise


def _compare_fields(ctx: Context, raw: bytes, rule: str) -> None:
    want = parse_tcp(raw)
    got = _parse(ctx, raw)
    expect = {"src_port": want.src_port, "dst_port": want.dst_port, "seq": want.seq,
              "ack": want.ack, "data_offset": want.data_offset, "flags": want.flags & 0xFF,
              "window": want.window, "checksum": want.checksum, "urgent": want.urgent,
              "options": raw[20:want.data_offset * 4], "payload": want.payload}
    wrong = []
    for key, value in expect.items():
        actual = getattr(got, key, "<missing>")
        if actual != value:
            wrong.append((key, value, actual))
    if wrong:
        hint = None
        keys = {k for k, _, _ in wrong}
        if keys & {"payload", "options"} and getattr(got, "payload", None) == raw[20:]:
            hint = ("the payload starts after the options, at data_offset * 4 bytes, not at "
                    "byte 20: the data offset field (the top 4 bits of byte 12) counts "
                    "32-bit words")
        elif "data_offset" in keys:
            hint = "the data offset is the top 4 bits of byte 12, in 32-bit words"
        elif "seq" in keys or "ack" in keys:
            hint = "sequence and acknowledgment numbers are 32-bit big-endian (network order)"
        elif "flags" in keys:
            hint = "the flags are byte 13: CWR ECE URG ACK PSH RST SYN FIN from bit 7 to bit 0"
        raise CheckFailed(rule, input=_hex(raw, 80),
                          expected=", ".join(f"{k}={v!r}" for k, v, _ in wrong),
                          got=", ".join(f"{k}={a!r}" for k, _, a in wrong), hint=hint)


def check_fields(ctx: Context) -> None:
    cases = [
        (443, 51234, 0, 0, SYN, 64240, b"", 0),
        (51234, 443, 0xFFFFFFFF, 0x80000001, ACK | PSH, 501, b"hello, world", 0),
        (1, 65535, 0x12345678, 0x9ABCDEF0, ACK | URG, 0, b"!" * 33, 7),
    ]
    for sport, dport, seq, ack, flags, window, payload, urgent in cases:
        raw = build_tcp(SRC, DST, sport, dport, seq, ack, flags, window, payload, b"", urgent)
        _compare_fields(ctx, raw, "every field of the fixed header, in network byte order "
                        "(RFC 9293 §3.1, Figure 1)")


def check_flags(ctx: Context) -> None:
    for flags in (SYN, SYN | ACK, ACK, FIN | ACK, RST, PSH | ACK, FIN | PSH | ACK,
                  ECE | CWR | SYN, URG | ACK, 0xFF):
        raw = build_tcp(SRC, DST, 80, 8080, 1000, 2000, flags, 1024)
        _compare_fields(ctx, raw, "flags: byte 13 holds CWR ECE URG ACK PSH RST SYN FIN "
                        "(RFC 9293 §3.1; FIN = 0x01 ... CWR = 0x80)")


def check_data_offset(ctx: Context) -> None:
    option_sets = [
        (MSSOption(1460),),
        (MSSOption(1460), SackPermittedOption(), TimestampOption(123456, 0), NopOption(),
         WindowScaleOption(7)),
        (NopOption(), NopOption(), TimestampOption(99, 1234567)),
    ]
    for opts in option_sets:
        raw = build_tcp(SRC, DST, 40000, 80, 7, 9, ACK | PSH, 2000, b"payload after options",
                        encode_options(opts))
        _compare_fields(ctx, raw, "the header is data_offset * 4 bytes long: options fill "
                        "bytes 20 .. data_offset*4 and the payload begins after them "
                        "(RFC 9293 §3.1, Data Offset)")


def check_malformed(ctx: Context) -> None:
    fn = ctx.get("parse_tcp_header")
    good = build_tcp(SRC, DST, 1, 2, 3, 4, ACK, 5, b"abcdefgh")
    bad_offset_small = good[:12] + bytes([0x40 | (good[12] & 0x0F)]) + good[13:]
    bad_offset_big = good[:12] + bytes([0xF0 | (good[12] & 0x0F)]) + good[13:]
    cases = [
        (good[:19], "19 bytes: shorter than the 20-byte fixed header"),
        (b"", "no bytes at all"),
        (bad_offset_small, "data offset 4 (16 bytes): below the minimum of 5"),
        (bad_offset_big, "data offset 15 (60 bytes) but the segment has only 28 bytes"),
    ]
    for raw, what in cases:
        ctx.step(f"parse_tcp_header({_hex(raw)})   # {what}")
        try:
            fn(raw)
        except ValueError as exc:
            ctx.step(f"  raised ValueError: {exc}")
            continue
        except Exception as exc:  # noqa: BLE001 - the wrong kind of exception
            raise CheckFailed("a malformed segment must raise ValueError (a parser never "
                              "crashes on bad input)", input=what,
                              expected="ValueError", got=f"{type(exc).__name__}: {exc}",
                              hint="check the length and the data offset before unpacking"
                              ) from None
        raise CheckFailed("a malformed segment must be rejected with ValueError",
                          input=what, expected="ValueError", got="it returned normally",
                          hint="5 <= data_offset and data_offset * 4 <= len(segment)")


def check_tcp_checksum(ctx: Context) -> None:
    fn = ctx.get("tcp_checksum_ok")
    rng = random.Random(9293)
    for n in (0, 1, 2, 3, 1448, 1449):
        payload = rng.randbytes(n)
        raw = build_tcp(SRC, DST, 5001, 40000, rng.getrandbits(32), rng.getrandbits(32),
                        ACK | PSH, 65535, payload, encode_options((MSSOption(1400),)))
        got = fn(str(SRC), str(DST), raw)
        ctx.step(f"tcp_checksum_ok('{SRC}', '{DST}', <{len(raw)}-byte segment, {n} payload "
                 f"bytes>) -> {got!r}")
        if got is not True:
            raise CheckFailed("a segment with a correct checksum verifies: the sum covers "
                              "the pseudo-header (source, destination, zero, protocol 6, "
                              "TCP length), the header and the data (RFC 9293 §3.1)",
                              input=_hex(raw), expected="True", got=repr(got),
                              hint="the pseudo-header's TCP length is the whole segment's "
                              "length (header and data) before padding; an odd segment is "
                              "padded with one zero byte for the sum only" if n % 2 else None)
        flipped = bytearray(raw)
        flipped[rng.randrange(len(raw))] ^= 1 << rng.randrange(8)
        got = fn(str(SRC), str(DST), bytes(flipped))
        ctx.step(f"  the same with one bit flipped -> {got!r}")
        if got is not False:
            raise CheckFailed("one flipped bit must fail the checksum", input=_hex(bytes(flipped)),
                              expected="False", got=repr(got))
        got = fn(str(SRC), "198.51.100.8", raw)
        ctx.step(f"  the same segment claimed for 198.51.100.8 -> {got!r}")
        if got is not False:
            raise CheckFailed("the checksum covers the pseudo-header: another destination "
                              "address must fail (RFC 9293 §3.1)", input=_hex(raw),
                              expected="False", got=repr(got),
                              hint="include source and destination addresses, protocol and "
                              "TCP length in the sum")


def check_simulation(ctx: Context) -> None:
    """Every TCP segment of a simulated transfer, parsed and verified by the student."""
    from netsim.sim.link import LinkConfig
    from netsim.sim.scenario import BulkScenario, run_bulk
    from netsim.wire.ethernet import ETHERTYPE_IPV4, parse_ethernet
    from netsim.wire.ipv4 import PROTO_TCP, parse_ipv4
    from netsim.wire.pcap import PcapReader

    parse = ctx.get("parse_tcp_header")
    ok = ctx.get("tcp_checksum_ok")
    with tempfile.TemporaryDirectory() as tmp:
        pcap = Path(tmp) / "transfer.pcap"
        res = run_bulk(BulkScenario(bytes=60_000, link=LinkConfig(delay=0.005, rate_bps=10e6),
                                    seed=7, pcap=pcap))
        ctx.step(f"run_bulk(60 kB) -> intact={res.intact}; capture in transfer.pcap")
        count = 0
        for rec in PcapReader(pcap):
            eth = parse_ethernet(rec.frame)
            if eth.ethertype != ETHERTYPE_IPV4:
                continue
            ip = parse_ipv4(eth.payload)
            if ip.protocol != PROTO_TCP:
                continue
            count += 1
            seg = parse_tcp(ip.payload)
            got = parse(ip.payload)
            for key in ("seq", "ack", "data_offset", "window"):
                if getattr(got, key, None) != getattr(seg, key):
                    ctx.step(f"segment {count}: {key} {getattr(got, key, None)!r}")
                    raise CheckFailed(f"segment {count} of a simulated transfer parsed wrong "
                                      f"({key})", input=_hex(ip.payload, 64),
                                      expected=repr(getattr(seg, key)),
                                      got=repr(getattr(got, key, None)))
            if getattr(got, "payload", None) != seg.payload:
                raise CheckFailed(f"segment {count} of a simulated transfer: wrong payload "
                                  "(timestamps options make every header 32 bytes)",
                                  input=_hex(ip.payload, 64),
                                  expected=f"{len(seg.payload)} payload bytes",
                                  got=f"{len(getattr(got, 'payload', b'') or b'')} bytes")
            if ok(str(ip.src), str(ip.dst), ip.payload) is not True:
                raise CheckFailed(f"segment {count} of a simulated transfer fails your "
                                  "checksum check, but its checksum is correct",
                                  input=_hex(ip.payload, 64), expected="True", got="False")
        ctx.step(f"{count} TCP segments parsed and verified")


ASSIGNMENT = Assignment(
    name="01-checksum-tcp-parsing",
    title="The internet checksum and the TCP header",
    filename="tcp_parsing.py",
    target="",
    reference="netsim.wire.checksum:internet_checksum,reference_checksum",
    checks=(
        Check("checksum_rfc1071_example", 1, check_rfc1071_example,
              "the worked example of RFC 1071 §3 gives 0x220d"),
        Check("checksum_end_around_carry", 2, check_end_around_carry,
              "carries out of bit 15 are added back (end-around carry, RFC 1071)"),
        Check("checksum_odd_length", 2, check_odd_length,
              "an odd last byte is padded with a zero on the right (RFC 1071 §1)"),
        Check("checksum_random", 2, check_random, "300 random buffers agree with RFC 1071"),
        Check("checksum_verifies_to_zero", 1, check_verifies_to_zero,
              "over a header holding its correct checksum, the result is 0"),
        Check("tcp_fields", 2, check_fields,
              "ports, seq, ack, window, checksum, urgent in network order (RFC 9293 §3.1)"),
        Check("tcp_flags", 1, check_flags, "the eight flags of byte 13"),
        Check("tcp_data_offset", 2, check_data_offset,
              "data offset: options, then the payload at data_offset*4"),
        Check("tcp_malformed", 2, check_malformed,
              "short segments and bad data offsets raise ValueError"),
        Check("tcp_checksum", 2, check_tcp_checksum,
              "the TCP checksum with its pseudo-header; odd lengths; bit flips detected"),
        Check("random_sequences", 3, differential_check("01-checksum-tcp-parsing"),
              "random call sequences: after every call the same answers as the reference",
              kind="random"),
        Check("simulation_capture", 2, check_simulation,
              "every segment of a simulated transfer parses and verifies", kind="simulation"),
    ),
)
