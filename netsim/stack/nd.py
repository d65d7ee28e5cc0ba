"""Neighbour discovery for the IPv6 layer (RFC 4861): neighbour solicitations and
advertisements for address resolution and unreachability detection, and duplicate address
detection (RFC 4862 §5.4). Router solicitations and advertisements are validated and their
source link-layer address learnt; router discovery itself is netsim/stack/routers6.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv6Address
from typing import TYPE_CHECKING, Final

from netsim.stack.ndcache import RETRANS_TIMER
from netsim.stack.routers6 import (
    MAX_RTR_SOLICITATION_DELAY,
    ND_HOP_LIMIT,
    RouterDiscovery,
    send_nd,
)
from netsim.stack.timers import INF
from netsim.wire import icmpv6 as i6
from netsim.wire import nd as ndw
from netsim.wire.errors import WireError
from netsim.wire.ipv6 import (
    ALL_NODES,
    NH_ICMPV6,
    UNSPECIFIED,
    IPv6Packet,
    build_ipv6,
    multicast_mac,
    solicited_node,
)
from netsim.wire.mac import MacAddress

if TYPE_CHECKING:
    from netsim.stack.ipv6_state import Addr6, Iface6, Ipv6LayerApi

DUP_ADDR_DETECT_TRANSMITS: Final = 1  # RFC 4862 §5.1 node configuration variable default


@dataclass(eq=False)
class _Dad:
    state: Iface6
    entry: Addr6
    deadline: float
    sent: int = 0


class NeighborDiscovery:
    def __init__(self, layer: Ipv6LayerApi) -> None:
        self.layer = layer
        self.dad: dict[IPv6Address, _Dad] = {}
        self.routers = RouterDiscovery(layer)

    # ------------------------------------------------------------------ DAD
    def start_dad(self, state: Iface6, entry: Addr6, now: float) -> None:
        """RFC 4862 §5.4.2: the first solicitation of an interface waits a random delay of up
        to MAX_RTR_SOLICITATION_DELAY; each address is then probed DupAddrDetectTransmits
        times, RetransTimer apart, and becomes usable when nobody objected."""
        delay = state.cache.rng.uniform(0.0, MAX_RTR_SOLICITATION_DELAY)
        self.dad[entry.address] = _Dad(state, entry, now + delay)
        self.layer.arm()

    def _dad_timer(self, dad: _Dad, now: float) -> None:
        entry = dad.entry
        if dad.sent >= DUP_ADDR_DETECT_TRANSMITS:
            del self.dad[entry.address]
            entry.tentative = False
            self.layer.icmp_counts["dad_ok"] += 1
            return
        dad.sent += 1
        dad.deadline = now + RETRANS_TIMER
        # RFC 4862 §5.4.2: from the unspecified address to the solicited-node group of the
        # tentative address, without a source link-layer address option
        target = entry.address
        msg = ndw.NeighborSolicitation(target).message()
        group = solicited_node(target)
        self.layer.icmp_counts["tx_dad_ns"] += 1
        self._send(dad.state, multicast_mac(group), UNSPECIFIED, group, msg)

    def _duplicate(self, state: Iface6, target: IPv6Address, why: str) -> None:
        """RFC 4862 §5.4.5: the tentative address is a duplicate: it is not assigned."""
        dad = self.dad.pop(target, None)
        for entry in state.addresses:
            if entry.address == target:
                entry.duplicate = True
                entry.tentative = False
        self.layer.stack.drop("icmp6", "dad_duplicate", f"{target} ({why})")
        del dad

    # ------------------------------------------------------------------ time
    def poll(self, state: Iface6, now: float) -> None:
        self.routers.poll(state, now)
        for dad in [d for d in self.dad.values() if d.state is state and d.deadline <= now]:
            self._dad_timer(dad, now)
        result = state.cache.poll(now)
        for ip, mac in result.solicit:
            self.layer.icmp_counts["ns_retries"] += 1
            self.solicit(state, ip, mac, now)
        for _ip, packets in result.failed:
            self.layer.resolution_failed(state, packets, now)

    def next_deadline(self, state: Iface6) -> float | None:
        times = [d.deadline for d in self.dad.values() if d.state is state]
        routers = self.routers.next_deadline(state)
        if routers < INF:
            times.append(routers)
        cache = state.cache.next_deadline()
        if cache is not None:
            times.append(cache)
        return min(times) if times else None

    # ------------------------------------------------------------------ sending
    def solicit(self, state: Iface6, target: IPv6Address, mac: MacAddress | None,
                now: float) -> None:
        """A neighbour solicitation for `target`: multicast to its solicited-node group while
        resolving (mac None), unicast to `mac` while probing (RFC 4861 §7.2.2, §7.3.3)."""
        src = state.preferred(target)
        if src is None:
            self.layer.stack.drop("icmp6", "ns_no_source", str(target))
            return
        msg = ndw.NeighborSolicitation(target, (ndw.LinkLayerOption(
            ndw.OPT_SOURCE_LLA, state.iface.mac),)).message()
        self.layer.icmp_counts["tx_ns"] += 1
        if mac is None:
            group = solicited_node(target)
            self._send(state, multicast_mac(group), src, group, msg)
        else:
            self._send(state, mac, src, target, msg)

    def _send(self, state: Iface6, mac: bytes, src: IPv6Address, dst: IPv6Address,
              msg: i6.ICMPv6Message) -> None:
        send_nd(self.layer, state, mac, src, dst, msg)

    # ------------------------------------------------------------------ receiving
    def input(self, state: Iface6, pkt: IPv6Packet, msg: i6.ICMPv6Message, now: float) -> None:
        drop = self.layer.stack.drop
        # RFC 4861 §7.1.1, §7.1.2, §6.1.2 message validation: hop limit 255 (the message
        # was not forwarded), code 0, a well-formed body and options
        if pkt.hop_limit != ND_HOP_LIMIT:
            drop("icmp6", "nd_hop_limit", str(pkt.hop_limit))
            return
        if msg.code != 0:
            drop("icmp6", "nd_code", str(msg.code))
            return
        if msg.type == i6.REDIRECT:
            drop("icmp6", "redirect_ignored")
            return
        try:
            nd = ndw.parse_nd(msg)
        except WireError as exc:
            drop("icmp6", "nd_malformed", str(exc))
            return
        if isinstance(nd, ndw.NeighborSolicitation):
            self._ns_input(state, pkt, nd, now)
        elif isinstance(nd, ndw.NeighborAdvertisement):
            self._na_input(state, pkt, nd, now)
        elif isinstance(nd, ndw.RouterAdvertisement):
            if not pkt.src.is_link_local:
                drop("icmp6", "ra_not_link_local")
                return
            self._learn(state, pkt.src, nd.options, now)
            self.layer.icmp_counts["rx_ra"] += 1
            self.routers.advertisement(state, pkt.src, nd, now)
        elif self.routers.solicitation(state, now):
            # RFC 4861 §6.2.6: only an advertising interface processes a router solicitation
            # (a host silently discards it); its source link-layer address then updates the
            # neighbour cache, unless the source address is unspecified (_learn)
            self._learn(state, pkt.src, nd.options, now)

    def _learn(self, state: Iface6, src: IPv6Address, options: tuple[ndw.NDOption, ...],
               now: float) -> None:
        mac = ndw.link_layer_option(options, ndw.OPT_SOURCE_LLA)
        if mac is not None and not src.is_unspecified:
            for raw in state.cache.solicitation_from(src, mac, now):
                self.layer.frame_out(state, mac, raw)
            self.layer.arm()

    def _ns_input(self, state: Iface6, pkt: IPv6Packet, ns: ndw.NeighborSolicitation,
                  now: float) -> None:
        layer = self.layer
        drop = layer.stack.drop
        target, src = ns.target, pkt.src
        sllao = ndw.link_layer_option(ns.options, ndw.OPT_SOURCE_LLA)
        if target.is_multicast:
            drop("icmp6", "ns_multicast_target", str(target))
            return
        if src.is_unspecified and (pkt.dst != solicited_node(target) or sllao is not None):
            # RFC 4861 §7.1.1: a DAD probe goes to the solicited-node group, with no SLLA
            drop("icmp6", "ns_invalid_dad", str(target))
            return
        mine = next((a for a in state.addresses if a.address == target), None)
        if mine is None or mine.duplicate:
            drop("icmp6", "ns_not_for_us", str(target))
            return
        if mine.tentative:
            if src.is_unspecified:
                # RFC 4862 §5.4.3: another node is probing the same tentative address
                self._duplicate(state, target, "its DAD probe")
            # (a resolution for a tentative address is not answered)
            return
        if not src.is_unspecified and sllao is not None:
            self._learn(state, src, ns.options, now)
        # RFC 4861 §7.2.4: answer with the target's link-layer address; solicited and
        # override set, unicast to the source (to all-nodes when the source was unspecified)
        solicited = not src.is_unspecified
        na = ndw.NeighborAdvertisement(target, layer.stack.forwarding, solicited, True, (
            ndw.LinkLayerOption(ndw.OPT_TARGET_LLA, state.iface.mac),)).message()
        layer.icmp_counts["tx_na"] += 1
        if not solicited:
            self._send(state, multicast_mac(ALL_NODES), target, ALL_NODES, na)
            return
        raw = build_ipv6(target, src, NH_ICMPV6, na.build(target, src),
                         hop_limit=ND_HOP_LIMIT)
        layer.counts["tx"] += 1
        if sllao is not None:
            self.layer.frame_out(state, sllao, raw)
        else:
            layer.output(state, src, raw, now)

    def _na_input(self, state: Iface6, pkt: IPv6Packet, na: ndw.NeighborAdvertisement,
                  now: float) -> None:
        drop = self.layer.stack.drop
        target = na.target
        if target.is_multicast or (pkt.dst.is_multicast and na.solicited):
            # RFC 4861 §7.1.2: no multicast target; a multicast advertisement is unsolicited
            drop("icmp6", "na_invalid", str(target))
            return
        mine = next((a for a in state.addresses if a.address == target), None)
        if mine is not None:
            if mine.tentative:
                self._duplicate(state, target, "advertised by another node")  # RFC 4862 §5.4.4
            else:
                drop("icmp6", "na_for_our_address", str(target))
            return
        tlla = ndw.link_layer_option(na.options, ndw.OPT_TARGET_LLA)
        self.layer.icmp_counts["rx_na"] += 1
        for raw in state.cache.advertisement(target, tlla, na.solicited, na.override,
                                             na.router, now):
            mac = state.cache.lookup(target)
            if mac is not None:
                self.layer.frame_out(state, mac, raw)
        self.layer.arm()
