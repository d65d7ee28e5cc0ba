"""``--qdisc`` in the words of tc(8): a discipline's name, then ``name value`` pairs and flags.

    parse_qdisc("codel")                                   # RFC 8289 defaults
    parse_qdisc("codel target 5ms interval 100ms ecn")
    parse_qdisc("fq_codel flows 1024 quantum 1514 limit 10240")
    parse_qdisc("red min 5 max 15 probability 0.02 limit 1000")
    parse_qdisc("droptail limit 100")  /  parse_qdisc("droptail bytes 64kB")
    parse_qdisc("my_qdisc.py:Lifo")     # a student's QueueDisc subclass, from a file

The result is a `QdiscSpec`: a frozen, printable factory (each link direction calls it for a
discipline of its own). Every bad word is a one-line `UsageError` naming the flag and what is
allowed, raised before anything runs.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from netsim.errors import UsageError
from netsim.link.qdisc.base import QueueDisc
from netsim.link.qdisc.codel import Codel
from netsim.link.qdisc.droptail import DropTail
from netsim.link.qdisc.fq_codel import FqCodel
from netsim.link.qdisc.red import Red
from netsim.units import parse_size, parse_time
from netsim.userclass import import_user_class, user_class_key

__all__ = ["QDISCS", "QdiscSpec", "load_qdisc_class", "parse_qdisc", "register_qdisc"]

Check = Callable[[str, str, str], Any]  # (text, flag, parameter) -> value


def _time(text: str, flag: str, param: str) -> float:
    value = parse_time(text, f"{flag}: {param}")
    if not value > 0:
        raise UsageError(f"{flag}: {param}: {text!r} is not a positive time; use e.g. 5ms")
    return value


def _int(low: int, high: int) -> Check:
    def check(text: str, flag: str, param: str) -> int:
        stripped = text.strip()
        value = int(stripped) if stripped.isdigit() else -1
        if not low <= value <= high:
            raise UsageError(f"{flag}: {param}: {text!r} is not allowed; use a whole number "
                             f"{low}..{high}")
        return value
    return check


def _number(low: float, high: float, *, open_low: bool = False) -> Check:
    def check(text: str, flag: str, param: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        ok = math.isfinite(value) and value <= high and (value > low if open_low
                                                         else value >= low)
        if not ok:
            bound = f"({low:g}, {high:g}]" if open_low else f"[{low:g}, {high:g}]"
            raise UsageError(f"{flag}: {param}: {text!r} is not allowed; use a number in {bound}")
        return value
    return check


def _size(text: str, flag: str, param: str) -> int:
    value = parse_size(text, f"{flag}: {param}")
    if value < 1:
        raise UsageError(f"{flag}: {param}: {text!r} is too small; use a size >= 1 byte")
    return value


FLAG = None  # a parameter that takes no value (``ecn``, ``gentle``)
_LIMIT = _int(1, 10_000_000)


@dataclass(frozen=True)
class QdiscType:
    """A discipline ``--qdisc`` knows: its class and parameters (tc word -> keyword, check)."""

    cls: Callable[..., QueueDisc]
    params: dict[str, tuple[str, Check | None]]
    about: str


QDISCS: dict[str, QdiscType] = {
    "droptail": QdiscType(DropTail, {
        "limit": ("limit", _LIMIT), "bytes": ("bytes", _size),
    }, "FIFO that drops arrivals when full"),
    "codel": QdiscType(Codel, {
        "target": ("target", _time), "interval": ("interval", _time), "limit": ("limit", _LIMIT),
        "ecn": ("ecn", FLAG),
    }, "RFC 8289"),
    "fq_codel": QdiscType(FqCodel, {
        "target": ("target", _time), "interval": ("interval", _time), "limit": ("limit", _LIMIT),
        "flows": ("flows", _int(1, 65536)), "quantum": ("quantum", _int(64, 1 << 20)),
        "ecn": ("ecn", FLAG),
    }, "RFC 8290"),
    "red": QdiscType(Red, {
        "min": ("min", _number(0, 1e7)), "max": ("max", _number(0, 1e7, open_low=True)),
        "probability": ("probability", _number(0, 1, open_low=True)),
        "weight": ("weight", _number(0, 1, open_low=True)), "limit": ("limit", _LIMIT),
        "avpkt": ("avpkt", _int(1, 65535)), "gentle": ("gentle", FLAG), "ecn": ("ecn", FLAG),
    }, "Floyd & Jacobson 1993"),
}


def register_qdisc(name: str, cls: Callable[..., QueueDisc],
                   params: dict[str, tuple[str, Check | None]] | None = None,
                   about: str = "") -> None:
    """Make ``--qdisc NAME`` build ``cls(**params)`` (a student's discipline)."""
    QDISCS[name] = QdiscType(cls, dict(params or {}), about)


def _allowed() -> str:
    return "|".join(QDISCS) + " or path/to/file.py:ClassName"


@dataclass(frozen=True)
class QdiscSpec:
    """A named discipline with its parameters: call it for a fresh discipline."""

    name: str
    params: tuple[tuple[str, Any], ...] = ()
    cls: Callable[..., QueueDisc] | None = None  # a class loaded from a file (not registered)

    def __call__(self) -> QueueDisc:
        cls = self.cls if self.cls is not None else QDISCS[self.name].cls
        return cls(**dict(self.params))

    def describe(self) -> str:
        words = [self.name]
        for key, value in self.params:
            if value is True:
                words.append(key)
            elif value is None:
                continue
            elif key in ("target", "interval"):
                words.append(f"{key} {value * 1e6:.0f}us" if value < 1e-3
                             else f"{key} {value * 1e3:g}ms")
            else:
                words.append(f"{key} {value:g}" if isinstance(value, float) else f"{key} {value}")
        return " ".join(words)

    def __str__(self) -> str:
        return self.describe()


def parse_qdisc(text: object, flag: str = "--qdisc") -> QdiscSpec:
    """Parse a tc-like discipline description (see the module doc)."""
    if not isinstance(text, str) or not text.strip():
        raise UsageError(f"{flag}: {text!r} is not a queue discipline; use {_allowed()}")
    words = text.split()
    if ":" in words[0]:
        if len(words) > 1:
            raise UsageError(f"{flag}: {words[1]!r}: a discipline from a file takes no "
                             "parameters here; give them defaults in its __init__")
        return QdiscSpec(words[0], (), load_qdisc_class(words[0], flag))
    name = words[0].lower().replace("-", "_")
    kind = QDISCS.get(name)
    if kind is None:
        raise UsageError(f"{flag}: {words[0]!r} is not a queue discipline; use {_allowed()} "
                         "(with tc-like parameters, e.g. 'codel target 5ms interval 100ms')")
    params: dict[str, Any] = {}
    rest = words[1:]
    i = 0
    while i < len(rest):
        word = rest[i].lower()
        entry = kind.params.get(word)
        if entry is None:
            allowed = ", ".join(kind.params) or "none"
            raise UsageError(f"{flag}: {rest[i]!r} is not a parameter of {name}; use {allowed}")
        keyword, check = entry
        if keyword in params:
            raise UsageError(f"{flag}: {name} {word} is given twice")
        if check is None:
            params[keyword] = True
            i += 1
            continue
        if i + 1 >= len(rest):
            raise UsageError(f"{flag}: {name} {word} needs a value, e.g. "
                             f"'{name} {word} {_EXAMPLES.get(word, '10')}'")
        params[keyword] = check(rest[i + 1], flag, f"{name} {word}")
        i += 2
    if name == "red":
        low = params.get("min", 5.0)
        high = params.get("max", 15.0)
        if not low < high:
            raise UsageError(f"{flag}: red min {low:g} is not below max {high:g}; "
                             "use min < max (packets)")
    if name == "droptail" and "bytes" in params and "limit" not in params:
        params["limit"] = None  # a byte limit alone, as --queue 64kB
    return QdiscSpec(name, tuple(params.items()))


_LOADED: dict[tuple[str, int, int, str], type[QueueDisc]] = {}


def load_qdisc_class(spec: str, flag: str = "--qdisc") -> type[QueueDisc]:
    """A student's discipline, ``path/to/file.py:ClassName``: a `QueueDisc` subclass whose
    constructor takes no arguments. Imported once per version of the file."""
    key = user_class_key(spec)
    cached = _LOADED.get(key) if key is not None else None
    if cached is not None:
        return cached
    obj = import_user_class(spec, flag, "netsim_user_qdisc")
    name = spec.rpartition(":")[2]
    if not issubclass(obj, QueueDisc):
        raise UsageError(f"{flag}: class {name!r} is not a QueueDisc subclass "
                         "(see netsim/link/qdisc/base.py)")
    try:
        obj()
    except Exception as exc:
        raise UsageError(f"{flag}: {name}() failed: {type(exc).__name__}: {exc}"
                         .splitlines()[0]) from None
    if key is not None:
        _LOADED[key] = obj
    return obj


_EXAMPLES = {"target": "5ms", "interval": "100ms", "limit": "1000", "flows": "1024",
             "quantum": "1514", "bytes": "64kB", "min": "5", "max": "15",
             "probability": "0.02", "weight": "0.002", "avpkt": "1000"}
