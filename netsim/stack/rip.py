"""A RIP version 2 process on one router (RFC 2453), sans-I/O like the rest of the stack.

It speaks real RIPv2 messages (netsim/wire/rip.py) over UDP port 520: updates are multicast
to 224.0.0.9 out of every interface with TTL 1, answers to requests go to the requester. Its
timers live on the stack's timer queue, so the same code runs in the simulation and live.
Routes it learns go into the router's forwarding table (`stack.routes`) with their hop count
as metric; a connected or static route to the same network stays first and wins.

    rip = RipProcess(router.stack, RipConfig(), random.Random(1))
    rip.start(now)
    rip.table()   # [("10.0.3.0/24", 2, "10.0.1.2", "eth1"), ...]
"""

from __future__ import annotations

import random
from ipaddress import IPv4Address, IPv4Network

from netsim.errors import UsageError
from netsim.stack.events import EventRecord
from netsim.stack.host import Stack
from netsim.stack.interface import Interface
from netsim.stack.rip_table import OFF, POISONED_REVERSE, RipConfig, RipRoute, valid_destination
from netsim.stack.timers import INF
from netsim.wire.ethernet import ETHERTYPE_IPV4, build_ethernet
from netsim.wire.ipv4 import PROTO_UDP, build_ipv4
from netsim.wire.rip import (
    AF_INET,
    ALL_RIP_ROUTERS,
    ALL_RIP_ROUTERS_MAC,
    INFINITY,
    MAX_ENTRIES,
    PORT,
    REQUEST,
    RESPONSE,
    RipEntry,
    RipError,
    RipMessage,
    build_rip,
    parse_rip,
    whole_table_request,
)
from netsim.wire.udp import build_udp

_ZERO = IPv4Address(0)


class RipProcess:
    """The routing process of one router: its database (`routes`), its counters
    (``stack.counters["rip"]``), the times its table changed (`history`)."""

    def __init__(self, stack: Stack, config: RipConfig | None = None,
                 rng: random.Random | None = None) -> None:
        self.stack = stack
        self.config = config if config is not None else RipConfig()
        self.rng = rng if rng is not None else random.Random(0)
        self.routes: dict[IPv4Network, RipRoute] = {}
        self.counts = stack.counters["rip"]
        # (time, network, metric, next hop or None): every change of a route, for plots/tests
        self.history: list[tuple[float, IPv4Network, int, IPv4Address | None]] = []
        self.last_change = 0.0
        self.timer_at = INF  # TimerOwner
        self.started = False
        self._next_update = INF
        self._pending = False  # a triggered update is due (RFC 2453 §3.10.1)
        self._hold_until = 0.0  # no triggered update before this time
        self._next_check = INF  # no route times out before this time (a lower bound)
        self._down: set[str] = set()  # interfaces whose link RIP was told is down
        self._endpoint = stack.udp.bind(PORT, self._on_datagram)

    # ------------------------------------------------------------------ control
    def start(self, now: float) -> None:
        """Join 224.0.0.9, enter the connected networks, ask every neighbour for its table
        (RFC 2453 §3.9.1 request messages: a router that comes up multicasts a request)."""
        self.started = True
        for iface in self.stack.interfaces.values():
            iface.join_group(ALL_RIP_ROUTERS)
            if iface.name not in self._down:
                self._connect(iface, now)
        request = whole_table_request().build()
        for iface in self._up():
            self._multicast(iface, request)
            self.counts["tx_request"] += 1
        self._next_update = now + self.rng.uniform(0.0, self.config.update_interval)
        self._arm(now)

    def interface_down(self, name: str, now: float) -> None:
        """The interface `name` lost its link: its network and every route through it become
        unreachable now (the deletion process of RFC 2453 §3.8 timers)."""
        self._interface(name)
        self._down.add(name)
        for route in list(self.routes.values()):
            if route.interface == name and route.metric < INFINITY:
                self._delete(route, now)
        self._arm(now)

    def interface_up(self, name: str, now: float) -> None:
        """The interface `name` has its link back: its network again, and a request on it."""
        iface = self._interface(name)
        self._down.discard(name)
        self._connect(iface, now)
        self._multicast(iface, whole_table_request().build())
        self.counts["tx_request"] += 1
        self._arm(now)

    def _interface(self, name: str) -> Interface:
        iface = self.stack.interfaces.get(name)
        if iface is None:
            raise UsageError(f"interface: no {name!r} on {self.stack.name}; it has "
                             f"{', '.join(self.stack.interfaces)}")
        return iface

    # ------------------------------------------------------------------ reading
    def table(self) -> list[tuple[str, int, str, str]]:
        """(network, metric, next hop or "-", interface) of every route, metric 16 included."""
        return sorted((r.row() for r in self.routes.values()),
                      key=lambda row: IPv4Network(row[0]))

    def metric(self, network: str | IPv4Network) -> int:
        """The metric to `network`: 16 when unknown or unreachable."""
        try:
            net = IPv4Network(network)
        except ValueError as exc:
            raise UsageError(f"network: {exc}") from None
        route = self.routes.get(net)
        return INFINITY if route is None else route.metric

    def __str__(self) -> str:
        rows = [f"{net:<18} {metric:>2}  via {hop:<15} dev {dev}"
                for net, metric, hop, dev in self.table()]
        return "\n".join([f"RIP table of {self.stack.name}:", *rows])

    # ------------------------------------------------------------------ timers
    def on_timer(self, now: float) -> None:
        cfg = self.config
        if now >= self._next_check:
            self._expire(now)
        if now >= self._next_update:
            # RFC 2453 §3.8 timers: the whole table every 30 s, offset by up to ±5 s
            self._send_all(now, triggered=False)
            self._next_update = now + cfg.update_interval + \
                self.rng.uniform(-cfg.update_jitter, cfg.update_jitter)
        elif self._pending and now >= self._hold_until:
            self._send_all(now, triggered=True)
            # RFC 2453 §3.10.1: no other triggered update for a random 1 to 5 s
            self._hold_until = now + self.rng.uniform(cfg.triggered_min, cfg.triggered_max)
        self._arm(now)

    def _arm(self, now: float) -> None:
        when = min(self._next_update, self._next_check)
        if self._pending:
            # RFC 2453 §3.10.1: suppressed if the regular update is due by then
            when = min(when, max(self._hold_until, now))
        if when < INF:
            self.stack.timers.ensure(self, when)

    def _expire(self, now: float) -> None:
        soonest = INF
        for net, route in list(self.routes.items()):
            if route.metric < INFINITY:
                if route.expires <= now:
                    self.counts["timeouts"] += 1
                    self._delete(route, now)  # RFC 2453 §3.8 timers: the timeout expired
                else:
                    soonest = min(soonest, route.expires)
            if route.metric >= INFINITY:
                if route.gc_at <= now:
                    del self.routes[net]  # RFC 2453 §3.8 timers: garbage collected
                else:
                    soonest = min(soonest, route.gc_at)
        self._next_check = soonest

    # ------------------------------------------------------------------ changing routes
    def _connect(self, iface: Interface, now: float) -> None:
        route = RipRoute(iface.network, self.config.cost, None, iface.name)
        self.routes[iface.network] = route
        self._changed(route, now)

    def _changed(self, route: RipRoute, now: float) -> None:
        """Set the route change flag, signal a triggered update, update the forwarding table."""
        route.changed = True
        self._pending = self.config.triggered_updates
        self.counts["route_changes"] += 1
        self.last_change = now
        self.history.append((now, route.network, route.metric, route.next_hop))
        trace = self.stack.trace
        if trace is not None:
            net, metric, hop, dev = route.row()
            trace.record(EventRecord(now, self.stack.name, "rip", "route",
                                     f"{net} metric {metric} via {hop} dev {dev}"))
        self._install(route)

    def _delete(self, route: RipRoute, now: float) -> None:
        """RFC 2453 §3.8 timers: the deletion process: metric 16, garbage collection in
        120 s, the route change flag set, a triggered update signalled."""
        route.metric = INFINITY
        route.expires = INF
        route.gc_at = now + self.config.garbage_collection
        self._next_check = min(self._next_check, route.gc_at)
        self._changed(route, now)

    def _install(self, route: RipRoute) -> None:
        table = self.stack.routes
        if route.installed is not None:
            table.discard(route.installed)
            route.installed = None
        if route.connected or route.metric >= INFINITY:
            return
        for other in table:
            if other.network == route.network:
                return  # a connected or static route to it: that one is used
        route.installed = table.add(route.network, route.interface, route.next_hop,
                                    route.metric)

    # ------------------------------------------------------------------ input
    def _on_datagram(self, payload: bytes, src: object, sport: int, now: float) -> None:
        counts = self.counts
        if not self.started or not isinstance(src, IPv4Address):
            return
        if self.stack.is_local(src):
            counts["drop.own"] += 1  # RFC 2453 §3.9.2 response messages: not our own
            return
        iface = next((i for i in self.stack.interfaces.values()
                      if i.name not in self._down and src in i.network), None)
        try:
            msg = parse_rip(payload)
        except RipError as exc:
            self.stack.drop("rip", "malformed", str(exc))
            return
        if msg.version == 1:
            counts["drop.version1"] += 1  # this process receives RIP-2 only
            return
        if msg.authenticated:
            # RFC 2453 §4.1 authentication: not configured here, so such a message is dropped
            counts["drop.authenticated"] += 1
            return
        if msg.command == REQUEST:
            # RFC 2453 §3.9.1 request messages: from a neighbour, or from a monitoring tool
            # anywhere (then no interface, and no split horizon)
            counts["rx_request"] += 1
            self._answer(msg, iface, src, sport, now)
        elif iface is None:
            # RFC 2453 §3.9.2 response messages: the source must be a neighbour
            counts["drop.not_neighbour"] += 1
        elif sport != PORT:
            # RFC 2453 §3.9.2 response messages: from port 520 only
            counts["drop.not_rip_port"] += 1
        else:
            counts["rx_response"] += 1
            for entry in msg.entries:
                self._learn(entry, iface, src, now)
        self._arm(now)

    def _learn(self, entry: RipEntry, iface: Interface, src: IPv4Address, now: float) -> None:
        """RFC 2453 §3.9.2 response messages, for one entry."""
        if entry.family != AF_INET or not 1 <= entry.metric <= INFINITY or \
                not valid_destination(entry.network):
            self.counts["drop.bad_entry"] += 1
            return
        metric = min(entry.metric + self.config.cost, INFINITY)
        hop = src
        nh = entry.next_hop
        # RFC 2453 §4.4 next hop: used if it is on the network the message arrived on
        if nh != _ZERO and nh in iface.network and not self.stack.is_local(nh):
            hop = nh
        route = self.routes.get(entry.network)
        if route is None:
            if metric < INFINITY:
                route = RipRoute(entry.network, metric, hop, iface.name, entry.tag)
                route.expires = now + self.config.timeout
                self._next_check = min(self._next_check, route.expires)
                self.routes[entry.network] = route
                self._changed(route, now)
            return
        if route.connected:
            return  # our own network: nothing a neighbour says changes it
        same = route.next_hop == hop
        if same and metric < INFINITY:
            route.expires = now + self.config.timeout  # reinitialize the timeout
        halfway = route.metric < INFINITY and \
            route.expires - now <= self.config.timeout / 2 and metric == route.metric
        if (same and metric != route.metric) or metric < route.metric or \
                (halfway and not same):
            if metric >= INFINITY:
                if route.metric < INFINITY:
                    self._delete(route, now)  # the deletion process starts only once
                return
            route.metric = metric
            route.next_hop = hop
            route.interface = iface.name
            route.tag = entry.tag
            route.expires = now + self.config.timeout
            route.gc_at = INF
            self._next_check = min(self._next_check, route.expires)
            self._changed(route, now)

    def _answer(self, msg: RipMessage, iface: Interface | None, src: IPv4Address, sport: int,
                now: float) -> None:
        """RFC 2453 §3.9.1 request messages."""
        if msg.whole_table_request:
            entries = self._entries(iface, triggered=False)
        else:
            # specific entries: the metrics as they are, no split horizon
            entries = [e._replace(metric=self.metric(e.network), next_hop=_ZERO)
                       for e in msg.entries]
        for i in range(0, len(entries), MAX_ENTRIES):
            self._endpoint.sendto(build_rip(RESPONSE, entries[i:i + MAX_ENTRIES]),
                                  (src, sport), now)
            self.counts["tx_response"] += 1

    # ------------------------------------------------------------------ output
    def _up(self) -> list[Interface]:
        return [i for i in self.stack.interfaces.values() if i.name not in self._down]

    def _entries(self, iface: Interface | None, triggered: bool) -> list[RipEntry]:
        """RFC 2453 §3.10.2 generating response messages, for one interface; split horizon
        (RFC 2453 §3.4.3) for the routes learned through it."""
        mode = self.config.split_horizon
        out = []
        for route in self.routes.values():
            if triggered and not route.changed:
                continue
            metric = route.metric
            if iface is not None and route.interface == iface.name and \
                    not route.connected and mode != OFF:
                if mode != POISONED_REVERSE:
                    continue  # simple split horizon: not sent back where it came from
                metric = INFINITY  # poisoned reverse
            out.append(RipEntry(route.network, metric, _ZERO, route.tag))
        return out

    def _send_all(self, now: float, triggered: bool) -> None:
        """One update out of every interface (a triggered one: the changed routes only)."""
        counts = self.counts
        for iface in self._up():
            entries = self._entries(iface, triggered)
            for i in range(0, len(entries), MAX_ENTRIES):
                self._multicast(iface, build_rip(RESPONSE, entries[i:i + MAX_ENTRIES]))
                counts["tx_triggered" if triggered else "tx_update"] += 1
        for route in self.routes.values():
            route.changed = False  # RFC 2453 §3.10.1: cleared once the updates are out
        self._pending = False

    def _multicast(self, iface: Interface, payload: bytes) -> None:
        """A RIP message to 224.0.0.9 out of `iface` (RFC 2453 §4.5), TTL 1: for neighbours."""
        stack = self.stack
        udp = build_udp(iface.ip, ALL_RIP_ROUTERS, PORT, PORT, payload)
        raw = build_ipv4(iface.ip, ALL_RIP_ROUTERS, PROTO_UDP, udp, ttl=1)
        stack.counters["udp"]["tx"] += 1
        stack.ipv4_counts["tx"] += 1
        stack.eth_counts["tx"] += 1
        stack.transmit(iface, build_ethernet(ALL_RIP_ROUTERS_MAC, iface.mac, ETHERTYPE_IPV4,
                                             raw, mtu=65535))
        self.counts["tx_messages"] += 1


__all__ = ["RipConfig", "RipProcess", "RipRoute"]
