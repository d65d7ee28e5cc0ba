"""ICMP in the stack: the echo responder, RFC 1122 §3.2.2's rules on when not to send an error,
and the error rate limit — driven sans-I/O with hand-made frames."""

from __future__ import annotations

from ipaddress import IPv4Address

import pytest

from netsim.stack.host import Stack
from netsim.wire import icmp as icmpw
from netsim.wire.arp import ArpPacket
from netsim.wire.ethernet import ETHERTYPE_ARP, ETHERTYPE_IPV4, build_ethernet
from netsim.wire.ipv4 import PROTO_ICMP, PROTO_UDP, IPv4Packet, build_ipv4, parse_ipv4
from netsim.wire.mac import BROADCAST, MacAddress
from netsim.wire.udp import build_udp

A = IPv4Address
ME, PEER, FAR = A("10.0.0.2"), A("10.0.0.1"), A("10.0.1.2")
MY_MAC, PEER_MAC, FAR_MAC = MacAddress.local(2), MacAddress.local(1), MacAddress.local(3)


class Node:
    """A stack with eth0 10.0.0.2/24 (and, as a router, eth1 10.0.1.1/24); neighbours known."""

    def __init__(self, forwarding: bool = False, **kw: object) -> None:
        self.stack = Stack("n", forwarding=forwarding, **kw)  # type: ignore[arg-type]
        self.stack.add_interface("eth0", MY_MAC, "10.0.0.2/24")
        self.sent: list[bytes] = []
        self.stack.transmit = lambda iface, frame: self.sent.append(frame)
        self._learn("eth0", PEER_MAC, PEER, ME)
        if forwarding:
            self.stack.add_interface("eth1", MacAddress.local(4), "10.0.1.1/24")
            self._learn("eth1", FAR_MAC, FAR, A("10.0.1.1"))
        self.sent.clear()

    def _learn(self, ifname: str, mac: MacAddress, ip: IPv4Address, me: IPv4Address) -> None:
        req = ArpPacket.request(mac, ip, me)
        self.stack.receive(ifname, build_ethernet(BROADCAST, mac, ETHERTYPE_ARP, req.build()),
                           0.0)

    def feed(self, raw_ip: bytes, now: float = 1.0, broadcast: bool = False) -> None:
        dst = BROADCAST if broadcast else MY_MAC
        self.stack.receive("eth0", build_ethernet(dst, PEER_MAC, ETHERTYPE_IPV4, raw_ip), now)

    def replies(self) -> list[tuple[IPv4Packet, icmpw.ICMPMessage]]:
        out = []
        for frame in self.sent:
            pkt = parse_ipv4(frame[14:])
            if pkt.protocol == PROTO_ICMP:
                out.append((pkt, icmpw.parse_icmp(pkt.payload)))
        self.sent.clear()
        return out


def _udp(dst: IPv4Address = ME, port: int = 9, src: IPv4Address = PEER, **kw: object) -> bytes:
    return build_ipv4(src, dst, PROTO_UDP, build_udp(src, dst, 4000, port, b"data"),
                      **kw)  # type: ignore[arg-type]


def test_echo_request_gets_a_reply_with_the_same_identifier_sequence_and_data() -> None:
    n = Node()
    data = bytes(range(56))
    req = icmpw.echo(icmpw.ECHO_REQUEST, 0x1234, 7, data).build()
    n.feed(build_ipv4(PEER, ME, PROTO_ICMP, req, ttl=5))
    ((pkt, msg),) = n.replies()
    assert (pkt.src, pkt.dst, pkt.ttl) == (ME, PEER, 64)
    assert (msg.type, msg.identifier, msg.sequence, msg.payload) == (
        icmpw.ECHO_REPLY, 0x1234, 7, data)
    assert n.stack.counters["icmp"]["tx_echo_reply"] == 1


def test_echo_request_to_a_broadcast_address_is_ignored() -> None:
    n = Node()
    req = icmpw.echo(icmpw.ECHO_REQUEST, 1, 1).build()
    n.feed(build_ipv4(PEER, A("10.0.0.255"), PROTO_ICMP, req), broadcast=True)
    assert n.replies() == []
    assert n.stack.counters.drops() == {"icmp.echo_to_broadcast": 1}


def test_a_damaged_icmp_message_is_dropped_as_a_checksum_error() -> None:
    n = Node()
    req = bytearray(icmpw.echo(icmpw.ECHO_REQUEST, 1, 1, b"abcd").build())
    req[-1] ^= 1
    n.feed(build_ipv4(PEER, ME, PROTO_ICMP, bytes(req)))
    assert n.replies() == []
    assert n.stack.counters.drops() == {"icmp.checksum": 1}


def test_closed_port_answers_port_unreachable_quoting_the_datagram() -> None:
    n = Node()
    original = _udp()
    n.feed(original)
    ((pkt, msg),) = n.replies()
    assert pkt.dst == PEER
    assert (msg.type, msg.code) == (icmpw.DEST_UNREACHABLE, icmpw.UNREACH_PORT)
    # RFC 792: the IP header plus the first 8 bytes of the datagram
    assert msg.payload == original[:28]


def test_unknown_protocol_answers_protocol_unreachable() -> None:
    n = Node()
    n.feed(build_ipv4(PEER, ME, 99, b"whatever"))
    ((_, msg),) = n.replies()
    assert (msg.type, msg.code) == (icmpw.DEST_UNREACHABLE, icmpw.UNREACH_PROTOCOL)


def test_no_error_about_an_icmp_error() -> None:
    router = Node(forwarding=True)
    inner = _udp(dst=FAR)
    err = icmpw.error(icmpw.DEST_UNREACHABLE, icmpw.UNREACH_PORT, inner).build()
    router.feed(build_ipv4(PEER, FAR, PROTO_ICMP, err, ttl=1))  # would expire here
    assert router.replies() == []
    assert router.stack.counters["icmp"]["error_suppressed"] == 1
    # ...while an expiring echo request does get one
    echo = icmpw.echo(icmpw.ECHO_REQUEST, 1, 1).build()
    router.feed(build_ipv4(PEER, FAR, PROTO_ICMP, echo, ttl=1))
    assert [m.type for _, m in router.replies()] == [icmpw.TIME_EXCEEDED]


def test_no_error_about_a_datagram_sent_to_a_broadcast() -> None:
    n = Node()
    n.feed(_udp(dst=A("10.0.0.255")), broadcast=True)
    n.feed(_udp(dst=A("255.255.255.255")), broadcast=True)
    n.feed(_udp(dst=ME), broadcast=True)  # a unicast address in a link broadcast frame
    assert n.replies() == []
    assert n.stack.counters["icmp"]["error_suppressed"] == 3
    assert n.stack.counters.drops()["udp.port_unreachable"] == 3


def test_no_error_about_a_non_first_fragment() -> None:
    router = Node(forwarding=True)
    router.feed(build_ipv4(PEER, FAR, PROTO_UDP, bytes(16), ttl=1, fragment_offset=8))
    assert router.replies() == []
    router.feed(build_ipv4(PEER, FAR, PROTO_UDP, bytes(16), ttl=1, mf=True))  # the first one
    assert [m.type for _, m in router.replies()] == [icmpw.TIME_EXCEEDED]


def test_no_error_about_a_datagram_without_a_single_host_source() -> None:
    n = Node()
    n.feed(_udp(src=A("0.0.0.0")))
    n.feed(_udp(src=A("224.0.0.1")))
    assert n.replies() == []


@pytest.mark.parametrize(("rate", "burst"), [(100.0, 50), (10.0, 5)])
def test_icmp_errors_are_rate_limited_to_a_burst_then_the_rate(rate: float, burst: int) -> None:
    n = Node(icmp_rate=rate, icmp_burst=burst)
    for _ in range(200):
        n.feed(_udp(), now=1.0)
    assert len(n.replies()) == burst
    # a steady flood of 1000 datagrams/s for 2 s: the bucket refills at `rate` per second
    sent = 0
    for k in range(1, 2001):
        n.feed(_udp(), now=1.0 + k / 1000)
        sent += len(n.replies())
    assert sent == pytest.approx(2 * rate, abs=1)
    assert n.stack.counters.drops()["icmp.rate_limited"] == 200 + 2000 - burst - sent


def test_echo_replies_are_not_rate_limited() -> None:
    n = Node(icmp_rate=1.0, icmp_burst=1)
    for seq in range(100):
        n.feed(build_ipv4(PEER, ME, PROTO_ICMP, icmpw.echo(icmpw.ECHO_REQUEST, 1, seq).build()))
    assert len(n.replies()) == 100
