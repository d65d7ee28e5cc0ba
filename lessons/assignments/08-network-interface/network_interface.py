"""Assignment 08: the network interface — Ethernet framing (RFC 894) and ARP (RFC 826) for one
interface, on top of assignment 05's ARP cache.

The stack (netsim/stack/seams.py) hands this class every datagram it sends on the interface and
every frame that arrives there, and transmits the frames you return:

  - send_datagram(datagram, next_hop, now): the frames to send now;
  - recv_frame(frame, now): Received(datagram for IPv4 or None, frames to send);
  - tick(now), called at next_deadline(): Ticked(frames to send, datagrams given up on).

Fill in the TODOs. Grade your work with

    netsim grade 08-network-interface network_interface.py
"""

from __future__ import annotations

from ipaddress import IPv4Address

from netsim.stack.arp import ArpTable, Enqueue
from netsim.stack.netif import Received, Ticked
from netsim.wire.arp import OP_REPLY, OP_REQUEST, ArpPacket, parse_arp
from netsim.wire.mac import BROADCAST, MacAddress

__all__ = ["OP_REPLY", "OP_REQUEST", "ArpPacket", "BROADCAST", "Enqueue", "NetworkInterface",
           "Received", "Ticked", "parse_arp"]


class NetworkInterface:
    """`mac` and `ip` are this interface's addresses; the other arguments are the ARP cache's
    (assignment 05: netsim's ArpTable here, or put your own)."""

    def __init__(self, mac: MacAddress, ip: IPv4Address, timeout: float = 60.0,
                 retries: int = 3, retry_interval: float = 1.0,
                 max_pending: int = 256) -> None:
        self.mac = mac
        self.ip = ip
        self.arp = ArpTable(timeout, retries, retry_interval, max_pending)

    def send_datagram(self, datagram: bytes, next_hop: IPv4Address, now: float) -> list[bytes]:
        """The frames to send for `datagram` to `next_hop`: the datagram in a frame to the
        next hop's MAC if the cache knows it; else the datagram waits in the cache, and an
        ARP request goes out if it is the first for that address."""
        raise NotImplementedError("TODO: NetworkInterface.send_datagram")

    def recv_frame(self, frame: bytes, now: float) -> Received:
        """A frame arrived. Only frames to our MAC or to broadcast count. IPv4: its datagram
        goes up. ARP: learn the sender (RFC 826: always if the message is for us, else only
        if known), send what was waiting for it, and answer a request for our address."""
        raise NotImplementedError("TODO: NetworkInterface.recv_frame")

    def tick(self, now: float) -> Ticked:
        """Called at next_deadline(): the requests to send again and the datagrams of
        resolutions that failed."""
        raise NotImplementedError("TODO: NetworkInterface.tick")

    def next_deadline(self) -> float | None:
        """When tick() next has something to do, or None."""
        raise NotImplementedError("TODO: NetworkInterface.next_deadline")
