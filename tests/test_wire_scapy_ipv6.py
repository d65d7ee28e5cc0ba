"""IPv6, ICMPv6 and neighbour discovery checked against scapy, both ways (as
tests/test_wire_scapy.py does for IPv4): netsim builds and scapy reads every field and
recomputes every checksum; scapy builds and netsim reads (checksums verified by netsim)."""

from __future__ import annotations

import logging
import random
from collections.abc import Iterator
from ipaddress import IPv6Address
from typing import Any

import pytest

logging.getLogger("scapy").setLevel(logging.ERROR)
pytest.importorskip("scapy")

from scapy.layers.inet import UDP  # noqa: E402
from scapy.layers.inet6 import (  # noqa: E402
    ICMPv6DestUnreach,
    ICMPv6EchoReply,
    ICMPv6EchoRequest,
    ICMPv6ND_NA,
    ICMPv6ND_NS,
    ICMPv6ND_RA,
    ICMPv6ND_RS,
    ICMPv6NDOptDstLLAddr,
    ICMPv6NDOptMTU,
    ICMPv6NDOptPrefixInfo,
    ICMPv6NDOptSrcLLAddr,
    ICMPv6PacketTooBig,
    ICMPv6ParamProblem,
    ICMPv6TimeExceeded,
    IPv6,
    IPv6ExtHdrDestOpt,
    IPv6ExtHdrFragment,
    IPv6ExtHdrHopByHop,
    IPv6ExtHdrRouting,
)
from scapy.layers.l2 import Ether  # noqa: E402
from scapy.packet import Raw  # noqa: E402

from netsim.wire import icmpv6, nd  # noqa: E402
from netsim.wire.ethernet import ETHERTYPE_IPV6, build_ethernet  # noqa: E402
from netsim.wire.icmpv6 import parse_icmpv6  # noqa: E402
from netsim.wire.ipv6 import (  # noqa: E402
    NH_DSTOPTS,
    NH_FRAGMENT,
    NH_HOPOPTS,
    NH_ICMPV6,
    NH_ROUTING,
    NH_UDP,
    build_ipv6,
    fragment_header,
    options_header,
    parse_ipv6,
    routing_header,
)
from netsim.wire.mac import MacAddress  # noqa: E402
from netsim.wire.udp import build_udp, parse_udp  # noqa: E402

N = 200


def rngs(name: str) -> Iterator[random.Random]:
    rng = random.Random(f"netsim-scapy-ipv6-{name}")
    for _ in range(N):
        yield rng


def rand_ip6(rng: random.Random) -> IPv6Address:
    return IPv6Address(rng.getrandbits(128))


def rand_mac(rng: random.Random) -> MacAddress:
    return MacAddress(rng.randbytes(6))


def rechecked(pkt: Any, layer: Any, field: str = "cksum") -> int:
    copy = pkt.copy()
    delattr(copy[layer], field)
    return int(pkt.__class__(bytes(copy))[layer].getfieldval(field))


def test_ipv6_with_extension_headers_netsim_builds_scapy_reads() -> None:
    for rng in rngs("ext-out"):
        src, dst = rand_ip6(rng), rand_ip6(rng)
        kinds = [rng.choice([NH_HOPOPTS, NH_ROUTING, NH_FRAGMENT, NH_DSTOPTS])
                 for _ in range(rng.randrange(4))]
        if NH_HOPOPTS in kinds:  # RFC 8200 §4.1: only first; scapy dissects it anywhere
            kinds = [NH_HOPOPTS] + [k for k in kinds if k != NH_HOPOPTS]
        payload = rng.randbytes(rng.randrange(30))
        body, nh = build_udp(src, dst, 1000, 2000, payload), NH_UDP
        for kind in reversed(kinds):
            if kind == NH_FRAGMENT:
                head = fragment_header(nh, 0, False, rng.getrandbits(32))
            elif kind == NH_ROUTING:
                head = routing_header(nh, rng.choice([0, 253]), 0, bytes(4))
            else:
                head = options_header(nh, [(rng.choice([0x1E, 0x3E]), rng.randbytes(3))])
            body, nh = head + body, kind
        hlim, tc, fl = rng.randrange(256), rng.randrange(256), rng.getrandbits(20)
        frame = build_ethernet(rand_mac(rng), rand_mac(rng), ETHERTYPE_IPV6,
                               build_ipv6(src, dst, nh, body, hop_limit=hlim, traffic_class=tc,
                                          flow_label=fl))
        s = Ether(frame)
        ip = s[IPv6]
        assert (ip.src, ip.dst, ip.hlim, ip.tc, ip.fl, ip.nh) == (str(src), str(dst), hlim, tc,
                                                                   fl, nh)
        assert ip.plen == len(body)
        layers = {NH_HOPOPTS: IPv6ExtHdrHopByHop, NH_ROUTING: IPv6ExtHdrRouting,
                  NH_FRAGMENT: IPv6ExtHdrFragment, NH_DSTOPTS: IPv6ExtHdrDestOpt}
        for kind in kinds:
            assert layers[kind] in s
        u = s[UDP]
        assert (u.sport, u.dport, bytes(u.payload)) == (1000, 2000, payload)
        assert u.chksum == rechecked(s, UDP, "chksum")


def test_ipv6_scapy_builds_netsim_reads() -> None:
    for rng in rngs("ext-in"):
        src, dst = rand_ip6(rng), rand_ip6(rng)
        payload = rng.randbytes(rng.randrange(30))
        s = (IPv6(src=str(src), dst=str(dst), hlim=rng.randrange(256))
             / IPv6ExtHdrHopByHop() / IPv6ExtHdrDestOpt()
             / IPv6ExtHdrFragment(id=rng.getrandbits(32)) / UDP(sport=7, dport=9)
             / Raw(payload))
        p = parse_ipv6(bytes(s))
        assert [h.type for h in p.extensions] == [NH_HOPOPTS, NH_DSTOPTS, NH_FRAGMENT]
        assert (p.src, p.dst, p.hop_limit, p.next_header) == (src, dst, s.hlim, NH_UDP)
        assert parse_udp(p.payload, src, dst).payload == payload


def rand_icmpv6(rng: random.Random, src: IPv6Address, dst: IPv6Address
                ) -> tuple[icmpv6.ICMPv6Message, Any]:
    kind = rng.randrange(6)
    ident, seq, data = rng.getrandbits(16), rng.getrandbits(16), rng.randbytes(rng.randrange(60))
    original = build_ipv6(dst, src, NH_UDP, build_udp(dst, src, 1, 2, rng.randbytes(
        rng.randrange(1400))))
    if kind == 0:
        return (icmpv6.echo(icmpv6.ECHO_REQUEST, ident, seq, data),
                ICMPv6EchoRequest(id=ident, seq=seq, data=data))
    if kind == 1:
        return (icmpv6.echo(icmpv6.ECHO_REPLY, ident, seq, data),
                ICMPv6EchoReply(id=ident, seq=seq, data=data))
    if kind == 2:
        return (icmpv6.error(icmpv6.DEST_UNREACHABLE, 4, original),
                ICMPv6DestUnreach(code=4))
    if kind == 3:
        mtu = rng.randrange(1280, 9000)
        return icmpv6.error(icmpv6.PACKET_TOO_BIG, 0, original, mtu), ICMPv6PacketTooBig(mtu=mtu)
    if kind == 4:
        return icmpv6.error(icmpv6.TIME_EXCEEDED, 0, original), ICMPv6TimeExceeded(code=0)
    ptr = rng.randrange(40)
    return (icmpv6.error(icmpv6.PARAMETER_PROBLEM, 1, original, ptr),
            ICMPv6ParamProblem(code=1, ptr=ptr))


def test_icmpv6_netsim_builds_scapy_reads() -> None:
    for rng in rngs("icmp-out"):
        src, dst = rand_ip6(rng), rand_ip6(rng)
        msg, expect = rand_icmpv6(rng, src, dst)
        s = IPv6(build_ipv6(src, dst, NH_ICMPV6, msg.build(src, dst)))
        layer = type(expect)
        assert layer in s, s.summary()
        got = s[layer]
        for field in expect.fields:
            assert got.getfieldval(field) == expect.getfieldval(field), field
        assert got.cksum == rechecked(s, layer)
        if msg.is_error:  # the quote is the invoking packet, cut at the minimum MTU
            assert len(s) <= 1280 and bytes(s)[48:] == msg.payload


def test_icmpv6_scapy_builds_netsim_reads() -> None:
    for rng in rngs("icmp-in"):
        src, dst = rand_ip6(rng), rand_ip6(rng)
        msg, expect = rand_icmpv6(rng, src, dst)
        s = IPv6(src=str(src), dst=str(dst)) / expect
        if msg.is_error:
            s = s / Raw(msg.payload)
        p = parse_ipv6(bytes(s))
        back = parse_icmpv6(p.payload, src, dst)  # scapy's checksum verified
        assert back._replace(checksum=0) == msg


MACS = [MacAddress("02:00:00:00:00:01"), MacAddress("52:54:00:ab:cd:ef")]


def test_nd_netsim_builds_scapy_reads() -> None:
    for rng in rngs("nd-out"):
        src, dst, target = rand_ip6(rng), rand_ip6(rng), rand_ip6(rng)
        mac = rng.choice(MACS)
        prefix = IPv6Address(rng.getrandbits(64) << 64)
        life = rng.getrandbits(32), rng.getrandbits(32)
        messages: list[tuple[nd.NDMessage, Any]] = [
            (nd.RouterSolicitation((nd.LinkLayerOption(1, mac),)),
             ICMPv6ND_RS() / ICMPv6NDOptSrcLLAddr(lladdr=str(mac))),
            (nd.RouterAdvertisement(64, True, True, 600, 30000, 1000, (
                nd.LinkLayerOption(1, mac), nd.MTUOption(1500),
                nd.PrefixInformation(64, True, False, life[0], life[1], prefix))),
             ICMPv6ND_RA(chlim=64, M=1, O=1, prf=0, routerlifetime=600, reachabletime=30000,
                         retranstimer=1000) / ICMPv6NDOptSrcLLAddr(lladdr=str(mac))
             / ICMPv6NDOptMTU(mtu=1500)
             / ICMPv6NDOptPrefixInfo(prefixlen=64, L=1, A=0, validlifetime=life[0],
                                     preferredlifetime=life[1], prefix=str(prefix))),
            (nd.NeighborSolicitation(target, (nd.LinkLayerOption(1, mac),)),
             ICMPv6ND_NS(tgt=str(target)) / ICMPv6NDOptSrcLLAddr(lladdr=str(mac))),
            (nd.NeighborAdvertisement(target, True, False, True, (nd.LinkLayerOption(2, mac),)),
             ICMPv6ND_NA(tgt=str(target), R=1, S=0, O=1)
             / ICMPv6NDOptDstLLAddr(lladdr=str(mac))),
        ]
        message, expect = rng.choice(messages)
        raw = build_ipv6(src, dst, NH_ICMPV6, message.message().build(src, dst), hop_limit=255)
        s = IPv6(raw)
        want = bytes(IPv6(src=str(src), dst=str(dst), hlim=255) / expect)
        assert raw == want, (s.summary(), message)  # scapy builds the same bytes
        head = type(expect)
        assert s[head].cksum == rechecked(s, head)
        # and netsim reads scapy's bytes back to the same message
        assert nd.parse_nd(parse_icmpv6(parse_ipv6(want).payload, src, dst)) == message
