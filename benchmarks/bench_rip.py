"""Benchmark of RIP (netsim/stack/rip.py): the CPU cost of random router graphs converging.

Run: ``.venv/bin/python benchmarks/bench_rip.py [--routers 10,50,100] [--repeat 3]``.

Each row builds N routers joined at random (a spanning tree plus N/2 more links, seed 1),
starts RIP on all of them and simulates ``--seconds`` of simulated time (default 120: the
start, then three or four regular updates). It reports CPU seconds (``time.process_time``,
best of R runs: the machine is shared, and CPU time is steadier than wall time) for building
the graph and for the run, when the last routing table changed (simulated seconds), the RIP
messages sent and route changes made, the CPU microseconds per message received, and whether
every table holds a route to every link's network.
"""

from __future__ import annotations

import argparse
import time

from netsim.sim.rip import enable_rip, random_edges, routers_from_edges
from netsim.sim.world import World


def _run(n: int, seconds: float) -> tuple[float, float, float, dict[str, int], bool]:
    """(build CPU s, run CPU s, converged at, summed RIP counters, complete tables)."""
    start = time.process_time()
    world = World(1)
    net = routers_from_edges(world, random_edges(world.rng("graph"), n, n // 2))
    built = time.process_time() - start
    start = time.process_time()
    rip = enable_rip(net)
    world.run(until=seconds)
    cpu = time.process_time() - start
    networks = {iface.network for r in net.routers for iface in r.stack.interfaces.values()}
    complete = all(p.metric(nw) < 16 for p in rip for nw in networks)
    return built, cpu, rip.converged_at(), rip.messages(), complete


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--routers", default="10,50,100",
                        help="comma-separated router counts (default 10,50,100)")
    parser.add_argument("--seconds", type=float, default=120.0,
                        help="simulated seconds per run (default 120)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per row (best is shown)")
    args = parser.parse_args()
    counts = [int(x) for x in args.routers.split(",")]
    print(f"RIP on random graphs, {args.seconds:g} simulated s; CPU seconds, best of "
          f"{args.repeat}")
    print(f"{'routers':>7} {'links':>5} {'build-s':>7} {'run-s':>6} {'converged':>9} "
          f"{'messages':>8} {'changes':>7} {'us/msg':>6} {'complete':>8}")
    for n in counts:
        runs = [_run(n, args.seconds) for _ in range(args.repeat)]
        built = min(r[0] for r in runs)
        cpu = min(r[1] for r in runs)
        _, _, converged, msgs, complete = runs[0]
        received = msgs.get("rx_response", 0) + msgs.get("rx_request", 0)
        links = n - 1 + n // 2
        print(f"{n:>7} {links:>5} {built:>7.3f} {cpu:>6.3f} {converged:>8.1f}s "
              f"{msgs.get('tx_messages', 0) + msgs.get('tx_response', 0):>8} "
              f"{msgs.get('route_changes', 0):>7} {cpu / max(received, 1) * 1e6:>6.0f} "
              f"{'yes' if complete else 'NO':>8}")


if __name__ == "__main__":
    main()
