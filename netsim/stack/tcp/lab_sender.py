"""A whole TCP sender with a narrow interface of plain values: what assignment 07b asks
students to write (lessons/assignments/07b-sender-timer), in the style of Stanford CS144's
minnow `TCPSender`. netsim's own connection does the same work in netsim.stack.tcp.sender and
its timers; this class is the reference the grader compares a student's with, and small
enough to read in one sitting.

The sender reads an outbound byte stream (`write`, `close`) and turns it into segments:

- `push()` fills the peer's window: the SYN first, then payload, at most `max_payload` bytes
  a segment, and the FIN once the stream is closed and the window has room for it.
- `receive(ackno, window)` takes the peer's acknowledgment number and window.
- `tick(elapsed)` tells it that time passed: when the retransmission timer expires it sends
  the oldest outstanding segment again.

A segment is a plain tuple ``(seqno, syn, payload, fin)``: its 32-bit sequence number, whether
it carries the SYN, its payload bytes, whether it carries the FIN. Sequence numbers follow RFC
9293 §3.4: the SYN takes the ISN, stream byte i takes ISN + 1 + i, the FIN the number after the
last byte, all modulo 2**32. Inside, the sender counts absolute sequence numbers (0 is the SYN)
and wraps them only at the edges. Times are seconds (floats).
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any

from netsim.stack.tcp.tcp_receiver import MOD, unwrap, wrap

#: (seqno, syn, payload, fin): one segment as it goes out, in plain values
SenderMessage = tuple[int, bool, bytes, bool]


def _check_int(name: str, value: Any, lo: int, hi: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < lo or \
            (hi is not None and value > hi):
        allowed = f"an integer >= {lo}" if hi is None else f"an integer in [{lo}, {hi}]"
        raise ValueError(f"{name}: {value!r} is not allowed; use {allowed}")
    return value


def _check_seconds(name: str, value: Any, positive: bool) -> float:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and \
        math.isfinite(value) and (value > 0 if positive else value >= 0)
    if not ok:
        raise ValueError(f"{name}: {value!r} is not allowed; use a finite number of seconds "
                         f"{'> 0' if positive else '>= 0'}")
    return float(value)


class LabSender:
    """netsim's reference for assignment 07b: window, SYN/FIN, retransmission timer."""

    def __init__(self, isn: int = 0, initial_rto: float = 1.0, max_payload: int = 1000) -> None:
        self._isn = _check_int("isn", isn, 0, MOD - 1)
        self._initial_rto = _check_seconds("initial_rto", initial_rto, positive=True)
        self._max_payload = _check_int("max_payload", max_payload, 1)
        self._unsent = bytearray()  # bytes written and not yet sent
        self._closed = False  # close() was called: the FIN follows the last byte
        self._syn_sent = False
        self._fin_sent = False
        self._next = 0  # absolute sequence number of the next new one to send
        self._acked = 0  # absolute: every number before it is acknowledged
        self._window = 1  # the peer's window; 1 until it says (so the SYN goes alone)
        self._outstanding: deque[tuple[int, SenderMessage]] = deque()  # (end, segment)
        self._rto = self._initial_rto
        self._timer: float | None = None  # seconds since the timer started; None: stopped
        self._retransmissions = 0  # consecutive, since the last ACK of new data

    # ----------------------------------------------------------------- the byte stream
    def write(self, data: bytes) -> None:
        """Append the application's bytes to the outbound stream."""
        if not isinstance(data, bytes | bytearray | memoryview):
            raise ValueError(f"data: a {type(data).__name__} is not allowed; use bytes")
        if self._closed:
            raise ValueError("data: the stream is closed; nothing may be written after close()")
        self._unsent += data

    def close(self) -> None:
        """The application has written its last byte: a FIN follows it."""
        self._closed = True

    # ------------------------------------------------------------------------- sending
    def push(self) -> list[SenderMessage]:
        """New segments that fill the peer's window, oldest first (empty if none fit)."""
        # RFC 9293 §3.8.6.1 (zero-window probing): a window of zero is taken as one, so one
        # byte (or the SYN or FIN) goes out as a probe and the timer keeps sending it again
        window = self._window if self._window > 0 else 1
        out: list[SenderMessage] = []
        while not self._fin_sent:
            room = self._acked + window - self._next  # numbers the window still offers
            if room <= 0:
                break
            syn = not self._syn_sent  # RFC 9293 §3.4: the SYN takes the first number
            n = min(self._max_payload, room - syn, len(self._unsent))
            payload = bytes(self._unsent[:n])
            del self._unsent[:n]
            # the FIN takes a sequence number too: it goes only if the window has room left
            fin = self._closed and not self._unsent and room - syn - n > 0
            length = syn + n + fin
            if length == 0:
                break
            segment = (wrap(self._next, self._isn), syn, payload, fin)
            self._next += length
            self._syn_sent = True
            self._fin_sent = fin
            self._outstanding.append((self._next, segment))
            if self._timer is None:
                self._timer = 0.0  # RFC 6298 (5.1): start the timer when data is sent
            out.append(segment)
        return out

    def make_empty_message(self) -> SenderMessage:
        """A segment with no SYN, payload or FIN at the next sequence number (to carry an
        ACK); it is not outstanding and is never sent again."""
        return (wrap(self._next, self._isn), False, b"", False)

    # ------------------------------------------------------------------------ receiving
    def receive(self, ackno: int | None, window: int) -> None:
        """The peer's acknowledgment number (32 bits; None when its segment carries no ACK)
        and the window it offers from there."""
        if ackno is not None:
            _check_int("ackno", ackno, 0, MOD - 1)
        _check_int("window", window, 0)
        if ackno is None:
            self._window = window
            return
        acked = unwrap(ackno, self._isn, self._next)
        if acked > self._next:
            return  # RFC 9293 §3.10.7.4: an ACK of something not yet sent is dropped
        if acked < self._acked:
            # an old ACK (reordered): its window is stale; RFC 9293 §3.8.6 (managing the
            # window) acts on the window of segments with the highest acknowledgment number
            return
        self._window = window
        if acked == self._acked:
            return  # a duplicate: no new data acknowledged, the timer runs on
        self._acked = acked
        while self._outstanding and self._outstanding[0][0] <= acked:
            self._outstanding.popleft()  # fully acknowledged segments are let go
        # new data acknowledged: the backed-off RTO and the count start again (CS144; RFC
        # 6298 (5.7) recomputes the RTO from the next RTT sample, which this lab leaves out)
        self._rto = self._initial_rto
        self._retransmissions = 0
        # RFC 6298 (5.3): restart the timer while data is outstanding; (5.2): all data
        # acknowledged turns the timer off
        self._timer = 0.0 if self._outstanding else None

    # --------------------------------------------------------------------------- timer
    def tick(self, elapsed: float) -> list[SenderMessage]:
        """`elapsed` seconds have passed: the segment sent again if the timer expired."""
        elapsed = _check_seconds("elapsed", elapsed, positive=False)
        if self._timer is None:
            return []
        self._timer += elapsed
        if self._timer < self._rto:
            return []
        # RFC 6298 (5.4): retransmit the earliest segment not yet acknowledged
        segment = self._outstanding[0][1]
        if self._window > 0:
            # RFC 6298 (5.5): back off the timer, RTO * 2, and count the timeout. A window
            # of zero makes this a probe (RFC 9293 §3.8.6.1): no backoff, and no count, since
            # the connection must not time out while the peer answers its zero-window probes
            self._rto *= 2
            self._retransmissions += 1
        self._timer = 0.0  # RFC 6298 (5.6): start the timer again
        return [segment]

    # -------------------------------------------------------------------------- queries
    def in_flight(self) -> int:
        """Sequence numbers sent and not yet acknowledged (the SYN and FIN count one each)."""
        return self._next - self._acked

    def consecutive_retransmissions(self) -> int:
        """Timeouts since the last ACK of new data (the caller gives up after too many)."""
        return self._retransmissions

    def peer_window(self) -> int:
        """The window the peer last offered (1 until its first ACK: the SYN goes alone)."""
        return self._window

    def fin_sent(self) -> bool:
        """Whether the FIN has been sent."""
        return self._fin_sent

    def rto(self) -> float:
        """The retransmission timeout now (backoff included)."""
        return self._rto

    def unsent_bytes(self) -> int:
        """Stream bytes written and not yet sent."""
        return len(self._unsent)
