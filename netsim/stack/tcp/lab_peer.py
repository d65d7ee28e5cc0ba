"""A whole TCP endpoint with a narrow interface of plain values: what assignment 10 (the
capstone, lessons/assignments/10-tcp-peer) asks students to write, in the style of Stanford
CS144's "TCP connection" lab. It is glue: a sender (assignment 07b; here netsim's
`LabSender`) and a receiver (assignment 06; here netsim's `StreamReceiver`) joined into one
peer that opens, moves bytes both ways and closes. netsim's own connection
(netsim.stack.tcp.connection) does the same work with many more features; this class is the
reference the grader compares a student's peer with, and `netsim.stack.tcp.peer_adapter` puts
either one on a netsim stack as a real TCP endpoint (simulated or live).

A segment crossing the interface is a plain 7-tuple::

    (seqno, ackno, window, syn, fin, rst, payload)

``seqno`` is the 32-bit sequence number, ``ackno`` the acknowledgment number or None when the
ACK flag is not set, ``window`` the 16-bit window field (no window scaling: it is in bytes).
Every method that can make segments returns the list of segments to send now, oldest first.
Times are seconds (floats); `tick(elapsed)` says how much time passed.
"""

from __future__ import annotations

from netsim.stack.tcp.lab_sender import LabSender, SenderMessage
from netsim.stack.tcp.tcp_receiver import MASK, StreamReceiver, wrap

#: (seqno, ackno, window, syn, fin, rst, payload): one segment, in or out
Seg = tuple[int, int | None, int, bool, bool, bool, bytes]

MAX_RETX = 8  # timeouts in a row before a connection failure: give up (RFC 9293 §3.8.3, R2)
LINGER_RTOS = 10  # an active closer waits this many initial RTOs (a short TIME-WAIT)


class LabPeer:
    """netsim's reference for assignment 10: LabSender + StreamReceiver as one TCP peer."""

    def __init__(self, isn: int = 0, initial_rto: float = 1.0, max_payload: int = 1000,
                 capacity: int = 64000) -> None:
        if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 1:
            raise ValueError(f"capacity: {capacity!r} is not allowed; use an integer >= 1")
        self._sender = LabSender(isn, initial_rto, max_payload)  # checks the other three
        self._receiver = StreamReceiver()
        self._isn = isn
        self._capacity = capacity
        self._linger_limit = LINGER_RTOS * float(initial_rto)
        self._unread = bytearray()  # in-order bytes received and not yet read
        self._opened = False  # connect() was called, or a SYN arrived
        self._active = True
        self._fin_sent = False  # our FIN has gone out (the sender returned it)
        self._linger = False  # inbound stream ended after our FIN was sent: active close
        self._since_last = 0.0  # seconds since the last segment arrived (while lingering)

    # ------------------------------------------------------------------ opening
    def connect(self) -> list[Seg]:
        """Active open: the SYN (RFC 9293 §3.5, the three-way handshake)."""
        if not self._active:
            return []
        self._opened = True
        return self._send(self._sender.push())

    # ---------------------------------------------------------------- receiving
    def receive(self, seg: Seg) -> list[Seg]:
        """A segment arrived; the segments to send in answer."""
        if not self._active:
            return []  # rule 1: a closed peer says nothing
        seqno, ackno, window, syn, fin, rst, payload = seg
        if not self._opened and not syn:
            return []  # nothing opened yet: only a SYN starts a connection (LISTEN)
        self._opened = True
        if rst:
            if self._rst_acceptable(seqno, ackno):
                self._active = False  # the other side aborted: nothing more is sent
            return []
        acceptable = self._acceptable(seqno, len(payload) + syn + fin)
        # rule 2: the receiver takes sequence numbers, data and FIN; the sender the ACK
        ended_before = self._receiver.reassembler.finished
        room = self._capacity - len(self._unread)
        self._unread += self._receiver.receive(seqno, syn, fin, payload, room)
        if ackno is not None:
            self._sender.receive(ackno, window)
        if self._receiver.reassembler.finished and not ended_before:
            # rule 6: the inbound stream just ended. If our FIN went first this is an active
            # close, which lingers; otherwise a passive close, which ends once our FIN is acked
            self._linger = self._fin_sent
        self._since_last = 0.0  # the linger time counts from the last segment received
        out = self._send(self._sender.push())
        # rule 3: RFC 9293 §3.10.7.4: a segment that takes sequence space gets an ACK, and
        # so does a segment not acceptable (outside the window)
        if not out and (syn or fin or payload or not acceptable):
            out = self._send([self._sender.make_empty_message()])
        if self._done() and not self._linger:
            self._active = False  # passive close: our FIN is acknowledged, nothing to wait for
        return out

    def _rst_acceptable(self, seqno: int, ackno: int | None) -> bool:
        if self._receiver.ackno() is None:
            # RFC 9293 §3.10.7.3 (SYN-SENT): a RST counts only if its ACK acknowledges our SYN
            return ackno is not None and ackno == wrap(1, self._isn)
        # RFC 9293 §3.10.7.4: a RST is valid if its sequence number is in the window
        return self._acceptable(seqno, 0)

    def _acceptable(self, seqno: int, length: int) -> bool:
        """RFC 9293 §3.10.7.4's first check for a segment of no length (a RST, a bare ACK):
        its sequence number is in the receive window (exactly RCV.NXT when the window is 0).
        A segment that carries sequence space is acknowledged anyway (rule 3)."""
        rcv_nxt = self._receiver.ackno()
        if rcv_nxt is None or length > 0:
            return True
        offset = (seqno - rcv_nxt) & MASK
        window = self._window_field()
        return offset == 0 if window == 0 else offset < window

    # ---------------------------------------------------------------- the streams
    def write(self, data: bytes) -> list[Seg]:
        """Append to the outbound stream; what can go now (the sender's buffer has no limit)."""
        self._sender.write(data)
        return self._send(self._sender.push()) if self._opened and self._active else []

    def close(self) -> list[Seg]:
        """End of the outbound stream: the FIN follows the last byte when the window has room
        (RFC 9293 §3.6, closing a connection)."""
        self._sender.close()
        return self._send(self._sender.push()) if self._opened and self._active else []

    def read(self) -> bytes:
        """The in-order bytes not yet read; reading frees window (rule 7: the other side's
        sender probes a zero window, so no segment is needed to reopen it)."""
        data = bytes(self._unread)
        self._unread.clear()
        return data

    # -------------------------------------------------------------------- time
    def tick(self, elapsed: float) -> list[Seg]:
        """`elapsed` seconds passed: retransmissions, a RST when giving up, the end of the
        linger time."""
        if not self._active:
            return []
        out = self._send(self._sender.tick(elapsed))
        if self._sender.consecutive_retransmissions() > MAX_RETX:
            # RFC 9293 §3.8.3: after R2 retransmissions the connection failures end it; a
            # RST at the next sequence number tells the other side
            self._active = False
            seqno = self._sender.make_empty_message()[0]
            return [(seqno, self._receiver.ackno(), self._window_field(), False, False, True,
                     b"")]
        if self._linger and self._done():
            # RFC 9293 §3.6: the side that closed first waits (TIME-WAIT, here 10 initial RTOs
            # after the last segment, as CS144 shortens it) to ACK a retransmitted FIN
            self._since_last += elapsed
            if self._since_last >= self._linger_limit:
                self._active = False
        return out

    # ----------------------------------------------------------------- queries
    def at_eof(self) -> bool:
        """The other side's FIN arrived and every byte before it was read."""
        return self._receiver.reassembler.finished and not self._unread

    def active(self) -> bool:
        """False once closed cleanly, reset, or given up."""
        return self._active

    # ---------------------------------------------------------------- helpers
    def _done(self) -> bool:
        """Rule 6: the inbound stream ended, our FIN was sent, and all we sent is acknowledged."""
        return self._receiver.reassembler.finished and self._fin_sent and \
            self._sender.in_flight() == 0

    def _window_field(self) -> int:
        return self._receiver.window_field(self._capacity - len(self._unread), 0)

    def _send(self, messages: list[SenderMessage]) -> list[Seg]:
        """Rule 4: every segment carries the receiver's ackno (the ACK flag once the SYN has
        arrived) and its window field."""
        ackno, window = self._receiver.ackno(), self._window_field()
        out: list[Seg] = []
        for seqno, syn, payload, fin in messages:
            self._fin_sent = self._fin_sent or fin
            out.append((seqno, ackno, window, syn, fin, False, payload))
        return out
