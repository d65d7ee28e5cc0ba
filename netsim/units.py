"""Parsing and printing of times, rates and sizes given by users ("10ms", "100Mbit", "64KiB").

Every parser takes the user's text and the name of the argument it came from (a flag such as
``--delay``), and raises :class:`netsim.errors.UsageError` with a one-line message naming that
argument and showing what is allowed. Negative, infinite and NaN values are refused everywhere.

Rates follow tc(8): ``bit``, ``kbit``, ``mbit``, ``gbit``, ``tbit`` are bits per second (SI, powers
of 1000), ``bps``, ``kbps``, ``mbps``, ``gbps``, ``tbps`` are *bytes* per second. Units are
case-insensitive.

One rule for bare numbers, on every command and in sweep specs: a time or a rate given as text
needs its unit (``--delay 10`` is refused with "add a unit (10ms, 10s)"), except ``0``, which is
the same in every unit. A size may be a bare number of bytes. (Python callers pass numbers, not
text: ``parse_time(0.01, ...)`` is 10 ms, already in base units.)
"""

from __future__ import annotations

import math
import re

from netsim.errors import UsageError

__all__ = [
    "format_rate",
    "format_size",
    "format_time",
    "parse_rate",
    "parse_size",
    "parse_time",
]

# A number (optionally signed, optionally with an exponent) followed by an optional unit.
_QUANTITY = re.compile(
    r"^\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?)\s*([a-zµμ/]*)\s*$", re.IGNORECASE
)

_TIME_UNITS: dict[str, float] = {
    "": 1.0,
    "s": 1.0,
    "sec": 1.0,
    "secs": 1.0,
    "ms": 1e-3,
    "msec": 1e-3,
    "msecs": 1e-3,
    "us": 1e-6,
    "µs": 1e-6,  # micro sign
    "μs": 1e-6,  # greek mu
    "usec": 1e-6,
    "usecs": 1e-6,
    "ns": 1e-9,
    "nsec": 1e-9,
    "nsecs": 1e-9,
    "min": 60.0,
    "mins": 60.0,
    "h": 3600.0,
    "hour": 3600.0,
    "hours": 3600.0,
    "day": 86400.0,
    "days": 86400.0,
}

_RATE_UNITS: dict[str, float] = {"": 1.0}  # "" only for numbers (and 0): text needs a unit
for _prefix, _scale in (("", 1.0), ("k", 1e3), ("m", 1e6), ("g", 1e9), ("t", 1e12)):
    _RATE_UNITS[f"{_prefix}bit"] = _scale
    _RATE_UNITS[f"{_prefix}bit/s"] = _scale
    _RATE_UNITS[f"{_prefix}bps"] = 8.0 * _scale  # tc: "bps" is bytes per second
for _prefix, _scale in (("ki", 2.0**10), ("mi", 2.0**20), ("gi", 2.0**30), ("ti", 2.0**40)):
    _RATE_UNITS[f"{_prefix}bit"] = _scale
    _RATE_UNITS[f"{_prefix}bit/s"] = _scale
    _RATE_UNITS[f"{_prefix}bps"] = 8.0 * _scale

_SIZE_UNITS: dict[str, int] = {"": 1, "b": 1}
for _exp, _prefix in enumerate(("k", "m", "g", "t"), start=1):
    _SIZE_UNITS[f"{_prefix}b"] = 1000**_exp
    _SIZE_UNITS[f"{_prefix}ib"] = 1024**_exp

_TIME_HINT = "use e.g. 10ms, 1.5s, 200us"
_RATE_HINT = "use e.g. 100Mbit, 1.5Gbit, 64kbit (tc units; kbps/mbps mean BYTES per second)"
_SIZE_HINT = "use e.g. 1500, 64kB, 1MiB"


def _split(text: str | float, name: str, what: str, hint: str) -> tuple[float, str]:
    """Split ``text`` into a finite non-negative number and a lower-case unit."""
    if isinstance(text, bool):
        raise UsageError(f"{name}: {text!r} is not {what}; {hint}")
    if isinstance(text, int | float):
        number, unit = float(text), ""
    else:
        match = _QUANTITY.match(text)
        if match is None:
            raise UsageError(f"{name}: {text!r} is not {what}; {hint}")
        number, unit = float(match.group(1)), match.group(2).lower()
    if not math.isfinite(number):
        raise UsageError(f"{name}: {text!r} is not a finite number; {hint}")
    if number < 0:
        least = "more than 0" if what == "a rate" else "0 or more"
        raise UsageError(f"{name}: {text!r} is negative; {what} must be {least}: {hint}")
    return number, unit


def _bare(text: str | float, number: float, unit: str) -> bool:
    """True for text such as "10" (a number without a unit, other than zero)."""
    return isinstance(text, str) and unit == "" and number != 0


def _shown(number: float) -> str:
    return f"{number:g}"


def parse_time(text: str | float, name: str) -> float:
    """Parse a duration ("10ms", "1s", "500us", "2.5 ms") to seconds. Text needs a unit (or is
    0); a number (not text) is already seconds."""
    number, unit = _split(text, name, "a time", _TIME_HINT)
    if _bare(text, number, unit):
        n = _shown(number)
        raise UsageError(f"{name}: {text!r} has no unit; add one ({n}ms, {n}s)")
    scale = _TIME_UNITS.get(unit)
    if scale is None:
        raise UsageError(f"{name}: {text!r} is not a time; {_TIME_HINT}")
    return number * scale


def parse_rate(text: str | float, name: str) -> float:
    """Parse a tc-style rate ("100Mbit", "1gbit", "125kbps" = 1 Mbit/s) into bits per second.
    Text needs a unit; a number (not text) is already bits per second."""
    number, unit = _split(text, name, "a rate", _RATE_HINT)
    if _bare(text, number, unit):
        n = _shown(number)
        raise UsageError(f"{name}: {text!r} has no unit; add one ({n}Mbit, {n}kbit; "
                         f"{n}mbps would be BYTES per second)")
    scale = _RATE_UNITS.get(unit)
    if scale is None:
        raise UsageError(f"{name}: {text!r} is not a rate; {_RATE_HINT}")
    bps = number * scale
    if bps <= 0:
        raise UsageError(f"{name}: {text!r} is not a positive rate; {_RATE_HINT}")
    return bps


def parse_size(text: str | int, name: str) -> int:
    """Parse a size ("1500", "64kB" = 64000, "1MiB" = 1048576) into a whole number of bytes."""
    number, unit = _split(text, name, "a size", _SIZE_HINT)
    scale = _SIZE_UNITS.get(unit)
    if scale is None:
        raise UsageError(f"{name}: {text!r} is not a size; {_SIZE_HINT}")
    value = number * scale
    whole = round(value)
    if abs(value - whole) > 1e-6 * max(1.0, value):
        raise UsageError(f"{name}: {text!r} is not a whole number of bytes; {_SIZE_HINT}")
    return int(whole)


def _scaled(value: float, steps: tuple[tuple[float, str], ...], sep: str) -> str:
    """Format ``value`` with three significant digits in the largest unit of ``steps`` it fills.

    ``steps`` runs from the largest unit to the smallest; the last one is the fallback.
    """
    for scale, unit in steps:
        # Round first so that e.g. 999.96 kbit prints as "1 Mbit", not "1e+03 kbit".
        shown = float(f"{value / scale:.3g}")
        if shown >= 1.0 or scale == steps[-1][0]:
            return f"{shown:g}{sep}{unit}"
    raise AssertionError("unreachable")  # pragma: no cover


def format_rate(bps: float | None) -> str:
    """Format bits per second for people: ``format_rate(1e8) == "100 Mbit/s"``."""
    if bps is None or math.isinf(bps):
        return "unlimited"
    return _scaled(
        bps,
        ((1e12, "Tbit/s"), (1e9, "Gbit/s"), (1e6, "Mbit/s"), (1e3, "kbit/s"), (1.0, "bit/s")),
        " ",
    )


def format_size(nbytes: float | None) -> str:
    """Format a byte count for people (SI units): ``format_size(64000) == "64 kB"``."""
    if nbytes is None:
        return "unlimited"
    if nbytes < 1000:
        return f"{nbytes:g} B"
    return _scaled(nbytes, ((1e12, "TB"), (1e9, "GB"), (1e6, "MB"), (1e3, "kB")), " ")


def format_time(seconds: float) -> str:
    """Format a duration for people: ``format_time(0.01) == "10 ms"``, ``format_time(157000)
    == "43.6 h"``; from 100 s up in minutes, hours and days."""
    if seconds == 0:
        return "0 s"
    if not math.isfinite(seconds):
        return f"{seconds} s"
    sign = "-" if seconds < 0 else ""
    steps: tuple[tuple[float, str], ...] = ((1.0, "s"), (1e-3, "ms"), (1e-6, "us"), (1e-9, "ns"))
    if abs(seconds) >= 100:
        steps = ((86400.0, "days"), (3600.0, "h"), (60.0, "min"))
        for scale, unit in steps:
            if abs(seconds) >= 2 * scale or unit == "min":
                return f"{sign}{float(f'{abs(seconds) / scale:.3g}'):g} {unit}"
    text = _scaled(abs(seconds), steps, " ")
    return sign + text
