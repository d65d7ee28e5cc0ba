"""A student's class for one of the TCP seams, named on the command line as
``path/to/file.py:ClassName`` (``netsim sim --rto/--reassembler/--receiver/--sender``): imported
once, checked for the seam's methods and built once before anything runs, and turned into the
factory `TcpConfig` takes. Every problem is a one-line `UsageError` naming the flag.

The seams are the interfaces of docs/architecture.md ("The seams a student replaces"):

    --rto          RtoEstimator  netsim/stack/tcp/rto.py           (assignment 02)
    --reassembler  Reassembler   netsim/stack/tcp/reassembly.py    (assignment 03)
    --receiver     TcpReceiver   netsim/stack/tcp/tcp_receiver.py  (assignment 06)
    --sender       TcpSender     netsim/stack/tcp/tcp_sender.py    (assignment 07)

(``--cc``, assignment 04, is loaded by `netsim.tcpspec`.) When the student's code raises during
a run, `student_frame` finds which of the given files it was, so the error names the flag.
"""

from __future__ import annotations

import dataclasses
import types
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from netsim.errors import UsageError
from netsim.stack.tcp.config import TcpConfig
from netsim.userclass import import_user_class, user_class_key

__all__ = ["SEAMS", "Seam", "apply_seams", "load_seam", "student_frame"]


@dataclass(frozen=True)
class Seam:
    flag: str
    field: str  # the TcpConfig factory it fills
    interface: str  # the Protocol and where it is, for the error message
    methods: tuple[str, ...]
    attributes: tuple[str, ...] = ()


SEAMS: dict[str, Seam] = {
    "rto": Seam("--rto", "rto_factory", "RtoEstimator (netsim/stack/tcp/rto.py)",
                ("on_sample", "on_timeout", "on_syn_timeout_done"),
                ("rto", "srtt", "rttvar", "backoffs")),
    "reassembler": Seam("--reassembler", "reassembler_factory",
                        "Reassembler (netsim/stack/tcp/reassembly.py)",
                        ("insert", "blocks"), ("next_index", "pending_bytes", "finished")),
    "receiver": Seam("--receiver", "receiver_factory",
                     "TcpReceiver (netsim/stack/tcp/tcp_receiver.py)",
                     ("receive", "ackno", "window_field"), ("reassembler",)),
    "sender": Seam("--sender", "sender_factory", "TcpSender (netsim/stack/tcp/tcp_sender.py)",
                   ("start", "write", "buffered", "data_end", "payload", "acknowledge")),
}

#: Classes already imported and checked, by seam and file version: the student's module
#: (which may print or count) runs once per command.
_LOADED: dict[tuple[str, tuple[str, int, int, str]], type[Any]] = {}


def load_seam(kind: str, spec: str) -> type[Any]:
    """The class ``spec`` names, checked against seam `kind` (a key of `SEAMS`)."""
    seam = SEAMS[kind]
    key = user_class_key(spec)
    cached = _LOADED.get((kind, key)) if key is not None else None
    if cached is not None:
        return cached
    cls = import_user_class(spec, seam.flag, f"netsim_user_{kind}")
    name = spec.rpartition(":")[2]
    missing = [m for m in seam.methods if not callable(getattr(cls, m, None))]
    if missing:
        raise UsageError(f"{seam.flag}: class {name!r} lacks {', '.join(missing)} "
                         f"(the interface is {seam.interface})")
    try:
        instance = cls()
    except Exception as exc:  # the student's constructor
        raise UsageError(f"{seam.flag}: {name}() failed: {type(exc).__name__}: {exc}"
                         .splitlines()[0]) from None
    absent = [a for a in seam.attributes if not _has(instance, a)]
    if absent:
        raise UsageError(f"{seam.flag}: {name}() has no {', '.join(map(repr, absent))} "
                         f"(the interface is {seam.interface})")
    if key is not None:
        _LOADED[(kind, key)] = cls
    return cls


def _has(obj: object, attr: str) -> bool:
    try:
        getattr(obj, attr)  # a property may raise before the first use: it still exists
    except AttributeError:
        return False
    except Exception:  # noqa: BLE001 - the student's property raised something else
        return True
    return True


def apply_seams(base: TcpConfig, specs: dict[str, str | None]) -> TcpConfig:
    """`base` with the factories of the seams given in `specs` (kind -> spec or None). A
    student's RTO estimator is built with the configuration's min/max/initial RTO."""
    changes: dict[str, Any] = {}
    for kind, spec in specs.items():
        if spec is None:
            continue
        cls = load_seam(kind, spec)
        if kind == "rto":
            changes["rto_factory"] = _rto_factory(cls, base)
        else:
            changes[SEAMS[kind].field] = cls
    return dataclasses.replace(base, **changes) if changes else base


def _rto_factory(cls: type[Any], cfg: TcpConfig) -> Callable[[], Any]:
    def make() -> Any:
        return cls(min_rto=cfg.min_rto, max_rto=cfg.max_rto, initial_rto=cfg.initial_rto)
    return make


def student_frame(exc: BaseException, files: dict[str, str]) -> str | None:
    """The flag (a key of `files`, flag -> path) whose file raised `exc`, judged by the
    innermost frame of its traceback that is in one of the files; None if none is."""
    wanted = {str(Path(p).resolve()): flag for flag, p in files.items()}
    found = None
    tb: types.TracebackType | None = exc.__traceback__
    while tb is not None:
        name = tb.tb_frame.f_code.co_filename
        try:
            resolved = str(Path(name).resolve())
        except (OSError, ValueError):
            resolved = name
        if resolved in wanted:
            found = wanted[resolved]
        tb = tb.tb_next
    return found
