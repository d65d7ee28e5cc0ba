"""A RIP version 2 process on one router (RFC 2453), sans-I/O like the rest of the stack.

It speaks real RIPv2 messages (netsim/wire/rip.py) over UDP port 520: updates are multicast
to 224.0.0.9 out of every interface with TTL 1, answers to requests go to the requester. Its
timers live on the stack's timer queue, so the same code runs in the simulation and live.
Routes it learns go into the router's forwarding table (`stack.routes`) with their hop count
as metric; a connected or static route to the same network stays first and wins. The routes
themselves are decided by a distance-vector table (`netsim.stack.dv`: netsim's `DvTable`, or a
student's through ``set_table``); this process tells it what arrives and when, in plain values.

    rip = RipProcess(router.stack, RipConfig(), random.Random(1))
    rip.start(now)
    rip.table()   # [("10.0.3.0/24", 2, "10.0.1.2", "eth1"), ...]
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from ipaddress import IPv4Address, IPv4Network

from netsim.errors import UsageError
from netsim.stack.dv import DistanceVector, DvTable, Row
from netsim.stack.dv_watch import Watched
from netsim.stack.events import EventRecord
from netsim.stack.host import Stack
from netsim.stack.interface import Interface
from netsim.stack.rip_table import RipConfig, valid_destination
from netsim.stack.routing import Route
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
    """The routing process of one router: its table (`dv`), its counters
    (``stack.counters["rip"]``), the times its table changed (`history`)."""

    def __init__(self, stack: Stack, config: RipConfig | None = None,
                 rng: random.Random | None = None) -> None:
        self.stack = stack
        self.config = config if config is not None else RipConfig()
        self.rng = rng if rng is not None else random.Random(0)
        self.counts = stack.counters["rip"]
        cfg = self.config
        self.dv: DvTable | Watched = DvTable(cfg.split_horizon, cfg.timeout,
                                          cfg.garbage_collection, counts=self.counts,
                                          on_change=self._changed)
        # (time, network, metric, next hop or None): every change of a route, for plots/tests
        self.history: list[tuple[float, IPv4Network, int, IPv4Address | None]] = []
        self.last_change = 0.0
        self.timer_at = INF  # TimerOwner
        self.started = False
        self._next_update = INF
        self._pending = False  # a triggered update is due (RFC 2453 §3.10.1)
        self._hold_until = 0.0  # no triggered update before this time
        self._down: set[str] = set()  # interfaces whose link RIP was told is down
        self._nets: dict[str, IPv4Network] = {}  # the table's networks, parsed once
        self._names: dict[IPv4Network, str] = {}  # ... and as the table names them
        # RFC 2453 §4.2 route tag: preserved and readvertised with the route
        self._tags: dict[str, int] = {}
        self._offered: dict[str, int] = {}  # the tags of the entries the table is given now
        self._installed: dict[str, Route] = {}  # the routes put in the forwarding table
        self._endpoint = stack.udp.bind(PORT, self._on_datagram)

    def set_table(self, table: DistanceVector) -> None:
        """Decide the routes with `table` (assignment 12's `DvRouter`, or any
        `DistanceVector`) instead of netsim's: before `start`. It is made with the settings
        of this process's config; what it answers is checked before the process acts on it,
        and its changes are found by comparing its table() after each call."""
        if self.started:
            raise UsageError("set_table: the RIP process has started; set the table before "
                             "start()")
        self.dv = Watched(table, self._nets, self.counts, self._changed)

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
        self.dv.interface_down(name, now)
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
        return sorted(((net, metric, "-" if hop is None else hop, dev)
                       for net, metric, hop, dev in self.dv.table()),
                      key=lambda row: IPv4Network(row[0]))

    def metric(self, network: str | IPv4Network) -> int:
        """The metric to `network`: 16 when unknown or unreachable."""
        try:
            net = str(IPv4Network(network))
        except ValueError as exc:
            raise UsageError(f"network: {exc}") from None
        return self.dv.metric(net)

    def __str__(self) -> str:
        rows = [f"{net:<18} {metric:>2}  via {hop:<15} dev {dev}"
                for net, metric, hop, dev in self.table()]
        return "\n".join([f"RIP table of {self.stack.name}:", *rows])

    # ------------------------------------------------------------------ timers
    def on_timer(self, now: float) -> None:
        cfg = self.config
        due = self.dv.deadline()
        if due is not None and now >= due:
            self.dv.expire(now)
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
        due = self.dv.deadline()
        when = self._next_update if due is None else min(self._next_update, due)
        if self._pending:
            # RFC 2453 §3.10.1: suppressed if the regular update is due by then
            when = min(when, max(self._hold_until, now))
        if when < INF:
            self.stack.timers.ensure(self, when)

    # ------------------------------------------------------------------ changing routes
    def _connect(self, iface: Interface, now: float) -> None:
        net = str(iface.network)
        self._nets[net] = iface.network
        self._names[iface.network] = net
        self.dv.connect(net, iface.name, self.config.cost, now)

    def _changed(self, now: float, row: Row, event: str) -> None:
        """The table changed a route: a triggered update is signalled, the forwarding table
        updated, the change recorded."""
        net, metric, hop, dev = row
        if event == "gc":
            self._tags.pop(net, None)
            return  # it was at metric 16 already: out of the forwarding table, announced
        if event in ("new", "update", "connect"):
            self._tags[net] = self._offered.get(net, 0) if hop is not None else 0
        self._pending = self.config.triggered_updates
        self.counts["route_changes"] += 1
        self.last_change = now
        network = self._nets[net]
        hop_addr = None if hop is None else IPv4Address(hop)
        self.history.append((now, network, metric, hop_addr))
        trace = self.stack.trace
        if trace is not None:
            trace.record(EventRecord(now, self.stack.name, "rip", "route",
                                     f"{net} metric {metric} via {hop or '-'} dev {dev}"))
        self._install(net, network, metric, hop_addr, dev)

    def _install(self, net: str, network: IPv4Network, metric: int,
                 hop: IPv4Address | None, dev: str) -> None:
        table = self.stack.routes
        old = self._installed.pop(net, None)
        if old is not None:
            table.discard(old)
        if hop is None or metric >= INFINITY:
            return
        for other in table:
            if other.network == network:
                return  # a connected or static route to it: that one is used
        self._installed[net] = table.add(network, dev, hop, metric)

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
            self._learn(msg.entries, iface, src, now)
        self._arm(now)

    def _learn(self, entries: Iterable[RipEntry], iface: Interface, src: IPv4Address,
               now: float) -> None:
        """RFC 2453 §3.9.2 response messages: the valid entries go to the table, as runs of
        entries with the same next hop (the sender, or the one an entry names)."""
        nets, names = self._nets, self._names
        run: list[tuple[str, int]] = []
        run_hop = src
        for entry in entries:
            if entry.family != AF_INET or not 1 <= entry.metric <= INFINITY or \
                    not valid_destination(entry.network):
                self.counts["drop.bad_entry"] += 1
                continue
            hop = src
            nh = entry.next_hop
            # RFC 2453 §4.4 next hop: used if it is on the network the message arrived on
            if nh != _ZERO and nh in iface.network and not self.stack.is_local(nh):
                hop = nh
            if hop != run_hop and run:
                self.dv.receive(iface.name, str(run_hop), run, self.config.cost, now)
                run = []
                self._offered.clear()
            run_hop = hop
            net = names.get(entry.network)
            if net is None:
                net = names[entry.network] = str(entry.network)
                nets[net] = entry.network
            run.append((net, entry.metric))
            self._offered[net] = entry.tag
        if run:
            self.dv.receive(iface.name, str(run_hop), run, self.config.cost, now)
        self._offered.clear()

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
        """RFC 2453 §3.10.2 generating response messages, for one interface (the table does
        split horizon, RFC 2453 §3.4.3, for the routes learned through it)."""
        vector = self.dv.export(None if iface is None else iface.name, triggered)
        nets, tags = self._nets, self._tags
        return [RipEntry(nets[net], metric, _ZERO, tags.get(net, 0)) for net, metric in vector]

    def _send_all(self, now: float, triggered: bool) -> None:
        """One update out of every interface (a triggered one: the changed routes only)."""
        counts = self.counts
        for iface in self._up():
            entries = self._entries(iface, triggered)
            for i in range(0, len(entries), MAX_ENTRIES):
                self._multicast(iface, build_rip(RESPONSE, entries[i:i + MAX_ENTRIES]))
                counts["tx_triggered" if triggered else "tx_update"] += 1
        self.dv.updates_sent()  # RFC 2453 §3.10.1: the flags are cleared once they are out
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


__all__ = ["RipConfig", "RipProcess"]
