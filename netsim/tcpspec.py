"""What a TCP run can be given, checked before anything runs: the congestion controller (a
registered name or a student's ``path/to/file.py:ClassName``) and the MTU/MSS arithmetic.

Shared by both worlds (``netsim sim``/``demo`` and ``netsim live``/``echo``), so it lives
outside ``netsim.sim`` and ``netsim.live``. Every refusal is a one-line `UsageError` naming the
flag.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from netsim.errors import UsageError
from netsim.stack.tcp.congestion import CC_FACTORIES
from netsim.userclass import import_user_class, user_class_key

__all__ = ["CC_METHODS", "HEADERS", "MIN_MSS", "TIMESTAMP_OVERHEAD", "check_tcp_mtu",
           "load_cc_class", "resolve_cc", "tcp_min_mtu"]

#: Bytes the timestamps option adds to every segment (RFC 7323 §3.2: 10 + 2 NOPs).
TIMESTAMP_OVERHEAD = 12
#: IPv4 + TCP headers without options (RFC 9293 §3.7.1: MSS = MTU - 40).
HEADERS = 40
#: The smallest payload netsim's TCP puts in a full segment (the floor of its effective send
#: MSS, netsim/stack/tcp/handshake.py), and the smallest --mss accepted.
MIN_MSS = 64
#: Methods a congestion controller must have (netsim/stack/tcp/congestion/base.py).
CC_METHODS = ("init", "on_ack", "on_dup_ack", "on_loss", "on_partial_ack", "on_recovery_end",
              "on_rto", "on_idle")


# ---------------------------------------------------------------------------------- cc loading
#: Classes already imported and checked, by (resolved path, mtime, size, class name): the CLI
#: checks its arguments before the run builds its TcpConfig, and a student's module (which may
#: print or count) must not run twice for one command.
_LOADED: dict[tuple[str, int, int, str], type[Any]] = {}


def load_cc_class(spec: str, flag: str = "--cc") -> type[Any]:
    """Import ``path/to/file.py:ClassName`` by path and return the class (a student's
    controller). Any problem is a one-line `UsageError` naming ``flag``."""
    key = user_class_key(spec)
    cached = _LOADED.get(key) if key is not None else None
    if cached is not None:  # checked already: the student's module runs once per version
        return cached
    obj = import_user_class(spec, flag, "netsim_user_cc")
    name = spec.rpartition(":")[2]
    missing = [m for m in CC_METHODS if not callable(getattr(obj, m, None))]
    if missing:
        raise UsageError(f"{flag}: class {name!r} lacks {', '.join(missing)} "
                         "(see netsim/stack/tcp/congestion/base.py)")
    try:
        instance = obj()
    except Exception as exc:
        raise UsageError(f"{flag}: {name}() failed: {type(exc).__name__}: {exc}"
                         .splitlines()[0]) from None
    for attr in ("cwnd", "ssthresh"):
        if not hasattr(instance, attr):
            raise UsageError(f"{flag}: {name}() has no attribute {attr!r}")
    if key is not None:
        _LOADED[key] = obj
    return obj


def resolve_cc(spec: str, flag: str = "--cc") -> tuple[str | None, Callable[[], Any] | None]:
    """``(name, None)`` for a registered controller, ``(None, class)`` for a file path."""
    if spec in CC_FACTORIES:
        return spec, None
    if ":" in spec:
        return None, load_cc_class(spec, flag)
    allowed = "|".join(sorted(CC_FACTORIES))
    raise UsageError(f"{flag}: unknown congestion control {spec!r}; use {allowed} "
                     "or path/to/file.py:ClassName")


def tcp_min_mtu(timestamps: bool = True) -> int:
    """The smallest MTU that carries one TCP segment of netsim's smallest MSS: 20 (IPv4) +
    20 (TCP) + 12 (timestamps option, RFC 7323 §3.2) + 64 = 116 bytes. (A SYN's options take
    at most 20 bytes: MSS 4, window scale 3 + NOP, SACK-permitted 2, timestamps 10; an ACK's
    at most 40: it fits too.)"""
    return HEADERS + (TIMESTAMP_OVERHEAD if timestamps else 0) + MIN_MSS


def check_tcp_mtu(mtu: int, timestamps: bool = True, flag: str = "--mtu") -> None:
    """Refuse an MTU that cannot carry one TCP segment, saying why."""
    least = tcp_min_mtu(timestamps)
    if mtu < least:
        ts = f" + {TIMESTAMP_OVERHEAD} (timestamps option)" if timestamps else ""
        raise UsageError(f"{flag}: {mtu} cannot carry one TCP segment: that takes 20 (IPv4) + "
                         f"20 (TCP){ts} + {MIN_MSS} (smallest MSS) = {least} bytes; "
                         f"use {least}..65535")
