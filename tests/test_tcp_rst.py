"""Resets and blind-attack defences: RST generation and acceptance (RFC 9293 §3.5.2,
§3.10.7), challenge ACKs (RFC 5961 §3-§5), abort (RFC 9293 §3.10.5)."""

from __future__ import annotations

import pytest

from netsim.errors import UsageError
from netsim.stack.tcp.config import TcpConfig
from netsim.stack.tcp.errors import ConnectionRefused, ConnectionReset
from netsim.stack.tcp.states import State
from netsim.testing import TcpScript
from netsim.testing.script import parse_flags

PLAIN = TcpConfig(timestamps=False, sack=False, window_scaling=False, delayed_ack=0)
MASK = 0xFFFFFFFF


def established(window: int = 65535) -> TcpScript:
    h = TcpScript(PLAIN)
    h.establish_active(window=window)
    return h


# ---------------------------------------------------------------------------- abort
def test_abort_sends_rst_and_forgets_the_connection() -> None:
    h = established()
    h.app_send(b"unacked")
    h.expect(flags="PA")
    h.app_abort()
    # RFC 9293 §3.10.5: <SEQ=SND.NXT><CTL=RST>
    h.expect(flags="R", seq=h.rel(8), ack=0, window=0)
    h.expect_state(State.CLOSED)
    assert h.stack.tcp.state_count() == 0 and len(h.stack.timers) == 0
    h.advance(10)
    h.expect_nothing()  # no retransmission of the data
    # a late segment from the peer now meets a closed port: answered with a RST
    h.inject(flags="PA", payload=b"late", ack=h.rel(8))
    h.expect(flags="R", seq=h.rel(8))


def test_abort_in_syn_sent_sends_nothing() -> None:
    h = TcpScript(PLAIN)
    h.connect(80)
    h.expect(flags="S")
    h.app_abort()
    h.expect_nothing()
    h.expect_state(State.CLOSED)


# ---------------------------------------------------------------------------- RST received
def test_rst_exactly_at_rcv_nxt_resets() -> None:
    h = established()
    events: list[str] = []
    assert h.conn is not None
    h.conn.notify = events.append
    h.inject(flags="R", seq=h.prel(1))
    h.expect_nothing()
    h.expect_state(State.CLOSED)
    assert isinstance(h.conn.error, ConnectionReset)
    assert events == ["error"]
    assert h.stack.tcp.state_count() == 0 and len(h.stack.timers) == 0


@pytest.mark.parametrize("offset", [1, 1000, 65534])
def test_rst_in_window_but_not_exact_gets_a_challenge_ack(offset: int) -> None:
    """RFC 5961 §3.2: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>, and the connection stays."""
    h = established()
    h.inject(flags="R", seq=h.prel(1 + offset))
    h.expect(flags="A", seq=h.rel(1), ack=h.prel(1))
    h.expect_state(State.ESTABLISHED)
    assert h.conn is not None and h.conn.challenge_acks == 1
    # the legitimate peer answers the challenge with an exact RST
    h.inject(flags="R", seq=h.prel(1))
    h.expect_nothing()
    h.expect_state(State.CLOSED)


@pytest.mark.parametrize("seq", [-1, 65535, 1 << 20, 1 << 31])
def test_rst_out_of_window_is_dropped_silently(seq: int) -> None:
    h = established()
    h.inject(flags="R", seq=h.prel(1 + seq))
    h.expect_nothing()
    h.expect_state(State.ESTABLISHED)
    assert h.stack.counters["tcp"]["drop.out_of_window"] == 1
    # still working
    h.app_send(b"alive")
    h.expect(flags="PA", payload=b"alive")


def test_rst_with_ack_in_established_is_judged_by_seq_only() -> None:
    h = established()
    h.inject(flags="RA", seq=h.prel(1), ack=h.rel(1))
    h.expect_state(State.CLOSED)


def test_rst_in_syn_sent_acking_our_syn_means_refused() -> None:
    h = TcpScript(PLAIN)
    conn = h.connect(80)
    h.expect(flags="S")
    h.inject(flags="RA", seq=0, ack=h.rel(1))
    h.expect_nothing()
    h.expect_state(State.CLOSED)
    assert isinstance(conn.error, ConnectionRefused)


@pytest.mark.parametrize(("flags", "ack"), [("R", None), ("RA", 0), ("RA", 2)])
def test_rst_in_syn_sent_not_acking_our_syn_is_ignored(flags: str, ack: int | None) -> None:
    """RFC 9293 §3.10.7.3: a RST is acceptable in SYN-SENT only if it acks our SYN."""
    h = TcpScript(PLAIN)
    h.connect(80)
    h.expect(flags="S")
    h.inject(flags=flags, seq=0, ack=None if ack is None else h.rel(ack))
    h.expect_nothing()  # never a RST for a RST
    h.expect_state(State.SYN_SENT)


def test_bad_ack_in_syn_sent_gets_a_rst() -> None:
    h = TcpScript(PLAIN)
    h.connect(80)
    h.expect(flags="S")
    bad = h.rel(1000)
    h.inject(flags="SA", seq=0, ack=bad)
    h.expect(flags="R", seq=bad, ack=0)  # <SEQ=SEG.ACK><CTL=RST>
    h.expect_state(State.SYN_SENT)


def test_rst_in_syn_received_from_listener_returns_to_listen() -> None:
    h = TcpScript(PLAIN)
    lst = h.listen(80)
    h.inject(flags="S", seq=100)
    h.expect(flags="SA")
    h.inject(flags="R", seq=101)
    h.expect_nothing()
    assert not lst.half_open and h.stack.tcp.state_count() == 0
    assert len(h.stack.timers) == 0
    h.inject(flags="S", seq=500, sport=40001)  # still listening
    h.expect(flags="SA", ack=501)


def test_unacceptable_ack_in_syn_received_gets_a_rst() -> None:
    h = TcpScript(PLAIN)
    h.listen(80)
    h.inject(flags="S", seq=100)
    h.expect(flags="SA")
    bad = h.rel(77)
    h.inject(flags="A", seq=101, ack=bad)
    h.expect(flags="R", seq=bad)
    (child,) = h.stack.tcp.conns.values()
    assert child.state is State.SYN_RECEIVED
    h.inject(flags="A", seq=101, ack=h.rel(1))
    assert h.accept() is not None


# ---------------------------------------------------------------------------- SYN and ACK checks
@pytest.mark.parametrize("where", ["in_window", "exact", "out_of_window"])
def test_syn_in_synchronized_state_gets_a_challenge_ack(where: str) -> None:
    """RFC 5961 §4.2: any SYN in a synchronized state: a challenge ACK, nothing else."""
    h = established()
    seq = {"in_window": h.prel(50), "exact": h.prel(1), "out_of_window": h.prel(1 << 20)}[where]
    h.inject(flags="S", seq=seq)
    h.expect(flags="A", seq=h.rel(1), ack=h.prel(1))
    h.expect_nothing()
    h.expect_state(State.ESTABLISHED)


@pytest.mark.parametrize("state", [State.FIN_WAIT_2, State.CLOSE_WAIT, State.TIME_WAIT])
def test_syn_in_other_synchronized_states_gets_an_ack(state: State) -> None:
    h = TcpScript(TcpConfig(timestamps=False, sack=False, window_scaling=False,
                            delayed_ack=0, msl=5))
    h.establish_active()
    if state is State.CLOSE_WAIT:
        h.inject(flags="FA")
    else:
        h.app_close()
        h.expect(flags="FA")
        h.inject(flags="A")
        if state is State.TIME_WAIT:
            h.inject(flags="FA")
    h.drain()
    h.expect_state(state)
    h.inject(flags="S", seq=h.prel(10))
    h.expect(flags="A", ack=h.prel(1) if state is State.FIN_WAIT_2 else h.prel(2))
    h.expect_state(state)


def test_ack_of_unsent_data_is_dropped_and_acked() -> None:
    """RFC 9293 §3.10.7.4 fifth: SEG.ACK > SND.NXT: send an ACK, drop the segment."""
    h = established()
    h.app_send(b"abc")
    h.expect(flags="PA")
    h.inject(flags="PA", ack=h.rel(1000), payload=b"must not be delivered")
    h.expect(flags="A", seq=h.rel(4), ack=h.prel(1))
    assert h.app_recv() == b""
    assert h.conn is not None and h.conn.snd_una == h.rel(1)
    assert h.stack.counters["tcp"]["drop.ack_of_unsent"] == 1
    h.expect_state(State.ESTABLISHED)


def test_ack_too_old_is_dropped_with_an_ack() -> None:
    """RFC 5961 §5.2: SEG.ACK < SND.UNA - MAX.SND.WND: discard and send an ACK."""
    h = established(window=1000)
    h.app_send(b"x" * 500)
    h.expect(flags="PA")
    h.inject(flags="A", ack=h.rel(501), window=1000)
    h.inject(flags="PA", seq=h.prel(1), ack=h.rel(501 - 1000 - 1), payload=b"blind data",
             window=1000)
    h.expect(flags="A", seq=h.rel(501), ack=h.prel(1))
    assert h.app_recv() == b""
    assert h.stack.counters["tcp"]["drop.ack_too_old"] == 1
    # an old but acceptable ACK (within MAX.SND.WND) carries its data
    h.inject(flags="PA", seq=h.prel(1), ack=h.rel(501 - 1000), payload=b"ok", window=1000)
    h.expect(flags="A", ack=h.prel(3))
    assert h.app_recv() == b"ok"


# ---------------------------------------------------------------------------- closed ports
def test_syn_to_closed_port_gets_rst_ack() -> None:
    """RFC 9293 §3.10.7.1: no ACK: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>."""
    h = TcpScript(PLAIN)
    h.inject(flags="S", seq=4242, dport=9)
    h.expect(flags="RA", seq=0, ack=4243, window=0, sport=9, dport=40000)
    assert h.stack.tcp.state_count() == 0 and len(h.stack.timers) == 0


@pytest.mark.parametrize(("flags", "payload", "seg_len"), [
    ("F", b"", 1), ("P", b"12345", 5), ("SF", b"ab", 4), ("none", b"", 0)])
def test_segment_without_ack_to_closed_port(flags: str, payload: bytes, seg_len: int) -> None:
    h = TcpScript(PLAIN)
    h.inject(flags=flags, seq=MASK - 1, payload=payload, dport=9)
    h.expect(flags="RA", seq=0, ack=(MASK - 1 + seg_len) & MASK)


@pytest.mark.parametrize("flags", ["A", "PA", "FA", "SA"])
def test_segment_with_ack_to_closed_port_gets_rst_at_its_ack(flags: str) -> None:
    """RFC 9293 §3.10.7.1: ACK set: <SEQ=SEG.ACK><CTL=RST>."""
    h = TcpScript(PLAIN)
    h.inject(flags=flags, seq=10, ack=0xDEADBEEF, payload=b"x" if "P" in flags else b"",
             dport=9)
    h.expect(flags="R", seq=0xDEADBEEF, ack=0)


@pytest.mark.parametrize("flags", ["R", "RA", "RP"])
def test_rst_is_never_answered_with_rst(flags: str) -> None:
    h = TcpScript(PLAIN)
    h.inject(flags=flags, seq=10, ack=20, dport=9)  # closed port
    h.listen(80)
    h.inject(flags=flags, seq=10, ack=20, dport=80)  # listening port
    h.expect_nothing()
    assert h.stack.counters["tcp"]["tx_rst"] == 0


def test_ack_to_listening_port_gets_rst() -> None:
    """RFC 9293 §3.10.7.2: an ACK in LISTEN: <SEQ=SEG.ACK><CTL=RST>."""
    h = TcpScript(PLAIN)
    lst = h.listen(80)
    h.inject(flags="A", seq=1, ack=777)
    h.expect(flags="R", seq=777, ack=0)
    h.inject(flags="F", seq=1)  # neither SYN, ACK nor RST: dropped
    h.expect_nothing()
    assert not lst.half_open


def test_rst_in_syn_received_after_simultaneous_open_means_refused() -> None:
    """RFC 9293 §3.10.7.4 second, SYN-RECEIVED: came from SYN-SENT (active OPEN): the
    connection was refused."""
    h = TcpScript(PLAIN)
    conn = h.connect(80)
    h.expect(flags="S")
    h.inject(flags="S", seq=300)
    h.expect(flags="SA")
    h.inject(flags="R", seq=301)
    h.expect_nothing()
    h.expect_state(State.CLOSED)
    assert isinstance(conn.error, ConnectionRefused)


def test_rst_in_last_ack_closes_without_error() -> None:
    h = established()
    events: list[str] = []
    assert h.conn is not None
    h.conn.notify = events.append
    h.inject(flags="FA")
    h.expect(flags="A")
    h.app_close()
    h.expect(flags="FA")
    h.inject(flags="R", seq=h.prel(2))
    h.expect_nothing()
    h.expect_state(State.CLOSED)
    assert events[-1] == "closed" and h.conn.error is None


def _reach(h: TcpScript, state: State) -> None:
    """Drive a fresh script to `state` (the stack opens actively unless LISTEN-born)."""
    if state is State.SYN_RECEIVED:
        h.listen(80)
        h.inject(flags="S", seq=100)
        h.expect(flags="SA")
        (h.conn,) = h.stack.tcp.conns.values()
        return
    h.connect(80)
    h.expect(flags="S")
    if state is State.SYN_SENT:
        return
    h.inject(flags="SA", seq=100, ack=h.rel(1))
    h.expect(flags="A")
    if state is State.CLOSE_WAIT or state is State.LAST_ACK:
        h.inject(flags="FA")
        h.expect(flags="A")
        if state is State.LAST_ACK:
            h.app_close()
            h.expect(flags="FA")
        return
    if state is State.ESTABLISHED:
        return
    h.app_close()
    h.expect(flags="FA")
    if state is State.FIN_WAIT_1:
        return
    if state is State.CLOSING:
        h.inject(flags="FA", ack=h.rel(1))
        h.expect(flags="A")
        return
    h.inject(flags="A", ack=h.rel(2))
    if state is State.TIME_WAIT:
        h.inject(flags="FA", ack=h.rel(2))
        h.expect(flags="A")


# RFC 9293 §3.10.5 ABORT: a RST in SYN-RECEIVED, ESTABLISHED, FIN-WAIT-1/2, CLOSE-WAIT;
# none in SYN-SENT, CLOSING, LAST-ACK, TIME-WAIT.
ABORT_SENDS_RST = {State.SYN_SENT: False, State.SYN_RECEIVED: True, State.ESTABLISHED: True,
                   State.FIN_WAIT_1: True, State.FIN_WAIT_2: True, State.CLOSE_WAIT: True,
                   State.CLOSING: False, State.LAST_ACK: False, State.TIME_WAIT: False}


@pytest.mark.parametrize("state", list(ABORT_SENDS_RST), ids=str)
def test_abort_in_each_state(state: State) -> None:
    h = TcpScript(PLAIN)
    _reach(h, state)
    h.expect_state(state)
    assert h.conn is not None
    snd_nxt = h.conn.snd_nxt
    h.app_abort()
    if ABORT_SENDS_RST[state]:
        h.expect(flags="R", seq=snd_nxt, ack=0)
    h.expect_nothing()
    h.expect_state(State.CLOSED)
    assert h.stack.tcp.state_count() == 0 and len(h.stack.timers) == 0


# ---------------------------------------------------------------------------- RFC 5961 §7
def _many_established(h: TcpScript, n: int) -> list[int]:
    """`n` connections to port 80 from peer ports 2000.. (handshakes injected); returns the
    ISS + 1 of each (what the peer acknowledges)."""
    h.listen(80)
    acks = []
    for i in range(n):
        h.inject(flags="S", seq=7000, sport=2000 + i)
        (synack,) = h.drain()
        acks.append((synack.seq + 1) & MASK)
        h.inject(flags="A", seq=7001, ack=acks[-1], sport=2000 + i)
    h.drain()
    assert sum(1 for c in h.stack.tcp.conns.values() if c.state is State.ESTABLISHED) == n
    return acks


def _rst_each(h: TcpScript, n: int, offset: int) -> int:
    """A RST inside the window but not at RCV.NXT on each connection; the challenge ACKs."""
    for i in range(n):
        h.inject(flags="R", seq=7001 + offset, sport=2000 + i)
    sent = h.drain()
    assert all(seg.flags == parse_flags("A") and seg.ack == 7001 for seg in sent)
    return len(sent)


def test_challenge_acks_are_limited_host_wide_with_a_randomised_budget() -> None:
    """RFC 5961 §7 (as Linux's tcp_challenge_ack_limit 10): 40 connections each get a RST
    that asks for a challenge ACK (each connection's own limit lets one through); the host
    sends between 5 and 14 in that second, counts the rest, and a new second has a new
    budget. Every connection stays established."""
    cfg = TcpConfig(timestamps=False, sack=False, window_scaling=False, delayed_ack=0,
                    challenge_ack_limit=10)
    h = TcpScript(cfg)
    _many_established(h, 40)
    budgets = []
    for second in range(6):
        h.advance_to(10.0 + second)
        budgets.append(_rst_each(h, 40, 100 + second))
    assert all(5 <= b <= 14 for b in budgets), budgets
    assert len(set(budgets)) > 1, budgets  # drawn per interval, not a fixed count
    assert h.stack.counters["tcp"]["challenge_ack_limited"] == 240 - sum(budgets)
    assert h.stack.counters["tcp"]["challenge_ack"] == sum(budgets)
    assert all(c.state is State.ESTABLISHED for c in h.stack.tcp.conns.values())
    # the same configuration and key give the same budgets (simulation is reproducible)
    again = TcpScript(cfg)
    _many_established(again, 40)
    replay = []
    for second in range(6):
        again.advance_to(10.0 + second)
        replay.append(_rst_each(again, 40, 100 + second))
    assert replay == budgets


def test_without_a_host_wide_limit_each_connection_gets_its_challenge_ack() -> None:
    h = TcpScript(TcpConfig(timestamps=False, sack=False, window_scaling=False, delayed_ack=0))
    _many_established(h, 40)
    h.advance_to(10.0)
    assert _rst_each(h, 40, 100) == 40
    # and the per-connection limit (RFC 5961 §7, Linux's tcp_invalid_ratelimit) still holds
    assert _rst_each(h, 40, 200) == 0
    assert h.stack.counters["tcp"]["oow_ack_limited"] == 40
    assert h.stack.counters["tcp"]["challenge_ack_limited"] == 0


def test_a_zero_host_wide_limit_sends_no_challenge_ack_and_syns_are_still_dropped() -> None:
    """RFC 5961 §4.2 with the throttle shut: a SYN in ESTABLISHED is never acted on."""
    cfg = TcpConfig(timestamps=False, sack=False, window_scaling=False, delayed_ack=0,
                    challenge_ack_limit=0)
    h = TcpScript(cfg)
    h.establish_active()
    h.inject(flags="S", seq=h.prel(50))
    h.expect_nothing()
    h.expect_state(State.ESTABLISHED)
    assert h.stack.counters["tcp"]["challenge_ack_limited"] == 1


@pytest.mark.parametrize("field,value", [("challenge_ack_limit", -1),
                                         ("challenge_ack_interval", 0.0)])
def test_bad_challenge_ack_settings_are_refused(field: str, value: float) -> None:
    with pytest.raises(UsageError, match=field):
        TcpConfig(**{field: value})  # type: ignore[arg-type]
