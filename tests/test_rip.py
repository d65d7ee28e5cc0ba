"""RIP version 2 (RFC 2453) on netsim routers: the messages, convergence to shortest paths
(checked against networkx, which knows nothing of netsim), re-convergence after a link
failure, counting to infinity with split horizon off and not with poisoned reverse, data
through the learned routes, and tshark reading the messages as RIPv2."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netsim.apps.ping import ping
from netsim.errors import UsageError
from netsim.sim.rip import RipDomain, add_host, enable_rip, random_edges, routers_from_edges
from netsim.sim.topology import Network, capture
from netsim.sim.world import World
from netsim.stack.rip_table import RipConfig
from netsim.trace.plots import plot_rip_metric
from netsim.wire.rip import (
    INFINITY,
    PORT,
    RESPONSE,
    RipEntry,
    RipError,
    build_rip,
    parse_rip,
    whole_table_request,
)


def _graph(world: World, n: int = 50, extra: int = 25) -> tuple[list[tuple[str, str]], Network]:
    edges = random_edges(world.rng("graph"), n, extra)
    return edges, routers_from_edges(world, edges)


def _networks(net: Network, edges: list[tuple[str, str]]) -> dict[IPv4Network, tuple[str, str]]:
    """Each link's network and the two routers on it (from the interfaces, by name)."""
    return {net.node(a).stack.interfaces[f"to-{b}"].network: (a, b) for a, b in edges}


def _mismatches(rip: RipDomain, net: Network, graph: nx.Graph,
                links: dict[IPv4Network, tuple[str, str]]) -> list[str]:
    """Every (router, network) whose RIP metric is not networkx's hop count: the shortest
    path to the nearer end of the link, plus one (RIP counts the network itself)."""
    wrong = []
    for router in graph.nodes:
        dist = nx.single_source_shortest_path_length(graph, router)
        proc = rip[router]
        for network, (a, b) in links.items():
            hops = min(dist.get(a, 99), dist.get(b, 99)) + 1
            want = hops if hops < INFINITY else INFINITY
            if proc.metric(network) != want:
                wrong.append(f"{router} {network}: rip {proc.metric(network)}, want {want}")
            route = net.node(router).stack.routes.lookup(network.network_address)
            if want < INFINITY and (route is None or route.network != network):
                wrong.append(f"{router} {network}: forwarding table has {route}")
    return wrong


# ---------------------------------------------------------------------- wire format
def test_messages_round_trip_and_malformed_ones_raise() -> None:
    entries = [RipEntry(IPv4Network(f"10.{i}.0.0/16"), i % 16 + 1, IPv4Address("10.0.0.9"), 7)
               for i in range(25)]
    msg = parse_rip(build_rip(RESPONSE, entries))
    assert msg.command == RESPONSE and msg.version == 2 and list(msg.entries) == entries
    assert parse_rip(whole_table_request().build()).whole_table_request
    good = build_rip(RESPONSE, entries[:1])
    bad = {
        "short": good[:23],
        "not whole entries": good + b"\0",
        "26 entries": build_rip(RESPONSE, entries) + good[4:],
        "command 3": b"\x03" + good[1:],
        "version 0": good[:1] + b"\x00" + good[2:],
        "mask not a prefix": good[:12] + bytes([255, 0, 255, 0]) + good[16:],
        "bits beyond the mask": good[:8] + bytes([10, 0, 0, 1]) + good[12:],
        "authentication not first": good + b"\xff\xff" + good[6:],
    }
    for what, data in bad.items():
        with pytest.raises(RipError):
            parse_rip(data)
            pytest.fail(what)


_entry = st.builds(
    lambda addr, length, metric, hop, tag: RipEntry(
        IPv4Network((addr & ~((1 << (32 - length)) - 1) & 0xFFFFFFFF, length)), metric,
        IPv4Address(hop), tag),
    st.integers(0, 2**32 - 1), st.integers(0, 32), st.integers(0, 2**32 - 1),
    st.integers(0, 2**32 - 1), st.integers(0, 0xFFFF))


@settings(max_examples=300, deadline=None)
@given(st.lists(_entry, min_size=1, max_size=25), st.sampled_from([1, 2]))
def test_any_message_built_parses_back_the_same(entries: list[RipEntry], command: int) -> None:
    msg = parse_rip(build_rip(command, entries))
    assert (msg.command, list(msg.entries)) == (command, entries)


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=540))
def test_any_bytes_parse_or_raise_rip_error(data: bytes) -> None:
    try:
        msg = parse_rip(data)
    except RipError:
        return
    assert len(data) == 4 + 20 * (len(msg.entries) + msg.authenticated)
    # what was parsed is what the bytes say: rebuilt, the entries give the same bytes
    if msg.version == 2 and not msg.authenticated:
        assert build_rip(msg.command, msg.entries, 2)[4:] == data[4:]


def test_bad_messages_are_dropped_and_counted_not_learned() -> None:
    world = World(1)
    net = routers_from_edges(world, [("r1", "r2")])
    rip = enable_rip(net)
    world.run(until=5)
    r2 = net.node("r2")
    sock = r2.stack.udp.endpoint(PORT)
    assert sock is not None
    good = build_rip(RESPONSE, [RipEntry(IPv4Network("172.16.0.0/24"), 1)])
    before = len(net.node("r1").stack.routes)
    for data in (good[:10], b"\x03" + good[1:]):
        sock.sendto(data, (IPv4Address("10.1.0.1"), PORT), world.now)
    # entries a neighbour may not announce: metric 0 or 17, net 127, a multicast group
    odd = [RipEntry(IPv4Network("172.16.1.0/24"), 0), RipEntry(IPv4Network("172.16.2.0/24"), 17),
           RipEntry(IPv4Network("127.0.0.0/8"), 1), RipEntry(IPv4Network("224.1.0.0/16"), 1)]
    sock.sendto(build_rip(RESPONSE, odd), (IPv4Address("10.1.0.1"), PORT), world.now)
    world.run(until=6)
    counts = rip["r1"].counts
    assert net.node("r1").stack.counters["rip"]["drop.malformed"] == 2
    assert counts["drop.bad_entry"] == 4
    assert len(net.node("r1").stack.routes) == before
    with pytest.raises(UsageError, match="split_horizon"):
        RipConfig(split_horizon="sometimes")
    with pytest.raises(UsageError, match="cost"):
        RipConfig(cost=16)


# ---------------------------------------------------------------------- convergence
def test_fifty_random_routers_converge_to_shortest_paths() -> None:
    world = World(seed=22)
    edges, net = _graph(world)
    rip = enable_rip(net)
    world.run(until=90)
    graph = nx.Graph(edges)
    assert nx.is_connected(graph) and graph.number_of_nodes() == 50
    assert _mismatches(rip, net, graph, _networks(net, edges)) == []
    # triggered updates spread the routes in seconds, long before 30 s updates could
    assert rip.converged_at() < 20
    sent = rip.messages()
    assert sent["tx_triggered"] > 0 and sent["tx_update"] > 0
    assert sent["rx_response"] >= sent["tx_update"] + sent["tx_triggered"] - 50


@pytest.mark.parametrize("detect", [True, False])
def test_a_link_failure_reconverges_to_the_new_shortest_paths(detect: bool) -> None:
    world = World(seed=5)
    edges, net = _graph(world)
    links = _networks(net, edges)
    rip = enable_rip(net)
    world.run(until=60)
    graph = nx.Graph(edges)
    # a link on many shortest paths whose loss leaves the graph connected
    load = nx.edge_betweenness_centrality(graph)
    bridges = {frozenset(e) for e in nx.bridges(graph)}
    a, b = max((e for e in graph.edges if frozenset(e) not in bridges), key=lambda e: load[e])
    rip.fail_link(a, b, detect=detect)
    failed_at = world.now
    world.run(until=failed_at + (60 if detect else 300))
    graph.remove_edge(a, b)
    gone = net.node(a).stack.interfaces[f"to-{b}"].network
    # the failed link's own network: reached through the two routers still (their
    # interfaces keep their address), but no router counts it as directly connected now
    links.pop(gone)
    assert _mismatches(rip, net, graph, links) == []
    took = rip.converged_at() - failed_at
    if detect:
        # the losses spread by triggered updates in seconds; a router that lost its route
        # waits for a neighbour's next regular update (30 s +-5 s) to learn the detour
        assert took < 35 + 6, took
    else:
        assert 150 < took < 215 + 15, took  # the 180 s timeout, then triggered updates


def _line(config: RipConfig) -> tuple[World, RipDomain, IPv4Network]:
    world = World(seed=3)
    net = routers_from_edges(world, [("r1", "r2"), ("r2", "r3"), ("r3", "r4"), ("r4", "r5")])
    rip = enable_rip(net, config)
    world.run(until=100)
    far = net.node("r4").stack.interfaces["to-r5"].network
    assert [rip[r].metric(far) for r in ("r1", "r2", "r3")] == [4, 3, 2]
    rip.fail_link("r3", "r4")
    return world, rip, far


def _climb(rip: RipDomain, far: IPv4Network, since: float) -> tuple[int, float]:
    """The largest finite metric to `far` after `since`, and when the last router gave up."""
    changes = [(t, m) for r in ("r1", "r2", "r3") for t, n, m, _ in rip[r].history
               if n == far and t >= since]
    return max((m for _, m in changes if m < INFINITY), default=0), max(t for t, _ in changes)


def test_poisoned_reverse_stops_counting_to_infinity_that_split_horizon_off_shows() -> None:
    # without triggered updates, so only split horizon decides; r3 loses r4 (it sees its
    # interface go down) and with it r4-r5, which r2 heard of through r3
    world, rip, far = _line(RipConfig(triggered_updates=False, split_horizon="off"))
    t0 = world.now
    world.run(until=t0 + 600)
    highest, settled = _climb(rip, far, t0)
    # r2 tells r3 the route r3 gave it, and back: the metric counts up to 16 round by round
    assert highest >= 14 and settled - t0 > 150
    assert all(rip[r].metric(far) == INFINITY for r in ("r1", "r2", "r3"))

    # drawn: each router's metric climbs in stairs to 16
    fig = plot_rip_metric(rip, far, routers=["r1", "r2", "r3"])
    lines = fig.axes[0].get_lines()
    assert len(lines) == 3 and all(line.get_ydata()[-1] == INFINITY for line in lines)
    assert max(len(line.get_ydata()) for line in lines) > 5

    world, rip, far = _line(RipConfig(triggered_updates=False))  # poisoned reverse
    t0 = world.now
    world.run(until=t0 + 600)
    highest, settled = _climb(rip, far, t0)
    assert highest == 0 and settled - t0 < 2 * 35  # the 16 spreads one update per hop

    world, rip, far = _line(RipConfig())  # and with triggered updates: within a second
    t0 = world.now
    world.run(until=t0 + 600)
    highest, settled = _climb(rip, far, t0)
    assert highest == 0 and settled - t0 < 1


def test_connected_and_static_routes_win_over_rip() -> None:
    world = World(1)
    net = routers_from_edges(world, [("r1", "r2"), ("r2", "r3"), ("r1", "r3")])
    far = net.node("r2").stack.interfaces["to-r3"].network
    net.node("r1").stack.add_route(str(far), via="10.1.2.2")  # static: through r3
    rip = enable_rip(net)
    world.run(until=60)
    assert rip["r1"].metric(far) == 2
    used = [r for r in net.node("r1").stack.routes if r.network == far]
    assert len(used) == 1 and str(used[0].gateway) == "10.1.2.2"
    assert all(r.gateway is None for r in net.node("r2").stack.routes
               if r.network == far)


# ---------------------------------------------------------------------- data and pcaps
def test_data_crosses_the_learned_routes_on_a_shortest_path() -> None:
    world = World(seed=9)
    edges = random_edges(world.rng("graph"), 30, 10)
    net = routers_from_edges(world, edges)
    graph = nx.Graph(edges)
    far = max(graph.nodes, key=lambda r: nx.shortest_path_length(graph, "r1", r))
    hops = nx.shortest_path_length(graph, "r1", far)
    h1, h2 = add_host(net, "r1", "h1"), add_host(net, far, "h2")
    enable_rip(net)
    world.run(until=40)
    results = {}
    for ttl in (hops + 1, hops + 2):  # hops + 1 routers lie between h1 and h2
        run = world.env.process(ping(h1, h2.ip, count=3, interval=0.2, ttl=ttl))
        world.run(until=world.now + 5)
        results[ttl] = run.value
    assert results[hops + 2].received == 3
    assert results[hops + 1].received == 0 and results[hops + 1].errors == 3


def test_tshark_decodes_the_messages_as_ripv2_with_the_routes(
        tmp_path: Path, require_tool: Callable[[str], str]) -> None:
    tshark = require_tool("tshark")
    world = World(seed=1)
    net = routers_from_edges(world, [("r1", "r2"), ("r2", "r3")])
    pcap = tmp_path / "rip.pcap"
    with capture(net.links[0].a, pcap):
        enable_rip(net)
        world.run(until=65)
    out = subprocess.run(
        [tshark, "-r", str(pcap), "-o", "ip.check_checksum:TRUE", "-o",
         "udp.check_checksum:TRUE", "-Y", "rip", "-T", "fields", "-e", "ip.src", "-e",
         "ip.dst", "-e", "rip.version", "-e", "rip.command", "-e", "rip.ip", "-e",
         "rip.netmask", "-e", "rip.metric", "-e", "_ws.malformed", "-e", "_ws.expert.severity",
         "-e", "udp.checksum.status"],
        capture_output=True, text=True, timeout=120, check=True).stdout
    rows = [line.split("\t") for line in out.splitlines()]
    assert len(rows) >= 6
    for row in rows:
        version, malformed, severity, udp_checksum = row[2], row[7], row[8], row[9]
        # RIPv2, not malformed, no expert error, UDP checksum good (Wireshark's status 1)
        assert version == "2" and not malformed and "error" not in severity, row
        assert udp_checksum == "1", row
    # r1's updates to 224.0.0.9: its own link at 1, r2-r3 poisoned back to r2 at 16
    updates = {tuple(r[4:7]) for r in rows if r[0] == "10.1.0.1" and r[1] == "224.0.0.9"
               and r[3] == "2"}
    assert ("10.1.0.0,10.1.1.0", "255.255.255.0,255.255.255.0", "1,16") in updates
    # r2's: both its links at 1
    assert any(r[0] == "10.1.0.2" and r[4:7] == ["10.1.0.0,10.1.1.0",
               "255.255.255.0,255.255.255.0", "1,1"] for r in rows)


def test_a_restored_link_brings_back_the_first_shortest_paths() -> None:
    world = World(seed=8)
    edges, net = _graph(world, 20, 8)
    links = _networks(net, edges)
    rip = enable_rip(net)
    world.run(until=40)
    graph = nx.Graph(edges)
    bridges = {frozenset(e) for e in nx.bridges(graph)}
    a, b = next(e for e in edges if frozenset(e) not in bridges)
    rip.fail_link(a, b, at=50)
    rip.restore_link(a, b, at=120)
    world.run(until=110)
    assert rip[a].metric(net.node(a).stack.interfaces[f"to-{b}"].network) > 1
    world.run(until=200)
    assert _mismatches(rip, net, graph, links) == []


def _histories(seed: int) -> list[list[tuple[float, IPv4Network, int, IPv4Address | None]]]:
    world = World(seed=seed)
    _, net = _graph(world, 12, 4)
    rip = enable_rip(net)
    world.run(until=100)
    return [p.history for p in rip]


def test_runs_are_reproducible_from_the_seed() -> None:
    assert _histories(4) == _histories(4)
    # another seed: other graph, other jitter, so other times
    assert [[t for t, *_ in h] for h in _histories(4)] != \
        [[t for t, *_ in h] for h in _histories(5)]


def test_route_changes_are_trace_records() -> None:
    from netsim.trace import Recorder

    world = World(1)
    rec = Recorder()
    net = routers_from_edges(world, [("r1", "r2"), ("r2", "r3")], trace=rec)
    rip = enable_rip(net)
    world.run(until=10)
    routes = rec.events(kind="route", host="r1")
    assert [e.detail for e in routes][-1] == "10.1.1.0/24 metric 2 via 10.1.0.2 dev to-r2"
    assert len(routes) == len(rip["r1"].history) == rip["r1"].counts["route_changes"]


def test_bad_arguments_are_one_line_usage_errors() -> None:
    world = World(1)
    net = routers_from_edges(world, [("r1", "r2"), ("r2", "r3")])
    host = add_host(net, "r1", "h1")
    with pytest.raises(UsageError, match="routers: h1 is a host"):
        enable_rip(net, routers=["r1", "h1"])
    rip = enable_rip(net)
    with pytest.raises(UsageError, match="r1 already has UDP port 520 bound"):
        enable_rip(net, routers=["r1"])
    with pytest.raises(UsageError, match="not neighbours"):
        rip.fail_link("r1", "r3")
    with pytest.raises(UsageError, match="no RIP router named 'r9'"):
        rip.fail_link("r1", "r9")
    with pytest.raises(UsageError, match="no RIP process on 'h1'"):
        rip[host.name].table()
    with pytest.raises(UsageError, match="network: .*10.1.0.1/24 has host bits"):
        rip["r1"].metric("10.1.0.1/24")
    with pytest.raises(UsageError, match="interface: no 'eth9' on r1"):
        rip["r1"].interface_down("eth9", 0.0)
    with pytest.raises(UsageError, match="extra"):
        random_edges(world.rng("g"), 4, 10)
    with pytest.raises(UsageError, match="listed twice"):
        routers_from_edges(World(1), [("r1", "r2"), ("r2", "r1")])


def test_a_host_anywhere_can_ask_a_router_for_its_table() -> None:
    """RFC 2453 §3.9.1 request messages: a whole-table request and a request for given
    networks, from a port other than 520, answered to that port."""
    world = World(1)
    net = routers_from_edges(world, [("r1", "r2"), ("r2", "r3")])
    h1 = add_host(net, "r1", "h1")
    enable_rip(net)
    world.run(until=30)
    got: list[bytes] = []
    sock = h1.stack.udp.bind(0, lambda data, src, sport, now: got.append(data))
    r3 = IPv4Address("10.1.1.2")
    sock.sendto(whole_table_request().build(), (r3, PORT), world.now)
    query = [RipEntry(IPv4Network("192.168.1.0/24"), 0), RipEntry(IPv4Network("10.9.0.0/16"), 0)]
    sock.sendto(build_rip(1, query), (r3, PORT), world.now)
    world.run(until=32)
    assert len(got) == 2
    table = {(str(e.network), e.metric) for e in parse_rip(got[0]).entries}
    assert table == {("10.1.0.0/24", 2), ("10.1.1.0/24", 1), ("192.168.1.0/24", 3)}
    answer = [(str(e.network), e.metric) for e in parse_rip(got[1]).entries]
    assert answer == [("192.168.1.0/24", 3), ("10.9.0.0/16", INFINITY)]


@pytest.mark.parametrize("detect", [True, False])
def test_pings_are_lost_only_while_the_routes_converge(detect: bool) -> None:
    """h1 - r1 - r2 - r3 - h2, and a longer way r1 - r4 - r5 - r3. The short way fails at
    t = 60: pings are lost until r1 learns the long way, from r4's next regular update
    (within 35 s) when r1 sees its link go down, or after the 180 s timeout when it does not."""
    world = World(seed=2)
    net = routers_from_edges(world, [("r1", "r2"), ("r2", "r3"), ("r1", "r4"), ("r4", "r5"),
                                     ("r5", "r3")])
    h1, h2 = add_host(net, "r1", "h1"), add_host(net, "r3", "h2")
    rip = enable_rip(net)
    world.run(until=30)
    interval = 0.5
    run = world.env.process(ping(h1, h2.ip, count=int(300 / interval), interval=interval))
    rip.fail_link("r1", "r2", at=60, detect=detect)
    world.run(until=30 + 300 + 10)
    stats = run.value
    answered = {r.seq for r in stats.replies}
    sent_at = {seq: 30 + (seq - 1) * interval for seq in range(1, stats.transmitted + 1)}
    lost = [seq for seq in sent_at if seq not in answered]
    assert lost, "the failure cost some pings"
    first, last = sent_at[min(lost)], sent_at[max(lost)]
    assert 59 < first < 61  # from the failure on
    assert len(lost) == round((last - first) / interval) + 1  # one outage, then none
    if detect:
        assert last - 60 < 35 + 6
    else:
        assert 150 < last - 60 < 215
    assert lost[-1] < stats.transmitted - 10  # and the long way carries them after
    # the replies crossed r3 r2 r1 before, r3 r5 r4 r1 after
    assert {r.ttl for r in stats.replies if sent_at[r.seq] < first} == {64 - 3}
    assert {r.ttl for r in stats.replies if sent_at[r.seq] > last} == {64 - 4}
