"""Ethernet switches: the learning bridge (netsim/stack/switch.py) on its own, its driver
(netsim/switchnode.py) and LANs built by netsim/sim/switched.py."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from netsim.apps.bulk import bulk_sender, bulk_sink
from netsim.apps.ping import ping
from netsim.errors import UsageError
from netsim.sim.link import Link, LinkConfig
from netsim.sim.switched import lan, make_switch
from netsim.sim.topology import capture
from netsim.sim.world import World
from netsim.stack.events import MacTableRecord, SwitchRecord
from netsim.stack.switch import DEFAULT_AGEING_TIME, Bridge
from netsim.trace import Recorder, read_jsonl
from netsim.wire.ethernet import build_ethernet
from netsim.wire.mac import BROADCAST, MacAddress

A, B, C, D = (MacAddress.local(i) for i in (1, 2, 3, 4))


def frame(dst: bytes, src: bytes) -> bytes:
    return build_ethernet(dst, src, 0x0800, b"\x45" + bytes(45))


class Wires:
    """A bridge whose transmissions are kept as (port, frame)."""

    def __init__(self, ports: int = 4, **kw: object) -> None:
        self.rec = Recorder(kinds={"mac", "switch", "drop"})
        self.bridge = Bridge("s1", ports, trace=self.rec, trace_frames=True,
                             **kw)  # type: ignore[arg-type]
        self.sent: list[tuple[str, bytes]] = []
        self.bridge.transmit = lambda port, f: self.sent.append((port, bytes(f)))  # type: ignore[arg-type]

    def rx(self, port: str, dst: bytes, src: bytes, now: float = 0.0) -> list[str]:
        self.sent.clear()
        self.bridge.receive(port, frame(dst, src), now)
        return sorted(p for p, _ in self.sent)


# ---------------------------------------------------------------------- the bridge alone
def test_unknown_unicast_is_flooded_then_the_answer_goes_to_one_port_only() -> None:
    w = Wires()
    assert w.rx("p1", B, A) == ["p2", "p3", "p4"]  # B unknown: flooded, never back to p1
    assert w.bridge.lookup(A) == "p1"  # learned from the source
    assert w.rx("p2", A, B) == ["p1"]  # A known: forwarded to its port only
    assert w.rx("p1", B, A) == ["p2"]  # and now B is known too
    counts = w.bridge.counts
    assert (counts["flooded"], counts["forwarded"], counts["learned"]) == (1, 2, 2)
    assert [(r.mac, r.port, r.event) for r in w.rec.mac_table()] == [
        (str(A), "p1", "learn"), (str(B), "p2", "learn")]
    assert [(r.action, r.out, r.reason) for r in w.rec.switching()] == [
        ("flood", "p2,p3,p4", "unknown"), ("forward", "p1", ""), ("forward", "p2", "")]


def test_broadcast_and_multicast_are_flooded_even_to_a_known_port() -> None:
    w = Wires()
    w.rx("p2", A, B)
    assert w.rx("p1", BROADCAST, A) == ["p2", "p3", "p4"]
    assert w.rx("p1", MacAddress("33:33:00:00:00:01"), A) == ["p2", "p3", "p4"]
    assert [r.reason for r in w.rec.switching("s1", "flood")] == [
        "unknown", "broadcast", "multicast"]


def test_a_frame_for_the_port_it_came_in_on_is_filtered() -> None:
    w = Wires()
    w.rx("p1", B, A)
    w.rx("p1", A, B)  # B sits on the same segment as A (behind a hub, say)
    assert w.bridge.lookup(B) == "p1"
    assert w.rx("p1", B, A) == []
    assert w.bridge.counts["filtered"] == 2  # the frame to A, too
    assert w.rec.switching(action="filter")[0].in_port == "p1"


def test_a_host_that_moves_is_relearned_on_its_new_port() -> None:
    w = Wires()
    w.rx("p1", BROADCAST, A, 1.0)
    assert w.rx("p2", A, B, 2.0) == ["p1"]
    w.rx("p3", BROADCAST, A, 3.0)  # A plugged into p3 now
    assert w.bridge.lookup(A) == "p3"
    assert w.rx("p2", A, B, 4.0) == ["p3"]
    assert w.rec.mac_table()[-1] == MacTableRecord(3.0, "s1", str(A), "p3", "move", 2)
    assert w.bridge.counts["moved"] == 1


def test_bad_frames_are_dropped_and_counted_never_learned() -> None:
    w = Wires()
    w.sent.clear()
    w.bridge.receive("p1", b"\x00" * 13, 0.0)
    assert w.rx("p1", B, MacAddress("01:00:5e:00:00:01")) == []  # a group source address
    assert w.rx("p1", MacAddress("01:80:c2:00:00:00"), A) == []  # STP: never forwarded
    assert w.rx("p1", MacAddress("01:80:c2:00:00:0e"), A) == []  # LLDP
    assert w.rx("p1", MacAddress("01:80:c2:00:00:10"), A) == ["p2", "p3", "p4"]  # not reserved
    drops = {k: n for k, n in w.bridge.counts.items() if k.startswith("drop.")}
    assert drops == {"drop.malformed": 1, "drop.group_source": 1, "drop.reserved": 2}
    assert list(w.bridge.table()) == [A]
    assert [r.reason for r in w.rec.switching(action="drop")] == [
        "malformed: 13-byte frame", "group_source", "reserved", "reserved"]
    assert [(d.where, d.reason, d.detail) for d in w.rec.drops()] == [
        ("switch", "malformed", "port p1: 13-byte frame"), ("switch", "group_source", "port p1"),
        ("switch", "reserved", "port p1"), ("switch", "reserved", "port p1")]


def test_a_full_table_learns_no_more_and_floods_frames_to_the_unlearned() -> None:
    w = Wires(table_size=2)
    w.rx("p1", BROADCAST, A)
    w.rx("p2", BROADCAST, B)
    w.rx("p3", BROADCAST, C)  # no room for C
    assert len(w.bridge) == 2 and w.bridge.lookup(C) is None
    assert w.bridge.counts["not_learned.table_full"] == 1
    assert w.rx("p1", C, A) == ["p2", "p3", "p4"]  # flooded: the switch is a hub for C
    assert w.rx("p1", B, A) == ["p2"]
    assert w.rec.mac_table()[-1].event == "full"


def test_entries_age_out_after_the_ageing_time_unless_refreshed() -> None:
    assert DEFAULT_AGEING_TIME == 300.0  # IEEE 802.1D-2004's recommended ageing time
    w = Wires(ageing_time=10.0)
    w.rx("p1", BROADCAST, A, 0.0)
    w.rx("p2", BROADCAST, B, 0.0)
    w.rx("p2", A, B, 6.0)  # B refreshed at 6; A not
    assert w.bridge.timers.next_deadline() == 10.0
    w.bridge.poll(9.99)
    assert w.bridge.lookup(A) == "p1"
    w.bridge.poll(10.0)
    assert w.bridge.lookup(A) is None and w.bridge.lookup(B) == "p2"
    assert w.bridge.timers.next_deadline() == 16.0
    assert w.rx("p2", A, B, 12.0) == ["p1", "p3", "p4"]  # A forgotten: flooded again
    ages = [(r.time, r.mac) for r in w.rec.mac_table() if r.event == "age"]
    assert ages == [(10.0, str(A))]
    assert w.bridge.counts["aged"] == 1


def test_an_entry_due_to_age_is_not_used_even_before_the_timer_runs() -> None:
    w = Wires(ageing_time=10.0)
    w.rx("p1", BROADCAST, A, 0.0)
    assert w.rx("p2", A, B, 10.0) == ["p1", "p3", "p4"]  # same instant as the deadline
    assert [r.event for r in w.rec.mac_table()] == ["learn", "learn", "age"]


def test_flush_forgets_a_port_or_everything() -> None:
    w = Wires()
    w.rx("p1", BROADCAST, A)
    w.rx("p2", BROADCAST, B)
    w.bridge.flush(1.0, "p1")
    assert list(w.bridge.table()) == [B]
    w.bridge.flush(2.0)
    assert not w.bridge.table()
    with pytest.raises(UsageError, match="port: 'p9'"):
        w.bridge.flush(3.0, "p9")


@pytest.mark.parametrize("kw,match", [
    ({"ageing_time": 0}, "ageing_time: 0 is not allowed"),
    ({"ageing_time": float("inf")}, "ageing_time"),
    ({"ageing_time": "300"}, "ageing_time"),
    ({"table_size": 0}, "table_size: 0 is not allowed"),
    ({"table_size": 2.5}, "table_size"),
    ({"ports": -1}, "ports: -1 is not allowed"),
    ({"ports": ["p1", "p1"]}, "port: 'p1' already exists"),
    ({"ports": [""]}, "port: '' is not a port name"),
])
def test_bad_arguments_name_themselves(kw: dict[str, object], match: str) -> None:
    with pytest.raises(UsageError, match=match):
        Bridge("s", **kw)  # type: ignore[arg-type]


# ---------------------------------------------------------------------- LANs in a simulation
def test_ping_across_two_switches_and_what_they_learn() -> None:
    world = World(seed=3)
    rec = Recorder()
    net = lan(world, hosts=4, switches=2, config=LinkConfig(delay=0.001, rate_bps=100e6),
              trace=rec)
    h1, h2, h3, h4 = net.hosts
    s1, s2 = net.switches
    proc = world.env.process(ping(h1, "10.0.0.4", count=3))
    world.run(10)
    stats = proc.value
    assert stats.loss == 0.0
    # three 1 ms links each way, once ARP is done
    assert all(0.006 <= rtt < 0.0061 for rtt in stats.rtts[1:])
    assert s1.bridge.table() == {h1.stack.interfaces["eth0"].mac: "h1",
                                 h2.stack.interfaces["eth0"].mac: "h2",
                                 h3.stack.interfaces["eth0"].mac: "s2",
                                 h4.stack.interfaces["eth0"].mac: "s2"}
    assert s2.bridge.lookup(h1.stack.interfaces["eth0"].mac) == "s1"
    assert {r.host for r in rec.mac_table()} == {"s1", "s2"}
    assert not rec.switching()  # per-frame records only when asked for by name


def test_unicast_reaches_only_its_destination_and_ageing_runs_in_sim_time() -> None:
    world = World(seed=3)
    rec = Recorder(kinds={"mac", "switch"})
    net = lan(world, hosts=[2, 1], switches=2, trace=rec, ageing_time=30.0)
    h1, h2, h3 = net.hosts
    world.env.process(ping(h1, "10.0.0.3", count=5, interval=1.0))
    world.run(10)
    before = h2.stack.eth_counts["rx"]
    world.env.process(ping(h1, "10.0.0.3", count=5, interval=1.0))
    world.run(20)
    assert h2.stack.eth_counts["rx"] == before  # the switch does not send it h1's pings
    assert rec.switching("s1", "forward")
    # nothing is sent after 15 s: every entry ages out 30 s after it was last refreshed
    world.run(60)
    assert all(len(s.bridge) == 0 for s in net.switches)
    ages = [r for r in rec.mac_table() if r.event == "age"]
    last_seen = {(r.host, r.src): r.time for r in rec.switching()}
    for r in ages:  # exactly the ageing time after the switch last saw the address
        assert r.time == pytest.approx(last_seen[(r.host, r.mac)] + 30.0)
    assert len(ages) == 6  # three hosts known by two switches


def test_tcp_across_a_switch_runs_at_the_link_rate(tmp_path: Path) -> None:
    world = World(seed=5)
    rate = 10e6
    net = lan(world, hosts=3, config=LinkConfig(delay=0.002, rate_bps=rate, queue_packets=100))
    h1, h2, h3 = net.hosts
    nbytes = 2_000_000
    sink = world.env.process(bulk_sink(h2, 5001))
    world.env.process(bulk_sender(h1, "10.0.0.2", 5001, nbytes))
    world.run(30)
    res = sink.value
    assert res.bytes_received == nbytes
    assert res.first_byte_at is not None and res.last_byte_at is not None
    goodput = nbytes * 8 / (res.last_byte_at - res.first_byte_at)
    # payload of 1448 in a 1514-byte frame: at most ~95.6 % of the rate
    assert 0.85 * rate < goodput < 0.96 * rate
    assert h3.stack.eth_counts["rx"] < 10  # a switch, not a hub: h3 saw ARP and little else


def test_a_loop_of_switches_is_refused_before_it_can_storm() -> None:
    world = World()
    s1, s2, s3 = (make_switch(world, f"s{i}") for i in (1, 2, 3))
    l12, l23, l31 = Link(world, name="l12"), Link(world, name="l23"), Link(world, name="l31")
    s1.attach("s2", l12.a)
    s2.attach("s1", l12.b)
    s2.attach("s3", l23.a)
    s3.attach("s2", l23.b)
    s3.attach("s1", l31.a)
    with pytest.raises(UsageError, match=r"'s3' of s1 would close a loop of switches "
                                         r"\(s3 — s2 — s1 — s3\).*no spanning tree"):
        s1.attach("s3", l31.b)
    twice = Link(world, name="again")
    s1.attach("s2-again", twice.a)
    with pytest.raises(UsageError, match="loop of switches"):
        s2.attach("s1-again", twice.b)
    self_loop = Link(world, name="self")
    s3.attach("x", self_loop.a)
    with pytest.raises(UsageError, match=r"\(s3 — s3\)"):
        s3.attach("y", self_loop.b)
    with pytest.raises(UsageError, match="'s2' of s1 is already plugged in"):
        s1.attach("s2", Link(world).a)
    with pytest.raises(UsageError, match="already plugged into s2"):
        s1.attach("z", l12.b)


@pytest.mark.parametrize("kw,match", [
    ({"hosts": 0}, "hosts: 0 is not allowed"),
    ({"hosts": 300}, "hosts: 300 hosts in all"),
    ({"hosts": [1, 2], "switches": 3}, "2 counts given for 3 switches"),
    ({"hosts": "4"}, "hosts: '4' is not allowed"),
    ({"switches": 0}, "switches: 0 is not allowed"),
])
def test_lan_arguments_are_checked(kw: dict[str, object], match: str) -> None:
    with pytest.raises(UsageError, match=match):
        lan(World(), **kw)  # type: ignore[arg-type]


def test_switch_records_round_trip_through_jsonl(tmp_path: Path) -> None:
    world = World()
    rec = Recorder(kinds={"mac", "switch"})
    net = lan(world, hosts=2, trace=rec)
    world.env.process(ping(net.hosts[0], "10.0.0.2", count=1))
    world.run(5)
    assert rec.mac_table() and rec.switching()
    back = read_jsonl(rec.to_jsonl(tmp_path / "t.jsonl"))
    assert back.records == rec.records
    assert all(isinstance(r, (MacTableRecord, SwitchRecord)) for r in back.records)


def test_pcaps_across_switches_open_cleanly_in_tshark(
        tmp_path: Path, require_tool: Callable[[str], str]) -> None:
    tshark = require_tool("tshark")
    world = World(seed=2)
    net = lan(world, hosts=4, switches=2, config=LinkConfig(delay=0.001, rate_bps=10e6))
    path = tmp_path / "s.pcap"
    with capture(net.links[0].a, path):  # the s1 — s2 link
        world.env.process(ping(net.hosts[0], "10.0.0.4", count=2))
        world.env.process(bulk_sink(net.hosts[3], 5001))
        world.env.process(bulk_sender(net.hosts[1], "10.0.0.4", 5001, 50_000))
        world.run(10)
    proc = subprocess.run(
        [tshark, "-r", str(path), "-o", "tcp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE",
         "-T", "fields", "-e", "frame.protocols", "-e", "_ws.expert.message",
         "-e", "_ws.malformed", "-e", "ip.checksum.status", "-e", "tcp.checksum.status"],
        capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    rows = [(line.split("\t") + [""] * 5)[:5] for line in proc.stdout.splitlines()]
    assert len(rows) > 40
    for protocols, expert, malformed, ip_ck, tcp_ck in rows:
        assert "malformed" not in protocols.lower() and not malformed
        assert "bad" not in expert.lower(), expert
        assert ip_ck in ("", "1") and tcp_ck in ("", "1")
    protos = {r[0] for r in rows}
    assert {"eth:ethertype:arp", "eth:ethertype:ip:icmp:data", "eth:ethertype:ip:tcp"} <= protos


# ---------------------------------------------------------------------- the table drawn
def _two_pings(ageing: float) -> tuple[Recorder, dict[str, str]]:
    world = World(seed=1)
    rec = Recorder()
    net = lan(world, hosts=[2, 2], switches=2, trace=rec, ageing_time=ageing)

    def scenario(env: object) -> object:
        yield world.env.process(ping(net.hosts[0], "10.0.0.4", count=3))
        yield world.env.timeout(10)
        yield world.env.process(ping(net.hosts[1], "10.0.0.3", count=3))

    world.env.process(scenario(world.env))  # type: ignore[arg-type]
    world.run(60)
    return rec, net.mac_names()


def test_the_mac_table_drawn_over_time_is_the_records() -> None:
    from matplotlib.collections import PolyCollection

    from netsim.trace.plots import mac_table_data, plot_mac_table

    rec, names = _two_pings(20.0)
    data = mac_table_data(rec, "s1")
    by = {names[mac]: (port, start, end, how) for mac, port, start, end, how in data.stays}
    # learned from the gratuitous ARPs at 0; h1 and h4 last seen at 2 (the third ping), h2
    # and h3 at 14: each aged out 20 s later
    assert by == {"h1": ("h1", 0.0, 22.0, "age"), "h4": ("s2", 0.0, 22.0, "age"),
                  "h2": ("h2", 0.0, 34.0, "age"), "h3": ("s2", 0.0, 34.0, "age")}
    assert [n for _, n in data.size] == [1, 2, 3, 4, 3, 2, 1, 0]
    fig = plot_mac_table(rec, "s1", names=names)
    table, sizes = fig.axes[:2]
    bars = [c for c in table.collections if isinstance(c, PolyCollection)]
    assert len(bars) == 4
    assert [t.get_text() for t in table.get_yticklabels()] == ["h1", "h2", "h3", "h4"]
    assert len([ln for ln in table.get_lines() if ln.get_marker() == "x"]) == 4
    assert list(sizes.get_lines()[0].get_ydata())[-2:] == [0, 0]
    with pytest.raises(UsageError, match="switch: 's9' has no MAC table records"):
        plot_mac_table(rec, "s9")
    with pytest.raises(UsageError, match="no MAC table records"):
        plot_mac_table(Recorder())


class BytesPort:
    """A port like a live TAP device: ``send`` and ``attach`` only, bytes both ways."""

    def __init__(self) -> None:
        self.sent: list[object] = []
        self.receiver: Callable[[bytes], None] | None = None

    def send(self, frame: bytes) -> None:
        self.sent.append(frame)

    def attach(self, receiver: Callable[[bytes], None]) -> None:
        self.receiver = receiver


def test_a_port_without_lazy_frames_gets_bytes_and_its_frames_are_switched() -> None:
    from ipaddress import IPv4Address

    from netsim.wire.arp import OP_REQUEST, ArpPacket, parse_arp
    from netsim.wire.lazyframe import LazyFrame
    from netsim.wire.tcp import TCPSegment

    world = World()
    net = lan(world, hosts=2)
    s1 = net.switches[0]
    tap = BytesPort()
    s1.attach("tap", tap)
    world.run(1)
    # the hosts' gratuitous ARPs were flooded to it, as bytes
    assert len(tap.sent) == 2 and all(type(f) is bytes for f in tap.sent)
    # a frame from the outside: an ARP request for h2, which answers through the switch
    kernel = MacAddress("02:aa:00:00:00:01")
    request = ArpPacket(OP_REQUEST, kernel, IPv4Address("10.0.0.99"), MacAddress(bytes(6)),
                        IPv4Address("10.0.0.2"))
    assert tap.receiver is not None
    tap.receiver(build_ethernet(BROADCAST, kernel, 0x0806, request.build()))
    world.run(2)
    reply = tap.sent[-1]
    assert isinstance(reply, bytes) and reply[0:6] == kernel
    assert parse_arp(reply[14:]).sender_ip == IPv4Address("10.0.0.2")
    assert s1.bridge.lookup(kernel) == "tap"
    # a TCP frame between netsim hosts, flooded: it reaches the TAP-like port built
    seg = TCPSegment(40000, 80, 1, 0, 0x02, 65535)
    lazy = LazyFrame(MacAddress.local(77), net.hosts[0].stack.interfaces["eth0"].mac,
                     IPv4Address("10.0.0.1"), IPv4Address("10.0.0.77"), 64, 1, seg, b"")
    s1.bridge.receive("h1", lazy, 2.0)
    assert tap.sent[-1] == lazy.raw()


# ---------------------------------------------------------------------- 802.1Q VLANs
def test_vlans_separate_floods_and_tables_and_trunks_carry_tags() -> None:
    from netsim.wire.vlan import tag, vlan_of

    w = Wires()
    w.bridge.access("p1", 10)
    w.bridge.access("p2", 20)
    w.bridge.access("p3", 10)
    w.bridge.trunk("p4", [10, 20])
    assert w.bridge.vlans_of("p4") == (None, frozenset({10, 20}))
    w.sent.clear()
    w.bridge.receive("p1", frame(BROADCAST, A), 0.0)
    out = dict(w.sent)
    assert sorted(out) == ["p3", "p4"]  # not p2: VLAN 20
    assert vlan_of(out["p3"]) is None and vlan_of(out["p4"]) == 10
    assert out["p4"] == tag(frame(BROADCAST, A), 10)
    # a frame tagged 20 on the trunk goes to VLAN 20's access port, untagged
    w.sent.clear()
    w.bridge.receive("p4", tag(frame(BROADCAST, A), 20), 1.0)
    assert w.sent == [("p2", frame(BROADCAST, A))]
    # one table per VLAN: A is on p1 in VLAN 10 and behind the trunk in VLAN 20
    assert (w.bridge.lookup(A, 10), w.bridge.lookup(A, 20), w.bridge.lookup(A)) == \
        ("p1", "p4", None)
    assert w.rx("p2", A, B) == ["p4"]  # VLAN 20's A, tagged on the trunk
    assert vlan_of(w.sent[0][1]) == 20
    # what a port does not carry is dropped: untagged frames on a trunk with no native VLAN,
    # VLAN 30 on the trunk, VLAN 20 on an access port of VLAN 10
    assert w.rx("p4", BROADCAST, C, 2.0) == []
    w.bridge.receive("p4", tag(frame(BROADCAST, C), 30), 2.0)
    w.bridge.receive("p1", tag(frame(BROADCAST, C), 20), 2.0)
    assert w.bridge.counts["drop.vlan_ingress"] == 3
    w.bridge.receive("p1", tag(frame(BROADCAST, C), 0), 3.0)  # a priority tag: VLAN 10
    assert w.bridge.lookup(C, 10) == "p1"
    assert {r.vlan for r in w.rec.mac_table()} == {10, 20}


def test_a_trunks_native_vlan_travels_untagged() -> None:
    w = Wires(ports=2)
    w.bridge.access("p1", 5)
    w.bridge.trunk("p2", [5, 6], native=5)
    assert w.rx("p1", BROADCAST, A) == ["p2"]
    assert w.sent[0][1] == frame(BROADCAST, A)
    assert w.rx("p2", BROADCAST, B) == ["p1"]  # untagged in: VLAN 5


@pytest.mark.parametrize("call,match", [
    (lambda b: b.access("p1", 4095), "vlan: 4095 is not a VLAN; use 1..4094"),
    (lambda b: b.access("p1", 0), "vlan: 0 is not a VLAN"),
    (lambda b: b.access("p9", 10), "port: 'p9' is not a port of s1"),
    (lambda b: b.trunk("p1", 10), "vlans: 10 is not a collection"),
    (lambda b: b.trunk("p1", [10], native=5000), "native: 5000 is not a VLAN"),
])
def test_bad_vlan_settings_name_themselves(call: Callable[[Bridge], None], match: str) -> None:
    with pytest.raises(UsageError, match=match):
        call(Wires().bridge)


def test_hosts_in_different_vlans_cannot_reach_each_other(
        tmp_path: Path, require_tool: Callable[[str], str]) -> None:
    world = World(seed=4)
    net = lan(world, hosts=4, switches=2, vlans=[10, 20, 10, 20],
              config=LinkConfig(delay=0.001, rate_bps=10e6))
    h1, h2, h3, h4 = net.hosts
    path = tmp_path / "trunk.pcap"
    with capture(net.links[0].a, path):  # the s1 — s2 trunk
        same = world.env.process(ping(h1, "10.0.0.3", count=2))
        other = world.env.process(ping(h1, "10.0.0.2", count=2, timeout=1.0))
        world.env.process(bulk_sink(h4, 5001))
        world.env.process(bulk_sender(h2, "10.0.0.4", 5001, 20_000))
        world.run(10)
    assert same.value.received == 2
    assert other.value.received == 0  # h2 is in VLAN 20: ARP for it never reaches it
    assert h2.stack.counters["arp"]["rx_request"] == 0
    s1 = net.switches[0].bridge
    h1_mac = h1.stack.interfaces["eth0"].mac
    assert s1.lookup(h1_mac, 10) == "h1" and s1.lookup(h1_mac, 20) is None
    with pytest.raises(UsageError, match="vlans: .* one VLAN per host"):
        lan(World(), hosts=3, vlans=[1, 2])
    tshark = require_tool("tshark")
    proc = subprocess.run([tshark, "-r", str(path), "-T", "fields", "-e", "frame.protocols",
                           "-e", "vlan.id", "-e", "_ws.malformed", "-e", "_ws.expert.message"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    rows = [(line.split("\t") + [""] * 4)[:4] for line in proc.stdout.splitlines()]
    assert rows and all(r[0].startswith("eth:ethertype:vlan:ethertype:") for r in rows)
    assert {r[1] for r in rows} == {"10", "20"}
    assert not any(r[2] or "malformed" in r[0] or "bad" in r[3].lower() for r in rows)
    assert any(r[0].endswith("ip:tcp") and r[1] == "20" for r in rows)


def test_the_drawn_table_keeps_vlans_apart() -> None:
    from netsim.trace.plots import mac_table_data, plot_mac_table

    world = World(seed=4)
    rec = Recorder()
    net = lan(world, hosts=[1, 1], switches=2, vlans=[10, 20], trace=rec)
    world.run(1)
    names = net.mac_names()
    data = mac_table_data(rec, "s1")
    h1, h2 = (str(h.stack.interfaces["eth0"].mac) for h in net.hosts)
    assert sorted(m for m, *_ in data.stays) == [f"{h1} vlan 10", f"{h2} vlan 20"]
    fig = plot_mac_table(rec, "s1", names=names)
    assert sorted(t.get_text() for t in fig.axes[0].get_yticklabels()) == [
        "h1 (VLAN 10)", "h2 (VLAN 20)"]


def test_a_host_replugged_into_another_port_is_reachable_at_once() -> None:
    world = World(seed=6)
    rec = Recorder()
    net = lan(world, hosts=3, trace=rec, config=LinkConfig(delay=0.001))
    h1, h2, h3 = net.hosts
    s1 = net.switches[0]
    world.env.process(ping(h3, "10.0.0.1", count=2))
    world.run(5)
    mac = h1.stack.interfaces["eth0"].mac
    assert s1.bridge.lookup(mac) == "h1"
    # unplug h1's cable and plug h1 into a new port: its gratuitous ARP teaches the switch
    old = net.links[0]
    old.a.attach(lambda frame: None)
    new = Link(world, LinkConfig(delay=0.001), name="moved")
    s1.attach("h1-moved", new.b)
    h1.attach("eth0", new.a, announce=True)
    world.run(6)
    assert s1.bridge.lookup(mac) == "h1-moved"
    assert [(r.time, r.event) for r in rec.mac_table("s1") if r.mac == str(mac)][-1] == \
        (pytest.approx(5.001), "move")
    proc = world.env.process(ping(h3, "10.0.0.1", count=3))
    world.run(10)
    assert proc.value.received == 3  # not lost for the 300 s the old entry would have lasted


def test_a_full_table_makes_the_switch_a_hub_for_the_unlearned() -> None:
    world = World(seed=7)
    net = lan(world, hosts=3, table_size=2, config=LinkConfig(delay=0.001))
    h1, h2, h3 = net.hosts
    world.run(1)  # the gratuitous ARPs of h1 and h2 fill the table
    assert len(net.switches[0].bridge) == 2
    seen_by_h1 = h1.stack.counters["eth"]["drop.not_our_mac"]
    proc = world.env.process(ping(h2, "10.0.0.3", count=5))
    world.run(10)
    assert proc.value.received == 5
    # every request to h3 (never learned) was flooded to h1 as well; the replies to h2 were not
    assert h1.stack.counters["eth"]["drop.not_our_mac"] - seen_by_h1 == 5
    assert net.switches[0].bridge.counts["not_learned.table_full"] >= 5


def test_a_tagged_frame_keeps_its_priority_across_the_switch() -> None:
    """A frame tagged with priority 5 on one trunk leaves another trunk with priority 5 (it
    used to leave with 0); an untagged frame from an access port gets the default 0."""
    from netsim.wire.vlan import tag

    w = Wires(ports=3)
    w.bridge.trunk("p1", [10])
    w.bridge.trunk("p2", [10])
    w.bridge.access("p3", 10)
    w.sent.clear()
    w.bridge.receive("p1", tag(frame(BROADCAST, A), 10, pcp=5), 0.0)
    assert dict(w.sent) == {"p2": tag(frame(BROADCAST, A), 10, pcp=5),
                            "p3": frame(BROADCAST, A)}
    w.sent.clear()
    w.bridge.receive("p1", tag(frame(B, A), 10, pcp=3), 1.0)  # B unknown: flooded
    w.bridge.receive("p2", tag(frame(A, B), 10, pcp=6), 2.0)  # A known: forwarded to p1
    assert w.sent[-1] == ("p1", tag(frame(A, B), 10, pcp=6))
    assert w.rx("p3", A, C, 3.0) == ["p1"]
    assert w.sent[0][1] == tag(frame(A, C), 10)  # untagged in: priority 0
