"""How a `Stack` (netsim/stack/host.py) calls the parts students replace in it: another link
layer for one interface (assignment 08, `NetworkInterface`) and another forwarding decision
for a router (assignment 09, `Forwarder`).

By default the stack does this work itself on its per-frame path (netsim/stack/host_arp.py,
netsim/stack/host_forward.py), in the compiled build. Once ``Stack.set_netif`` or
``Stack.set_forwarder`` installs a replacement, every frame of that interface, or every
datagram the router receives, comes through here instead. This module is never compiled: a
student's part is called from plain Python, as they wrote it, and its answers are checked here
before the stack acts on them.

What the stack still does around a replacement: its counters count what crosses the seam (the
``arp`` counters from the frames, `arp_counts_in` and `arp_counts_out`; the ``eth`` counters),
datagrams to a broadcast address need no ARP, a datagram ARP gave up on gets its ICMP host
unreachable, and the ICMP error a forwarder names is sent under RFC 1122 §3.2.2's rules and
the rate limit.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from ipaddress import IPv4Address
from typing import Any, Final, Protocol

from netsim.errors import UsageError
from netsim.stack.counters import Counters
from netsim.stack.forwarding import DELIVER, FORWARD, Forwarder
from netsim.stack.interface import Interface
from netsim.stack.netif import NetworkInterface, arp_counts_in, arp_counts_out
from netsim.stack.routing import RoutingTable
from netsim.wire.ethernet import ETHERTYPE_IPV4
from netsim.wire.ipv4 import IPv4Packet
from netsim.wire.lazyframe import LazyFrame
from netsim.wire.mac import BROADCAST

_ETH_ARP: Final = b"\x08\x06"
_LIMITED_BROADCAST: Final = IPv4Address("255.255.255.255")


class StackParts(Protocol):
    """What the glue uses of a Stack (netsim/stack/host.py and its parts, host_arp.py and
    host_forward.py, which import this module: hence a protocol, not the class)."""

    name: str
    forwarding: bool
    interfaces: dict[str, Interface]
    routes: RoutingTable
    forwarder: Forwarder
    _own_forwarder: bool
    counters: Counters
    eth_counts: Counter[str]
    transmit: Callable[[Interface, bytes | LazyFrame], None]

    def drop(self, layer: str, reason: str, detail: str = "") -> None: ...

    def _arm_housekeeping(self) -> None: ...

    def _send_frame(self, iface: Interface, dst: bytes, ethertype: int,
                    payload: bytes) -> None: ...

    def _ip_input(self, iface: Interface, frame: bytes, now: float, broadcast: bool) -> None: ...

    def _arp_failed(self, raw: bytes, now: float) -> None: ...

    def icmp_error(self, about: IPv4Packet, type_: int, code: int, now: float, *,
                   next_hop_mtu: int = 0, arrived_as_broadcast: bool = False) -> bool: ...


class ForwardingParts(StackParts, Protocol):
    """A router's Stack: also how it sends a datagram it forwards (host_forward.py)."""

    def _send_forwarded(self, pkt: IPv4Packet, out: Interface, next_hop: IPv4Address,
                        raw: bytes, now: float) -> None: ...


# ---------------------------------------------------------------------- another link layer
def install_netif(stack: StackParts, interface: str, netif: NetworkInterface) -> None:
    """`Stack.set_netif`: `netif` does the Ethernet framing and ARP of `interface`."""
    if interface not in stack.interfaces:
        raise UsageError(f"netif: no interface {interface!r} on {stack.name}")
    stack.interfaces[interface].netif = netif


def netif_input(stack: StackParts, iface: Interface, frame: bytes, now: float) -> None:
    """A frame for an interface with its own link layer."""
    if not iface.up:
        stack.drop("eth", "interface_down")
        return
    assert iface.netif is not None
    if frame[12:14] == _ETH_ARP:  # the stack's ARP counters still count (arp_counts_in)
        arpc = stack.counters["arp"]
        for key in arp_counts_in(frame, iface.ip, iface.mac):
            arpc[key] += 1
    got = iface.netif.recv_frame(frame, now)
    _transmit_all(stack, iface, got.frames)
    if got.datagram is not None:
        stack._ip_input(iface, frame[:14] + bytes(got.datagram), now,
                        frame[0:6] == BROADCAST)
    stack._arm_housekeeping()


def netif_output(stack: StackParts, iface: Interface, next_hop: IPv4Address, raw: bytes,
                 now: float) -> None:
    """A datagram for `next_hop` out of an interface with its own link layer."""
    if next_hop == _LIMITED_BROADCAST or next_hop == iface.broadcast:
        stack._send_frame(iface, BROADCAST, ETHERTYPE_IPV4, raw)
        return
    assert iface.netif is not None
    _transmit_all(stack, iface, iface.netif.send_datagram(raw, next_hop, now))
    stack._arm_housekeeping()


def netif_tick(stack: StackParts, iface: Interface, now: float) -> None:
    """The passage of time on an interface with its own link layer: ARP retries, and the
    datagrams it gave up on (each gets an ICMP host unreachable, as the stack's own ARP)."""
    assert iface.netif is not None
    got = iface.netif.tick(now)
    _transmit_all(stack, iface, got.frames, retry=True)
    for raw in got.failed:
        stack.drop("arp", "unresolved", "a next hop did not answer ARP")
        stack._arp_failed(bytes(raw), now)


def _transmit_all(stack: StackParts, iface: Interface, frames: list[bytes],
                  retry: bool = False) -> None:
    for f in frames:
        stack.eth_counts["tx"] += 1
        if f[12:14] == _ETH_ARP:
            arpc = stack.counters["arp"]
            for key in arp_counts_out(f, retry):
                arpc[key] += 1
        stack.transmit(iface, bytes(f))


# ---------------------------------------------------------------------- another forwarder
def install_forwarder(stack: StackParts, forwarder: Forwarder) -> None:
    """`Stack.set_forwarder`: `forwarder` decides every datagram the router receives, and is
    given every route of the table now."""
    if not stack.forwarding:
        raise UsageError(f"forwarder: {stack.name} is not a router (made with "
                         "forwarding=False)")
    stack.forwarder = forwarder
    stack._own_forwarder = False
    for route in stack.routes:
        forwarder.add_route(route.network.network_address, route.network.prefixlen,
                            route.interface, route.gateway)


def forward(stack: ForwardingParts, pkt: IPv4Packet, raw: bytes, now: float) -> None:
    """A datagram not for the router: the forwarder decides."""
    apply(stack, pkt, stack.forwarder.route(raw[:pkt.total_length], False), now)


def delivers(stack: ForwardingParts, pkt: IPv4Packet, data: bytes, now: float) -> bool:
    """Whether the forwarder lets a datagram to the router be delivered (netsim's own always
    does: RFC 1812 §5.2.3, local delivery decision); if not, its decision is carried out."""
    decision = stack.forwarder.route(data[:pkt.total_length], True)
    if decision.action != DELIVER:
        apply(stack, pkt, decision, now)
        return False
    return True


def apply(stack: ForwardingParts, pkt: IPv4Packet, decision: Any, now: float) -> None:
    """Carry out the forwarder's decision about `pkt` (a `Decision`; any other forwarder's
    answer is checked, field by field): send the datagram it gives (ARP, fragmenting to the
    interface's MTU) or drop with the ICMP error it names."""
    action = decision.action
    if action == FORWARD:
        out = stack.interfaces.get(decision.interface) \
            if isinstance(decision.interface, str) else None
        next_hop = decision.next_hop
        raw = decision.datagram
        if out is None or not isinstance(next_hop, IPv4Address) or \
                not isinstance(raw, bytes) or len(raw) < 20:
            stack.drop("ipv4", "bad_decision", f"forward on {decision.interface!r:.40}")
            return
        stack._send_forwarded(pkt, out, next_hop, raw, now)
    elif action == DELIVER:  # a datagram not for us: nothing here to deliver it to
        stack.drop("ipv4", "not_for_us", str(pkt.dst))
    else:
        reason = decision.reason if isinstance(decision.reason, str) else ""
        reason = "".join(c for c in reason[:40] if c.isalnum() or c == "_") or "dropped"
        stack.drop("ipv4", reason, str(pkt.dst))
        icmp = decision.icmp
        if icmp is not None:
            if isinstance(icmp, tuple | list) and len(icmp) == 2 and \
                    all(type(x) is int and 0 <= x <= 255 for x in icmp):
                stack.icmp_error(pkt, icmp[0], icmp[1], now)
            else:
                stack.drop("icmp", "bad_decision", repr(icmp)[:40])


__all__ = ["ForwardingParts", "StackParts", "apply", "delivers", "forward",
           "install_forwarder", "install_netif", "netif_input", "netif_output", "netif_tick"]
