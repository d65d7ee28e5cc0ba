"""One run of a sweep, as a top-level function a process pool or a Dask worker can call.

`run_one` never raises for a run that goes wrong: a bad value (``loss = 1.5``), a TCP that gives
up, or a bug shows up as the ``error`` column of its row, so one bad run does not stop a sweep.
Only KeyboardInterrupt and other non-`Exception` errors get through.
"""

from __future__ import annotations

import dataclasses
import signal
from typing import Any

from netsim.sim.link import DROP_REASONS, LinkConfig
from netsim.sim.scenario import BulkResult, link_summary

__all__ = ["SUMMARY_COLUMNS", "ignore_sigint", "run_one", "summary_row"]

# BulkResult fields left out of the table: the app objects, the nested link settings (flattened
# in by to_dict), the reverse link (a sweep has no reverse-link knob, so it is always empty) and
# the drops dict (flattened into drops_<reason> columns), and the per-flow lists (a sweep has no
# per-flow delays; jain_fairness sums the flows up).
_SKIP = {"sender", "sink", "link", "reverse_link", "link_drops", "flow_goodputs_bps",
         "flow_timeouts", "flow_delays", "handshake_rtts"}


def _summary_columns() -> tuple[str, ...]:
    cols = [f.name for f in dataclasses.fields(BulkResult) if f.name not in _SKIP]
    cols += [k for k in link_summary(LinkConfig()) if k not in cols]
    cols += [f"drops_{reason}" for reason in DROP_REASONS]
    return tuple(cols)


#: The measured columns of a sweep table, in order (the fields of ``netsim sim --json``).
SUMMARY_COLUMNS: tuple[str, ...] = _summary_columns()


def summary_row(result: BulkResult) -> dict[str, Any]:
    """The table cells of one result: every summary column, ``error`` "" when it is None."""
    doc = result.to_dict()
    row = {c: doc.get(c) for c in SUMMARY_COLUMNS}
    for reason in DROP_REASONS:
        row[f"drops_{reason}"] = result.link_drops.get(reason, 0)
    row["error"] = result.error or ""
    return row


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def run_one(params: dict[str, Any], seed: int) -> dict[str, Any]:
    """Run the bulk scenario for knob values ``params`` (column -> value in base units) and
    ``seed``; return the summary cells, with ``error`` set (and no measures) if it raised."""
    from netsim.cli.sim import scenario_from_args
    from netsim.sim.scenario import run_bulk
    from netsim.sweep.spec import sim_args

    try:
        result = run_bulk(scenario_from_args(sim_args(params, seed)))
    except Exception as exc:  # recorded in the table; the sweep goes on
        return {"error": _one_line(exc)}
    return summary_row(result)


def ignore_sigint() -> None:
    """Pool initializer: Ctrl-C is for the driver, which stops the workers itself."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
