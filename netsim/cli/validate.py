"""The one validation layer of the `netsim` command and of sweep specs.

Every value a user gives is checked here (or by `netsim.units` for times, rates and sizes)
for type, unit and range before any work starts; a bad one is a `UsageError` whose one-line
message names the flag (or spec key) and what is allowed, which `netsim.cli.main` prints as
``netsim: error: ...`` with exit status 2.

The rules, the same everywhere:

- a time or a rate given as text needs a unit ("10ms", "100Mbit"); only 0 may go without;
- negative values parse as values (``--delay -1ms`` reaches the check and is refused with
  the allowed range, not taken for an option);
- options that cannot work together are refused with the reason (an MTU too small to carry
  one TCP segment, an MSS larger than the MTU allows: `netsim.tcpspec.check_tcp_mtu`);
- a run estimated to be larger than a limit (wall time, pcap bytes, trace records, figure
  pixels, sweep runs: `netsim.cli.limits`) is refused, with the estimate, unless the user
  passes ``--allow-large``.
"""

from __future__ import annotations

import math

from netsim.errors import UsageError

__all__ = ["count", "int_in", "positive_time", "probability"]


def probability(text: object, flag: str) -> float:
    """A probability 0..1 from a flag's text (or a number)."""
    if isinstance(text, bool):
        value = math.nan
    else:
        try:
            value = float(text)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            value = math.nan
    if not 0.0 <= value <= 1.0:  # also refuses NaN
        shown = repr(text) if isinstance(text, str) else str(text)
        raise UsageError(f"{flag}: {shown} is not a probability; use a number from 0 to 1 "
                         "(0.01 is 1%)")
    return value


def int_in(text: object, flag: str, low: int, high: int) -> int:
    """A whole number low..high from a flag's text (or an int)."""
    if isinstance(text, int) and not isinstance(text, bool):
        value: int | None = text
    else:
        stripped = str(text).strip()
        digits = stripped[1:] if stripped.startswith(("+", "-")) else stripped
        value = int(stripped) if digits.isdigit() else None
    if value is None or not low <= value <= high:
        raise UsageError(f"{flag}: {text!r} is not allowed; use a whole number {low}..{high}")
    return value


def count(text: object, flag: str, what: str, high: int = 2**31) -> int:
    """A count >= 1 (frames, connections, segments)."""
    try:
        return int_in(text, flag, 1, high)
    except UsageError:
        raise UsageError(f"{flag}: {text!r} is not a number of {what}; use a whole number "
                         f"1..{high}") from None


def positive_time(text: object, flag: str, example: str = "1s") -> float:
    """A time > 0 ("10ms", "1.5s")."""
    from netsim.units import parse_time

    value = parse_time(text, flag)  # type: ignore[arg-type]
    if value <= 0:
        raise UsageError(f"{flag}: {text!r} is not a positive time; use e.g. {example}")
    return value
