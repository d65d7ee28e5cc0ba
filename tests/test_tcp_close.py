"""Closing connections: active, passive and simultaneous close, half-close, TIME-WAIT
(RFC 9293 §3.6, §3.10.4, §3.10.7.4; RFC 1337)."""

from __future__ import annotations

import pytest

from netsim.stack.tcp.config import TcpConfig
from netsim.stack.tcp.errors import ConnectionClosed
from netsim.stack.tcp.states import State
from netsim.testing import TcpScript


def plain(**kw: object) -> TcpConfig:
    base: dict[str, object] = {"timestamps": False, "sack": False, "window_scaling": False,
                               "delayed_ack": 0, "msl": 5.0}
    base.update(kw)
    return TcpConfig(**base)  # type: ignore[arg-type]


def active_close_to_time_wait(h: TcpScript) -> None:
    h.establish_active()
    h.app_close()
    h.expect(flags="FA", seq=h.rel(1), ack=h.prel(1))
    h.inject(flags="A", ack=h.rel(2))
    h.inject(flags="FA", ack=h.rel(2))
    h.expect(flags="A", seq=h.rel(2), ack=h.prel(2))
    h.expect_state(State.TIME_WAIT)


def test_active_close() -> None:
    h = TcpScript(plain())
    h.establish_active()
    h.app_send(b"bye")
    h.expect(flags="PA", payload=b"bye")
    h.app_close()
    h.expect(flags="FA", seq=h.rel(4))  # the FIN follows the data
    h.expect_state(State.FIN_WAIT_1)
    h.inject(flags="A", ack=h.rel(5))
    h.expect_state(State.FIN_WAIT_2)
    h.expect_nothing()
    h.inject(flags="FA", ack=h.rel(5))
    h.expect(flags="A", seq=h.rel(5), ack=h.prel(2))
    h.expect_state(State.TIME_WAIT)


def test_fin_and_ack_of_our_fin_in_one_segment() -> None:
    h = TcpScript(plain())
    h.establish_active()
    h.app_close()
    h.expect(flags="FA")
    h.inject(flags="FA", ack=h.rel(2))
    h.expect(flags="A", ack=h.prel(2))
    h.expect_state(State.TIME_WAIT)


def test_passive_close() -> None:
    h = TcpScript(plain())
    conn = h.establish_passive()
    events: list[str] = []
    conn.notify = events.append
    h.inject(flags="PA", payload=b"last words")
    h.expect(flags="A", ack=h.prel(11))
    h.inject(flags="FA")
    h.expect(flags="A", ack=h.prel(12))
    h.expect_state(State.CLOSE_WAIT)
    assert "eof" in events
    assert h.app_recv() == b"last words"
    assert h.app_recv() == b"" and conn.at_eof
    h.app_close()
    h.expect(flags="FA", seq=h.rel(1), ack=h.prel(12))
    h.expect_state(State.LAST_ACK)
    h.inject(flags="A", ack=h.rel(2))
    h.expect_state(State.CLOSED)
    assert events[-1] == "closed"
    h.expect_nothing()
    assert h.stack.tcp.state_count() == 0


def test_last_ack_retransmits_fin() -> None:
    h = TcpScript(plain())
    h.establish_passive()
    h.inject(flags="FA")
    h.expect(flags="A")
    h.app_close()
    fin = h.expect(flags="FA")
    h.advance(1.0)
    h.expect(flags="FA", seq=fin.seq, ack=fin.ack)
    h.inject(flags="A", ack=h.rel(2))
    h.expect_state(State.CLOSED)


def test_simultaneous_close() -> None:
    """RFC 9293 Figure 13: the FINs cross; CLOSING, then TIME-WAIT on both sides."""
    h = TcpScript(plain())
    h.establish_active()
    h.app_close()
    h.expect(flags="FA", seq=h.rel(1), ack=h.prel(1))
    h.inject(flags="FA", ack=h.rel(1))  # the peer's FIN, sent before ours arrived
    h.expect(flags="A", seq=h.rel(2), ack=h.prel(2))
    h.expect_state(State.CLOSING)
    h.inject(flags="A", seq=h.prel(2), ack=h.rel(2))  # the peer's ACK of our FIN
    h.expect_state(State.TIME_WAIT)
    h.expect_nothing()


def test_half_close_we_keep_receiving() -> None:
    h = TcpScript(plain())
    h.establish_active()
    h.app_shutdown()
    h.expect(flags="FA", seq=h.rel(1))
    h.inject(flags="A", ack=h.rel(2))
    h.expect_state(State.FIN_WAIT_2)
    with pytest.raises(ConnectionClosed):
        h.app_send(b"no more")
    for chunk in (b"still ", b"talking"):
        h.inject(flags="PA", ack=h.rel(2), payload=chunk)
        h.expect(flags="A", seq=h.rel(2), ack=h.peer_nxt)
    assert h.app_recv() == b"still talking"
    h.inject(flags="FA", ack=h.rel(2))
    h.expect(flags="A", ack=h.peer_nxt)
    h.expect_state(State.TIME_WAIT)


def test_half_close_by_peer_we_keep_sending() -> None:
    h = TcpScript(plain())
    h.establish_active()
    h.inject(flags="FA")
    h.expect(flags="A", ack=h.prel(2))
    h.expect_state(State.CLOSE_WAIT)
    assert h.app_recv() == b""
    for i, chunk in enumerate((b"reply one", b"reply two")):
        assert h.app_send(chunk) == len(chunk)
        h.expect(flags="PA", seq=h.rel(1 + 9 * i), ack=h.prel(2), payload=chunk)
        h.inject(flags="A", ack=h.rel(10 + 9 * i))
    h.expect_state(State.CLOSE_WAIT)
    h.app_close()
    h.expect(flags="FA", seq=h.rel(19))
    h.inject(flags="A", ack=h.rel(20))
    h.expect_state(State.CLOSED)


def test_data_after_close_is_answered_with_rst() -> None:
    # RFC 1122 §4.2.2.13 (and Linux): nobody will read data that arrives after close(),
    # so the connection is reset and the peer learns the data was not consumed.
    h = TcpScript(plain())
    conn = h.establish_active()
    h.app_close()
    h.expect(flags="FA")
    h.inject(flags="PA", ack=h.rel(2), payload=b"ignored")
    h.expect(flags="R", seq=h.rel(2))
    h.expect_state(State.CLOSED)
    assert conn.readable == 0
    assert h.stack.counters["tcp"]["data_after_close"] == 1


def test_close_with_unread_data_sends_rst() -> None:
    # RFC 2525 §2.17: closing with unread data in the receive buffer resets the connection.
    h = TcpScript(plain())
    conn = h.establish_active()
    h.inject(flags="PA", payload=b"unread")
    h.expect(flags="A")
    h.app_close()
    h.expect(flags="R")
    h.expect_state(State.CLOSED)
    assert conn.error is None and h.stack.tcp.state_count() == 0


def test_orphaned_fin_wait_2_ends_after_fin_timeout() -> None:
    h = TcpScript(plain(fin_wait2_timeout=60.0))
    h.establish_active()
    h.app_close()
    h.expect(flags="FA")
    h.inject(flags="A", ack=h.rel(2))
    h.expect_state(State.FIN_WAIT_2)
    h.advance(59.9)
    h.expect_state(State.FIN_WAIT_2)
    h.advance(0.2)
    h.expect_state(State.CLOSED)
    assert h.stack.tcp.state_count() == 0


def test_close_in_syn_sent_sends_nothing() -> None:
    h = TcpScript(plain())
    h.connect(80)
    h.expect(flags="S")
    h.app_close()
    h.expect_state(State.CLOSED)
    h.advance(10)
    h.expect_nothing()
    assert h.stack.tcp.state_count() == 0 and len(h.stack.timers) == 0


@pytest.mark.parametrize("msl", [5.0, 0.25, 30.0])
def test_time_wait_lasts_exactly_two_msl(msl: float) -> None:
    h = TcpScript(plain(msl=msl))
    active_close_to_time_wait(h)
    start = h.now
    h.advance(2 * msl - 0.001)
    h.expect_state(State.TIME_WAIT)
    assert h.stack.tcp.state_count() == 1
    h.advance(0.001)
    h.expect_state(State.CLOSED)
    assert h.now - start == pytest.approx(2 * msl)
    assert h.stack.tcp.state_count() == 0 and len(h.stack.timers) == 0
    h.expect_nothing()


def test_default_time_wait_is_sixty_seconds() -> None:
    h = TcpScript(TcpConfig(timestamps=False))
    active_close_to_time_wait(h)
    h.advance(59.999)
    h.expect_state(State.TIME_WAIT)
    h.advance(0.001)
    h.expect_state(State.CLOSED)


def test_retransmitted_fin_in_time_wait_is_acked_and_restarts_the_timer() -> None:
    h = TcpScript(plain(msl=5.0))
    active_close_to_time_wait(h)
    h.advance(7.0)
    h.inject(flags="FA", seq=h.prel(1), ack=h.rel(2))  # our last ACK was lost
    h.expect(flags="A", seq=h.rel(2), ack=h.prel(2))
    h.advance(3.0)  # past the first deadline (t = 10)
    h.expect_state(State.TIME_WAIT)
    h.advance(6.999)
    h.expect_state(State.TIME_WAIT)
    h.advance(0.001)  # 2 MSL after the retransmitted FIN
    h.expect_state(State.CLOSED)
    h.expect_nothing()


@pytest.mark.parametrize("rst_seq", ["exact", "in_window"])
def test_rst_in_time_wait_does_not_assassinate(rst_seq: str) -> None:
    """RFC 1337 (TIME-WAIT assassination hazard, fix TW1): a RST in TIME-WAIT is ignored."""
    h = TcpScript(plain(msl=5.0))
    active_close_to_time_wait(h)
    h.advance(1.0)
    seq = h.prel(2) if rst_seq == "exact" else h.prel(100)
    h.inject(flags="R", seq=seq)
    h.expect_nothing()  # not reset, and a RST is never answered
    h.expect_state(State.TIME_WAIT)
    h.inject(flags="RA", seq=seq, ack=h.rel(2))
    h.expect_state(State.TIME_WAIT)
    h.advance(8.999)
    h.expect_state(State.TIME_WAIT)
    h.advance(0.001)
    h.expect_state(State.CLOSED)


def test_fin_is_retransmitted_when_lost() -> None:
    h = TcpScript(plain())
    h.establish_active()
    h.app_close()
    fin = h.expect(flags="FA")
    h.advance(0.999)
    h.expect_nothing()
    h.advance(0.001)
    h.expect(flags="FA", seq=fin.seq)
    h.advance(2.0)
    h.expect(flags="FA", seq=fin.seq)
    h.inject(flags="A", ack=h.rel(2))
    h.expect_state(State.FIN_WAIT_2)
    h.advance(100)
    h.expect_nothing()
