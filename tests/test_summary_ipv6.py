"""IPv6 lines of `summarize` (netsim/wire/summary6.py) against the installed tcpdump: every
kind of IPv6, ICMPv6 and ND frame netsim builds prints as ``tcpdump -nn -S -t`` prints it."""

from __future__ import annotations

import shutil
import subprocess
from ipaddress import IPv6Address
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netsim.wire import icmpv6, ipv6, nd
from netsim.wire.ethernet import ETHERTYPE_IPV6, build_ethernet
from netsim.wire.ipv6 import build_ipv6, fragment_header, options_header, routing_header
from netsim.wire.mac import MacAddress
from netsim.wire.pcap import PcapWriter
from netsim.wire.summary import summarize
from netsim.wire.tcp import (
    ACK,
    NOP,
    PSH,
    RST,
    SACK_PERMITTED,
    SYN,
    MSSOption,
    TimestampOption,
    WindowScaleOption,
    build_tcp,
    encode_options,
)
from netsim.wire.udp import build_udp

M1, M2 = MacAddress("02:00:00:00:00:01"), MacAddress("02:00:00:00:00:02")
L1, L2 = ipv6.link_local(M1), ipv6.link_local(M2)
G1, G2 = IPv6Address("2001:db8::1"), IPv6Address("2001:db8::2")


def frame(src: IPv6Address, dst: IPv6Address, nh: int, payload: bytes, hl: int = 64) -> bytes:
    return build_ethernet(M2, M1, ETHERTYPE_IPV6, build_ipv6(src, dst, nh, payload,
                                                              hop_limit=hl))


def icmp(src: IPv6Address, dst: IPv6Address, msg: icmpv6.ICMPv6Message, hl: int = 64) -> bytes:
    return frame(src, dst, 58, msg.build(src, dst), hl)


def frames() -> list[bytes]:
    sn = ipv6.solicited_node(L2)
    udp = build_ipv6(G1, G2, 17, build_udp(G1, G2, 5000, 9, b"hello"))
    dgram = build_udp(G1, G2, 5000, 9, b"hello")
    out = [
        icmp(L1, sn, nd.NeighborSolicitation(L2, (nd.LinkLayerOption(1, M1),)).message(), 255),
        icmp(ipv6.UNSPECIFIED, sn, nd.NeighborSolicitation(L2).message(), 255),
        icmp(L2, L1, nd.NeighborAdvertisement(L2, False, True, True, (
            nd.LinkLayerOption(2, M2),)).message(), 255),
        icmp(L1, ipv6.ALL_ROUTERS, nd.RouterSolicitation((
            nd.LinkLayerOption(1, M1),)).message(), 255),
        icmp(L2, ipv6.ALL_NODES, nd.RouterAdvertisement(64, False, False, 1800, 0, 0, (
            nd.LinkLayerOption(1, M2), nd.MTUOption(1500), nd.PrefixInformation(
                64, True, True, 86400, 14400, IPv6Address("2001:db8::")))).message(), 255),
        icmp(G1, G2, icmpv6.echo(128, 0x1234, 1, bytes(56))),
        icmp(G2, G1, icmpv6.echo(129, 0x1234, 1, bytes(56))),
        icmp(G2, G1, icmpv6.error(2, 0, udp, 1280)),
        icmp(G2, G1, icmpv6.error(3, 0, udp)),
        icmp(G2, G1, icmpv6.error(3, 1, udp)),
        frame(G1, G2, 17, dgram),
        frame(G1, G2, 0, options_header(17, [(5, b"\x00\x00")]) + dgram),
        frame(G1, G2, 60, options_header(58, []) + icmpv6.echo(128, 1, 2, b"x").build(G1, G2)),
        frame(G1, G2, 44, fragment_header(17, 0, True, 77) + dgram),
        frame(G1, G2, 44, fragment_header(17, 1448, False, 77) + b"abcdefgh"),
        frame(G1, G2, 43, routing_header(17, 0, 0) + dgram),
        frame(G1, G2, 59, b""),
        frame(G1, G2, 99, b"abc"),
    ]
    out += [icmp(G2, G1, icmpv6.error(1, code, udp)) for code in (0, 1, 3, 4)]
    out += [icmp(G2, G1, icmpv6.error(4, code, udp, 6 + code)) for code in (0, 1, 2)]
    # TCP over IPv6: a SYN with netsim's options, a data segment, a RST
    syn_opts = encode_options([MSSOption(1440), SACK_PERMITTED, TimestampOption(7, 0), NOP,
                               WindowScaleOption(5)])
    out += [frame(G1, G2, 6, build_tcp(G1, G2, 49152, 7, 1000, 0, SYN, 65535, b"", syn_opts)),
            frame(G2, G1, 6, build_tcp(G2, G1, 7, 49152, 5, 1001, ACK | PSH, 512, b"hello")),
            frame(G2, G1, 6, build_tcp(G2, G1, 7, 49152, 0, 1001, RST | ACK, 0))]
    return out


def test_ipv6_lines_match_tcpdump(tmp_path: Path) -> None:
    tcpdump = shutil.which("tcpdump")
    if tcpdump is None:
        pytest.skip("tcpdump is not installed")
    path = tmp_path / "v6.pcap"
    built = frames()
    with PcapWriter(path) as writer:
        for i, f in enumerate(built):
            writer.write(float(i), f)
    proc = subprocess.run([tcpdump, "-nn", "-S", "-t", "-r", str(path)], capture_output=True,
                          text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    want = [line.rstrip() for line in proc.stdout.split("\n") if line and line[0] != "\t"]
    assert [summarize(f) for f in built] == want


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=120))
def test_any_ipv6_payload_summarizes_without_raising(payload: bytes) -> None:
    line = summarize(build_ethernet(M2, M1, ETHERTYPE_IPV6, payload))
    assert line.startswith("IP6 ")
