"""`netsim sweep SPEC`: every combination of a TOML spec's knobs and seeds, into one table.

    netsim sweep examples/sweeps/mathis.toml --out mathis.csv
    netsim sweep spec.toml --workers 1                  # in this process
    netsim sweep spec.toml --dask local                 # a Dask LocalCluster
    netsim sweep spec.toml --dask tcp://10.1.2.3:8786   # an existing Dask scheduler

Rows are flushed to the CSV as runs finish; running the same command again resumes (runs already
in the file are skipped), so Ctrl-C is safe. Exit status: 0 when every run is in the table
without an error, 1 when some run has an error (see the ``error`` column) or was lost to a worker
failure, 2 for a bad spec or argument, 130 when interrupted.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from netsim.cli.limits import (
    add_allow_large,
    current_limits,
    estimate_transfer,
    refuse_large,
)
from netsim.errors import UsageError
from netsim.sweep.driver import default_workers, run_sweep
from netsim.sweep.spec import KNOBS, SweepSpec, load_spec, sim_args
from netsim.units import format_time

#: Combinations sampled (evenly through the grid) to estimate a sweep's wall time.
_SAMPLE = 200

EXAMPLE = """\
spec format (TOML):
  seeds = {count = 20}            # or [1, 2, 3]; default [1]
  [scenario]                      # fixed knobs, named like the netsim sim flags
  bytes = "1MB"                   # sizes: bytes, or "1MB", "64KiB"
  delay = "10ms"                  # times and rates are strings with a unit: "10ms", "100Mbit"
  [vary]                          # every combination of these, times every seed
  loss = {start = 0.001, stop = 0.05, num = 6, log = true}
  cc = ["reno", "cubic"]
  mss = {start = 536, stop = 1448, step = 456}

knobs: """ + ", ".join(k.key for k in KNOBS) + """
"""


def _workers(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise UsageError(f"--workers: {text!r} is not a number of workers; use 1 or more")
    return value


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser(
        "sweep",
        help="run a parameter sweep of bulk transfers (local processes or Dask) into a table",
        description="Run every combination of the knobs a TOML SPEC varies, for every seed, "
                    "each a `netsim sim` bulk transfer, and write one CSV row per run (run id, "
                    "knobs, seed, the `netsim sim --json` fields, error, wall_seconds). "
                    "Re-running with the same --out resumes.",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("spec", metavar="SPEC", help="the sweep specification (TOML)")
    parser.add_argument(
        "--out", default=None, metavar="FILE.csv",
        help="the table to write or resume (default: SPEC's name with .csv, in this folder)",
    )
    parser.add_argument(
        "--workers", default=None, metavar="N",
        help=f"local worker processes (default: every core, {default_workers()} here; "
        "1 runs in this process); with --dask local, the LocalCluster's workers",
    )
    parser.add_argument(
        "--dask", default=None, metavar="ADDRESS|local",
        help="run on the Dask scheduler at ADDRESS, or on a new LocalCluster with 'local' "
        "(needs pip install 'netsim[dask]')",
    )
    parser.add_argument(
        "--parquet", default=None, metavar="FILE",
        help="also write the finished table as Parquet (needs pyarrow)",
    )
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="no progress bar or summary line",
    )
    add_allow_large(parser, "number of runs or wall time")
    parser.set_defaults(func=run)


def estimate_wall(spec: SweepSpec) -> float:
    """Wall seconds of the whole sweep in one process: the mean estimate of up to `_SAMPLE`
    combinations spread evenly through the grid, times the number of runs."""
    from netsim.cli.sim import scenario_from_args

    n = spec.combinations
    picks = sorted({i * n // min(n, _SAMPLE) for i in range(min(n, _SAMPLE))})
    total = 0.0
    for index in picks:
        sc = scenario_from_args(sim_args(spec.combination(index), spec.seeds[0]))
        total += estimate_transfer(sc.bytes, sc.link, sc.mss, sc.flows,
                                   time_limit=sc.time_limit).wall_seconds
    return total / len(picks) * len(spec)


def check_sweep_size(spec: SweepSpec, workers: int, allowed: bool) -> None:
    """Refuse (unless --allow-large) a sweep of too many runs or too long, with the estimate."""
    wall = estimate_wall(spec) / max(workers, 1)
    limits = current_limits()
    if len(spec) > limits.runs:
        refuse_large(allowed, "SPEC", f"{len(spec):,} runs would take about {format_time(wall)} on "
                     f"{workers} workers", f"{limits.runs:,} runs")
    if wall > limits.sweep_wall:
        runs = "1 run takes" if len(spec) == 1 else f"{len(spec):,} runs take"
        refuse_large(allowed, "SPEC", f"{runs} roughly {format_time(wall)} on {workers} "
                     "workers", format_time(limits.sweep_wall))


def run(args: argparse.Namespace) -> int:
    spec = load_spec(args.spec)
    out = Path(args.out) if args.out is not None else Path(Path(args.spec).stem + ".csv")
    workers = None if args.workers is None else _workers(args.workers)
    dask = args.dask
    if dask is not None and not dask.strip():
        raise UsageError("--dask: empty address; use host:port, tcp://host:port or 'local'")
    check_sweep_size(spec, workers or default_workers(), args.allow_large)
    report = run_sweep(spec, out, workers=workers, dask=dask, parquet=args.parquet,
                       progress=not args.quiet)
    if not args.quiet:
        parts = [f"{report.total} runs"]
        if report.skipped:
            parts.append(f"{report.skipped} already done")
        if report.skipped < report.total:
            parts.append(f"{report.ran} run on {report.backend} in {report.seconds:.1f} s")
        if report.failed:
            parts.append(f"{report.failed} with errors (see the error column)")
        if report.lost:
            parts.append(f"{report.lost} lost")
        print(f"netsim sweep: {', '.join(parts)}; wrote {str(out)!r}"
              + (f" and {args.parquet!r}" if args.parquet else ""), file=sys.stderr)
    return 0 if report.complete and not report.failed and not report.lost else 1
