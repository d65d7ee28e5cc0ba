"""Any neighbour announcing a network refreshes its route's timeout, not only
its next hop.

Category: wrong scope
RFC: RFC 2453 §3.8 timers
Observable: response messages | deadline
Expect: next hop
"""

from __future__ import annotations

INFINITY = 16


class Route:
    def __init__(self, metric: int, next_hop: str | None, interface: str,
                 expires: float | None) -> None:
        self.metric = metric
        self.next_hop = next_hop  # None: directly connected
        self.interface = interface
        self.expires = expires  # the timeout (None: connected, never)
        self.gc_at: float | None = None  # the garbage-collection timer, once at 16
        self.changed = True  # the route change flag


class DvRouter:
    def __init__(self, split_horizon: str = "poisoned_reverse", timeout: float = 180.0,
                 garbage_collection: float = 120.0) -> None:
        self.split_horizon = split_horizon
        self.timeout = timeout
        self.garbage_collection = garbage_collection
        self.routes: dict[str, Route] = {}

    def connect(self, network: str, interface: str, cost: int, now: float) -> None:
        self.routes[network] = Route(cost, None, interface, None)

    def receive(self, interface: str, neighbour: str, vector: list[tuple[str, int]],
                cost: int, now: float) -> None:
        for network, metric in vector:
            metric = min(metric + cost, INFINITY)  # Bellman-Ford, 16 is infinity
            route = self.routes.get(network)
            if route is None:
                if metric < INFINITY:
                    self.routes[network] = Route(metric, neighbour, interface,
                                                 now + self.timeout)
                continue
            if route.next_hop is None:
                continue  # a connected network stays
            same = route.next_hop == neighbour
            if metric < INFINITY and route.metric < INFINITY:
                route.expires = now + self.timeout
            halfway = (route.metric < INFINITY and route.expires is not None
                       and route.expires - now <= self.timeout / 2
                       and metric == route.metric)
            if (same and metric != route.metric) or metric < route.metric \
                    or (halfway and not same):
                if metric >= INFINITY:
                    if route.metric < INFINITY:
                        self._delete(route, now)
                    continue
                route.metric = metric
                route.next_hop = neighbour
                route.interface = interface
                route.expires = now + self.timeout
                route.gc_at = None
                route.changed = True

    def _delete(self, route: Route, now: float) -> None:
        route.metric = INFINITY
        route.expires = None
        route.gc_at = now + self.garbage_collection
        route.changed = True

    def interface_down(self, interface: str, now: float) -> None:
        for route in self.routes.values():
            if route.interface == interface and route.metric < INFINITY:
                self._delete(route, now)

    def expire(self, now: float) -> None:
        for network, route in list(self.routes.items()):
            if route.metric < INFINITY and route.expires is not None and route.expires <= now:
                self._delete(route, now)
            elif route.gc_at is not None and route.gc_at <= now:
                del self.routes[network]

    def deadline(self) -> float | None:
        times = [t for r in self.routes.values() for t in (r.expires, r.gc_at)
                 if t is not None]
        return min(times, default=None)

    def export(self, interface: str | None, changed_only: bool) -> list[tuple[str, int]]:
        out = []
        for network, route in self.routes.items():
            if changed_only and not route.changed:
                continue
            metric = route.metric
            if interface is not None and route.interface == interface \
                    and route.next_hop is not None:
                if self.split_horizon == "simple":
                    continue
                if self.split_horizon == "poisoned_reverse":
                    metric = INFINITY
            out.append((network, metric))
        return out

    def updates_sent(self) -> None:
        for route in self.routes.values():
            route.changed = False

    def table(self) -> list[tuple[str, int, str | None, str]]:
        return [(n, r.metric, r.next_hop, r.interface) for n, r in self.routes.items()]
