"""ECN in simulation (RFC 3168 §6.1 end to end): connections opened by SYN cookies, and
marking bottlenecks (CoDel, RED; at a host's or a router's port) where TCP with ECN gets CE
marks, ECE, CWR and window reductions instead of drops; `netsim sim --ecn`. The scripted,
per-segment tests are in tests/test_tcp_ecn.py."""

from __future__ import annotations

import json

import pytest

from netsim.cli import main
from netsim.link.loss import Scripted
from netsim.link.qdisc.ecn import CE, ECT0, NOT_ECT, ecn_of
from netsim.link.qdisc.spec import parse_qdisc
from netsim.sim.link import LinkConfig
from netsim.sim.scenario import BulkScenario, run_bulk
from netsim.sim.topology import chain, two_hosts
from netsim.sim.world import World
from netsim.stack.events import EcnRecord
from netsim.stack.tcp import syncookies
from netsim.stack.tcp.config import TcpConfig
from netsim.trace.plots.cwnd import cwnd_data
from netsim.trace.recorder import Recorder
from netsim.wire.ipv4 import parse_ipv4
from netsim.wire.lazyframe import LazyFrame
from netsim.wire.tcp import (
    ACK,
    CWR,
    ECE,
    SYN,
    MSSOption,
    TCPSegment,
    TimestampOption,
    parse_tcp,
)


# ---------------------------------------------------------------------- SYN cookies
def test_syn_cookies_carry_ecn_ok_in_the_timestamp_bits() -> None:
    ts = syncookies.ts_with_options(123456, 7, True, True)
    assert syncookies.options_from_ts(ts) == (7, True, True)
    assert syncookies.options_from_ts(syncookies.ts_with_options(123456, 7, True)) == \
        (7, True, False)


@pytest.mark.parametrize("timestamps", [True, False])
def test_a_connection_opened_by_a_cookie_keeps_ecn_only_with_timestamps(
        timestamps: bool) -> None:
    world = World(1)
    tcp = TcpConfig(ecn=1, syncookies=2, timestamps=timestamps)  # every SYN gets a cookie
    net = two_hosts(world, LinkConfig(delay=0.001, rate_bps=100e6), tcp=tcp)
    h1, h2 = net.hosts
    frames: list[bytes] = []  # h1's frames
    synacks: list[TCPSegment] = []
    net.links[0].a.add_tap(lambda t, d, f: frames.append(f)
                           if d == "tx" and f[12:14] == b"\x08\x00" else None)
    net.links[0].b.add_tap(lambda t, d, f: synacks.append(parse_tcp(f[34:]))
                           if d == "tx" and f[12:14] == b"\x08\x00" and f[47] & SYN else None)
    lst = h2.stack.tcp.listen(80)
    conn = h1.stack.tcp.connect(h2.ip, 80, 0.0)
    world.env.run(until=0.1)
    conn.send(b"x" * 3000, world.env.now)
    world.env.run(until=0.2)
    served = lst.accept()
    assert served is not None and h2.stack.tcp_counts["syncookies_valid"] == 1
    assert [s.flags for s in synacks] == [SYN | ACK | ECE if timestamps else SYN | ACK]
    assert served.ecn_ok is conn.ecn_ok is timestamps
    data = [f for f in frames if len(f) > 100]
    assert data and all(ecn_of(f) == (ECT0 if timestamps else NOT_ECT) for f in data)
    assert served.bytes_received == 3000


def test_the_ack_that_completes_a_cookie_handshake_keeps_its_ce_mark() -> None:
    # the third segment of the handshake, carrying data marked CE on the way, builds the
    # connection from the cookie: the CE reaches it, and the answer carries ECE (§6.1.3)
    world = World(1)
    def is_tcp(f: bytes) -> bool:
        return f[12:14] == b"\x08\x00" and f[23] == 6

    # h1 plays a scripted client: h2's TCP segments are seen on the wire (the tap comes before
    # the loss) and then lost, so h1's own TCP, which has no such connection, never answers
    # (not by patching h1's TCP: the compiled build's classes cannot be patched)
    net = two_hosts(world, LinkConfig(delay=0.001, rate_bps=100e6),
                    LinkConfig(delay=0.001, rate_bps=100e6, loss=Scripted(predicate=is_tcp)),
                    tcp=TcpConfig(ecn=1, syncookies=2))
    h1, h2 = net.hosts
    sent: list[TCPSegment] = []  # h2's segments
    net.links[0].b.add_tap(lambda t, d, f: sent.append(parse_tcp(f[34:]))
                           if d == "tx" and is_tcp(f) else None)
    lst = h2.stack.tcp.listen(80)
    syn = TCPSegment(40000, 80, 1000, 0, SYN | ECE | CWR, 65535, b"",
                     (MSSOption(1460), TimestampOption(77, 0)))
    h2.stack.tcp.segment_input(h1.ip, h2.ip, syn, 0.0, NOT_ECT)
    world.env.run(until=0.05)
    (synack,) = [s for s in sent if s.flags & SYN]
    assert synack.flags & ECE and h2.stack.tcp_counts["syncookies_sent"] == 1
    ts = next(o for o in synack.options if isinstance(o, TimestampOption))
    ack = TCPSegment(40000, 80, 1001, (synack.seq + 1) & 0xFFFFFFFF, ACK, 65535, b"d" * 100,
                     (TimestampOption(78, ts.tsval),))
    h2.stack.tcp.segment_input(h1.ip, h2.ip, ack, 0.06, CE)
    world.env.run(until=0.1)
    served = lst.accept()
    assert served is not None and served.ecn_ok and served.ce_received == 1
    assert served.bytes_received == 100 and served.ecn_echo
    assert any(s.flags & ECE and s.ack == (1101 & 0xFFFFFFFF) for s in sent if not s.flags & SYN)


# ---------------------------------------------------------------------- a marking bottleneck
@pytest.mark.parametrize("qdisc", ["codel ecn", "fq_codel ecn",
                                   "red min 20 max 200 probability 0.1 ecn"])
def test_a_marking_bottleneck_marks_instead_of_dropping_when_tcp_does_ecn(qdisc: str) -> None:
    base = 0.02  # round-trip propagation time
    results = {}
    for ecn in (True, False):
        rec = Recorder()
        result = run_bulk(BulkScenario(bytes=2_000_000, seed=1, ecn=ecn, trace=rec,
                                       link=LinkConfig(delay=base / 2, rate_bps=10e6,
                                                       qdisc=parse_qdisc(qdisc))))
        assert result.intact
        results[ecn] = (result, rec)
    on, rec = results[True]
    off, _ = results[False]
    assert on.ecn is not None and off.ecn is None  # (reported when ECN was asked for)
    assert on.ecn["negotiated"] == 1 and on.ecn["ce_marks"] >= 3
    assert on.ecn["ece_reductions"] >= 3 and on.ecn["cwr_sent"] >= on.ecn["ece_reductions"]
    assert on.link_drops["aqm"] == 0 and on.retransmissions == 0 and on.timeouts == 0
    # the same queue, TCP without ECN: its packets are not ECT, so the queue drops them
    assert off.link_drops["aqm"] > 0 and off.retransmissions > 0
    # CE at h2 -> ECE back -> a reduction at h1 -> CWR at h2, as many times as h1 reduced
    events = [(r.host, r.event) for r in rec if isinstance(r, EcnRecord)]
    reductions = [r for r in rec if isinstance(r, EcnRecord) and r.event == "reduce"]
    assert events.count(("h2", "ce_received")) == len(reductions) == on.ecn["ece_reductions"]
    assert events.count(("h2", "cwr_received")) == len(reductions)
    # once per window of data: never two reductions within one round trip
    times = [r.time for r in reductions]
    assert min(b - a for a, b in zip(times, times[1:], strict=False)) > base
    # the cwnd plot marks each of them
    assert [t for t, _ in cwnd_data(rec, reductions[0].conn).ecn_reductions] == times
    segs = rec.segments(direction="tx")
    assert any("E" in s.flags for s in segs if s.host == "h2")  # ECE on h2's ACKs
    assert any("W" in s.flags for s in segs if s.host == "h1")  # CWR on h1's data


def test_the_frames_on_the_wire_carry_ect_ce_ece_and_cwr() -> None:
    world = World(3)
    link = LinkConfig(delay=0.01, rate_bps=10e6, qdisc=parse_qdisc("codel ecn"))
    net = two_hosts(world, link, tcp=TcpConfig(ecn=1))
    h1, h2 = net.hosts
    seen: list[tuple[str, int, int, int]] = []  # (direction, ECN field, flags, payload length)

    def tap(t: float, direction: str, frame: bytes) -> None:
        if frame[12:14] != b"\x08\x00":
            return  # (ARP)
        pkt = parse_ipv4(frame[14:])
        seg = parse_tcp(pkt.payload, pkt.src, pkt.dst)
        seen.append((direction, pkt.ecn, seg.flags, len(seg.payload)))

    net.links[0].b.add_tap(tap)  # h2's side: what h2 receives (rx) and sends (tx)
    lst = h2.stack.tcp.listen(80)
    conn = h1.stack.tcp.connect(h2.ip, 80, 0.0)
    world.env.run(until=0.1)
    served = lst.accept()
    assert served is not None
    for _ in range(40):
        conn.send(b"x" * 65536, world.env.now)
        world.env.run(until=world.env.now + 0.05)
        served.recv(1 << 30, world.env.now)
    data_in = [s for s in seen if s[0] == "rx" and s[3]]
    acks_out = [s for s in seen if s[0] == "tx"]
    assert {e for _, e, _, _ in data_in} == {ECT0, CE}  # ECT(0), some marked CE on the way
    assert all(e == NOT_ECT for _, e, _, _ in acks_out)  # pure ACKs: not-ECT (§6.1.4)
    assert any(f & ECE for _, _, f, _ in acks_out)
    assert any(f & CWR for _, _, f, _ in data_in)
    (syn,) = [f for _, _, f, _ in seen if f & SYN and not f & ACK]
    (synack,) = [f for _, _, f, _ in seen if f & SYN and f & ACK]
    assert syn & (ECE | CWR) == ECE | CWR and synack & (ECE | CWR) == ECE


@pytest.mark.parametrize("family", [[], ["-6"]], ids=["ipv4", "ipv6"])
def test_netsim_sim_ecn_prints_what_the_loop_did(capsys: pytest.CaptureFixture[str],
                                                 family: list[str]) -> None:
    args = ["sim", "--bytes", "1MB", "--rate", "10Mbit", "--qdisc", "codel ecn", *family]
    assert main([*args, "--ecn"]) == 0
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if x.startswith("ecn "))
    assert "agreed" in line and "NOT" not in line and " 0 CE marks" not in line
    assert "retransmissions  0 " in out
    assert main([*args, "--json", "--ecn"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["ecn"]["negotiated"] == 1 and doc["ecn"]["ce_marks"] > 0
    assert main([*args, "--json"]) == 0  # without --ecn: no ecn key, outputs as before
    assert "ecn" not in json.loads(capsys.readouterr().out)


def test_ect_survives_routers_and_a_mark_at_a_router_port_reaches_the_receiver() -> None:
    # h1 - r1 - r2 - h2, the middle link a marking bottleneck: frames cross the routers as
    # LazyFrame objects (netsim.wire.lazyframe) keeping their ECN field; a marked one becomes
    # bytes with CE and a correct header checksum, and h2 echoes it
    world = World(2)
    net = chain(world, 2, LinkConfig(delay=0.002, rate_bps=100e6), tcp=TcpConfig(ecn=1),
                bottleneck=LinkConfig(delay=0.005, rate_bps=10e6,
                                      qdisc=parse_qdisc("codel ecn")))
    h1, h2 = net.hosts
    lst = h2.stack.tcp.listen(80)
    conn = h1.stack.tcp.connect(h2.ip, 80, 0.0)
    world.env.run(until=0.1)
    served = lst.accept()
    assert served is not None and conn.ecn_ok and served.ecn_ok
    for _ in range(30):
        conn.send(b"x" * 65536, world.env.now)
        world.env.run(until=world.env.now + 0.05)
        served.recv(1 << 30, world.env.now)
    assert served.ce_received > 0 and conn.ecn_reductions > 0
    assert h2.stack.counters["ipv4"]["drop.checksum"] == 0
    assert conn.retransmissions == 0
    frame = LazyFrame(b"\x02" * 6, b"\x04" * 6, h1.ip, h2.ip, 64, 7,
                      TCPSegment(1, 2, 3, 4, ACK, 100, b"data", ()), b"", ECT0)
    ip = parse_ipv4(frame.raw()[14:])  # (checks the header checksum)
    assert ip.ecn == ECT0 and ecn_of(frame.forwarded(b"\x06" * 6, b"\x08" * 6).raw()) == ECT0
