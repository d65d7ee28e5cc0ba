"""`netsim traceroute`: trace the path from h1 to h2 across a chain of N simulated routers.

    netsim traceroute --hops 3 --delay 1ms
    netsim traceroute -6 --hops 3

prints what Linux ``traceroute -n`` prints (or one JSON object with ``--json``); with ``-6``
the chain is dual-stack (netsim/sim/topology6.py) and the probes go to h2's IPv6 address.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from netsim.apps.traceroute import TracerouteResult, traceroute
from netsim.apps.traceroute6 import traceroute6
from netsim.cli.linkflags import add_link_arguments, link_config_from_args
from netsim.cli.ping import add_chain_arguments, build_chain, int_flag, maybe_capture
from netsim.errors import UsageError
from netsim.sim.topology6 import check_ipv6_mtu, enable_ipv6_chain
from netsim.units import parse_time


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser(
        "traceroute",
        help="trace the route across a chain of simulated routers, like traceroute -n",
        description="Simulate h1 — r1 — … — rN — h2 and trace the route from h1 to h2 with "
                    "UDP probes (ports 33434 and up), three per TTL.",
    )
    add_chain_arguments(parser)
    parser.add_argument("--max-hops", "-m", default="30", metavar="N",
                        help="largest TTL to try, 1..255 (default 30)")
    parser.add_argument("--queries", "-q", default="3", metavar="N",
                        help="probes per hop, 1..10 (default 3)")
    parser.add_argument("--wait", "-w", default="5s", metavar="TIME",
                        help="how long to wait for each probe's answer (default 5s)")
    parser.add_argument("-6", dest="ipv6", action="store_true",
                        help="trace to h2's IPv6 address (hop limits, ICMPv6 answers)")
    add_link_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    max_hops = int_flag(args.max_hops, "--max-hops", 1, 255)
    queries = int_flag(args.queries, "--queries", 1, 10)
    wait = parse_time(args.wait, "--wait")
    if wait <= 0:
        raise UsageError(f"--wait: {args.wait!r} is not allowed; use a time > 0, e.g. 5s")
    if args.ipv6:
        check_ipv6_mtu(link_config_from_args(args).mtu)
    world, net = build_chain(args)
    h1, h2 = net.hosts

    def say(line: str) -> None:
        print(line, flush=True)

    out = None if args.json else say
    if args.ipv6:
        # the addresses are usable at once (no DAD wait): the trace is about the path
        enable_ipv6_chain(net, dad=False)
        far = f"2001:db8:{len(net.routers):x}::2"
        proc = world.env.process(traceroute6(h1, far, max_hops=max_hops, queries=queries,
                                             wait=wait, out=out))
    else:
        proc = world.env.process(traceroute(h1, h2.ip, max_hops=max_hops, queries=queries,
                                            wait=wait, out=out))
    with maybe_capture(net.links[0].a, args.pcap):
        world.env.run(until=proc)
    result = proc.value
    assert isinstance(result, TracerouteResult)
    if args.json:
        summary = result.as_dict()
        summary["routers"] = len(net.routers)
        summary["seed"] = args.seed
        json.dump(summary, sys.stdout, indent=2)
        sys.stdout.write("\n")
    return 0
