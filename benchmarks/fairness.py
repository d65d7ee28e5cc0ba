"""Two long-lived TCP flows sharing one bottleneck: Jain's fairness index of their goodputs.

Run: ``.venv/bin/python benchmarks/fairness.py [--seeds 3] [--duration 60] [--jobs 2]``
(about 2-4 minutes on 2 cores with the defaults; ``--quick`` for a shorter run).

Setup: netsim.sim.topology.dumbbell with 2 pairs. The bottleneck is 20 Mbit/s, 20 ms one
way, with a drop-tail queue of one bandwidth-delay product (the access links are 1 Gbit/s,
1 ms, so the base RTT is 44 ms and the BDP ~73 full frames); socket buffers are 512 KiB,
2.4 times the ~146-frame window at which the queue overflows, so the windows are limited by
loss, not by the buffers (``--buffer 4096`` shows what much larger buffers do to slow start).
Each sender pushes data as
fast as it can for the whole run; the second flow starts up to 1 s after the first (a
random offset per seed). Goodput is what each receiving application read after a warm-up.

Jain's index J = (sum x)^2 / (n * sum x^2) is 1 for an equal split and 1/n when one flow
takes everything. The pairings: Reno vs Reno, CUBIC vs CUBIC, CUBIC vs Reno (flow 1 / 2).
"Reno" is NewReno (RFC 6582) here; all flows use SACK and timestamps.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Generator
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from netsim.sim.link import LinkConfig
from netsim.sim.topology import dumbbell
from netsim.sim.world import World
from netsim.stack.tcp.config import TcpConfig

RATE = 20e6
ONE_WAY = 0.02
ACCESS = LinkConfig(delay=0.001, rate_bps=1e9, queue_packets=10_000)
BASE_RTT = 2 * (ONE_WAY + 2 * ACCESS.delay)
BDP_PACKETS = round(RATE * BASE_RTT / 8 / 1514)
BUFFER = 512 << 10  # socket buffers: 2.4 times the window at which the queue overflows
PAIRINGS = (("newreno", "newreno"), ("cubic", "cubic"), ("cubic", "newreno"))


def jain(xs: list[float]) -> float:
    return sum(xs) ** 2 / (len(xs) * sum(x * x for x in xs)) if any(xs) else 0.0


def run_one(ccs: tuple[str, str], seed: int, duration: float, warmup: float,
            queue: int, buf: int = BUFFER) -> dict[str, Any]:
    world = World(seed)
    bottleneck = LinkConfig(delay=ONE_WAY, rate_bps=RATE, queue_packets=queue)
    net = dumbbell(world, 2, ACCESS, bottleneck, tcp=TcpConfig(rcvbuf=buf, sndbuf=buf))
    senders, receivers = net.hosts[:2], net.hosts[2:]
    received = [0, 0]
    at_warmup: list[int] = []
    start_offset = world.rng("start").uniform(0.0, 1.0)
    socks: list[Any] = []

    def server(i: int) -> Generator[Any, Any, None]:
        sock = yield receivers[i].listen(9000, cfg=TcpConfig(rcvbuf=buf, sndbuf=buf)).accept()
        while True:
            chunk = yield sock.recv(1 << 20)
            if not chunk:
                return
            received[i] += len(chunk)

    def client(i: int) -> Generator[Any, Any, None]:
        if i == 1:
            yield world.env.timeout(start_offset)
        cfg = TcpConfig(cc=ccs[i], rcvbuf=buf, sndbuf=buf)
        sock = yield senders[i].connect(f"10.2.{i + 1}.1", 9000, cfg)
        socks.append(sock)
        block = b"x" * (1 << 20)
        while True:
            yield sock.sendall(block)

    def mark() -> Generator[Any, Any, None]:
        yield world.env.timeout(warmup)
        at_warmup.extend(received)

    for i in range(2):
        world.env.process(server(i))
        world.env.process(client(i))
    world.env.process(mark())
    world.run(until=duration)
    goodputs = [(received[i] - at_warmup[i]) * 8 / (duration - warmup) for i in range(2)]
    conns = [next(iter(s.stack.tcp.conns.values())) for s in senders]
    return {"goodputs": goodputs, "jain": jain(goodputs),
            "timeouts": [c.timeouts for c in conns],
            "recoveries": [c.fast_retransmits for c in conns],
            "drops": net.links[0].a.stats.dropped_total}


def _run(args: tuple[tuple[str, str], int, float, float, int, int]) -> tuple[Any, ...]:
    ccs, seed, duration, warmup, queue, buf = args
    return ccs, seed, run_one(ccs, seed, duration, warmup, queue, buf)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--duration", type=float, default=60.0, help="simulated seconds per run")
    ap.add_argument("--warmup", type=float, default=10.0)
    ap.add_argument("--queue", type=int, default=BDP_PACKETS, help="bottleneck queue, frames")
    ap.add_argument("--buffer", type=int, default=BUFFER >> 10,
                    help="socket send/receive buffers, KiB")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--quick", action="store_true", help="1 seed, 40 s runs")
    args = ap.parse_args(argv)
    if args.quick:
        args.seeds, args.duration, args.warmup = 1, 40.0, 10.0
    t0 = time.perf_counter()
    jobs = [(ccs, seed, args.duration, args.warmup, args.queue, args.buffer << 10)
            for ccs in PAIRINGS
            for seed in range(1, args.seeds + 1)]
    results: dict[tuple[str, str], list[dict[str, Any]]] = {}
    with ProcessPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        for ccs, _seed, res in pool.map(_run, jobs):
            results.setdefault(ccs, []).append(res)
    print(f"dumbbell, 2 flows, bottleneck {RATE / 1e6:g} Mbit/s, {ONE_WAY * 1000:g} ms one "
          f"way, base RTT {BASE_RTT * 1000:.0f} ms, drop-tail queue {args.queue} frames "
          f"(BDP {BDP_PACKETS}), buffers {args.buffer} KiB, {args.seeds} seed(s), goodput over "
          f"{args.warmup:g}..{args.duration:g} s")
    print()
    print(f"{'flow 1 vs flow 2':<20} {'Jain index':>16} {'flow 1 Mbit/s':>14} "
          f"{'flow 2 Mbit/s':>14} {'share 1':>8} {'util':>6} {'RTOs':>6} {'drops':>6}")
    for ccs in PAIRINGS:
        runs = results[ccs]
        js = [r["jain"] for r in runs]
        g1 = statistics.mean(r["goodputs"][0] for r in runs) / 1e6
        g2 = statistics.mean(r["goodputs"][1] for r in runs) / 1e6
        spread = f"({min(js):.3f}..{max(js):.3f})" if len(js) > 1 else ""
        name = f"{ccs[0]} vs {ccs[1]}".replace("newreno", "reno")
        rtos = statistics.mean(sum(r["timeouts"]) for r in runs)
        drops = statistics.mean(r["drops"] for r in runs)
        print(f"{name:<20} {statistics.mean(js):>5.3f} {spread:>10} {g1:>14.2f} {g2:>14.2f} "
              f"{g1 / (g1 + g2):>8.1%} {(g1 + g2) / (RATE / 1e6):>6.1%} {rtos:>6.1f} "
              f"{drops:>6.0f}")
    print()
    print(f"wall time {time.perf_counter() - t0:.0f} s with {args.jobs} worker(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
