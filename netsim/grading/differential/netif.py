"""Differential check of assignment 08: Ethernet framing and ARP of one interface against
netsim's `EthernetArp` (over netsim's `ArpTable`, the cache of assignment 05).

Sequences over three neighbours with a short timeout, few retries and a small pending bound:
datagrams to send, frames received (ARP requests for us and for another address, replies,
probes from 0.0.0.0, a neighbour claiming or announcing our address, ARP messages relayed by a
bridge (the Ethernet source is not the ARP sender), IPv4 to our MAC, to broadcast and to
another MAC, an unknown EtherType, a truncated frame, an ARP message cut short), and ticks
exactly at the deadlines; datagrams go to the neighbours and now and then to our own address
(which a claim must not have taught a MAC for).
After each call it compares what was returned: every frame (as tcpdump prints it, and its
bytes), the datagram handed up, the datagrams given up on (a tick's requests and given-up
datagrams in any order between addresses, as the cache of 05 may poll them).
"""

from __future__ import annotations

from ipaddress import IPv4Address
from typing import Any

from netsim.grading.differential.spec import (
    Call,
    Example,
    Observation,
    Spec,
    more,
    pick,
)
from netsim.grading.differential.values import plain
from netsim.stack.arp import ArpTable
from netsim.stack.netif import EthernetArp
from netsim.wire.arp import OP_REPLY, OP_REQUEST, ArpPacket
from netsim.wire.ethernet import ETHERTYPE_ARP, ETHERTYPE_IPV4, build_ethernet
from netsim.wire.ipv4 import PROTO_UDP, build_ipv4
from netsim.wire.mac import BROADCAST, ZERO, MacAddress

MAC = MacAddress("02:00:00:00:00:01")
IP = IPv4Address("10.0.0.1")
PEERS = [IPv4Address("10.0.0.2"), IPv4Address("10.0.0.3"), IPv4Address("10.0.0.4")]
PEER_MACS = [MacAddress("02:00:00:00:00:02"), MacAddress("02:00:00:00:00:0b"),
             MacAddress("02:00:00:00:00:0c")]
OTHER_IP = IPv4Address("10.0.0.9")
OTHER_MAC = MacAddress("02:00:00:00:00:99")

RULES = {
    "returned": "the frames to transmit: a datagram framed for a known next hop; one ARP "
                "request per resolution (RFC 826), the datagram held; a reply to a request "
                "for our address; held datagrams framed when the answer comes, in order; "
                "requests again every retry_interval, then the held datagrams given up",
    "frame bytes": "every byte of every frame: destination MAC, our MAC, EtherType, payload "
                   "(ARP: hardware type 1, protocol type 0x0800, lengths 6 and 4, the "
                   "operation, the addresses)",
}


def reference(mac: MacAddress, ip: IPv4Address, **kw: Any) -> EthernetArp:
    return EthernetArp(mac, ip, ArpTable(**kw))


def frame_pool(n: int) -> list[tuple[str, bytes]]:
    """Frames a neighbour could send, each named."""
    out = []
    for i, (pip, pmac) in enumerate(zip(PEERS, PEER_MACS, strict=True)):
        out.append((f"request from {pip} for us", build_ethernet(
            BROADCAST, pmac, ETHERTYPE_ARP, ArpPacket(OP_REQUEST, pmac, pip, ZERO, IP).build())))
        out.append((f"request from {pip} for {OTHER_IP}", build_ethernet(
            BROADCAST, pmac, ETHERTYPE_ARP,
            ArpPacket(OP_REQUEST, pmac, pip, ZERO, OTHER_IP).build())))
        out.append((f"reply from {pip}", build_ethernet(
            MAC, pmac, ETHERTYPE_ARP, ArpPacket(OP_REPLY, pmac, pip, MAC, IP).build())))
        out.append((f"IPv4 from {pip}", build_ethernet(MAC, pmac, ETHERTYPE_IPV4, build_ipv4(
            pip, IP, PROTO_UDP, bytes([i, n & 0xFF]) * 4))))
        if i == 0:
            out.append((f"reply from {pip} with a new MAC", build_ethernet(
                MAC, OTHER_MAC, ETHERTYPE_ARP,
                ArpPacket(OP_REPLY, OTHER_MAC, pip, MAC, IP).build())))
    out += [
        ("IPv4 to broadcast", build_ethernet(BROADCAST, PEER_MACS[0], ETHERTYPE_IPV4,
                                             build_ipv4(PEERS[0], IP, PROTO_UDP, b"bcast!!!"))),
        ("IPv4 to another MAC", build_ethernet(OTHER_MAC, PEER_MACS[0], ETHERTYPE_IPV4,
                                               build_ipv4(PEERS[0], IP, PROTO_UDP, b"notme"))),
        ("probe from 0.0.0.0", build_ethernet(BROADCAST, PEER_MACS[1], ETHERTYPE_ARP, ArpPacket(
            OP_REQUEST, PEER_MACS[1], IPv4Address("0.0.0.0"), ZERO, IP).build())),
        ("a neighbour claims our address", build_ethernet(BROADCAST, OTHER_MAC, ETHERTYPE_ARP,
                                                          ArpPacket(OP_REPLY, OTHER_MAC, IP,
                                                                    ZERO, IP).build())),
        ("unknown EtherType", build_ethernet(MAC, PEER_MACS[0], 0x86DD, b"\x60" + bytes(39))),
        ("truncated", bytes(MAC)[:4]),
        # the ARP sender hardware address is not the Ethernet source (RFC 826: learn the
        # former): a bridge or a proxy relayed the message
        (f"reply from {PEERS[1]} relayed by a bridge", build_ethernet(
            MAC, OTHER_MAC, ETHERTYPE_ARP,
            ArpPacket(OP_REPLY, PEER_MACS[1], PEERS[1], MAC, IP).build())),
        (f"request from {PEERS[2]} for us relayed by a bridge", build_ethernet(
            BROADCAST, OTHER_MAC, ETHERTYPE_ARP,
            ArpPacket(OP_REQUEST, PEER_MACS[2], PEERS[2], ZERO, IP).build())),
        ("a neighbour announces our address", build_ethernet(
            BROADCAST, OTHER_MAC, ETHERTYPE_ARP,
            ArpPacket(OP_REQUEST, OTHER_MAC, IP, ZERO, IP).build())),
        # a malformed ARP message is dropped, never raised (the stack does not catch it)
        ("ARP message cut to 20 bytes", build_ethernet(
            MAC, PEER_MACS[0], ETHERTYPE_ARP,
            ArpPacket(OP_REPLY, PEER_MACS[0], PEERS[0], MAC, IP).build()[:20])),
    ]
    return out


def _summary(frame: Any) -> str:
    from netsim.wire.summary import summarize
    if not isinstance(frame, bytes | bytearray) or len(frame) < 14:
        return f"not a frame: {plain(frame)!r:.40}"
    try:
        return summarize(bytes(frame))
    except Exception:  # noqa: BLE001 - a malformed frame from the candidate is shown as such
        return f"malformed frame of {len(frame)} bytes"


def fields(value: Any, names: tuple[str, ...]) -> list[Any]:
    """The fields of a NamedTuple, a plain tuple or (through a proxy) an object."""
    if isinstance(value, tuple):
        return list(value)[:len(names)] + [None] * (len(names) - len(value))
    out = []
    for name in names:
        try:
            out.append(getattr(value, name))
        except AttributeError:
            out.append(None)
    return out


def _frames(frames: Any) -> tuple[list[str], list[str]]:
    frames = list(frames) if isinstance(frames, list | tuple) else [frames]
    return [_summary(f) for f in frames], [bytes(f).hex() if isinstance(f, bytes | bytearray)
                                           else repr(plain(f))[:40] for f in frames]


def _as_bytes(value: Any) -> bytes:
    return bytes(value) if isinstance(value, bytes | bytearray) else b""


def observe(nic: Any, call: Call) -> Observation:
    out = getattr(nic, call.method)(*call.values())
    if call.method == "send_datagram":
        shown, raw = _frames(out)
        return [("returned", shown), ("frame bytes", raw)]
    if call.method == "recv_frame":
        datagram, frames = fields(out, ("datagram", "frames"))
        shown, raw = _frames(frames or [])
        return [("returned", {"datagram": plain(datagram), "frames": shown}),
                ("frame bytes", raw)]
    if call.method == "tick":
        frames, failed = fields(out, ("frames", "failed"))
        # no order between addresses (README; 05's check sorts them too): the requests by
        # their bytes, the datagrams given up by destination, stably (one address's own keep
        # the order they came in)
        if isinstance(frames, list | tuple):
            frames = sorted(frames, key=_as_bytes)
        if isinstance(failed, list | tuple):
            failed = sorted(failed, key=lambda d: _as_bytes(d)[16:20])
        shown, raw = _frames(frames or [])
        return [("returned", {"frames": shown, "failed": plain(list(failed or []))}),
                ("frame bytes", raw)]
    return [("returned", plain(out))]


def examples() -> Any:
    from hypothesis import strategies as st

    @st.composite
    def build(draw: Any) -> Example:
        params = {"mac": MAC, "ip": IP, "timeout": pick(draw, [1.0, 0.5, 60.0]),
                  "retries": pick(draw, [3, 1, 2]), "retry_interval": pick(draw, [1.0, 0.25]),
                  "max_pending": pick(draw, [2, 1, 256])}
        ref = reference(**params)
        now = 0.0
        calls: list[Call] = []
        n = 0
        while more(draw, len(calls), 16, least=6):
            due = [t for t in (ref.next_deadline(),) if t is not None and t >= now]
            # multiples of 1/8 s, exact in binary: a cache that keeps the time of the last
            # update (`now - updated >= timeout`) agrees with one that keeps the expiry
            now = round(now + pick(draw, [0.0, 0.125, *(t - now for t in due),
                                          float(params["timeout"])]), 9)
            kind = pick(draw, ["send", "recv", "send", "recv", "tick"])
            n += 1
            if kind == "send":
                hop = pick(draw, [*PEERS, IP])  # IP: never learned from a claim (RFC 5227)
                c = Call("send_datagram", (("datagram", build_ipv4(IP, hop, PROTO_UDP,
                                                                   b"datagram %d" % n)),
                                           ("next_hop", hop), ("now", now)))
            elif kind == "recv":
                _, frame = pick(draw, frame_pool(n))
                c = Call("recv_frame", (("frame", frame), ("now", now)))
            else:
                c = Call("tick", (("now", now),))
            getattr(ref, c.method)(*c.values())
            calls.append(c)
        return Example(tuple(params.items()), tuple(calls))

    return build()


def valid(params: tuple[tuple[str, Any], ...], calls: Any) -> bool:
    times = [dict(c.args).get("now") for c in calls]
    known = [t for t in times if t is not None]
    return known == sorted(known)


SPEC = Spec("08-network-interface", "nic", "NetworkInterface", examples, observe, RULES,
            valid=valid, references=[reference], max_examples=80, seed=8)
