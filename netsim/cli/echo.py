"""`netsim echo`: one TCP echo exchange, shown frame by frame and state by state.

h1 (10.0.0.1) connects to an echo server on h2 (10.0.0.2) port 7, sends the message, reads the
echo and closes. The frames seen at h1's port are printed like ``tcpdump -nn -S`` lines, each
after the time in seconds since the client started (``0.000000``), then the client
connection's state transitions down to TIME-WAIT -> CLOSED. The Maximum Segment Lifetime is
shortened (``--msl``, default 1 s) so that TIME-WAIT (2*MSL) ends quickly.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from dataclasses import dataclass, field
from typing import Any

from netsim.apps.echo import ECHO_PORT, EchoResult, echo_client, echo_server
from netsim.cli.linkflags import add_link_arguments, link_config_from_args
from netsim.cli.validate import positive_time
from netsim.errors import UsageError
from netsim.sim.topology import capture, two_hosts
from netsim.sim.topology6 import check_ipv6_mtu, enable_ipv6_pair
from netsim.sim.world import World
from netsim.stack.events import StateRecord, TraceRecord
from netsim.stack.tcp.config import TcpConfig
from netsim.stack.tcp.errors import TcpError
from netsim.tcpspec import check_tcp_mtu
from netsim.units import format_time
from netsim.wire.summary import summarize

DEFAULT_MSL = "1s"
#: The world runs this long (beyond link delays) for the hosts' gratuitous ARPs to settle.
SETTLE = 1.0


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser(
        "echo",
        help="show one TCP echo exchange: ARP, handshake, data, close, TIME-WAIT",
        description="Connect from h1 (10.0.0.1) to an echo server on h2 (10.0.0.2) port 7, send "
                    "MESSAGE, read the echo and close; print every frame seen at h1's port "
                    "(tcpdump style, seconds since the client started) and the client's TCP "
                    "state transitions down to TIME-WAIT -> CLOSED.",
    )
    parser.add_argument("--message", default="hello", metavar="TEXT",
                        help="what to send (UTF-8; default 'hello')")
    parser.add_argument(
        "--msl", default=DEFAULT_MSL, metavar="TIME",
        help=f"Maximum Segment Lifetime; TIME-WAIT lasts 2*MSL (default {DEFAULT_MSL}, so the "
        "run ends quickly; RFC 9293 suggests 2 min, Linux waits 60 s)",
    )
    parser.add_argument("-6", dest="ipv6", action="store_true",
                        help="over IPv6: h1 2001:db8::1 to h2 2001:db8::2 (neighbour "
                             "discovery instead of ARP)")
    add_link_arguments(parser)
    parser.set_defaults(func=run)


@dataclass
class StateLog:
    """A tracer keeping the StateRecords of one host's connections."""

    host: str
    states: list[StateRecord] = field(default_factory=list)

    def record(self, rec: TraceRecord) -> None:
        if type(rec) is StateRecord and rec.host == self.host:
            self.states.append(rec)


@dataclass
class EchoRun:
    frames: list[tuple[float, str]]  # (seconds since the client started, summary)
    states: list[tuple[float, StateRecord]]
    result: EchoResult | None
    error: str | None
    msl: float
    start: float


def run_echo(args: argparse.Namespace) -> EchoRun:
    link = link_config_from_args(args)
    check_tcp_mtu(link.mtu)
    if getattr(args, "ipv6", False):
        check_ipv6_mtu(link.mtu)
    msl = positive_time(args.msl, "--msl", "1s")
    message = args.message.encode("utf-8", "surrogateescape")
    log = StateLog("h1")
    world = World(args.seed)
    env = world.env
    net = two_hosts(world, link, trace=log, tcp=TcpConfig(msl=msl))
    h1, h2 = net.hosts
    dst = enable_ipv6_pair(net) if getattr(args, "ipv6", False) else h2.ip
    frames: list[tuple[float, bytes]] = []
    port = net.links[0].a
    port.add_tap(lambda t, _direction, frame: frames.append((t, frame)))
    env.process(echo_server(h2, ECHO_PORT))

    with capture(port, args.pcap) if args.pcap is not None else contextlib.nullcontext():
        # Let the gratuitous ARPs of bring-up land first, so that the exchange starts clean.
        settle = SETTLE + 2 * (link.delay + link.jitter)
        while env.peek() < settle:
            env.step()
        env.run(until=settle)
        start = float(env.now)
        first = len(frames)
        client = env.process(echo_client(h1, dst, ECHO_PORT, message))
        error: str | None = None
        result: EchoResult | None = None
        try:
            result = env.run(until=client)
        except TcpError as exc:
            error = str(exc)
        # Wait out TIME-WAIT (2*MSL) and any retransmission, then stop.
        if error is None:
            env.run(until=env.now + 2 * msl + 0.001)
    return EchoRun(
        frames=[(t - start, summarize(f)) for t, f in frames[first:]],
        states=[(r.time - start, r) for r in log.states],
        result=result, error=error, msl=msl, start=start,
    )


def run(args: argparse.Namespace) -> int:
    try:
        out = run_echo(args)
    except OSError as exc:
        raise UsageError(f"--pcap: cannot write {args.pcap!r}: {exc.strerror or exc}") from None
    res = out.result
    if args.json:
        doc = {
            "message": args.message,
            "reply": res.reply.decode(errors="replace") if res is not None else None,
            "ok": res.ok if res is not None else False,
            "rtt": res.rtt if res is not None else None,
            "msl": out.msl,
            "error": out.error,
            "frames": [{"time": t, "summary": s} for t, s in out.frames],
            "states": [{"time": t, "conn": r.conn, "old": r.old, "new": r.new,
                        "event": r.event} for t, r in out.states],
        }
        json.dump(doc, sys.stdout)
        sys.stdout.write("\n")
        return 0 if res is not None and res.ok else 1
    print("frames at h1's port (seconds since the client started):")
    for t, line in out.frames:
        print(f"{t:.6f} {line}")
    print()
    if res is not None:
        verdict = "ok" if res.ok else "MISMATCH"
        print(f"echo: sent {res.message!r}, got {res.reply!r} back ({verdict}) "
              f"{format_time(res.rtt)} after sending")
    else:
        print(f"echo failed: {out.error}")
    conn = out.states[0][1].conn if out.states else "h1"
    print()
    print(f"client states ({conn}); TIME-WAIT lasts 2*MSL = {format_time(2 * out.msl)} "
          f"(MSL {format_time(out.msl)}, set by --msl; RFC 9293 suggests 2 min):")
    for t, r in out.states:
        print(f"{t:.6f} {r.old} -> {r.new} ({r.event})")
    return 0 if res is not None and res.ok else 1
