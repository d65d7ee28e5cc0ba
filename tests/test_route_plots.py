"""Routing tables drawn over time and the pings lost while they converge (lesson 15's figures):
what the bars and crosses show is what the routers did, for RIP and for OSPF."""

from __future__ import annotations

from ipaddress import IPv4Network

import pytest
from matplotlib.patches import Rectangle

from netsim.apps.ping import PingStats, ping
from netsim.errors import UsageError
from netsim.sim.ospf import enable_ospf
from netsim.sim.rip import add_host, enable_rip, routers_from_edges
from netsim.sim.world import World
from netsim.stack.ospf_lsdb import OspfConfig
from netsim.trace.plots import (
    lost_pings,
    plot_convergence_loss,
    plot_route_tables,
    route_table_data,
)

# h1 - r1 - r2 - r3 - h2, and a longer way r1 - r4 - r5 - r3
EDGES = [("r1", "r2"), ("r2", "r3"), ("r1", "r4"), ("r4", "r5"), ("r5", "r3")]


def _run(kind: str):  # type: ignore[no-untyped-def]
    world = World(seed=1)
    net = routers_from_edges(world, EDGES)
    h1, h2 = add_host(net, "r1", "h1"), add_host(net, "r3", "h2")
    domain = enable_rip(net) if kind == "rip" else \
        enable_ospf(net, OspfConfig(hello_interval=1, dead_interval=4))
    world.run(until=30)
    run = world.env.process(ping(h1, h2.ip, count=240, interval=0.5))
    domain.fail_link("r1", "r2", at=60)
    domain.restore_link("r1", "r2", at=100)
    world.run(until=160)
    return domain, h2.stack.interfaces["eth0"].network, run.value


def _bars(fig, panel: int) -> list[tuple[float, float, float]]:  # type: ignore[no-untyped-def]
    """(row, start, end) of each route bar drawn in a router's panel."""
    return [(p.get_y() + p.get_height() / 2, p.get_x(), p.get_x() + p.get_width())
            for p in fig.axes[panel].patches
            if isinstance(p, Rectangle) and p.get_width() > 0]


@pytest.mark.parametrize("kind", ["rip", "ospf"])
def test_the_table_drawn_has_a_gap_while_the_route_was_gone_and_the_new_next_hop(
        kind: str) -> None:
    domain, lan, _ = _run(kind)
    data = route_table_data(domain, routers=["r1"])
    steps = data["r1"][lan]
    # via r2 (10.1.0.2), then (RIP: unreachable for a while) via r4 (10.1.2.2), then r2 again
    hops = [hop for _, metric, hop in steps if metric is not None]
    assert hops[0] == "10.1.0.2" and "10.1.2.2" in hops and hops[-1] == "10.1.0.2"
    assert [m for _, m, h in steps if h == "10.1.2.2" and m is not None] == [4]
    fig = plot_route_tables(domain, routers=["r1", "r3"])
    assert [ax.get_ylabel() for ax in fig.axes[:2]] == ["r1", "r3"]
    rows = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    row = rows.index(str(lan))
    assert rows == [str(n) for n in data["r1"]]
    bars = sorted((a, b) for y, a, b in _bars(fig, 0) if y == row)
    # every stretch with a route is one bar, drawn from its change to the next (or the end)
    want = []
    for i, (t, metric, _) in enumerate(steps):
        end = steps[i + 1][0] if i + 1 < len(steps) else 160.0
        if metric is not None and end > t:
            want.append((pytest.approx(t), pytest.approx(end)))
    assert bars == want
    # while r1 had no route to h2's LAN nothing is drawn: RIP waits for r4's next update;
    # OSPF's new route is computed spf_delay after the failure
    gap = [(a, b) for (a, b), (c, _) in zip(bars, bars[1:], strict=False) if c > b]
    if kind == "rip":
        assert len(gap) == 1 and gap[0][1] == pytest.approx(60) and 0 < bars[1][0] - 60 < 36
    else:
        assert bars[1][0] - 60 < 0.1
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "connected" in legend and "via 10.1.0.2" in legend and "via 10.1.2.2" in legend
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "fail r1-r2" in texts and "restore r1-r2" in texts
    # one network only: one row per router, the same bars
    only = plot_route_tables(domain, routers=["r1"], networks=[str(lan)])
    assert [t.get_text() for t in only.axes[0].get_yticklabels()] == [str(lan)]
    assert sorted((a, b) for _, a, b in _bars(only, 0)) == want


def test_the_lost_pings_are_the_ones_sent_while_the_routes_converged() -> None:
    rip, _, rip_stats = _run("rip")
    ospf, _, ospf_stats = _run("ospf")
    rip_sent, rip_lost = lost_pings(rip_stats, 30, 0.5)
    ospf_sent, ospf_lost = lost_pings(ospf_stats, 30, 0.5)
    assert len(rip_sent) == rip_stats.transmitted == 240
    assert len(rip_lost) == rip_stats.transmitted - rip_stats.received
    assert rip_lost and min(rip_lost) == 60 and len(ospf_lost) < len(rip_lost)
    fig = plot_convergence_loss({"RIP": (rip_sent, rip_lost), "OSPF": (ospf_sent, ospf_lost)},
                                rip.events)
    ax = fig.axes[0]
    crosses = [line for line in ax.get_lines() if line.get_marker() == "x"]
    assert [len(line.get_xdata()) for line in crosses] == [len(rip_lost), len(ospf_lost)]
    assert list(crosses[0].get_xdata()) == sorted(rip_lost)
    notes = [t.get_text() for t in ax.texts]
    assert f"{len(rip_lost)} lost, 60–{max(rip_lost):g} s" in notes
    assert [t.get_text() for t in ax.get_yticklabels()] == ["RIP", "OSPF"]


def test_bad_arguments_are_one_line_usage_errors() -> None:
    domain, _, stats = _run("rip")
    with pytest.raises(UsageError, match="routers: no 'r9'"):
        route_table_data(domain, routers=["r9"])
    with pytest.raises(UsageError, match="networks: "):
        plot_route_tables(domain, networks=["10.1.0.0/33"])
    with pytest.raises(UsageError, match="is not a RIP or OSPF process"):
        plot_route_tables([object()])
    with pytest.raises(UsageError, match="runs: give at least one"):
        plot_convergence_loss({})
    with pytest.raises(UsageError, match="never sent"):
        plot_convergence_loss({"x": ([1.0], [2.0])})
    with pytest.raises(UsageError, match="interval: "):
        lost_pings(stats, 0, 0)
    with pytest.raises(UsageError, match="stats: "):
        lost_pings("not stats", 0, 1)  # type: ignore[arg-type]
    assert lost_pings(PingStats(IPv4Network("10.0.0.0/8").network_address), 0, 1) == ([], [])
    # the wrong shape of argument: the same one-line errors, not a TypeError from inside
    with pytest.raises(UsageError, match="routers: 'r1' is one string"):
        route_table_data(domain, routers="r1")
    with pytest.raises(UsageError, match="networks: .* is one string"):
        plot_route_tables(domain, networks="10.1.0.0/24")
    with pytest.raises(UsageError, match="processes: int is not"):
        plot_route_tables(5)  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="time_range: "):
        plot_route_tables(domain, time_range=(1,))  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="runs: x: .* is not a \\(sent, lost\\) pair"):
        plot_convergence_loss({"x": 5})  # type: ignore[dict-item]
    with pytest.raises(UsageError, match="events: 5 is not a \\(time, label\\) pair"):
        plot_convergence_loss({"x": ([1.0], [])}, events=[5])  # type: ignore[list-item]
    with pytest.raises(UsageError, match="start: "):
        lost_pings(stats, "0", 1)  # type: ignore[arg-type]
