"""Parameter sweeps: many bulk-transfer runs from one small TOML spec, into one tidy table.

    from netsim.sweep import load_spec, run_sweep, read_table
    report = run_sweep(load_spec("examples/sweeps/mathis.toml"), "mathis.csv")
    rows = read_table("mathis.csv")          # or pandas.read_csv("mathis.csv")

The command line is ``netsim sweep SPEC`` and ``netsim plot-sweep TABLE``. See `spec` for the
spec format, `table` for the columns, `driver` for running (local processes or Dask), resuming
and determinism.
"""

from __future__ import annotations

from netsim.sweep.driver import SweepReport, default_workers, run_sweep
from netsim.sweep.spec import KNOBS, Run, SpecError, SweepSpec, load_spec, parse_spec
from netsim.sweep.table import NONDETERMINISTIC_COLUMNS, columns_for, read_table
from netsim.sweep.worker import SUMMARY_COLUMNS, run_one

__all__ = [
    "KNOBS",
    "NONDETERMINISTIC_COLUMNS",
    "SUMMARY_COLUMNS",
    "Run",
    "SpecError",
    "SweepReport",
    "SweepSpec",
    "columns_for",
    "default_workers",
    "load_spec",
    "parse_spec",
    "read_table",
    "run_one",
    "run_sweep",
]
