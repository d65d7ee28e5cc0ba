"""Benchmark of link-state routing (OSPF, netsim/stack/ospf.py): the CPU cost of random router
graphs converging, and of converging again after a link fails.

Run: ``.venv/bin/python benchmarks/bench_ospf.py [--routers 10,50,100] [--repeat 3]``.

Each row builds N routers joined at random (a spanning tree plus N/2 more links, seed 1, as
benchmarks/bench_rip.py does), starts OSPF on all of them (Hellos every second, dead after 4)
and simulates 20 s; then the link on the most shortest paths that is not a bridge fails (both
ends see it) and 10 s more are simulated. It reports CPU seconds (``time.process_time``, best
of R runs: the machine is shared, and CPU time is steadier than wall time) for building the
graph, for the start and for the failure, the simulated time the tables took to settle each
time (the start includes MinLSInterval, 5 s, before a router's second LSA), the OSPF packets
sent, the SPF calculations run, and whether every router's table then matched the shortest
paths (checked with networkx).
"""

from __future__ import annotations

import argparse
import time

import networkx as nx  # a dev extra, as for the tests

from netsim.sim.ospf import OspfDomain, enable_ospf, random_edges, routers_from_edges
from netsim.sim.topology import Network
from netsim.sim.world import World
from netsim.stack.ospf import OspfConfig

Row = tuple[float, float, float, float, float, int, int, str]


def _check(ospf: OspfDomain, net: Network, edges: list[tuple[str, str]]) -> str:
    """Whether every router's cost to every link's network is networkx's hop count + 1."""
    graph = nx.Graph(edges)
    for router in graph.nodes:
        dist = nx.single_source_shortest_path_length(graph, router)
        for a, b in graph.edges:
            network = net.node(a).stack.interfaces[f"to-{b}"].network
            if ospf[router].cost(network) != min(dist[a], dist[b]) + 1:
                return "NO"
    return "yes"


def _run(n: int) -> Row:
    start = time.process_time()
    world = World(1)
    edges = random_edges(world.rng("graph"), n, n // 2)
    net = routers_from_edges(world, edges)
    built = time.process_time() - start
    start = time.process_time()
    ospf = enable_ospf(net, OspfConfig(hello_interval=1, dead_interval=4))
    world.run(until=20)
    cpu_start = time.process_time() - start
    first = ospf.converged_at()
    sent = ospf.messages()["tx_packets"]
    # the link to fail: on the most shortest paths, and not a bridge
    graph = nx.Graph(edges)
    bridges = {frozenset(e) for e in nx.bridges(graph)}
    load = nx.edge_betweenness_centrality(graph)
    a, b = max((e for e in graph.edges if frozenset(e) not in bridges), key=lambda e: load[e])
    start = time.process_time()
    ospf.fail_link(a, b)
    world.run(until=30)
    cpu_fail = time.process_time() - start
    again = ospf.converged_at() - 20
    ok = _check(ospf, net, [e for e in edges if set(e) != {a, b}])
    spf = sum(p.spf_runs for p in ospf)
    return built, cpu_start, cpu_fail, first, again, sent, spf, ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--routers", default="10,50,100",
                        help="comma-separated router counts (default 10,50,100)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per row (best is shown)")
    args = parser.parse_args()
    counts = [int(x) for x in args.routers.split(",")]
    print(f"OSPF on random graphs; CPU seconds, best of {args.repeat}")
    print(f"{'routers':>7} {'links':>5} {'build-s':>7} {'start-s':>7} {'fail-s':>6} "
          f"{'settled':>7} {'again':>7} {'packets':>7} {'spf':>5} {'shortest':>8}")
    for n in counts:
        runs = [_run(n) for _ in range(args.repeat)]
        built = min(r[0] for r in runs)
        cpu_start = min(r[1] for r in runs)
        cpu_fail = min(r[2] for r in runs)
        _, _, _, first, again, sent, spf, ok = runs[0]
        print(f"{n:>7} {n - 1 + n // 2:>5} {built:>7.3f} {cpu_start:>7.3f} {cpu_fail:>6.3f} "
              f"{first:>6.2f}s {again:>6.3f}s {sent:>7} {spf:>5} {ok:>8}")


if __name__ == "__main__":
    main()
