"""The sweep table: one CSV row per run, appended as runs finish, resumable, sorted at the end.

Columns: ``run_id``, the knobs the spec sets (base units: seconds, bits/s, bytes), ``seed``, the
summary fields of ``netsim sim --json`` not already given by a knob (a knob's column is the value
asked for; e.g. ``mss`` stays the measured MSS when the spec does not set it), ``drops_<reason>``,
``error`` (empty when the run went fine) and ``wall_seconds``. Every column but ``wall_seconds``
is the same whatever the number or kind of workers.

The file loads directly with ``pandas.read_csv(path)``; `read_table` gives typed rows without
pandas.
"""

from __future__ import annotations

import csv
import importlib
import io
import math
import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from netsim import argcheck
from netsim.errors import UsageError
from netsim.sweep.spec import SweepSpec
from netsim.sweep.worker import SUMMARY_COLUMNS

__all__ = ["NONDETERMINISTIC_COLUMNS", "SweepTable", "columns_for", "read_table",
           "write_parquet"]

#: Columns that depend on the machine and its load, not on the spec: leave them out when
#: comparing two tables.
NONDETERMINISTIC_COLUMNS: tuple[str, ...] = ("wall_seconds",)


def columns_for(spec: SweepSpec) -> list[str]:
    """The table columns for ``spec``, in order."""
    params = spec.param_columns
    taken = {"run_id", "seed", "error", "wall_seconds", *params}
    measured = [c for c in SUMMARY_COLUMNS if c not in taken]
    return ["run_id", *params, "seed", *measured, "error", "wall_seconds"]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else ("nan" if value != value else
                                                          ("inf" if value > 0 else "-inf"))
    return " ".join(str(value).split()) if isinstance(value, str) else str(value)


def _write_rows(fh: IO[str], rows: Iterable[Sequence[str]]) -> None:
    writer = csv.writer(fh, lineterminator="\n")
    writer.writerows(rows)


class SweepTable:
    """The output CSV of a sweep: what is already done, and an appender for the rest."""

    def __init__(self, path: str | Path, columns: Sequence[str]) -> None:
        self.path = Path(path)
        self.columns = list(columns)
        self.rows: dict[str, list[str]] = {}  # run_id -> cells, as in the file
        self._fh: IO[str] | None = None

    # -- reading what a previous (perhaps interrupted) sweep left
    def load(self) -> int:
        """Read finished rows from an existing file (a torn last line is ignored); return how
        many. A file with other columns is refused: it belongs to another spec."""
        try:
            with open(self.path, encoding="utf-8", newline="") as fh:
                text = fh.read()
        except FileNotFoundError:
            return 0
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"--out: cannot read {str(self.path)!r}: {exc}") from None
        if not text.strip():
            return 0
        if not text.endswith("\n"):  # the last row was being written when the sweep stopped
            text = text[: text.rfind("\n") + 1]
        reader = csv.reader(io.StringIO(text))
        header = next(reader, None)
        if header is None:
            return 0
        if header != self.columns:
            raise UsageError(
                f"--out: {str(self.path)!r} holds a table with other columns (another spec?); "
                "choose another --out or move the file away")
        for cells in reader:
            if len(cells) != len(self.columns) or not cells[0]:
                continue  # a damaged row: that run is done again
            self.rows.setdefault(cells[0], cells)
        return len(self.rows)

    # -- writing
    def rewrite(self, order: Mapping[str, int]) -> None:
        """Replace the file (atomically) by the header and every row, in ``order`` (rows not
        in ``order`` last, by id)."""
        big = len(order)
        keyed = sorted(self.rows.values(), key=lambda r: (order.get(r[0], big), r[0]))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            mode = self.path.stat().st_mode & 0o777
        except FileNotFoundError:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp",
                                   dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
                _write_rows(fh, [self.columns, *keyed])
            os.chmod(tmp, mode)  # mkstemp makes 0600; keep the file's (or the usual) mode
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def open_append(self) -> None:
        self._fh = open(self.path, "a", encoding="utf-8", newline="")  # noqa: SIM115

    def append(self, row: Mapping[str, Any]) -> None:
        """Add one finished run and flush it to the file at once."""
        cells = [_cell(row.get(c)) for c in self.columns]
        self.rows[cells[0]] = cells
        if self._fh is not None:
            _write_rows(self._fh, [cells])
            self._fh.flush()

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


# --------------------------------------------------------------------------- reading
def _typed(text: str) -> Any:
    if text == "":
        return None
    if text in ("True", "False"):
        return text == "True"
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


#: Columns that are always text (a hex run id may look like a number).
TEXT_COLUMNS = frozenset({"run_id", "error", "cc", "loss_model", "sha256_sent",
                          "sha256_received"})


def read_table(path: str | Path) -> list[dict[str, Any]]:
    """The rows of a sweep table as dicts with typed cells (int, float, bool, str; None for an
    empty cell). With pandas, ``pandas.read_csv(path)`` reads the same file."""
    argcheck.path("path", path, "sweep.csv")  # (an int would be read as a file descriptor)
    try:
        with open(path, encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh)
            rows = []
            for row in reader:
                if None in row or None in row.values():  # more or fewer cells than the header
                    raise UsageError(f"TABLE: {str(path)!r} line {reader.line_num} does not "
                                     "have one cell per column of the header; not a sweep "
                                     "table (netsim sweep writes one)")
                rows.append({k: (v if k in TEXT_COLUMNS else _typed(v)) for k, v in row.items()})
            return rows
    except FileNotFoundError:
        raise UsageError(f"TABLE: no such file {str(path)!r}") from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise UsageError(f"TABLE: cannot read {str(path)!r}: {exc}") from None


def parquet_available() -> bool:
    """True when pyarrow (an optional package) can be imported."""
    try:
        importlib.import_module("pyarrow.parquet")
    except ImportError:
        return False
    return True


def write_parquet(csv_path: str | Path, parquet_path: str | Path) -> None:
    """Write the CSV table as Parquet (needs pyarrow)."""
    if not parquet_available():
        raise UsageError("--parquet: needs pyarrow (pip install pyarrow)")
    pacsv: Any = importlib.import_module("pyarrow.csv")
    pq: Any = importlib.import_module("pyarrow.parquet")

    pa: Any = importlib.import_module("pyarrow")
    with open(csv_path, encoding="utf-8", newline="") as fh:
        header = next(csv.reader(fh), [])
    text_types = {c: pa.string() for c in header if c in TEXT_COLUMNS}
    table = pacsv.read_csv(str(csv_path),
                           convert_options=pacsv.ConvertOptions(column_types=text_types))
    try:
        pq.write_table(table, str(parquet_path))
    except OSError as exc:
        raise UsageError(f"--parquet: cannot write {str(parquet_path)!r}: {exc}") from None
