"""Another `DistanceVector` (netsim/stack/dv.py) in a RIP process: assignment 12's table.

netsim's `DvTable` tells the process of each change itself (its ``on_change``); any other
table is wrapped in `Watched`, which checks every answer before the process acts on it (a
clear `UsageError` naming the method, never a crash deeper in the stack) and finds the changes
by comparing ``table()`` after each call that may make one. Never compiled: a student's table
is called from plain Python, as they wrote it.
"""

from __future__ import annotations

from collections import Counter
from ipaddress import IPv4Address, IPv4Network
from typing import Any

from netsim.errors import UsageError
from netsim.stack.dv import INFINITY, DistanceVector, OnChange, Row

__all__ = ["Watched", "checked_rows", "checked_vector"]

_SHOWN = 60  # characters of a bad answer shown in the message


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _SHOWN else text[:_SHOWN] + "..."


def _answer(value: Any, method: str, what: str) -> list[Any] | tuple[Any, ...]:
    """`method`'s answer, which must be a list (or tuple) of `what`."""
    if not isinstance(value, list | tuple):
        raise UsageError(f"{method} must return a list of {what}, not {_show(value)}")
    return value


def _known(net: str, known: dict[str, IPv4Network], method: str) -> None:
    if net not in known:
        raise UsageError(f"{method}: {_show(net)} is no network the table was told of")


def checked_vector(value: Any, known: dict[str, IPv4Network]) -> list[tuple[str, int]]:
    """export()'s vector: a list of (network, metric 1..16), each network one the table was
    told of."""
    out = []
    for item in _answer(value, "export()", "(network, metric) pairs"):
        if not isinstance(item, list | tuple) or len(item) != 2 or \
                type(item[0]) is not str or type(item[1]) is not int or \
                not 1 <= item[1] <= INFINITY:
            raise UsageError(f"export(): {_show(item)} is not a (network, metric 1..16) pair")
        _known(item[0], known, "export()")
        out.append((item[0], item[1]))
    return out


def checked_rows(value: Any, known: dict[str, IPv4Network]) -> dict[str, Row]:
    """table()'s rows by network: each (network, metric 1..16, next hop address or None,
    interface name), one per network."""
    rows: dict[str, Row] = {}
    for row in _answer(value, "table()", "(network, metric, next hop, interface) rows"):
        if not isinstance(row, list | tuple) or len(row) != 4 or type(row[0]) is not str or \
                type(row[1]) is not int or not 1 <= row[1] <= INFINITY or \
                not (row[2] is None or type(row[2]) is str) or type(row[3]) is not str:
            raise UsageError(f"table(): {_show(row)} is not a (network, metric 1..16, next "
                             "hop or None, interface) row")
        net, metric, hop, dev = row
        _known(net, known, "table()")
        if net in rows:
            raise UsageError(f"table(): {_show(net)} has two rows")
        if hop is not None:
            try:
                IPv4Address(hop)
            except ValueError:
                raise UsageError(f"table(): next hop {_show(hop)} is not an IPv4 address") \
                    from None
        rows[net] = (net, metric, hop, dev)
    return rows


class Watched:
    """`table` as the RIP process's table: its answers checked, its changes told to
    `on_change` (a route whose metric went to 16 in ``expire``: a "timeout", counted)."""

    def __init__(self, table: DistanceVector, known: dict[str, IPv4Network],
                 counts: Counter[str], on_change: OnChange) -> None:
        self.inner = table
        self.known = known
        self.counts = counts
        self.on_change = on_change
        self.rows: dict[str, Row] = {}
        self._expired_at = -1.0  # the time of the last expire()
        self._due: float | None = None  # deadline()'s answer since the last call
        self._due_known = False

    def _after(self, now: float, expiring: bool = False) -> None:
        self._due_known = False  # (asked again once needed: each question crosses over)
        rows = checked_rows(self.inner.table(), self.known)
        old = self.rows
        self.rows = rows
        for net, row in rows.items():
            before = old.get(net)
            if before != row:
                timeout = expiring and row[1] >= INFINITY and before is not None and \
                    before[1] < INFINITY
                if timeout:
                    self.counts["timeouts"] += 1
                self.on_change(now, row, "timeout" if timeout else "update")
        for net in old.keys() - rows.keys():
            self.counts["garbage_collected"] += 1
            self.on_change(now, old[net], "gc")

    def connect(self, network: str, interface: str, cost: int, now: float) -> None:
        self.inner.connect(network, interface, cost, now)
        self._after(now)

    def receive(self, interface: str, neighbour: str, vector: list[tuple[str, int]],
                cost: int, now: float) -> None:
        self.inner.receive(interface, neighbour, list(vector), cost, now)
        self._after(now)

    def interface_down(self, interface: str, now: float) -> None:
        self.inner.interface_down(interface, now)
        self._after(now)

    def expire(self, now: float) -> None:
        self.inner.expire(now)
        self._expired_at = now
        self._after(now, expiring=True)

    def deadline(self) -> float | None:
        if not self._due_known:
            self._due = self._deadline()
            self._due_known = True
        return self._due

    def _deadline(self) -> float | None:
        due = self.inner.deadline()
        if due is None:
            return None
        if isinstance(due, bool) or not isinstance(due, int | float) or due != due:
            raise UsageError(f"deadline() must return a time in seconds or None, not "
                             f"{_show(due)}")
        if due <= self._expired_at:
            return None  # already past at the last expire(): waking again would loop
        return float(due)

    def export(self, interface: str | None, changed_only: bool) -> list[tuple[str, int]]:
        return checked_vector(self.inner.export(interface, changed_only), self.known)

    def updates_sent(self) -> None:
        self.inner.updates_sent()

    def table(self) -> list[Row]:
        return list(self.rows.values())

    def metric(self, network: str) -> int:
        """The metric to `network` in the table's last checked answer: 16 when unknown."""
        row = self.rows.get(network)
        return INFINITY if row is None else row[1]
