"""parse_arp's error is not caught: an ARP frame cut short or with another hardware type
raises out of recv_frame (and the stack, which does not catch it, would crash on one frame
from the wire) instead of being dropped.

Category: missing check
RFC: RFC 826 (a message that is not Ethernet/IPv4 ARP is not ours to answer); netsim's rule:
bad input is a drop, never a crash
Observable: raised
Expect: malformed ARP message is dropped
"""

from __future__ import annotations

from ipaddress import IPv4Address

from netsim.stack.arp import ArpTable, Enqueue
from netsim.stack.netif import Received, Ticked
from netsim.wire.arp import OP_REPLY, OP_REQUEST, ArpPacket, parse_arp
from netsim.wire.mac import BROADCAST, MacAddress

TYPE_IPV4 = b"\x08\x00"
TYPE_ARP = b"\x08\x06"


class NetworkInterface:
    def __init__(self, mac: MacAddress, ip: IPv4Address, timeout: float = 60.0,
                 retries: int = 3, retry_interval: float = 1.0,
                 max_pending: int = 256) -> None:
        self.mac = mac
        self.ip = ip
        self.arp = ArpTable(timeout, retries, retry_interval, max_pending)

    def frame(self, dst: bytes, ethertype: bytes, payload: bytes) -> bytes:
        return bytes(dst) + bytes(self.mac) + ethertype + payload

    def request(self, target: IPv4Address) -> bytes:
        arp = ArpPacket(OP_REQUEST, self.mac, self.ip, MacAddress(bytes(6)), target)
        return self.frame(BROADCAST, TYPE_ARP, arp.build())

    def send_datagram(self, datagram: bytes, next_hop: IPv4Address, now: float) -> list[bytes]:
        mac = self.arp.lookup(next_hop, now)
        if mac is not None:
            return [self.frame(mac, TYPE_IPV4, datagram)]
        if self.arp.enqueue(next_hop, datagram, now) == Enqueue.SEND_REQUEST:
            return [self.request(next_hop)]
        return []

    def recv_frame(self, frame: bytes, now: float) -> Received:
        if len(frame) < 14:
            return Received(None, [])
        dst, ethertype = frame[0:6], frame[12:14]
        if dst != bytes(self.mac) and dst != BROADCAST:
            return Received(None, [])
        if ethertype == TYPE_IPV4:
            return Received(frame[14:], [])
        if ethertype != TYPE_ARP:
            return Received(None, [])
        msg = parse_arp(frame[14:])
        if msg.sender_ip == self.ip:
            return Received(None, [])
        for_us = msg.target_ip == self.ip
        out = []
        if not msg.sender_ip.is_unspecified:
            for datagram in self.arp.update(msg.sender_ip, msg.sender_mac, now, create=for_us):
                out.append(self.frame(msg.sender_mac, TYPE_IPV4, datagram))
        if for_us and msg.op == OP_REQUEST:
            answer = ArpPacket(OP_REPLY, self.mac, self.ip, msg.sender_mac, msg.sender_ip)
            out.append(self.frame(msg.sender_mac, TYPE_ARP, answer.build()))
        return Received(None, out)

    def tick(self, now: float) -> Ticked:
        due = self.arp.poll(now)
        failed = []
        for _, datagrams in due.failed:
            failed.extend(datagrams)
        return Ticked([self.request(ip) for ip in due.requests], failed)

    def next_deadline(self) -> float | None:
        return self.arp.next_deadline()
