"""Link-state routing (OSPFv2, RFC 2328) on netsim routers: the packets and their two
checksums, convergence to shortest paths on random weighted graphs (checked against networkx,
which knows nothing of netsim), re-convergence after failures and recoveries, the LSA of a
router gone away aging out, data through the routes and the pings lost while they converge,
malformed packets counted, and tshark reading the frames as OSPF."""

from __future__ import annotations

import random
import subprocess
from collections.abc import Callable
from ipaddress import IPv4Address
from pathlib import Path

import networkx as nx
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from netsim.apps.ping import ping
from netsim.errors import UsageError
from netsim.sim.ospf import (
    OspfDomain,
    add_host,
    edges_from_graph,
    enable_ospf,
    random_edges,
    read_topology,
    routers_from_edges,
)
from netsim.sim.topofile import parse_topology
from netsim.sim.topology import Network, capture
from netsim.sim.world import World
from netsim.stack.ospf import OspfConfig
from netsim.trace.plots import plot_ospf_cost
from netsim.wire.ospf import (
    INITIAL_SEQUENCE,
    LINK_POINT_TO_POINT,
    LINK_STUB,
    LS_ACK,
    LS_UPDATE,
    Hello,
    OspfError,
    RouterLink,
    build_hello,
    build_ls_ack,
    build_ls_update,
    build_router_lsa,
    fletcher,
    parse_lsa,
    parse_ospf,
)

A = IPv4Address
FAST = OspfConfig(hello_interval=1, dead_interval=4, retransmit_interval=1.0)


def _rfc905_checkbytes(data: bytes, n: int) -> bytes:
    """RFC 905 annex B.3, octet by octet as it is written (n: 1-based position of X)."""
    c0 = c1 = 0
    for octet in data[:n - 1] + b"\0\0" + data[n + 1:]:
        c0 = (c0 + octet) % 255
        c1 = (c1 + c0) % 255
    length = len(data)
    x = (-c1 + (length - n) * c0) % 255
    y = (c1 - (length - n + 1) * c0) % 255
    return bytes([x or 255, y or 255])


# ---------------------------------------------------------------------- wire format
def test_packets_round_trip_and_the_lsa_checksum_is_rfc_905s() -> None:
    links = [RouterLink(A("10.9.9.9"), A("10.1.0.1"), LINK_POINT_TO_POINT, 7),
             RouterLink(A("10.1.0.0"), A("255.255.255.0"), LINK_STUB, 7)]
    lsa = build_router_lsa(A("10.1.0.1"), INITIAL_SEQUENCE + 4, links, age=3)
    # RFC 2328 §12.1.7 LS checksum: over the LSA but its age, the checksum field at byte 16
    assert lsa.raw[16:18] == _rfc905_checkbytes(lsa.raw[2:], 15)
    assert parse_lsa(lsa.raw) == lsa and parse_lsa(lsa.aged(900).raw).header.age == 900
    pkt = parse_ospf(build_ls_update(A("10.1.0.1"), [lsa, lsa.aged(5)]))
    assert pkt.type == LS_UPDATE and pkt.router_id == A("10.1.0.1")
    assert [x.header.age for x in pkt.body] == [3, 5]  # type: ignore[union-attr]
    assert parse_ospf(build_ls_ack(A("1.2.3.4"), [lsa.header])) == \
        (LS_ACK, A("1.2.3.4"), A(0), (lsa.header,))
    hello = Hello(A("255.255.255.0"), 10, 40, (A("10.9.9.9"),))
    assert parse_ospf(build_hello(A("1.1.1.1"), hello)).body == hello
    rng = random.Random(5)
    for _ in range(300):
        data = bytes(rng.randrange(256) for _ in range(rng.randrange(4, 64)))
        at = rng.randrange(0, len(data) - 1)
        assert fletcher(data[:at] + b"\0\0" + data[at + 2:], at).to_bytes(2, "big") == \
            _rfc905_checkbytes(data, at + 1)


def test_malformed_packets_raise_ospf_error() -> None:
    lsa = build_router_lsa(A("10.1.0.1"), INITIAL_SEQUENCE, [
        RouterLink(A("10.1.0.0"), A("255.255.255.0"), LINK_STUB, 1)])
    good = build_ls_update(A("10.1.0.1"), [lsa])

    def patched(data: bytes, at: int, value: bytes) -> bytes:
        return data[:at] + value + data[at + len(value):]

    from netsim.wire.ospf import _packet  # rebuilds the packet checksum around a bad body

    bad = {
        "short": good[:20],
        "version 3": patched(good, 0, b"\x03"),
        "type 6": patched(good, 1, b"\x06"),
        "length beyond the data": patched(good, 2, (len(good) + 4).to_bytes(2, "big")),
        "packet checksum": patched(good, 12, bytes([good[12] ^ 0xFF])),
        "authentication 1": patched(good, 14, b"\x00\x01"),
        "lsa checksum": _packet(LS_UPDATE, A("10.1.0.1"), A(0),
                                good[24:24 + 4 + 20] + bytes([good[48] ^ 1]) + good[49:]),
        "lsa count too high": _packet(LS_UPDATE, A("10.1.0.1"), A(0),
                                      b"\0\0\0\2" + good[28:]),
        "link count too high": _packet(LS_UPDATE, A("10.1.0.1"), A(0), good[24:28] + patched(
            lsa.raw, 22, b"\x00\x02")),
        "ack of half a header": _packet(LS_ACK, A("10.1.0.1"), A(0), bytes(10)),
        "hello of odd length": _packet(1, A("10.1.0.1"), A(0), bytes(22)),
    }
    for what, data in bad.items():
        with pytest.raises(OspfError):
            parse_ospf(data)
            pytest.fail(what)


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=200), st.sampled_from([1, 4, 5]))
def test_any_bytes_parse_or_raise_ospf_error(tail: bytes, kind: int) -> None:
    from netsim.wire.ospf import _packet

    # with a good header and checksum, so the bytes reach the body parsers
    for data in (tail, _packet(kind, A("1.1.1.1"), A(0), tail)):
        try:
            pkt = parse_ospf(data)
        except OspfError:
            continue
        # what was parsed is what the bytes say: built again, the same bytes
        body = pkt.body
        if isinstance(body, Hello):
            again = build_hello(pkt.router_id, body, pkt.area_id)
        elif pkt.type == LS_UPDATE:
            again = build_ls_update(pkt.router_id, body, pkt.area_id)  # type: ignore[arg-type]
        else:
            again = build_ls_ack(pkt.router_id, body, pkt.area_id)  # type: ignore[arg-type]
        assert again == data[:len(again)] and len(again) == int.from_bytes(data[2:4], "big")


# ---------------------------------------------------------------------- convergence
def _weighted(seed: int, n: int, extra: int) -> tuple[World, nx.Graph, Network, OspfDomain]:
    world = World(seed=seed)
    rng = world.rng("graph")
    graph = nx.Graph()
    for a, b in random_edges(rng, n, extra):
        graph.add_edge(a, b, cost=rng.randint(1, 10))
    edges, costs = edges_from_graph(graph)
    net = routers_from_edges(world, edges)
    return world, graph, net, enable_ospf(net, FAST, costs=costs)


def _mismatches(ospf: OspfDomain, net: Network, graph: nx.Graph,
                stubs: tuple[tuple[str, str, int], ...] = ()) -> list[str]:
    """Every (router, network) whose OSPF cost is not networkx's shortest distance to the
    nearer end of the link plus the cost of that end's interface, or whose forwarding table
    sends it to a neighbour not on a shortest path. `stubs`: links not in `graph` whose
    network both ends still announce."""
    wrong = []
    links = {net.node(a).stack.interfaces[f"to-{b}"].network: (a, b, c)
             for a, b, c in [*graph.edges(data="cost"), *stubs]}
    dist = dict(nx.all_pairs_dijkstra_path_length(graph, weight="cost"))
    for router in graph.nodes:
        stack = net.node(router).stack
        for network, (a, b, c) in links.items():
            want = min(dist[router][a], dist[router][b]) + c
            got = ospf[router].cost(network)
            if got != want:
                wrong.append(f"{router} {network}: ospf {got}, want {want}")
                continue
            route = stack.routes.lookup(network.network_address)
            if route is None or route.network != network:
                wrong.append(f"{router} {network}: forwarding table has {route}")
            elif route.gateway is not None:
                hop = route.interface[3:]  # "to-r7": through r7
                via = graph[router][hop]["cost"] + min(dist[hop][a], dist[hop][b]) + c
                if via != want:
                    wrong.append(f"{router} {network}: via {hop} costs {via}, not {want}")
    return wrong


@pytest.mark.parametrize("seed,n,extra", [(1, 50, 25), (3, 30, 10), (4, 12, 20), (5, 20, 30)])
def test_random_weighted_graphs_converge_to_networkx_shortest_paths(
        seed: int, n: int, extra: int) -> None:
    world, graph, net, ospf = _weighted(seed, n, extra)
    world.run(until=20)
    assert nx.is_connected(graph) and graph.number_of_nodes() == n
    assert _mismatches(ospf, net, graph) == []
    # every router holds every router's LSA, and each is acknowledged by every neighbour
    assert all(len(p.lsdb) == n for p in ospf)
    assert all(not oi.neighbor.rxmt for p in ospf for oi in p.interfaces.values()
               if oi.neighbor is not None)
    # the second instance of each LSA (naming the neighbours) waits out MinLSInterval
    assert 5 <= ospf.converged_at() < 6
    sent = ospf.messages()
    assert sent["originated"] == 2 * n and sent["rx_lsa_new"] == sent["originated"] * (n - 1)


def test_a_failure_and_a_recovery_reconverge() -> None:
    world, graph, net, ospf = _weighted(7, 40, 20)
    full = graph.copy()
    load = nx.edge_betweenness_centrality(graph, weight="cost")
    bridges = {frozenset(e) for e in nx.bridges(graph)}
    a, b = max((e for e in graph.edges if frozenset(e) not in bridges), key=lambda e: load[e])
    ospf.fail_link(a, b, at=20)
    ospf.restore_link(a, b, at=40)
    ospf.snapshot_at([19, 39, 59])
    world.run(until=39)
    graph.remove_edge(a, b)
    gone = net.node(a).stack.interfaces[f"to-{b}"].network
    # the failed link's network is in no router-LSA now: no router has a route to it
    assert all(p.cost(gone) is None for p in ospf)
    assert _mismatches(ospf, net, graph) == []
    world.run(until=60)
    assert _mismatches(ospf, net, full) == []
    steps = {what: took for what, _, took in ospf.convergence()}
    # both ends see their interface change: new LSAs at once, flooded in milliseconds
    assert 0 < steps[f"fail {a}-{b}"] < 0.5 and 0 < steps[f"restore {a}-{b}"] < 6
    before, during, after = (tables for _, tables in ospf.snapshots)
    assert before == after != during


def test_failure_found_by_the_dead_interval_then_recovery() -> None:
    world, graph, net, ospf = _weighted(8, 20, 8)
    bridges = {frozenset(e) for e in nx.bridges(graph)}
    a, b = next(e for e in graph.edges if frozenset(e) not in bridges)
    world.run(until=10)
    full = graph.copy()
    ospf.fail_link(a, b, detect=False)  # the interfaces stay up: only the Hellos stop
    world.run(until=10 + 2.5)  # its last Hello came at most 1 s before the failure
    assert ospf[a].neighbors()[f"to-{b}"].endswith("full")
    world.run(until=20)
    assert f"to-{b}" not in ospf[a].neighbors()  # RouterDeadInterval (4 s) has passed
    graph.remove_edge(a, b)
    # the link's network stays a stub of both ends (their interfaces are up): reached
    # through either end, as the graph without the link says
    assert _mismatches(ospf, net, graph, ((a, b, full[a][b]["cost"]),)) == []
    took = next(t for what, at, t in ospf.convergence() if what.startswith("fail"))
    assert 3 < took < 4 + 1
    ospf.restore_link(a, b)
    world.run(until=40)
    assert _mismatches(ospf, net, full) == []


def test_the_lsa_of_a_router_gone_away_ages_out() -> None:
    world = World(seed=3)
    net = routers_from_edges(world, [("r1", "r2"), ("r2", "r3"), ("r3", "r4"), ("r4", "r1"),
                                     ("r2", "r5")])
    cfg = OspfConfig(hello_interval=1, dead_interval=4, retransmit_interval=1.0,
                     max_age=60, refresh_interval=20)
    ospf = enable_ospf(net, cfg)
    world.run(until=10)
    r5 = ospf["r5"].router_id
    key = (1, r5, r5)
    assert all(key in p.lsdb.entries for p in ospf)
    ospf.fail_link("r2", "r5", detect=False)  # r5 falls silent
    world.run(until=50)
    # r5's LSA is still in every database, but no router's shortest-path tree reaches r5
    assert all(key in p.lsdb.entries for p in ospf)
    assert all(r5 not in p.distances for p in ospf if p.stack.name != "r5")
    world.run(until=200)
    # others refresh their LSAs every 20 s and keep them; r5's reached MaxAge (60 s after
    # it was last refreshed) and was flushed from every database but r5's own
    others = [p for p in ospf if p.stack.name != "r5"]
    assert all(key not in p.lsdb.entries and len(p.lsdb) == 4 for p in others)
    assert all(p.counts["flushed"] >= 1 for p in others)
    assert sum(p.counts["maxage"] for p in others) >= 1
    assert all(p.counts["originated"] >= 200 // 20 for p in others)


def test_data_crosses_the_routes_and_pings_are_lost_only_while_they_converge() -> None:
    """h1 - r1 - r2 - r3 - h2, and a longer way r1 - r4 - r5 - r3. The short way fails at
    t = 30 without the routers seeing it: pings are lost until r1 and r3 declare the
    neighbour dead (4 s) and the new LSAs are flooded."""
    world = World(seed=2)
    net = routers_from_edges(world, [("r1", "r2"), ("r2", "r3"), ("r1", "r4"), ("r4", "r5"),
                                     ("r5", "r3")])
    h1, h2 = add_host(net, "r1", "h1"), add_host(net, "r3", "h2")
    ospf = enable_ospf(net, FAST)
    world.run(until=10)
    interval = 0.1
    run = world.env.process(ping(h1, h2.ip, count=300, interval=interval))
    ospf.fail_link("r1", "r2", at=20, detect=False)
    world.run(until=10 + 300 * interval + 2)
    stats = run.value
    answered = {r.seq for r in stats.replies}
    sent_at = {seq: 10 + (seq - 1) * interval for seq in range(1, stats.transmitted + 1)}
    lost = [seq for seq in sent_at if seq not in answered]
    first, last = sent_at[min(lost)], sent_at[max(lost)]
    assert 19.9 < first < 20.2 and len(lost) == round((last - first) / interval) + 1
    assert 22.5 < last < 25  # the dead interval, then flooding and SPF in milliseconds
    assert {r.ttl for r in stats.replies if sent_at[r.seq] < first} == {64 - 3}
    assert {r.ttl for r in stats.replies if sent_at[r.seq] > last} == {64 - 4}
    # drawn: r1's cost to h2's LAN over time, up when the short way went
    lan = h2.stack.interfaces["eth0"].network
    fig = plot_ospf_cost(ospf, lan, routers=["r1", "r4"], lost=[sent_at[s] for s in lost])
    lines = {line.get_label(): list(line.get_ydata()) for line in fig.axes[0].get_lines()}
    assert lines["r1"][-2:] == [4, 4] and 3 in lines["r1"]
    assert len(lines[f"lost ({len(lost)})"]) == len(lost)


# ---------------------------------------------------------------------- bad input
def test_malformed_and_unwelcome_packets_are_counted_drops() -> None:
    world = World(1)
    net = routers_from_edges(world, [("r1", "r2")])
    ospf = enable_ospf(net, FAST)
    world.run(until=8)
    r1, r2 = net.node("r1").stack, net.node("r2").stack
    rid2 = ospf["r2"].router_id
    routes = [str(r) for r in r1.routes]
    hello = Hello(A("255.255.255.0"), 1, 4, (ospf["r1"].router_id,))
    lsa = build_router_lsa(A("10.7.7.7"), INITIAL_SEQUENCE, [
        RouterLink(A("172.16.0.0"), A("255.255.0.0"), LINK_STUB, 1)])
    from netsim.wire.ospf import _packet

    raw = lsa.raw[:3] + b"\x05" + lsa.raw[4:16] + b"\0\0" + lsa.raw[18:]
    raw = raw[:16] + fletcher(raw[2:], 14).to_bytes(2, "big") + raw[18:]
    type5 = parse_lsa(raw)
    packets = [
        b"\x02\x01",                                            # malformed: short
        build_hello(rid2, hello)[:-1] + b"\x00",                # malformed: checksum
        build_hello(rid2, hello, area=A("0.0.0.1")),             # another area
        build_hello(rid2, hello._replace(hello_interval=2)),    # intervals that differ
        _packet(2, rid2, A(0), bytes(8)),                       # Database Description
        build_ls_update(A("10.7.7.7"), [lsa]),                  # from no adjacent router
        build_ls_update(rid2, [type5]),                         # not a router-LSA
    ]
    for data in packets:
        r2.send_ip(A("10.1.0.1"), 89, data, world.now)
    world.run(until=9)
    counts = r1.counters["ospf"]
    assert counts["drop.malformed"] == 2 and counts["drop.area"] == 1
    assert counts["drop.hello_mismatch"] == 1 and counts["drop.unsupported_type"] == 1
    assert counts["drop.not_adjacent"] == 1 and counts["drop.lsa_type"] == 1
    assert [str(r) for r in r1.routes] == routes and len(ospf["r1"].lsdb) == 2
    assert ospf["r1"].neighbors() == {"to-r2": f"{rid2} full"}


def test_a_newer_copy_of_our_own_lsa_is_outdone() -> None:
    """RFC 2328 §13.4 receiving self-originated LSAs: a neighbour floods an instance of r1's
    LSA with a higher sequence number (as after a restart); r1 originates a newer one."""
    world = World(1)
    net = routers_from_edges(world, [("r1", "r2"), ("r2", "r3")])
    ospf = enable_ospf(net, FAST)
    world.run(until=10)
    p1 = ospf["r1"]
    mine = p1.lsdb.entries[(1, p1.router_id, p1.router_id)].lsa.header.seq
    fake = build_router_lsa(p1.router_id, mine + 100, [])
    net.node("r2").stack.send_ip(A("10.1.0.1"), 89, build_ls_update(ospf["r2"].router_id,
                                                                     [fake]), world.now)
    world.run(until=20)
    for p in ospf:
        lsa = p.lsdb.entries[(1, p1.router_id, p1.router_id)].lsa
        assert lsa.header.seq == mine + 101 and list(lsa.links) == p1.router_lsa_links()
    assert p1.counts["rx_own_newer"] == 1


def test_bad_arguments_are_one_line_usage_errors(tmp_path: Path) -> None:
    world = World(1)
    net = routers_from_edges(world, [("r1", "r2"), ("r2", "r3")])
    host = add_host(net, "r1", "h1")
    with pytest.raises(UsageError, match="routers: h1 is a host"):
        enable_ospf(net, routers=["r1", "h1"])
    with pytest.raises(UsageError, match="costs: r1 and r3 are not neighbours"):
        enable_ospf(net, costs={("r1", "r3"): 2})
    ospf = enable_ospf(net)
    with pytest.raises(UsageError, match="r1 already runs OSPF"):
        enable_ospf(net, routers=["r1"])
    with pytest.raises(UsageError, match="not neighbours"):
        ospf.fail_link("r1", "r3")
    with pytest.raises(UsageError, match="no OSPF process on 'h1'"):
        ospf[host.name].table()
    with pytest.raises(UsageError, match="interface: no 'eth9' on r1"):
        ospf["r1"].interface_down("eth9", 0.0)
    for bad in ({"hello_interval": 0.5}, {"dead_interval": 5}, {"cost": 0},
                {"refresh_interval": 3600}, {"retransmit_interval": 0}):
        with pytest.raises(UsageError, match="OspfConfig"):
            OspfConfig(**bad)  # type: ignore[arg-type]
    for text, what in (('[[link]]\na = "r1"\n', "needs a and b"), ("x = 1", "unknown key"),
                       ('[[link]]\na = "r1"\nb = "r1"', "two named routers"),
                       ('[[link]]\na = "r1"\nb = "r2"\ncost = 0', "cost 0"), ("[[", "TOML")):
        with pytest.raises(UsageError, match=what):
            parse_topology(text)
    with pytest.raises(UsageError, match="cannot read"):
        read_topology(tmp_path / "none.toml")


def test_a_toml_topology_with_costs_routes_around_the_expensive_link(tmp_path: Path) -> None:
    path = tmp_path / "square.toml"
    path.write_text('[[link]]\na = "r1"\nb = "r2"\ncost = 10\n\n[[link]]\na = "r2"\n'
                    'b = "r3"\n\n[[link]]\na = "r3"\nb = "r4"\n\n[[link]]\na = "r4"\n'
                    'b = "r1"\n')
    edges, costs = read_topology(path)
    world = World(1)
    net = routers_from_edges(world, edges)
    ospf = enable_ospf(net, FAST, costs=costs)
    world.run(until=10)
    r2_r3 = net.node("r2").stack.interfaces["to-r3"].network
    # r1 reaches r2-r3 through r4 and r3 (cost 1 + 1 + 1), not over its cost-10 link to r2
    assert ospf["r1"].cost(r2_r3) == 3
    assert next(r for r in ospf["r1"].table() if r[0] == str(r2_r3))[3] == "to-r4"
    assert ospf["r2"].cost(net.node("r3").stack.interfaces["to-r4"].network) == 2


def test_runs_are_reproducible_and_changes_are_trace_records() -> None:
    from netsim.trace import Recorder

    def run(seed: int) -> tuple[list[object], Recorder]:
        world = World(seed)
        rec = Recorder()
        net = routers_from_edges(world, random_edges(world.rng("g"), 12, 4), trace=rec)
        ospf = enable_ospf(net, FAST)
        ospf.snapshot_at([15])
        world.run(until=20)
        return [p.history for p in ospf], rec

    first, rec = run(4)
    assert first == run(4)[0]
    routes = rec.events(kind="route", host="r1")
    assert routes and all(e.conn == "ospf" for e in routes)
    tables = rec.events(kind="table")
    assert len(tables) == 12 and all(e.time == 15 for e in tables)


# ---------------------------------------------------------------------- pcaps
def test_tshark_decodes_the_packets_as_ospf(tmp_path: Path,
                                            require_tool: Callable[[str], str]) -> None:
    tshark = require_tool("tshark")
    world = World(seed=1)
    net = routers_from_edges(world, [("r1", "r2"), ("r2", "r3")])
    pcap = tmp_path / "ospf.pcap"
    with capture(net.links[0].a, pcap):
        ospf = enable_ospf(net, FAST)
        world.run(until=12)
    out = subprocess.run(
        [tshark, "-r", str(pcap), "-o", "ip.check_checksum:TRUE", "-Y", "ospf", "-T",
         "fields", "-e", "ip.src", "-e", "ip.dst", "-e", "ip.proto", "-e", "ospf.msg", "-e",
         "ospf.srcrouter", "-e", "ospf.hello.active_neighbor", "-e", "ospf.lsa.router.linkid",
         "-e", "ospf.advrouter", "-e", "_ws.malformed", "-e", "_ws.expert.severity", "-e",
         "ip.checksum.status"],
        capture_output=True, text=True, timeout=120, check=True).stdout
    rows = [line.split("\t") for line in out.splitlines()]
    assert {r[3] for r in rows} == {"1", "4", "5"}  # Hello, LS Update, LS Acknowledgment
    for row in rows:
        assert row[1:3] == ["224.0.0.5", "89"] and not row[8] and not row[9], row
        assert row[10] == "1", row  # the IP header checksum is good
    rid1, rid2 = str(ospf["r1"].router_id), str(ospf["r2"].router_id)
    assert any(r[0] == "10.1.0.1" and r[3] == "1" and r[5] == rid2 for r in rows)
    # r2's last LSA: a point-to-point link to r1 and one to r3, and its two stub networks
    updates = [r for r in rows if r[0] == "10.1.0.2" and r[3] == "4" and r[7] == rid2]
    assert {rid1, "10.1.0.0", "10.1.1.0", str(ospf["r3"].router_id)} <= \
        set(updates[-1][6].split(","))
    # Wireshark checks the packet checksum (it shows no expert info for a bad one)
    detail = subprocess.run([tshark, "-r", str(pcap), "-Y", "ospf", "-O", "ospf", "-V"],
                            capture_output=True, text=True, timeout=120, check=True).stdout
    assert detail.count("[correct]") == len(rows) and "incorrect" not in detail


def test_the_example_topology_fails_and_recovers_as_the_docs_show(repo_root: Path) -> None:
    """docs/architecture.md §9's example: examples/topologies/mesh.toml, r1-r2 failing at 30 s
    and back at 60 s, found by the dead interval."""
    edges, costs = read_topology(repo_root / "examples" / "topologies" / "mesh.toml")
    graph = nx.Graph()
    graph.add_edges_from((a, b, {"cost": costs.get((a, b), 1)}) for a, b in edges)
    world = World(seed=7)
    net = routers_from_edges(world, edges)
    ospf = enable_ospf(net, FAST, costs=costs)
    ospf.fail_link("r1", "r2", at=30, detect=False)
    ospf.restore_link("r1", "r2", at=60)
    ospf.snapshot_at([29, 59, 89])
    world.run(until=90)
    assert _mismatches(ospf, net, graph) == []
    r3_r4 = net.node("r3").stack.interfaces["to-r4"].network
    costs_to = [next(c for n, c, _, _ in tables["r1"] if n == str(r3_r4))
                for _, tables in ospf.snapshots]
    # r1 to r3-r4: r1 r2 r3 (+1) = 3; without r1-r2: r1 r6 r5 r4 (+1) = 4; then 3 again
    assert costs_to == [3, 4, 3]
    (_, _, start), (_, _, fail), (_, _, back) = ospf.convergence()
    assert 5 <= start < 6 and 3 < fail < 5 and 0 < back < 1


_link = st.builds(RouterLink, st.integers(0, 2**32 - 1).map(A), st.integers(0, 2**32 - 1).map(A),
                  st.integers(0, 5), st.integers(0, 0xFFFF))


@settings(max_examples=25, deadline=None)
@example([("10.1.0.1", 0x7FFFFFFF, 0, []), ("10.1.1.2", 0x7FFFFFFF, 3600, [])])
@given(st.lists(st.tuples(st.sampled_from(["10.1.0.2", "10.1.1.2", "10.9.9.9", "10.1.0.1"]),
                          st.integers(INITIAL_SEQUENCE, 0x7FFFFFFF), st.integers(0, 0xFFFF),
                          st.lists(_link, max_size=6)), min_size=1, max_size=4))
def test_any_router_lsas_from_a_neighbour_leave_the_process_working(
        lsas: list[tuple[str, int, int, list[RouterLink]]]) -> None:
    """Well-formed LSAs saying anything (our own router ID, sequence numbers at the top, any
    age, links of any type to anything, masks that are not masks) are flooded and used or
    dropped; the routers still route between them once the LSAs are refreshed or aged out."""
    world = World(1)
    net = routers_from_edges(world, [("r1", "r2"), ("r2", "r3")])
    cfg = OspfConfig(hello_interval=1, dead_interval=4, retransmit_interval=1.0, max_age=40,
                     refresh_interval=10)
    ospf = enable_ospf(net, cfg)
    world.run(until=6)
    update = build_ls_update(ospf["r2"].router_id, [
        build_router_lsa(A(rid), seq, links, age=age) for rid, seq, age, links in lsas])
    net.node("r2").stack.send_ip(A("10.1.0.1"), 89, update, world.now)
    world.run(until=60)
    far = net.node("r2").stack.interfaces["to-r3"].network
    assert ospf["r1"].cost(far) == 2 and ospf["r3"].cost("10.1.0.0/24") == 2
    assert all(oi.neighbor is not None and oi.neighbor.state == "full"
               for p in ospf for oi in p.interfaces.values())
