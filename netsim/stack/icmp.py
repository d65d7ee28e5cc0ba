"""ICMP error policy: when the stack may send an error (RFC 1122 §3.2.2) and how often."""

from __future__ import annotations

from ipaddress import IPv4Address

from netsim.wire import icmp as icmpw
from netsim.wire.ipv4 import PROTO_ICMP, IPv4Packet


def may_send_error_about(pkt: IPv4Packet, arrived_as_broadcast: bool = False) -> bool:
    """RFC 1122 §3.2.2: an ICMP error MUST NOT be sent in response to
    - an ICMP error message,
    - a datagram destined to an IP broadcast or multicast address, or sent as a link broadcast,
    - a non-initial fragment,
    - a datagram whose source is not a single host (zero, broadcast, multicast, loopback)."""
    if pkt.fragment_offset != 0:
        return False
    if arrived_as_broadcast:
        return False
    dst, src = pkt.dst, pkt.src
    if dst.is_multicast or dst == IPv4Address("255.255.255.255"):
        return False
    if src.is_unspecified or src.is_multicast or src.is_loopback or \
            src == IPv4Address("255.255.255.255"):
        return False
    if pkt.protocol == PROTO_ICMP and len(pkt.payload) >= 1:
        if pkt.payload[0] in icmpw.ERROR_TYPES:
            return False
    return True


class TokenBucket:
    """Rate limit for ICMP errors (RFC 1812 §4.3.2.8, RFC 1122 §3.2.2): `rate` per second
    with bursts of up to `burst`."""

    def __init__(self, rate: float = 100.0, burst: int = 50) -> None:
        self.rate = rate
        self.burst = burst
        self._tokens = float(burst)
        self._last = 0.0

    def take(self, now: float) -> bool:
        self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
        self._last = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False
