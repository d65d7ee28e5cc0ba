"""Benchmark: what tracing costs. A 10 MB TCP transfer over a clean 100 Mbit/s, 10 ms link,
run with ``trace=None``, with a disabled `Recorder`, and with an enabled one.

Run: ``.venv/bin/python benchmarks/bench_trace_overhead.py [--bytes 10MB] [--repeat 5]``.

The runs are interleaved (none, off, on, none, off, on, ...) and each number is the best of R,
so slow drift of the machine affects all three alike. The target: recording off within ~10%
of trace=None.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Generator
from typing import Any

from netsim.sim.link import LinkConfig
from netsim.sim.topology import two_hosts
from netsim.sim.world import World
from netsim.trace import Recorder
from netsim.units import parse_size


def transfer(nbytes: int, trace: Recorder | None) -> tuple[float, int]:
    """(CPU seconds, data segments sent) for one transfer of `nbytes`."""
    world = World(seed=1)
    net = two_hosts(world, LinkConfig(delay=0.010, rate_bps=100e6), trace=trace)
    h1, h2 = net.hosts
    got = [0]
    segs = [0]

    def server() -> Generator[Any, Any, None]:
        lst = h2.listen(9000)
        s = yield lst.accept()
        while True:
            data = yield s.recv(1 << 20)
            if not data:
                break
            got[0] += len(data)
        yield s.close()

    def client() -> Generator[Any, Any, None]:
        s = yield h1.connect("10.0.0.2", 9000)
        yield s.sendall(bytes(nbytes))
        segs[0] = s.conn.data_segs_out
        yield s.close()

    world.env.process(server())
    world.env.process(client())
    start = time.process_time()  # CPU time: less disturbed by other processes than wall time
    world.run()
    wall = time.process_time() - start
    if got[0] != nbytes:
        raise SystemExit(f"transfer incomplete: {got[0]} of {nbytes} bytes")
    return wall, segs[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bytes", default="10MB", help="transfer size (default 10MB)")
    parser.add_argument("--repeat", type=int, default=5, help="runs per variant (default 5)")
    args = parser.parse_args()
    nbytes = parse_size(args.bytes, "--bytes")
    best: dict[str, float] = {"trace=None": float("inf"), "Recorder, disabled": float("inf"),
                              "Recorder, enabled": float("inf")}
    records = 0
    segs = 0
    for _ in range(args.repeat):
        for name in best:
            rec = None if name == "trace=None" else Recorder(enabled=name.endswith("enabled"))
            wall, segs = transfer(nbytes, rec)
            best[name] = min(best[name], wall)
            if rec is not None and rec.enabled:
                records = len(rec)
    base = best["trace=None"]
    print(f"{nbytes:,} bytes, {segs:,} data segments, best of {args.repeat}")
    print(f"{'variant':<22} {'CPU s':>8} {'vs None':>8} {'segments/s':>11}")
    for name, wall in best.items():
        print(f"{name:<22} {wall:8.3f} {100 * (wall / base - 1):+7.1f}% {segs / wall:11,.0f}")
    print(f"enabled recorder kept {records:,} records ({records / max(segs, 1):.1f} per segment)")


if __name__ == "__main__":
    main()
