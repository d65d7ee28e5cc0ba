"""`netsim sim`: one bulk transfer, summarised for people or as one JSON object."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from netsim.apps.bulk import expected_sha256
from netsim.cli import main
from netsim.wire.ethernet import ETHERTYPE_IPV4, parse_ethernet
from netsim.wire.ipv4 import PROTO_TCP, parse_ipv4
from netsim.wire.pcap import PcapReader
from netsim.wire.tcp import ACK, SYN, parse_tcp

KEYS = {
    "bytes_sent", "bytes_delivered", "sha256_sent", "sha256_received", "intact", "sim_seconds",
    "wall_seconds", "goodput_bps", "data_segments", "retransmissions", "timeouts",
    "fast_retransmits", "sack_recoveries", "cc", "mss", "seed", "delay", "rate_bps", "loss",
    "mtu", "queue_packets",
}


def sim_json(capsys: pytest.CaptureFixture[str], *args: str,
             status: int = 0) -> dict[str, Any]:
    assert main(["sim", "--json", *args]) == status
    out = capsys.readouterr().out
    assert out.count("\n") == 1  # exactly one JSON object, on one line
    doc = json.loads(out)
    assert isinstance(doc, dict)
    return doc


def test_json_over_clean_link_has_every_key_and_no_retransmission(
        capsys: pytest.CaptureFixture[str]) -> None:
    doc = sim_json(capsys, "--bytes", "300kB", "--delay", "5ms", "--rate", "20Mbit")
    assert doc.keys() >= KEYS
    assert doc["intact"] is True
    assert doc["bytes_sent"] == doc["bytes_delivered"] == 300_000
    assert doc["sha256_sent"] == doc["sha256_received"] == expected_sha256(300_000, 1)
    assert doc["retransmissions"] == doc["timeouts"] == 0
    assert doc["delay"] == 0.005 and doc["rate_bps"] == 20e6 and doc["loss"] == 0
    assert doc["mss"] == 1448 and doc["cc"] == "newreno" and doc["seed"] == 1
    assert doc["data_segments"] == math.ceil(300_000 / 1448)
    # 300 kB cannot cross a 20 Mbit/s link faster than the rate allows.
    assert doc["sim_seconds"] > 300_000 * 8 / 20e6
    assert doc["goodput_bps"] == pytest.approx(300_000 * 8 / doc["sim_seconds"])
    assert doc["goodput_bps"] < 20e6


def test_json_over_lossy_link_shows_retransmissions_and_data_still_intact(
        capsys: pytest.CaptureFixture[str]) -> None:
    doc = sim_json(capsys, "--bytes", "300kB", "--delay", "5ms", "--loss", "0.03",
                   "--seed", "4")
    assert doc["intact"] is True
    assert doc["bytes_delivered"] == 300_000
    assert doc["sha256_received"] == doc["sha256_sent"] == expected_sha256(300_000, 4)
    assert doc["retransmissions"] > 0
    assert doc["loss"] == 0.03 and doc["seed"] == 4
    assert doc["link_drops"]["loss"] > 0


def test_same_seed_gives_the_same_run(capsys: pytest.CaptureFixture[str]) -> None:
    args = ("--bytes", "200kB", "--loss", "0.05", "--reorder", "0.02", "--seed", "11")
    first = sim_json(capsys, *args)
    second = sim_json(capsys, *args)
    for doc in (first, second):
        del doc["wall_seconds"]
    assert first == second
    third = sim_json(capsys, *args[:-1], "12")
    assert third["sha256_sent"] != first["sha256_sent"]


def test_summary_lines_for_people(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sim", "--bytes", "100kB", "--loss", "0.05", "--seed", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    names = [line.split()[0] for line in lines]
    for name in ("transferred", "intact", "time", "goodput", "segments", "retransmissions",
                 "timeouts"):
        assert name in names
    intact = lines[names.index("intact")]
    assert intact.split()[1] == "yes"
    assert "100000 of 100000 bytes" in lines[names.index("transferred")]
    # aligned: every value starts in the same column
    columns = {len(line) - len(line[len(name):].lstrip())
               for line, name in zip(lines, names, strict=True)}
    assert len(columns) == 1


def test_mss_sets_the_payload_of_full_segments(capsys: pytest.CaptureFixture[str]) -> None:
    doc = sim_json(capsys, "--bytes", "100000", "--mss", "1000")
    assert doc["mss"] == 1000
    assert doc["data_segments"] == 100


def test_pcap_holds_the_handshake_and_the_data(capsys: pytest.CaptureFixture[str],
                                               tmp_path: Path) -> None:
    path = tmp_path / "run.pcap"
    doc = sim_json(capsys, "--bytes", "50kB", "--pcap", str(path))
    segments = []
    with PcapReader(path) as reader:
        for rec in reader:
            eth = parse_ethernet(rec.frame)
            if eth.ethertype != ETHERTYPE_IPV4:
                continue
            ip = parse_ipv4(eth.payload)
            if ip.protocol == PROTO_TCP:
                segments.append(parse_tcp(ip.payload, ip.src, ip.dst))
    flags = [s.flags & (SYN | ACK) for s in segments[:3]]
    assert flags == [SYN, SYN | ACK, ACK]
    syn, synack, ack = segments[:3]
    assert synack.ack == (syn.seq + 1) % 2**32 and ack.ack == (synack.seq + 1) % 2**32
    to_h2 = [s for s in segments if s.dst_port == 5001 and s.payload]
    delivered = {s.seq: s.payload for s in to_h2}  # retransmissions overwrite equal bytes
    assert sum(len(p) for p in delivered.values()) == 50_000
    assert len(to_h2) == doc["data_segments"]


def test_student_congestion_control_class_is_loaded_from_a_file(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    student = tmp_path / "my_cc.py"
    student.write_text(
        "from netsim.stack.tcp.congestion.reno import FixedWindow\n"
        "class StopAndWait(FixedWindow):\n"
        "    def __init__(self):\n"
        "        super().__init__(segments=1)\n"
        "def not_a_class():\n"
        "    pass\n"
        "class Empty:\n"
        "    pass\n"
    )
    common = ("--bytes", "50kB", "--delay", "10ms")
    doc = sim_json(capsys, *common, "--cc", f"{student}:StopAndWait")
    assert doc["intact"] is True and doc["cc"] == f"{student}:StopAndWait"
    # One segment per round trip: the class really is the sender's controller.
    segments = math.ceil(50_000 / 1448)
    assert doc["sim_seconds"] > segments * 0.020
    assert sim_json(capsys, *common)["sim_seconds"] < segments * 0.020 / 3
    for name, why in (("not_a_class", "not a class"), ("Empty", "lacks"),
                      ("Missing", "has no")):
        assert main(["sim", "--cc", f"{student}:{name}"]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "--cc" in err and why in err
    broken = tmp_path / "broken.py"
    broken.write_text("class X(:\n")
    assert main(["sim", "--cc", f"{broken}:X"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--cc" in err and "SyntaxError" in err


def test_a_student_controller_module_runs_once_per_command_and_again_after_an_edit(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """The CLI checks --cc before the run and the run builds its config again: the student's
    module (which may print, count or open files) must still execute once, and a notebook that
    edits the file and runs again must get the new version."""
    runs = tmp_path / "runs.txt"
    student = tmp_path / "counting_cc.py"
    source = (
        "from pathlib import Path\n"
        f"_runs = Path({str(runs)!r})\n"
        "_runs.write_text(_runs.read_text() + 'VERSION\\n' if _runs.exists() else 'VERSION\\n')\n"
        "from netsim.stack.tcp.congestion.reno import FixedWindow\n"
        "class Window(FixedWindow):\n"
        "    def __init__(self):\n"
        "        super().__init__(segments=SEGMENTS)\n"
    )
    student.write_text(source.replace("VERSION", "v1").replace("SEGMENTS", "1"))
    common = ("--bytes", "20kB", "--delay", "10ms")
    assert sim_json(capsys, *common, "--cc", f"{student}:Window")["intact"] is True
    assert runs.read_text().splitlines() == ["v1"]
    slow = sim_json(capsys, *common, "--cc", f"{student}:Window")["sim_seconds"]
    assert runs.read_text().splitlines() == ["v1"]  # same file, same process: not re-run
    student.write_text(source.replace("VERSION", "v2").replace("SEGMENTS", "8") + "\n# edited\n")
    fast = sim_json(capsys, *common, "--cc", f"{student}:Window")["sim_seconds"]
    assert runs.read_text().splitlines() == ["v1", "v2"]
    assert fast < slow / 2  # the edited controller (8 segments per RTT) is the one that ran


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (["--bytes", "1x"], "--bytes"),
        (["--bytes", "-5"], "--bytes"),
        (["--mss", "10"], "--mss"),
        (["--mss", "1460"], "--mss"),  # 1460 + 12 for timestamps does not fit in 1500
        (["--mss", "big"], "--mss"),
        (["--cc", "nope"], "--cc"),
        (["--cc", "missing.py:X"], "--cc"),
        (["--loss", "2"], "--loss"),
        (["--delay", "10xs"], "--delay"),
        (["--time-limit", "0"], "--time-limit"),
    ],
)
def test_bad_values_exit_2_with_one_line_naming_the_flag(
        capsys: pytest.CaptureFixture[str], args: list[str], flag: str) -> None:
    assert main(["sim", *args]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1
    assert captured.err.startswith("netsim: error: ") and flag in captured.err


def test_unwritable_pcap_is_a_usage_error(capsys: pytest.CaptureFixture[str],
                                          tmp_path: Path) -> None:
    assert main(["sim", "--bytes", "1kB", "--pcap", str(tmp_path / "no" / "x.pcap")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--pcap" in err


def test_transfer_over_a_dead_link_fails_with_status_1(
        capsys: pytest.CaptureFixture[str]) -> None:
    doc = sim_json(capsys, "--bytes", "10kB", "--loss", "1", status=1)
    assert doc["intact"] is False and doc["completed"] is False
    assert doc["bytes_delivered"] == 0 and doc["error"]


def test_run_bulk_feeds_the_tracer_and_uses_the_reverse_link() -> None:
    from netsim.sim.link import LinkConfig
    from netsim.sim.scenario import BulkScenario, run_bulk
    from netsim.stack.events import StateRecord, TraceRecord

    class Collect:
        def __init__(self) -> None:
            self.records: list[TraceRecord] = []

        def record(self, rec: TraceRecord) -> None:
            self.records.append(rec)

    tracer = Collect()
    slow_acks = LinkConfig(delay=0.05, rate_bps=1e6)
    result = run_bulk(BulkScenario(bytes=20_000, link=LinkConfig(delay=0.001, rate_bps=1e8),
                                   reverse=slow_acks, trace=tracer, seed=3))
    assert result.intact and result.reverse_link is not None
    assert result.reverse_link["delay"] == 0.05
    # A round trip is at least the two one-way delays.
    assert result.sim_seconds > 0.051
    states = [(r.host, r.new) for r in tracer.records if isinstance(r, StateRecord)]
    assert ("h1", "ESTABLISHED") in states and ("h2", "CLOSED") in states
    assert ("h1", "TIME-WAIT") in states  # the world stopped during the sender's TIME-WAIT
    assert ("h1", "CLOSED") not in states


def test_flows_share_the_link_and_report_fairness(capsys: pytest.CaptureFixture[str]) -> None:
    # Three connections over one 10 Mbit/s link: each arrives intact, together they fill
    # the link, and Jain's index of their goodputs is reported.
    doc = sim_json(capsys, "--bytes", "1MB", "--flows", "3", "--rate", "10Mbit",
                   "--queue", "50")
    assert doc["flows"] == 3 and doc["intact"] is True
    assert doc["bytes_requested"] == doc["bytes_delivered"] == 3_000_000
    assert len(doc["flow_goodputs_bps"]) == 3
    squares = sum(g * g for g in doc["flow_goodputs_bps"])
    assert doc["jain_fairness"] == pytest.approx(sum(doc["flow_goodputs_bps"]) ** 2
                                                 / (3 * squares))
    assert 1 / 3 < doc["jain_fairness"] <= 1.0
    assert 7e6 < doc["goodput_bps"] <= 10e6
    one = sim_json(capsys, "--bytes", "1MB", "--rate", "10Mbit", "--queue", "50")
    assert one["flows"] == 1 and one["jain_fairness"] == 1.0


def test_flows_must_be_a_sensible_count(capsys: pytest.CaptureFixture[str]) -> None:
    for bad in ("0", "x", "5000"):
        assert main(["sim", "--flows", bad]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "--flows" in err


# ---------------------------------------------------------------------- long runs (issue 21)
def test_hours_of_simulated_time_are_announced_and_summarised_in_hours(
        capsys: pytest.CaptureFixture[str]) -> None:
    # 30% loss each way: RTO backoff makes 1 MB take hours of simulated time (about 0.1 s of
    # wall time). The note comes before the run; the summary says hours, not "16000 s".
    assert main(["sim", "--loss", "0.3", "--bytes", "2MB", "--progress", "off"]) == 0
    out, err = capsys.readouterr()
    assert err.startswith("netsim: note: expect at least ") and "of simulated time" in err
    time_line = next(line for line in out.splitlines() if line.startswith("time "))
    assert " h simulated" in time_line, time_line


def test_allow_large_runs_what_the_limit_refuses(capsys: pytest.CaptureFixture[str]) -> None:
    # 20 GB over an infinitely fast link is estimated at most of an hour of wall time: refused,
    # unless asked for; the time limit then stops it after 60 ms of simulated time.
    args = ["sim", "--bytes", "20GB", "--rate", "none", "--time-limit", "60ms"]
    assert main(args) == 2
    assert "pass --allow-large" in capsys.readouterr().err
    assert main([*args, "--allow-large", "--json"]) == 1  # ran, stopped by the time limit
    summary = json.loads(capsys.readouterr().out)
    assert summary["error"] == "time limit of 0.06 s reached"
    assert summary["data_segments"] > 0 and summary["bytes_delivered"] < 20e9


def test_progress_bar_shows_the_time_left() -> None:
    import io

    from netsim.cli.progressbar import Progress

    now = [0.0]
    buf = io.StringIO()
    bar = Progress(1000, buf, clock=lambda: now[0])
    now[0] = 4.0
    bar.update(250, 7200.0)  # a quarter done after 4 s: 12 s to go
    line = buf.getvalue()
    assert "25.0%" in line and "simulated time 2 h" in line and "about 12 s left" in line
