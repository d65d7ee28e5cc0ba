"""The values and the side-by-side harness of the 12-dv-router grader (netsim/grading/
dv_router.py): the student's answers checked for type and shape, and `Pair`, which makes the
same call on the student's table and on netsim's `DvTable` and compares the answers."""

from __future__ import annotations

from typing import Any

from netsim.grading.differential.values import show
from netsim.grading.framework import CheckFailed, Context
from netsim.stack.dv import INFINITY, DvTable

LAN, P2P, OTHER = "10.0.0.0/24", "10.0.1.0/24", "10.0.2.0/24"
A, B, C = "10.0.0.2", "10.0.0.3", "10.0.1.2"  # A and B on eth0 (a LAN), C on eth1
N1, N2, N3 = "10.1.0.0/16", "10.2.0.0/16", "192.168.7.0/24"
LEGEND = (f"eth0: {LAN}, neighbours A={A} and B={B}; eth1: {P2P}, neighbour C={C}; "
          f"eth2: {OTHER}; remote networks N1={N1} N2={N2} N3={N3}")
NAMES = {A: "A", B: "B", C: "C", N1: "N1", N2: "N2", N3: "N3"}


# ----------------------------------------------------------------------------- values
def rows_of(value: Any) -> list[tuple[Any, ...]]:
    """What table() returned, sorted: anything but a list of 4-item rows is a `CheckFailed`."""
    if not isinstance(value, list | tuple) or not all(
            isinstance(r, list | tuple) and len(r) == 4 and type(r[0]) is str and
            type(r[1]) is int and (r[2] is None or type(r[2]) is str) and type(r[3]) is str
            for r in value):
        raise CheckFailed("table() must return a list of (network, metric, next hop or None, "
                          "interface) rows", expected="e.g. [('10.1.0.0/16', 2, '10.0.0.2', "
                          "'eth0'), ('10.0.0.0/24', 1, None, 'eth0')]", got=show(value))
    return sorted((tuple(r) for r in value), key=repr)


def vector_of(value: Any) -> list[tuple[Any, ...]]:
    if not isinstance(value, list | tuple) or not all(
            isinstance(p, list | tuple) and len(p) == 2 and type(p[0]) is str and
            type(p[1]) is int and 1 <= p[1] <= INFINITY for p in value):
        raise CheckFailed("export() must return a list of (network, metric 1..16) pairs",
                          expected="e.g. [('10.1.0.0/16', 2), ('10.0.0.0/24', 1)]",
                          got=show(value))
    return sorted((tuple(p) for p in value), key=repr)


def time_or_none(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        raise CheckFailed("deadline() must return a time in seconds or None",
                          expected="a float or None", got=show(value))
    return float(value)


class Checked:
    """The student's table (through its proxy) as a `DistanceVector` for netsim's RIP
    process: every answer is checked before the process acts on it."""

    def __init__(self, remote: Any) -> None:
        self.remote = remote

    def connect(self, network: str, interface: str, cost: int, now: float) -> None:
        self.remote.connect(network, interface, cost, now)

    def receive(self, interface: str, neighbour: str, vector: list[tuple[str, int]],
                cost: int, now: float) -> None:
        self.remote.receive(interface, neighbour, [tuple(p) for p in vector], cost, now)

    def interface_down(self, interface: str, now: float) -> None:
        self.remote.interface_down(interface, now)

    def expire(self, now: float) -> None:
        self.remote.expire(now)

    def deadline(self) -> float | None:
        return time_or_none(self.remote.deadline())

    def export(self, interface: str | None, changed_only: bool) -> list[tuple[str, int]]:
        return [(str(n), int(m)) for n, m in vector_of(self.remote.export(interface,
                                                                          changed_only))]

    def updates_sent(self) -> None:
        self.remote.updates_sent()

    def table(self) -> list[tuple[str, int, str | None, str]]:
        return [(str(n), int(m), h, str(d)) for n, m, h, d in rows_of(self.remote.table())]


# ----------------------------------------------------------------------------- helpers
def _name(value: Any) -> str:
    """A value in the feedback: a name from the legend, else its repr, capped (it may come
    from the student's code)."""
    return NAMES.get(value) or show(value) if isinstance(value, str) else show(value)


def _shown(rows: list[tuple[Any, ...]], most: int = 600) -> str:
    text = "[" + ", ".join("(" + ", ".join(_name(v) for v in r) + ")" for r in rows) + "]"
    return text if len(text) <= most else text[:most - 4] + "...]"


class Pair:
    """The student's table and netsim's, fed the same calls; their answers compared."""

    def __init__(self, ctx: Context, split_horizon: str = "poisoned_reverse",
                 timeout: float = 180.0, gc: float = 120.0, lan_cost: int = 1) -> None:
        self.ctx = ctx
        ctx.step(LEGEND)
        ctx.step(f"dv = {ctx.target_name}(split_horizon={split_horizon!r}, timeout={timeout:g}, "
                 f"garbage_collection={gc:g})")
        self.dv = ctx.target()(split_horizon=split_horizon, timeout=timeout,
                               garbage_collection=gc)
        self.ref = DvTable(split_horizon, timeout, gc)
        for net, dev, cost in ((LAN, "eth0", lan_cost), (P2P, "eth1", 1), (OTHER, "eth2", 1)):
            ctx.step(f"dv.connect({net!r}, {dev!r}, cost={cost}, now=0)")
            self.dv.connect(net, dev, cost, 0.0)
            self.ref.connect(net, dev, cost, 0.0)

    def rx(self, dev: str, hop: str, vector: list[tuple[str, int]], cost: int,
           now: float) -> None:
        shown = ", ".join(f"({_name(n)}, {m})" for n, m in vector)
        self.ctx.step(f"dv.receive({dev!r}, {_name(hop)}, [{shown}], cost={cost}, now={now:g})")
        self.dv.receive(dev, hop, vector, cost, now)
        self.ref.receive(dev, hop, vector, cost, now)

    def call(self, method: str, *args: Any) -> None:
        self.ctx.step(f"dv.{method}({', '.join(repr(a) for a in args)})")
        getattr(self.dv, method)(*args)
        getattr(self.ref, method)(*args)

    def table(self, rule: str, hint: str | None = None) -> None:
        got = rows_of(self.dv.table())
        want = sorted(self.ref.table(), key=repr)
        self.ctx.step(f"dv.table() -> {_shown(got)}")
        if got != want:
            if {r for r in got if r[2] is None} != {r for r in want if r[2] is None} and \
                    {r for r in got if r[2] is not None} == \
                    {r for r in want if r[2] is not None}:
                hint = ("a directly connected network (no next hop) never times out, and "
                        "keeps its route whatever a neighbour says; only interface_down() "
                        "takes it to 16")
            extra = sorted(set(got) - set(want), key=repr)
            missing = sorted(set(want) - set(got), key=repr)
            raise CheckFailed(rule, expected=f"... {_shown(missing)} ..." if missing else
                              "none of these rows", got=f"... {_shown(extra)} ..." if extra
                              else "(those rows missing)", hint=hint)

    def export(self, dev: str | None, changed_only: bool, rule: str,
               hint: str | None = None) -> None:
        got = vector_of(self.dv.export(dev, changed_only))
        want = sorted(self.ref.export(dev, changed_only), key=repr)
        self.ctx.step(f"dv.export({dev!r}, changed_only={changed_only}) -> {_shown(got)}")
        if got != want:
            raise CheckFailed(rule, expected=_shown(want), got=_shown(got), hint=hint)

    def deadline(self, rule: str, hint: str | None = None, *, exact: bool) -> None:
        got = time_or_none(self.dv.deadline())
        want = self.ref.deadline()
        self.ctx.step(f"dv.deadline() -> {got}")
        ok = got == want if exact or want is None else got is not None and got <= want
        if not ok:
            raise CheckFailed(rule, expected=str(want) if exact or want is None else
                              f"a time no later than {want:g}", got=str(got), hint=hint)
