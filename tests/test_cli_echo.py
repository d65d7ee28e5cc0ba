"""`netsim echo`: one echo exchange as tcpdump-style lines, then the client's TCP states."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from netsim.cli import main
from netsim.wire.pcap import PcapReader
from netsim.wire.summary import summarize

LINE = re.compile(r"^(\d+\.\d{6}) (.*)$")


def echo_lines(capsys: pytest.CaptureFixture[str], *args: str) -> list[str]:
    assert main(["echo", *args]) == 0
    return capsys.readouterr().out.splitlines()


def find_in_order(lines: list[str], patterns: list[str]) -> list[int]:
    """The index of the first line matching each pattern, each after the previous one."""
    found = []
    start = 0
    for pattern in patterns:
        for i in range(start, len(lines)):
            if re.search(pattern, lines[i]):
                found.append(i)
                start = i + 1
                break
        else:
            raise AssertionError(f"no line matching {pattern!r} after line {start}:\n"
                                 + "\n".join(lines))
    return found


def test_echo_shows_arp_handshake_data_close_and_time_wait(
        capsys: pytest.CaptureFixture[str]) -> None:
    lines = echo_lines(capsys)
    find_in_order(lines, [
        r"^0\.000000 ARP, Request who-has 10\.0\.0\.2 tell 10\.0\.0\.1",
        r"ARP, Reply 10\.0\.0\.2 is-at ",
        r"IP 10\.0\.0\.1\.\d+ > 10\.0\.0\.2\.7: Flags \[S\],",
        r"IP 10\.0\.0\.2\.7 > 10\.0\.0\.1\.\d+: Flags \[S\.\],",
        r"IP 10\.0\.0\.1\.\d+ > 10\.0\.0\.2\.7: Flags \[\.\],",
        r"IP 10\.0\.0\.1\.\d+ > 10\.0\.0\.2\.7: Flags \[P\.\], .*length 5$",
        r"IP 10\.0\.0\.2\.7 > 10\.0\.0\.1\.\d+: Flags \[P\.\], .*length 5$",
        r"IP 10\.0\.0\.1\.\d+ > 10\.0\.0\.2\.7: Flags \[F\.\],",
        r"IP 10\.0\.0\.2\.7 > 10\.0\.0\.1\.\d+: Flags \[F\.\],",
        r"IP 10\.0\.0\.1\.\d+ > 10\.0\.0\.2\.7: Flags \[\.\],",
        r"got b'hello' back \(ok\)",
        r"CLOSED -> SYN-SENT",
        r"SYN-SENT -> ESTABLISHED",
        r"ESTABLISHED -> FIN-WAIT-1",
        r"FIN-WAIT-1 -> FIN-WAIT-2",
        r"FIN-WAIT-2 -> TIME-WAIT",
        r"TIME-WAIT -> CLOSED",
    ])
    # Timestamps count up from 0 and the close sequence comes from TIME-WAIT expiring.
    frames = lines[1:lines.index("")]
    frame_times = [float(m.group(1)) for line in frames if (m := LINE.match(line))]
    assert len(frame_times) == len(frames) >= 11
    assert frame_times[0] == 0 and frame_times == sorted(frame_times)
    assert any("MSL" in line for line in lines)


def test_time_wait_lasts_two_msl(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["echo", "--json", "--msl", "0.25s", "--delay", "3ms"]) == 0
    doc = json.loads(capsys.readouterr().out)
    states = doc["states"]
    assert [s["new"] for s in states][-2:] == ["TIME-WAIT", "CLOSED"]
    assert states[-1]["time"] - states[-2]["time"] == pytest.approx(0.5)
    assert doc["ok"] is True and doc["reply"] == doc["message"] == "hello"
    assert doc["msl"] == 0.25


def test_message_flag_and_lossy_link(capsys: pytest.CaptureFixture[str]) -> None:
    text = "the quick brown fox " * 200  # 4000 bytes: several segments each way
    lines = echo_lines(capsys, "--message", text, "--loss", "0.1", "--seed", "7")
    assert any("(ok)" in line for line in lines)
    data = [line for line in lines if "Flags [P.]" in line or "Flags [.]" in line]
    lengths = [int(line.rsplit("length ", 1)[1]) for line in data if "10.0.0.2.7:" in line]
    assert sum(lengths) >= len(text)
    assert lines[-1].endswith("TIME-WAIT -> CLOSED (2MSL timeout)")


def test_pcap_has_the_frames_that_were_printed(capsys: pytest.CaptureFixture[str],
                                              tmp_path: Path) -> None:
    path = tmp_path / "echo.pcap"
    lines = echo_lines(capsys, "--pcap", str(path))
    printed = [m.group(2) for line in lines if (m := LINE.match(line)) and
               ("ARP," in m.group(2) or m.group(2).startswith("IP "))]
    with PcapReader(path) as reader:
        captured = [summarize(rec.frame) for rec in reader]
    # the capture also holds the hosts' gratuitous ARPs from before the client started
    assert captured[-len(printed):] == printed
    assert any("Flags [S]" in s for s in captured)


@pytest.mark.parametrize(("args", "flag"), [
    (["--msl", "0"], "--msl"),
    (["--msl", "soon"], "--msl"),
    (["--rate", "fast"], "--rate"),
])
def test_bad_values_exit_2_with_one_line(capsys: pytest.CaptureFixture[str],
                                         args: list[str], flag: str) -> None:
    assert main(["echo", *args]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1 and flag in captured.err
