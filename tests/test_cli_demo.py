"""`netsim demo`: the files it writes agree with each other and with the run, its summary tells
the truth, bad arguments are one-line errors, and the progress bar shows only on long runs."""

from __future__ import annotations

import io
import json
import struct
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import simpy

from netsim.cli.demo import Progress, progress_process
from netsim.trace import read_jsonl
from netsim.wire.pcap import read_pcap

RunCli = Callable[..., subprocess.CompletedProcess[str]]
ETH_TCP = 14 + 20  # the TCP header starts after Ethernet and a 20-byte IPv4 header


def png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    width, height = struct.unpack(">II", head[16:24])
    return width, height


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, object]]:
    """One `netsim demo --json` run of 300 kB with 3% loss (module-wide: it is the slow part)."""
    import contextlib

    from netsim.cli import main

    out = tmp_path_factory.mktemp("demo") / "out"
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        status = main(["demo", "--out", str(out), "--bytes", "300kB", "--loss", "0.03",
                       "--json", "--progress", "off"])
    assert status == 0
    return out, json.loads(buf.getvalue())


def test_demo_writes_the_four_files_into_the_folder(demo_run: tuple[Path, dict]) -> None:
    out, summary = demo_run
    files = summary["files"]
    assert isinstance(files, dict)
    assert set(files) == {"combined", "ladder", "pcap", "trace"}
    for path in files.values():
        assert Path(path).parent == out and Path(path).stat().st_size > 0
    w, h = png_size(out / "combined.png")
    assert w >= 800 and h >= 800  # readable: ~10 x 10 inches
    w, h = png_size(out / "ladder.png")
    assert w >= 800 and h >= 400


def test_demo_summary_agrees_with_its_trace(demo_run: tuple[Path, dict]) -> None:
    out, s = demo_run
    assert s["intact"] is True and s["bytes_delivered"] == 300_000 == s["bytes"]
    rec = read_jsonl(out / "trace.jsonl")
    assert len(rec) == s["trace_records"]
    conn = rec.sender()
    data = [seg for seg in rec.segments(conn, "tx") if seg.length]
    assert s["data_segments"] == len(data)
    assert s["retransmissions"] == sum(seg.retransmit for seg in data) > 0
    assert s["fast_retransmits"] == len(rec.events(conn, "fast_retransmit"))
    assert s["frames_lost"] == len(rec.drops(where="link")) > 0


def test_demo_pcap_holds_the_segments_h1_sent_and_received(demo_run: tuple[Path, dict]) -> None:
    out, _ = demo_run
    rec = read_jsonl(out / "trace.jsonl")
    conn = rec.sender()
    tcp = [r for r in read_pcap(out / "demo.pcap") if r.frame[12:14] == b"\x08\x00"
           and r.frame[14 + 9] == 6]
    # Frames from h1 carry h1's source port (49152); frames to h1 carry it as destination.
    sport = int(conn.split(">")[0].rsplit(":", 1)[1])
    sent = [r for r in tcp if int.from_bytes(r.frame[ETH_TCP:ETH_TCP + 2], "big") == sport]
    got = [r for r in tcp if int.from_bytes(r.frame[ETH_TCP + 2:ETH_TCP + 4], "big") == sport]
    assert len(sent) == len(rec.segments(conn, "tx"))
    assert len(got) == len(rec.segments(conn, "rx"))
    # The same times (simulated, ns resolution in the pcap), except that the SYN waited on
    # the wire for ARP: the trace has the time TCP sent it, the pcap the time it left.
    tx = rec.segments(conn, "tx")
    assert sent[0].timestamp > tx[0].time and "S" in tx[0].flags
    assert [round(r.timestamp, 6) for r in sent[1:]] == [round(s.time, 6) for s in tx[1:]]


def test_demo_matches_netsim_sim_for_the_same_flags(demo_run: tuple[Path, dict],
                                                    netsim_cli: RunCli) -> None:
    _, s = demo_run
    res = netsim_cli("sim", "--bytes", "300kB", "--loss", "0.03", "--delay", "20ms",
                     "--rate", "10Mbit", "--queue", "100", "--json")
    assert res.returncode == 0, res.stderr
    sim = json.loads(res.stdout)
    assert sim["data_segments"] == s["data_segments"]
    assert sim["retransmissions"] == s["retransmissions"]
    assert sim["timeouts"] == s["timeouts"]


def test_demo_prints_where_the_files_are(netsim_cli: RunCli, tmp_path: Path) -> None:
    res = netsim_cli("demo", "--bytes", "100kB", "--out", "d", "--ladder", "8")
    assert res.returncode == 0, res.stderr
    out = res.stdout
    assert "verified by SHA-256" in out
    for name in ("combined.png", "ladder.png", "demo.pcap", "trace.jsonl"):
        assert name in out
        assert (tmp_path / "d" / name).is_file()
    assert "files in d/" in out
    assert res.stderr == ""  # no progress bar when stderr is not a terminal


def test_demo_help_shows_the_demo_link_defaults(netsim_cli: RunCli) -> None:
    res = netsim_cli("demo", "--help")
    assert res.returncode == 0
    text = " ".join(res.stdout.split())
    for default in ("(default 20ms)", "(default 10Mbit)", "(default 0.02)", "(default 2MB)",
                    "(default ./netsim-demo)"):
        assert default in text


@pytest.mark.parametrize("args, flag", [
    (["--bytes", "0"], "--bytes"),
    (["--bytes", "lots"], "--bytes"),
    (["--loss", "2"], "--loss"),
    (["--ladder", "1"], "--ladder"),
    (["--cc", "vegas"], "--cc"),
])
def test_bad_demo_arguments_are_one_line_errors(netsim_cli: RunCli, args: list[str],
                                                flag: str) -> None:
    res = netsim_cli("demo", "--out", "x", *args)
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and flag in lines[0]
    assert "Traceback" not in res.stderr


# ---------------------------------------------------------------------- progress bar
class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_progress_bar_stays_silent_during_the_first_second() -> None:
    clock = FakeClock()
    buf = io.StringIO()
    bar = Progress(1000, buf, clock=clock)
    clock.now = 0.9
    bar.update(500, 1.0)
    bar.finish(1000, 2.0)
    assert buf.getvalue() == ""


def test_progress_process_draws_growing_percentages_as_simulated_time_advances() -> None:
    clock = FakeClock()
    buf = io.StringIO()
    bar = Progress(1000, buf, clock=clock, after=1.0)
    env = simpy.Environment()
    done = [0]

    def transfer() -> simpy.events.ProcessGenerator:
        for _ in range(10):
            yield env.timeout(0.1)
            done[0] += 100
            clock.now += 0.5  # half a wall second per step: a slow run

    proc = env.process(transfer())
    env.process(progress_process(env, bar, lambda: done[0], lambda: proc.triggered, step=0.1))
    env.run()
    bar.finish(done[0], float(env.now))
    frames = [f for f in buf.getvalue().split("\r") if f]
    percents = [float(f.split("%")[0].split("]")[1]) for f in frames]
    assert percents == sorted(percents) and percents[-1] == 100.0
    assert len(percents) >= 5
    assert buf.getvalue().endswith("\n")
    assert "simulated time" in frames[0]


# ---------------------------------------------------------------------- netsim sim --trace/--plot
def test_sim_writes_the_trace_and_the_combined_figure(netsim_cli: RunCli, tmp_path: Path) -> None:
    res = netsim_cli("sim", "--bytes", "200kB", "--loss", "0.02", "--json",
                     "--trace", "run.jsonl", "--plot", "run.png")
    assert res.returncode == 0, res.stderr
    summary = json.loads(res.stdout)
    rec = read_jsonl(tmp_path / "run.jsonl")
    conn = rec.sender()
    data = [s for s in rec.segments(conn, "tx") if s.length]
    assert len(data) == summary["data_segments"]
    assert sum(s.retransmit for s in data) == summary["retransmissions"]
    w, h = png_size(tmp_path / "run.png")
    assert w >= 800 and h >= 800


def test_sim_refuses_unwritable_trace_and_plot_paths_before_running(netsim_cli: RunCli) -> None:
    res = netsim_cli("sim", "--bytes", "10MB", "--plot", "out.xyz")
    assert res.returncode == 2 and "--plot" in res.stderr and res.stdout == ""
    res = netsim_cli("sim", "--bytes", "10MB", "--trace", "no/such/dir/t.jsonl")
    assert res.returncode == 2 and "--trace" in res.stderr and res.stdout == ""
