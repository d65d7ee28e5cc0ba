"""An OSPF version 2 process on one router (RFC 2328), sans-I/O like the rest of the stack.

Link-state routing: each router floods a router-LSA naming its neighbours and its networks
to every other router, reliably (acknowledged, retransmitted); each keeps every router's
latest LSA (its link-state database) and computes its routes from them with Dijkstra's
algorithm (netsim/stack/ospf_spf.py). The packets are OSPFv2's (netsim/wire/ospf.py), IP
protocol 89, multicast to AllSPFRouters 224.0.0.5 with TTL 1.

A subset of OSPF, enough for routers joined by point-to-point links:
- every interface is point-to-point (RFC 2328 §12.4.1.1 describing point-to-point
  interfaces: a link to the neighbour, a stub link to the interface's network), so there is
  no Designated Router election; one area, the backbone (0.0.0.0); no authentication;
  router-LSAs only (no network-, summary- or AS-external-LSAs);
- no Database Description or Link State Request exchange: once a neighbour's Hello lists
  us (2-Way), it is adjacent (Full) and each side floods its whole database to the other in
  Link State Updates, retransmitted until acknowledged;
- a Hello answers a new neighbour's at once, so an adjacency forms in a round trip, not a
  HelloInterval; MinLSInterval (5 s between two instances of our LSA) is kept, MinLSArrival
  is not; an SPF calculation runs `spf_delay` after the database changes.

Routes go into the router's forwarding table with their cost as metric; a connected or
static route to the same network stays first and wins (as RIP's do, netsim/stack/rip.py).

    ospf = OspfProcess(router.stack, OspfConfig(hello_interval=1, dead_interval=4))
    ospf.start(now)
    ospf.table()   # [("10.0.3.0/24", 2, "10.0.1.2", "to-r2"), ...]
"""

from __future__ import annotations

from collections.abc import Mapping
from ipaddress import IPv4Address, IPv4Network

from netsim.errors import UsageError
from netsim.stack.events import EventRecord
from netsim.stack.host import Stack
from netsim.stack.interface import Interface
from netsim.stack.ospf_flood import Flooding
from netsim.stack.ospf_lsdb import FULL, INIT, Neighbor, OspfConfig, OspfInterface
from netsim.stack.ospf_spf import SpfRoute, shortest_paths
from netsim.stack.routing import Route
from netsim.stack.timers import INF
from netsim.wire.ipv4 import IPv4Packet
from netsim.wire.ospf import (
    BACKBONE,
    HELLO,
    LS_ACK,
    LS_UPDATE,
    Hello,
    Lsa,
    LsaHeader,
    OspfError,
    build_hello,
    mask_of,
    parse_ospf,
)


class OspfProcess(Flooding):
    """The routing process of one router: its interfaces and neighbours (`interfaces`), its
    database (`lsdb`), its routes (`routes`), its counters (``stack.counters["ospf"]``), the
    times its table changed (`history`)."""

    def __init__(self, stack: Stack, config: OspfConfig | None = None, *,
                 router_id: str | IPv4Address | None = None,
                 costs: Mapping[str, int] | None = None) -> None:
        cfg = config if config is not None else OspfConfig()
        if not stack.interfaces and router_id is None:
            raise UsageError(f"router_id: {stack.name} has no interface to take one from")
        try:
            rid = IPv4Address(router_id) if router_id is not None else \
                max(i.ip for i in stack.interfaces.values())  # the highest address
        except ValueError as exc:
            raise UsageError(f"router_id: {exc}") from None
        super().__init__(stack, cfg, rid)
        costs = dict(costs or {})
        for name, cost in costs.items():
            if name not in stack.interfaces:
                raise UsageError(f"costs: no interface {name!r} on {stack.name}")
            if type(cost) is not int or not 1 <= cost <= 0xFFFF:
                raise UsageError(f"costs: {name}: {cost!r} is not an integer in 1..65535")
        self.interfaces = {name: OspfInterface(name, costs.get(name, cfg.cost))
                           for name in stack.interfaces}
        self.routes: dict[IPv4Network, SpfRoute] = {}
        self.distances: dict[IPv4Address, int] = {}
        # (time, network, cost or None when it went, next hop or None): for plots and tests
        self.history: list[tuple[float, IPv4Network, int | None, IPv4Address | None]] = []
        self.last_change = 0.0
        self.spf_runs = 0
        self.started = False
        self._installed: dict[IPv4Network, Route] = {}
        self._local = {i.ip: i.name for i in stack.interfaces.values()}  # address: name
        self._spf_at = INF

    # ------------------------------------------------------------------ control
    def start(self, now: float) -> None:
        """Join 224.0.0.5 on every interface, say Hello on each, originate our router-LSA."""
        if self.stack.ip_protocols.get(89) is not None:
            raise UsageError(f"ospf: {self.stack.name} already runs an OSPF process")
        self.stack.ip_protocols[89] = self._on_packet
        self.started = True
        for oi in self.interfaces.values():
            self._iface(oi.name).join_group(self.group)
            oi.next_hello = now
        self.originate(now)
        self._run(now)

    def interface_down(self, name: str, now: float) -> None:
        """The interface `name` lost its link: its neighbour is gone, its links leave our
        router-LSA (RFC 2328 §9.3 interface state machine: InterfaceDown)."""
        self._iface(name)
        oi = self.interfaces[name]
        oi.up = False
        oi.next_hello = INF
        if oi.neighbor is not None:
            self._neighbor_down(oi, now, "interface down")
        self.originate(now)
        self._run(now)

    def interface_up(self, name: str, now: float) -> None:
        self._iface(name)
        oi = self.interfaces[name]
        oi.up = True
        oi.next_hello = now
        self.originate(now)
        self._run(now)

    def _iface(self, name: str) -> Interface:
        iface = self.stack.interfaces.get(name)
        if iface is None or name not in self.interfaces:
            raise UsageError(f"interface: no {name!r} on {self.stack.name}; it has "
                             f"{', '.join(self.interfaces)}")
        return iface

    # ------------------------------------------------------------------ reading
    def table(self) -> list[tuple[str, int, str, str]]:
        """(network, cost, next hop or "-", interface) of every route, connected ones too."""
        return [(str(r.network), r.cost, "-" if r.hop is None else str(r.hop.next_hop),
                 self._ifname(r)) for r in sorted(self.routes.values(),
                                                  key=lambda r: r.network)]

    def cost(self, network: str | IPv4Network) -> int | None:
        """The cost of our route to `network`: None when there is none."""
        try:
            net = IPv4Network(network)
        except ValueError as exc:
            raise UsageError(f"network: {exc}") from None
        route = self.routes.get(net)
        return None if route is None else route.cost

    def neighbors(self) -> dict[str, str]:
        """{interface: state} of the interfaces that have a neighbour."""
        return {oi.name: f"{oi.neighbor.router_id} {oi.neighbor.state}"
                for oi in self.interfaces.values() if oi.neighbor is not None}

    def __str__(self) -> str:
        rows = [f"{net:<18} {cost:>5}  via {hop:<15} dev {dev}"
                for net, cost, hop, dev in self.table()]
        return "\n".join([f"OSPF table of {self.stack.name} (router ID {self.router_id}):",
                          *rows])

    def _ifname(self, route: SpfRoute) -> str:
        if route.hop is None:
            return next((i.name for i in self.stack.interfaces.values()
                         if i.network == route.network), "-")
        return self._local[route.hop.local]

    # ------------------------------------------------------------------ timers
    def on_timer(self, now: float) -> None:
        self._run(now)

    def _run(self, now: float) -> None:
        """Do whatever is due, send what is queued, and arm the timer for what comes next."""
        when = INF
        for oi in self.interfaces.values():
            if oi.next_hello <= now:
                self._hello(oi, now)
                oi.next_hello = now + self.config.hello_interval
            when = min(when, oi.next_hello)
            nb = oi.neighbor
            if nb is None:
                continue
            if nb.dead_at <= now:
                # RFC 2328 §10.2 events causing neighbor state changes: InactivityTimer
                self._neighbor_down(oi, now, "dead interval")
                self.originate(now)
                continue
            when = min(when, nb.dead_at)
            if nb.rxmt_at <= now:
                self.retransmit(oi, nb, now)
            when = min(when, nb.rxmt_at)
        when = min(when, self.maintain(now))
        self.flush(now)
        if self._spf_at <= now:
            self._spf_at = INF
            self._spf(now)
        when = min(when, self._spf_at)
        if when < INF:
            self.stack.timers.ensure(self, when)

    def changed(self, now: float) -> None:
        """The database changed: a routing table calculation, soon."""
        if self._spf_at == INF:
            self._spf_at = now + self.config.spf_delay
            self.stack.timers.ensure(self, self._spf_at)

    # ------------------------------------------------------------------ hellos
    def _hello(self, oi: OspfInterface, now: float) -> None:
        """RFC 2328 §9.5 sending Hello packets: every HelloInterval, naming the neighbour
        heard from (on a point-to-point link there is at most one)."""
        if not oi.up:
            return
        iface = self.stack.interfaces[oi.name]
        seen = (oi.neighbor.router_id,) if oi.neighbor is not None else ()
        hello = Hello(mask_of(iface.network), self.config.hello_interval,
                      self.config.dead_interval, seen)
        self.send(oi, build_hello(self.router_id, hello))
        self.counts["tx_hello"] += 1

    def _on_hello(self, oi: OspfInterface, src: IPv4Address, rid: IPv4Address, hello: Hello,
                  now: float) -> None:
        """RFC 2328 §10.5 receiving Hello packets."""
        cfg = self.config
        if hello.hello_interval != cfg.hello_interval or \
                hello.dead_interval != cfg.dead_interval:
            self.counts["drop.hello_mismatch"] += 1  # the intervals must match
            return
        self.counts["rx_hello"] += 1
        nb = oi.neighbor
        if nb is not None and nb.router_id != rid:
            self._neighbor_down(oi, now, f"replaced by {rid}")
            self.originate(now)
            nb = None
        if nb is None:
            nb = oi.neighbor = Neighbor(rid, src)
            self._event(now, "neighbor", f"{rid} init on {oi.name}")
            self._hello(oi, now)  # so that it sees us at once
        nb.address = src
        nb.dead_at = now + cfg.dead_interval
        if self.router_id in hello.neighbors:
            if nb.state == INIT:
                # 2-WayReceived; on a point-to-point link the neighbour becomes adjacent
                nb.state = FULL
                self._event(now, "neighbor", f"{rid} full on {oi.name}")
                self.synchronize(oi, nb, now)
                self.originate(now)
        elif nb.state == FULL:
            # 1-WayReceived: it no longer hears us
            nb.state = INIT
            nb.rxmt.clear()
            nb.rxmt_at = INF
            self._event(now, "neighbor", f"{rid} init on {oi.name} (1-way)")
            self.originate(now)

    def _neighbor_down(self, oi: OspfInterface, now: float, why: str) -> None:
        nb = oi.neighbor
        if nb is not None:
            oi.neighbor = None
            self.counts["neighbor_down"] += 1
            self._event(now, "neighbor", f"{nb.router_id} down on {oi.name} ({why})")

    # ------------------------------------------------------------------ input
    def _on_packet(self, pkt: IPv4Packet, now: float) -> None:
        """RFC 2328 §8.2 receiving protocol packets."""
        counts = self.counts
        if not self.started:
            return
        src = pkt.src
        if self.stack.is_local(src):
            counts["drop.own"] += 1
            return
        # the interface it came in on, found by the source's subnet: every netsim link is
        # numbered (RFC 2328 §8.2 receiving protocol packets skips that check on
        # point-to-point networks, where the two ends' addresses may be unrelated)
        oi = next((self.interfaces[i.name] for i in self.stack.interfaces.values()
                   if src in i.network and i.name in self.interfaces), None)
        if oi is None or not oi.up:
            counts["drop.not_neighbour"] += 1
            return
        try:
            msg = parse_ospf(pkt.payload)
        except OspfError as exc:
            self.stack.drop("ospf", "malformed", str(exc))
            return
        if msg.area_id != BACKBONE:
            counts["drop.area"] += 1
            return
        if msg.router_id == self.router_id:
            counts["drop.same_router_id"] += 1
            return
        if msg.type == HELLO and isinstance(msg.body, Hello):
            self._on_hello(oi, src, msg.router_id, msg.body, now)
        elif msg.type in (LS_UPDATE, LS_ACK):
            nb = oi.neighbor
            if nb is None or nb.router_id != msg.router_id or nb.state != FULL:
                counts["drop.not_adjacent"] += 1
            elif msg.type == LS_UPDATE and isinstance(msg.body, tuple):
                counts["rx_update"] += 1
                self.receive_update(oi, nb, [x for x in msg.body
                                             if isinstance(x, Lsa)], now)
            elif isinstance(msg.body, tuple):
                counts["rx_ack"] += 1
                self.receive_ack(nb, [x for x in msg.body if isinstance(x, LsaHeader)], now)
        else:
            counts["drop.unsupported_type"] += 1  # Database Description, LS Request
        self._run(now)

    # ------------------------------------------------------------------ routes
    def _spf(self, now: float) -> None:
        """RFC 2328 §16.1: the shortest-path tree, then the forwarding table's changes."""
        self.spf_runs += 1
        self.counts["spf_runs"] += 1
        self.distances, routes = shortest_paths(self.router_id, self.usable_lsas(now))
        old = self.routes
        self.routes = routes
        for net in sorted(old.keys() | routes.keys()):
            before, after = old.get(net), routes.get(net)
            if before == after:
                continue
            self.last_change = now
            self.counts["route_changes"] += 1
            hop = after.hop.next_hop if after is not None and after.hop is not None else None
            self.history.append((now, net, None if after is None else after.cost, hop))
            self._event(now, "route", f"{net} " + (
                "unreachable" if after is None else
                f"cost {after.cost} via {hop or '-'} dev {self._ifname(after)}"))
            self._install_route(net, after)

    def _install_route(self, net: IPv4Network, route: SpfRoute | None) -> None:
        table = self.stack.routes
        installed = self._installed.pop(net, None)
        if installed is not None:
            table.discard(installed)
        if route is None or route.hop is None:
            return
        if any(other.network == net for other in table):
            return  # a connected or static route to it: that one is used
        self._installed[net] = table.add(net, self._ifname(route), route.hop.next_hop,
                                         route.cost)

    def _event(self, now: float, kind: str, detail: str) -> None:
        trace = self.stack.trace
        if trace is not None:
            trace.record(EventRecord(now, self.stack.name, "ospf", kind, detail))


__all__ = ["OspfConfig", "OspfProcess"]
