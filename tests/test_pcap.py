"""The pcap reader and writer: exact round trips, both byte orders, damage reported precisely,
and the files we write read cleanly by tcpdump and tshark."""

from __future__ import annotations

import io
import struct
import subprocess
from collections.abc import Callable
from ipaddress import IPv4Address
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netsim.wire import icmp
from netsim.wire.arp import ArpPacket
from netsim.wire.errors import PcapError
from netsim.wire.ethernet import ETHERTYPE_ARP, ETHERTYPE_IPV4, build_ethernet
from netsim.wire.ipv4 import PROTO_ICMP, PROTO_TCP, PROTO_UDP, build_ipv4
from netsim.wire.mac import MacAddress
from netsim.wire.pcap import (
    MAGIC_MICRO,
    MAGIC_NANO,
    PcapReader,
    PcapWriter,
    read_pcap,
    seconds_to_ns,
    write_pcap,
)
from netsim.wire.tcp import (
    ACK,
    NOP,
    PSH,
    SACK_PERMITTED,
    SYN,
    MSSOption,
    TimestampOption,
    WindowScaleOption,
    build_tcp,
    encode_options,
)
from netsim.wire.udp import build_udp

CAPTURES = Path(__file__).resolve().parent / "data" / "captures"  # from shared/captures
REFERENCE = CAPTURES / "linux-nc-lossy.pcap"

MAC_A, MAC_B = MacAddress("02:00:00:00:00:01"), MacAddress("02:00:00:00:00:02")
IP_A, IP_B = IPv4Address("10.0.0.1"), IPv4Address("10.0.0.2")


def sample_frames() -> list[bytes]:
    """A little conversation built by netsim's own builders: ARP, ping, UDP, a TCP handshake."""
    def ip(proto: int, payload: bytes) -> bytes:
        return build_ethernet(MAC_B, MAC_A, ETHERTYPE_IPV4, build_ipv4(IP_A, IP_B, proto, payload))

    syn_options = encode_options([MSSOption(1460), SACK_PERMITTED, TimestampOption(1, 0), NOP,
                                  WindowScaleOption(7)])
    return [
        build_ethernet(MacAddress("ff:ff:ff:ff:ff:ff"), MAC_A, ETHERTYPE_ARP,
                       ArpPacket.request(MAC_A, IP_A, IP_B).build(), pad=True),
        build_ethernet(MAC_A, MAC_B, ETHERTYPE_ARP,
                       ArpPacket.reply(MAC_B, IP_B, MAC_A, IP_A).build(), pad=True),
        ip(PROTO_ICMP, icmp.echo(icmp.ECHO_REQUEST, 1, 1, bytes(range(56))).build()),
        ip(PROTO_UDP, build_udp(IP_A, IP_B, 33434, 33435, b"x" * 12)),
        ip(PROTO_TCP, build_tcp(IP_A, IP_B, 40000, 7, 1000, 0, SYN, 65535, options=syn_options)),
        ip(PROTO_TCP, build_tcp(IP_A, IP_B, 40000, 7, 1001, 5000, PSH | ACK, 502, b"hello\n")),
    ]


def write_bytes(records: list[tuple[float, bytes]], *, nanosecond: bool = False) -> bytes:
    buf = io.BytesIO()
    with PcapWriter(buf, nanosecond=nanosecond) as writer:
        for ts, frame in records:
            writer.write(ts, frame)
    return buf.getvalue()


def swap_byte_order(data: bytes) -> bytes:
    """The same capture as a big-endian machine would have written it."""
    magic, major, minor, zone, sigfigs, snaplen, link = struct.unpack_from("<IHHiIII", data)
    out = bytearray(struct.pack(">IHHiIII", magic, major, minor, zone, sigfigs, snaplen, link))
    offset = 24
    while offset < len(data):
        sec, frac, incl, orig = struct.unpack_from("<IIII", data, offset)
        out += struct.pack(">IIII", sec, frac, incl, orig)
        out += data[offset + 16:offset + 16 + incl]
        offset += 16 + incl
    return bytes(out)


# --- round trips --------------------------------------------------------------------------------

MICRO_TIMES = [0.0, 0.000001, 0.5, 1.25, 12345.678901, 1795628022.483908, 4294967295.999999]
NANO_TIMES = [0.0, 0.000000001, 0.123456789, 1.999999999, 86400.000000007, 12345.678901234]


def test_microsecond_round_trip_keeps_timestamps_and_frames_exactly() -> None:
    frames = sample_frames()
    records = list(zip(MICRO_TIMES, frames + frames[:1], strict=True))
    got = read_pcap(io.BytesIO(write_bytes(records)))
    assert [(r.timestamp, r.frame, r.orig_len) for r in got] == [
        (ts, frame, len(frame)) for ts, frame in records]
    assert [r.timestamp_ns for r in got] == [round(ts * 10**6) * 1000 for ts in MICRO_TIMES]


def test_nanosecond_round_trip_keeps_timestamps_and_frames_exactly() -> None:
    frames = sample_frames()
    records = list(zip(NANO_TIMES, frames, strict=True))
    data = write_bytes(records, nanosecond=True)
    reader = PcapReader(io.BytesIO(data))
    assert reader.nanosecond
    got = list(reader)
    assert [(r.timestamp, r.frame) for r in got] == records
    assert got[2].timestamp_ns == 123456789
    assert got[4].timestamp_ns == 86400 * 10**9 + 7


def test_integer_nanosecond_timestamps_beyond_float_precision_survive(tmp_path: Path) -> None:
    wall_ns = 1795628022_483908123  # a float cannot hold this to the nanosecond
    path = tmp_path / "ns.pcap"
    with PcapWriter(path, nanosecond=True) as writer:
        writer.write_ns(wall_ns, sample_frames()[0])
    (record,) = read_pcap(path)
    assert record.timestamp_ns == wall_ns
    assert record.timestamp == wall_ns / 10**9


def test_microsecond_file_rounds_nanosecond_input_to_nearest_microsecond() -> None:
    buf = io.BytesIO()
    with PcapWriter(buf) as writer:
        writer.write_ns(1_000_000_499, b"\x00" * 60)
        writer.write_ns(1_000_000_500, b"\x00" * 60)
    got = [r.timestamp_ns for r in read_pcap(io.BytesIO(buf.getvalue()))]
    assert got == [1_000_000_000, 1_000_001_000]


def test_float_timestamps_convert_through_their_decimal_form() -> None:
    assert seconds_to_ns(0.1 + 0.2) == 300_000_000  # not 300000000.00000004
    assert seconds_to_ns(1795628022.483908) == 1795628022_483908000
    with pytest.raises(PcapError):
        seconds_to_ns(float("nan"))


def test_same_input_gives_identical_bytes() -> None:
    records = list(zip(NANO_TIMES, sample_frames(), strict=True))
    assert write_bytes(records, nanosecond=True) == write_bytes(records, nanosecond=True)
    assert write_bytes(records) == write_bytes(records)


def test_written_global_header_is_libpcap_2_4_ethernet() -> None:
    data = write_bytes([])
    assert struct.unpack("<IHHiIII", data) == (MAGIC_MICRO, 2, 4, 0, 0, 262144, 1)
    nano = write_bytes([], nanosecond=True)
    assert struct.unpack_from("<I", nano)[0] == MAGIC_NANO


def test_snaplen_truncates_frames_but_keeps_original_length() -> None:
    frame = sample_frames()[-1]
    buf = io.BytesIO()
    with PcapWriter(buf, snaplen=40) as writer:
        writer.write(1.0, frame)
    reader = PcapReader(io.BytesIO(buf.getvalue()))
    (record,) = list(reader)
    assert reader.snaplen == 40
    assert record.frame == frame[:40] and record.orig_len == len(frame) and record.truncated


def test_writer_refuses_timestamps_pcap_cannot_hold() -> None:
    with PcapWriter(io.BytesIO()) as writer:
        with pytest.raises(PcapError, match="outside"):
            writer.write(-1.0, b"\x00" * 60)
        with pytest.raises(PcapError, match="outside"):
            writer.write(2.0**32, b"\x00" * 60)


def test_writer_on_a_path_creates_the_file_and_write_pcap_counts(tmp_path: Path) -> None:
    path = tmp_path / "out.pcap"
    frames = sample_frames()
    assert write_pcap(path, [(i * 0.5, f) for i, f in enumerate(frames)]) == len(frames)
    assert [r.frame for r in read_pcap(str(path))] == frames


@pytest.mark.parametrize("nanosecond", [False, True])
def test_big_endian_files_read_the_same(nanosecond: bool) -> None:
    times = NANO_TIMES if nanosecond else MICRO_TIMES
    records = list(zip(times, sample_frames(), strict=False))
    little = write_bytes(records, nanosecond=nanosecond)
    big = swap_byte_order(little)
    assert big[:4] == (b"\xa1\xb2\x3c\x4d" if nanosecond else b"\xa1\xb2\xc3\xd4")
    reader = PcapReader(io.BytesIO(big))
    assert (reader.byte_order, reader.nanosecond, reader.linktype) == ("big", nanosecond, 1)
    assert list(reader) == read_pcap(io.BytesIO(little))


def test_reference_capture_rewrites_byte_for_byte() -> None:
    if not REFERENCE.exists():
        pytest.skip(f"reference capture {REFERENCE} is absent")
    original = REFERENCE.read_bytes()
    records = read_pcap(REFERENCE)
    assert len(records) == 407
    assert write_bytes([(r.timestamp, r.frame) for r in records]) == original


# --- damage ---------------------------------------------------------------------------------------


def test_empty_and_garbage_files_are_not_pcap() -> None:
    with pytest.raises(PcapError, match="not a pcap file"):
        PcapReader(io.BytesIO(b""))
    with pytest.raises(PcapError, match="not a pcap file: magic number 0x3c68746d"):
        PcapReader(io.BytesIO(b"<html><body>not a capture</body></html>"))


def test_pcapng_is_named_as_such() -> None:
    block = struct.pack("<IIIHHq", 0x0A0D0D0A, 28, 0x1A2B3C4D, 1, 0, -1) + struct.pack("<I", 28)
    with pytest.raises(PcapError, match="pcapng"):
        PcapReader(io.BytesIO(block))


def test_truncated_global_header() -> None:
    with pytest.raises(PcapError, match="truncated pcap global header: 10 of 24 bytes"):
        PcapReader(io.BytesIO(write_bytes([])[:10]))


def test_truncated_record_header_names_record_and_offset() -> None:
    frames = sample_frames()
    data = write_bytes([(1.0, frames[0]), (2.0, frames[1])])
    offset = len(data)
    damaged = data + b"\x01\x02\x03\x04\x05"
    reader = PcapReader(io.BytesIO(damaged))
    got: list[bytes] = []
    with pytest.raises(PcapError) as info:
        for record in reader:
            got.append(record.frame)
    assert got == frames[:2]  # the good records come first
    message = str(info.value)
    assert f"record 3 at offset {offset}" in message and "truncated record header" in message
    assert "\n" not in message


def test_truncated_final_record_names_record_number() -> None:
    frames = sample_frames()
    data = write_bytes([(float(i), f) for i, f in enumerate(frames)])
    with pytest.raises(PcapError, match=rf"record {len(frames)} at offset \d+: truncated record: "
                                        rf"\d+ of {len(frames[-1])} captured bytes"):
        read_pcap(io.BytesIO(data[:-3]))


def test_absurd_captured_length_is_reported_as_corrupt() -> None:
    data = write_bytes([]) + struct.pack("<IIII", 0, 0, 0x7FFFFFFF, 60)
    with pytest.raises(PcapError, match="record 1 at offset 24: captured length 2147483647"):
        read_pcap(io.BytesIO(data))


@settings(max_examples=300)
@given(st.binary(max_size=200), st.booleans())
def test_any_bytes_either_read_or_raise_pcap_error(tail: bytes, with_header: bool) -> None:
    data = (write_bytes([]) if with_header else b"") + tail
    try:
        records = read_pcap(io.BytesIO(data))
    except PcapError as exc:
        assert "\n" not in str(exc)
    else:
        assert all(len(r.frame) <= len(data) for r in records)


# --- independent readers ------------------------------------------------------------------------


def _sample_file(tmp_path: Path, nanosecond: bool) -> tuple[Path, list[int]]:
    frames = sample_frames()
    base = 1_795_628_022_000_000_000
    stamps = [base + i * 1_234_567_891 for i in range(len(frames))]
    if not nanosecond:
        stamps = [(ns + 500) // 1000 * 1000 for ns in stamps]
    path = tmp_path / ("ns.pcap" if nanosecond else "us.pcap")
    with PcapWriter(path, nanosecond=nanosecond) as writer:
        for ns, frame in zip(stamps, frames, strict=True):
            writer.write_ns(ns, frame)
    return path, stamps


@pytest.mark.parametrize("nanosecond", [False, True])
def test_tcpdump_reads_our_pcaps_with_our_timestamps(
        tmp_path: Path, nanosecond: bool, require_tool: Callable[[str], str]) -> None:
    tcpdump = require_tool("tcpdump")
    path, stamps = _sample_file(tmp_path, nanosecond)
    proc = subprocess.run([tcpdump, "-nn", "-tt", "--time-stamp-precision=nano", "-r", str(path)],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == len(stamps)
    assert [line.split(" ", 1)[0] for line in lines] == [
        f"{ns // 10**9}.{ns % 10**9:09d}" for ns in stamps]


@pytest.mark.parametrize("nanosecond", [False, True])
def test_tshark_reads_our_pcaps_without_malformed_packets(
        tmp_path: Path, nanosecond: bool, require_tool: Callable[[str], str]) -> None:
    tshark = require_tool("tshark")
    path, stamps = _sample_file(tmp_path, nanosecond)
    proc = subprocess.run(
        [tshark, "-r", str(path), "-o", "tcp.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE",
         "-o", "ip.check_checksum:TRUE", "-T", "fields", "-e", "frame.time_epoch",
         "-e", "frame.protocols", "-e", "_ws.expert.message", "-e", "_ws.malformed",
         "-e", "ip.checksum.status", "-e", "tcp.checksum.status", "-e", "udp.checksum.status"],
        capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    rows = [line.split("\t") for line in proc.stdout.splitlines()]
    assert len(rows) == len(stamps)
    good = "1"  # Wireshark's checksum status: 0 bad, 1 good, 2 unverified
    for row, ns in zip(rows, stamps, strict=True):
        epoch, protocols, expert, malformed, ip_ck, tcp_ck, udp_ck = (row + [""] * 7)[:7]
        assert epoch == f"{ns // 10**9}.{ns % 10**9:09d}"
        assert "malformed" not in protocols.lower() and not malformed
        assert "malformed" not in expert.lower() and "bad" not in expert.lower(), expert
        if "ip" in protocols.split(":"):
            assert ip_ck == good
        assert tcp_ck in ("", good) and udp_ck in ("", good)
    assert "ip:tcp" in proc.stdout and "ip:udp" in proc.stdout and "arp" in proc.stdout
