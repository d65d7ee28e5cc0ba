"""Benchmark of the queue disciplines against ns-3: goodput and queueing delay of one bulk CUBIC
flow through a 10 Mbit/s, 10 ms bottleneck under drop-tail (1000 packets), CoDel and FQ-CoDel.

Run: ``.venv/bin/python benchmarks/bench_aqm.py [--ns3] [--cc cubic|newreno] [--duration 20]
[--warmup 5]``.

netsim side: `two_hosts` with ``LinkConfig(delay=10ms, rate_bps=10e6, qdisc=...)`` both ways,
CUBIC with 4 MiB buffers; the sojourn time of every frame leaving h1's queue after the warmup
(the link's queue hooks, the data behind `QueueRecord`) and the sink's bytes in that span.
ns-3 side: benchmarks/ns3_aqm.py, the same scenario (its docstring lists the settings), run in
a subprocess. The ratio columns are netsim / ns-3; issue #18 asks for each within 0.75..1.25
or an explanation. Two known differences: ns-3's CUBIC has HyStart (netsim's has not), which
changes the first seconds (hence the warmup); and with drop-tail the delay is the depth of a
full buffer, set by when each TCP's loss recovery lets the queue drain.
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
    ordered = sorted(sojourns)
    return {
        "simulator": "netsim",
        "qdisc": qdisc,
        "cc": cc,
        "goodput_bps": (sink.bytes_received - at_warmup) * 8 / (duration - warmup),
        "sojourn_mean": sum(ordered) / len(ordered) if ordered else -1.0,
        "sojourn_p95": ordered[max(1, math.ceil(0.95 * len(ordered))) - 1] if ordered else -1.0,
        "samples": len(ordered),
        "cpu_seconds": cpu,
    }


def run_ns3(duration: float, warmup: float, cc: str = "cubic") -> dict[str, dict[str, Any]]:
    cmd = [sys.executable, str(HERE / "ns3_aqm.py"), "--json", "--duration", str(duration),
           "--warmup", str(warmup), "--cc", cc]
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
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if not 0 <= args.warmup < args.duration:
        parser.error("--warmup: must be at least 0 and less than --duration")
    ours = {q: run_netsim(q, args.duration, args.warmup, cc=args.cc) for q in QDISCS}
    theirs = run_ns3(args.duration, args.warmup, args.cc) if args.ns3 else None
    if args.json:
        print(json.dumps({"netsim": ours, "ns3": theirs}))
    else:
        print(format_table(ours, theirs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
