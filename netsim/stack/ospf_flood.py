"""Reliable flooding, LSA origination and aging: the half of an OSPF process
(netsim/stack/ospf.py) that keeps every router's link-state database the same.

An LSA new to the database is installed, sent on to every adjacent neighbour but the one it
came from, and kept on each one's retransmission list until that neighbour acknowledges it
(RFC 2328 §13 the flooding procedure); an older or equal one is answered or acknowledged.
Our own router-LSA is originated again whenever what it says changes, every LSRefreshTime,
and when a newer instance of it comes back from the network (RFC 2328 §13.4 receiving
self-originated LSAs). An LSA nobody refreshes reaches MaxAge, is flooded once more so that
every router drops it, and leaves the database once acknowledged (RFC 2328 §14 aging the
link state database): so the LSA of a router gone away disappears.
"""

from __future__ import annotations

from ipaddress import IPv4Address

from netsim.stack.host import Stack
from netsim.stack.ospf_lsdb import FULL, LsaKey, Lsdb, Neighbor, OspfConfig, OspfInterface
from netsim.stack.timers import INF
from netsim.wire.ethernet import ETHERTYPE_IPV4, build_ethernet
from netsim.wire.ipv4 import build_ipv4
from netsim.wire.ospf import (
    ALL_SPF_ROUTERS,
    ALL_SPF_ROUTERS_MAC,
    HEADER_LEN,
    INITIAL_SEQUENCE,
    LINK_POINT_TO_POINT,
    LINK_STUB,
    LSA_HEADER_LEN,
    MAX_SEQUENCE,
    PROTO_OSPF,
    ROUTER_LSA,
    Lsa,
    LsaHeader,
    RouterLink,
    build_ls_ack,
    build_ls_update,
    build_router_lsa,
    mask_of,
)

_CS6 = 48  # appendix A.1: IP precedence Internetwork Control (DSCP class selector 6)


class Flooding:
    """The database and the flooding state of a process; `OspfProcess` adds the rest."""

    interfaces: dict[str, OspfInterface]

    def __init__(self, stack: Stack, config: OspfConfig, router_id: IPv4Address) -> None:
        self.stack = stack
        self.config = config
        self.router_id = router_id
        self.group = ALL_SPF_ROUTERS
        self.lsdb = Lsdb(config.max_age)
        self.counts = stack.counters["ospf"]
        self.timer_at = INF  # TimerOwner
        self._own: LsaKey = (ROUTER_LSA, router_id, router_id)
        self._updates: dict[str, list[Lsa]] = {}  # to send on each interface, at `flush`
        self._acks: dict[str, list[LsaHeader]] = {}
        self._next_age = INF  # no LSA reaches MaxAge before this time
        self._refresh_at = INF
        self._last_origin = -INF  # when our router-LSA was last originated
        self._origin_at = INF  # when a deferred origination is due
        self._origin_force = False
        self._flushing: set[LsaKey] = set()  # LSAs at MaxAge, to leave once acknowledged
        self._wrapping = False  # our LSA is being flushed to start again at InitialSequence

    def changed(self, now: float) -> None:
        """The database changed (OspfProcess schedules a routing table calculation)."""

    # ------------------------------------------------------------------ origination
    def router_lsa_links(self) -> list[RouterLink]:
        """RFC 2328 §12.4.1.1 describing point-to-point interfaces: a link to the neighbour
        once it is Full, and, while the interface is up, a stub link to its network."""
        links = []
        for oi in self.interfaces.values():
            if not oi.up:
                continue
            iface = self.stack.interfaces[oi.name]
            nb = oi.neighbor
            if nb is not None and nb.state == FULL:
                links.append(RouterLink(nb.router_id, iface.ip, LINK_POINT_TO_POINT, oi.cost))
            links.append(RouterLink(iface.network.network_address, mask_of(iface.network),
                                    LINK_STUB, oi.cost))
        return links

    def originate(self, now: float, force: bool = False) -> None:
        """A new instance of our router-LSA (RFC 2328 §12.4 originating LSAs), if what it
        says changed (or `force`: a refresh), flooded to every adjacent neighbour."""
        if self._wrapping:
            return  # once the old instance is gone (see `_purge`)
        lsdb = self.lsdb
        links = self.router_lsa_links()
        entry = lsdb.entries.get(self._own)
        if entry is not None and not force and list(entry.lsa.links) == links and \
                lsdb.age(self._own, now) < lsdb.max_age:
            return
        if now < self._last_origin + self.config.min_ls_interval:
            # appendix B MinLSInterval: not two instances within 5 s; this one waits
            self._origin_at = self._last_origin + self.config.min_ls_interval
            self._origin_force = self._origin_force or force
            return
        self._last_origin = now
        self._origin_at = INF
        self._origin_force = False
        seq = INITIAL_SEQUENCE if entry is None else entry.lsa.header.seq + 1
        if seq > MAX_SEQUENCE:
            # RFC 2328 §12.1.6 LS sequence number: flush the instance at MaxSequenceNumber
            # first (age it to MaxAge), then start again from InitialSequenceNumber
            self.counts["sequence_wrap"] += 1
            self._wrapping = True
            self._install(entry.lsa.aged(lsdb.max_age), now)  # type: ignore[union-attr]
            self.flood(self._own, now, None)
            return
        self._install(build_router_lsa(self.router_id, seq, links), now)
        self.counts["originated"] += 1
        self._refresh_at = now + self.config.refresh_interval
        self.flood(self._own, now, None)

    def _install(self, lsa: Lsa, now: float) -> None:
        if self.lsdb.install(lsa, now):
            self.changed(now)
        if lsa.header.age >= self.lsdb.max_age:
            self._flushing.add(lsa.header.key)
        else:
            self._flushing.discard(lsa.header.key)
        self._next_age = min(self._next_age, self.lsdb.expires(lsa.header.key))

    # ------------------------------------------------------------------ flooding
    def _adjacent(self) -> list[tuple[OspfInterface, Neighbor]]:
        return [(oi, oi.neighbor) for oi in self.interfaces.values()
                if oi.up and oi.neighbor is not None and oi.neighbor.state == FULL]

    def flood(self, key: LsaKey, now: float, came_on: OspfInterface | None) -> None:
        """RFC 2328 §13.3 next step in the flooding procedure: onto every adjacent
        neighbour's retransmission list, and out of its interface (not back where the LSA
        came from: on a point-to-point link that neighbour sent it)."""
        lsa = self.lsdb.current(key, now)
        for oi, nb in self._adjacent():
            if oi is came_on:
                continue
            nb.rxmt[key] = lsa
            if nb.rxmt_at == INF:
                nb.rxmt_at = now + self.config.retransmit_interval
            self._updates.setdefault(oi.name, []).append(lsa)

    def synchronize(self, oi: OspfInterface, nb: Neighbor, now: float) -> None:
        """A new adjacency: the whole database to the neighbour, reliably (instead of the
        Database Description exchange, which this process leaves out)."""
        for key in self.lsdb.entries:
            lsa = nb.rxmt[key] = self.lsdb.current(key, now)
            self._updates.setdefault(oi.name, []).append(lsa)
        if nb.rxmt:
            nb.rxmt_at = now + self.config.retransmit_interval

    def retransmit(self, oi: OspfInterface, nb: Neighbor, now: float) -> None:
        """RFC 2328 §13.6 retransmitting LSAs: what is still unacknowledged, every
        RxmtInterval (as it is in the database now)."""
        for key in list(nb.rxmt):
            if key in self.lsdb.entries:
                nb.rxmt[key] = self.lsdb.current(key, now)
            self._updates.setdefault(oi.name, []).append(nb.rxmt[key])
            self.counts["retransmitted"] += 1
        nb.rxmt_at = now + self.config.retransmit_interval if nb.rxmt else INF

    def receive_update(self, oi: OspfInterface, nb: Neighbor, lsas: list[Lsa],
                       now: float) -> None:
        """RFC 2328 §13 the flooding procedure, for each LSA of a Link State Update."""
        counts = self.counts
        lsdb = self.lsdb
        acks = self._acks.setdefault(oi.name, [])
        for lsa in lsas:
            h = lsa.header
            if h.ls_type != ROUTER_LSA or h.ls_id != h.adv_router:
                counts["drop.lsa_type"] += 1  # only router-LSAs, named after their router
                continue
            key = h.key
            known = key in lsdb.entries
            if h.age >= lsdb.max_age and not known:
                acks.append(h)  # step 4: acknowledged, and nothing to do
                continue
            newer = 1 if not known else lsdb.compare(h, key, now)
            if newer > 0:
                counts["rx_lsa_new"] += 1
                for _, other in self._adjacent():
                    other.rxmt.pop(key, None)  # step 5(c)
                self._install(lsa.aged(min(h.age, lsdb.max_age)), now)
                self.flood(key, now, oi)
                acks.append(h)  # §13.5 sending Link State Acknowledgment packets
                if h.adv_router == self.router_id:
                    counts["rx_own_newer"] += 1
                    self.originate(now, force=True)  # §13.4: a newer one of ours
            elif newer == 0:
                counts["rx_lsa_duplicate"] += 1
                sent = nb.rxmt.get(key)
                if sent is not None and _same(sent.header, h, lsdb.max_age):
                    del nb.rxmt[key]  # step 7(a): an implied acknowledgment
                else:
                    acks.append(h)  # step 7(b): a direct acknowledgment
            else:
                counts["rx_lsa_older"] += 1
                db = lsdb.entries[key].lsa.header
                if lsdb.age(key, now) >= lsdb.max_age and db.seq == MAX_SEQUENCE:
                    continue
                # step 8: send it our newer instance (not onto its retransmission list)
                self._updates.setdefault(oi.name, []).append(lsdb.current(key, now))
        if not nb.rxmt:
            nb.rxmt_at = INF

    def receive_ack(self, nb: Neighbor, headers: list[LsaHeader], now: float) -> None:
        """RFC 2328 §13.7 receiving link state acknowledgments."""
        for h in headers:
            sent = nb.rxmt.get(h.key)
            if sent is not None and _same(sent.header, h, self.lsdb.max_age):
                del nb.rxmt[h.key]
            else:
                self.counts["ack_unexpected"] += 1
        if not nb.rxmt:
            nb.rxmt_at = INF
        self._purge(now)

    # ------------------------------------------------------------------ aging
    def maintain(self, now: float) -> float:
        """LSAs reaching MaxAge are flooded out (RFC 2328 §14 aging the link state
        database), our own is refreshed; the time of the next such event."""
        lsdb = self.lsdb
        if now >= self._next_age:
            soonest = INF
            for key in list(lsdb.entries):
                expires = lsdb.expires(key)
                if lsdb.entries[key].age >= lsdb.max_age:
                    continue  # already at MaxAge: waiting for acknowledgments
                if expires <= now:
                    self.counts["maxage"] += 1
                    self._install(lsdb.current(key, now), now)
                    self.flood(key, now, None)
                else:
                    soonest = min(soonest, expires)
            self._next_age = soonest
            self._purge(now)
        if now >= self._refresh_at:
            self.originate(now, force=True)  # LSRefreshTime
        elif now >= self._origin_at:
            self.originate(now, self._origin_force)
        return min(self._next_age, self._refresh_at, self._origin_at)

    def _purge(self, now: float) -> None:
        """MaxAge LSAs no neighbour still has to acknowledge leave the database."""
        if not self._flushing:
            return
        adjacent = self._adjacent()
        for key in [k for k in self._flushing if all(k not in nb.rxmt for _, nb in adjacent)]:
            self._flushing.discard(key)
            del self.lsdb.entries[key]
            self.counts["flushed"] += 1
            self.changed(now)
            if key == self._own and self._wrapping:
                self._wrapping = False
                self.originate(now, force=True)

    def usable_lsas(self, now: float) -> list[Lsa]:
        """The LSAs the routing table is computed from: not those at MaxAge (RFC 2328 §14)."""
        lsdb = self.lsdb
        return [e.lsa for k, e in lsdb.entries.items() if lsdb.age(k, now) < lsdb.max_age]

    # ------------------------------------------------------------------ output
    def flush(self, now: float) -> None:
        """Send the queued updates and acknowledgments, each LSA aged by InfTransDelay, as
        few packets as the interface's MTU allows."""
        delay = self.config.transmit_delay
        top = self.lsdb.max_age
        for name, lsas in self._updates.items():
            oi = self.interfaces[name]
            room = self.stack.interfaces[name].mtu - 20 - HEADER_LEN - 4
            batches: list[list[Lsa]] = [[]]
            size = 0
            for lsa in lsas:
                if batches[-1] and size + len(lsa.raw) > room:
                    batches.append([])
                    size = 0
                batches[-1].append(lsa.aged(min(lsa.header.age + delay, top)))
                size += len(lsa.raw)
            for batch in batches:
                if batch:
                    self.send(oi, build_ls_update(self.router_id, batch))
                    self.counts["tx_update"] += 1
        self._updates.clear()
        for name, headers in self._acks.items():
            if not headers:
                continue
            oi = self.interfaces[name]
            per = (self.stack.interfaces[name].mtu - 20 - HEADER_LEN) // LSA_HEADER_LEN
            for i in range(0, len(headers), per):
                self.send(oi, build_ls_ack(self.router_id, headers[i:i + per]))
                self.counts["tx_ack"] += 1
        self._acks.clear()

    def send(self, oi: OspfInterface, payload: bytes) -> None:
        """An OSPF packet to AllSPFRouters out of `oi` (RFC 2328 §8.1 sending protocol
        packets: on a point-to-point network always to that address), TTL 1."""
        if not oi.up:
            return
        stack = self.stack
        iface = stack.interfaces[oi.name]
        raw = build_ipv4(iface.ip, ALL_SPF_ROUTERS, PROTO_OSPF, payload, ttl=1, dscp=_CS6)
        stack.ipv4_counts["tx"] += 1
        stack.eth_counts["tx"] += 1
        stack.transmit(iface, build_ethernet(ALL_SPF_ROUTERS_MAC, iface.mac, ETHERTYPE_IPV4,
                                             raw, mtu=65535))
        self.counts["tx_packets"] += 1


def _same(a: LsaHeader, b: LsaHeader, max_age: int) -> bool:
    """The same instance (RFC 2328 §13.1): sequence number, checksum, and both at MaxAge or
    neither."""
    return a.seq == b.seq and a.checksum == b.checksum and \
        (a.age >= max_age) == (b.age >= max_age)


__all__ = ["Flooding"]
