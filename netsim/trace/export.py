"""Trace exports: JSON lines (round trip), CSV (one file per record kind), pandas DataFrame.

JSON lines: one object per record, ``{"type": "segment", "time": 0.06, "host": "h1", ...}``
with every field of the record; SACK blocks are lists of ``[left, right]``. `read_jsonl` gives
back a `Recorder` whose records compare equal to the ones written.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from netsim import argcheck
from netsim.errors import NetsimError, UsageError
from netsim.stack.events import TraceRecord
from netsim.trace.recorder import KINDS, Recorder, kind_of

if TYPE_CHECKING:
    import pandas

__all__ = ["TraceFormatError", "from_dataframe", "read_jsonl", "to_csv", "to_dataframe",
           "to_jsonl"]

_FIELDS: dict[type[TraceRecord], tuple[str, ...]] = {
    cls: tuple(f.name for f in dataclasses.fields(cls)) for cls in KINDS.values()
}
_CASTS: dict[str, Any] = {"int": int, "bool": bool, "str": str, "float": float}


class TraceFormatError(NetsimError):
    """A trace file (or DataFrame) that is not in the format netsim writes."""


def _fields(cls: type[TraceRecord]) -> tuple[str, ...]:
    names = _FIELDS.get(cls)
    if names is None:
        names = _FIELDS[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return names


# ---------------------------------------------------------------------- JSON lines
def to_jsonl(records: Iterable[TraceRecord], path: str | Path) -> Path:
    """Write `records` to `path`, one JSON object per line."""
    out = Path(argcheck.path("path", path))
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    with out.open("w", encoding="utf-8") as fh:
        for rec in records:
            row: dict[str, Any] = {"type": kind_of(rec)}
            for name in _fields(type(rec)):
                row[name] = getattr(rec, name)
            fh.write(dumps(row))
            fh.write("\n")
    return out


def _tuples(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_tuples(v) for v in value)
    return value


def _build(kind: str, row: dict[str, Any], where: str) -> TraceRecord:
    cls = KINDS.get(kind)
    if cls is None:
        raise TraceFormatError(f"{where}: unknown record type {kind!r}")
    try:
        return cls(**{k: _tuples(v) for k, v in row.items()})
    except TypeError as exc:
        raise TraceFormatError(f"{where}: not a {kind} record: {exc}") from None


def read_jsonl(path: str | Path) -> Recorder:
    """Read a file written by `to_jsonl` into a new `Recorder`."""
    src = Path(argcheck.path("path", path))
    if not src.is_file():
        raise UsageError(f"trace: {str(src)!r} is not a file")
    records: list[TraceRecord] = []
    with src.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            where = f"{src}:{lineno}"
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise TraceFormatError(f"{where}: not JSON ({exc.msg})") from None
            if not isinstance(row, dict) or "type" not in row:
                raise TraceFormatError(f"{where}: expected an object with a \"type\" field")
            kind = row.pop("type")
            records.append(_build(str(kind), row, where))
    return Recorder.from_records(records)


# ---------------------------------------------------------------------- CSV
def _csv_value(value: Any) -> Any:
    if isinstance(value, tuple):  # SACK blocks: "left-right;left-right"
        return ";".join(f"{a}-{b}" for a, b in value)
    if value is None:
        return ""
    return value


def _write_csv(path: Path, cls: type[TraceRecord], records: Sequence[TraceRecord]) -> None:
    names = _fields(cls)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(names)
        for rec in records:
            writer.writerow([_csv_value(getattr(rec, n)) for n in names])


def to_csv(records: Iterable[TraceRecord], path: str | Path,
           kind: str | None = None) -> list[Path]:
    """CSV, one file per record kind, with a header row of field names.

    With `kind`, the records of that kind go to the file `path`. Without, `path` is a
    directory (created if needed) and each kind present gets ``<kind>.csv`` in it.
    Empty values are None; SACK blocks are written as ``left-right;left-right``.
    """
    recs = list(records)
    out = Path(argcheck.path("path", path))
    if kind is not None:
        cls = KINDS.get(kind)
        if cls is None:
            raise UsageError(f"kind: {kind!r} is not a record kind; use {', '.join(KINDS)}")
        _write_csv(out, cls, [r for r in recs if isinstance(r, cls)])
        return [out]
    if out.suffix.lower() == ".csv":
        raise UsageError(f"path: {str(out)!r}: without kind=, to_csv writes one CSV per "
                         "record kind into a directory; give a directory or a kind")
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for name, cls in KINDS.items():
        of_kind = [r for r in recs if isinstance(r, cls)]
        if of_kind:
            target = out / f"{name}.csv"
            _write_csv(target, cls, of_kind)
            written.append(target)
    return written


# ---------------------------------------------------------------------- pandas
def _pandas() -> Any:
    try:
        import pandas
    except ImportError:
        raise NetsimError("to_dataframe needs pandas, an optional extra: "
                          "pip install 'netsim[pandas]' (or pip install pandas)") from None
    return pandas


def to_dataframe(records: Iterable[TraceRecord], kind: str | None = None) -> pandas.DataFrame:
    """A DataFrame with one row per record: a "type" column, then every field (the union of
    the fields of the kinds present, NaN/None where a kind has no such field)."""
    pd = _pandas()
    recs = list(records)
    if kind is not None:
        cls = KINDS.get(kind)
        if cls is None:
            raise UsageError(f"kind: {kind!r} is not a record kind; use {', '.join(KINDS)}")
        recs = [r for r in recs if isinstance(r, cls)]
        columns = ["type", *_fields(cls)]
    else:
        columns = ["type", "time", "host"]
        for cls in KINDS.values():
            if any(isinstance(r, cls) for r in recs):
                columns.extend(n for n in _fields(cls) if n not in columns)
    rows = []
    for rec in recs:
        row: dict[str, Any] = {"type": kind_of(rec)}
        for name in _fields(type(rec)):
            row[name] = getattr(rec, name)
        rows.append(row)
    return pd.DataFrame(rows, columns=columns)


def _clean(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    item = getattr(value, "item", None)  # numpy scalar -> Python scalar
    if callable(item) and not isinstance(value, (str, bytes, tuple, list)):
        value = item()
        if isinstance(value, float) and math.isnan(value):
            return None
    if isinstance(value, list):
        return tuple(tuple(v) if isinstance(v, list) else v for v in value)
    return value


def from_dataframe(df: pandas.DataFrame) -> list[TraceRecord]:
    """The records of a DataFrame made by `to_dataframe` (rows whose type is known)."""
    if "type" not in df.columns:
        raise TraceFormatError("DataFrame: no 'type' column; make it with Recorder.to_dataframe")
    records: list[TraceRecord] = []
    columns = list(df.columns)
    for i, values in enumerate(df.itertuples(index=False, name=None)):
        row = dict(zip(columns, values, strict=True))
        kind = str(row.pop("type"))
        cls = KINDS.get(kind)
        if cls is None:
            raise TraceFormatError(f"DataFrame row {i}: unknown record type {kind!r}")
        args: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            if f.name in row:
                value = _clean(row[f.name])
                cast = _CASTS.get(str(f.type))  # DataFrame columns with gaps turn ints to floats
                if cast is not None and value is not None:
                    value = cast(value)
                args[f.name] = value
        records.append(_build(kind, args, f"DataFrame row {i}"))
    return records
