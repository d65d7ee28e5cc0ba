"""ECN in TCP (RFC 3168 §6.1), scripted against the RFC text as packetdrill scripts are: each
test feeds one connection the segments (and IP ECN fields) of a scenario by hand, against a
fake host that records every segment it sends and the ECN field it asks for; then a simulated
bottleneck shows the whole loop (CE marks, ECE, CWR, window reductions) instead of drops."""

from __future__ import annotations

from collections import Counter
from ipaddress import IPv4Address
from typing import Any

import pytest

from netsim.cli import main
from netsim.errors import UsageError
from netsim.link.qdisc.ecn import CE, ECT0, NOT_ECT, ecn_of
from netsim.link.qdisc.spec import parse_qdisc
from netsim.sim.link import LinkConfig
from netsim.sim.scenario import BulkScenario, run_bulk
from netsim.sim.topology import two_hosts
from netsim.sim.world import World
from netsim.stack.events import EcnRecord, TraceRecord
from netsim.stack.tcp import syncookies
from netsim.stack.tcp.config import TcpConfig
from netsim.stack.tcp.connection import TcpConnection
from netsim.stack.tcp.states import State
from netsim.stack.timers import TimerQueue
from netsim.trace.plots.cwnd import cwnd_data
from netsim.trace.recorder import Recorder
from netsim.wire.ipv4 import parse_ipv4
from netsim.wire.tcp import ACK, CWR, ECE, SYN, MSSOption, TCPSegment, parse_tcp

A = IPv4Address("10.9.0.1")
B = IPv4Address("10.9.0.2")
MSS = 1000


class FakeHost:
    """`ConnectionHost`: what was sent, and in which ECN field."""

    def __init__(self) -> None:
        self.name = "fake"
        self.now = 0.0
        self.records: list[TraceRecord] = []
        self.trace = self
        self.timers = TimerQueue()
        self.tcp_counts: Counter[str] = Counter()
        self.sent: list[tuple[TCPSegment, int]] = []

    def record(self, rec: TraceRecord) -> None:
        self.records.append(rec)

    def drop(self, layer: str, reason: str, detail: str = "") -> None:
        pass

    def send_tcp(self, src: IPv4Address, dst: IPv4Address, seg: TCPSegment, opts: bytes,
                 now: float, ecn: int = 0) -> bool:
        self.sent.append((seg, ecn))
        return True

    @property
    def last(self) -> TCPSegment:
        return self.sent[-1][0]


class FakeTable:
    def __init__(self) -> None:
        self.stack = FakeHost()

    def mss_for(self, remote: IPv4Address) -> int:
        return MSS

    def send_rst(self, *args: Any) -> None:
        raise AssertionError("no RST expected")

    def remove(self, conn: Any) -> None:
        pass

    def challenge_ack_allowed(self, now: float) -> bool:
        return True


class FakeListener:
    def may_establish(self, conn: Any) -> bool:
        return True

    def established(self, conn: Any, now: float) -> None:
        pass

    def forget(self, conn: Any) -> None:
        pass


def cfg(ecn: int, **kw: Any) -> TcpConfig:
    base: dict[str, Any] = {"timestamps": False, "sack": False, "window_scaling": False,
                            "delayed_ack": 0.2, "ecn": ecn}
    base.update(kw)
    return TcpConfig(**base)


def peer(seq: int, ack: int, flags: int, payload: bytes = b"", window: int = 60000
         ) -> TCPSegment:
    return TCPSegment(80, 40000, seq, ack, flags, window, payload,
                      (MSSOption(MSS),) if flags & SYN else ())


def client(ecn: int = 1, synack_flags: int = SYN | ACK | ECE, **kw: Any
           ) -> tuple[TcpConnection, FakeHost]:
    """An active open answered by a SYN-ACK with `synack_flags` (peer ISN 5000)."""
    table = FakeTable()
    conn = TcpConnection(table, A, 40000, B, 80, cfg(ecn, **kw))
    conn.open_active(0.0)
    syn = table.stack.last
    conn.segment_arrives(peer(5000, syn.seq + 1, synack_flags), 0.05)
    assert conn.state is State.ESTABLISHED
    return conn, table.stack


# ---------------------------------------------------------------------- RFC 3168 §6.1.1
def test_an_ecn_setup_syn_and_an_ecn_setup_syn_ack_agree_on_ecn() -> None:
    conn, host = client(ecn=1)
    syn, ecn = host.sent[0]
    assert syn.flags == SYN | ECE | CWR and ecn == NOT_ECT  # ECN-setup SYN, never ECT itself
    assert conn.ecn_ok and host.tcp_counts["ecn_negotiated"] == 1
    assert [r.event for r in host.records if isinstance(r, EcnRecord)] == ["negotiated"]
    conn.send(b"x" * 500, 0.06)
    data, ecn = host.sent[-1]
    assert data.payload and ecn == ECT0  # new data: ECT(0) (§6.1.2)


@pytest.mark.parametrize("synack", [SYN | ACK, SYN | ACK | ECE | CWR, SYN | ACK | CWR])
def test_any_other_syn_ack_leaves_ecn_off(synack: int) -> None:
    # ECE and CWR both set is what a peer that reflects reserved bits sends (§6.1.1.2)
    conn, host = client(ecn=1, synack_flags=synack)
    assert not conn.ecn_ok and host.tcp_counts["ecn_negotiated"] == 0
    conn.send(b"x" * 500, 0.06)
    assert host.sent[-1][1] == NOT_ECT


def test_a_host_that_does_not_ask_sends_a_plain_syn_and_no_ect() -> None:
    conn, host = client(ecn=2)  # agree only when asked: Linux's default, and netsim's
    assert host.sent[0][0].flags == SYN
    assert not conn.ecn_ok  # an ECE in the SYN-ACK does not turn it on
    assert TcpConfig().ecn == 2


def test_a_retransmitted_syn_is_not_ecn_setup_and_ecn_stays_off() -> None:
    # RFC 3168 §6.1.1.1: a SYN resent after a timeout may clear ECE and CWR (as Linux's
    # tcp_ecn_fallback); having sent it, the host must not send ECT
    table = FakeTable()
    host = table.stack
    conn = TcpConnection(table, A, 40000, B, 80, cfg(1))
    conn.open_active(0.0)
    host.timers.run(conn.rto_at)
    first, again = host.sent[0][0], host.sent[1][0]
    assert first.flags == SYN | ECE | CWR and again.flags == SYN
    conn.segment_arrives(peer(5000, first.seq + 1, SYN | ACK | ECE), 1.5)
    assert conn.state is State.ESTABLISHED and not conn.ecn_ok


@pytest.mark.parametrize(("server_ecn", "syn_flags", "agreed"), [
    (2, SYN | ECE | CWR, True), (1, SYN | ECE | CWR, True), (0, SYN | ECE | CWR, False),
    (2, SYN, False), (2, SYN | ECE, False)])
def test_a_listener_answers_only_an_ecn_setup_syn_with_an_ecn_setup_syn_ack(
        server_ecn: int, syn_flags: int, agreed: bool) -> None:
    table = FakeTable()
    host = table.stack
    conn = TcpConnection(table, A, 80, B, 40000, cfg(server_ecn), listener=FakeListener())
    conn.open_passive(TCPSegment(40000, 80, 9000, 0, syn_flags, 60000, b"", ()), 0.0)
    synack, ecn = host.sent[-1]
    assert synack.flags == (SYN | ACK | ECE if agreed else SYN | ACK) and ecn == NOT_ECT
    conn.segment_arrives(TCPSegment(40000, 80, 9001, synack.seq + 1, ACK, 60000, b"", ()),
                         0.01)
    assert conn.state is State.ESTABLISHED and conn.ecn_ok is agreed


def test_a_syn_resent_without_ecn_turns_it_off_on_the_listener_side() -> None:
    # RFC 3168 §6.1.1.1's example: B's ECN-setup SYN-ACK is lost, A resends a non-ECN-setup
    # SYN, B answers with a non-ECN-setup SYN-ACK, and neither sends ECT
    table = FakeTable()
    host = table.stack
    conn = TcpConnection(table, A, 80, B, 40000, cfg(2), listener=FakeListener())
    conn.open_passive(TCPSegment(40000, 80, 9000, 0, SYN | ECE | CWR, 60000, b"", ()), 0.0)
    assert host.last.flags == SYN | ACK | ECE
    conn.segment_arrives(TCPSegment(40000, 80, 9000, 0, SYN, 60000, b"", ()), 1.0)
    synack = host.last
    assert synack.flags == SYN | ACK and not conn.ecn_ok
    conn.segment_arrives(TCPSegment(40000, 80, 9001, synack.seq + 1, ACK, 60000, b"", ()),
                         1.1)
    assert conn.state is State.ESTABLISHED and not conn.ecn_ok
    conn.send(b"x" * 100, 1.2)
    assert host.sent[-1][0].payload and host.sent[-1][1] == NOT_ECT


# ---------------------------------------------------------------------- §6.1.3 the receiver
def test_the_receiver_echoes_ce_on_every_ack_until_cwr_arrives() -> None:
    conn, host = client()
    rcv = 5001
    ack_of = conn.snd_nxt

    def data(n: int, ip_ecn: int, flags: int = ACK, t: float = 0.1) -> TCPSegment:
        nonlocal rcv
        seg = peer(rcv, ack_of, flags, b"d" * n)
        rcv += n
        before = len(host.sent)
        conn.segment_arrives(seg, t, ip_ecn)
        return host.sent[-1][0] if len(host.sent) > before else seg

    # a lone in-order segment would wait for the delayed ACK; a CE one is acknowledged at once
    ack = data(500, ECT0)
    assert ack.flags & ACK and ack.payload == b"d" * 500  # (nothing sent: the segment back)
    ack = data(500, CE)
    assert ack.ack == rcv and ack.flags & ECE and conn.ecn_echo
    assert host.tcp_counts["ecn_ce_received"] == 1
    # not CE, but the echo goes on (§6.1.3: a dropped ECE ACK must not lose the signal)
    data(MSS, ECT0)
    ack = data(MSS, ECT0)
    assert ack.ack == rcv and ack.flags & ECE
    # the sender's CWR ends it; ACKs of later non-CE data carry no ECE
    data(MSS, ECT0, ACK | CWR)
    ack = data(MSS, ECT0)
    assert ack.ack == rcv and not ack.flags & ECE and not conn.ecn_echo
    assert host.tcp_counts["ecn_cwr_received"] == 1
    # another CE starts it again; CE on a segment outside the window is ignored (§6.1.5)
    conn.segment_arrives(peer(rcv + 10**6, ack_of, ACK, b"z" * 100), 0.2, CE)
    assert not conn.ecn_echo and not host.last.flags & ECE  # (the ACK it gets)
    ack = data(100, CE, t=0.3)
    assert ack.flags & ECE
    events = [r.event for r in host.records if isinstance(r, EcnRecord)]
    assert events == ["negotiated", "ce_received", "cwr_received", "ce_received"]


def test_pure_acks_and_a_connection_without_ecn_never_echo() -> None:
    conn, host = client(synack_flags=SYN | ACK)  # ECN not agreed: CE means nothing
    conn.segment_arrives(peer(5001, conn.snd_nxt, ACK, b"d" * 500), 0.1, CE)
    host.timers.run(0.4)
    assert not host.last.flags & ECE and host.last.ack == 5501
    assert all(ecn == NOT_ECT for _, ecn in host.sent)  # §6.1.4: pure ACKs are not-ECT


# ---------------------------------------------------------------------- §6.1.2 the sender
def test_an_ece_ack_halves_cwnd_once_per_window_and_the_next_new_data_carries_cwr() -> None:
    conn, host = client(initial_window="iw10", delayed_ack=0)
    conn.send(b"x" * 40 * MSS, 0.1)
    out = [s for s, _ in host.sent if s.payload]
    assert len(out) == 10 and conn.cc.cwnd == 10 * MSS
    una = conn.snd_una
    # the first two segments acked, with ECE: cwnd from the flight as for a loss, no growth
    conn.segment_arrives(peer(5001, una + 2 * MSS, ACK | ECE), 0.2)
    assert conn.cc.ssthresh == 4 * MSS  # FlightSize 8 segments / 2 (RFC 5681 §3.2 eq. 4)
    assert conn.cc.cwnd == 4 * MSS and conn.ecn_reductions == 1
    assert host.tcp_counts["ecn_reductions"] == 1 and not conn.in_recovery
    # flight (8) is above cwnd (4): nothing new may leave yet
    assert [s for s, _ in host.sent if s.payload] == out
    # more ECE ACKs for the same window: no second reduction, and no growth either
    for k in range(3, 9):
        conn.segment_arrives(peer(5001, una + k * MSS, ACK | ECE), 0.2 + k / 1000)
    assert conn.cc.cwnd == 4 * MSS and conn.ecn_reductions == 1
    new = [(s, e) for s, e in host.sent if s.payload][10:]
    assert new and all(e == ECT0 for _, e in new)
    # CWR on the first new data segment after the reduction, and only there
    assert [bool(s.flags & CWR) for s, _ in new] == [True] + [False] * (len(new) - 1)
    assert host.tcp_counts["ecn_cwr_sent"] == 1
    # an ECE for data sent after the reduction (beyond SND.MAX then) is a new window's
    beyond = new[0][0].seq + MSS
    conn.segment_arrives(peer(5001, beyond, ACK | ECE), 0.3)
    assert conn.ecn_reductions == 2 and conn.cc.cwnd < 4 * MSS


def test_retransmissions_and_window_probes_are_not_ect() -> None:
    conn, host = client()
    conn.send(b"x" * 2 * MSS, 0.1)
    first = [s for s, e in host.sent if s.payload]
    assert all(e == ECT0 for s, e in host.sent if s.payload)
    host.timers.run(conn.rto_at)  # §6.1.5: the timeout's retransmission is not ECT
    again, ecn = host.sent[-1]
    assert again.seq == first[0].seq and ecn == NOT_ECT and not again.flags & CWR
    # the window closes: the persist timer's probe is neither ECT nor CWR (§6.1.6)
    t = conn.rto_at - 0.5
    conn.segment_arrives(peer(5001, conn.snd_max, ACK, window=0), t)
    conn.send(b"y" * 100, t)
    host.timers.run(conn.persist_at)
    probe, ecn = host.sent[-1]
    assert len(probe.payload) == 1 and ecn == NOT_ECT and not probe.flags & CWR
    assert host.tcp_counts["window_probes"] == 1


def test_the_ecn_setting_is_checked() -> None:
    assert TcpConfig(ecn=True).ecn == 1 and TcpConfig(ecn=False).ecn == 0
    for bad in (3, -1, "on", 1.5):
        with pytest.raises(UsageError, match="ecn: .* is not 0"):
            TcpConfig(ecn=bad)  # type: ignore[arg-type]


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


# ---------------------------------------------------------------------- a marking bottleneck
@pytest.mark.parametrize("qdisc", ["codel ecn", "red min 20 max 200 probability 0.1 ecn"])
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


def test_netsim_sim_ecn_prints_what_the_loop_did(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["sim", "--bytes", "1MB", "--rate", "10Mbit", "--qdisc", "codel ecn"]
    assert main([*args, "--ecn"]) == 0
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if x.startswith("ecn "))
    assert "agreed" in line and "NOT" not in line and " 0 CE marks" not in line
    assert "retransmissions  0 " in out
    assert main([*args, "--json", "--ecn"]) == 0
    doc = __import__("json").loads(capsys.readouterr().out)
    assert doc["ecn"]["negotiated"] == 1 and doc["ecn"]["ce_marks"] > 0
    assert main([*args, "--json"]) == 0  # without --ecn: no ecn key, outputs as before
    assert "ecn" not in __import__("json").loads(capsys.readouterr().out)


def test_ect_survives_routers_and_a_mark_at_a_router_port_reaches_the_receiver() -> None:
    # h1 - r1 - r2 - h2, the middle link a marking bottleneck: frames cross the routers as
    # LazyFrame objects (netsim.wire.lazyframe) keeping their ECN field; a marked one becomes
    # bytes with CE and a correct header checksum, and h2 echoes it
    from netsim.sim.topology import chain
    from netsim.wire.lazyframe import LazyFrame

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
