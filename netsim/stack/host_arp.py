"""The first part of a `Stack` (netsim/stack/host.py): the state its parts share, Ethernet
output, ARP (RFC 826, RFC 1122 §2.3.2) and the housekeeping timer.

A Stack is four classes, each extending the one before (as a TCP connection's parts do,
netsim/stack/tcp/tcb.py):

    host_arp.ArpHost           the host's state; frames out; ARP in, requests, retries and
                               giving up; the timer of ARP, fragment reassembly and a
                               replaced link layer
    host_forward.ForwardingHost  a router's forwarding (RFC 1812 §5.3.1), fragmenting to the
                               outgoing MTU, and ICMP (RFC 792) in and out
    host_input.InputHost       frames and datagrams in (bytes, and LazyFrame objects)
    host.Stack                 configuration, datagrams and TCP segments out

Methods a part needs from a later one are declared here. A replaced link layer (assignment
08, ``Stack.set_netif``) is called through netsim/stack/seams.py, which is not compiled.
"""

from __future__ import annotations

from collections.abc import Callable
from ipaddress import IPv4Address
from typing import Final

from netsim.stack import seams
from netsim.stack.arp import Enqueue
from netsim.stack.counters import Counters, add_count, touch
from netsim.stack.events import DropRecord, Tracer
from netsim.stack.forwarding import Forwarder, Router
from netsim.stack.fragments import Reassembler
from netsim.stack.icmp import TokenBucket
from netsim.stack.interface import Interface
from netsim.stack.routing import RoutingTable
from netsim.stack.timers import INF, TimerQueue
from netsim.wire import icmp as icmpw
from netsim.wire.arp import OP_REPLY, OP_REQUEST, ArpPacket, parse_arp
from netsim.wire.errors import WireError
from netsim.wire.ethernet import ETHERTYPE_ARP, ETHERTYPE_IPV4, build_ethernet
from netsim.wire.ipv4 import IPv4Packet, parse_ipv4
from netsim.wire.lazyframe import LazyFrame
from netsim.wire.mac import BROADCAST, MacAddress

IcmpHandler = Callable[[IPv4Packet, icmpw.ICMPMessage, float], None]
IpHandler = Callable[[IPv4Packet, float], None]
# `frame` is a LazyFrame only on an interface whose port takes them (`Interface.lazy_frames`)
Transmit = Callable[[Interface, "bytes | LazyFrame"], None]

LIMITED_BROADCAST: Final = IPv4Address("255.255.255.255")


def _no_transmit(iface: Interface, frame: bytes | LazyFrame) -> None:
    raise RuntimeError("stack has no driver: set stack.transmit before sending")


class FrameDriver:
    """A driver that puts a stack's frames on its ports (netsim.node's Node is one) and has
    told the stack so (`ArpHost.use_driver`): the stack then calls the port's `send` the
    driver gave an interface (`Interface.port_send`), or else `send_frame`, directly, not
    through the callable `transmit` (while `transmit` is still the one the driver set)."""

    def send_frame(self, iface: Interface, frame: bytes | LazyFrame) -> None:
        raise NotImplementedError


class ArpHost:
    """A host's state, its Ethernet output and its ARP; see `netsim.stack.host.Stack`."""

    def __init__(self, name: str, forwarding: bool, trace: Tracer | None, default_ttl: int,
                 icmp_rate: float, icmp_burst: int) -> None:
        self.name = name
        self.forwarding = forwarding
        self.trace = trace
        self.default_ttl = default_ttl
        self.interfaces: dict[str, Interface] = {}
        self._by_ip: dict[IPv4Address, Interface] = {}
        # the last address found in `_by_ip` and the last found not in it (Stack.receive_lazy,
        # Stack.send_tcp): a frame's address is mostly the last one's, compared by identity
        # (the stack's addresses are interned) instead of hashed (a call per address).
        # `_by_ip` only grows; add_interface forgets the one not in it.
        self._ours: object = None
        self._not_ours: object = None
        # per interface, the last destination of a LazyFrame that came in there found neither
        # ours nor a broadcast address of that interface (Stack.receive_lazy: a router's);
        # add_interface forgets them
        self._routed: dict[Interface, object] = {}
        self.routes = RoutingTable()
        # the forwarding decision (a router's): netsim's own over `routes`, or another
        # installed by set_forwarder (assignment 09), which then decides every datagram
        self.forwarder: Forwarder = Router(self.routes)
        self._own_forwarder = True
        self.timers = TimerQueue()
        self.timer_at = INF  # TimerOwner for ARP retries/expiry and fragment timeouts
        self.counters = Counters()
        # What every frame counts is counted in the int fields below and added into the eth
        # and ipv4 counters (`_fold_counts`) just before anything reads or changes those:
        # whoever looks sees the same numbers at every moment (netsim.stack.counters).
        self._eth_rx = 0
        self._eth_tx = 0
        self._ip_rx = 0
        self._ip_tx = 0
        self._ip_delivered = 0
        # the LazyFrame paths' counts, each field for several keys (Stack.receive_lazy,
        # Stack.send_tcp): ipv4 rx and delivered; ipv4 rx, forwarded and eth tx; ipv4 and eth tx
        self._lazy_in = 0
        self._lazy_fwd = 0
        self._lazy_out = 0
        self.counters.fold_with(self._fold_counts, ("eth", "ipv4"))
        # the counters of the layers every packet updates, held directly (the same objects)
        self.eth_counts = self.counters["eth"]
        self.ipv4_counts = self.counters["ipv4"]
        self.tcp_counts = self.counters["tcp"]
        self.transmit: Transmit = _no_transmit
        self._driver: FrameDriver | None = None  # see `use_driver`
        self._driver_transmit: object = None
        self.reassembler = Reassembler()
        self.icmp_limiter = TokenBucket(icmp_rate, icmp_burst)
        self.icmp_handlers: list[IcmpHandler] = []
        # the datagrams of other IP protocols delivered here, by number (OSPF's 89)
        self.ip_protocols: dict[int, IpHandler] = {}
        # ICMP echo identifiers handed out to ping runs on this stack, so that two pings on
        # one host do not take each other's replies, and a seed gives the same run ("NS")
        self.next_echo_ident = 0x4E53
        self._ip_id = 0
        self.now = 0.0

    # ------------------------------------------------------------------ from later parts
    def icmp_error(self, about: IPv4Packet, type_: int, code: int, now: float, *,
                   next_hop_mtu: int = 0, arrived_as_broadcast: bool = False) -> bool:
        raise NotImplementedError  # host_forward.ForwardingHost

    def _ip_input(self, iface: Interface, frame: bytes, now: float, broadcast: bool) -> None:
        raise NotImplementedError  # host_input.InputHost

    def use_driver(self, driver: FrameDriver) -> None:
        """`driver` has set `transmit` (to a callable that does what its `send_frame` does):
        frames go to `send_frame` as long as `transmit` is not replaced."""
        self._driver = driver
        self._driver_transmit = self.transmit

    def _send_out(self, iface: Interface, frame: bytes | LazyFrame) -> None:
        """Put `frame` on `iface`'s port: `transmit(iface, frame)` (what the driver's
        `send_frame` does: the port's `send` it gave the interface, called directly; the
        LazyFrame paths of netsim.stack.host do this inline: a call less per frame)."""
        driver = self._driver
        if driver is not None and self.transmit is self._driver_transmit:
            send = iface.port_send
            if send is not None:
                send(frame)
            else:
                driver.send_frame(iface, frame)
        else:
            self.transmit(iface, frame)

    # ------------------------------------------------------------------ bookkeeping
    def _fold_counts(self) -> None:
        """Add the counts of the int fields into `eth_counts` and `ipv4_counts`."""
        n = self._eth_rx
        if n:
            self._eth_rx = 0
            add_count(self.eth_counts, "rx", n)
        n = self._eth_tx
        if n:
            self._eth_tx = 0
            add_count(self.eth_counts, "tx", n)
        n = self._ip_rx
        if n:
            self._ip_rx = 0
            add_count(self.ipv4_counts, "rx", n)
        n = self._ip_tx
        if n:
            self._ip_tx = 0
            add_count(self.ipv4_counts, "tx", n)
        n = self._ip_delivered
        if n:
            self._ip_delivered = 0
            add_count(self.ipv4_counts, "delivered", n)
        n = self._lazy_in
        if n:
            self._lazy_in = 0
            add_count(self.ipv4_counts, "rx", n)
            add_count(self.ipv4_counts, "delivered", n)
        n = self._lazy_fwd
        if n:
            self._lazy_fwd = 0
            add_count(self.ipv4_counts, "rx", n)
            add_count(self.ipv4_counts, "forwarded", n)
            add_count(self.eth_counts, "tx", n)
        n = self._lazy_out
        if n:
            self._lazy_out = 0
            add_count(self.ipv4_counts, "tx", n)
            add_count(self.eth_counts, "tx", n)

    def _touch(self, layer: str, key: str) -> None:
        """A field of the LazyFrame paths counts `key` of `layer` for the first time since a
        fold: where a counter would put the key in (the fields' keys, in their order)."""
        touch(self.counters[layer], key)

    def _count_eth_tx(self) -> None:
        n = self._eth_tx
        if not n:  # (the first since a fold: where a counter would put the key in)
            touch(self.eth_counts, "tx")
        self._eth_tx = n + 1

    def _count_ip_rx(self) -> None:
        n = self._ip_rx
        if not n:
            touch(self.ipv4_counts, "rx")
        self._ip_rx = n + 1

    def _count_ip_tx(self) -> None:
        n = self._ip_tx
        if not n:
            touch(self.ipv4_counts, "tx")
        self._ip_tx = n + 1

    def _count_ip_delivered(self) -> None:
        n = self._ip_delivered
        if not n:
            touch(self.ipv4_counts, "delivered")
        self._ip_delivered = n + 1

    def drop(self, layer: str, reason: str, detail: str = "") -> None:
        self.counters[layer]["drop." + reason] += 1
        if self.trace is not None:
            self.trace.record(DropRecord(self.now, self.name, layer, reason, detail))

    def bring_up(self, iface: Interface | str, now: float) -> None:
        """Mark an interface up and announce it with a gratuitous ARP request."""
        if isinstance(iface, str):
            iface = self.interfaces[iface]
        iface.up = True
        self.now = now
        self._send_arp(iface, ArpPacket(OP_REQUEST, iface.mac, iface.ip, MacAddress(bytes(6)),
                                        iface.ip), BROADCAST)
        self.counters["arp"]["tx_gratuitous"] += 1

    # ------------------------------------------------------------------ time
    def poll(self, now: float) -> None:
        """Run every timer due at `now`."""
        self.now = now
        self.timers.run(now)

    def next_deadline(self) -> float | None:
        d = self.timers.next_deadline()
        return None if d == INF else d

    def on_timer(self, now: float) -> None:
        for iface in self.interfaces.values():
            if iface.netif is not None:
                seams.netif_tick(self, iface, now)
                continue
            result = iface.arp.poll(now)
            for ip in result.requests:
                self._send_arp_request(iface, ip)
                self.counters["arp"]["retries"] += 1
            for ip, packets in result.failed:
                for raw in packets:
                    self.drop("arp", "unresolved", f"{ip} did not answer ARP")
                    self._arp_failed(raw, now)
        for key, first in self.reassembler.expire(now):
            self.drop("ipv4", "reassembly_timeout", f"{key[0]} id {key[3]}")
            if first is not None:
                # RFC 792: time exceeded, code 1, only when fragment zero has arrived
                self.icmp_error(first, icmpw.TIME_EXCEEDED, icmpw.REASSEMBLY_EXCEEDED, now)
        self._arm_housekeeping()

    def _arm_housekeeping(self) -> None:
        deadlines = [iface.arp.next_deadline() if iface.netif is None else
                     iface.netif.next_deadline() for iface in self.interfaces.values()]
        deadlines.append(self.reassembler.next_deadline())
        soon = min((d for d in deadlines if d is not None), default=None)
        if soon is not None:
            self.timers.ensure(self, soon)

    # ------------------------------------------------------------------ ARP in
    def _arp_input(self, iface: Interface, data: bytes, now: float) -> None:
        arpc = self.counters["arp"]
        try:
            pkt = parse_arp(data)
        except WireError as exc:
            self.drop("arp", "malformed", str(exc))
            return
        arpc["rx"] += 1
        # RFC 826 packet reception: merge if known; add if we are the target.
        for_us = pkt.target_ip == iface.ip
        if pkt.sender_ip == iface.ip:
            if pkt.sender_mac != iface.mac:
                self.drop("arp", "address_conflict", f"{pkt.sender_ip} is-at {pkt.sender_mac}")
            return
        if pkt.sender_ip.is_unspecified:
            waiting: list[bytes] = []  # an ARP probe (RFC 5227): nothing to learn
        else:
            waiting = iface.arp.update(pkt.sender_ip, pkt.sender_mac, now, create=for_us)
        for raw in waiting:
            self._send_frame(iface, pkt.sender_mac, ETHERTYPE_IPV4, raw)
        if for_us and pkt.op == OP_REQUEST:
            arpc["rx_request"] += 1
            reply = ArpPacket(OP_REPLY, iface.mac, iface.ip, pkt.sender_mac, pkt.sender_ip)
            self._send_arp(iface, reply, pkt.sender_mac)
        elif pkt.op == OP_REPLY:
            arpc["rx_reply"] += 1
        self._arm_housekeeping()

    # ------------------------------------------------------------------ out
    def _ip_out(self, iface: Interface, next_hop: IPv4Address, raw: bytes, now: float) -> None:
        if iface.netif is not None:
            seams.netif_output(self, iface, next_hop, raw, now)
            return
        mac = iface.arp.lookup(next_hop, now)
        if mac is not None:
            self._send_frame(iface, mac, ETHERTYPE_IPV4, raw)
            return
        if next_hop == LIMITED_BROADCAST or next_hop == iface.broadcast:
            self._send_frame(iface, BROADCAST, ETHERTYPE_IPV4, raw)
            return
        outcome = iface.arp.enqueue(next_hop, raw, now)
        if outcome is Enqueue.SEND_REQUEST:
            self._send_arp_request(iface, next_hop)
            self._arm_housekeeping()
        elif outcome is Enqueue.DROPPED:
            # (the detail only for a trace: under a SYN flood from spoofed on-link addresses
            # this runs once per SYN-ACK)
            self.drop("arp", "pending_overflow", "" if self.trace is None else str(next_hop))

    def _send_frame(self, iface: Interface, dst: bytes, ethertype: int, payload: bytes) -> None:
        self._count_eth_tx()
        self._send_out(iface, build_ethernet(dst, iface.mac, ethertype, payload, mtu=65535))

    def _send_arp_request(self, iface: Interface, ip: IPv4Address) -> None:
        self.counters["arp"]["tx_request"] += 1
        self._send_arp(iface, ArpPacket.request(iface.mac, iface.ip, ip), BROADCAST)

    def _send_arp(self, iface: Interface, pkt: ArpPacket, dst: bytes) -> None:
        self.counters["arp"]["tx"] += 1
        self._send_frame(iface, dst, ETHERTYPE_ARP, pkt.build())

    def _arp_failed(self, raw: bytes, now: float) -> None:
        """ARP gave up on a next hop: tell the sender the host is unreachable (RFC 1122
        §2.3.2.2). A local sender gets the error looped back, like Linux's EHOSTUNREACH."""
        try:
            pkt = parse_ipv4(raw, verify_checksum=False)
        except WireError:
            return
        self.icmp_error(pkt, icmpw.DEST_UNREACHABLE, icmpw.UNREACH_HOST, now)


__all__ = ["LIMITED_BROADCAST", "ArpHost", "FrameDriver", "IcmpHandler", "IpHandler", "Transmit"]
