"""tcpdump-style one-line summaries and the field-by-field view.

The reference is tcpdump itself: every frame of a real Linux capture must summarise exactly as
tcpdump printed it, and frames we build (ARP, ICMP errors, UDP, odd TCP flags and options,
fragments) must match what the installed tcpdump prints for them.
"""

from __future__ import annotations

import struct
import subprocess
from collections.abc import Callable
from ipaddress import IPv4Address
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netsim.wire import icmp, vlan
from netsim.wire.arp import ArpPacket
from netsim.wire.ethernet import ETHERTYPE_ARP, ETHERTYPE_IPV4, build_ethernet
from netsim.wire.ipv4 import PROTO_ICMP, PROTO_TCP, PROTO_UDP, build_ipv4
from netsim.wire.mac import MacAddress
from netsim.wire.pcap import PcapWriter, read_pcap
from netsim.wire.summary import describe, summarize, tcp_options_text, tcpdump_flags
from netsim.wire.tcp import (
    ACK,
    AE,
    CWR,
    ECE,
    EOL,
    FIN,
    NOP,
    PSH,
    RST,
    SACK_PERMITTED,
    SYN,
    URG,
    MSSOption,
    SackOption,
    TimestampOption,
    UnknownOption,
    WindowScaleOption,
    build_tcp,
    encode_options,
)
from netsim.wire.udp import build_udp

CAPTURES = Path(__file__).resolve().parent / "data" / "captures"  # from shared/captures
REFERENCE = CAPTURES / "linux-nc-lossy.pcap"
REFERENCE_TEXT = CAPTURES / "linux-nc-lossy.tcpdump.txt"

MAC_A, MAC_B = MacAddress("02:00:00:00:00:01"), MacAddress("02:00:00:00:00:02")
IP_A, IP_B = IPv4Address("10.0.0.1"), IPv4Address("10.0.0.2")
ROUTER, FAR = IPv4Address("10.0.0.254"), IPv4Address("10.0.9.9")


def eth(payload: bytes, ethertype: int = ETHERTYPE_IPV4, pad: bool = False) -> bytes:
    return build_ethernet(MAC_B, MAC_A, ethertype, payload, pad=pad)


def ip_frame(proto: int, payload: bytes, src: IPv4Address = IP_A, dst: IPv4Address = IP_B,
             **kw: object) -> bytes:
    return eth(build_ipv4(src, dst, proto, payload, **kw))  # type: ignore[arg-type]


def tcp_frame(flags: int, payload: bytes = b"", options: bytes = b"", seq: int = 1000,
              ack: int = 0, window: int = 65535, urgent: int = 0) -> bytes:
    options += bytes(-len(options) % 4)
    return ip_frame(PROTO_TCP, build_tcp(IP_A, IP_B, 40000, 7, seq, ack, flags, window, payload,
                                         options, urgent))


def icmp_frame(msg: icmp.ICMPMessage, src: IPv4Address = ROUTER) -> bytes:
    return ip_frame(PROTO_ICMP, msg.build(), src=src, dst=IP_A)


def syn_options() -> bytes:
    return encode_options([MSSOption(1460), SACK_PERMITTED, TimestampOption(1, 0), NOP,
                           WindowScaleOption(7)])


def probe_udp() -> bytes:
    """A traceroute probe as a router would quote it in an ICMP error."""
    return build_ipv4(IP_A, FAR, PROTO_UDP, build_udp(IP_A, FAR, 40000, 33434, b"x" * 12), ttl=1)


def generated_frames() -> list[bytes]:
    """Frames covering what netsim sends and receives, plus odd corners tcpdump has opinions on."""
    quoted_tcp = build_ipv4(IP_A, FAR, PROTO_TCP, build_tcp(IP_A, FAR, 40000, 80, 1, 0, SYN, 100))
    frames = [
        # TCP flags, one combination per frame
        tcp_frame(SYN, options=syn_options()),
        tcp_frame(SYN | ACK, ack=77, options=syn_options()),
        tcp_frame(FIN | ACK, ack=5),
        tcp_frame(FIN | PSH | ACK, b"x" * 10, ack=5),
        tcp_frame(RST),
        tcp_frame(RST | ACK, ack=77),
        tcp_frame(URG | ACK, b"abc", ack=5, urgent=3),
        tcp_frame(SYN | ECE | CWR),
        tcp_frame(ECE | ACK, ack=1),
        tcp_frame(CWR | PSH | ACK, b"data", ack=1),
        tcp_frame(AE | ACK, ack=1),
        tcp_frame(0),
        tcp_frame(SYN | FIN | RST | PSH | ACK | URG | ECE | CWR, b"!", ack=3, urgent=1),
        tcp_frame(ACK, b"y" * 1448, seq=0xFFFFFF00, ack=0xFFFFFFFF),  # sequence wraps
        # TCP options
        tcp_frame(ACK, ack=9, options=encode_options([NOP, NOP, SackOption(((1, 2), (3, 4)))])),
        tcp_frame(ACK, ack=9, options=encode_options(
            [NOP, NOP, TimestampOption(7, 8), NOP, NOP,
             SackOption(((10, 20), (30, 40), (50, 60)))])),
        tcp_frame(ACK, ack=9, options=encode_options([UnknownOption(99, b"\x01\x02"), EOL])),
        tcp_frame(ACK, ack=9, options=encode_options([UnknownOption(15, b""), NOP])),
        tcp_frame(ACK, ack=9, options=b"\x02\x05\x05\xb4\x03\x03\x07\x00"),  # mss [len 5]
        tcp_frame(ACK, ack=9, options=b"\x04\x03\x00"),  # sackOK [len 3]
        tcp_frame(ACK, ack=9, options=b"\x05\x06\x00\x00\x00\x01"),  # invalid sack
        tcp_frame(ACK, ack=9, options=b"\x01\x02\x00\x00"),  # bad opt after nop
        tcp_frame(ACK, ack=9, options=b"\x08\x08\x00\x00\x00\x01\x00\x00"),  # TS runs out
        tcp_frame(ACK, ack=9, options=b"\x1c\x04\x00\x03"),  # user timeout, minutes
        tcp_frame(ACK, ack=9, options=b"\x22\x02"),  # fast open cookie request
        tcp_frame(ACK, ack=9, options=b"\x22\x0a" + bytes(range(8))),  # fast open cookie
        tcp_frame(ACK, ack=9, options=b"\xfe\x04\xf9\x89"),  # experimental TFO
        tcp_frame(ACK, ack=9, options=b"\xfe\x06\x12\x34\x56\x78"),  # experimental, other
        tcp_frame(ACK, ack=9, options=b"\x06\x06\x00\x00\x00\x07"),  # RFC 1072 echo
        tcp_frame(ACK, ack=9, options=b"\x01\x00\x01\x01"),  # nop, eol, padding
        tcp_frame(ACK, ack=9, options=b"\x13\x12" + bytes(range(16))),  # MD5 signature
        tcp_frame(ACK, ack=9, options=b"\x01\x13\x04\x00"),  # MD5, too short: bad opt
        tcp_frame(ACK, ack=9, options=b"\x1d\x04\x01\x02"),  # TCP-AO without MAC
        tcp_frame(ACK, ack=9, options=b"\x1d\x08\x01\x02\xaa\xbb\xcc\xdd"),  # TCP-AO
        tcp_frame(ACK, ack=9, options=b"\x1d\x03\x01\x00"),  # TCP-AO, invalid
        # UDP
        ip_frame(PROTO_UDP, build_udp(IP_A, IP_B, 33434, 33435, b"x" * 12)),
        ip_frame(PROTO_UDP, build_udp(IP_A, IP_B, 5000, 7, b"")),
        # ICMP
        icmp_frame(icmp.echo(icmp.ECHO_REQUEST, 1, 1, bytes(56)), src=IP_B),
        icmp_frame(icmp.echo(icmp.ECHO_REPLY, 65535, 65535, b""), src=IP_B),
        icmp_frame(icmp.error(icmp.TIME_EXCEEDED, icmp.TTL_EXCEEDED, probe_udp())),
        icmp_frame(icmp.error(icmp.TIME_EXCEEDED, icmp.REASSEMBLY_EXCEEDED, probe_udp())),
        icmp_frame(icmp.error(icmp.TIME_EXCEEDED, 7, probe_udp())),
        icmp_frame(icmp.error(icmp.DEST_UNREACHABLE, icmp.UNREACH_PORT, quoted_tcp)),
        icmp_frame(icmp.error(icmp.DEST_UNREACHABLE, icmp.UNREACH_PORT,
                              build_ipv4(IP_A, FAR, 47, bytes(8)))),
        icmp_frame(icmp.error(icmp.DEST_UNREACHABLE, icmp.UNREACH_FRAG_NEEDED, probe_udp())),
        icmp_frame(icmp.error(icmp.SOURCE_QUENCH, 0, probe_udp())),
        icmp_frame(icmp.error(icmp.PARAMETER_PROBLEM, 0, probe_udp())._replace(
            rest=b"\x08\x00\x00\x00")),
        icmp_frame(icmp.error(icmp.PARAMETER_PROBLEM, 2, probe_udp())),
        icmp_frame(icmp.ICMPMessage(9, 0, b"\x02\x02\x1c\x20",
                                    ROUTER.packed + bytes(4) + IP_B.packed + b"\x00\x00\x00\x05")),
        icmp_frame(icmp.ICMPMessage(9, 0, b"\x01\x02\x00\x2d", ROUTER.packed + bytes(4))),
        icmp_frame(icmp.ICMPMessage(13, 0, b"\x00\x01\x00\x02", bytes(12))),
        icmp_frame(icmp.ICMPMessage(14, 0, b"\x00\x01\x00\x02",
                                    struct.pack("!III", 3723004, 43200000, 86399999))),
        icmp_frame(icmp.ICMPMessage(18, 0, b"\x00\x01\x00\x02", b"\xff\xff\xff\x00")),
        # ARP, bare and padded to the Ethernet minimum
        eth(ArpPacket.request(MAC_A, IP_A, IP_B).build(), ETHERTYPE_ARP),
        eth(ArpPacket.request(MAC_A, IP_A, IP_B).build(), ETHERTYPE_ARP, pad=True),
        eth(ArpPacket.reply(MAC_B, IP_B, MAC_A, IP_A).build(), ETHERTYPE_ARP, pad=True),
        eth(ArpPacket.request(MAC_A, IP_A, IP_A).build(), ETHERTYPE_ARP),  # gratuitous
        eth(ArpPacket(1, MAC_A, IP_A, MAC_B, IP_B).build(), ETHERTYPE_ARP),  # target MAC known
        # IPv4 fragments and protocols netsim does not speak
        ip_frame(PROTO_UDP, build_udp(IP_A, IP_B, 5000, 5001, b"x" * 100)[:48], mf=True,
                 identification=7),
        ip_frame(PROTO_UDP, b"x" * 48, fragment_offset=48, identification=7),
        ip_frame(PROTO_TCP, b"x" * 48, fragment_offset=1480, identification=8, mf=True),
        ip_frame(99, b"x" * 8),
        ip_frame(253, b""),
        # IPv4 options and TOS bits do not change the one-line summary
        ip_frame(PROTO_UDP, build_udp(IP_A, IP_B, 1, 2, b"hi"), options=b"\x94\x04\x00\x00",
                 dscp=46, ecn=3, df=True, ttl=1),
        # an EtherType netsim does not decode
        eth(bytes(46), 0x1234),
    ]
    # 802.1Q-tagged frames (tcpdump without -e prints what the tag carries): ARP, TCP, a
    # priority tag (VID 0), a double tag, an 802.1ad S-tag
    frames += [vlan.tag(frames[0], 10), vlan.tag(frames[-10], 4094, pcp=7),
               vlan.tag(frames[2], 0, pcp=5), vlan.tag(vlan.tag(frames[-10], 20), 30),
               frames[0][:12] + b"\x88\xa8\x00\x64" + frames[0][12:]]
    for code in range(16):  # every destination-unreachable code tcpdump names
        frames.append(icmp_frame(icmp.error(icmp.DEST_UNREACHABLE, code, probe_udp(),
                                            next_hop_mtu=1400 if code == 4 else 0)))
    for type_ in (10, 15, 16, 17, 19, 40, 255):  # other and unknown ICMP types
        frames.append(icmp_frame(icmp.ICMPMessage(type_, 0, b"\x00\x01\x00\x02", bytes(12))))
    for code in range(5):  # redirects
        frames.append(icmp_frame(icmp.error(icmp.REDIRECT, code, probe_udp())._replace(
            rest=ROUTER.packed)))
    return frames


def tcpdump_lines(tcpdump: str, path: Path, *extra: str) -> list[str]:
    """tcpdump's line for each frame, without timestamp (its hex-dump lines dropped)."""
    proc = subprocess.run([tcpdump, "-nn", "-S", "-t", *extra, "-r", str(path)],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    return [line.rstrip() for line in proc.stdout.split("\n") if line and line[0] != "\t"]


def write(path: Path, frames: list[bytes]) -> Path:
    with PcapWriter(path) as writer:
        for i, frame in enumerate(frames):
            writer.write(float(i), frame)
    return path


# --- tcpdump as the reference ------------------------------------------------------------------


def test_every_frame_of_the_linux_capture_matches_tcpdump() -> None:
    if not (REFERENCE.exists() and REFERENCE_TEXT.exists()):
        pytest.skip(f"reference capture {REFERENCE} (and its .tcpdump.txt) is absent")
    expected = [line.split(" ", 1)[1] for line in REFERENCE_TEXT.read_text().splitlines()]
    records = read_pcap(REFERENCE)
    assert len(records) == len(expected) == 407
    mismatches = [f"frame {n}:\n  tcpdump: {want}\n  netsim:  {summarize(rec.frame)}"
                  for n, (rec, want) in enumerate(zip(records, expected, strict=True), 1)
                  if summarize(rec.frame) != want]
    assert not mismatches, "\n".join(mismatches[:10])


def test_generated_frames_match_installed_tcpdump(
        tmp_path: Path, require_tool: Callable[[str], str]) -> None:
    tcpdump = require_tool("tcpdump")
    frames = generated_frames()
    theirs = tcpdump_lines(tcpdump, write(tmp_path / "gen.pcap", frames))
    assert len(theirs) == len(frames)
    mismatches = []
    for n, (frame, want) in enumerate(zip(frames, theirs, strict=True), 1):
        ours = summarize(frame)
        if want.endswith(":") and "ethertype" in want:
            want = want[:-1]  # tcpdump follows this line with a hex dump; we stop at the length
        if ours != want:
            mismatches.append(f"frame {n}:\n  tcpdump: {want}\n  netsim:  {ours}")
    assert not mismatches, "\n".join(mismatches)


def test_flag_letters_match_tcpdump_for_all_256_combinations(
        tmp_path: Path, require_tool: Callable[[str], str]) -> None:
    tcpdump = require_tool("tcpdump")
    frames = [tcp_frame(flags, ack=1, urgent=0) for flags in range(256)]
    theirs = tcpdump_lines(tcpdump, write(tmp_path / "flags.pcap", frames))
    got = [line.split("Flags [", 1)[1].split("]", 1)[0] for line in theirs]
    assert got == [tcpdump_flags(flags) for flags in range(256)]
    assert [summarize(f) for f in frames] == theirs


def test_checksum_notes_agree_with_tcpdump_verbose(
        tmp_path: Path, require_tool: Callable[[str], str]) -> None:
    tcpdump = require_tool("tcpdump")
    tcp = bytearray(tcp_frame(PSH | ACK, b"payload", ack=1))
    tcp[14 + 20 + 16] ^= 0x5A
    udp = bytearray(ip_frame(PROTO_UDP, build_udp(IP_A, IP_B, 1, 2, b"hi")))
    udp[14 + 20 + 6] ^= 0x01
    ip = bytearray(ip_frame(PROTO_UDP, build_udp(IP_A, IP_B, 1, 2, b"hi")))
    ip[14 + 10] ^= 0xFF
    frames = [bytes(tcp), bytes(udp), bytes(ip)]
    # tcpdump checks UDP checksums only at -vv
    verbose = "\n".join(tcpdump_lines(tcpdump, write(tmp_path / "ck.pcap", frames), "-vv"))
    tcp_note = summarize(frames[0], verbose=True).rsplit(" [", 1)[1]
    udp_note = summarize(frames[1], verbose=True).rsplit(" [", 1)[1]
    ip_note = summarize(frames[2], verbose=True).rsplit(" [", 1)[1]
    # ours: "bad tcp cksum 0xSTORED -> 0xCORRECT!]"; tcpdump: "cksum 0xSTORED (incorrect -> 0x..)"
    stored, correct = tcp_note.removeprefix("bad tcp cksum ").removesuffix("!]").split(" -> ")
    assert f"cksum {stored} (incorrect -> {correct})" in verbose
    stored, correct = udp_note.removeprefix("bad udp cksum ").removesuffix("!]").split(" -> ")
    assert f"[bad udp cksum {stored} -> {correct}!]" in verbose
    stored, correct = ip_note.removeprefix("bad ip cksum ").removesuffix("!]").split(" -> ")
    assert f"bad cksum {stored[2:].lstrip('0')} (->{correct[2:].lstrip('0')})!" in verbose


# --- behaviour that needs no external tool --------------------------------------------------------


def test_examples_from_the_specification() -> None:
    assert summarize(tcp_frame(SYN, options=syn_options())) == (
        "IP 10.0.0.1.40000 > 10.0.0.2.7: Flags [S], seq 1000, win 65535, "
        "options [mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7], length 0")
    assert summarize(eth(ArpPacket.request(MAC_A, IP_A, IP_B).build(), ETHERTYPE_ARP)) == (
        "ARP, Request who-has 10.0.0.2 tell 10.0.0.1, length 28")
    assert summarize(eth(ArpPacket.reply(MAC_B, IP_B, MAC_A, IP_A).build(), ETHERTYPE_ARP)) == (
        "ARP, Reply 10.0.0.2 is-at 02:00:00:00:00:02, length 28")
    assert summarize(ip_frame(PROTO_ICMP, icmp.echo(icmp.ECHO_REQUEST, 1, 1, bytes(56)).build())
                     ) == "IP 10.0.0.1 > 10.0.0.2: ICMP echo request, id 1, seq 1, length 64"
    assert summarize(icmp_frame(icmp.error(icmp.TIME_EXCEEDED, 0, probe_udp()))) == (
        "IP 10.0.0.254 > 10.0.0.1: ICMP time exceeded in-transit, length 36")
    assert summarize(icmp_frame(icmp.error(icmp.DEST_UNREACHABLE, 3, probe_udp()), src=FAR)) == (
        "IP 10.0.9.9 > 10.0.0.1: ICMP 10.0.9.9 udp port 33434 unreachable, length 36")
    assert summarize(ip_frame(PROTO_UDP, build_udp(IP_A, IP_B, 33434, 33435, b"x" * 12))) == (
        "IP 10.0.0.1.33434 > 10.0.0.2.33435: UDP, length 12")


def test_sack_blocks_print_absolute_sequence_numbers() -> None:
    opts = encode_options([NOP, NOP, SackOption(((2731054692, 2731056140),))])
    assert tcp_options_text(opts) == "[nop,nop,sack 1 {2731054692:2731056140}]"


def test_bad_data_offset_is_named_not_raised() -> None:
    seg = bytearray(build_tcp(IP_A, IP_B, 1, 2, 3, 4, ACK, 5, b"abcd"))
    seg[12] = 0x30
    line = summarize(ip_frame(PROTO_TCP, bytes(seg)))
    assert line == ("IP 10.0.0.1.1 > 10.0.0.2.2: "
                    "[malformed: TCP: bad data offset 3 (header length 12 < 20)]")


@pytest.mark.parametrize(("frame", "problem"), [
    (b"\x01\x02\x03", "[malformed: Ethernet: truncated header: 3 of 14 bytes]"),
    (eth(b"\x45\x00"), "IP [malformed: IPv4: truncated header: 2 of 20 bytes]"),
    (eth(ArpPacket.request(MAC_A, IP_A, IP_B).build()[:20], ETHERTYPE_ARP),
     "ARP, [malformed: ARP: truncated packet: 20 of 28 bytes]"),
    (ip_frame(PROTO_ICMP, b"\x08\x00\x00"), "ICMP: truncated header: 3 of 8 bytes"),
    (ip_frame(PROTO_ICMP, b"\x0b\x00\x00\x00\x00\x00\x00\x00"), "ICMP: the quoted datagram"),
    (ip_frame(PROTO_UDP, b"\x00\x01\x00\x02\x00\x40\x00\x00"), "UDP: length field 64 runs"),
])
def test_malformed_frames_give_one_line_naming_the_problem(frame: bytes, problem: str) -> None:
    line = summarize(frame)
    assert problem in line and "\n" not in line


def test_bad_checksums_show_only_in_verbose_mode() -> None:
    good = tcp_frame(PSH | ACK, b"payload", ack=1)
    bad = bytearray(good)
    bad[14 + 20 + 16] ^= 0x5A
    assert summarize(bytes(bad)) == summarize(good)
    stored = int.from_bytes(bad[50:52], "big")
    correct = int.from_bytes(good[50:52], "big")
    assert summarize(bytes(bad), verbose=True) == (
        summarize(good) + f" [bad tcp cksum 0x{stored:04x} -> 0x{correct:04x}!]")
    assert summarize(good, verbose=True) == summarize(good)


def test_zero_udp_checksum_means_none_not_bad() -> None:
    frame = bytearray(ip_frame(PROTO_UDP, build_udp(IP_A, IP_B, 1, 2, b"hi")))
    frame[14 + 20 + 6:14 + 20 + 8] = b"\x00\x00"
    assert "bad" not in summarize(bytes(frame), verbose=True)
    assert "checksum 0x0000 (none" in describe(bytes(frame))


@settings(max_examples=400)
@given(st.binary(max_size=120), st.sampled_from([0x0800, 0x0806, 0x86DD, 0x0042]))
def test_any_bytes_summarise_and_describe_without_raising(body: bytes, ethertype: int) -> None:
    frame = bytes(MAC_B) + bytes(MAC_A) + ethertype.to_bytes(2, "big") + body
    line = summarize(frame, verbose=True)
    assert "\n" not in line and "internal error" not in line
    assert "internal error" not in describe(frame)


@settings(max_examples=200)
@given(st.binary(min_size=20, max_size=80))
def test_any_ipv4_payload_summarises_without_raising(payload: bytes) -> None:
    for proto in (PROTO_TCP, PROTO_UDP, PROTO_ICMP):
        line = summarize(ip_frame(proto, payload), verbose=True)
        assert line.startswith("IP 10.0.0.1") and "internal error" not in line
        assert "internal error" not in describe(ip_frame(proto, payload))


_FRAMES = generated_frames()


@settings(max_examples=400)
@given(st.integers(0, len(_FRAMES) - 1), st.lists(st.tuples(st.integers(0, 1599),
                                                            st.integers(0, 255)), max_size=4),
       st.integers(0, 1600))
def test_damaged_real_frames_summarise_without_raising(
        index: int, changes: list[tuple[int, int]], cut: int) -> None:
    frame = bytearray(_FRAMES[index])
    for position, value in changes:
        frame[position % len(frame)] = value
    damaged = bytes(frame[:cut])
    line = summarize(damaged, verbose=True)
    assert "\n" not in line and "internal error" not in line
    assert "internal error" not in describe(damaged)


# --- describe() ---------------------------------------------------------------------------------


def test_describe_lists_every_tcp_and_ip_field() -> None:
    frame = tcp_frame(SYN | ECE | CWR, options=syn_options(), seq=123456789, window=29200)
    text = describe(frame)
    for field in ("dst 02:00:00:00:00:02  src 02:00:00:00:00:01", "type 0x0800 (IPv4)",
                  "version 4  header length 20 (ihl 5)", "total length 60", "ttl 64",
                  "protocol 6 (TCP)", "src 10.0.0.1  dst 10.0.0.2",
                  "src port 40000  dst port 7", "seq 123456789  ack 0",
                  "data offset 10 (40 bytes)  flags 0x0c2 [SEW] (CWR, ECE, SYN)",
                  "window 29200", "urgent pointer 0",
                  "option kind 2 (Maximum Segment Size) length 4: mss 1460",
                  "option kind 4 (SACK Permitted) length 2: sackOK",
                  "option kind 8 (Timestamps) length 10: TS val 1 ecr 0",
                  "option kind 1 (No-Operation)",
                  "option kind 3 (Window Scale) length 3: wscale 7", "payload 0 bytes"):
        assert field in text, field
    assert text.count("(correct)") == 2  # IP header and TCP checksums


def test_describe_reports_which_checksum_is_wrong_and_its_correct_value() -> None:
    good = tcp_frame(ACK, b"abc", ack=1)
    bad = bytearray(good)
    bad[14 + 10] ^= 0x01  # IP header checksum
    text = describe(bytes(bad))
    stored = int.from_bytes(bad[24:26], "big")
    assert (f"header checksum 0x{stored:04x} (incorrect, should be "
            f"0x{int.from_bytes(good[24:26], 'big'):04x})") in text
    assert text.count("(correct)") == 1  # the TCP checksum is still right


def test_describe_arp_udp_and_icmp_error() -> None:
    arp = describe(eth(ArpPacket.reply(MAC_B, IP_B, MAC_A, IP_A).build(), ETHERTYPE_ARP,
                       pad=True))
    assert "opcode 2 (reply)" in arp
    assert "sender MAC 02:00:00:00:00:02  sender IP 10.0.0.2" in arp
    assert "target MAC 02:00:00:00:00:01  target IP 10.0.0.1" in arp
    assert "padding 18 bytes" in arp
    udp = describe(ip_frame(PROTO_UDP, build_udp(IP_A, IP_B, 33434, 33435, b"x" * 12)))
    assert "src port 33434  dst port 33435  length 20  checksum 0x" in udp
    assert "(correct)" in udp.split("UDP,", 1)[1]
    err = describe(icmp_frame(icmp.error(icmp.DEST_UNREACHABLE, icmp.UNREACH_FRAG_NEEDED,
                                         probe_udp(), next_hop_mtu=1400)))
    assert "type 3 (unreachable)  code 4 (fragmentation needed and DF set)" in err
    assert "next-hop MTU 1400" in err
    assert ("quoted datagram 28 bytes: IPv4 10.0.0.1 > 10.0.9.9, protocol 17 (UDP), ttl 1, "
            "ports 40000 > 33434") in err


def test_describe_of_a_malformed_header_names_it_and_dumps_the_bytes() -> None:
    seg = bytearray(build_tcp(IP_A, IP_B, 1, 2, 3, 4, ACK, 5, b"abcd"))
    seg[12] = 0x30
    text = describe(ip_frame(PROTO_TCP, bytes(seg)))
    assert "malformed: TCP: bad data offset 3 (header length 12 < 20)" in text
    assert "0000  00 01 00 02" in text  # hex dump of the segment


def test_describe_of_the_whole_reference_capture_has_a_block_per_header() -> None:
    if not REFERENCE.exists():
        pytest.skip(f"reference capture {REFERENCE} is absent")
    for record in read_pcap(REFERENCE):
        text = describe(record.frame)
        assert text.startswith("Ethernet II, ")
        assert "malformed" not in text
        assert ("ARP," in text) or ("IPv4," in text and ("TCP," in text or "ICMP," in text))


def test_a_vlan_tag_is_shown_by_describe_and_a_truncated_one_named() -> None:
    inner = tcp_frame(SYN, options=syn_options())
    tagged = vlan.tag(vlan.tag(inner, 20, pcp=3), 30)
    text = describe(tagged)
    assert "802.1Q tag: priority 0  drop eligible 0  VLAN 30" in text
    assert "802.1Q tag: priority 3  drop eligible 0  VLAN 20" in text
    assert text.index("VLAN 30") < text.index("VLAN 20") < text.index("TCP")
    assert summarize(tagged) == summarize(inner)
    for cut in (14, 16, 17):
        assert summarize(tagged[:cut]) == \
            f"[malformed: 802.1Q: truncated tag: {cut} of 18 bytes]"
        assert f"malformed: 802.1Q: truncated tag: {cut} of 18 bytes" in describe(tagged[:cut])
