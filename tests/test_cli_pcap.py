"""`netsim pcap FILE`: tcpdump -tt style listing, -v detail, --count, and one-line errors."""

from __future__ import annotations

import io
import struct
import subprocess
from collections.abc import Callable
from ipaddress import IPv4Address
from pathlib import Path

import pytest

from netsim.cli import main
from netsim.wire.ethernet import ETHERTYPE_IPV4, build_ethernet
from netsim.wire.ipv4 import PROTO_TCP, PROTO_UDP, build_ipv4
from netsim.wire.mac import MacAddress
from netsim.wire.pcap import PcapWriter
from netsim.wire.tcp import ACK, build_tcp
from netsim.wire.udp import build_udp

CAPTURES = Path(__file__).resolve().parent / "data" / "captures"  # from shared/captures
REFERENCE = CAPTURES / "linux-nc-lossy.pcap"
REFERENCE_TEXT = CAPTURES / "linux-nc-lossy.tcpdump.txt"

MAC_A, MAC_B = MacAddress("02:00:00:00:00:01"), MacAddress("02:00:00:00:00:02")
IP_A, IP_B = IPv4Address("10.0.0.1"), IPv4Address("10.0.0.2")


def udp_frame(port: int) -> bytes:
    datagram = build_udp(IP_A, IP_B, 5000, port, b"x")
    return build_ethernet(MAC_B, MAC_A, ETHERTYPE_IPV4, build_ipv4(IP_A, IP_B, PROTO_UDP, datagram))


def bad_tcp_frame() -> bytes:
    seg = bytearray(build_tcp(IP_A, IP_B, 1, 2, 3, 4, ACK, 5, b"abcd"))
    seg[12] = 0x30  # data offset 3
    return build_ethernet(MAC_B, MAC_A, ETHERTYPE_IPV4,
                          build_ipv4(IP_A, IP_B, PROTO_TCP, bytes(seg)))


def write(path: Path, frames: list[bytes], *, nanosecond: bool = False,
          start_ns: int = 1_700_000_000_123_456_789) -> Path:
    with PcapWriter(path, nanosecond=nanosecond) as writer:
        for i, frame in enumerate(frames):
            writer.write_ns(start_ns + i * 1_000_001, frame)
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["pcap", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_listing_of_reference_capture_equals_tcpdump_tt_output(
        capsys: pytest.CaptureFixture[str]) -> None:
    if not (REFERENCE.exists() and REFERENCE_TEXT.exists()):
        pytest.skip(f"reference capture {REFERENCE} (and its .tcpdump.txt) is absent")
    code, out, err = run(capsys, str(REFERENCE))
    assert (code, err) == (0, "")
    assert out == REFERENCE_TEXT.read_text()


def test_count_stops_after_n_frames(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path / "u.pcap", [udp_frame(p) for p in range(1000, 1010)])
    code, out, _ = run(capsys, str(path), "--count", "3")
    assert code == 0
    assert [line.split(" > ")[1].split(":")[0] for line in out.splitlines()] == [
        "10.0.0.2.1000", "10.0.0.2.1001", "10.0.0.2.1002"]


def test_timestamps_have_6_decimals_or_9_for_nanosecond_files(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    frames = [udp_frame(7), udp_frame(9)]
    _, micro, _ = run(capsys, str(write(tmp_path / "us.pcap", frames)))
    _, nano, _ = run(capsys, str(write(tmp_path / "ns.pcap", frames, nanosecond=True)))
    assert [line.split(" ")[0] for line in micro.splitlines()] == [
        "1700000000.123457", "1700000000.124457"]
    assert [line.split(" ")[0] for line in nano.splitlines()] == [
        "1700000000.123456789", "1700000000.124456790"]


def test_timestamps_match_tcpdump_for_nanosecond_files(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        require_tool: Callable[[str], str]) -> None:
    tcpdump = require_tool("tcpdump")
    path = write(tmp_path / "ns.pcap", [udp_frame(p) for p in range(5)], nanosecond=True)
    _, ours, _ = run(capsys, str(path))
    theirs = subprocess.run([tcpdump, "-nn", "-S", "-tt", "--time-stamp-precision=nano", "-r",
                             str(path)], capture_output=True, text=True, check=True).stdout
    assert ours == theirs


def test_verbose_adds_an_indented_field_block_under_each_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    corrupt = bytearray(udp_frame(53))
    corrupt[14 + 20 + 6] ^= 0x10
    path = write(tmp_path / "v.pcap", [udp_frame(7), bytes(corrupt)])
    code, out, _ = run(capsys, str(path), "-v")
    assert code == 0
    lines = out.splitlines()
    summaries = [line for line in lines if not line.startswith("    ")]
    assert len(summaries) == 2
    assert summaries[1].endswith("!]") and "[bad udp cksum" in summaries[1]
    assert "    Ethernet II, 43 bytes" in lines
    assert sum("src port 5000  dst port 7  length 9" in line for line in lines) == 1
    assert any("(incorrect, should be 0x" in line for line in lines)


def test_an_unparsable_frame_is_one_line_and_the_listing_goes_on(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path / "bad.pcap", [udp_frame(1), bad_tcp_frame(), b"\x00" * 5, udp_frame(2)])
    code, out, err = run(capsys, str(path))
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert len(lines) == 4
    assert "[malformed: TCP: bad data offset 3 (header length 12 < 20)]" in lines[1]
    assert "[malformed: Ethernet: truncated header: 5 of 14 bytes]" in lines[2]
    assert lines[3].endswith("10.0.0.1.5000 > 10.0.0.2.2: UDP, length 1")


def one_line_error(err: str) -> str:
    assert err.count("\n") == 1 and err.startswith("netsim: "), err
    assert "Traceback" not in err
    return err


def test_missing_file_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, str(tmp_path / "nope.pcap"))
    assert (code, out) == (2, "")
    assert "nope.pcap: no such file" in one_line_error(err)


def test_a_directory_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, str(tmp_path))
    assert (code, out) == (2, "")
    assert "is a directory" in one_line_error(err)


def test_a_file_that_is_not_a_pcap(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello, this is text\n")
    code, out, err = run(capsys, str(path))
    assert (code, out) == (2, "")
    assert "not a pcap file" in one_line_error(err)


def test_a_truncated_file_prints_what_it_can_then_the_error(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path / "t.pcap", [udp_frame(p) for p in range(1, 5)])
    data = path.read_bytes()
    path.write_bytes(data[:-10])
    code, out, err = run(capsys, str(path))
    assert code == 2
    assert len(out.splitlines()) == 3
    assert "record 4 at offset" in one_line_error(err) and "truncated record" in err


def test_a_non_ethernet_capture_is_refused(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    buf = io.BytesIO()
    PcapWriter(buf, linktype=101).close()  # LINKTYPE_RAW
    path = tmp_path / "raw.pcap"
    path.write_bytes(buf.getvalue())
    code, _, err = run(capsys, str(path))
    assert code == 2
    assert "link type 101 is not Ethernet" in one_line_error(err)


def test_count_must_be_positive(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path / "u.pcap", [udp_frame(1)])
    code, out, err = run(capsys, str(path), "--count", "0")
    assert (code, out) == (2, "")
    assert "--count" in one_line_error(err)


def test_installed_command_reports_bad_file_without_traceback(
        tmp_path: Path, netsim_cli: Callable[..., subprocess.CompletedProcess[str]]) -> None:
    path = tmp_path / "short.pcap"
    path.write_bytes(struct.pack("<IHH", 0xA1B2C3D4, 2, 4))
    proc = netsim_cli("pcap", str(path))
    assert proc.returncode == 2
    assert proc.stderr.startswith("netsim: ") and proc.stderr.count("\n") == 1
    assert "truncated pcap global header: 8 of 24 bytes" in proc.stderr
