"""traceroute: UDP probes with rising TTL, three per hop, printed like Linux traceroute -n.

Each probe goes to the next port from 33434 up, so an ICMP error quoting it names the probe.
Routers on the way answer "time exceeded" (RFC 792; RFC 1812 §5.3.1); the destination answers
"port unreachable" (RFC 1122 §4.1.3.1), which ends the trace. An application: a SimPy process
over a `Node` (a UDP socket and the stack's `icmp_handlers`), the same in both worlds.

    traceroute to 10.0.3.2 (10.0.3.2), 30 hops max, 60 byte packets
     1  10.0.0.2  2.013 ms  2.010 ms  2.009 ms
     2  * * *
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address
from typing import TYPE_CHECKING, Any

from netsim import argcheck
from netsim.errors import UsageError
from netsim.wire import icmp as icmpw
from netsim.wire.errors import WireError
from netsim.wire.ipv4 import PROTO_UDP, IPv4Packet

if TYPE_CHECKING:
    from netsim.node import Node

__all__ = ["FIRST_PORT", "Answer", "Hop", "Probe", "TracerouteResult", "probe_loop",
           "traceroute"]

FIRST_PORT = 33434  # traditional traceroute base port
HEADERS = 20 + 8  # IPv4 + UDP
Output = Callable[[str], None]
Address = IPv4Address | IPv6Address
#: What an ICMP hook reports about an error quoting one of our probes: (the probe's source
#: port, its destination port, who answered, when, the mark, whether it ends the trace).
Answer = Callable[[int, int, Address, float, str, bool], None]

# Linux traceroute's marks for destination-unreachable codes (port unreachable from the
# destination itself is the normal end and gets none).
_UNREACH_MARK = {
    icmpw.UNREACH_NET: "!N", icmpw.UNREACH_HOST: "!H", icmpw.UNREACH_PROTOCOL: "!P",
    5: "!S", icmpw.UNREACH_ADMIN: "!X",
}


@dataclass(frozen=True, slots=True)
class Probe:
    port: int
    addr: Address | None  # who answered; None: no answer in time ("*")
    rtt: float | None = None  # seconds
    mark: str = ""  # "!H", "!N", "!F-576"...
    final: bool = False  # the answer ends the trace (destination reached or unreachable)


@dataclass
class Hop:
    ttl: int
    probes: list[Probe] = field(default_factory=list)

    @property
    def addresses(self) -> list[Address]:
        seen: list[Address] = []
        for p in self.probes:
            if p.addr is not None and p.addr not in seen:
                seen.append(p.addr)
        return seen

    def line(self) -> str:
        """The hop as Linux traceroute -n prints it."""
        text = f"{self.ttl:2d} "
        last: Address | None = None
        for p in self.probes:
            if p.addr is None or p.rtt is None:
                text += " *"
                continue
            if p.addr != last:
                text += f" {p.addr}"
                last = p.addr
            text += f"  {p.rtt * 1000:.3f} ms"
            if p.mark:
                text += f" {p.mark}"
        return text


@dataclass
class TracerouteResult:
    destination: Address
    max_hops: int
    packet_size: int
    hops: list[Hop] = field(default_factory=list)
    reached: bool = False  # the destination itself answered

    def header(self) -> str:
        return (f"traceroute to {self.destination} ({self.destination}), {self.max_hops} hops "
                f"max, {self.packet_size} byte packets")

    def lines(self) -> list[str]:
        return [self.header(), *(hop.line() for hop in self.hops)]

    def as_dict(self) -> dict[str, Any]:
        return {
            "destination": str(self.destination),
            "reached": self.reached,
            "hops": [{"ttl": h.ttl, "probes": [
                {"from": None if p.addr is None else str(p.addr),
                 "rtt_ms": None if p.rtt is None else p.rtt * 1000, "mark": p.mark}
                for p in h.probes]} for h in self.hops],
        }


def _int(name: str, value: int, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise UsageError(f"{name}: {value!r} is not allowed; use {low}..{high}")


def traceroute(node: Node, destination: str | IPv4Address, *, max_hops: int = 30,
               first_ttl: int = 1, queries: int = 3, wait: float = 5.0,
               port: int = FIRST_PORT, packet_size: int = 60,
               out: Output | None = None) -> Generator[Any, Any, TracerouteResult]:
    """Trace the path to `destination`; probes are sent one at a time, each waiting up to
    `wait` seconds for its answer. `packet_size` is the IPv4 length of a probe (as Linux
    counts it). Returns the generator of a SimPy process whose value is the
    `TracerouteResult`; bad arguments raise `UsageError` here, before the process starts."""
    dst = argcheck.ipv4("destination", destination)
    _int("max_hops", max_hops, 1, 255)
    _int("first_ttl", first_ttl, 1, max_hops)
    _int("queries", queries, 1, 10)
    _int("port", port, 1, 0xFFFF - max_hops * queries)
    _int("packet_size", packet_size, HEADERS, 65535)
    if isinstance(wait, bool) or not isinstance(wait, int | float) or not wait > 0:
        raise UsageError(f"wait: {wait!r} is not allowed; use a time > 0 seconds")
    return _run(node, dst, max_hops, first_ttl, queries, float(wait), port, packet_size, out)


def _run(node: Node, dst: IPv4Address, max_hops: int, first_ttl: int, queries: int,
         wait: float, port: int, packet_size: int,
         out: Output | None) -> Generator[Any, Any, TracerouteResult]:
    stack = node.stack

    def listen(answer: Answer) -> Callable[[], None]:
        def on_icmp(pkt: IPv4Packet, msg: icmpw.ICMPMessage, now: float) -> None:
            if msg.type not in (icmpw.TIME_EXCEEDED, icmpw.DEST_UNREACHABLE):
                return
            try:
                quoted = msg.quoted_ipv4()
            except WireError:
                return
            head = quoted.payload
            if quoted.protocol != PROTO_UDP or quoted.dst != dst or len(head) < 4:
                return
            mark, final = "", False
            if msg.type == icmpw.DEST_UNREACHABLE:
                final = True  # Linux traceroute stops at any unreachable
                if msg.code == icmpw.UNREACH_PORT:
                    mark = "" if pkt.src == dst else "!P"
                elif msg.code == icmpw.UNREACH_FRAG_NEEDED:
                    mark = f"!F-{msg.next_hop_mtu}"
                else:
                    mark = _UNREACH_MARK.get(msg.code, f"!<{msg.code}>")
            answer((head[0] << 8) | head[1], (head[2] << 8) | head[3], pkt.src, now, mark,
                   final)

        stack.icmp_handlers.append(on_icmp)

        def stop() -> None:
            if on_icmp in stack.icmp_handlers:
                stack.icmp_handlers.remove(on_icmp)
        return stop

    result = TracerouteResult(dst, max_hops, packet_size)
    return probe_loop(node, dst, result, first_ttl, queries, wait, port,
                      packet_size - HEADERS, listen, out)


def probe_loop(node: Node, dst: Address, result: TracerouteResult, first_ttl: int,
               queries: int, wait: float, port: int, data_bytes: int,
               listen: Callable[[Answer], Callable[[], None]],
               out: Output | None) -> Generator[Any, Any, TracerouteResult]:
    """The probes of both families: one at a time, `queries` per TTL (IPv6: hop limit),
    each to the next port, each waiting up to `wait` for what the ICMP hook that `listen`
    installs reports (it returns the function that removes the hook)."""
    env = node.env
    sock = node.udp()
    sport = sock.port
    # Linux traceroute's default payload: "@ABCDEFG..." (bytes 0x40, 0x41, ...)
    payload = bytes(0x40 + (i & 0x3F) for i in range(data_bytes))
    emit = out or (lambda line: None)
    pending: dict[int, tuple[Any, float]] = {}  # destination port -> (event, send time)

    def answer(qsport: int, qdport: int, src: Address, now: float, mark: str,
               final: bool) -> None:
        entry = pending.pop(qdport, None) if qsport == sport else None
        if entry is None:
            return  # not ours, or the answer to a probe we gave up on
        event, sent = entry
        event.succeed(Probe(qdport, src, now - sent, mark, final))

    stop = listen(answer)
    emit(result.header())
    probe_port = port
    try:
        for ttl in range(first_ttl, result.max_hops + 1):
            hop = Hop(ttl)
            for _ in range(queries):
                event = env.event()
                pending[probe_port] = (event, env.now)
                sock.sendto(payload, (dst, probe_port), ttl=ttl)
                timer = env.timeout(wait)
                yield event | timer
                if event.triggered:
                    probe = event.value
                    assert isinstance(probe, Probe)
                    hop.probes.append(probe)
                else:
                    pending.pop(probe_port, None)
                    hop.probes.append(Probe(probe_port, None))
                probe_port += 1
            result.hops.append(hop)
            emit(hop.line())
            if any(p.final for p in hop.probes):
                result.reached = any(p.addr == dst for p in hop.probes)
                break
    finally:
        stop()
        sock.close()
    return result
