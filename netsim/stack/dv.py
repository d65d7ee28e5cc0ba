"""A distance-vector routing table: the seam assignment 12 replaces.

`DistanceVector` is the interface, in plain values only (networks and neighbours are strings
such as ``"10.0.3.0/24"`` and ``"10.0.1.2"``, interfaces their names, metrics whole numbers
1..16, times seconds): the RIP process (`netsim.stack.rip.RipProcess`) does the messages, the
timers' wake-ups and the forwarding table, and tells the table what happened; the table
decides the routes. `DvTable` is netsim's implementation, the one every RIP process uses unless
``RipProcess.set_table`` installs another. RFC 2453 (RIP version 2):

- Bellman-Ford (RFC 2453 §3.4 distance vector algorithms): a neighbour's metric to a network
  plus the cost of the link it came over, capped at 16, infinity (RFC 2453 §3.9.2 response
  messages); a new network is entered when that is below 16; a known one changes when the
  metric comes from its current next hop and differs (better or worse: that neighbour knows
  best), or when it is lower than the route's, from anyone; an equal metric from another
  neighbour replaces it only when the route is at least half-way to timing out (the heuristic
  of RFC 2453 §3.9.2 response messages); a directly connected network never changes;
- timers (RFC 2453 §3.8 timers): a learned route times out ``timeout`` seconds (180) after the
  last update from its next hop (one with a metric below 16 refreshes it); then, and when its
  next hop reports 16 or its interface goes down, the deletion process: metric 16, the route
  change flag set, and garbage collection ``garbage_collection`` seconds (120) later removes
  it — unless a route with a metric below 16 arrives first; a route is gone at exactly
  ``now >= deadline``;
- output (RFC 2453 §3.10.2 generating response messages): every route, or for a triggered
  update only those with the route change flag set (RFC 2453 §3.10.1 triggered updates),
  with split horizon on the interface it goes out of (RFC 2453 §3.4.3 split horizon): routes
  learned through that interface are left out ("simple"), sent with metric 16
  ("poisoned_reverse") or sent as they are ("off": lets two routers count to infinity).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Final, Protocol

from netsim.errors import UsageError
from netsim.stack.timers import INF
from netsim.wire.rip import INFINITY

__all__ = ["INFINITY", "OFF", "POISONED_REVERSE", "SIMPLE", "SPLIT_HORIZON", "DistanceVector",
           "DvTable", "Row", "check_settings"]

POISONED_REVERSE: Final = "poisoned_reverse"
SIMPLE: Final = "simple"
OFF: Final = "off"
SPLIT_HORIZON: Final = (POISONED_REVERSE, SIMPLE, OFF)

#: (network, metric, next hop or None for a connected network, interface)
Row = tuple[str, int, str | None, str]

#: (now, row, event): a route changed ("new", "update", "timeout", "delete", "connect") or was
#: garbage collected ("gc", the row as it was)
OnChange = Callable[[float, Row, str], None]


class DistanceVector(Protocol):
    def connect(self, network: str, interface: str, cost: int, now: float) -> None:
        """``network`` is directly connected on ``interface``: a route of metric ``cost``, no
        next hop, no timeout (also when the interface comes back up)."""
        ...

    def receive(self, interface: str, neighbour: str, vector: list[tuple[str, int]],
                cost: int, now: float) -> None:
        """``neighbour`` (its address) sent its ``vector``, (network, metric 1..16) pairs, over
        ``interface`` whose cost is ``cost``, at ``now``."""
        ...

    def interface_down(self, interface: str, now: float) -> None:
        """``interface`` lost its link: every route through it starts the deletion process."""
        ...

    def expire(self, now: float) -> None:
        """Time is ``now``: time out and garbage-collect what is due."""
        ...

    def deadline(self) -> float | None:
        """A time no later than the next timeout or garbage collection (None: none pending)."""
        ...

    def export(self, interface: str | None, changed_only: bool) -> list[tuple[str, int]]:
        """The vector to send out of ``interface`` (None: to a querier on no interface, no
        split horizon): (network, metric) pairs; only changed routes when ``changed_only``."""
        ...

    def updates_sent(self) -> None:
        """An update went out of every interface: clear every route change flag."""
        ...

    def table(self) -> list[Row]:
        """Every route, metric 16 ones waiting for garbage collection included."""
        ...


def check_settings(split_horizon: object, timeout: object, garbage_collection: object,
                   where: str = "") -> None:
    """The constructor's arguments (also `RipConfig`'s, `where` "RipConfig."), or a
    `UsageError` naming the one not allowed."""
    if split_horizon not in SPLIT_HORIZON:
        raise UsageError(f"{where}split_horizon: {split_horizon!r} is not one of "
                         f"{', '.join(SPLIT_HORIZON)}")
    for name, value in (("timeout", timeout), ("garbage_collection", garbage_collection)):
        if isinstance(value, bool) or not isinstance(value, int | float) or \
                not 0 < value < INF:
            raise UsageError(f"{where}{name}: {value!r} is not a positive number of seconds")


class _Route:
    __slots__ = ("network", "metric", "next_hop", "interface", "expires", "gc_at", "changed")

    def __init__(self, network: str, metric: int, next_hop: str | None, interface: str,
                 expires: float) -> None:
        self.network = network
        self.metric = metric
        self.next_hop = next_hop  # None: directly connected
        self.interface = interface
        self.expires = expires  # RFC 2453 §3.8 timers: the timeout (INF: connected)
        self.gc_at = INF  # the garbage-collection timer, running once the metric is 16
        self.changed = True  # the route change flag (RFC 2453 §3.10.1 triggered updates)

    def row(self) -> Row:
        return (self.network, self.metric, self.next_hop, self.interface)


def _no_change(now: float, row: Row, event: str) -> None:
    pass


class DvTable:
    """netsim's distance-vector table: `DistanceVector`, plus counters ("timeouts",
    "garbage_collected") and a callback told of every change (the RIP process installs
    routes, records history and signals triggered updates from it)."""

    def __init__(self, split_horizon: str = POISONED_REVERSE, timeout: float = 180.0,
                 garbage_collection: float = 120.0, *, counts: Counter[str] | None = None,
                 on_change: OnChange | None = None) -> None:
        check_settings(split_horizon, timeout, garbage_collection)
        self.split_horizon = split_horizon
        self.timeout = float(timeout)
        self.garbage_collection = float(garbage_collection)
        self.routes: dict[str, _Route] = {}
        self.counts: Counter[str] = counts if counts is not None else Counter()
        self.on_change: OnChange = on_change or _no_change
        self._next_check = INF  # no timer ends before this (a lower bound)
        self._exact = True  # and _next_check is the earliest end itself (as after expire)

    # ------------------------------------------------------------------ input
    def connect(self, network: str, interface: str, cost: int, now: float) -> None:
        route = _Route(network, cost, None, interface, INF)
        if network in self.routes:
            self._exact = False  # the route replaced may have held the earliest timer
        self.routes[network] = route
        self.on_change(now, route.row(), "connect")

    def receive(self, interface: str, neighbour: str, vector: list[tuple[str, int]],
                cost: int, now: float) -> None:
        for network, metric in vector:
            self._learn(network, min(metric + cost, INFINITY), neighbour, interface, now)

    def _learn(self, network: str, metric: int, hop: str, interface: str, now: float) -> None:
        """RFC 2453 §3.9.2 response messages, for one entry (its metric plus the cost)."""
        route = self.routes.get(network)
        if route is None:
            if metric < INFINITY:
                route = _Route(network, metric, hop, interface, now + self.timeout)
                self._next_check = min(self._next_check, route.expires)
                self.routes[network] = route
                self.on_change(now, route.row(), "new")
            return
        if route.next_hop is None:
            return  # our own network: nothing a neighbour says changes it
        same = route.next_hop == hop
        if same and metric < INFINITY:
            route.expires = now + self.timeout  # reinitialize the timeout
            self._exact = False  # the earliest end may now be later than _next_check
        halfway = route.metric < INFINITY and \
            route.expires - now <= self.timeout / 2 and metric == route.metric
        if (same and metric != route.metric) or metric < route.metric or \
                (halfway and not same):
            if metric >= INFINITY:
                if route.metric < INFINITY:
                    self._delete(route, now, "delete")  # the deletion process starts once
                return
            route.metric = metric
            route.next_hop = hop
            route.interface = interface
            route.expires = now + self.timeout
            route.gc_at = INF
            self._exact = False
            route.changed = True
            self._next_check = min(self._next_check, route.expires)
            self.on_change(now, route.row(), "update")

    def interface_down(self, interface: str, now: float) -> None:
        for route in list(self.routes.values()):
            if route.interface == interface and route.metric < INFINITY:
                self._delete(route, now, "delete")

    def _delete(self, route: _Route, now: float, event: str) -> None:
        """RFC 2453 §3.8 timers: the deletion process: metric 16, garbage collection in
        120 s, the route change flag set."""
        route.metric = INFINITY
        route.expires = INF
        route.gc_at = now + self.garbage_collection
        self._exact = False
        route.changed = True
        self._next_check = min(self._next_check, route.gc_at)
        self.on_change(now, route.row(), event)

    # ------------------------------------------------------------------ time
    def expire(self, now: float) -> None:
        # after expire(), deadline() is the earliest end itself (the seam's contract), so the
        # scan is skipped only while _next_check is known to be exact
        if now < self._next_check and self._exact:
            return
        soonest = INF
        for net, route in list(self.routes.items()):
            if route.metric < INFINITY:
                if route.expires <= now:
                    self.counts["timeouts"] += 1
                    self._delete(route, now, "timeout")  # RFC 2453 §3.8 timers: timed out
                else:
                    soonest = min(soonest, route.expires)
            if route.metric >= INFINITY:
                if route.gc_at <= now:
                    del self.routes[net]  # RFC 2453 §3.8 timers: garbage collected
                    self.counts["garbage_collected"] += 1
                    self.on_change(now, route.row(), "gc")
                else:
                    soonest = min(soonest, route.gc_at)
        self._next_check = soonest
        self._exact = True

    def deadline(self) -> float | None:
        return None if self._next_check == INF else self._next_check

    # ------------------------------------------------------------------ output
    def export(self, interface: str | None, changed_only: bool) -> list[tuple[str, int]]:
        """RFC 2453 §3.10.2 generating response messages; split horizon (RFC 2453 §3.4.3)
        for the routes learned through `interface`."""
        mode = self.split_horizon
        out = []
        for route in self.routes.values():
            if changed_only and not route.changed:
                continue
            metric = route.metric
            if route.interface == interface and route.next_hop is not None and mode != OFF:
                if mode == SIMPLE:
                    continue  # simple split horizon: not sent back where it came from
                metric = INFINITY  # poisoned reverse
            out.append((route.network, metric))
        return out

    def updates_sent(self) -> None:
        for route in self.routes.values():
            route.changed = False  # RFC 2453 §3.10.1: cleared once the updates are out

    def table(self) -> list[Row]:
        return [route.row() for route in self.routes.values()]

    def metric(self, network: str) -> int:
        """The metric to `network`: 16 when unknown or unreachable."""
        route = self.routes.get(network)
        return INFINITY if route is None else route.metric
