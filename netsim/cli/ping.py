"""`netsim ping`: ping from h1 to h2 across a chain of N simulated routers.

    netsim ping --count 3 --hops 3 --delay 1ms --rate 10Mbit
    netsim ping -6 --count 3 --hops 3

h1 (10.0.0.1) — r1 — … — rN — h2 (10.0.N.2); every link takes the shared link flags. With
``-6`` the chain is dual-stack (h1 2001:db8::1 … h2 2001:db8:N::2, netsim/sim/topology6.py)
and the requests are ICMPv6 echoes, after duplicate address detection. Output is
Linux ping's (per-reply lines and the statistics block), or one JSON object with ``--json``.
Exit status: 0 when a reply came back, 1 when none did, 2 for a bad argument.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Iterator
from typing import Any

from netsim.apps.ping import MAX_SIZE, PingStats, ping
from netsim.apps.ping6 import ping6
from netsim.cli.limits import add_allow_large, current_limits, refuse_large
from netsim.cli.linkflags import add_link_arguments, link_config_from_args
from netsim.cli.validate import int_in
from netsim.errors import UsageError
from netsim.sim.link import Endpoint
from netsim.sim.topology import Network, capture, chain
from netsim.sim.topology6 import enable_ipv6_chain
from netsim.sim.world import World
from netsim.units import format_time, parse_time
from netsim.wire.ipv6 import MIN_MTU

MAX_HOPS = 64
#: Frames a link carries per wall second (measured: 5,000 pings over 5 links in ~1.5 s).
LINK_FRAMES_PER_WALL_SECOND = 30_000.0


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser(
        "ping",
        help="ping across a chain of simulated routers, printed like Linux ping",
        description="Simulate h1 — r1 — … — rN — h2 and ping h2 from h1. Each link uses the "
                    "link flags below (the same in both directions).",
    )
    add_chain_arguments(parser)
    parser.add_argument("--count", "-c", default="4", metavar="N",
                        help="echo requests to send (default 4)")
    parser.add_argument("--interval", "-i", default="1s", metavar="TIME",
                        help="time between requests, e.g. 1s, 200ms (default 1s)")
    parser.add_argument("--size", "-s", default="56", metavar="BYTES",
                        help=f"ICMP data bytes per request, 0..{MAX_SIZE} (default 56)")
    parser.add_argument("--ttl", "-t", default=None, metavar="N",
                        help="IP time to live (IPv6: hop limit) of the requests, 1..255 "
                             "(default 64)")
    parser.add_argument("-6", dest="ipv6", action="store_true",
                        help="ping h2's IPv6 address (ICMPv6 echo) instead of its IPv4 one")
    add_allow_large(parser, "wall time")
    add_link_arguments(parser)
    parser.set_defaults(func=run)


def add_chain_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--hops", default="1", metavar="N",
                        help=f"routers between the two hosts, 0..{MAX_HOPS} (default 1)")


int_flag = int_in  # a whole number low..high (netsim.cli.validate)


def build_chain(args: argparse.Namespace) -> tuple[World, Network]:
    """The world and the chain topology described by --hops, --seed and the link flags."""
    hops = int_flag(args.hops, "--hops", 0, MAX_HOPS)
    config = link_config_from_args(args)
    world = World(args.seed)
    return world, chain(world, hops, config)


@contextlib.contextmanager
def maybe_capture(endpoint: Endpoint, path: str | None) -> Iterator[None]:
    """Capture at `endpoint` into `path` (if given); an unwritable path is a --pcap error."""
    if path is None:
        yield
        return
    try:
        cm = capture(endpoint, path)
        cm.__enter__()
    except OSError as exc:
        raise UsageError(f"--pcap: cannot write {path!r}: {exc.strerror or exc}") from None
    try:
        yield
    finally:
        cm.__exit__(None, None, None)


def run(args: argparse.Namespace) -> int:
    count = int_flag(args.count, "--count", 1, 10_000_000)
    interval = parse_time(args.interval, "--interval")
    size = int_flag(args.size, "--size", 0, MAX_SIZE)
    ttl = None if args.ttl is None else int_flag(args.ttl, "--ttl", 1, 255)
    hops = int_flag(args.hops, "--hops", 0, MAX_HOPS)
    wall = count * 2 * (hops + 1) / LINK_FRAMES_PER_WALL_SECOND
    most = current_limits().wall
    if wall > most:
        refuse_large(args.allow_large, "--count",
                     f"{count:,} pings across {hops + 1} links take roughly "
                     f"{format_time(wall)} of wall time", format_time(most))
    if args.ipv6:
        mtu = link_config_from_args(args).mtu
        if mtu < MIN_MTU:
            # RFC 8200 §5 packet size: every link that carries IPv6 has an MTU of 1280 or more
            raise UsageError(f"--mtu: {mtu} is below IPv6's minimum link MTU of {MIN_MTU}; "
                             f"use {MIN_MTU} or more with -6")
        if size > mtu - 48:
            raise UsageError(f"--size: {size} bytes do not fit one IPv6 packet on the "
                             f"{mtu}-byte MTU (netsim does not fragment IPv6); use 0..{mtu - 48}"
                             " with -6")
    world, net = build_chain(args)
    h1, h2 = net.hosts

    def say(line: str) -> None:
        print(line, flush=True)

    if args.ipv6:
        enable_ipv6_chain(net)
        far = f"2001:db8:{len(net.routers):x}::2"
        proc = world.env.process(ping6(h1, far, count=count, interval=interval, size=size,
                                       hop_limit=ttl, out=None if args.json else say))
    else:
        proc = world.env.process(ping(h1, h2.ip, count=count, interval=interval, size=size,
                                      ttl=ttl, out=None if args.json else say))
    with maybe_capture(net.links[0].a, args.pcap):
        world.env.run(until=proc)
    stats = proc.value
    assert isinstance(stats, PingStats)
    if args.json:
        summary = stats.as_dict()
        summary["hops"] = len(net.routers)
        summary["link"] = net.links[0].a.config.describe()
        summary["seed"] = args.seed
        summary["drops"] = {n.name: n.stack.counters.drops() for n in net.hosts + net.routers}
        json.dump(summary, sys.stdout, indent=2)
        sys.stdout.write("\n")
    return 0 if stats.received else 1
