"""ECN over IPv6 (RFC 3168 §5: the ECN field is the low two bits of the Traffic Class): a
marking queue sets CE on an IPv6 frame (no header checksum to fix), TCP over IPv6 sends new
data with ECT(0) and reads CE on input, and through a `codel ecn` bottleneck at a router the
CE -> ECE -> CWR loop replaces drops as it does over IPv4 (tests/test_ecn_sim.py); tshark reads
the same field (`ipv6.tclass.ecn`) in a capture."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from ipaddress import IPv6Address
from pathlib import Path

import pytest

from netsim.link.qdisc.ecn import CE, ECT0, ECT1, NOT_ECT, ecn_of, set_ce, with_ecn
from netsim.link.qdisc.spec import parse_qdisc
from netsim.sim.link import LinkConfig
from netsim.sim.topology import Network, capture, chain
from netsim.sim.topology6 import enable_ipv6_chain
from netsim.sim.world import World
from netsim.stack.tcp.config import TcpConfig
from netsim.stack.tcp.connection import TcpConnection
from netsim.wire.ethernet import ETHERTYPE_IPV6, build_ethernet
from netsim.wire.ipv6 import NH_TCP, build_ipv6, parse_ipv6
from netsim.wire.tcp import ACK, CWR, ECE, SYN, build_tcp, parse_tcp

H1, H2 = IPv6Address("2001:db8::1"), IPv6Address("2001:db8:2::2")


def _frame(traffic_class: int, flow_label: int = 0xABCDE) -> bytes:
    tcp = build_tcp(H1, H2, 1000, 80, 1, 1, ACK, 1000, b"data")
    ip = build_ipv6(H1, H2, NH_TCP, tcp, traffic_class=traffic_class, flow_label=flow_label)
    return build_ethernet(b"\x02" * 6, b"\x04" * 6, ETHERTYPE_IPV6, ip)


# ---------------------------------------------------------------------- the queue's marking
@pytest.mark.parametrize("ecn", [ECT0, ECT1, CE])
def test_set_ce_marks_an_ect_ipv6_frame_and_touches_nothing_else(ecn: int) -> None:
    dscp = 0b101110 << 2  # EF: the Traffic Class's upper six bits must survive
    frame = _frame(dscp | ecn)
    assert ecn_of(frame) == ecn
    marked = set_ce(frame)
    assert marked is not None and ecn_of(marked) == CE
    pkt = parse_ipv6(marked[14:])
    assert pkt.traffic_class == dscp | CE and pkt.flow_label == 0xABCDE
    # only the Traffic Class's two low bits changed: the TCP checksum still verifies
    assert parse_tcp(pkt.payload, pkt.src, pkt.dst).payload == b"data"
    assert [i for i in range(len(frame)) if frame[i] != marked[i]] == ([] if ecn == CE else [15])


def test_set_ce_refuses_a_not_ect_ipv6_frame_and_with_ecn_can_clear_the_field() -> None:
    frame = _frame(0b101110 << 2 | ECT0)
    assert set_ce(_frame(NOT_ECT)) is None  # the queue must drop it instead
    cleared = with_ecn(frame, NOT_ECT)
    assert ecn_of(cleared) == NOT_ECT and parse_ipv6(cleared[14:]).traffic_class == 0b101110 << 2
    # a truncated IPv6 header is not a frame to mark
    assert ecn_of(frame[:14 + 39]) is None and set_ce(frame[:14 + 39]) is None


# ---------------------------------------------------------------------- end to end
def _ipv6_net(seed: int) -> tuple[World, Network]:
    """h1 - r1 - r2 - h2, dual-stack; the r1-r2 link a `codel ecn` bottleneck."""
    world = World(seed)
    net = chain(world, 2, LinkConfig(delay=0.002, rate_bps=100e6), tcp=TcpConfig(ecn=1),
                bottleneck=LinkConfig(delay=0.005, rate_bps=10e6,
                                      qdisc=parse_qdisc("codel ecn")))
    enable_ipv6_chain(net, dad=False)
    return world, net


def _bulk(world: World, net: Network, rounds: int = 30
          ) -> tuple[TcpConnection, TcpConnection]:
    h1, h2 = net.hosts
    lst = h2.stack.tcp.listen(80)
    conn = h1.stack.tcp.connect(H2, 80, 0.0)
    world.env.run(until=0.2)
    served = lst.accept()
    assert served is not None and conn.ecn_ok and served.ecn_ok
    for _ in range(rounds):
        conn.send(b"x" * 65536, world.env.now)
        world.env.run(until=world.env.now + 0.05)
        served.recv(1 << 30, world.env.now)
    return conn, served


def test_tcp_over_ipv6_through_a_marking_router_gets_ce_ece_cwr_and_no_drops() -> None:
    world, net = _ipv6_net(2)
    seen: list[tuple[str, int, int, int]] = []  # (direction, ECN field, flags, payload length)

    def tap(t: float, direction: str, frame: bytes) -> None:
        if frame[12:14] == b"\x08\x00":
            raise AssertionError("an IPv4 frame in an IPv6 connection")
        if frame[12:14] != b"\x86\xdd" or frame[14 + 6] != NH_TCP:
            return  # (neighbour discovery)
        pkt = parse_ipv6(frame[14:])
        seg = parse_tcp(pkt.payload, pkt.src, pkt.dst)
        seen.append((direction, pkt.traffic_class & 0b11, seg.flags, len(seg.payload)))

    net.links[-1].b.add_tap(tap)  # h2's side: what h2 receives (rx) and sends (tx)
    conn, served = _bulk(world, net)
    h2 = net.hosts[1]
    bottleneck = net.links[1]
    marks = sum(q.marks for q in (bottleneck.a.qdisc, bottleneck.b.qdisc) if q is not None)
    assert marks >= 3
    assert served.ce_received > 0 and conn.ecn_reductions > 0
    assert h2.stack.tcp_counts["ecn_ce_received"] == served.ce_received
    # marks instead of drops: no packet lost at the queue, nothing resent
    assert not any(n for link in net.links for end in (link.a, link.b)
                   for n in end.stats.dropped.values())
    assert conn.retransmissions == 0 and conn.timeouts == 0
    data_in = [s for s in seen if s[0] == "rx" and s[3]]
    acks_out = [s for s in seen if s[0] == "tx"]
    assert {e for _, e, _, _ in data_in} == {ECT0, CE}  # ECT(0), some marked CE on the way
    assert all(e == NOT_ECT for _, e, _, _ in acks_out)  # pure ACKs: not-ECT (§6.1.4)
    assert any(f & ECE for _, _, f, _ in acks_out)
    assert any(f & CWR for _, _, f, _ in data_in)
    (syn,) = [f for _, _, f, _ in seen if f & SYN and not f & ACK]
    (synack,) = [f for _, _, f, _ in seen if f & SYN and f & ACK]
    assert syn & (ECE | CWR) == ECE | CWR and synack & (ECE | CWR) == ECE
    assert all(e == NOT_ECT for _, e, f, _ in seen if f & SYN)  # SYNs are not-ECT (§6.1.1)


def test_without_ecn_the_same_ipv6_bottleneck_drops() -> None:
    world = World(2)
    net = chain(world, 2, LinkConfig(delay=0.002, rate_bps=100e6), tcp=TcpConfig(ecn=0),
                bottleneck=LinkConfig(delay=0.005, rate_bps=10e6,
                                      qdisc=parse_qdisc("codel ecn")))
    enable_ipv6_chain(net, dad=False)
    h1, h2 = net.hosts
    lst = h2.stack.tcp.listen(80)
    conn = h1.stack.tcp.connect(H2, 80, 0.0)
    world.env.run(until=0.2)
    served = lst.accept()
    assert served is not None and not conn.ecn_ok
    for _ in range(30):
        conn.send(b"x" * 65536, world.env.now)
        world.env.run(until=world.env.now + 0.05)
        served.recv(1 << 30, world.env.now)
    bottleneck = net.links[1]
    assert bottleneck.a.stats.dropped.get("aqm", 0) > 0 and conn.retransmissions > 0
    assert all(q.marks == 0 for q in (bottleneck.a.qdisc, bottleneck.b.qdisc) if q is not None)


def test_tshark_reads_ect_and_ce_in_the_ipv6_traffic_class(
        tmp_path: Path, require_tool: Callable[[str], str]) -> None:
    tshark = require_tool("tshark")
    world, net = _ipv6_net(3)
    pcap = tmp_path / "ecn6.pcap"
    with capture(net.links[-1].b, pcap):  # h2's link: after the bottleneck
        _bulk(world, net, rounds=10)
    proc = subprocess.run(
        [tshark, "-n", "-r", str(pcap), "-Y", "tcp", "-T", "fields", "-e", "ipv6.tclass.ecn",
         "-e", "tcp.len", "-e", "tcp.flags.ece", "-e", "tcp.flags.cwr", "-e", "tcp.flags.syn",
         "-e", "_ws.malformed"],
        capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    rows = [line.split("\t") for line in proc.stdout.splitlines()]
    assert rows and not any(r[5] for r in rows)
    data = {int(r[0]) for r in rows if int(r[1]) > 0}
    assert data == {ECT0, CE}  # tshark sees ECT(0) on data, CE on the marked segments
    assert all(int(r[0]) == NOT_ECT for r in rows if int(r[1]) == 0)  # ACKs and SYNs
    flag = {"1", "True"}  # (tshark prints booleans as 1 or True by version)
    assert any(r[2] in flag and r[4] not in flag for r in rows)  # ECE on ACKs
    assert any(r[3] in flag and int(r[1]) > 0 for r in rows)  # CWR on data
