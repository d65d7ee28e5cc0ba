"""The benchmark scripts run with tiny parameters and print their tables (no timing asserted)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"


def run_script(name: str, *args: str, timeout: float = 120) -> str:
    proc = subprocess.run([sys.executable, str(BENCH / name), *args], capture_output=True,
                          text=True, timeout=timeout, check=False)
    assert proc.returncode == 0, f"{name} {args} exit {proc.returncode}:\n{proc.stderr[-3000:]}"
    return proc.stdout


def test_bench_bulk_prints_a_row_per_variant_with_the_data_intact() -> None:
    out = run_script("bench_bulk.py", "--bytes", "150kB")
    lines = out.splitlines()
    header = next(i for i, line in enumerate(lines) if "segs/wall-s" in line)
    rows = [line.split() for line in lines[header + 1:] if line.startswith(" ") or
            line.startswith("netsim")]
    assert [r[1] for r in rows] == ["lossy", "clean", "chain3"]
    assert all(r[0] in ("netsim", "netsim+mypyc") and r[2] == "newreno" and r[-1] == "yes"
               for r in rows)
    # 150 kB at 1448 bytes per segment: at least 104 data segments in every variant.
    assert all(int(r[5]) >= 104 for r in rows)


def test_bench_bulk_runs_each_controller_named() -> None:
    out = run_script("bench_bulk.py", "--bytes", "150kB", "--variants", "lossy",
                     "--cc", "newreno,bbr")
    lines = out.splitlines()
    header = next(i for i, line in enumerate(lines) if "segs/wall-s" in line)
    rows = [line.split() for line in lines[header + 1:] if line.strip().startswith("netsim")]
    assert [(r[1], r[2], r[-1]) for r in rows] == [("lossy", "newreno", "yes"),
                                                   ("lossy", "bbr", "yes")]


def test_bench_bulk_zeros_sends_the_same_segments_as_the_random_payload() -> None:
    """--payload zeros (ns-3's apps: no data generated, nothing hashed) changes the work
    around TCP, not the transfer: the same data segments and retransmissions per variant."""
    import json

    def rows(payload: str) -> dict[str, tuple[int, int, bool]]:
        out = run_script("bench_bulk.py", "--bytes", "150kB", "--json", "--payload", payload)
        found = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
        assert all(r["payload"] == payload for r in found)
        return {r["variant"]: (r["data_segments"], r["retransmissions"], r["intact"])
                for r in found}

    random_rows, zero_rows = rows("random"), rows("zeros")
    assert list(zero_rows) == ["lossy", "clean", "chain3"]
    assert zero_rows == random_rows
    assert all(ok for _, _, ok in zero_rows.values())


def test_bench_bulk_profile_lists_the_stack_functions() -> None:
    out = run_script("bench_bulk.py", "--bytes", "100kB", "--profile", "--top", "15")
    assert "function calls" in out
    assert "tottime" in out


def test_bench_aqm_prints_a_row_per_queue_discipline() -> None:
    out = run_script("bench_aqm.py", "--duration", "4", "--warmup", "2")
    rows = [line.split(" | ") for line in out.splitlines()[1:]]
    assert [r[0] for r in rows] == ["droptail", "codel", "fq_codel"]
    delay = {r[0]: float(r[2]) for r in rows}
    assert delay["codel"] < delay["droptail"] / 5  # CoDel keeps the queue short


def test_bench_memory_prints_the_curve_and_the_cost_per_connection() -> None:
    out = run_script("bench_memory.py", "--bytes", "3MB", "--every", "1MB",
                     "--connections", "40", "--tracemalloc")
    assert "RSS growth from the first" in out
    curve = [line for line in out.splitlines() if line.strip().endswith(tuple("0123456789"))
             and "Mi" in line]
    assert len(curve) >= 4  # the start, then every 1 MB of the 3 MB
    assert "40 idle established connections" in out
    assert "client side ESTABLISHED: 40, server side: 40" in out
    assert "bytes per connection" in out and "tracemalloc" in out


def test_bench_scaling_connections_are_compared_each_with_its_own_sink() -> None:
    """Past 256 connections the first SYNs overflow the ARP queue (it keeps the latest 256)
    and are sent again a second later, so the listener accepts them last: the run is intact,
    and says so. (Digests were compared in list order, and --conns 1000 printed "ok NO".)"""
    out = run_script("bench_scaling.py", "--part", "conns", "--conns", "3,300",
                     "--per-conn", "2kB")
    rows = {r[0]: r for r in (line.split() for line in out.splitlines())
            if r[:1] in (["3"], ["300"])}
    assert set(rows) == {"3", "300"}, out
    assert int(rows["300"][4]) > 0, out  # SYNs sent again: accepted out of connect order
    assert rows["3"][-1] == rows["300"][-1] == "yes", out


def test_bench_scaling_prints_both_tables() -> None:
    out = run_script("bench_scaling.py", "--mb", "0.2,0.4", "--conns", "2,3",
                     "--per-conn", "30kB")
    lines = out.splitlines()
    byte_rows = [line.split() for line in lines if line.split()[:1] in (["0.2"], ["0.4"])]
    conn_rows = [line.split() for line in lines if line.split()[:1] in (["2"], ["3"])]
    assert len(byte_rows) == 2 and len(conn_rows) == 2
    assert all(r[-1] == "yes" for r in byte_rows + conn_rows)
    # More bytes, more segments; more connections (30 kB each), more segments.
    assert int(byte_rows[0][3]) < int(byte_rows[1][3])
    assert int(conn_rows[0][3]) < int(conn_rows[1][3])


def test_ns3_bulk_without_the_package_says_how_to_install_it(tmp_path: Path) -> None:
    # A fake, empty site: `ns` cannot be found, whether or not the real package is installed.
    code = ("import sys, runpy; sys.path = [p for p in sys.path if 'site-packages' not in p]; "
            f"sys.path.insert(0, {str(BENCH)!r}); sys.argv = ['ns3_bulk.py', '--bytes', '1MB']; "
            "runpy.run_path(sys.path[0] + '/ns3_bulk.py', run_name='__main__')")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=False)
    assert proc.returncode == 2
    assert "pip install" in proc.stderr and "ns3" in proc.stderr


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("ns") is None, reason="the ns3 package (optional "
                    "extra .[ns3]) is not installed")
def test_ns3_bulk_runs_the_scenario_and_reports_segments() -> None:
    out = run_script("ns3_bulk.py", "--bytes", "300kB", timeout=240)
    values = dict(line.split(None, 1) for line in out.splitlines() if line.strip())
    assert values["completed"].strip() == "True"
    assert int(values["bytes_delivered"]) == 300_000
    assert int(values["data_segments"]) >= 300_000 // 1448


def test_ns3_bulk_refuses_a_negative_router_count() -> None:
    proc = subprocess.run([sys.executable, str(BENCH / "ns3_bulk.py"), "--routers", "-1"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 2
    assert "--routers" in proc.stderr and "negative" in proc.stderr


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("ns") is None, reason="the ns3 package (optional "
                    "extra .[ns3]) is not installed")
def test_ns3_bulk_runs_the_chain_through_routers() -> None:
    # bench_bulk's chain3 in ns-3: without routes through r1..r3 nothing would arrive
    out = run_script("ns3_bulk.py", "--bytes", "200kB", "--routers", "3", "--loss", "0",
                     timeout=240)
    values = dict(line.split(None, 1) for line in out.splitlines() if line.strip())
    assert values["completed"].strip() == "True" and values["routers"].strip() == "3"
    assert int(values["bytes_delivered"]) == 200_000
    assert int(values["retransmissions"]) == 0


def test_bench_live_records_the_ping_rtts_next_to_the_rates(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    """README's live table quotes the ping medians and p99s of benchmarks/results/live.json:
    `bench_live.py --record` writes them (in microseconds, with the replies) beside the rates.
    The live run itself needs root; this checks what it writes."""
    monkeypatch.syspath_prepend(str(BENCH))
    spec = importlib.util.spec_from_file_location("bench_live", BENCH / "bench_live.py")
    assert spec and spec.loader
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    import _record

    sinks = [{"mtu": 1500, "netsim_sink_mb_per_s": 60.0, "linux_veth_mb_per_s": 400.0,
              "netsim_nc_whole_run_mb_per_s": 55.0, "netsim_mb_per_cpu_s": 50.0}]
    netsim_rtts = [k / 1000 for k in range(1, 201)]        # 1 .. 200 us, in ms as ping prints
    veth_rtts = [0.007] * 199                               # one echo lost
    out = tmp_path / "live.json"
    _record.write(str(out), bench.results(100, 3, sinks, netsim_rtts, veth_rtts),
                  _record.machine())
    record = json.loads(out.read_text())
    assert record["sinks"] == sinks and record["mb"] == 100 and record["repeat"] == 3
    assert record["ping"]["netsim"] == {"median_us": 100.5, "p99_us": 199.0, "replies": 200}
    assert record["ping"]["linux_veth"] == {"median_us": 7.0, "p99_us": 7.0, "replies": 199}
    assert record["ping"]["echoes"] == 200
    # no replies: nothing to quote, and the README's values then fail to format
    assert bench.results(100, 3, sinks, [], veth_rtts)["ping"]["netsim"] == {
        "median_us": None, "p99_us": None, "replies": 0}


def test_bench_switch_prints_a_row_per_path_with_the_data_intact() -> None:
    out = run_script("bench_switch.py", "--bytes", "200kB", "--repeat", "1", "--frames", "1000")
    rows = [line.split() for line in out.splitlines()[2:5]]
    assert "Bridge.receive alone" in out.splitlines()[5]
    assert [" ".join(r[:2]) for r in rows] == ["direct link", "one switch", "three switches"]
    assert all(r[-1] == "yes" for r in rows)
    frames = [int(r[3]) for r in rows]
    # 1, 2 and 4 links: about 2 and 4 times the direct link's frames (not exactly: a longer
    # path changes when RACK's loss probes fire, and so the segments sent)
    assert frames[1] == pytest.approx(2 * frames[0], rel=0.03)
    assert frames[2] == pytest.approx(4 * frames[0], rel=0.03)


def test_bench_rip_prints_a_row_per_graph_with_complete_tables() -> None:
    out = run_script("bench_rip.py", "--routers", "5,12", "--seconds", "40", "--repeat", "1")
    rows = [line.split() for line in out.splitlines()[2:]]
    assert [r[0] for r in rows] == ["5", "12"]
    assert all(r[-1] == "yes" and int(r[5]) > 0 for r in rows)


def test_bench_rack_prints_a_row_per_scenario_and_configuration() -> None:
    out = run_script("bench_rack.py", "--bytes", "300kB", "--seeds", "1")
    rows = [line.split() for line in out.splitlines()[1:]]
    assert [(r[0], r[1]) for r in rows] == [(s, c) for s in ("loss", "reorder")
                                            for c in ("dupack", "rack", "rack-nodsack")]
    assert all(r[-1] == "yes" for r in rows)


def test_mathis_can_turn_rack_off() -> None:
    # At 5% loss RACK-TLP repairs the losses without the timer; DupAck counting alone
    # (--no-rack) leaves some to it: the "RTO share" column (the last but one) shows it.
    def rto_shares(*flags: str) -> tuple[str, list[float]]:
        out = run_script("mathis.py", "--quick", "--losses", "0.05", "--jobs", "1", *flags)
        rows = [line.split() for line in out.splitlines() if line.startswith(" 0.050")]
        assert len(rows) == 2  # delayed ACK off and on
        return out.splitlines()[0], [float(r[-2].rstrip("%")) for r in rows]

    head_on, on = rto_shares()
    head_off, off = rto_shares("--no-rack")
    assert "RACK-TLP and D-SACK off" in head_off and "off" not in head_on
    assert sum(off) > sum(on)
