"""Assignment 12: the routing table of a distance-vector router (RIP-like, RFC 2453).

netsim's RIP process (netsim/stack/rip.py) sends and receives the RIP messages, runs the
timers and fills the forwarding table; this class decides the routes. It is told, in plain
values, what happened, and asked what to announce:

  - connect() once per interface when the router starts (and when an interface comes back);
  - receive() for every response from a neighbour: its vector of (network, metric) pairs;
  - expire() when deadline() says a timer is due; interface_down() when a link is lost;
  - export() for each interface when an update goes out (every 30 s, or a triggered update
    with only the changed routes), then updates_sent();
  - table() after each call, to see what changed.

Networks are strings such as "10.1.0.0/16", neighbours their address "10.0.0.2", interfaces
their name "eth0", metrics whole numbers 1..16 (16 is infinity), times seconds of the
simulated clock (the `now` argument: never the computer's clock).

Fill in the TODOs. Grade your work with

    netsim grade 12-dv-router dv_router.py

and watch it route (and count to infinity) with

    python -m netsim.labrun dv-line dv_router.py --split-horizon off
"""

from __future__ import annotations

INFINITY = 16


class DvRouter:
    def __init__(self, split_horizon: str = "poisoned_reverse", timeout: float = 180.0,
                 garbage_collection: float = 120.0) -> None:
        """split_horizon: "poisoned_reverse", "simple" or "off". A learned route times out
        `timeout` seconds after its next hop last announced it, and is removed
        `garbage_collection` seconds after its metric became 16."""
        self.split_horizon = split_horizon
        self.timeout = timeout
        self.garbage_collection = garbage_collection
        # TODO: the routes, by network: metric, next hop, interface, timers, change flag

    def connect(self, network: str, interface: str, cost: int, now: float) -> None:
        """`network` is directly connected on `interface`: metric `cost`, no next hop (None),
        never times out, never replaced by a neighbour's route."""
        raise NotImplementedError("TODO: DvRouter.connect")

    def receive(self, interface: str, neighbour: str, vector: list[tuple[str, int]],
                cost: int, now: float) -> None:
        """`neighbour` sent its vector over `interface`, a link of cost `cost`: Bellman-Ford
        on each (network, metric) pair, min(metric + cost, 16)."""
        raise NotImplementedError("TODO: DvRouter.receive")

    def interface_down(self, interface: str, now: float) -> None:
        """Every route through `interface` (its connected network too) goes to 16 now."""
        raise NotImplementedError("TODO: DvRouter.interface_down")

    def expire(self, now: float) -> None:
        """Time out (metric 16) and garbage-collect (remove) the routes whose timer is due."""
        raise NotImplementedError("TODO: DvRouter.expire")

    def deadline(self) -> float | None:
        """The time of the next timeout or garbage collection, or None if no timer runs."""
        raise NotImplementedError("TODO: DvRouter.deadline")

    def export(self, interface: str | None, changed_only: bool) -> list[tuple[str, int]]:
        """The (network, metric) pairs to send out of `interface` (None: to a querier, no
        split horizon); with `changed_only`, only routes whose change flag is set."""
        raise NotImplementedError("TODO: DvRouter.export")

    def updates_sent(self) -> None:
        """An update went out of every interface: clear every route's change flag."""
        raise NotImplementedError("TODO: DvRouter.updates_sent")

    def table(self) -> list[tuple[str, int, str | None, str]]:
        """(network, metric, next hop or None, interface) of every route, those at 16 that
        wait for garbage collection included."""
        raise NotImplementedError("TODO: DvRouter.table")
