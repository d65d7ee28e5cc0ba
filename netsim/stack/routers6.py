"""Router discovery (RFC 4861 §6) for the IPv6 layer, both sides of it.

A router's advertising interfaces send router advertisements, unsolicited at randomized
intervals and in answer to router solicitations (rate limited); a host solicits them when
its interface comes up, keeps its default routers and on-link prefixes for as long as the
advertisements say, and forms addresses from the prefixes (SLAAC, RFC 4862 §5.5.3) that it
deprecates and removes when their lifetimes end (RFC 4862 §5.5.4). Timers go through the
layer's (`poll`, `next_deadline`); random intervals come from the interface's seeded
generator, so a simulation repeats.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv6Address, IPv6Network
from typing import TYPE_CHECKING, Final

from netsim.errors import UsageError
from netsim.stack.timers import INF
from netsim.wire import icmpv6 as i6
from netsim.wire import nd as ndw
from netsim.wire.ipv6 import (
    ALL_NODES,
    ALL_ROUTERS,
    NH_ICMPV6,
    UNSPECIFIED,
    build_ipv6,
    interface_id,
    multicast_mac,
    solicited_node,
)

if TYPE_CHECKING:
    from netsim.stack.ipv6_state import Iface6, Ipv6LayerApi

# RFC 4861 §10 protocol constants (router, then host)
MAX_INITIAL_RTR_ADVERT_INTERVAL: Final = 16.0
MAX_INITIAL_RTR_ADVERTISEMENTS: Final = 3
MIN_DELAY_BETWEEN_RAS: Final = 3.0
MAX_RA_DELAY_TIME: Final = 0.5
MAX_RTR_SOLICITATION_DELAY: Final = 1.0
RTR_SOLICITATION_INTERVAL: Final = 4.0
MAX_RTR_SOLICITATIONS: Final = 3
INFINITE: Final = 0xFFFFFFFF  # a lifetime of all ones never ends
TWO_HOURS: Final = 7200.0  # RFC 4862 §5.5.3 (e) router advertisement processing
ND_HOP_LIMIT: Final = 255


def send_nd(layer: Ipv6LayerApi, state: Iface6, mac: bytes, src: IPv6Address,
            dst: IPv6Address, msg: i6.ICMPv6Message) -> None:
    """An ND message out of `state`'s interface to `mac`."""
    # RFC 4861 §7.1.1: ND messages go with hop limit 255, which proves they are on-link
    raw = build_ipv6(src, dst, NH_ICMPV6, msg.build(src, dst), hop_limit=ND_HOP_LIMIT)
    layer.counts["tx"] += 1
    layer.frame_out(state, mac, raw)


@dataclass(frozen=True)
class AdvPrefix:
    """One entry of AdvPrefixList (RFC 4861 §6.2.1 router configuration variables)."""

    network: IPv6Network
    valid: int = 2_592_000  # 30 days
    preferred: int = 604_800  # 7 days
    on_link: bool = True
    autonomous: bool = True


@dataclass(eq=False)
class _Advertising:
    state: Iface6
    prefixes: tuple[AdvPrefix, ...]
    max_interval: float
    min_interval: float
    lifetime: int
    hop_limit: int
    mtu: int
    next_at: float
    sent: int = 0
    last_multicast: float = -INF
    answer_at: float = INF


@dataclass(eq=False)
class _Host:
    """A host interface's router discovery state (RFC 4861 §6.3.2, §6.3.7)."""

    routers: dict[IPv6Address, float] = field(default_factory=dict)  # -> invalidation time
    prefixes: dict[IPv6Network, float] = field(default_factory=dict)
    # SLAAC addresses -> (end of the preferred lifetime, end of the valid lifetime)
    addresses: dict[IPv6Address, tuple[float, float]] = field(default_factory=dict)
    solicit_at: float = INF
    solicitations: int = 0
    answered: bool = False  # a router advertised itself since the solicitations began


def _until(now: float, lifetime: int) -> float:
    return INF if lifetime == INFINITE else now + lifetime


def _number(name: str, value: object, whole: bool = False) -> None:
    """A `UsageError` naming `name` unless `value` is a number (an int with `whole`)."""
    if isinstance(value, bool) or not isinstance(value, int if whole else int | float):
        raise UsageError(f"{name}: {value!r} is not a {'whole ' if whole else ''}number")


def check_config(prefixes: tuple[str, ...], max_interval: float, min_interval: float | None,
                 lifetime: int | None) -> tuple[tuple[AdvPrefix, ...], float, float, int]:
    """The RFC 4861 §6.2.1 limits of the router configuration variables; a value out of
    them is a one-line UsageError naming it."""
    _number("max_interval", max_interval)
    if min_interval is not None:
        _number("min_interval", min_interval)
    if lifetime is not None:
        # seconds; the Router Advertisement Message Format gives it 16 bits (RFC 4861 §4.2)
        _number("lifetime", lifetime, whole=True)
    if isinstance(prefixes, str | bytes) or not isinstance(prefixes, tuple | list):
        raise UsageError(f"prefixes: {prefixes!r} is not a tuple of prefixes such as "
                         "('2001:db8:1::/64',)")
    if not 4 <= max_interval <= 1800:
        raise UsageError(f"max_interval: {max_interval:g} s is not within 4..1800 s")
    if min_interval is None:
        # the default, 0.33 x max_interval from 9 s; below, the RFC's default (max_interval)
        # would break its own 0.75 x bound, so that bound
        min_interval = 0.33 * max_interval if max_interval >= 9 else 0.75 * max_interval
    if not 3 <= min_interval <= 0.75 * max_interval:
        raise UsageError(f"min_interval: {min_interval:g} s is not within 3 s .. 0.75 × "
                         f"max_interval ({0.75 * max_interval:g} s)")
    if lifetime is None:
        lifetime = int(3 * max_interval)
    if lifetime != 0 and not max_interval <= lifetime <= 9000:
        raise UsageError(f"lifetime: {lifetime} s is neither 0 nor within max_interval "
                         f"({max_interval:g} s) .. 9000 s")
    nets = []
    for text in prefixes:
        try:
            if not isinstance(text, str | IPv6Network):
                raise ValueError("not a string")
            net = IPv6Network(text)
        except ValueError as exc:
            raise UsageError(f"prefixes: {text!r} is not an IPv6 prefix such as "
                             f"2001:db8:1::/64 ({exc})") from None
        if net.is_link_local or net.is_multicast:
            raise UsageError(f"prefixes: {net} is link-local or multicast (RFC 4861 §6.2.1 "
                             "router configuration variables: not advertised)")
        nets.append(AdvPrefix(net))
    return tuple(nets), float(max_interval), float(min_interval), lifetime


class RouterDiscovery:
    def __init__(self, layer: Ipv6LayerApi) -> None:
        self.layer = layer
        self.advertising: dict[str, _Advertising] = {}
        self.hosts: dict[str, _Host] = {}

    # ------------------------------------------------------------------ router side
    def _iface(self, name: str) -> Iface6:
        state = self.layer.ifaces.get(name) if isinstance(name, str) else None
        if state is None:
            raise UsageError(f"iface: IPv6 is not enabled on {name!r}")
        return state

    def advertise(self, iface: str, prefixes: tuple[str, ...] = (), *,
                  max_interval: float = 600.0, min_interval: float | None = None,
                  lifetime: int | None = None, mtu: int = 0, now: float = 0.0) -> None:
        """Make `iface` of this router an advertising interface (RFC 4861 §6.2.2 becoming an
        advertising interface): it joins all-routers and sends its first advertisement at
        once (as soon as its link-local address is usable); the defaults are RFC 4861
        §6.2.1's router configuration variables."""
        state = self._iface(iface)
        if not self.layer.stack.forwarding:
            raise UsageError("advertise: only a router sends router advertisements (RFC 4861 "
                             "§6.2.4: a host must not); turn forwarding on first")
        nets, high, low, life = check_config(prefixes, max_interval, min_interval, lifetime)
        _number("mtu", mtu, whole=True)
        if mtu and not 1280 <= mtu <= state.iface.mtu:
            raise UsageError(f"mtu: {mtu} is not 0 (no MTU option) or within 1280.."
                             f"{state.iface.mtu} (the interface's MTU)")
        state.join(ALL_ROUTERS)
        self.advertising[iface] = _Advertising(state, nets, high, low, life, 64, mtu, now)
        self.layer.arm()

    def _interval(self, adv: _Advertising) -> float:
        """RFC 4861 §6.2.4 sending unsolicited router advertisements: uniform between the
        interval bounds, at most MAX_INITIAL_RTR_ADVERT_INTERVAL for the first few."""
        value = adv.state.cache.rng.uniform(adv.min_interval, adv.max_interval)
        if adv.sent <= MAX_INITIAL_RTR_ADVERTISEMENTS:
            value = min(value, MAX_INITIAL_RTR_ADVERT_INTERVAL)
        return value

    def _send_ra(self, adv: _Advertising, now: float) -> None:
        state = adv.state
        src = state.preferred(ALL_NODES)  # a usable link-local address
        if src is None:  # RFC 4861 §6.1.2: an RA comes from a link-local address
            adv.next_at = now + 0.1
            return
        # RFC 4861 §6.2.3 router advertisement message content
        options: list[ndw.NDOption] = [ndw.LinkLayerOption(ndw.OPT_SOURCE_LLA, state.iface.mac)]
        if adv.mtu:
            options.append(ndw.MTUOption(adv.mtu))
        for p in adv.prefixes:
            options.append(ndw.PrefixInformation(p.network.prefixlen, p.on_link, p.autonomous,
                                                 p.valid, p.preferred, p.network.network_address))
        msg = ndw.RouterAdvertisement(adv.hop_limit, False, False, adv.lifetime, 0, 0,
                                      tuple(options)).message()
        self.layer.icmp_counts["tx_ra"] += 1
        send_nd(self.layer, state, multicast_mac(ALL_NODES), src, ALL_NODES, msg)
        adv.sent += 1
        adv.last_multicast = now
        adv.answer_at = INF
        adv.next_at = now + self._interval(adv)

    def solicitation(self, state: Iface6, now: float) -> bool:
        """RFC 4861 §6.2.6 processing router solicitations: answer with a multicast RA after
        a random delay of up to MAX_RA_DELAY_TIME (from the first of several), never sooner
        than MIN_DELAY_BETWEEN_RAS after the last multicast one, and not later than the
        next unsolicited one. False: not an advertising interface, the solicitation is
        ignored."""
        adv = self.advertising.get(state.iface.name)
        if adv is None:
            self.layer.icmp_counts["rs_ignored"] += 1
            return False
        self.layer.icmp_counts["rx_rs"] += 1
        if adv.answer_at < INF:
            return True  # one answer is already due
        at = now + state.cache.rng.uniform(0.0, MAX_RA_DELAY_TIME)
        if now - adv.last_multicast < MIN_DELAY_BETWEEN_RAS:
            at = adv.last_multicast + MIN_DELAY_BETWEEN_RAS + (at - now)
        if at < adv.next_at:
            adv.answer_at = at
            self.layer.arm()
        return True

    # ------------------------------------------------------------------ host side
    def solicit(self, iface: str, now: float = 0.0) -> None:
        """RFC 4861 §6.3.7 sending router solicitations from `iface` (a host's): up to
        MAX_RTR_SOLICITATIONS, RTR_SOLICITATION_INTERVAL apart, the first after a random
        delay, until a router answers."""
        state = self._iface(iface)
        host = self.hosts.setdefault(iface, _Host())
        host.solicitations, host.answered = 0, False
        host.solicit_at = now + state.cache.rng.uniform(0.0, MAX_RTR_SOLICITATION_DELAY)
        self.layer.arm()

    def _send_rs(self, state: Iface6, host: _Host, now: float) -> None:
        src = state.preferred(ALL_ROUTERS) or UNSPECIFIED  # a usable link-local address
        # the source link-layer address only with a source address (RFC 4861 §4.1 message
        # format of a router solicitation)
        options = () if src == UNSPECIFIED else (
            ndw.LinkLayerOption(ndw.OPT_SOURCE_LLA, state.iface.mac),)
        self.layer.icmp_counts["tx_rs"] += 1
        send_nd(self.layer, state, multicast_mac(ALL_ROUTERS), src, ALL_ROUTERS,
                ndw.RouterSolicitation(options).message())
        host.solicitations += 1
        host.solicit_at = (now + RTR_SOLICITATION_INTERVAL if host.solicitations <
                           MAX_RTR_SOLICITATIONS and not host.answered else INF)

    def advertisement(self, state: Iface6, router: IPv6Address, ra: ndw.RouterAdvertisement,
                      now: float) -> None:
        """RFC 4861 §6.3.4 processing received router advertisements (a router only learns
        the sender's link-layer address: §6.2.7 leaves the rest out of scope)."""
        layer = self.layer
        if layer.stack.forwarding:
            layer.icmp_counts["ra_from_router_ignored"] += 1
            return
        host = self.hosts.setdefault(state.iface.name, _Host())
        name = state.iface.name
        if ra.router_lifetime > 0:
            host.routers[router] = now + ra.router_lifetime
            # RFC 4861 §6.3.7: desist from soliciting, once at least one has gone
            host.answered = True
            if host.solicitations:
                host.solicit_at = INF
            layer.set_default_router(name, router, True)
        elif host.routers.pop(router, None) is not None:
            layer.set_default_router(name, router, False)
        if ra.cur_hop_limit:
            layer.default_hop_limit = ra.cur_hop_limit
        if ra.reachable_time:
            state.cache.base_reachable = ra.reachable_time / 1000
        if ra.retrans_timer:
            state.cache.retrans = ra.retrans_timer / 1000
        for opt in ra.options:
            if isinstance(opt, ndw.PrefixInformation) and not opt.prefix.is_link_local:
                net = IPv6Network(f"{opt.prefix}/{opt.prefix_length}", strict=False)
                if opt.on_link:
                    self._on_link(state, host, net, opt.valid_lifetime, now)
                if opt.autonomous:
                    self._slaac(state, host, net, opt, now)

    def _on_link(self, state: Iface6, host: _Host, net: IPv6Network, valid: int,
                 now: float) -> None:
        if valid == 0:
            if host.prefixes.pop(net, None) is not None:
                self.layer.remove_on_link(state.iface.name, net)
            return
        host.prefixes[net] = _until(now, valid)
        self.layer.add_on_link(state.iface.name, net)

    def _slaac(self, state: Iface6, host: _Host, net: IPv6Network,
               opt: ndw.PrefixInformation, now: float) -> None:
        """RFC 4862 §5.5.3 router advertisement processing (b)-(e)."""
        counts = self.layer.icmp_counts
        if opt.preferred_lifetime > opt.valid_lifetime or opt.valid_lifetime == 0:
            return
        if net.prefixlen != 64:
            # the interface identifier of an Ethernet interface is 64 bits (RFC 2464 §4
            # stateless autoconfiguration): other lengths cannot form an address
            counts["slaac_bad_prefix_length"] += 1
            return
        addr = IPv6Address(int(net.network_address) | interface_id(state.iface.mac))
        preferred = _until(now, opt.preferred_lifetime)
        known = host.addresses.get(addr)
        if known is None:
            if any(a.address == addr for a in state.addresses):
                return  # configured by hand: its lifetime is not the RA's
            counts["slaac_address"] += 1
            host.addresses[addr] = (preferred, _until(now, opt.valid_lifetime))
            self.layer.add_address(state.iface.name, f"{addr}/64", now=now)
            self.layer.arm()
            return
        # (e): the valid lifetime is not cut below two hours by an advertisement, so a forged
        # one cannot end an address at once
        remaining = known[1] - now
        received = float(INF if opt.valid_lifetime == INFINITE else opt.valid_lifetime)
        if received > TWO_HOURS or received > remaining:
            valid = now + received
        elif remaining <= TWO_HOURS:
            valid = known[1]
        else:
            valid = now + TWO_HOURS
        host.addresses[addr] = (preferred, valid)
        self._set_deprecated(state, addr, preferred <= now)
        self.layer.arm()

    def _remove_address(self, state: Iface6, addr: IPv6Address) -> None:
        """`addr` is no longer the interface's (its valid lifetime ended)."""
        state.addresses = [a for a in state.addresses if a.address != addr]
        self.layer._local.pop(addr, None)
        group = solicited_node(addr)
        if all(solicited_node(a.address) != group for a in state.addresses):
            state.leave(group)
        net = IPv6Network(f"{addr}/64", strict=False)
        if net not in self.hosts[state.iface.name].prefixes:
            self.layer.remove_on_link(state.iface.name, net)

    @staticmethod
    def _set_deprecated(state: Iface6, addr: IPv6Address, deprecated: bool) -> None:
        for a in state.addresses:
            if a.address == addr:
                a.deprecated = deprecated

    # ------------------------------------------------------------------ time
    def poll(self, state: Iface6, now: float) -> None:
        name = state.iface.name
        adv = self.advertising.get(name)
        if adv is not None and min(adv.next_at, adv.answer_at) <= now:
            self._send_ra(adv, now)
        host = self.hosts.get(name)
        if host is None:
            return
        if host.solicit_at <= now:
            self._send_rs(state, host, now)
        # RFC 4861 §6.3.5 timing out prefixes and default routers
        for router in [r for r, t in host.routers.items() if t <= now]:
            del host.routers[router]
            self.layer.set_default_router(name, router, False)
        for net in [n for n, t in host.prefixes.items() if t <= now]:
            del host.prefixes[net]
            self.layer.remove_on_link(name, net)
        # RFC 4862 §5.5.4 address lifetime expiry: deprecated, then invalid (removed)
        for addr, (preferred, valid) in list(host.addresses.items()):
            if valid <= now:
                del host.addresses[addr]
                self.layer.icmp_counts["slaac_address_expired"] += 1
                self._remove_address(state, addr)
            elif preferred <= now:
                self._set_deprecated(state, addr, True)

    def next_deadline(self, state: Iface6) -> float:
        name = state.iface.name
        times = [INF]
        adv = self.advertising.get(name)
        if adv is not None:
            times += [adv.next_at, adv.answer_at]
        host = self.hosts.get(name)
        if host is not None:
            times += [host.solicit_at, *host.routers.values(), *host.prefixes.values()]
            for addr, (preferred, valid) in host.addresses.items():
                deprecated = any(a.deprecated for a in state.addresses if a.address == addr)
                times.append(valid if deprecated else min(preferred, valid))
        return min(times)
