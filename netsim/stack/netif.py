"""An interface's link layer, Ethernet framing and ARP for IPv4 (RFC 826, RFC 894): the seam
assignment 08 replaces.

`NetworkInterface` is the interface, in the style of CS144's: a datagram to send to a next
hop becomes frames to transmit (the datagram framed for the next hop's MAC, or an ARP request
while the datagram waits); a received frame becomes a datagram for IPv4 and/or frames to
transmit (an ARP reply, datagrams that were waiting); the passage of time becomes ARP retries
and datagrams given up on. The neighbour cache with its expiry, pending queue and retries is
assignment 05's `ArpCache` (netsim/stack/arp.py), which an implementation is given.

`EthernetArp` is netsim's implementation. By default a `Stack` does this work itself, on its
fast path (netsim/stack/host_arp.py: `_ip_out`, `_arp_input`, `on_timer`); ``Stack.set_netif``
installs an implementation on one interface, which then handles every frame and datagram
there, called from netsim/stack/seams.py (frames sent as `EthernetArp` sends them are byte for
byte the stack's own). The stack's ``arp`` counters still count: from the frames that cross
the seam (`arp_counts_in`, `arp_counts_out`) and the datagrams `tick` gives up on. Only a
datagram the implementation drops itself (its pending queue full) is not counted: nothing
about it crosses the seam.
"""

from __future__ import annotations

from ipaddress import IPv4Address
from typing import NamedTuple, Protocol

from netsim.stack.arp import ArpCache, ArpTable, Enqueue
from netsim.wire.arp import OP_REPLY, OP_REQUEST, ArpPacket, parse_arp
from netsim.wire.errors import WireError
from netsim.wire.ethernet import ETHERTYPE_ARP, ETHERTYPE_IPV4, build_ethernet
from netsim.wire.mac import BROADCAST, MacAddress

_IPV4 = ETHERTYPE_IPV4.to_bytes(2, "big")
_ARP = ETHERTYPE_ARP.to_bytes(2, "big")


class Received(NamedTuple):
    """What a received frame gives: a datagram for IPv4 (or None), frames to transmit."""

    datagram: bytes | None
    frames: list[bytes]


class Ticked(NamedTuple):
    """What the passage of time gives: frames to transmit (ARP retries) and the datagrams of
    resolutions that failed (the stack drops them and reports host unreachable)."""

    frames: list[bytes]
    failed: list[bytes]


class NetworkInterface(Protocol):
    def send_datagram(self, datagram: bytes, next_hop: IPv4Address, now: float) -> list[bytes]:
        """The frames to transmit for `datagram` to `next_hop` (an address on this link)."""
        ...

    def recv_frame(self, frame: bytes, now: float) -> Received:
        """A frame arrived: the datagram for IPv4 it carries (if it is one, for us) and the
        frames to transmit in answer."""
        ...

    def tick(self, now: float) -> Ticked:
        """Called at next_deadline()."""
        ...

    def next_deadline(self) -> float | None:
        """When tick() next has work, or None."""
        ...


class EthernetArp:
    """netsim's link layer of one interface: `mac`, `ip`, and its ARP cache `arp` (without
    one, an `ArpTable` with the other arguments: the constructor of assignment 08)."""

    def __init__(self, mac: MacAddress, ip: IPv4Address, arp: ArpCache | None = None, *,
                 timeout: float = 60.0, retries: int = 3, retry_interval: float = 1.0,
                 max_pending: int = 256) -> None:
        self.mac = MacAddress(mac)
        self.ip = ip
        self.arp: ArpCache = arp if arp is not None else \
            ArpTable(timeout, retries, retry_interval, max_pending)

    def _frame(self, dst: bytes, ethertype: int, payload: bytes) -> bytes:
        return build_ethernet(dst, self.mac, ethertype, payload, mtu=65535)

    def _request(self, ip: IPv4Address) -> bytes:
        return self._frame(BROADCAST, ETHERTYPE_ARP, ArpPacket.request(self.mac, self.ip,
                                                                       ip).build())

    def send_datagram(self, datagram: bytes, next_hop: IPv4Address, now: float) -> list[bytes]:
        mac = self.arp.lookup(next_hop, now)
        if mac is not None:
            return [self._frame(mac, ETHERTYPE_IPV4, datagram)]
        # RFC 1122 §2.3.2.2 (ARP packet queue): hold the datagram; one request per resolution
        if self.arp.enqueue(next_hop, datagram, now) is Enqueue.SEND_REQUEST:
            return [self._request(next_hop)]
        return []

    def recv_frame(self, frame: bytes, now: float) -> Received:
        dst = frame[0:6]
        if len(frame) < 14 or dst != self.mac and dst != BROADCAST:
            return Received(None, [])
        ethertype = frame[12:14]
        if ethertype == _IPV4:
            return Received(frame[14:], [])
        if ethertype != _ARP:
            return Received(None, [])
        try:
            pkt = parse_arp(frame[14:])
        except WireError:
            return Received(None, [])
        # RFC 826 packet reception: merge if known; add if we are the target.
        if pkt.sender_ip == self.ip:
            return Received(None, [])  # our own address from another host: a conflict
        for_us = pkt.target_ip == self.ip
        waiting: list[bytes] = []
        if not pkt.sender_ip.is_unspecified:  # an ARP probe (RFC 5227): nothing to learn
            waiting = self.arp.update(pkt.sender_ip, pkt.sender_mac, now, create=for_us)
        frames = [self._frame(pkt.sender_mac, ETHERTYPE_IPV4, raw) for raw in waiting]
        if for_us and pkt.op == OP_REQUEST:
            reply = ArpPacket(OP_REPLY, self.mac, self.ip, pkt.sender_mac, pkt.sender_ip)
            frames.append(self._frame(pkt.sender_mac, ETHERTYPE_ARP, reply.build()))
        return Received(None, frames)

    def tick(self, now: float) -> Ticked:
        result = self.arp.poll(now)
        return Ticked([self._request(ip) for ip in result.requests],
                      [raw for _, packets in result.failed for raw in packets])

    def next_deadline(self) -> float | None:
        return self.arp.next_deadline()


def arp_counts_in(frame: bytes, ip: IPv4Address, mac: bytes) -> list[str]:
    """The stack's ``arp`` counters a received frame moves, as the stack's own ARP input
    counts them (netsim/stack/host_arp.py, `_arp_input`): with `set_netif` the frame goes to
    another implementation, and the stack counts what it sees cross the seam. Not an ARP
    frame for us: nothing."""
    dst = frame[0:6]
    if len(frame) < 14 or frame[12:14] != _ARP or dst != mac and dst != BROADCAST:
        return []
    try:
        pkt = parse_arp(frame[14:])
    except WireError:
        return ["drop.malformed"]
    if pkt.sender_ip == ip:  # our own address from another host: a conflict (RFC 5227 §2.4)
        return ["rx"] if pkt.sender_mac == mac else ["rx", "drop.address_conflict"]
    if pkt.target_ip == ip and pkt.op == OP_REQUEST:
        return ["rx", "rx_request"]
    return ["rx", "rx_reply"] if pkt.op == OP_REPLY else ["rx"]


def arp_counts_out(frame: bytes, retry: bool) -> list[str]:
    """The ``arp`` counters a frame sent moves (as the stack's own `_send_arp` and
    `on_timer` count): every ARP message, its requests, and those sent by `tick` as
    retries."""
    if len(frame) < 22 or frame[12:14] != _ARP:
        return []
    if frame[20:22] != OP_REQUEST.to_bytes(2, "big"):
        return ["tx"]
    return ["tx", "tx_request", "retries"] if retry else ["tx", "tx_request"]


__all__ = ["EthernetArp", "NetworkInterface", "Received", "Ticked", "arp_counts_in",
           "arp_counts_out"]
