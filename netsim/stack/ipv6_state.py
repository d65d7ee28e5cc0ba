"""The state the IPv6 layer shares with its helpers: an interface's IPv6 addresses and
neighbour cache (`Iface6`, `Addr6`), and the two interfaces that keep netsim/stack/ipv6.py,
ipv6_input.py and nd.py free of import cycles: what the layer needs from its host
(`Ipv6Host`, provided by netsim.stack.host.Stack) and what the helpers call back on the layer
(`Ipv6LayerApi`, provided by netsim.stack.ipv6.Ipv6Layer)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from ipaddress import IPv6Address, IPv6Network
from typing import TYPE_CHECKING, Protocol

from netsim.stack.ndcache import NeighborCache
from netsim.wire.ipv6 import IPv6Packet, multicast_mac

if TYPE_CHECKING:
    from netsim.stack.counters import Counters
    from netsim.stack.interface import Interface
    from netsim.stack.tcp.layer import TcpLayer
    from netsim.stack.timers import TimerQueue
    from netsim.stack.udp import UdpLayer
    from netsim.wire.lazyframe import LazyFrame


@dataclass(eq=False)
class Addr6:
    address: IPv6Address
    network: IPv6Network
    tentative: bool = True
    duplicate: bool = False
    deprecated: bool = False  # its preferred lifetime is over (RFC 4862 §5.5.4)


@dataclass(eq=False)
class Iface6:
    """The IPv6 state of one interface."""

    iface: Interface
    cache: NeighborCache
    addresses: list[Addr6] = field(default_factory=list)
    groups: set[bytes] = field(default_factory=set)  # multicast MACs it listens to
    multicast: set[IPv6Address] = field(default_factory=set)

    def join(self, group: IPv6Address) -> None:
        """Listen to multicast `group`: its address, and its MAC (RFC 2464 §7)."""
        self.multicast.add(group)
        self.groups.add(multicast_mac(group))

    def leave(self, group: IPv6Address) -> None:
        self.multicast.discard(group)
        self.groups.discard(multicast_mac(group))

    def preferred(self, dst: IPv6Address) -> IPv6Address | None:
        """RFC 8200 leaves source selection to RFC 6724; this host takes the usable address
        of the destination's scope: link-local for link-local and multicast link scope,
        else a global one (the first whose prefix matches, else the first)."""
        usable = [a for a in self.addresses if not a.tentative and not a.duplicate]
        # RFC 4862 §5.5.4 address lifetime expiry: a deprecated address only when no other
        usable.sort(key=lambda a: a.deprecated)
        if dst.is_link_local or (dst.is_multicast and (int(dst) >> 112) & 0xF == 2):
            return next((a.address for a in usable if a.address.is_link_local), None)
        glob = [a for a in usable if not a.address.is_link_local]
        for a in glob:
            if dst in a.network:
                return a.address
        if glob:
            return glob[0].address
        return next((a.address for a in usable), None)



class Ipv6Host(Protocol):
    """What the IPv6 layer needs from its host (netsim.stack.host.Stack provides it); named
    here so that this module does not import the stack that imports it."""

    name: str
    forwarding: bool
    now: float
    interfaces: dict[str, Interface]
    timers: TimerQueue
    counters: Counters
    eth_counts: Counter[str]
    udp: UdpLayer
    tcp: TcpLayer

    def drop(self, layer: str, reason: str, detail: str = "") -> None: ...

    def transmit(self, iface: Interface, frame: bytes | LazyFrame, /) -> None: ...


class Ipv6LayerApi(Protocol):
    """What the IPv6 layer's helpers (netsim.stack.ipv6_input, netsim.stack.nd) call back:
    `netsim.stack.ipv6.Ipv6Layer` provides it."""

    stack: Ipv6Host
    counts: Counter[str]
    icmp_counts: Counter[str]
    _local: dict[IPv6Address, Iface6]
    ifaces: dict[str, Iface6]

    def add_address(self, iface: str, text: str, *, now: float = 0.0,
                    dad: bool = True) -> Addr6: ...

    default_hop_limit: int

    def set_default_router(self, iface: str, router: IPv6Address, on: bool) -> None: ...

    def add_on_link(self, iface: str, net: IPv6Network) -> None: ...

    def remove_on_link(self, iface: str, net: IPv6Network) -> None: ...

    def arm(self) -> None: ...

    def icmp_error(self, about: IPv6Packet, type_: int, code: int, now: float, *,
                   value: int = 0, link_multicast: bool = False,
                   multicast_ok: bool = False) -> bool: ...

    def route(self, dst: IPv6Address, iface: Iface6 | None = None
              ) -> tuple[Iface6, IPv6Address] | None: ...

    def output(self, state: Iface6, next_hop: IPv6Address, raw: bytes, now: float) -> None: ...

    def frame_out(self, state: Iface6, mac: bytes, raw: bytes) -> None: ...

    def resolution_failed(self, state: Iface6, packets: list[bytes], now: float) -> None: ...
