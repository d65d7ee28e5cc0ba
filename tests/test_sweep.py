"""`netsim sweep` / `netsim plot-sweep`: parameter sweeps into one resumable, deterministic table.

The table must be the same whatever runs it (one process, a local pool, a Dask LocalCluster),
except `wall_seconds`; an interrupted sweep must resume without losing or repeating a run; a run
that fails is recorded and the others complete; a bad spec is a one-line error naming the key.
"""

from __future__ import annotations

import csv
import math
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from netsim.cli import main
from netsim.sweep import (
    NONDETERMINISTIC_COLUMNS,
    SUMMARY_COLUMNS,
    load_spec,
    read_table,
    run_sweep,
)
from netsim.sweep.plot import aggregate, t_quantile

REPO = Path(__file__).resolve().parent.parent

# 2 delays x 2 loss rates x 2 seeds = 8 runs of 200 kB.
SMALL = """
seeds = [1, 2]
[scenario]
bytes = "200kB"
rate = "50Mbit"
[vary]
delay = ["5ms", "20ms"]
loss = [0.0, 0.02]
"""


def write_spec(tmp_path: Path, text: str, name: str = "spec.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def table_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def deterministic(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    return [{k: v for k, v in r.items() if k not in NONDETERMINISTIC_COLUMNS} for r in rows]


def spec_order_ids(spec_path: Path) -> list[str]:
    return [r.run_id for r in load_spec(spec_path).runs()]


# ------------------------------------------------------------------------- the table
def test_one_row_per_run_with_knobs_seed_summary_and_error(tmp_path: Path) -> None:
    spec = write_spec(tmp_path, SMALL)
    out = tmp_path / "out.csv"
    report = run_sweep(spec, out, workers=1, progress=False)
    assert (report.total, report.ran, report.failed) == (8, 8, 0)
    umask = os.umask(0)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask  # an ordinary file, not a 0600 temp
    rows = table_rows(out)
    assert [r["run_id"] for r in rows] == spec_order_ids(spec)  # the spec's order
    assert len({r["run_id"] for r in rows}) == 8
    header = list(rows[0])
    assert header[:6] == ["run_id", "delay", "loss", "bytes", "rate", "seed"]
    assert header[-2:] == ["error", "wall_seconds"]
    assert set(SUMMARY_COLUMNS) - {"error", "wall_seconds"} <= set(header)
    combos = {(r["delay"], r["loss"], r["seed"]) for r in rows}
    assert combos == {(d, p, s) for d in ("0.005", "0.02") for p in ("0.0", "0.02")
                      for s in ("1", "2")}
    for r in rows:
        assert r["error"] == "" and r["intact"] == "True"
        assert r["bytes_delivered"] == "200000" and float(r["wall_seconds"]) > 0
        assert float(r["rate_bps"]) == 50e6
    # A longer delay means a longer transfer, seed for seed.
    typed = read_table(out)
    for p in (0.0, 0.02):
        for s in (1, 2):
            fast, slow = (next(r for r in typed if (r["delay"], r["loss"], r["seed"]) ==
                               (d, p, s)) for d in (0.005, 0.02))
            assert slow["sim_seconds"] > fast["sim_seconds"]
    lossy = [r for r in typed if r["loss"] == 0.02]
    assert sum(r["retransmissions"] for r in lossy) > 0
    assert all(r["retransmissions"] == 0 for r in typed if r["loss"] == 0.0)


def test_table_loads_directly_into_pandas(tmp_path: Path) -> None:
    pd = pytest.importorskip("pandas")
    out = tmp_path / "out.csv"
    run_sweep(write_spec(tmp_path, SMALL), out, workers=1, progress=False)
    df = pd.read_csv(out)
    assert len(df) == 8
    assert pd.api.types.is_float_dtype(df["goodput_bps"])
    assert df.groupby("loss")["goodput_bps"].mean().loc[0.0] > \
        df.groupby("loss")["goodput_bps"].mean().loc[0.02]


# ------------------------------------------------------------------------- determinism
def test_one_process_local_pool_and_dask_local_give_the_same_table(tmp_path: Path) -> None:
    pytest.importorskip("distributed", reason="dask[distributed] is an optional extra")
    spec = write_spec(tmp_path, SMALL)
    tables = {}
    for name, kwargs in (("one", {"workers": 1}), ("pool", {"workers": 2}),
                         ("dask", {"dask": "local", "workers": 2})):
        out = tmp_path / f"{name}.csv"
        report = run_sweep(spec, out, progress=False, **kwargs)  # type: ignore[arg-type]
        assert report.ran == 8 and report.lost == 0, (name, report)
        tables[name] = table_rows(out)
    assert "dask" in report.backend
    one = deterministic(tables["one"])
    assert deterministic(tables["pool"]) == one
    assert deterministic(tables["dask"]) == one
    # wall_seconds is the one column allowed to differ, and it is there.
    assert all(float(r["wall_seconds"]) > 0 for t in tables.values() for r in t)


def test_an_existing_dask_scheduler_address_runs_the_sweep(tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed",
                                      reason="dask[distributed] is an optional extra")
    spec = write_spec(tmp_path, SMALL)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        report = run_sweep(spec, tmp_path / "remote.csv", dask=cluster.scheduler_address,
                           progress=False)
    assert report.ran == 8 and cluster.scheduler_address in report.backend
    run_sweep(spec, tmp_path / "one.csv", workers=1, progress=False)
    assert deterministic(table_rows(tmp_path / "remote.csv")) == \
        deterministic(table_rows(tmp_path / "one.csv"))


def test_the_same_value_written_in_other_units_is_the_same_run(tmp_path: Path) -> None:
    a = write_spec(tmp_path, '[scenario]\nbytes = "200kB"\ndelay = "10ms"\n', "a.toml")
    b = write_spec(tmp_path, '[scenario]\nbytes = 200000\ndelay = "0.01s"\n', "b.toml")
    out = tmp_path / "out.csv"
    assert run_sweep(a, out, workers=1, progress=False).ran == 1
    again = run_sweep(b, out, workers=1, progress=False)
    assert (again.skipped, again.ran) == (1, 0)


# ------------------------------------------------------------------------- resuming
def test_interrupted_sweep_resumes_without_losing_or_repeating_a_run(tmp_path: Path) -> None:
    spec = write_spec(tmp_path, SMALL.replace("seeds = [1, 2]", "seeds = [1, 2, 3]"))
    out = tmp_path / "out.csv"
    first: list[str] = []

    def stop_after_4(row: dict[str, Any]) -> None:
        first.append(row["run_id"])
        if len(first) == 4:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_sweep(spec, out, workers=2, progress=False, on_result=stop_after_4)
    saved = table_rows(out)  # a valid table: header and complete rows only
    assert sorted(r["run_id"] for r in saved) == sorted(first)  # exactly the 4 reported
    assert all(r["error"] == "" and r["intact"] == "True" for r in saved)

    second: list[str] = []
    report = run_sweep(spec, out, workers=2, progress=False,
                       on_result=lambda row: second.append(row["run_id"]))
    assert (report.skipped, report.ran, report.total) == (4, 8, 12)
    assert not set(first) & set(second)  # nothing done twice
    final = table_rows(out)
    assert [r["run_id"] for r in final] == spec_order_ids(spec)  # nothing lost, sorted
    kept = {r["run_id"]: r for r in final}
    for row in saved:
        assert kept[row["run_id"]] == row  # earlier rows untouched

    straight = tmp_path / "straight.csv"
    run_sweep(spec, straight, workers=1, progress=False)
    assert deterministic(final) == deterministic(table_rows(straight))


def test_ctrl_c_on_the_command_leaves_a_valid_table_that_resumes(tmp_path: Path) -> None:
    spec = write_spec(tmp_path, '''
seeds = {count = 40}
[scenario]
bytes = "500kB"
loss = 0.01
''')
    out = tmp_path / "out.csv"
    cmd = [sys.executable, "-m", "netsim", "sweep", str(spec), "--out", str(out),
           "--workers", "2"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            if out.exists() and out.read_text().count("\n") >= 4:  # header + 3 rows
                break
            time.sleep(0.02)
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    assert "interrupted" in err and "run the same command again" in err
    done = table_rows(out)
    assert 3 <= len(done) < 40
    assert all(len(r) == len(done[0]) and r["intact"] == "True" for r in done)

    result = subprocess.run(cmd + ["-q"], capture_output=True, text=True, timeout=120,
                            check=False)
    assert result.returncode == 0, result.stderr
    final = table_rows(out)
    ids = [r["run_id"] for r in final]
    assert ids == spec_order_ids(spec)
    assert {r["run_id"]: r for r in final} | {r["run_id"]: r for r in done} == \
        {r["run_id"]: r for r in final}  # rows from before the interruption kept as they were


def test_a_torn_last_line_is_dropped_and_that_run_done_again(tmp_path: Path) -> None:
    spec = write_spec(tmp_path, SMALL)
    out = tmp_path / "out.csv"
    run_sweep(spec, out, workers=1, progress=False)
    full = out.read_text()
    lines = full.splitlines(keepends=True)
    out.write_text("".join(lines[:-1]) + lines[-1][:40])  # killed in the middle of a row
    report = run_sweep(spec, out, workers=1, progress=False)
    assert (report.skipped, report.ran) == (7, 1)
    assert deterministic(table_rows(out)) == deterministic(
        list(csv.DictReader(full.splitlines())))


def test_a_table_from_another_spec_is_refused(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out.csv"
    run_sweep(write_spec(tmp_path, SMALL), out, workers=1, progress=False)
    other = write_spec(tmp_path, "[vary]\nmtu = [1500, 9000]\n", "other.toml")
    assert main(["sweep", str(other), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--out" in err and "other columns" in err


# ------------------------------------------------------------------------- failures
def test_failing_runs_are_recorded_and_the_rest_complete(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Each value is valid on its own (a bad one is refused up front, see BAD_SPECS); an MSS
    # too large for one of the varied MTUs fails only in that combination, in its run.
    spec = write_spec(tmp_path, """
seeds = [1, 2]
[scenario]
bytes = "100kB"
[vary]
mss = [500, 1448]
mtu = [576, 1500]
""")
    out = tmp_path / "out.csv"
    assert main(["sweep", str(spec), "--out", str(out), "--workers", "2"]) == 1
    assert "2 with errors" in capsys.readouterr().err
    rows = read_table(out)
    assert len(rows) == 8
    bad = [r for r in rows if r["mss"] == 1448 and r["mtu"] == 576]
    good = [r for r in rows if r not in bad]
    assert len(good) == 6 and all(r["error"] == "" and r["intact"] for r in good)
    assert len(bad) == 2
    for r in bad:
        assert r["error"].startswith("UsageError: --mss: 1448 does not fit"), r["error"]
        assert r["goodput_bps"] is None and r["wall_seconds"] is None
        assert "\n" not in r["error"]
    # Errors are finished runs: a re-run does not repeat them.
    assert run_sweep(spec, out, workers=1, progress=False).ran == 0


BAD_SPECS = [
    ("[vary]\nlose = [0.1]\n", "[vary] lose: unknown knob"),
    ("[scenario]\nn_flows = 4\n", "[scenario] n_flows: unknown knob"),
    ("colour = 1\n", "colour: unknown key"),
    ("[vary]\nloss = []\n", "[vary] loss: empty list"),
    ("[vary]\nloss = {start = 0.1, stop = 0.01, step = 0.01}\n", "[vary] loss: empty range"),
    ("[vary]\nloss = {start = 0.0, stop = 0.1, num = 0}\n", "[vary] loss.num"),
    ("[vary]\nloss = {start = 0.0, stop = 0.1, num = 3, log = true}\n", "[vary] loss: a log"),
    ("[vary]\nloss = {begin = 0.0, stop = 0.1, num = 3}\n", "unknown range key 'begin'"),
    ("[vary]\nloss = [0.1, 0.1]\n", "[vary] loss: 0.1 appears twice"),
    ('[vary]\ncc = {start = 1, stop = 2, num = 2}\n', "[vary] cc: a range needs"),
    ("[scenario]\ndelay = true\n", "[scenario] delay: True is a boolean"),
    ('[scenario]\nmtu = "big"\n', "[scenario] mtu: 'big' is a string"),
    ('[vary]\ndelay = ["10xs"]\n', "[vary] delay[0]: '10xs' is not a time"),
    ("[scenario]\nloss = [0.1]\n", "[scenario] loss: is a list"),
    ("[scenario]\nloss = 1.5\n", "[scenario] loss: 1.5 is not a probability"),
    ('[scenario]\ncc = "vegas"\n', "[scenario] cc: unknown congestion control"),
    ("[scenario]\nloss = 0.1\n[vary]\nloss = [0.2]\n", "[vary] loss: also set in [scenario]"),
    ("seeds = []\n", "seeds: empty list"),
    ("seeds = {count = 0}\n", "seeds.count"),
    ('seeds = "all"\n', "seeds: 'all' is a string"),
    ("seed = 3\n", "seed: unknown key"),
    ("[vary\n", "not valid TOML"),
    # Every [vary] value is checked before anything runs, with the allowed range:
    ("[vary]\nloss = [1.5, -0.1]\n", "[vary] loss[0]: 1.5 is not a probability; use a number "
     "from 0 to 1"),
    ("[vary]\nloss = [0.1, -0.1]\n", "[vary] loss[1]: -0.1 is not a probability"),
    ("[vary]\nmtu = [10, 1500]\n", "[vary] mtu[0]: 10 is not an MTU; use a whole number"),
    ("[vary]\nmtu = [1500, 100]\n", "[vary] mtu[1]: 100 cannot carry one TCP segment"),
    ('[vary]\ncc = ["reno", "vegas"]\n', "[vary] cc[1]: unknown congestion control 'vegas'"),
    # One rule for units: a time or a rate needs its unit.
    ("[scenario]\ndelay = 0.01\n", "[scenario] delay: 0.01 has no unit"),
    ("[vary]\ndelay = {start = 0.001, stop = 0.01, num = 3}\n", "[vary] delay.start: 0.001 "
     "has no unit"),
    ("[scenario]\nrate = 1e8\n", "[scenario] rate: 100000000.0 has no unit"),
    # Nothing to sweep
    ("", "empty spec"),
    ('description = "x"\n', "empty spec"),
    ("[scenario]\nloss = 0.01\n[vary]\n", "[vary]: empty table"),
]


@pytest.mark.parametrize(("text", "expected"), BAD_SPECS, ids=[e for _, e in BAD_SPECS])
def test_a_bad_spec_is_a_one_line_error_naming_the_key(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, expected: str) -> None:
    spec = write_spec(tmp_path, text)
    out = tmp_path / "out.csv"
    assert main(["sweep", str(spec), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert err.startswith("netsim: error: spec.toml: ") and expected in err, err
    assert not out.exists()  # nothing ran


def test_missing_spec_and_bad_flags_are_usage_errors(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sweep", str(tmp_path / "nope.toml")]) == 2
    assert "no such file" in capsys.readouterr().err
    spec = write_spec(tmp_path, SMALL)
    assert main(["sweep", str(spec), "--workers", "0"]) == 2
    assert "--workers" in capsys.readouterr().err
    assert main(["sweep", str(spec), "--out", str(tmp_path / "x.parquet")]) == 2
    assert "--parquet" in capsys.readouterr().err


# ------------------------------------------------------------------------- ranges
def test_ranges_and_seed_counts_expand_as_written(tmp_path: Path) -> None:
    spec = load_spec(write_spec(tmp_path, """
seeds = {count = 3, start = 10}
[vary]
loss = {start = 0.001, stop = 0.1, num = 3, log = true}
mss = {start = 536, stop = 1448, step = 456}
delay = {start = "1ms", stop = "3ms", num = 3}
"""))
    assert spec.vary["loss"] == [0.001, 0.01, 0.1]
    assert spec.vary["mss"] == [536, 992, 1448]
    assert spec.vary["delay"] == pytest.approx([0.001, 0.002, 0.003])
    assert spec.seeds == [10, 11, 12]
    runs = spec.runs()
    assert len(runs) == len(spec) == 3 * 3 * 3 * 3
    assert len({r.run_id for r in runs}) == len(runs)


# ------------------------------------------------------------------------- parquet
def test_parquet_copy_when_pyarrow_is_installed(tmp_path: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet", reason="pyarrow is optional")
    out, par = tmp_path / "out.csv", tmp_path / "out.parquet"
    run_sweep(write_spec(tmp_path, SMALL), out, workers=1, progress=False, parquet=par)
    table = pq.read_table(par)
    assert table.num_rows == 8
    assert table.column("run_id").to_pylist() == [r["run_id"] for r in table_rows(out)]


# ------------------------------------------------------------------------- plotting
def test_plot_sweep_draws_means_with_confidence_intervals(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out.csv"
    run_sweep(write_spec(tmp_path, SMALL.replace("seeds = [1, 2]", "seeds = [1, 2, 3]")),
              out, workers=1, progress=False)
    rows = read_table(out)
    points = aggregate(rows, "loss", "goodput_bps", hue="delay")
    assert [(p.hue, p.x) for p in points] == [(0.005, 0.0), (0.005, 0.02),
                                              (0.02, 0.0), (0.02, 0.02)]
    for p in points:
        ys = [r["goodput_bps"] for r in rows if (r["delay"], r["loss"]) == (p.hue, p.x)]
        assert p.n == 3 and p.mean == pytest.approx(statistics.mean(ys))
        assert p.err == pytest.approx(t_quantile(2) * statistics.stdev(ys) / math.sqrt(3))
    fig_path = tmp_path / "fig.png"
    assert main(["plot-sweep", str(out), "--x", "loss", "--y", "goodput_bps", "--hue",
                 "delay", "--logy", "--out", str(fig_path)]) == 0
    assert fig_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    capsys.readouterr()
    assert main(["plot-sweep", str(out), "--x", "lossy", "--y", "goodput_bps",
                 "--out", str(fig_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--x: no column 'lossy'" in err


def test_plot_sweep_legend_has_units_and_bars_of_a_non_negative_quantity_stop_at_0() -> None:
    from netsim.sweep.plot import plot_sweep

    # Two seeds far apart: the 95% CI (t = 12.7) would reach far below 0 bit/s.
    rows = [{"loss": loss, "delay": delay, "seed": seed, "goodput_bps": g, "error": ""}
            for loss, delay, seed, g in [(0.0, 0.005, 1, 9e6), (0.0, 0.005, 2, 9.1e6),
                                         (0.02, 0.005, 1, 4e6), (0.02, 0.005, 2, 1e6),
                                         (0.0, 0.02, 1, 3e6), (0.0, 0.02, 2, 3.2e6),
                                         (0.02, 0.02, 1, 2e6), (0.02, 0.02, 2, 0.5e6)]]
    fig = plot_sweep(rows, "loss", "goodput_bps", hue="delay")
    ax = fig.axes[0]
    legend = ax.get_legend()
    assert [t.get_text() for t in legend.get_texts()] == ["delay 5 ms", "delay 20 ms"]
    assert "clipped at 0" in ax.get_ylabel()
    # Every error-bar segment starts at or above 0.
    lows = [seg[:, 1].min() for coll in ax.collections for seg in coll.get_segments()]
    assert lows and min(lows) >= 0.0
    # Unclipped, the same data would have gone negative (so the test can fail).
    p = aggregate(rows, "loss", "goodput_bps", hue="delay")
    assert min(pt.mean - pt.err for pt in p) < 0


def test_t_quantile_matches_the_normal_limit() -> None:
    assert t_quantile(1) == pytest.approx(12.706)
    assert t_quantile(30) > t_quantile(31) > t_quantile(1000) > 1.96
    assert t_quantile(1000) == pytest.approx(1.962, abs=1e-3)


# ------------------------------------------------------------------------- examples
# (notebooks/06b_mathis_sweep.ipynb runs in tests/test_notebooks.py with the other notebooks.)
def test_example_specs_are_valid() -> None:
    specs = sorted((REPO / "examples" / "sweeps").glob("*.toml"))
    assert specs
    for path in specs:
        assert len(load_spec(path)) > 0, path


def test_flows_is_a_knob(tmp_path: Path) -> None:
    spec = write_spec(tmp_path, """
seeds = [1]
[scenario]
bytes = "200kB"
rate = "10Mbit"
[vary]
flows = [1, 2]
""")
    out = tmp_path / "flows.csv"
    assert main(["sweep", str(spec), "--out", str(out), "--workers", "1"]) == 0
    rows = table_rows(out)
    assert [r["flows"] for r in rows] == ["1", "2"]
    assert [int(r["bytes_delivered"]) for r in rows] == [200_000, 400_000]
    assert all(r["intact"] == "True" for r in rows)
    assert float(rows[0]["jain_fairness"]) == 1.0 and 0.5 < float(rows[1]["jain_fairness"]) <= 1


def test_rack_is_a_knob_and_false_is_netsim_before_rack(tmp_path: Path) -> None:
    # the Mathis sweep's setting at a high loss rate, RACK-TLP on and off (`--no-rack`): the
    # same frames are lost, and only DupAck counting waits for the timer on some of them
    spec = write_spec(tmp_path, """
seeds = [1]
[scenario]
bytes = "1MB"
delay = "10ms"
rate = "100Mbit"
loss = 0.05
[vary]
rack = [true, false]
""")
    out = tmp_path / "rack.csv"
    assert main(["sweep", str(spec), "--out", str(out), "--workers", "1"]) == 0
    on, off = table_rows(out)
    assert (on["rack"], off["rack"]) == ("True", "False")
    assert on["intact"] == off["intact"] == "True"
    assert int(off["timeouts"]) > int(on["timeouts"])


def test_rack_must_be_true_or_false(tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    spec = write_spec(tmp_path, '[vary]\nrack = ["off", true]\n')
    assert main(["sweep", str(spec), "--out", str(tmp_path / "o.csv")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "[vary] rack[0]: 'off' is a string; use true or false" in err
