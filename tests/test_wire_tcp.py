"""TCP headers and options (RFC 9293 §3.1, RFC 7323, RFC 2018), and real Linux frames.

The last part reads the reference capture (a real Linux 6.18 TCP transfer) with a tiny inline
pcap reader and checks every frame against tcpdump's own reading of it. Its TCP checksums were
left to transmit offload (see `completed_tcp_checksum`); IPv4 and ICMP checksums are complete.
"""

from __future__ import annotations

import random
import re
import struct
import subprocess
from collections.abc import Callable, Iterator
from ipaddress import IPv4Address, IPv6Address
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netsim.wire.arp import OP_REPLY, OP_REQUEST, parse_arp
from netsim.wire.checksum import reference_checksum
from netsim.wire.errors import ChecksumError, TCPChecksumError, TCPError
from netsim.wire.ethernet import (
    ETHERTYPE_ARP,
    ETHERTYPE_IPV4,
    build_ethernet,
    parse_ethernet,
)
from netsim.wire.icmp import ECHO_REPLY, ECHO_REQUEST, parse_icmp
from netsim.wire.ipv4 import PROTO_ICMP, PROTO_TCP, build_ipv4, parse_ipv4
from netsim.wire.mac import MacAddress
from netsim.wire.tcp import (
    ACK,
    AE,
    CWR,
    ECE,
    EOL,
    FIN,
    NOP,
    OPT_MSS,
    OPT_SACK,
    OPT_TIMESTAMPS,
    PSH,
    RST,
    SACK_PERMITTED,
    SYN,
    URG,
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
    build_tcp,
    decode_options,
    encode_options,
    flags_str,
    format_options,
    parse_tcp,
)

SRC = IPv4Address("10.66.0.1")
DST = IPv4Address("10.66.0.2")
U32 = 2**32 - 1


def pseudo(src: IPv4Address, dst: IPv4Address, length: int) -> bytes:
    return src.packed + dst.packed + bytes((0, PROTO_TCP)) + length.to_bytes(2, "big")


# --- the fixed header ----------------------------------------------------------------------

def test_header_layout_follows_rfc9293() -> None:
    raw = build_tcp(SRC, DST, 50522, 7007, 0xDEADBEEF, 0x01020304, SYN | ACK | ECE | CWR,
                    65160, b"data", encode_options((MSSOption(1460),)), urgent=0x0102)
    assert raw[0:2] == (50522).to_bytes(2, "big") and raw[2:4] == (7007).to_bytes(2, "big")
    assert raw[4:8] == b"\xde\xad\xbe\xef" and raw[8:12] == b"\x01\x02\x03\x04"
    assert raw[12] >> 4 == 6  # data offset in 32-bit words: 20 + 4 bytes of options
    assert ((raw[12] & 0x0F) << 8) | raw[13] == SYN | ACK | ECE | CWR
    assert raw[13] == 0b1101_0010  # CWR ECE URG ACK PSH RST SYN FIN
    assert raw[14:16] == (65160).to_bytes(2, "big") and raw[18:20] == b"\x01\x02"
    assert raw[20:24] == b"\x02\x04\x05\xb4" and raw[24:] == b"data"
    assert reference_checksum(pseudo(SRC, DST, len(raw)) + raw) == 0


def test_parse_reads_every_field() -> None:
    raw = build_tcp(SRC, DST, 1, 65535, U32, 0, FIN | PSH | URG | AE, 0, b"xyz",
                    encode_options((NOP, NOP, TimestampOption(5, 6))), urgent=3)
    seg = parse_tcp(raw, SRC, DST)
    assert (seg.src_port, seg.dst_port, seg.seq, seg.ack) == (1, 65535, U32, 0)
    assert (seg.flags, seg.window, seg.urgent, seg.payload) == (FIN | PSH | URG | AE, 0, 3,
                                                                b"xyz")
    assert seg.data_offset == 8
    assert seg.options == (NOP, NOP, TimestampOption(5, 6))
    assert seg.checksum == int.from_bytes(raw[16:18], "big")


def test_all_twelve_flag_bits_round_trip() -> None:
    for bit in range(12):
        raw = build_tcp(SRC, DST, 1, 2, 3, 4, 1 << bit, 5)
        assert parse_tcp(raw, SRC, DST).flags == 1 << bit
    assert parse_tcp(build_tcp(SRC, DST, 1, 2, 3, 4, 0xFFF, 5)).flags == 0xFFF


def test_checksum_covers_pseudo_header_header_and_data() -> None:
    raw = build_tcp(SRC, DST, 1, 2, 3, 4, ACK, 5, b"odd")
    assert parse_tcp(raw, SRC, DST).payload == b"odd"
    with pytest.raises(TCPChecksumError, match="bad checksum") as info:
        parse_tcp(raw[:-1] + b"e", SRC, DST)
    assert isinstance(info.value, ChecksumError)
    with pytest.raises(TCPChecksumError):
        parse_tcp(raw, SRC, IPv4Address("10.66.0.3"))  # wrong pseudo-header
    with pytest.raises(TCPChecksumError):
        parse_tcp(raw[:4] + b"\x00\x00\x00\x04" + raw[8:], SRC, DST)
    # without both addresses the checksum is not checked
    assert parse_tcp(raw[:-1] + b"e").payload == b"ode"
    assert parse_tcp(raw[:-1] + b"e", SRC).payload == b"ode"


def test_segment_len_and_option_lookup() -> None:
    syn = TCPSegment(1, 2, 100, 0, SYN, 1000, options=(MSSOption(1460), SACK_PERMITTED))
    assert syn.seg_len == 1
    assert TCPSegment(1, 2, 100, 0, FIN | ACK, 1000, b"abc").seg_len == 4
    assert TCPSegment(1, 2, 100, 0, SYN | FIN, 1000).seg_len == 2
    assert TCPSegment(1, 2, 100, 0, ACK, 1000, b"ab").seg_len == 2
    assert syn.option(OPT_MSS) == MSSOption(1460)
    assert syn.option(OPT_TIMESTAMPS) is None


def test_parse_errors_say_what_is_wrong() -> None:
    raw = build_tcp(SRC, DST, 1, 2, 3, 4, ACK, 5, b"", encode_options((MSSOption(536),)))
    with pytest.raises(TCPError, match="truncated header: 19 of 20"):
        parse_tcp(raw[:19])
    with pytest.raises(TCPError, match="bad data offset 4"):
        parse_tcp(raw[:12] + bytes([0x40 | (raw[12] & 0xF)]) + raw[13:])
    with pytest.raises(TCPError, match="data offset 6 says 24 header bytes but the segment has 23"):
        parse_tcp(raw[:23])
    with pytest.raises(TCPError, match="data offset 15 says 60"):
        parse_tcp(raw[:12] + bytes([0xF0]) + raw[13:])


@pytest.mark.parametrize("field, kwargs", [
    ("ports", {"src_port": 65536}), ("ports", {"dst_port": -1}),
    ("seq", {"seq": 2**32}), ("ack", {"ack": -1}),
    ("window", {"window": 65536}), ("urgent", {"urgent": 65536}),
])
def test_build_rejects_out_of_range_fields(field: str, kwargs: dict[str, int]) -> None:
    args = {"src_port": 1, "dst_port": 2, "seq": 3, "ack": 4, "flags": ACK, "window": 5}
    args.update(kwargs)
    with pytest.raises(TCPError, match=f"out of range.*{field}"):
        build_tcp(SRC, DST, **args)  # type: ignore[arg-type]


def test_build_rejects_bad_flags_options_length_and_addresses() -> None:
    with pytest.raises(TCPError, match="flags 0x1000 do not fit in 12 bits"):
        build_tcp(SRC, DST, 1, 2, 3, 4, 0x1000, 5)
    with pytest.raises(TCPError, match="do not fit in 12 bits"):
        build_tcp(SRC, DST, 1, 2, 3, 4, -1, 5)
    with pytest.raises(TCPError, match="padded to 4 bytes"):
        build_tcp(SRC, DST, 1, 2, 3, 4, ACK, 5, b"", b"\x01\x01\x01")
    with pytest.raises(TCPError, match="at most 40"):
        build_tcp(SRC, DST, 1, 2, 3, 4, ACK, 5, b"", bytes(44))
    with pytest.raises(TCPError, match="does not fit an IPv4 packet"):
        build_tcp(SRC, DST, 1, 2, 3, 4, ACK, 5, bytes(65516))
    with pytest.raises(TCPError, match="IPv4Address"):
        build_tcp("10.0.0.1", DST, 1, 2, 3, 4, ACK, 5)  # type: ignore[arg-type]
    # one address of each family: no pseudo-header has that (RFC 8200 §8.1 has two IPv6)
    with pytest.raises(TCPError, match="two IPv6Address"):
        build_tcp(SRC, IPv6Address("2001:db8::2"), 1, 2, 3, 4, ACK, 5)
    with pytest.raises(TCPError, match="does not fit an IPv6 packet"):
        build_tcp(IPv6Address("::1"), IPv6Address("::2"), 1, 2, 3, 4, ACK, 5, bytes(65516))


# --- options -------------------------------------------------------------------------------

@pytest.mark.parametrize("option, wire", [
    (EOL, b"\x00"),
    (NOP, b"\x01"),
    (MSSOption(1460), b"\x02\x04\x05\xb4"),  # RFC 9293 §3.2
    (WindowScaleOption(14), b"\x03\x03\x0e"),  # RFC 7323 §2.2
    (SACK_PERMITTED, b"\x04\x02"),  # RFC 2018 §2
    (SackOption(((1, 2),)), b"\x05\x0a" + struct.pack("!II", 1, 2)),  # RFC 2018 §3
    (TimestampOption(0x01020304, 0xA0B0C0D0), b"\x08\x0a\x01\x02\x03\x04\xa0\xb0\xc0\xd0"),
    (UnknownOption(30, b"\x11\x22"), b"\x1e\x04\x11\x22"),
    (UnknownOption(254, b""), b"\xfe\x02"),
])
def test_each_option_encodes_as_its_rfc_layout(option: TCPOption, wire: bytes) -> None:
    raw = encode_options((option,))
    padding = (-len(wire)) % 4
    assert raw == wire + bytes(padding)
    decoded = decode_options(raw)
    assert decoded[0] == option and type(decoded[0]) is type(option)


def test_padding_is_end_of_option_list() -> None:
    assert encode_options(()) == b""
    raw = encode_options((MSSOption(1460), WindowScaleOption(7)))
    assert raw == b"\x02\x04\x05\xb4\x03\x03\x07\x00"
    assert decode_options(raw) == (MSSOption(1460), WindowScaleOption(7), EOL)
    # Linux's layout: NOPs in front, no padding needed
    linux_syn = (MSSOption(1460), SACK_PERMITTED, TimestampOption(1, 0), NOP,
                 WindowScaleOption(10))
    assert len(encode_options(linux_syn)) == 20
    assert decode_options(encode_options(linux_syn)) == linux_syn


def test_sack_blocks_one_to_four() -> None:
    for n in range(1, 5):
        blocks = tuple((1000 * i, 1000 * i + 500) for i in range(n))
        raw = encode_options((SackOption(blocks),))
        assert raw[1] == 2 + 8 * n
        assert decode_options(raw)[0] == SackOption(blocks)
    with pytest.raises(TCPError, match="1 to 4 blocks, not 5"):
        encode_options((SackOption(tuple((i, i + 1) for i in range(5))),))
    with pytest.raises(TCPError, match="1 to 4 blocks, not 0"):
        encode_options((SackOption(()),))
    # sequence numbers are taken modulo 2**32
    assert decode_options(encode_options((SackOption(((U32, 2**32 + 5),)),)))[0] == \
        SackOption(((U32, 5),))


def test_eol_ends_the_list_and_the_rest_is_padding() -> None:
    assert decode_options(b"\x01\x00\x02\x04") == (NOP, EOL)
    assert decode_options(b"\x00\x00\x00\x00") == (EOL,)


@pytest.mark.parametrize("raw, message", [
    (b"\x02", "option kind 2 at offset 0 has no length byte"),
    (b"\x01\x01\x01\x1e", "option kind 30 at offset 3 has no length byte"),
    (b"\x1e\x00\x00\x00", "bad length 0"),
    (b"\x1e\x01\x00\x00", "bad length 1"),
    (b"\x02\x08\x05\xb4", "overruns the header by 4 bytes"),
    (b"\x01\x08\x0a" + bytes(7), "overruns the header by 1 bytes"),
    (b"\x02\x03\x05\x00", "option kind 2 at offset 0 has bad length 3"),
    (b"\x03\x04\x07\x00", "option kind 3 at offset 0 has bad length 4"),
    (b"\x04\x03\x00\x00", "option kind 4 at offset 0 has bad length 3"),
    (b"\x05\x06\x00\x00\x00\x00\x00\x00", "option kind 5 at offset 0 has bad length 6"),
    (b"\x08\x06\x00\x00\x00\x00\x00\x00", "option kind 8 at offset 0 has bad length 6"),
])
def test_malformed_options_raise_tcperror(raw: bytes, message: str) -> None:
    with pytest.raises(TCPError, match=message):
        decode_options(raw)
    if len(raw) % 4 == 0:  # the same options area inside a segment, checksum correct
        seg = build_tcp(SRC, DST, 1, 2, 3, 4, ACK, 5, b"payload", raw)
        with pytest.raises(TCPError, match=message):
            parse_tcp(seg, SRC, DST)


@pytest.mark.parametrize("options, message", [
    ((MSSOption(65536),), "MSS 65536"),
    ((MSSOption(-1),), "MSS -1"),
    ((WindowScaleOption(256),), "shift 256"),
    ((TimestampOption(2**32, 0),), "not 32-bit"),
    ((TimestampOption(0, -1),), "not 32-bit"),
    ((UnknownOption(1, b"ab"),), "UnknownOption kind 1"),  # would have become a bare NOP
    ((UnknownOption(0, b""),), "UnknownOption kind 0"),
    ((UnknownOption(2, b"\x05\xb4"),), "UnknownOption kind 2"),
    ((UnknownOption(8, b"abc"),), "UnknownOption kind 8"),
    ((UnknownOption(256, b""),), "UnknownOption kind 256"),
    ((UnknownOption(30, bytes(39)),), "39 bytes of data"),
    ((SackOption(((1, 2, 3),)),), "not a \\(left, right\\) pair"),
    (((2, 1460),), "cannot encode option"),
    ((TimestampOption(1, 2),) * 4 + (NOP,), "44 bytes of options exceed 40"),
])
def test_encode_rejects_bad_options(options: tuple[TCPOption, ...], message: str) -> None:
    with pytest.raises(TCPError, match=message):
        encode_options(options)
    with pytest.raises(TCPError, match=message):
        TCPSegment(1, 2, 3, 4, ACK, 5, options=options).build(SRC, DST)


known_kinds = {0, 1, 2, 3, 4, 5, 8}
option_strategy = st.one_of(
    st.just(NOP),
    st.integers(0, 0xFFFF).map(MSSOption),
    st.integers(0, 255).map(WindowScaleOption),
    st.just(SACK_PERMITTED),
    st.tuples(st.integers(0, U32), st.integers(0, U32)).map(lambda t: TimestampOption(*t)),
    st.lists(st.tuples(st.integers(0, U32), st.integers(0, U32)), min_size=1, max_size=4)
    .map(lambda b: SackOption(tuple(b))),
    st.tuples(st.integers(6, 255).filter(lambda k: k not in known_kinds),
              st.binary(max_size=12)).map(lambda t: UnknownOption(*t)),
)


def fits(options: list[TCPOption]) -> bool:
    try:
        encode_options(options)
    except TCPError:
        return False
    return True


@settings(max_examples=400, deadline=None)
@given(st.lists(option_strategy, max_size=8).filter(fits), st.booleans())
def test_options_round_trip(options: list[TCPOption], end_with_eol: bool) -> None:
    opts = tuple(options) + ((EOL,) if end_with_eol else ())
    if not fits(list(opts)):
        opts = tuple(options)
    raw = encode_options(opts)
    assert len(raw) % 4 == 0 and len(raw) <= 40
    decoded = decode_options(raw)
    # padding decodes as one End of Option List; nothing else changes
    if decoded and decoded[-1] == EOL and type(decoded[-1]) is EolOption and \
            (not opts or type(opts[-1]) is not EolOption):
        decoded = decoded[:-1]
    assert decoded == opts
    assert [type(o) for o in decoded] == [type(o) for o in opts]
    assert encode_options(decode_options(raw)) == raw


segments = st.builds(
    TCPSegment,
    src_port=st.integers(0, 0xFFFF), dst_port=st.integers(0, 0xFFFF),
    seq=st.integers(0, U32), ack=st.integers(0, U32), flags=st.integers(0, 0xFFF),
    window=st.integers(0, 0xFFFF), payload=st.binary(max_size=1460),
    options=st.lists(option_strategy, max_size=6).filter(fits).map(tuple),
    urgent=st.integers(0, 0xFFFF), data_offset=st.just(5), checksum=st.just(0),
)


@settings(max_examples=400, deadline=None)
@given(segments, st.integers(0, U32).map(IPv4Address), st.integers(0, U32).map(IPv4Address))
def test_segment_round_trip(seg: TCPSegment, src: IPv4Address, dst: IPv4Address) -> None:
    raw = seg.build(src, dst)
    assert reference_checksum(pseudo(src, dst, len(raw)) + raw) == 0
    parsed = parse_tcp(raw, src, dst)
    encoded = encode_options(seg.options)
    assert parsed.data_offset == 5 + len(encoded) // 4
    assert parsed.checksum == int.from_bytes(raw[16:18], "big")
    assert parsed._replace(options=seg.options, data_offset=5, checksum=0) == seg
    assert encode_options(parsed.options) == encoded
    assert parsed.build(src, dst) == raw


# --- tcpdump's flag letters ----------------------------------------------------------------

def test_flags_str_examples() -> None:
    assert flags_str(SYN) == "S"
    assert flags_str(SYN | ACK) == "S."
    assert flags_str(ACK) == "."
    assert flags_str(PSH | ACK) == "P."
    assert flags_str(FIN | PSH | ACK) == "FP."
    assert flags_str(RST | ACK) == "R."
    assert flags_str(SYN | ECE | CWR) == "SEW"
    assert flags_str(0) == "none"


def pcap_bytes(frames: list[bytes]) -> bytes:
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    for i, frame in enumerate(frames):
        out.append(struct.pack("<IIII", i, 0, len(frame), len(frame)) + frame)
    return b"".join(out)


def tcpdump_lines(tcpdump: str, path: Path, segments: list[bytes]) -> list[str]:
    """tcpdump's one-line reading of each TCP segment (SRC -> DST inside Ethernet/IPv4)."""
    mac = MacAddress.local(1)
    path.write_bytes(pcap_bytes([build_ethernet(mac, mac, ETHERTYPE_IPV4,
                                                build_ipv4(SRC, DST, PROTO_TCP, seg))
                                 for seg in segments]))
    out = subprocess.run([tcpdump, "-nn", "-S", "-r", str(path)], capture_output=True,
                         text=True, check=True, timeout=60).stdout.splitlines()
    assert len(out) == len(segments)
    return out


def test_flags_str_matches_tcpdump_for_every_flag_combination(
        tmp_path: Path, require_tool: Callable[[str], str]) -> None:
    segments = [build_tcp(SRC, DST, 1, 2, 3, 4, flags, 5) for flags in range(256)]
    lines = tcpdump_lines(require_tool("tcpdump"), tmp_path / "flags.pcap", segments)
    printed = [line.split("Flags [")[1].split("]")[0] for line in lines]
    assert printed == [flags_str(flags) for flags in range(256)]


# kinds tcpdump 4.99 names itself (echo, cc, md5, scps, uto, tcp-ao, mptcp, tfo, exp)
TCPDUMP_NAMED_KINDS = {6, 7, 11, 12, 13, 19, 20, 28, 29, 30, 34, 253, 254}


def test_format_options_matches_tcpdump(tmp_path: Path,
                                        require_tool: Callable[[str], str]) -> None:
    rng = random.Random(7323)
    option_lists: list[tuple[TCPOption, ...]] = []
    for _ in range(300):
        opts: list[TCPOption] = []
        for _ in range(rng.randrange(0, 6)):
            opt = rng.choice([
                NOP, SACK_PERMITTED, MSSOption(rng.randrange(0x10000)),
                WindowScaleOption(rng.randrange(15)),
                TimestampOption(rng.getrandbits(32), rng.getrandbits(32)),
                SackOption(tuple((rng.getrandbits(32), rng.getrandbits(32))
                                 for _ in range(rng.randrange(1, 5)))),
                UnknownOption(rng.choice([k for k in range(9, 256)
                                          if k not in TCPDUMP_NAMED_KINDS]),
                              rng.randbytes(rng.randrange(0, 6))),
            ])
            try:
                encode_options((*opts, opt))
            except TCPError:  # more than 40 bytes
                continue
            opts.append(opt)
        option_lists.append(tuple(opts))
    encoded = [encode_options(opts) for opts in option_lists]
    segments = [build_tcp(SRC, DST, 1, 2, 3, 4, ACK, 5, b"", raw) for raw in encoded]
    lines = tcpdump_lines(require_tool("tcpdump"), tmp_path / "options.pcap", segments)
    for raw, line in zip(encoded, lines, strict=True):
        printed = line.split("options [")[1].split("], length")[0] if raw else ""
        assert format_options(decode_options(raw)) == printed, line


# --- real frames: a Linux capture and tcpdump's reading of it --------------------------------

CAPTURES = Path(__file__).resolve().parent / "data" / "captures"  # from shared/captures
CAPTURE = CAPTURES / "linux-nc-lossy.pcap"
TCPDUMP_TEXT = CAPTURES / "linux-nc-lossy.tcpdump.txt"

needs_capture = pytest.mark.skipif(
    not (CAPTURE.exists() and TCPDUMP_TEXT.exists()),
    reason=f"reference capture not found at {CAPTURE} (shared/ sits beside the repository "
           "in CI)")


def read_pcap(path: Path) -> Iterator[tuple[float, bytes]]:
    """A classic pcap reader: 24-byte global header, then 16-byte record headers."""
    data = path.read_bytes()
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        endian = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        endian = ">"
    else:
        raise AssertionError(f"{path} is not a classic pcap file")
    nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    linktype = struct.unpack_from(endian + "I", data, 20)[0]
    assert linktype == 1, "expected Ethernet (LINKTYPE_ETHERNET)"
    offset = 24
    while offset < len(data):
        sec, frac, caplen, origlen = struct.unpack_from(endian + "IIII", data, offset)
        offset += 16
        assert caplen == origlen, "the reference capture is not truncated"
        yield sec + frac / (1e9 if nano else 1e6), data[offset:offset + caplen]
        offset += caplen


def completed_tcp_checksum(src: IPv4Address, dst: IPv4Address, segment: bytes) -> bytes:
    """The segment with the checksum a NIC would have filled in.

    Linux hands veth frames over with CHECKSUM_PARTIAL (transmit checksum offload): the field
    then holds only the folded one's-complement sum of the pseudo-header, and tcpdump/tshark
    report the checksum as incorrect. Such a field is completed here with the reference
    implementation (not netsim's); a segment that already verifies is returned unchanged.
    """
    ph = pseudo(src, dst, len(segment))
    if reference_checksum(ph + segment) == 0:
        return segment
    field = int.from_bytes(segment[16:18], "big")
    assert field == 0xFFFF - reference_checksum(ph), "neither a full nor a partial checksum"
    blank = segment[:16] + b"\x00\x00" + segment[18:]
    return segment[:16] + reference_checksum(ph + blank).to_bytes(2, "big") + segment[18:]


TCP_LINE = re.compile(
    r"IP (?P<src>[\d.]+)\.(?P<sport>\d+) > (?P<dst>[\d.]+)\.(?P<dport>\d+): "
    r"Flags \[(?P<flags>[^\]]*)\], (?:seq (?P<seq>\d+)(?::(?P<end>\d+))?, )?"
    r"(?:ack (?P<ack>\d+), )?win (?P<win>\d+), (?:options \[(?P<options>[^\]]*)\], )?"
    r"length (?P<len>\d+)$")
ICMP_LINE = re.compile(r"IP (?P<src>[\d.]+) > (?P<dst>[\d.]+): ICMP echo (?P<kind>request|reply), "
                       r"id (?P<id>\d+), seq (?P<seq>\d+), length (?P<len>\d+)$")
ARP_REQUEST = re.compile(r"ARP, Request who-has (?P<tpa>[\d.]+) tell (?P<spa>[\d.]+), "
                         r"length 28$")
ARP_REPLY = re.compile(r"ARP, Reply (?P<spa>[\d.]+) is-at (?P<sha>[0-9a-f:]+), length 28$")


@needs_capture
def test_every_frame_of_the_linux_capture_agrees_with_tcpdump() -> None:
    frames = list(read_pcap(CAPTURE))
    lines = TCPDUMP_TEXT.read_text().splitlines()
    assert len(frames) == len(lines) > 400
    seen: dict[str, int] = {}
    options_seen: set[type] = set()
    partial = 0
    for (stamp, frame), line in zip(frames, lines, strict=True):
        when, _, text = line.partition(" ")
        assert abs(stamp - float(when)) < 2e-6, line
        eth = parse_ethernet(frame)
        assert eth.build() == frame
        if eth.ethertype == ETHERTYPE_ARP:
            arp = parse_arp(eth.payload)
            if arp.op == OP_REQUEST:
                m = ARP_REQUEST.match(text)
                assert m and str(arp.target_ip) == m["tpa"] and str(arp.sender_ip) == m["spa"]
            else:
                m = ARP_REPLY.match(text)
                assert arp.op == OP_REPLY and m, line
                assert str(arp.sender_ip) == m["spa"] and str(arp.sender_mac) == m["sha"]
            assert arp.build() == eth.payload[:28]
            seen["arp"] = seen.get("arp", 0) + 1
            continue
        assert eth.ethertype == ETHERTYPE_IPV4, line
        ip = parse_ipv4(eth.payload)  # header checksum verified
        assert ip.build() == eth.payload
        if ip.protocol == PROTO_ICMP:
            msg = parse_icmp(ip.payload)  # checksum verified
            m = ICMP_LINE.match(text)
            assert m, line
            assert msg.type == (ECHO_REQUEST if m["kind"] == "request" else ECHO_REPLY)
            assert (msg.identifier, msg.sequence) == (int(m["id"]), int(m["seq"]))
            assert len(ip.payload) == int(m["len"])
            assert msg.build() == ip.payload
            seen["icmp"] = seen.get("icmp", 0) + 1
            continue
        assert ip.protocol == PROTO_TCP, line
        wire = completed_tcp_checksum(ip.src, ip.dst, ip.payload)
        if wire != ip.payload:
            partial += 1
            with pytest.raises(TCPChecksumError):  # as it was captured, before the offload
                parse_tcp(ip.payload, ip.src, ip.dst)
        seg = parse_tcp(wire, ip.src, ip.dst)  # checksum verified
        m = TCP_LINE.search(text)
        assert m, line
        assert (str(ip.src), seg.src_port, str(ip.dst), seg.dst_port) == \
            (m["src"], int(m["sport"]), m["dst"], int(m["dport"]))
        assert flags_str(seg.flags) == m["flags"], line
        if m["seq"] is not None:
            assert seg.seq == int(m["seq"]), line
            if m["end"] is not None:
                assert seg.seq + len(seg.payload) == int(m["end"]), line
        assert (seg.ack if seg.flags & ACK else None) == \
            (int(m["ack"]) if m["ack"] else None), line
        assert seg.window == int(m["win"]) and len(seg.payload) == int(m["len"]), line
        assert format_options(seg.options) == (m["options"] or ""), line
        options_seen.update(type(o) for o in seg.options)
        # re-building the parsed segment gives back the identical bytes, checksum included
        assert seg.build(ip.src, ip.dst) == wire, line
        seen["tcp"] = seen.get("tcp", 0) + 1
    assert seen["arp"] == 2 and seen["icmp"] == 4 and seen["tcp"] == len(lines) - 6
    # The kernel's own RST carries a full checksum; everything else was offloaded.
    assert partial == seen["tcp"] - 1
    assert options_seen == {MSSOption, SackPermittedOption, TimestampOption, NopOption,
                            WindowScaleOption, SackOption}


@needs_capture
def test_capture_has_the_sack_blocks_and_the_syn_options_linux_sent() -> None:
    syns = []
    sacks = []
    for _, frame in read_pcap(CAPTURE):
        eth = parse_ethernet(frame)
        if eth.ethertype != ETHERTYPE_IPV4:
            continue
        ip = parse_ipv4(eth.payload)
        if ip.protocol != PROTO_TCP:
            continue
        seg = parse_tcp(completed_tcp_checksum(ip.src, ip.dst, ip.payload), ip.src, ip.dst)
        if seg.flags & SYN:
            syns.append(seg)
        sack = seg.option(OPT_SACK)
        if sack is not None:
            assert isinstance(sack, SackOption)
            sacks.append((seg.ack, sack.blocks))
    assert len(syns) == 3  # SYN, SYN-ACK, and the SYN to the closed port
    for syn in syns:
        kinds = [type(o) for o in syn.options]
        assert kinds == [MSSOption, SackPermittedOption, TimestampOption, NopOption,
                         WindowScaleOption]
        assert syn.option(OPT_MSS) == MSSOption(1460)
    assert len(sacks) == 31
    for ack, blocks in sacks:
        # RFC 2018: a SACK block reports data above the cumulative ACK
        assert all(ack < left < right for left, right in blocks)
