"""Assignment 12-dv-router's checks with the student's table in every router of a simulated
network running RIP (netsim/stack/rip.py, netsim/sim/rip.py).

The student's `DvRouter` (through `Checked`, then the RIP process's own checks) decides the
routes of every router; netsim's RIP process sends and receives the messages. Each run is
compared with the same run on netsim's `DvTable` (computed once per process): every route
change of every router (time, network, metric, next hop; in any order within one instant),
and the routes at the end against the shortest paths, counted here by a breadth-first search
on the edge list (no routing code of netsim's: a table that agrees with the reference but not
with the graph would show here).

Also used by ``python -m netsim.labrun dv-line`` / ``dv-graph`` to run a student's file
directly (netsim/labrun.py).
"""

from __future__ import annotations

import functools
from collections import deque
from collections.abc import Callable
from typing import Any

from netsim.errors import UsageError
from netsim.grading.framework import CheckFailed, Context

Change = tuple[float, str, int, str]  # (time, network, metric, next hop or "-")
Factory = Callable[[Any], Any] | None  # RipConfig -> a DistanceVector; None: netsim's


def hops(edges: list[tuple[str, str]], src: str) -> dict[str, int]:
    """Routers reachable from `src` and their distance in links (breadth-first)."""
    adj: dict[str, list[str]] = {}
    for a, b in edges:
        adj.setdefault(a, []).append(b)
        adj.setdefault(b, []).append(a)
    dist = {src: 0}
    todo = deque([src])
    while todo:
        x = todo.popleft()
        for y in adj.get(x, []):
            if y not in dist:
                dist[y] = dist[x] + 1
                todo.append(y)
    return dist


def shortest(edges: list[tuple[str, str]], links: dict[str, tuple[str, str]],
             routers: list[str]) -> dict[tuple[str, str], int]:
    """(router, network) -> the RIP metric of a shortest path: links to the nearer end of the
    network's link, plus one (RIP counts the network itself); 16 when out of reach."""
    out = {}
    for r in routers:
        dist = hops(edges, r)
        for net, (a, b) in links.items():
            out[(r, net)] = min(min(dist.get(a, 99), dist.get(b, 99)) + 1, 16)
    return out


class Run:
    """What a run shows: each router's route changes (sorted), its metric to each link's
    network at the end, the shortest paths, and the RIP messages sent."""

    def __init__(self, changes: dict[str, list[Change]], metrics: dict[tuple[str, str], int],
                 want: dict[tuple[str, str], int], messages: int) -> None:
        self.changes = changes
        self.metrics = metrics
        self.want = want
        self.messages = messages


def graph_run(table: Factory, seed: int, n: int, extra: int, *, fail: bool = False,
              scaled: bool = False, split_horizon: str = "poisoned_reverse",
              until: float = 90.0) -> Run:
    """`n` routers joined at random (seed `seed`), RIP on all; with `fail`, the busiest link
    that is not a bridge fails at `until` unseen (its routes time out) and the run goes on
    for the timeout and garbage collection. `scaled`: the RIP timers divided by 10."""
    from netsim.sim.rip import enable_rip, random_edges, routers_from_edges
    from netsim.sim.world import World
    from netsim.stack.rip_table import RipConfig

    world = World(seed)
    edges = random_edges(world.rng("graph"), n, extra)
    net = routers_from_edges(world, edges)
    config = RipConfig(split_horizon=split_horizon)
    if scaled:  # RFC 2453 §3.8 timers, scaled down by ten
        config = RipConfig(update_interval=3.0, update_jitter=0.5, timeout=18.0,
                           garbage_collection=12.0, triggered_min=0.1, triggered_max=0.5,
                           split_horizon=split_horizon)
    rip = enable_rip(net, config, table=table)
    world.run(until=until)
    if fail:
        a, b = _busiest(edges)
        rip.fail_link(a, b, detect=False)
        world.run(until=until + config.timeout + config.garbage_collection +
                  3 * config.update_interval)
        edges = [e for e in edges if e != (a, b)]
    links = {str(net.node(a).stack.interfaces[f"to-{b}"].network): (a, b) for a, b in edges}
    routers = [r.name for r in net.routers]
    changes = {p.stack.name: sorted((round(t, 9), str(nw), m, "-" if h is None else str(h))
                                    for t, nw, m, h in p.history) for p in rip}
    metrics = {(r, nw): rip[r].metric(nw) for r in routers for nw in links}
    return Run(changes, metrics, shortest(edges, links, routers),
               rip.messages().get("tx_messages", 0))


def _busiest(edges: list[tuple[str, str]]) -> tuple[str, str]:
    """The link on most shortest paths between routers whose loss leaves them connected."""
    nodes = sorted({x for e in edges for x in e})
    dist = {x: hops(edges, x) for x in nodes}
    best, score = edges[0], -1
    for e in edges:
        rest = [f for f in edges if f != e]
        if len(hops(rest, nodes[0])) < len(nodes):
            continue  # a bridge
        a, b = e
        s = sum(1 for x in nodes for y in nodes if dist[a][x] + 1 + dist[b][y] == dist[x][y])
        if s > score:
            best, score = e, s
    return best


def line_run(table: Factory, split_horizon: str) -> Run:
    """r1 - r2 - r3 - r4 - r5 without triggered updates; at 100 s r3 sees its link to r4 go
    down. With split horizon off, r2 and r3 count the route to r4-r5 up to 16."""
    from netsim.sim.rip import enable_rip, routers_from_edges
    from netsim.sim.world import World
    from netsim.stack.rip_table import RipConfig

    world = World(3)
    edges = [("r1", "r2"), ("r2", "r3"), ("r3", "r4"), ("r4", "r5")]
    net = routers_from_edges(world, edges)
    rip = enable_rip(net, RipConfig(triggered_updates=False, split_horizon=split_horizon),
                     table=table)
    world.run(until=100)
    rip.fail_link("r3", "r4")
    world.run(until=700)
    links = {str(net.node(a).stack.interfaces[f"to-{b}"].network): (a, b) for a, b in edges}
    routers = [r.name for r in net.routers]
    changes = {p.stack.name: sorted((round(t, 9), str(nw), m, "-" if h is None else str(h))
                                    for t, nw, m, h in p.history) for p in rip}
    metrics = {(r, nw): rip[r].metric(nw) for r in routers for nw in links}
    left = [e for e in edges if e != ("r3", "r4")]
    return Run(changes, metrics, shortest(left, links, routers),
               rip.messages().get("tx_messages", 0))


def climb(run: Run, network: str = "10.1.3.0/24") -> int:
    """The highest metric below 16 r1, r2 or r3 had to `network` (r4-r5) after the failure."""
    return max((m for r in ("r1", "r2", "r3") for t, nw, m, _ in run.changes[r]
                if nw == network and t >= 100 and m < 16), default=0)


@functools.lru_cache(maxsize=16)
def _reference(kind: str, *args: Any) -> Run:
    if kind == "line":
        return line_run(None, *args)
    return graph_run(None, *args[:3], fail=args[3], scaled=args[4], split_horizon=args[5],
                     until=args[6])


def _factory(ctx: Context) -> Callable[[Any], Any]:
    from netsim.grading.dv_router_pair import Checked  # (a cycle at import time otherwise)

    cls = ctx.target()
    return lambda c: Checked(cls(split_horizon=c.split_horizon, timeout=c.timeout,
                                 garbage_collection=c.garbage_collection))


def _compare(ctx: Context, what: str, got: Run, want: Run) -> None:
    for key, metric in sorted(got.metrics.items()):
        if metric != got.want[key] and want.metrics[key] == want.want[key]:
            router, network = key
            raise CheckFailed(f"{what}: at the end {router}'s metric to {network} is not the "
                              "length of a shortest path (RFC 2453 §3.4 distance vector "
                              "algorithms: Bellman-Ford converges to them)",
                              expected=f"{want.want[key]} (a breadth-first search of the "
                                       "graph; netsim's table agrees)", got=str(metric))
    for router, changes in want.changes.items():
        mine = got.changes[router]
        if mine == changes:
            continue
        i = next((i for i, (a, b) in enumerate(zip(changes, mine, strict=False)) if a != b),
                 min(len(changes), len(mine)))

        def shown(c: list[Change], i: int = i) -> str:
            if i >= len(c):
                return "(no more changes)"
            t, nw, m, hop = c[i]
            return f"at {t:g} s {nw} metric {m} via {hop}"

        raise CheckFailed(f"{what}: route change {i + 1} of {router} differs from the run "
                          f"with netsim's table ({len(mine)} changes, netsim's "
                          f"{len(changes)})", expected=shown(changes), got=shown(mine))


def _run(ctx: Context, fn: Callable[[], Run]) -> Run:
    try:
        return fn()
    except UsageError as exc:  # the RIP process refused an answer of the table
        raise CheckFailed(f"the RIP process could not use an answer of your table: {exc}",
                          hint="see the README for what each method returns") from None


def check_converge(ctx: Context) -> None:
    factory = _factory(ctx)
    for seed, n, extra in ((1, 8, 4), (2, 12, 6)):
        ctx.step(f"{n} routers joined at random (seed {seed}, {n - 1 + extra} links), your "
                 "DvRouter in every one, RIP for 90 s; compared with the same run on "
                 "netsim's table and with the shortest paths")
        args = (seed, n, extra, False, False, "poisoned_reverse", 90.0)
        got = _run(ctx, functools.partial(graph_run, factory, seed, n, extra, until=90.0))
        _compare(ctx, f"{n} random routers", got, _reference("graph", *args))


def check_count_to_infinity(ctx: Context) -> None:
    factory = _factory(ctx)
    for mode in ("off", "simple", "poisoned_reverse"):
        ctx.step(f"r1 - r2 - r3 - r4 - r5, split_horizon={mode!r}, no triggered updates; at "
                 "100 s r3's link to r4 goes down; run to 700 s")
        got = _run(ctx, functools.partial(line_run, factory, mode))
        want = _reference("line", mode)
        ctx.step(f"  the highest metric below 16 to r4-r5 after the failure: yours "
                 f"{climb(got)}, netsim's {climb(want)}")
        _compare(ctx, f"the line, split_horizon={mode!r}", got, want)


def check_simulation(ctx: Context) -> None:
    factory = _factory(ctx)
    ctx.step("10 routers joined at random (seed 5), the RIP timers scaled down by ten (3 s "
             "updates, 18 s timeout, 12 s garbage collection); at 20 s the busiest link fails "
             "unseen, so its routes time out; compared with the same run on netsim's table "
             "and with the new shortest paths")
    args = (5, 10, 5, True, True, "poisoned_reverse", 20.0)
    got = _run(ctx, lambda: graph_run(factory, 5, 10, 5, fail=True, scaled=True, until=20.0))
    _compare(ctx, "10 random routers, a link failure", got, _reference("graph", *args))
