"""The distance-vector seam (netsim/stack/dv.py): netsim's RIP decides its routes through it,
another table plugged in (assignment 12's model solution) gives the same run, and a table's
bad answers stop the process with a one-line error naming the method, not a crash deeper in
the stack. The grader's own simulations (netsim/grading/dv_router_sim.py) check shortest
paths by a breadth-first search that is tested here against networkx."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import networkx as nx
import pytest

from netsim.errors import UsageError
from netsim.grading.dv_router_sim import climb, graph_run, hops, line_run
from netsim.sim.rip import enable_rip, random_edges, routers_from_edges
from netsim.sim.world import World
from netsim.stack.dv import DvTable

ROOT = Path(__file__).resolve().parent.parent


def _solution() -> Any:
    path = ROOT / "lessons" / "teachers" / "solutions" / "dv_router.py"
    spec = importlib.util.spec_from_file_location("dv_router_solution", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.DvRouter


def _factory(cls: Any) -> Any:
    return lambda c: cls(c.split_horizon, c.timeout, c.garbage_collection)


def test_another_table_gives_the_same_run_as_netsims() -> None:
    solution = _factory(_solution())
    for kw in ({"seed": 3, "n": 15, "extra": 7},):
        mine = graph_run(solution, kw["seed"], kw["n"], kw["extra"], fail=True, scaled=True,
                         until=20.0)
        ref = graph_run(None, kw["seed"], kw["n"], kw["extra"], fail=True, scaled=True,
                        until=20.0)
        assert mine.changes == ref.changes and mine.messages == ref.messages
        assert mine.metrics == mine.want  # shortest paths after the failure, both
        assert sum(len(c) for c in mine.changes.values()) > 100


def test_count_to_infinity_without_split_horizon_and_not_with_it() -> None:
    solution = _factory(_solution())
    off = line_run(solution, "off")
    assert climb(off) >= 14 and off.changes == line_run(None, "off").changes
    for mode in ("simple", "poisoned_reverse"):
        assert climb(line_run(solution, mode)) == 0


def test_the_graders_breadth_first_search_agrees_with_networkx() -> None:
    world = World(9)
    edges = random_edges(world.rng("graph"), 40, 30)
    graph = nx.Graph(edges)
    for src in ("r1", "r17", "r40"):
        assert hops(edges, src) == nx.single_source_shortest_path_length(graph, src)


class _Bad:
    """A table that answers `what` wrongly (the rest as netsim's)."""

    def __init__(self, what: str, value: Any) -> None:
        self.inner = DvTable()
        self.what, self.value = what, value

    def __getattr__(self, name: str) -> Any:
        if name == self.what:
            return lambda *a: self.value
        return getattr(self.inner, name)


@pytest.mark.parametrize(("what", "value", "words"), [
    ("table", "not a list", "table() must return a list"),
    ("table", [("10.9.0.0/16", 1, None, "eth0")], "no network the table was told of"),
    ("table", [("10.1.0.0/24", 17, None, "to-r2")], "metric 1..16"),
    ("export", [("10.1.0.0/24", 0)], "export()"),
    ("export", "not a list", "export() must return a list"),
    ("export", [("10.9.0.0/16", 1)], "export(): '10.9.0.0/16' is no network the table was told"),
    ("deadline", "soon", "deadline() must return a time"),
])
def test_a_tables_bad_answer_is_a_usage_error_naming_the_method(what: str, value: Any,
                                                                 words: str) -> None:
    world = World(1)
    net = routers_from_edges(world, [("r1", "r2")])
    with pytest.raises(UsageError, match=words.replace("(", r"\(").replace(")", r"\)")):
        enable_rip(net, table=lambda c: _Bad(what, value))
        world.run(until=40)


def test_a_table_is_set_before_start_and_bad_settings_are_refused() -> None:
    world = World(1)
    net = routers_from_edges(world, [("r1", "r2")])
    rip = enable_rip(net)
    with pytest.raises(UsageError, match="set_table"):
        rip["r1"].set_table(DvTable())
    with pytest.raises(UsageError, match="split_horizon"):
        DvTable("sometimes")
    with pytest.raises(UsageError, match="timeout"):
        DvTable(timeout=0)


def test_a_route_tag_is_readvertised_with_its_route() -> None:
    """RFC 2453 §4.2 route tag: kept with the route the table took, sent on with it."""
    from ipaddress import IPv4Address, IPv4Network

    from netsim.wire.lazyframe import as_bytes
    from netsim.wire.rip import PORT, RESPONSE, RipEntry, build_rip, parse_rip

    world = World(1)
    net = routers_from_edges(world, [("r1", "r2"), ("r2", "r3")])
    rip = enable_rip(net)
    world.run(until=5)
    sent: list[RipEntry] = []

    def tap(t: float, d: str, frame: Any) -> None:
        raw = as_bytes(frame)
        if d == "tx" and raw[23] == 17 and int.from_bytes(raw[36:38], "big") == PORT:
            sent.extend(parse_rip(raw[42:]).entries)

    net.links[1].a.add_tap(tap)  # r2's end of r2-r3
    sock = net.node("r1").stack.udp.endpoint(PORT)
    assert sock is not None
    far = IPv4Network("172.16.0.0/24")
    sock.sendto(build_rip(RESPONSE, [RipEntry(far, 1, IPv4Address(0), 7)]),
                (IPv4Address("10.1.0.2"), PORT), world.now)
    world.run(until=80)
    assert rip["r2"].metric(far) == 2
    told = [e for e in sent if e.network == far]
    assert told and all(e.tag == 7 and e.metric == 2 for e in told)


@pytest.mark.parametrize("table", ["reference", "model solution"])
def test_deadline_after_expire_is_the_earliest_end_even_after_a_refresh(table: str) -> None:
    """Assignment 12's contract: after expire(now), deadline() is exactly the earliest timer
    end. A refreshed timeout moves it later; netsim's table once kept its stale lower bound
    (6.0), so the grader marked a correct student's exact answer (7.0) wrong."""
    cls = DvTable if table == "reference" else _solution()
    dv = cls("poisoned_reverse", 6.0, 4.0)
    dv.receive("eth0", "10.0.0.2", [("10.1.0.0/16", 1)], 1, 0.0)
    dv.receive("eth0", "10.0.0.2", [("10.1.0.0/16", 1)], 1, 1.0)  # the timeout restarts
    dv.expire(4.0)
    assert dv.deadline() == 7.0
    dv.receive("eth0", "10.0.0.2", [("10.1.0.0/16", 16)], 1, 5.0)  # unreachable: gc at 9
    dv.expire(5.5)
    assert dv.deadline() == 9.0
    dv.receive("eth0", "10.0.0.3", [("10.1.0.0/16", 2)], 1, 6.0)  # replaced: gc stops
    dv.expire(6.5)
    assert dv.deadline() == 12.0
