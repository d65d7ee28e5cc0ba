"""Small helpers for driving queue disciplines by hand in tests/test_qdisc_*.py."""

from __future__ import annotations

import random
from ipaddress import IPv4Address

from netsim.link.qdisc.base import Packet, QueueDisc
from netsim.link.qdisc.ecn import NOT_ECT
from netsim.wire.ethernet import build_ethernet
from netsim.wire.ipv4 import PROTO_UDP, build_ipv4
from netsim.wire.udp import build_udp


def udp_frame(sport: int = 1000, dport: int = 2000, size: int = 1514, ecn: int = NOT_ECT,
              src: str = "10.0.0.1", dst: str = "10.0.0.2") -> bytes:
    """An Ethernet frame of ``size`` bytes carrying a UDP datagram, with the given ECN bits."""
    a, b = IPv4Address(src), IPv4Address(dst)
    udp = build_udp(a, b, sport, dport, bytes(size - 14 - 20 - 8))
    ip = build_ipv4(a, b, PROTO_UDP, udp, ecn=ecn)
    return build_ethernet(b"\x02" * 6, b"\x02\x00\x00\x00\x00\x01", 0x0800, ip)


class Driver:
    """A queue discipline with a hand-moved clock; records what it drops."""

    def __init__(self, qdisc: QueueDisc, mtu: int = 1500) -> None:
        self.qdisc = qdisc
        self.dropped: list[tuple[float, Packet, str]] = []
        self.now = 0.0
        self.index = 0
        qdisc.bind(rng=random.Random(1), rate_bps=10e6, mtu=mtu, on_drop=self._drop)

    def _drop(self, pkt: Packet, reason: str) -> None:
        self.dropped.append((self.now, pkt, reason))

    def enqueue(self, frame: bytes, at: float | None = None) -> Packet:
        if at is not None:
            self.now = at
        pkt = Packet(frame, len(frame), self.now, self.index)
        self.index += 1
        self.qdisc.enqueue(pkt, self.now)
        return pkt

    def dequeue(self, at: float | None = None) -> Packet | None:
        if at is not None:
            self.now = at
        return self.qdisc.dequeue(self.now)
