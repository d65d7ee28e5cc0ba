"""The eleven TCP states and the transition table (RFC 9293 §3.3.2, Figure 5)."""

from __future__ import annotations

import pytest

from netsim.errors import NetsimError
from netsim.stack.events import StateRecord, TraceRecord
from netsim.stack.tcp.config import TcpConfig
from netsim.stack.tcp.errors import ConnectionClosed, ConnectionReset, TcpProtocolError
from netsim.stack.tcp.states import TRANSITIONS, Event, State, next_state
from netsim.testing import TcpScript

PLAIN = TcpConfig(timestamps=False, sack=False, window_scaling=False, delayed_ack=0, msl=1.0)

S, E = State, Event

# RFC 9293 Figure 5, written out independently of the implementation's table.
FIGURE_5 = [
    (S.CLOSED, E.PASSIVE_OPEN, S.LISTEN),
    (S.CLOSED, E.ACTIVE_OPEN, S.SYN_SENT),
    (S.LISTEN, E.RCV_SYN, S.SYN_RECEIVED),
    (S.LISTEN, E.CLOSE, S.CLOSED),
    (S.SYN_SENT, E.RCV_SYN_ACK, S.ESTABLISHED),
    (S.SYN_SENT, E.RCV_SYN, S.SYN_RECEIVED),
    (S.SYN_SENT, E.CLOSE, S.CLOSED),
    (S.SYN_RECEIVED, E.RCV_ACK_OF_SYN, S.ESTABLISHED),
    (S.SYN_RECEIVED, E.CLOSE, S.FIN_WAIT_1),
    (S.SYN_RECEIVED, E.RCV_RST, S.CLOSED),
    (S.ESTABLISHED, E.CLOSE, S.FIN_WAIT_1),
    (S.ESTABLISHED, E.RCV_FIN, S.CLOSE_WAIT),
    (S.FIN_WAIT_1, E.RCV_ACK_OF_FIN, S.FIN_WAIT_2),
    (S.FIN_WAIT_1, E.RCV_FIN, S.CLOSING),
    (S.FIN_WAIT_2, E.RCV_FIN, S.TIME_WAIT),
    (S.CLOSING, E.RCV_ACK_OF_FIN, S.TIME_WAIT),
    (S.CLOSE_WAIT, E.CLOSE, S.LAST_ACK),
    (S.LAST_ACK, E.RCV_ACK_OF_FIN, S.CLOSED),
    (S.TIME_WAIT, E.TIMEOUT_2MSL, S.CLOSED),
]


@pytest.mark.parametrize(("state", "event", "after"), FIGURE_5,
                         ids=[f"{s}-{e}" for s, e, _ in FIGURE_5])
def test_figure_5_transitions(state: State, event: Event, after: State) -> None:
    assert next_state(state, event) is after


@pytest.mark.parametrize("state", [s for s in State if s is not S.CLOSED])
def test_rst_abort_and_give_up_close_every_open_state(state: State) -> None:
    for event in (E.RCV_RST, E.ABORT, E.GIVE_UP):
        assert next_state(state, event) is S.CLOSED


ILLEGAL = [(s, e) for s in State for e in Event if (s, e) not in TRANSITIONS]


def test_the_table_forbids_most_pairs() -> None:
    # 11 states x 12 events; Figure 5 plus RST/abort/give-up leaves most pairs illegal.
    assert len(ILLEGAL) > 80
    for s, e in [(S.CLOSED, E.RCV_FIN), (S.TIME_WAIT, E.CLOSE), (S.ESTABLISHED, E.ACTIVE_OPEN),
                 (S.LISTEN, E.RCV_FIN), (S.CLOSED, E.RCV_RST)]:
        assert (s, e) in ILLEGAL


@pytest.mark.parametrize(("state", "event"), ILLEGAL, ids=[f"{s}-{e}" for s, e in ILLEGAL])
def test_illegal_event_names_state_and_event(state: State, event: Event) -> None:
    with pytest.raises(TcpProtocolError) as info:
        next_state(state, event)
    assert str(state) in str(info.value)
    assert str(event) in str(info.value)
    assert isinstance(info.value, NetsimError)


class _States:
    def __init__(self) -> None:
        self.seen: set[str] = set()

    def record(self, rec: TraceRecord) -> None:
        if isinstance(rec, StateRecord):
            self.seen.update((rec.old, rec.new))


def test_all_eleven_states_are_reached() -> None:
    tracer = _States()
    # Active open and active close: SYN-SENT, ESTABLISHED, FIN-WAIT-1/2, TIME-WAIT, CLOSED.
    h = TcpScript(PLAIN, trace=tracer)
    h.establish_active()
    h.app_close()
    h.expect(flags="FA")
    h.inject(flags="A")
    h.expect_state(S.FIN_WAIT_2)
    h.inject(flags="FA")
    h.expect(flags="A")
    h.expect_state(S.TIME_WAIT)
    h.advance(2.0)
    h.expect_state(S.CLOSED)
    # Passive open and passive close: LISTEN, SYN-RECEIVED, CLOSE-WAIT, LAST-ACK.
    h = TcpScript(PLAIN, trace=tracer)
    h.establish_passive()
    h.inject(flags="FA")
    h.expect(flags="A")
    h.expect_state(S.CLOSE_WAIT)
    h.app_close()
    h.expect(flags="FA")
    h.expect_state(S.LAST_ACK)
    h.inject(flags="A")
    h.expect_state(S.CLOSED)
    # Simultaneous close: CLOSING.
    h = TcpScript(PLAIN, trace=tracer)
    h.establish_active()
    h.app_close()
    h.expect(flags="FA")
    h.inject(flags="FA", ack=h.rel(1))  # the peer's FIN does not yet ack ours
    h.expect(flags="A")
    h.expect_state(S.CLOSING)
    h.inject(flags="A")
    h.expect_state(S.TIME_WAIT)
    assert tracer.seen == {str(s) for s in State}


def test_active_open_twice_is_a_protocol_error() -> None:
    h = TcpScript(PLAIN)
    conn = h.connect(80)
    h.expect(flags="S")
    with pytest.raises(TcpProtocolError, match="active open.*SYN-SENT"):
        conn.open_active(h.now)
    h.expect_nothing()
    h.expect_state(S.SYN_SENT)


def test_connect_twice_on_the_same_four_tuple_is_refused() -> None:
    h = TcpScript(PLAIN)
    first = h.connect(80, local_port=5555)
    with pytest.raises(NetsimError, match="5555"):
        h.stack.tcp.connect("10.0.0.2", 80, h.now, local_port=5555)
    assert h.stack.tcp.conns[first.key] is first


def test_send_after_shutdown_names_the_state() -> None:
    h = TcpScript(PLAIN)
    h.establish_active()
    h.app_shutdown()
    h.expect(flags="FA")
    with pytest.raises(ConnectionClosed, match="FIN-WAIT-1.*shutdown"):
        h.app_send(b"late")
    h.expect_nothing()


def test_send_in_time_wait_and_closed_is_refused() -> None:
    h = TcpScript(PLAIN)
    h.establish_active()
    h.app_close()
    h.expect(flags="FA")
    h.inject(flags="FA")
    h.expect(flags="A")
    h.expect_state(S.TIME_WAIT)
    with pytest.raises(ConnectionClosed, match="TIME-WAIT"):
        h.app_send(b"x")
    h.advance(2.0)
    with pytest.raises(ConnectionClosed, match="CLOSED"):
        h.app_send(b"x")
    h.expect_nothing()


def test_send_after_reset_raises_the_reset() -> None:
    h = TcpScript(PLAIN)
    h.establish_active()
    h.inject(flags="R")
    h.expect_state(S.CLOSED)
    with pytest.raises(ConnectionReset):
        h.app_send(b"x")
    with pytest.raises(ConnectionReset):
        h.app_recv()
