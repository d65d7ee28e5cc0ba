"""The eleven TCP states and the legal transitions, in one table (RFC 9293 §3.3.2, Figure 5).

Anything not in the table is a `TcpProtocolError` naming the state and the event.
"""

from __future__ import annotations

import enum
from typing import Final

from netsim.stack.tcp.errors import TcpProtocolError


class State(enum.Enum):
    CLOSED = "CLOSED"
    LISTEN = "LISTEN"
    SYN_SENT = "SYN-SENT"
    SYN_RECEIVED = "SYN-RECEIVED"
    ESTABLISHED = "ESTABLISHED"
    FIN_WAIT_1 = "FIN-WAIT-1"
    FIN_WAIT_2 = "FIN-WAIT-2"
    CLOSE_WAIT = "CLOSE-WAIT"
    CLOSING = "CLOSING"
    LAST_ACK = "LAST-ACK"
    TIME_WAIT = "TIME-WAIT"

    def __str__(self) -> str:
        return self.value


class Event(enum.Enum):
    PASSIVE_OPEN = "passive open"
    ACTIVE_OPEN = "active open"
    RCV_SYN = "rcv SYN"
    RCV_SYN_ACK = "rcv SYN+ACK"
    RCV_ACK_OF_SYN = "rcv ACK of SYN"
    RCV_FIN = "rcv FIN"
    RCV_ACK_OF_FIN = "rcv ACK of FIN"
    CLOSE = "close"
    TIMEOUT_2MSL = "2MSL timeout"
    RCV_RST = "rcv RST"
    ABORT = "abort"
    GIVE_UP = "retransmission limit"

    def __str__(self) -> str:
        return self.value


S, E = State, Event

TRANSITIONS: dict[tuple[State, Event], State] = {
    (S.CLOSED, E.PASSIVE_OPEN): S.LISTEN,
    (S.CLOSED, E.ACTIVE_OPEN): S.SYN_SENT,
    (S.LISTEN, E.RCV_SYN): S.SYN_RECEIVED,
    (S.LISTEN, E.CLOSE): S.CLOSED,
    (S.LISTEN, E.ABORT): S.CLOSED,
    (S.SYN_SENT, E.RCV_SYN_ACK): S.ESTABLISHED,
    (S.SYN_SENT, E.RCV_SYN): S.SYN_RECEIVED,  # simultaneous open
    (S.SYN_SENT, E.CLOSE): S.CLOSED,
    (S.SYN_RECEIVED, E.RCV_ACK_OF_SYN): S.ESTABLISHED,
    (S.SYN_RECEIVED, E.CLOSE): S.FIN_WAIT_1,
    (S.ESTABLISHED, E.CLOSE): S.FIN_WAIT_1,
    (S.ESTABLISHED, E.RCV_FIN): S.CLOSE_WAIT,
    (S.FIN_WAIT_1, E.RCV_ACK_OF_FIN): S.FIN_WAIT_2,
    (S.FIN_WAIT_1, E.RCV_FIN): S.CLOSING,  # simultaneous close
    (S.FIN_WAIT_2, E.RCV_FIN): S.TIME_WAIT,
    (S.CLOSING, E.RCV_ACK_OF_FIN): S.TIME_WAIT,
    (S.CLOSE_WAIT, E.CLOSE): S.LAST_ACK,
    (S.LAST_ACK, E.RCV_ACK_OF_FIN): S.CLOSED,
    (S.TIME_WAIT, E.TIMEOUT_2MSL): S.CLOSED,
}
# A RST, an abort or giving up end any state but CLOSED (RFC 9293 §3.10.7.4, §3.10.5).
for _s in State:
    if _s is not S.CLOSED:
        TRANSITIONS.setdefault((_s, E.RCV_RST), S.CLOSED)
        TRANSITIONS.setdefault((_s, E.ABORT), S.CLOSED)
        TRANSITIONS.setdefault((_s, E.GIVE_UP), S.CLOSED)

SYNCHRONIZED = frozenset({S.ESTABLISHED, S.FIN_WAIT_1, S.FIN_WAIT_2, S.CLOSE_WAIT, S.CLOSING,
                          S.LAST_ACK, S.TIME_WAIT})
# States in which we may still send data.
CAN_SEND = frozenset({S.ESTABLISHED, S.CLOSE_WAIT})
# States in which the peer may still send us data.
CAN_RECEIVE = frozenset({S.ESTABLISHED, S.FIN_WAIT_1, S.FIN_WAIT_2, S.SYN_RECEIVED})


# The states as module constants, for the per-segment code: in the compiled build a Final is
# read directly, where `State.X` is a class-attribute lookup (~50 ns) on every test of a state.
CLOSED: Final = State.CLOSED
LISTEN: Final = State.LISTEN
SYN_SENT: Final = State.SYN_SENT
SYN_RECEIVED: Final = State.SYN_RECEIVED
ESTABLISHED: Final = State.ESTABLISHED
FIN_WAIT_1: Final = State.FIN_WAIT_1
FIN_WAIT_2: Final = State.FIN_WAIT_2
CLOSE_WAIT: Final = State.CLOSE_WAIT
CLOSING: Final = State.CLOSING
LAST_ACK: Final = State.LAST_ACK
TIME_WAIT: Final = State.TIME_WAIT


def next_state(state: State, event: Event) -> State:
    try:
        return TRANSITIONS[(state, event)]
    except KeyError:
        raise TcpProtocolError(f"TCP: event '{event}' is not allowed in state {state}") from None
