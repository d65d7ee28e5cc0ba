"""Measured TCP goodput against the Mathis et al. (1997) model, BW = (MSS/RTT) * C / sqrt(p).

Run: ``.venv/bin/python benchmarks/mathis.py [--seeds 3] [--events 150] [--jobs 2] [--no-rack]``
(about 2-3 minutes on 2 cores with the defaults; ``--quick`` for a 20-second smoke run).
``--no-rack`` turns RACK-TLP and D-SACK off (``netsim sim --no-rack``): duplicate-ACK counting
alone, which leaves more losses to the retransmission timer at high loss rates.

Setup: two hosts on a 1 Gbit/s link, 50 ms one way (RTT 100 ms), a 100,000-frame queue and
16 MB socket buffers, so neither the link nor the windows limit the flow. Frames in the
sender -> receiver direction (the data) are lost at random (Bernoulli p); ACKs are never
lost. NewReno with SACK and timestamps (the stack's defaults), delayed ACKs on (200 ms,
every second segment) or off. Each run lasts long enough for about ``--events`` loss
events; goodput is what the receiving application read after a warm-up, over the rest.

Columns: the loss rate p; goodput (mean of the seeds, with the spread min..max); the Mathis
prediction with C = sqrt(3/2) ~ 1.22 (an ACK per segment) or sqrt(3/4) ~ 0.87 (delayed ACKs,
b = 2), and measured/model; the PFTK model (Padhye et al. 1998, with timeouts, T0 = the RTO)
and measured/PFTK; the share of losses repaired by a timeout instead of fast recovery.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
from collections.abc import Generator
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from netsim.sim.link import LinkConfig
from netsim.sim.loss import Bernoulli
from netsim.sim.topology import two_hosts
from netsim.sim.world import World
from netsim.stack.tcp.config import TcpConfig

LOSSES = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05)
ONE_WAY = 0.05
RTT = 2 * ONE_WAY
RATE = 1e9
BUFFER = 16 << 20
MSS = 1448  # 1500 - 40 - 12 bytes of timestamp option


def mathis(p: float, c: float, mss: int = MSS, rtt: float = RTT) -> float:
    """Mathis et al.: bits/s."""
    return mss * 8 / rtt * c / math.sqrt(p)


def pftk(p: float, b: int, t0: float, mss: int = MSS, rtt: float = RTT) -> float:
    """Padhye, Firoiu, Towsley, Kurose (1998), eq. (30) without the window limit: bits/s."""
    denom = rtt * math.sqrt(2 * b * p / 3) + \
        t0 * min(1.0, 3 * math.sqrt(3 * b * p / 8)) * p * (1 + 32 * p * p)
    return mss * 8 / denom


def duration_for(p: float, events: int, c: float) -> float:
    """Simulated seconds for about `events` loss events at the model's packet rate."""
    pkts_per_s = mathis(p, c) / (MSS * 8)
    return max(60.0, events / p / pkts_per_s)


def run_one(p: float, delayed_ack: float, seed: int, events: int,
            rack: bool = True) -> dict[str, float]:
    world = World(seed)
    data = LinkConfig(delay=ONE_WAY, rate_bps=RATE, queue_packets=100_000, loss=Bernoulli(p))
    acks = LinkConfig(delay=ONE_WAY, rate_bps=RATE, queue_packets=100_000)
    tcp = TcpConfig(cc="newreno", rcvbuf=BUFFER, sndbuf=BUFFER, delayed_ack=delayed_ack,
                    rack=rack, dsack=rack)
    net = two_hosts(world, data, acks, tcp=tcp)
    h1, h2 = net.hosts
    received = [0]
    duration = duration_for(p, events, 1.22)
    warmup = min(20.0, duration / 5)
    at_warmup: list[int] = []

    def server() -> Generator[Any, Any, None]:
        sock = yield h2.listen(9000).accept()
        while True:
            chunk = yield sock.recv(1 << 20)
            if not chunk:
                return
            received[0] += len(chunk)

    def client() -> Generator[Any, Any, None]:
        sock = yield h1.connect("10.0.0.2", 9000)
        block = b"x" * (1 << 20)
        while True:
            yield sock.sendall(block)

    def mark() -> Generator[Any, Any, None]:
        yield world.env.timeout(warmup)
        at_warmup.append(received[0])

    world.env.process(server())
    world.env.process(client())
    world.env.process(mark())
    world.run(until=duration)
    conn = next(iter(h1.stack.tcp.conns.values()))
    goodput = (received[0] - at_warmup[0]) * 8 / (duration - warmup)
    losses = conn.fast_retransmits + conn.timeouts
    return {"goodput": goodput, "timeouts": conn.timeouts, "recoveries": conn.fast_retransmits,
            "rto_share": conn.timeouts / losses if losses else 0.0,
            "segments": conn.data_segs_out, "mss": conn.snd_mss,
            "srtt": conn.rto_est.srtt or RTT, "duration": duration}


def _run(args: tuple[float, float, int, int, bool]
         ) -> tuple[float, float, int, dict[str, float]]:
    p, da, seed, events, rack = args
    return p, da, seed, run_one(p, da, seed, events, rack)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--events", type=int, default=150, help="loss events per run (about)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--losses", type=float, nargs="+", default=list(LOSSES))
    ap.add_argument("--quick", action="store_true", help="one seed, 40 loss events")
    ap.add_argument("--rack", action=argparse.BooleanOptionalAction, default=True,
                    help="RACK-TLP loss detection with D-SACK (default: on, as netsim sim); "
                    "--no-rack: duplicate-ACK counting alone")
    args = ap.parse_args(argv)
    if args.quick:
        args.seeds, args.events = 1, 40
    t0 = time.perf_counter()
    jobs = [(p, da, seed, args.events, args.rack) for da in (0.2, 0.0) for p in args.losses
            for seed in range(1, args.seeds + 1)]
    jobs.sort(key=lambda j: j[0])  # the long low-loss runs first
    results: dict[tuple[float, float], list[dict[str, float]]] = {}
    with ProcessPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        for p, da, _seed, res in pool.map(_run, jobs):
            results.setdefault((p, da), []).append(res)
    t0_rto = TcpConfig().min_rto
    print(f"NewReno + SACK + timestamps{'' if args.rack else ', RACK-TLP and D-SACK off'}, "
          f"RTT {RTT * 1000:.0f} ms, {RATE / 1e9:g} Gbit/s, "
          f"MSS {MSS}, {args.seeds} seed(s), ~{args.events} loss events per run")
    for da, label, c, b in ((0.0, "delayed ACK off (an ACK per segment)", 1.22, 1),
                            (0.2, "delayed ACK on (every 2nd segment, 200 ms)", 0.87, 2)):
        print()
        print(label)
        print(f"{'loss':>6} {'goodput Mbit/s':>22} {'Mathis C=' + str(c):>14} "
              f"{'ratio':>6} {'PFTK b=' + str(b):>10} {'ratio':>6} {'RTO share':>9} "
              f"{'sim s':>6}")
        for p in args.losses:
            runs = results[(p, da)]
            g = [r["goodput"] / 1e6 for r in runs]
            mean = statistics.mean(g)
            model = mathis(p, c) / 1e6
            pf = pftk(p, b, t0_rto) / 1e6
            share = statistics.mean(r["rto_share"] for r in runs)
            spread = f"({min(g):.2f}..{max(g):.2f})" if len(g) > 1 else ""
            print(f"{p:>6.3f} {mean:>8.2f} {spread:>13} {model:>14.2f} {mean / model:>6.2f} "
                  f"{pf:>10.2f} {mean / pf:>6.2f} {share:>9.1%} {runs[0]['duration']:>6.0f}")
    print()
    print(f"wall time {time.perf_counter() - t0:.0f} s with {args.jobs} worker(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
