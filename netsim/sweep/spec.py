"""Sweep specifications: a small TOML file naming fixed knobs, knobs to vary and seeds.

    seeds = {count = 20}                  # or seeds = [1, 2, 3]; default [1]

    [scenario]                            # fixed for every run; the names of `netsim sim` flags
    bytes = "1MB"
    delay = "10ms"

    [vary]                                # every combination of these, times every seed
    loss = {start = 0.001, stop = 0.05, num = 6, log = true}
    cc = ["reno", "cubic"]
    mss = {start = 536, stop = 1448, step = 456}

Knob values are parsed the way ``netsim sim`` parses its flags, with the same rule for units: a
time or a rate is a string with its unit (``"10ms"``, ``"100Mbit"``; a bare number such as
``delay = 0.01`` is refused, only 0 may go without), a size may be a number of bytes. Values are
kept in the table in base units (seconds, bits/s, bytes).

A `SpecError` (a `UsageError`: exit status 2) names the key: an unknown key, a value of the wrong
type, an empty spec, list, range or ``[vary]``, a duplicated value. Everything is checked before
anything runs, by the code that checks ``netsim sim``'s flags: ``[scenario]`` as a whole, and
each ``[vary]`` value with ``[scenario]`` (``loss = [1.5]`` and ``mtu = [100]`` are refused up
front, naming the key and the allowed range). Only combinations of two varied knobs that do
not fit each other (an ``mss`` too large for one of the varied ``mtu`` values) are left to the
runs, which record the reason in their ``error`` column.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any

from netsim import argcheck
from netsim.errors import UsageError
from netsim.sweep.check import check_scenario, check_vary
from netsim.sweep.knobs import (
    _BY_KEY,
    _KNOB_LIST,
    KNOBS,
    Knob,
    SpecError,
    Value,
    _conv_rate,
    _conv_time,
    _kind_name,
    _number,
    sim_args,
    sim_defaults,
)

__all__ = ["KNOBS", "Knob", "Run", "SpecError", "SweepSpec", "load_spec", "parse_spec",
           "sim_args", "sim_defaults"]

#: Bumped if the meaning of a run id changes (then old tables are not resumed into new ones).
RUN_ID_VERSION = "netsim-sweep-1"
#: Largest number of runs one spec may describe (a typo such as num = 1e6 fails fast).
MAX_RUNS = 1_000_000

# --------------------------------------------------------------------------- runs
@dataclass(frozen=True)
class Run:
    """One run of a sweep: its place in the spec's order, its id, its knobs and its seed."""

    index: int
    run_id: str
    params: dict[str, Value]  # column -> value in base units, every knob the spec names
    seed: int


def run_id_for(params: Mapping[str, Value], seed: int) -> str:
    """A deterministic id: a hash of every knob the spec sets and the seed (not of the order
    or of the spec file), so a re-run with the same output file skips what is done."""
    doc = json.dumps({"v": RUN_ID_VERSION, "params": dict(params), "seed": seed},
                     sort_keys=True, allow_nan=True)
    return hashlib.sha256(doc.encode()).hexdigest()[:16]


@dataclass
class SweepSpec:
    """A parsed spec: fixed knobs, varied knobs (each a list of values) and seeds."""

    fixed: dict[str, Value] = field(default_factory=dict)  # column -> value
    vary: dict[str, list[Value]] = field(default_factory=dict)  # column -> values, spec order
    seeds: list[int] = field(default_factory=lambda: [1])
    description: str = ""
    source: str = "<spec>"

    @property
    def param_columns(self) -> list[str]:
        """The knob columns of the table: varied knobs first (spec order), then fixed ones."""
        return [*self.vary, *(c for c in self.fixed if c not in self.vary)]

    def __len__(self) -> int:
        return math.prod(len(v) for v in self.vary.values()) * len(self.seeds)

    def combination(self, index: int) -> dict[str, Value]:
        """The knob values (column -> value) of the ``index``-th combination of the varied
        values, in the order `runs` goes through them, without listing the others."""
        params = dict(self.fixed)
        for column in reversed(list(self.vary)):
            values = self.vary[column]
            index, i = divmod(index, len(values))
            params[column] = values[i]
        return params

    @property
    def combinations(self) -> int:
        return math.prod(len(v) for v in self.vary.values())

    def runs(self) -> list[Run]:
        """Every combination of the varied values, times every seed (seeds innermost)."""
        columns = list(self.vary)
        out: list[Run] = []
        combos = itertools.product(*(self.vary[c] for c in columns)) if columns else [()]
        for combo in combos:
            params = {c: self.fixed[c] for c in self.param_columns if c in self.fixed}
            params.update(zip(columns, combo, strict=True))
            ordered = {c: params[c] for c in self.param_columns}
            for seed in self.seeds:
                out.append(Run(len(out), run_id_for(ordered, seed), ordered, seed))
        return out


# --------------------------------------------------------------------------- parsing
def load_spec(path: str | Path) -> SweepSpec:
    """Read and check a spec file (a `SpecError` names the file and the key)."""
    p = Path(argcheck.path("path", path, "sweep.toml"))
    try:
        text = p.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise SpecError(f"SPEC: no such file {str(path)!r}") from None
    except IsADirectoryError:
        raise SpecError(f"SPEC: {str(path)!r} is a folder; give a TOML file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"SPEC: cannot read {str(path)!r}: {exc}") from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{p.name}: not valid TOML: {exc}") from None
    return parse_spec(doc, source=p.name, base=p.parent)


def parse_spec(doc: Mapping[str, Any], source: str = "<spec>",
               base: Path | None = None) -> SweepSpec:
    """Check a spec given as a mapping (what `tomllib` returns). ``base`` is the folder a
    ``cc = "file.py:Class"`` path is relative to (default: the current folder)."""
    if not isinstance(doc, Mapping):
        hint = "load_spec(path) reads a file; " if isinstance(doc, str | PathLike) else ""
        raise SpecError(f"doc: {doc!r:.60} is not a mapping; {hint}give a dict such as "
                        "{'scenario': {...}, 'vary': {...}}")
    spec = SweepSpec(source=str(source))

    def err(msg: str) -> SpecError:
        return SpecError(f"{source}: {msg}")

    if not set(doc) - {"description"}:
        raise err("empty spec: nothing to sweep; give [scenario] knobs and a [vary] table "
                  "(netsim sweep --help shows the format)")
    if "vary" in doc and isinstance(doc["vary"], dict) and not doc["vary"]:
        raise err("[vary]: empty table; name at least one knob to vary, e.g. "
                  "loss = [0.01, 0.02] (or leave out [vary] to repeat [scenario] over seeds)")

    for key, value in doc.items():
        if key == "scenario":
            if not isinstance(value, dict):
                raise err(f"scenario: is {_kind_name(value)}; use a [scenario] table")
            for k, v in value.items():
                knob = _knob(k, "[scenario]", err)
                if knob.column in spec.fixed:
                    raise err(f"[scenario] {k}: set twice ({knob.key} and {knob.column})")
                spec.fixed[knob.column] = _value(knob, v, f"[scenario] {k}", err, base)
        elif key == "vary":
            if not isinstance(value, dict):
                raise err(f"vary: is {_kind_name(value)}; use a [vary] table")
            for k, v in value.items():
                knob = _knob(k, "[vary]", err)
                if knob.column in spec.vary:
                    raise err(f"[vary] {k}: set twice ({knob.key} and {knob.column})")
                spec.vary[knob.column] = _values(knob, v, f"[vary] {k}", err, base)
        elif key == "seeds":
            spec.seeds = _seeds(value, err)
        elif key == "description":
            if not isinstance(value, str):
                raise err(f"description: is {_kind_name(value)}; use a string")
            spec.description = value
        else:
            hint = (" (the seeds are the top-level key seeds = [...])"
                    if key == "seed" else "")
            raise err(f"{key}: unknown key; use seeds, description, [scenario] or "
                      f"[vary]{hint}")
    for column in spec.vary:
        if column in spec.fixed:
            key = next(k.key for k in KNOBS if k.column == column)
            raise err(f"[vary] {key}: also set in [scenario]; set it in one place")
    if len(spec) > MAX_RUNS:
        raise err(f"[vary]: {len(spec):,} runs is more than {MAX_RUNS:,}; sweep less at a time")
    check_scenario(spec, err)
    check_vary(spec, err)
    return spec


def _knob(key: str, table: str, err: Callable[[str], SpecError]) -> Knob:
    knob = _BY_KEY.get(key)
    if knob is None:
        hint = ""
        if key in ("seed", "seeds"):
            hint = "; the seeds are the top-level key seeds = [...]"
        elif key in ("n_flows", "n-flows"):
            hint = "; the number of connections is the knob flows"
        elif key in ("pcap", "json"):
            hint = f"; {key} is an output of netsim sim, not a setting"
        raise err(f"{table} {key}: unknown knob; use one of {_KNOB_LIST}{hint}")
    return knob


def _value(knob: Knob, value: object, where: str, err: Callable[[str], SpecError],
           base: Path | None) -> Value:
    if isinstance(value, list | dict):
        raise err(f"{where}: is {_kind_name(value)}; a [scenario] knob has one value "
                  "(lists and ranges go in [vary])")
    return _one(knob, value, where, err, base)


def _one(knob: Knob, value: object, where: str, err: Callable[[str], SpecError],
         base: Path | None) -> Value:
    try:
        out = knob.convert(value, where)
    except SpecError as exc:
        raise err(str(exc)) from None
    except UsageError as exc:  # a unit parser: the message already names `where`
        raise err(str(exc)) from None
    if knob.key == "cc" and isinstance(out, str) and ":" in out:
        path, _, cls = out.rpartition(":")
        if path and not Path(path).is_absolute():
            out = f"{((base or Path('.')) / path).resolve()}:{cls}"
    return out


def _values(knob: Knob, value: object, where: str, err: Callable[[str], SpecError],
            base: Path | None) -> list[Value]:
    if isinstance(value, list):
        if not value:
            raise err(f"{where}: empty list; give at least one value")
        items = [_one(knob, v, f"{where}[{i}]", err, base) for i, v in enumerate(value)]
    elif isinstance(value, dict):
        if not knob.numeric:
            raise err(f"{where}: a range needs a numeric knob; list the values instead")
        # Range points are in base units already: a time or a rate is not converted again
        # (it would be a bare number); a size is (it must be a whole number of bytes).
        items = [v if knob.convert in (_conv_time, _conv_rate) else _one(knob, v, where, err, base)
                 for v in _range(knob, value, where, err)]
    else:
        items = [_one(knob, value, where, err, base)]
    seen: set[str] = set()
    for item in items:
        token = json.dumps(item)
        if token in seen:
            raise err(f"{where}: {item!r} appears twice")
        seen.add(token)
    return items


def _range(knob: Knob, rng: Mapping[str, Any], where: str,
           err: Callable[[str], SpecError]) -> list[float | int]:
    keys = set(rng)
    if "step" in keys:
        allowed = {"start", "stop", "step"}
    else:
        allowed = {"start", "stop", "num", "log"}
    extra = sorted(keys - allowed)
    if extra:
        raise err(f"{where}: unknown range key {extra[0]!r}; use {{start, stop, num, log}} "
                  "or {start, stop, step}")
    missing = [k for k in ("start", "stop") if k not in keys]
    if "step" not in keys and "num" not in keys:
        missing.append("num (or step)")
    if missing:
        raise err(f"{where}: range lacks {', '.join(missing)}")

    def bound(name: str) -> float | int:
        v = rng[name]
        if not isinstance(v, str) and (not _number(v) or not math.isfinite(v)):
            raise err(f"{where}.{name}: {v!r} is {_kind_name(v)}; use a finite number")
        # "10ms", "1MB": the knob's own units (and its rule for bare numbers)
        try:
            conv = knob.convert(v, f"{where}.{name}")
        except UsageError as exc:
            raise err(str(exc)) from None
        if not _number(conv):
            raise err(f"{where}.{name}: {v!r} is not a number")
        return conv  # type: ignore[no-any-return]

    start, stop = bound("start"), bound("stop")
    if "step" in keys:
        step = bound("step")
        if step == 0:
            raise err(f"{where}.step: 0 makes an endless range; use a non-zero step")
        n = math.floor((stop - start) / step * (1 + 1e-12) + 1e-9) + 1
        if n <= 0:
            raise err(f"{where}: empty range (from {start} to {stop} by {step})")
        if n > MAX_RUNS:
            raise err(f"{where}: {n} values is too many")
        ints = all(isinstance(x, int) for x in (start, stop, step))
        return [start + i * step if ints else _tidy(start + i * step) for i in range(n)]
    num = rng["num"]
    if isinstance(num, bool) or not isinstance(num, int):
        raise err(f"{where}.num: {num!r} is {_kind_name(num)}; use a whole number >= 1")
    if num < 1:
        raise err(f"{where}.num: {num} makes an empty range; use a whole number >= 1")
    if num > MAX_RUNS:
        raise err(f"{where}.num: {num} values is too many")
    log = rng.get("log", False)
    if not isinstance(log, bool):
        raise err(f"{where}.log: {log!r} is {_kind_name(log)}; use true or false")
    if log and not (start > 0 and stop > 0):
        raise err(f"{where}: a log range needs start > 0 and stop > 0")
    if num == 1:
        points = [float(start)]
    elif log:
        a, b = math.log10(start), math.log10(stop)
        points = [10 ** (a + (b - a) * i / (num - 1)) for i in range(num)]
    else:
        points = [start + (stop - start) * i / (num - 1) for i in range(num)]
    values = [_tidy(p) for p in points]
    if isinstance(start, int) and isinstance(stop, int) and all(v.is_integer() for v in values):
        return [int(v) for v in values]
    return values


def _tidy(x: float) -> float:
    """Round away float noise (0.0010000000000000002 -> 0.001) so values and ids are tidy."""
    return float(f"{x:.12g}")


def _seeds(value: object, err: Callable[[str], SpecError]) -> list[int]:
    if isinstance(value, list):
        if not value:
            raise err("seeds: empty list; give at least one seed")
        seeds: list[int] = []
        for i, s in enumerate(value):
            if isinstance(s, bool) or not isinstance(s, int) or s < 0:
                raise err(f"seeds[{i}]: {s!r} is not a seed; use a whole number >= 0")
            if s in seeds:
                raise err(f"seeds: {s} appears twice")
            seeds.append(s)
        return seeds
    if isinstance(value, dict):
        extra = sorted(set(value) - {"count", "start"})
        if extra:
            raise err(f"seeds: unknown key {extra[0]!r}; use {{count = N}} or "
                      "{count = N, start = S}")
        count = value.get("count")
        start = value.get("start", 1)
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise err(f"seeds.count: {count!r} is not a count; use a whole number >= 1")
        if isinstance(start, bool) or not isinstance(start, int) or start < 0:
            raise err(f"seeds.start: {start!r} is not a seed; use a whole number >= 0")
        return list(range(start, start + count))
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise err(f"seeds: {value} is not a seed; use a whole number >= 0")
        return [value]
    raise err(f"seeds: {value!r} is {_kind_name(value)}; use a list [1, 2, 3] or {{count = N}}")
