"""ECN in TCP (RFC 3168 §6.1), scripted against the RFC text as packetdrill scripts are: each
test feeds one connection the segments (and IP ECN fields) of a scenario by hand, against a
fake host that records every segment it sends and the ECN field it asks for. The loop on a
simulated marking bottleneck, and SYN cookies, are in tests/test_ecn_sim.py."""

from __future__ import annotations

from collections import Counter
from ipaddress import IPv4Address
from typing import Any

import pytest

from netsim.errors import UsageError
from netsim.link.qdisc.ecn import CE, ECT0, NOT_ECT
from netsim.stack.events import EcnRecord, TraceRecord
from netsim.stack.tcp.config import TcpConfig
from netsim.stack.tcp.connection import TcpConnection
from netsim.stack.tcp.states import State
from netsim.stack.timers import TimerQueue
from netsim.wire.tcp import (
    ACK,
    CWR,
    ECE,
    SYN,
    MSSOption,
    SackOption,
    SackPermittedOption,
    TCPSegment,
)

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
        self.send_tcp = self.stack.send_tcp

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


def test_a_loss_in_the_window_an_ece_ack_cut_is_resent_without_a_second_cut() -> None:
    # RFC 3168 §6.1.2: cwnd is reduced once for the dropped and CE packets of one window
    conn, host = client(initial_window="iw10", delayed_ack=0)
    conn.send(b"x" * 40 * MSS, 0.1)
    una = conn.snd_una
    conn.segment_arrives(peer(5001, una + 2 * MSS, ACK | ECE), 0.2)  # the ECE cut
    assert conn.cc.ssthresh == conn.cc.cwnd == 4 * MSS and conn.ecn_reductions == 1
    for k in range(3, 7):  # segments 3-6 acknowledged; segment 7 (sent before the cut) lost
        conn.segment_arrives(peer(5001, una + k * MSS, ACK), 0.2 + k / 1000)
    cwnd = conn.cc.cwnd
    for k in range(3):
        conn.segment_arrives(peer(5001, una + 6 * MSS, ACK), 0.21 + k / 1000)
    assert conn.fast_retransmits == 1 and conn.in_recovery
    resent, ecn = host.sent[-1]
    assert resent.seq == una + 6 * MSS and ecn == NOT_ECT and not resent.flags & CWR
    # no second cut: ssthresh as the ECE ACK left it (a cut from FlightSize would halve it)
    assert conn.cc.ssthresh == 4 * MSS and conn.cc.cwnd >= cwnd
    assert host.tcp_counts["ecn_loss_after_cut"] == 1 and conn.ecn_reductions == 1
    # the recovery ends; a loss in a later window is cut again
    conn.segment_arrives(peer(5001, conn.snd_max, ACK), 0.3)
    assert not conn.in_recovery
    conn.send(b"y" * 20 * MSS, 0.3)
    high = conn.snd_una
    for k in range(3):
        conn.segment_arrives(peer(5001, high, ACK), 0.31 + k / 1000)
    assert conn.fast_retransmits == 2 and conn.cc.ssthresh < 4 * MSS
    assert host.tcp_counts["ecn_loss_after_cut"] == 1


def test_rack_finds_a_loss_in_the_window_an_ece_ack_cut_and_does_not_cut_again() -> None:
    table = FakeTable()
    conn = TcpConnection(table, A, 40000, B, 80,
                         cfg(1, sack=True, rack=True, initial_window="iw10", delayed_ack=0))
    host = table.stack
    conn.open_active(0.0)
    syn = host.last
    conn.segment_arrives(TCPSegment(80, 40000, 5000, syn.seq + 1, SYN | ACK | ECE, 60000, b"",
                                    (MSSOption(MSS), SackPermittedOption())), 0.05)
    assert conn.sack_ok and conn.ecn_ok
    conn.send(b"x" * 40 * MSS, 0.1)
    una = conn.snd_una
    conn.segment_arrives(peer(5001, una + 2 * MSS, ACK | ECE), 0.2)  # the ECE cut
    assert conn.cc.ssthresh == 4 * MSS and conn.ecn_reductions == 1
    conn.segment_arrives(peer(5001, una + 6 * MSS, ACK), 0.21)
    # segment 7 (sent before the cut) lost: 8-10 SACKed, RACK marks 7 lost
    for k in range(8, 11):
        sack = SackOption((((una + 7 * MSS) & 0xFFFFFFFF, (una + k * MSS) & 0xFFFFFFFF),))
        conn.segment_arrives(TCPSegment(80, 40000, 5001, una + 6 * MSS, ACK, 60000, b"",
                                        (sack,)), 0.5 + k / 1000)
    assert conn.in_recovery and host.tcp_counts["rack_retransmits"] >= 1
    assert any(s.seq == una + 6 * MSS and s.payload for s, _ in host.sent[-5:])
    assert conn.cc.ssthresh == 4 * MSS and conn.cc.cwnd <= 4 * MSS
    assert host.tcp_counts["ecn_loss_after_cut"] == 1
