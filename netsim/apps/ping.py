"""ping: ICMP echo requests (RFC 792) with per-reply lines and a summary like Linux iputils.

An application: a SimPy process over a `Node` (it uses the stack's `send_ip` and
`icmp_handlers`), so it runs the same in the simulated and the live world.

    proc = env.process(ping(node, "10.0.3.2", count=3, out=print))
    env.run(until=proc)
    stats = proc.value          # PingStats: transmitted, received, rtts, loss...

prints::

    PING 10.0.3.2 (10.0.3.2) 56(84) bytes of data.
    64 bytes from 10.0.3.2: icmp_seq=1 ttl=61 time=8.24 ms
    ...
    --- 10.0.3.2 ping statistics ---
    3 packets transmitted, 3 received, 0% packet loss, time 2008ms
    rtt min/avg/max/mdev = 8.236/8.240/8.245/0.003 ms
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address
from typing import TYPE_CHECKING, Any

from netsim import argcheck
from netsim.errors import UsageError
from netsim.wire import icmp as icmpw
from netsim.wire.errors import WireError
from netsim.wire.ipv4 import PROTO_ICMP, IPv4Packet

if TYPE_CHECKING:
    import simpy

    from netsim.node import Node

__all__ = ["EchoRun", "PingReply", "PingError", "PingStats", "ping", "format_rtt", "error_text"]

MAX_SIZE = 65535 - 20 - 8  # the largest echo payload an IPv4 datagram can carry
DEFAULT_LINGER = 10.0  # iputils' MAXWAIT: how long to wait for a reply when none came yet

Output = Callable[[str], None]

@dataclass(frozen=True, slots=True)
class PingReply:
    seq: int
    src: IPv4Address | IPv6Address
    ttl: int  # (the hop limit of an IPv6 reply)
    rtt: float  # seconds
    size: int  # ICMP bytes (header + data), as ping prints them
    duplicate: bool = False


@dataclass(frozen=True, slots=True)
class PingError:
    seq: int
    src: IPv4Address | IPv6Address  # who sent the ICMP error
    type: int
    code: int
    text: str  # "Destination Host Unreachable", "Time to live exceeded", ...


@dataclass
class PingStats:
    destination: IPv4Address | IPv6Address
    size: int = 56
    transmitted: int = 0
    received: int = 0
    duplicates: int = 0
    errors: int = 0
    elapsed: float = 0.0  # seconds from the first request to the end
    replies: list[PingReply] = field(default_factory=list)
    error_list: list[PingError] = field(default_factory=list)

    @property
    def rtts(self) -> list[float]:
        """Round-trip times (seconds) of the first reply to each request."""
        return [r.rtt for r in self.replies if not r.duplicate]

    @property
    def loss(self) -> float:
        """Fraction of requests with no reply (0..1)."""
        if not self.transmitted:
            return 0.0
        return (self.transmitted - self.received) / self.transmitted

    def rtt_summary(self) -> tuple[float, float, float, float] | None:
        """(min, avg, max, mdev) in seconds, mdev as iputils computes it, or None."""
        rtts = self.rtts
        if not rtts:
            return None
        n = len(rtts)
        avg = sum(rtts) / n
        mdev = math.sqrt(max(0.0, sum(r * r for r in rtts) / n - avg * avg))
        return min(rtts), avg, max(rtts), mdev

    def summary_lines(self) -> list[str]:
        """The statistics block ping prints at the end."""
        counts = f"{self.transmitted} packets transmitted, {self.received} received"
        if self.duplicates:
            counts += f", +{self.duplicates} duplicates"
        if self.errors:
            counts += f", +{self.errors} errors"
        counts += f", {self.loss * 100:g}% packet loss, time {int(self.elapsed * 1000)}ms"
        lines = [f"--- {self.destination} ping statistics ---", counts]
        rtt = self.rtt_summary()
        if rtt is not None:
            lines.append("rtt min/avg/max/mdev = " + "/".join(f"{v * 1000:.3f}" for v in rtt)
                         + " ms")
        return lines

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (times in milliseconds)."""
        rtt = self.rtt_summary()
        return {
            "destination": str(self.destination),
            "size": self.size,
            "transmitted": self.transmitted,
            "received": self.received,
            "duplicates": self.duplicates,
            "errors": self.errors,
            "loss": self.loss,
            "time_ms": self.elapsed * 1000,
            "rtt_ms": None if rtt is None else dict(zip(("min", "avg", "max", "mdev"),
                                                        (v * 1000 for v in rtt), strict=True)),
            "replies": [{"seq": r.seq, "ttl": r.ttl, "rtt_ms": r.rtt * 1000,
                         "duplicate": r.duplicate} for r in self.replies],
            "icmp_errors": [{"seq": e.seq, "from": str(e.src), "type": e.type, "code": e.code,
                             "text": e.text} for e in self.error_list],
        }


def format_rtt(seconds: float) -> str:
    """A round-trip time as iputils prints it: 3 significant digits, at most 3 decimals."""
    ms = seconds * 1000
    if ms >= 100 - 0.05:
        return f"{ms:.0f}"
    if ms >= 10 - 0.005:
        return f"{ms:.1f}"
    if ms >= 1 - 0.0005:
        return f"{ms:.2f}"
    return f"{ms:.3f}"


_UNREACH_TEXT = {
    icmpw.UNREACH_NET: "Destination Net Unreachable",
    icmpw.UNREACH_HOST: "Destination Host Unreachable",
    icmpw.UNREACH_PROTOCOL: "Destination Protocol Unreachable",
    icmpw.UNREACH_PORT: "Destination Port Unreachable",
    icmpw.UNREACH_ADMIN: "Communication prohibited by filter",
}


def error_text(msg: icmpw.ICMPMessage) -> str:
    """What iputils prints for an ICMP error."""
    if msg.type == icmpw.DEST_UNREACHABLE:
        if msg.code == icmpw.UNREACH_FRAG_NEEDED:
            return f"Frag needed and DF set (mtu = {msg.next_hop_mtu})"
        return _UNREACH_TEXT.get(msg.code, f"Dest Unreachable, Bad Code: {msg.code}")
    if msg.type == icmpw.TIME_EXCEEDED:
        if msg.code == icmpw.REASSEMBLY_EXCEEDED:
            return "Frag reassembly time exceeded"
        return "Time to live exceeded"
    return f"Bad ICMP type: {msg.type}"


def _payload(size: int) -> bytes:
    # iputils fills the data with the byte values 0, 1, 2, ... (after its timestamp)
    return bytes(i & 0xFF for i in range(size))


def _check(name: str, value: float, low: float, high: float | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value) \
            or value < low or (high is not None and value > high):
        allowed = f"{low:g}..{high:g}" if high is not None else f">= {low:g}"
        raise UsageError(f"{name}: {value!r} is not allowed; use {allowed}")


def ping(node: Node, destination: str | IPv4Address, *, count: int = 4, interval: float = 1.0,
         size: int = 56, ttl: int | None = None, df: bool = False,
         timeout: float | None = None, identifier: int | None = None,
         out: Output | None = None) -> Generator[Any, Any, PingStats]:
    """Send `count` echo requests `interval` seconds apart and collect the replies.

    `timeout`: how long to wait after the last request for outstanding replies (default: twice
    the largest RTT seen, at least 1 s; 10 s when no reply came at all, as iputils does).
    `out` receives each line ping prints (nothing is printed when it is None).
    Returns the generator of a SimPy process whose value is the `PingStats`; bad arguments
    raise `UsageError` here, before the process starts.
    """
    dst = argcheck.ipv4("destination", destination)
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise UsageError(f"count: {count!r} is not allowed; use a whole number >= 1")
    _check("interval", interval, 0.0)
    if isinstance(size, bool) or not isinstance(size, int) or not 0 <= size <= MAX_SIZE:
        raise UsageError(f"size: {size!r} is not allowed; use 0..{MAX_SIZE} bytes")
    if ttl is not None and (isinstance(ttl, bool) or not isinstance(ttl, int)
                            or not 1 <= ttl <= 255):
        raise UsageError(f"ttl: {ttl!r} is not allowed; use 1..255")
    if timeout is not None:
        _check("timeout", timeout, 0.0)
    if identifier is not None:
        _check("identifier", identifier, 0, 0xFFFF)
    return _run(node, dst, count, interval, size, ttl, df, timeout, identifier, out)


def _run(node: Node, dst: IPv4Address, count: int, interval: float, size: int,
         ttl: int | None, df: bool, timeout: float | None, identifier: int | None,
         out: Output | None) -> Generator[Any, Any, PingStats]:
    env = node.env
    stack = node.stack
    if identifier is None:
        # per stack, not a process id or a global counter: the same seed gives the same run
        identifier = stack.next_echo_ident
        stack.next_echo_ident = (identifier + 1) & 0xFFFF
    ident = identifier & 0xFFFF
    run = EchoRun(env, dst, ident, size, count, icmpw.ECHO_REQUEST, out)
    data = _payload(size)

    def on_icmp(pkt: IPv4Packet, msg: icmpw.ICMPMessage, now: float) -> None:
        if msg.type == icmpw.ECHO_REPLY:
            if msg.identifier == ident:
                run.reply(msg.sequence, pkt.src, pkt.ttl, icmpw.HEADER_LEN + len(msg.payload),
                          now)
        elif msg.is_error:
            try:
                quoted = msg.quoted_ipv4()
            except WireError:
                return
            if quoted.protocol == PROTO_ICMP and quoted.dst == dst:
                run.error(quoted.payload, pkt.src, msg.type, msg.code, error_text(msg))

    def send(seq: int) -> bool:
        msg = icmpw.echo(icmpw.ECHO_REQUEST, ident, seq, data)
        return stack.send_ip(dst, PROTO_ICMP, msg.build(), env.now, ttl=ttl, df=df)

    stack.icmp_handlers.append(on_icmp)
    run.emit(f"PING {dst} ({dst}) {size}({size + 28}) bytes of data.")
    try:
        return (yield from run.run(send, interval, timeout))
    finally:
        run.finished = True
        if on_icmp in stack.icmp_handlers:
            stack.icmp_handlers.remove(on_icmp)


class EchoRun:
    """One ping run's bookkeeping, the same for ICMP and ICMPv6 (netsim/apps/ping6.py): when each
    request was sent, which were answered, the statistics and the lines iputils prints.

    `count` requests with identifier `ident`; `request_type` is the echo request's ICMP type
    (8, or 128 for ICMPv6), which a quoted request in an error must carry."""

    def __init__(self, env: simpy.Environment, dst: IPv4Address | IPv6Address, ident: int,
                 size: int, count: int, request_type: int, out: Output | None) -> None:
        self.env = env
        self.ident = ident
        self.count = count
        self.request_type = request_type
        self.emit: Output = out or (lambda line: None)
        self.stats = PingStats(dst, size)
        self.sent_at: dict[int, float] = {}  # icmp sequence -> send time
        self.answered: set[int] = set()
        self.done = env.event()
        self.finished = False

    def _accounted(self) -> None:
        stats = self.stats
        if stats.transmitted >= self.count and stats.received + stats.errors >= self.count \
                and not self.done.triggered:
            self.done.succeed()

    def reply(self, seq: int, src: IPv4Address | IPv6Address, ttl: int, size: int,
              now: float) -> None:
        """An echo reply carrying this run's identifier (a duplicate is counted as such)."""
        if self.finished or seq not in self.sent_at:
            return
        dup = seq in self.answered
        reply = PingReply(seq, src, ttl, now - self.sent_at[seq], size, dup)
        self.stats.replies.append(reply)
        if dup:
            self.stats.duplicates += 1
        else:
            self.answered.add(seq)
            self.stats.received += 1
        self.emit(f"{reply.size} bytes from {src}: icmp_seq={seq} ttl={ttl} "
                  f"time={format_rtt(reply.rtt)} ms" + (" (DUP!)" if dup else ""))
        self._accounted()

    def error(self, quoted_head: bytes, src: IPv4Address | IPv6Address, type_: int, code: int,
              text: str) -> None:
        """An ICMP error from `src` quoting `quoted_head` (the first bytes of the datagram it
        is about, after the IP header): counted if it quotes one of this run's requests."""
        head = quoted_head
        if self.finished or len(head) < 8 or head[0] != self.request_type:
            return
        qid, seq = (head[4] << 8) | head[5], (head[6] << 8) | head[7]
        if qid != self.ident or seq not in self.sent_at or seq in self.answered:
            return
        self.answered.add(seq)
        err = PingError(seq, src, type_, code, text)
        self.stats.error_list.append(err)
        self.stats.errors += 1
        self.emit(f"From {src} icmp_seq={seq} {err.text}")
        self._accounted()

    def run(self, send: Callable[[int], bool], interval: float, timeout: float | None
            ) -> Generator[Any, Any, PingStats]:
        """Send the requests (`send(seq)` is False when one cannot leave), wait for the
        answers, print the summary; the value is the `PingStats`."""
        env, stats = self.env, self.stats
        start = env.now
        for n in range(self.count):
            seq = (n + 1) & 0xFFFF  # iputils numbers requests from 1
            self.sent_at[seq] = env.now
            self.answered.discard(seq)
            stats.transmitted += 1
            if not send(seq):
                self.emit("ping: sendmsg: Network is unreachable")
                stats.errors += 1
                self.answered.add(seq)
            if n + 1 < self.count:
                # absolute send times, so a long run does not drift
                yield env.timeout(max(0.0, start + (n + 1) * interval - env.now))
        self._accounted()
        if not self.done.triggered:
            if timeout is not None:
                linger = timeout
            elif stats.rtts:
                linger = max(1.0, 2 * max(stats.rtts))
            else:
                linger = DEFAULT_LINGER
            yield self.done | env.timeout(linger)
        self.finished = True
        stats.elapsed = env.now - start
        self.emit("")
        for line in stats.summary_lines():
            self.emit(line)
        return stats
