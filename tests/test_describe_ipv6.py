"""`netsim pcap -v` on IPv6 (netsim/wire/describe6.py): every header field of the IPv6,
extension, ICMPv6/ND, TCP and UDP headers netsim builds, checked against tshark's decoding of
the same frames, and bad checksums named with the value they should hold."""

from __future__ import annotations

import re
import shutil
import subprocess
from ipaddress import IPv6Address
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_summary_ipv6 import G1, G2, M1, M2, frame, frames

from netsim.wire import icmpv6
from netsim.wire.ethernet import ETHERTYPE_IPV6, build_ethernet
from netsim.wire.ipv6 import build_ipv6
from netsim.wire.pcap import PcapWriter
from netsim.wire.summary import describe
from netsim.wire.udp import build_udp

FIELDS = ("ipv6.plen", "ipv6.nxt", "ipv6.hlim", "ipv6.tclass", "icmpv6.type", "icmpv6.code",
          "icmpv6.nd.ns.target_address", "icmpv6.nd.na.target_address", "icmpv6.nd.na.flag.s",
          "icmpv6.mtu", "icmpv6.opt.mtu", "icmpv6.opt.prefix", "icmpv6.echo.identifier",
          "tcp.srcport", "tcp.seq_raw", "udp.dstport", "ipv6.fraghdr.offset", "ipv6.fraghdr.ident")


def _first(pattern: str, text: str) -> str:
    m = re.search(pattern, text)
    return m.group(1) if m else ""


def _ours(text: str) -> list[str]:
    """The same fields read from describe()'s text, in FIELDS' order."""
    v6 = text.split("IPv6, ", 1)[1]
    na = "neighbor advertisement" in text
    return [
        _first(r"payload length (\d+)", v6),
        _first(r"payload length \d+  next header (\d+)", v6),
        _first(r"hop limit (\d+)", v6),
        str(int(_first(r"traffic class 0x(\w\w)", v6), 16)),
        _first(r"ICMPv6, \d+ bytes\n  type (\d+)", text),
        _first(r"ICMPv6, \d+ bytes\n  type \d+ \([^)]*\)  code (\d+)", text),
        "" if na else _first(r"\n  target (\S+)", text),
        _first(r"\n  target (\S+)", text) if na else "",
        _first(r"solicited (\d)", text),
        _first(r"  MTU (\d+)", text),
        _first(r"option 5 \(MTU\) (\d+)", text),
        _first(r"prefix information\) (\S+)/", text),
        _first(r"identifier (\d+)", text),
        _first(r"TCP, \d+ bytes\n  src port (\d+)", text),
        _first(r"\n  seq (\d+)", text),
        _first(r"UDP, \d+ bytes\n  src port \d+  dst port (\d+)", text)
        or _first(r"\(UDP\), hop limit \d+, ports \d+ > (\d+)", text),  # tshark reads the quote
        _first(r"fragment offset (\d+)", v6),
        str(int(_first(r"identification 0x(\w+)", v6), 16))
        if "identification 0x" in v6 else "",
    ]


def _tshark_value(field: str, raw: str) -> str:
    first = raw.split(",")[0]
    if field == "icmpv6.nd.na.flag.s" and first:
        return "1" if first in ("1", "True") else "0"
    if first.startswith("0x"):  # tshark shows some numbers in hex
        return str(int(first, 16))
    return first


def test_every_field_agrees_with_tshark(tmp_path: Path) -> None:
    tshark = shutil.which("tshark")
    if tshark is None:
        pytest.skip("tshark is not installed (see README: Dependencies)")
    built = frames()
    path = tmp_path / "v6.pcap"
    with PcapWriter(path) as writer:
        for i, f in enumerate(built):
            writer.write(float(i), f)
    cmd = [tshark, "-r", str(path), "-T", "fields", "-E", "separator=|",
           "-o", "ipv6.defragment:FALSE"]
    for f in FIELDS:
        cmd += ["-e", f]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    rows = [line.split("|") for line in proc.stdout.rstrip("\n").split("\n")]
    assert len(rows) == len(built)
    for f, row in zip(built, rows, strict=True):
        text = describe(f)
        assert "malformed" not in text and "internal error" not in text, text
        theirs = [_tshark_value(name, raw) for name, raw in zip(FIELDS, row, strict=True)]
        ours = _ours(text)
        # tshark reports a fragment offset in 8-byte units; a later fragment carries no
        # upper-layer header, so its ports are not read by either
        for name, a, b in zip(FIELDS, ours, theirs, strict=True):
            if name == "ipv6.fraghdr.offset" and b and a:
                assert int(a) in (int(b), int(b) * 8), (name, a, b, text)
            else:
                assert a == b, (name, a, b, text)


def test_every_icmpv6_checksum_netsim_builds_is_correct_and_a_bad_one_is_named() -> None:
    for f in frames():
        text = describe(f)
        assert "incorrect" not in text, text
    good = frame(G1, G2, 58, icmpv6.echo(128, 7, 1, b"abc").build(G1, G2))
    bad = bytearray(good)
    bad[14 + 40 + 2] ^= 0xFF
    text = describe(bytes(bad))
    stored = int.from_bytes(bad[56:58], "big")
    assert f"checksum 0x{stored:04x} (incorrect, should be 0x" \
           f"{int.from_bytes(good[56:58], 'big'):04x})" in text


def test_a_zero_udp_checksum_is_invalid_over_ipv6() -> None:
    dgram = bytearray(build_udp(G1, G2, 5000, 9, b"hi"))
    dgram[6:8] = b"\x00\x00"
    text = describe(frame(G1, G2, 17, bytes(dgram)))
    assert "checksum 0x0000 (invalid over IPv6" in text


def test_the_quoted_packet_of_an_error_and_ecn_are_shown() -> None:
    inner = build_ipv6(G1, G2, 17, build_udp(G1, G2, 5000, 33434, b"x"), hop_limit=1)
    text = describe(frame(G2, G1, 58, icmpv6.error(3, 0, inner).build(G2, G1)))
    assert "type 3 (time exceeded)  code 0 (hop limit exceeded in transit)" in text
    assert "quoted packet 49 bytes: IPv6 2001:db8::1 > 2001:db8::2, next header 17 (UDP), " \
           "hop limit 1, ports 5000 > 33434" in text
    ce = build_ethernet(M2, M1, ETHERTYPE_IPV6, build_ipv6(
        G1, G2, 17, build_udp(G1, G2, 1, 2, b""), traffic_class=0x03))
    assert "traffic class 0x03 (dscp 0  ecn 3 (CE))" in describe(ce)


def test_a_truncated_ipv6_header_is_named_with_a_hex_dump() -> None:
    good = frame(G1, G2, 17, build_udp(G1, G2, 5000, 9, b"hello"))
    text = describe(good[:14 + 30])
    assert "malformed: IPv6: truncated header: 30 of 40 bytes" in text
    assert "  0000  60 00 00 00" in text


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=160), st.sampled_from([0, 6, 17, 43, 44, 58, 60, 99]))
def test_any_ipv6_payload_describes_without_raising(payload: bytes, nh: int) -> None:
    raw = build_ethernet(M2, M1, ETHERTYPE_IPV6, build_ipv6(
        IPv6Address("fe80::1"), G2, nh, payload))
    assert "internal error" not in describe(raw)
    assert "internal error" not in describe(build_ethernet(M2, M1, ETHERTYPE_IPV6, payload))
