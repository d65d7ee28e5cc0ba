"""The IPv4 routing table: longest-prefix match with a default route."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network

from netsim.errors import UsageError
from netsim.wire.ipv4 import intern_ip


@dataclass(frozen=True, slots=True)
class Route:
    network: IPv4Network
    interface: str
    gateway: IPv4Address | None = None  # None: directly connected
    metric: int = 0

    def __str__(self) -> str:
        via = f" via {self.gateway}" if self.gateway else ""
        return f"{self.network}{via} dev {self.interface}"


class RoutingTable:
    def __init__(self) -> None:
        self._routes: list[Route] = []
        self._cache: dict[IPv4Address, Route | None] = {}
        # the last two addresses looked up and their routes, compared by identity (a router's
        # traffic goes both ways: two destinations in turn); `_cache` is cleared with them
        self._last: object = None
        self._last_route: Route | None = None
        self._prev: object = None
        self._prev_route: Route | None = None

    def add(self, network: str | IPv4Network, interface: str,
            gateway: str | IPv4Address | None = None, metric: int = 0) -> Route:
        try:
            net = IPv4Network(network, strict=False) if isinstance(network, str) else network
            # (interned: the ARP cache looks the gateway up once per frame routed by it, and
            # the interned address hashes cheaply: netsim.wire.address)
            gw = None if gateway is None else intern_ip(gateway)
        except ValueError as exc:
            raise UsageError(f"route: {exc}") from None
        route = Route(net, interface, gw, metric)
        self._routes.append(route)
        # Longest prefix first, then lowest metric: the first match is the best one.
        self._routes.sort(key=lambda r: (-r.network.prefixlen, r.metric))
        self._forget()
        return route

    def remove(self, network: str | IPv4Network) -> None:
        net = IPv4Network(network, strict=False) if isinstance(network, str) else network
        self._routes = [r for r in self._routes if r.network != net]
        self._forget()

    def discard(self, route: Route) -> None:
        """Remove this one route (the very object `add` returned), if it is in the table."""
        for i, r in enumerate(self._routes):
            if r is route:
                del self._routes[i]
                self._forget()
                return

    def _forget(self) -> None:
        """The routes changed: forget every answer given."""
        self._cache.clear()
        self._last = self._prev = None

    def lookup(self, dst: IPv4Address) -> Route | None:
        """RFC 1812 §5.2.4.3: the matching route with the longest prefix."""
        if dst is self._last:
            return self._last_route
        if dst is self._prev:
            return self._prev_route
        try:
            found = self._cache[dst]
        except KeyError:
            found = self._find(dst)
        self._prev = self._last
        self._prev_route = self._last_route
        self._last = dst
        self._last_route = found
        return found

    def _find(self, dst: IPv4Address) -> Route | None:
        found = None
        for route in self._routes:
            if dst in route.network:
                found = route
                break
        if len(self._cache) > 4096:
            self._cache.clear()
        self._cache[dst] = found
        return found

    def __iter__(self) -> Iterator[Route]:
        return iter(self._routes)

    def __len__(self) -> int:
        return len(self._routes)
