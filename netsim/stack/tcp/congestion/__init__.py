"""Congestion controllers, chosen by name or given as a factory."""

from __future__ import annotations

from collections.abc import Callable

from netsim.errors import UsageError
from netsim.stack.tcp.congestion.base import CongestionControl
from netsim.stack.tcp.congestion.bbr import Bbr
from netsim.stack.tcp.congestion.cubic import Cubic
from netsim.stack.tcp.congestion.reno import FixedWindow, NewReno, Reno

CC_FACTORIES: dict[str, Callable[[], CongestionControl]] = {
    "reno": Reno,
    "newreno": NewReno,
    "cubic": Cubic,
    "bbr": Bbr,
    "fixed": FixedWindow,
}


def register(name: str, factory: Callable[[], CongestionControl]) -> None:
    CC_FACTORIES[name] = factory


def make_cc(name: str) -> CongestionControl:
    try:
        return CC_FACTORIES[name]()
    except KeyError:
        allowed = "|".join(sorted(CC_FACTORIES))
        raise UsageError(f"--cc: unknown congestion control {name!r}; use {allowed} "
                         "or path/to/file.py:ClassName") from None


__all__ = ["CongestionControl", "Reno", "NewReno", "Cubic", "Bbr", "FixedWindow", "make_cc",
           "register"]
