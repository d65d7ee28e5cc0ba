"""Benchmark of the queue disciplines against ns-3: goodput and queueing delay of one bulk CUBIC
flow through a 10 Mbit/s, 10 ms bottleneck under drop-tail (1000 packets), CoDel and FQ-CoDel.

Run: ``.venv/bin/python benchmarks/bench_aqm.py [--ns3] [--cc cubic|newreno]
[--traffic tcp|udp] [--duration 20] [--warmup 5]``.

netsim side: `two_hosts` with ``LinkConfig(delay=10ms, rate_bps=10e6, qdisc=...)`` both ways,
CUBIC with 4 MiB buffers; the sojourn time of every frame leaving h1's queue after the warmup
(the link's queue hooks, the data behind `QueueRecord`) and the sink's bytes in that span.
ns-3 side: benchmarks/ns3_aqm.py, the same scenario (its docstring lists the settings), run in
a subprocess. ``--traffic udp`` replaces the TCP flow by UDP datagrams of 1472 bytes at 1.2
times the link's packet rate, fed straight into the link (netsim) or from an OnOff application
(ns-3): the disciplines alone, with no TCP to differ. The ratio columns are netsim / ns-3;
issue #18 asks for each within 0.75..1.25 or an explanation. With UDP every ratio was within
0.96..1.04 (2026-12-03, 20 s, warmup 5 s): the disciplines agree. With TCP the goodputs agree
(0.91..1.02) but the delays depend on each TCP's dynamics in a 15 s window: ns-3's CUBIC has
HyStart (netsim's has not), its NewReno and CUBIC recover from a burst of drop-tail losses
differently, and one flow's sawtooth over a 1000-packet buffer lasts longer than the window;
CoDel's mean and 95th percentile moved by up to 1.8x between the two TCPs in either direction.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from netsim.apps.bulk import BulkSendResult, SinkResult, bulk_sender, bulk_sink
from netsim.link.qdisc import parse_qdisc
from netsim.sim.link import LinkConfig
from netsim.sim.topology import two_hosts
from netsim.sim.world import World
from netsim.stack.tcp.config import TcpConfig

HERE = Path(__file__).resolve().parent
QDISCS = ("droptail", "codel", "fq_codel")
RATE, DELAY = 10e6, 0.010


def run_udp(qdisc: str, duration: float, warmup: float) -> dict[str, Any]:
    """The link alone: 1514-byte UDP frames (1472 bytes of payload) at 1.2 times its rate."""
    from netsim.link.model import Link

    cfg = LinkConfig(delay=DELAY, rate_bps=RATE, queue_packets=1000,
                     qdisc=None if qdisc == "droptail" else parse_qdisc(qdisc))
    world = World(1)
    env = world.env
    link = Link(world, cfg)
    frame = _udp_frame()
    got = [0, 0]  # frames delivered before and after the warmup
    sojourns: list[float] = []

    def receive(data: bytes) -> None:
        got[env.now >= warmup] += 1

    def hook(t: float, where: str, sojourn: float, qlen: int, marked: bool) -> None:
        if t >= warmup:
            sojourns.append(sojourn)

    link.b.attach(receive)
    link.queue_hooks.append(hook)
    gap = len(frame) * 8 / (1.2 * RATE)

    def source() -> Any:
        while True:
            link.a.send(frame)
            yield env.timeout(gap)

    env.process(source())
    cpu0 = time.process_time()
    env.run(until=duration)
    return _row(qdisc, "udp", got[1] * 1472 * 8 / (duration - warmup), sojourns,
                time.process_time() - cpu0)


def _udp_frame() -> bytes:
    from ipaddress import IPv4Address

    from netsim.wire.ethernet import build_ethernet
    from netsim.wire.ipv4 import PROTO_UDP, build_ipv4
    from netsim.wire.udp import build_udp

    a, b = IPv4Address("10.0.0.1"), IPv4Address("10.0.0.2")
    ip = build_ipv4(a, b, PROTO_UDP, build_udp(a, b, 1000, 5001, bytes(1472)))
    return build_ethernet(b"\x02" * 6, b"\x02\x00\x00\x00\x00\x01", 0x0800, ip)


def _row(qdisc: str, traffic: str, goodput: float, sojourns: list[float],
         cpu: float) -> dict[str, Any]:
    ordered = sorted(sojourns)
    return {
        "simulator": "netsim",
        "qdisc": qdisc,
        "traffic": traffic,
        "goodput_bps": goodput,
        "sojourn_mean": sum(ordered) / len(ordered) if ordered else -1.0,
        "sojourn_p95": ordered[max(1, math.ceil(0.95 * len(ordered))) - 1] if ordered else -1.0,
        "samples": len(ordered),
        "cpu_seconds": cpu,
    }


def run_netsim(qdisc: str, duration: float, warmup: float, seed: int = 1,
               cc: str = "cubic") -> dict[str, Any]:
    cfg = LinkConfig(delay=DELAY, rate_bps=RATE, queue_packets=1000,
                     qdisc=None if qdisc == "droptail" else parse_qdisc(qdisc))
    world = World(seed)
    env = world.env
    net = two_hosts(world, cfg, tcp=TcpConfig(cc=cc, rcvbuf=4 << 20, sndbuf=4 << 20))
    h1, h2 = net.hosts
    sojourns: list[float] = []

    def hook(t: float, where: str, sojourn: float, qlen: int, marked: bool) -> None:
        if where == "link.a" and t >= warmup:
            sojourns.append(sojourn)

    net.links[0].queue_hooks.append(hook)
    sink = SinkResult()
    env.process(bulk_sink(h2, 5001, min_read=16384, into=sink))
    env.process(bulk_sender(h1, h2.ip, 5001, int(RATE / 8 * duration * 2), seed=seed,
                            into=BulkSendResult()))
    cpu0 = time.process_time()
    env.run(until=warmup)
    at_warmup = sink.bytes_received
    env.run(until=duration)
    cpu = time.process_time() - cpu0
    row = _row(qdisc, "tcp", (sink.bytes_received - at_warmup) * 8 / (duration - warmup),
               sojourns, cpu)
    row["cc"] = cc
    return row


def run_ns3(duration: float, warmup: float, cc: str = "cubic",
            traffic: str = "tcp") -> dict[str, dict[str, Any]]:
    cmd = [sys.executable, str(HERE / "ns3_aqm.py"), "--json", "--duration", str(duration),
           "--warmup", str(warmup), "--cc", cc, "--traffic", traffic]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    rows = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    if not rows:
        raise SystemExit(f"bench_aqm: {' '.join(cmd)} failed (exit {proc.returncode}):\n"
                         + proc.stderr[-2000:])
    return {row["qdisc"]: row for row in rows}


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}" if b > 0 else "-"


def format_table(ours: dict[str, dict[str, Any]],
                 theirs: dict[str, dict[str, Any]] | None) -> str:
    head = ["qdisc", "goodput Mbit/s", "mean delay ms", "p95 delay ms"]
    if theirs:
        head = ["qdisc", "goodput netsim", "ns-3", "ratio", "mean delay netsim", "ns-3", "ratio",
                "p95 delay netsim", "ns-3", "ratio"]
    lines = [" | ".join(head)]
    for name, row in ours.items():
        g, m, p = row["goodput_bps"] / 1e6, row["sojourn_mean"] * 1e3, row["sojourn_p95"] * 1e3
        if theirs and name in theirs:
            o = theirs[name]
            og, om, op = o["goodput_bps"] / 1e6, o["sojourn_mean"] * 1e3, o["sojourn_p95"] * 1e3
            cells = [name, f"{g:.2f}", f"{og:.2f}", _ratio(g, og), f"{m:.1f}", f"{om:.1f}",
                     _ratio(m, om), f"{p:.1f}", f"{op:.1f}", _ratio(p, op)]
        else:
            cells = [name, f"{g:.2f}", f"{m:.1f}", f"{p:.1f}"]
        lines.append(" | ".join(cells))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=20.0, help="simulated s (default 20)")
    parser.add_argument("--warmup", type=float, default=5.0,
                        help="simulated s left out of the measures (default 5)")
    parser.add_argument("--ns3", action="store_true", help="also run ns-3 (benchmarks/ns3_aqm.py)")
    parser.add_argument("--cc", choices=("cubic", "newreno"), default="cubic")
    parser.add_argument("--traffic", choices=("tcp", "udp"), default="tcp",
                        help="a bulk TCP flow (default), or UDP at 1.2 times the link rate: "
                        "the queue discipline alone, with no TCP to differ")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if not 0 <= args.warmup < args.duration:
        parser.error("--warmup: must be at least 0 and less than --duration")
    if args.traffic == "udp":
        ours = {q: run_udp(q, args.duration, args.warmup) for q in QDISCS}
    else:
        ours = {q: run_netsim(q, args.duration, args.warmup, cc=args.cc) for q in QDISCS}
    theirs = run_ns3(args.duration, args.warmup, args.cc, args.traffic) if args.ns3 else None
    if args.json:
        print(json.dumps({"netsim": ours, "ns3": theirs}))
    else:
        print(format_table(ours, theirs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
