"""Plotting a sweep table: the mean of one column against another, with error bars, one line
per value of a third ("hue").

    from netsim.sweep.plot import aggregate, plot_sweep
    fig = plot_sweep("mathis.csv", x="loss", y="goodput_bps", hue="cc", logx=True)
    fig.savefig("mathis.png")

Runs with an error (a non-empty ``error`` column) are left out: their measures describe a
transfer that did not finish. Error bars are the 95 % confidence interval of the mean (Student's
t) by default, or the standard deviation, or the standard error. For a quantity that cannot be
negative (every value of the column is >= 0: goodput, times, counts) the lower bar is clipped
at 0, and the axis label says so. A log axis refuses points it cannot show (x <= 0) rather than
dropping them silently. Legends and axes show units ("delay 5 ms", "loss 1%").
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from netsim.errors import UsageError
from netsim.sweep.table import read_table
from netsim.units import format_rate, format_size, format_time

if TYPE_CHECKING:  # matplotlib is imported where a plot is made: `netsim --help` stays quick
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.ticker import EngFormatter

__all__ = ["ERROR_BARS", "Point", "aggregate", "plot_sweep", "t_quantile", "value_text"]

ERROR_BARS = ("ci", "std", "sem", "none")

# Student's t, two-sided 95 % (the 0.975 quantile), for 1..30 degrees of freedom.
_T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179,
         2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064,
         2.060, 2.056, 2.052, 2.048, 2.045, 2.042)


def t_quantile(df: int) -> float:
    """The 0.975 quantile of Student's t with ``df`` degrees of freedom (table up to 30, then
    the Cornish-Fisher expansion z + (z^3 + z) / 4df, within 0.1 % there)."""
    if df < 1:
        return math.nan
    if df <= len(_T975):
        return _T975[df - 1]
    z = 1.959964
    return z + (z**3 + z) / (4 * df)


@dataclass(frozen=True)
class Point:
    """The runs of one (hue, x): their number, mean and error-bar half-width of y."""

    hue: Any
    x: Any
    n: int
    mean: float
    err: float


def _number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def aggregate(rows: Sequence[dict[str, Any]], x: str, y: str, hue: str | None = None,
              err: str = "ci") -> list[Point]:
    """Group ``rows`` by (hue, x) and summarise y; runs with an error or no y are left out.
    Points come in order of hue (first seen) then x (ascending if numeric, else first seen)."""
    if err not in ERROR_BARS:
        raise UsageError(f"--err: {err!r} is not a kind of error bar; use {', '.join(ERROR_BARS)}")
    columns = set(rows[0]) if rows else set()
    for flag, col in (("--x", x), ("--y", y), ("--hue", hue)):
        if col is not None and rows and col not in columns:
            raise UsageError(f"{flag}: no column {col!r} in the table; use one of "
                             f"{', '.join(rows[0])}")
    groups: dict[tuple[Any, Any], list[float]] = {}
    for row in rows:
        if row.get("error"):
            continue
        value = row.get(y)
        if value is None:
            continue
        if not _number(value):
            raise UsageError(f"--y: column {y!r} holds {value!r}, not a number")
        if isinstance(value, float) and math.isnan(value):
            continue
        key = (row.get(hue) if hue is not None else None, row.get(x))
        groups.setdefault(key, []).append(float(value))
    hues: list[Any] = []
    for h, _ in groups:
        if h not in hues:
            hues.append(h)
    xs_all = [k[1] for k in groups]
    numeric = all(_number(v) for v in xs_all)
    points: list[Point] = []
    for h in hues:
        keys = [k for k in groups if k[0] == h]
        if numeric:
            keys.sort(key=lambda k: k[1])
        for key in keys:
            ys = groups[key]
            n = len(ys)
            mean = sum(ys) / n
            sd = math.sqrt(sum((v - mean) ** 2 for v in ys) / (n - 1)) if n > 1 else 0.0
            if err == "std":
                half = sd
            elif err == "sem":
                half = sd / math.sqrt(n)
            elif err == "ci":
                half = t_quantile(n - 1) * sd / math.sqrt(n) if n > 1 else 0.0
            else:
                half = 0.0
            points.append(Point(h, key[1], n, mean, half))
    return points


_UNITS = {"_bps": "bit/s", "_seconds": "s", "bytes": "B"}
#: Knob columns of a sweep table, in base units (netsim.sweep.spec): their unit.
_KNOB_UNITS = {"delay": "s", "jitter": "s", "time_limit": "s", "rate": "bit/s", "mss": "B",
               "mtu": "B"}
#: Knob columns holding a probability, shown as a percentage.
_FRACTIONS = ("loss", "reorder", "duplicate", "corrupt")


def _unit(column: str) -> str | None:
    if column in _KNOB_UNITS:
        return _KNOB_UNITS[column]
    for suffix, unit in _UNITS.items():
        if column.endswith(suffix):
            return unit
    return None


def _formatter(column: str) -> EngFormatter | None:
    from matplotlib.ticker import EngFormatter

    unit = _unit(column)
    return EngFormatter(unit=unit) if unit is not None else None


def value_text(column: str, value: Any) -> str:
    """A value of a table column for people: ``("delay", 0.005)`` -> ``"5 ms"``,
    ``("loss", 0.01)`` -> ``"1%"``, ``("rate", 5e7)`` -> ``"50 Mbit/s"``."""
    if not _number(value):
        return str(value)
    unit = _unit(column)
    if column in _FRACTIONS:
        return f"{value * 100:g}%"
    if unit == "s":
        return format_time(value)
    if unit == "bit/s":
        return format_rate(value)
    if unit == "B":
        return f"{value:g} B" if column in ("mss", "mtu") else format_size(value)
    return f"{value:g}"


def plot_sweep(table: str | Path | Sequence[dict[str, Any]], x: str, y: str,
               hue: str | None = None, err: str = "ci", logx: bool = False,
               logy: bool = False, ax: Axes | None = None) -> Figure:
    """Mean of ``y`` per ``x`` (one line per ``hue`` value) with error bars; returns the
    figure (a new one unless ``ax`` is given). ``table`` is a CSV path or rows."""
    from matplotlib.figure import Figure

    if isinstance(table, str | os.PathLike):
        rows = read_table(table)
    else:
        try:
            rows = list(table)
        except TypeError:
            raise UsageError(f"table: {table!r:.60} is not a table; use a CSV path or a list "
                             "of rows (dicts, as read_table gives)") from None
    if not rows:
        raise UsageError("TABLE: the table has no rows")
    points = aggregate(rows, x, y, hue, err)
    if not points:
        raise UsageError(f"TABLE: no run without an error has a value of {y!r}")
    for flag, log, col, vals in (("--logx", logx, x, [p.x for p in points]),
                                 ("--logy", logy, y, [p.mean for p in points])):
        if not log:
            continue
        if not all(_number(v) for v in vals):
            raise UsageError(f"{flag}: column {col!r} is not numeric; a log axis needs numbers")
        bad = sorted({v for v in vals if v <= 0})
        if bad:
            shown = ", ".join(value_text(col, v) for v in bad[:3])
            raise UsageError(f"{flag}: {sum(1 for v in vals if v <= 0)} of {len(vals)} points "
                             f"have {col} <= 0 ({shown}), which a log axis cannot show; "
                             f"drop {flag}, or plot a table without them")
    # A quantity that is never negative in the table gets its lower bar clipped at 0.
    ys: list[float] = [r[y] for r in rows if not r.get("error") and _number(r.get(y))]
    non_negative = all(v >= 0 for v in ys)
    clipped = False
    if ax is None:
        fig = Figure(figsize=(7.0, 4.5), layout="constrained")
        ax = fig.add_subplot()
    else:
        parent = ax.get_figure()
        assert isinstance(parent, Figure)
        fig = parent
    hues: list[Any] = []
    for p in points:
        if p.hue not in hues:
            hues.append(p.hue)
    for h in hues:
        pts = [p for p in points if p.hue == h]
        xs: list[Any] = [p.x for p in pts]
        if not all(_number(v) for v in xs):
            xs = [str(v) for v in xs]
        label = f"{hue} {value_text(hue, h)}" if hue is not None else "mean of the runs"
        lower = [min(p.err, p.mean) if non_negative else p.err for p in pts]
        clipped = clipped or any(lo < p.err for lo, p in zip(lower, pts, strict=True))
        ax.errorbar(xs, [p.mean for p in pts],
                    yerr=[lower, [p.err for p in pts]] if err != "none" else None,
                    marker="o", markersize=4, capsize=3, linewidth=1.2, label=label)
    ax.set_xlabel(x)
    ax.set_ylabel(f"{y} (mean" + ("" if err == "none" else
                                  {"ci": ", 95% CI", "std": " ± std", "sem": " ± s.e."}[err])
                  + (", bars clipped at 0" if clipped else "") + ")")
    if logx:
        ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    for axis, col, log in ((ax.xaxis, x, logx), (ax.yaxis, y, logy)):
        if log:
            continue
        if col in _FRACTIONS:
            from matplotlib.ticker import PercentFormatter

            axis.set_major_formatter(PercentFormatter(xmax=1.0))
            continue
        fmt = _formatter(col)
        if fmt is not None:
            axis.set_major_formatter(fmt)
    n_runs = sum(p.n for p in points)
    ax.set_title(f"{y} vs {x}: {n_runs} runs, {len(points)} points", fontsize=10)
    if hue is not None:
        ax.legend(title=hue, fontsize=8)
    ax.grid(True, which="both", alpha=0.3)
    return fig
