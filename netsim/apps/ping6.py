"""ping -6: ICMPv6 echo requests (RFC 4443 §4.1) with iputils' lines and summary, as
netsim/apps/ping.py does for IPv4 (the same `PingStats`).

    proc = env.process(ping6(node, "2001:db8:1::2", count=3, out=print))

prints::

    PING 2001:db8:1::2 (2001:db8:1::2) 56 data bytes
    64 bytes from 2001:db8:1::2: icmp_seq=1 ttl=63 time=4.02 ms
    ...

A host whose addresses are still tentative (duplicate address detection, RFC 4862 §5.4) has
no source address yet: the first request waits for one, up to `DAD_WAIT` seconds.
"""

from __future__ import annotations

from collections.abc import Generator
from ipaddress import IPv6Address
from typing import TYPE_CHECKING, Any, Final

from netsim import argcheck
from netsim.apps.ping import EchoRun, Output, PingStats, _check, _payload
from netsim.errors import UsageError
from netsim.wire import icmpv6 as i6
from netsim.wire.errors import WireError
from netsim.wire.ipv6 import NH_ICMPV6, IPv6Packet

if TYPE_CHECKING:
    from netsim.node import Node

__all__ = ["ping6", "error_text6", "MAX_SIZE6"]

MAX_SIZE6: Final = 65535 - 8  # an ICMPv6 echo in the largest IPv6 payload
DAD_WAIT: Final = 5.0

_UNREACH = {i6.UNREACH_NO_ROUTE: "No route", i6.UNREACH_ADMIN: "Administratively prohibited",
            i6.UNREACH_BEYOND_SCOPE: "Beyond scope", i6.UNREACH_ADDRESS: "Address unreachable",
            i6.UNREACH_PORT: "Port unreachable"}


def error_text6(msg: i6.ICMPv6Message) -> str:
    """What iputils prints for an ICMPv6 error."""
    if msg.type == i6.DEST_UNREACHABLE:
        return "Destination unreachable: " + _UNREACH.get(msg.code, f"Unknown code {msg.code}")
    if msg.type == i6.PACKET_TOO_BIG:
        return f"Packet too big: mtu={msg.mtu}"
    if msg.type == i6.TIME_EXCEEDED:
        return "Time exceeded: " + ("Hop limit" if msg.code == 0 else "Defragmentation failure")
    if msg.type == i6.PARAMETER_PROBLEM:
        return f"Parameter problem: code {msg.code} at {msg.pointer}"
    return f"Bad ICMPv6 type: {msg.type}"


def ping6(node: Node, destination: str | IPv6Address, *, count: int = 4,
          interval: float = 1.0, size: int = 56, hop_limit: int | None = None,
          timeout: float | None = None, out: Output | None = None
          ) -> Generator[Any, Any, PingStats]:
    """`count` echo requests `interval` seconds apart; the process's value is `PingStats`.
    Bad arguments raise `UsageError` here, before the process starts."""
    dst = argcheck.ipv6("destination", destination)
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise UsageError(f"count: {count!r} is not allowed; use a whole number >= 1")
    _check("interval", interval, 0.0)
    if isinstance(size, bool) or not isinstance(size, int) or not 0 <= size <= MAX_SIZE6:
        raise UsageError(f"size: {size!r} is not allowed; use 0..{MAX_SIZE6} bytes")
    if hop_limit is not None:
        _check("hop_limit", hop_limit, 1, 255)
    if timeout is not None:
        _check("timeout", timeout, 0.0)
    if not node.stack.ipv6.ifaces:
        raise UsageError(f"ping6: IPv6 is not enabled on {node.name}")
    return _run(node, dst, count, interval, size, hop_limit, timeout, out)


def _run(node: Node, dst: IPv6Address, count: int, interval: float, size: int,
         hop_limit: int | None, timeout: float | None, out: Output | None
         ) -> Generator[Any, Any, PingStats]:
    env = node.env
    stack = node.stack
    layer = stack.ipv6
    ident = stack.next_echo_ident
    stack.next_echo_ident = (ident + 1) & 0xFFFF
    run = EchoRun(env, dst, ident, size, count, i6.ECHO_REQUEST, out)
    data = _payload(size)

    def on_icmp(pkt: IPv6Packet, msg: i6.ICMPv6Message, now: float) -> None:
        if msg.type == i6.ECHO_REPLY:
            if msg.identifier == ident:
                run.reply(msg.sequence, pkt.src, pkt.hop_limit,
                          i6.HEADER_LEN + len(msg.payload), now)
        elif msg.is_error:
            try:
                quoted = msg.quoted_ipv6()
            except WireError:
                return
            if quoted.next_header == NH_ICMPV6 and quoted.dst == dst:
                run.error(quoted.payload, pkt.src, msg.type, msg.code, error_text6(msg))

    def send(seq: int) -> bool:
        src = _source(node, dst)
        msg = i6.echo(i6.ECHO_REQUEST, ident, seq, data)
        return src is not None and layer.send(dst, NH_ICMPV6, msg.build(src, dst), env.now,
                                              src=src, hop_limit=hop_limit)

    waited = 0.0
    while _source(node, dst) is None and waited < DAD_WAIT:
        yield env.timeout(0.1)  # addresses still tentative (DAD)
        waited += 0.1
    layer.handlers.append(on_icmp)
    run.emit(f"PING {dst} ({dst}) {size} data bytes")
    try:
        return (yield from run.run(send, interval, timeout))
    finally:
        run.finished = True
        if on_icmp in layer.handlers:
            layer.handlers.remove(on_icmp)


def _source(node: Node, dst: IPv6Address) -> IPv6Address | None:
    hop = node.stack.ipv6.route(dst)
    return None if hop is None else hop[0].preferred(dst)
