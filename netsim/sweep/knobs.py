"""The knobs of a sweep: the ``netsim sim`` settings a spec may fix or vary, how each value
is read (with the command line's rules for units) and how knob values become the arguments of
one ``netsim sim`` run."""

from __future__ import annotations

import argparse
import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from netsim.errors import UsageError
from netsim.units import parse_rate, parse_size, parse_time

__all__ = ["KNOBS", "Knob", "SpecError", "Value", "sim_args", "sim_defaults"]

Value = Any  # int | float | str | None after canonicalisation


class SpecError(UsageError):
    """A bad sweep specification; the message names the file and the key."""


# --------------------------------------------------------------------------- knobs
def _kind_name(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _conv_size(value: object, where: str) -> Value:
    if not (_number(value) or isinstance(value, str)):
        raise SpecError(f"{where}: {value!r} is {_kind_name(value)}; use a size such as "
                        "200000 or \"1MB\"")
    return parse_size(value, where)  # type: ignore[arg-type]


def _conv_time(value: object, where: str) -> Value:
    if _number(value) and value != 0:
        raise SpecError(f"{where}: {value!r} has no unit; write the time as a string with "
                        f"its unit, e.g. \"{value}ms\" or \"{value}s\"")
    if not (_number(value) or isinstance(value, str)):
        raise SpecError(f"{where}: {value!r} is {_kind_name(value)}; use a time such as "
                        "\"10ms\"")
    return parse_time(value, where)  # type: ignore[arg-type]


def _conv_rate(value: object, where: str) -> Value:
    if isinstance(value, str) and value.strip().lower() in ("none", "inf", "unlimited", "off"):
        return None
    if _number(value):
        raise SpecError(f"{where}: {value!r} has no unit; write the rate as a string with "
                        "its unit, e.g. \"100Mbit\"")
    if not isinstance(value, str):
        raise SpecError(f"{where}: {value!r} is {_kind_name(value)}; use a rate such as "
                        "\"100Mbit\" or \"none\"")
    return parse_rate(value, where)


def _conv_queue(value: object, where: str) -> Value:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        return value.strip()
    raise SpecError(f"{where}: {value!r} is {_kind_name(value)}; use a number of frames "
                    "(100), bytes with a unit (\"64kB\") or \"none\"")


def _conv_int(value: object, where: str) -> Value:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise SpecError(f"{where}: {value!r} is {_kind_name(value)}; use a whole number")


def _conv_float(value: object, where: str) -> Value:
    if _number(value):
        return float(value)  # type: ignore[arg-type]
    raise SpecError(f"{where}: {value!r} is {_kind_name(value)}; use a number")


def _conv_str(value: object, where: str) -> Value:
    if isinstance(value, str):
        return value
    raise SpecError(f"{where}: {value!r} is {_kind_name(value)}; use a string")


def _conv_bool(value: object, where: str) -> Value:
    if isinstance(value, bool):
        return value
    raise SpecError(f"{where}: {value!r} is {_kind_name(value)}; use true or false")


@dataclass(frozen=True)
class Knob:
    """One setting of a run: its spec key (the ``netsim sim`` flag without ``--``), the
    table column and argparse attribute it maps to, and its converter to base units."""

    key: str
    column: str
    convert: Callable[[object, str], Value]
    numeric: bool  # ranges allowed


#: The knobs of ``netsim sim`` a sweep may set. (``seed`` is the top-level ``seeds``; ``pcap`` and
#: ``json`` are outputs, not settings. The bulk scenario has one flow, so there is no flow count.)
KNOBS: tuple[Knob, ...] = (
    Knob("bytes", "bytes", _conv_size, True),
    Knob("cc", "cc", _conv_str, False),
    Knob("mss", "mss", _conv_size, True),
    Knob("time-limit", "time_limit", _conv_time, True),
    Knob("delay", "delay", _conv_time, True),
    Knob("jitter", "jitter", _conv_time, True),
    Knob("rate", "rate", _conv_rate, True),
    Knob("queue", "queue", _conv_queue, True),
    Knob("qdisc", "qdisc", _conv_str, False),
    Knob("mtu", "mtu", _conv_int, True),
    Knob("loss", "loss", _conv_float, True),
    Knob("loss-model", "loss_model", _conv_str, False),
    Knob("loss-burst", "loss_burst", _conv_float, True),
    Knob("reorder", "reorder", _conv_float, True),
    Knob("duplicate", "duplicate", _conv_float, True),
    Knob("corrupt", "corrupt", _conv_float, True),
    Knob("flows", "flows", _conv_int, True),
    # RACK-TLP (with D-SACK) on or off, as ``--rack`` / ``--no-rack``; left out: on
    Knob("rack", "rack", _conv_bool, False),
)
_BY_KEY: dict[str, Knob] = {}
for _k in KNOBS:
    _BY_KEY[_k.key] = _k
    _BY_KEY[_k.column] = _k
_KNOB_LIST = ", ".join(k.key for k in KNOBS)


def sim_defaults() -> dict[str, Any]:
    """The argparse defaults of ``netsim sim`` (what a knob left out of a spec is)."""
    return dict(_sim_defaults())


@functools.cache
def _sim_defaults() -> dict[str, Any]:
    from netsim.cli.sim import register

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    ns = parser.parse_args(["sim"])
    return {k: v for k, v in vars(ns).items() if k != "func"}


def sim_args(values: Mapping[str, Value], seed: int) -> argparse.Namespace:
    """The ``netsim sim`` Namespace for knob values in base units (column -> value)."""
    ns = argparse.Namespace(**sim_defaults())
    for column, value in values.items():
        if column == "rate" and value is None:
            value = "none"
        setattr(ns, column, value)
    ns.seed = seed
    ns.pcap = None
    ns.json = False
    return ns
