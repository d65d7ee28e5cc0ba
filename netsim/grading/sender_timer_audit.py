"""What the 07b simulations check of every segment a student's sender puts on the link,
independent of what the sender says about itself (its ``in_flight()`` or which method a
segment came from):

- the shape: ``(seqno, syn, payload, fin)`` with a 32-bit int, two bools and bytes of at most
  ``max_payload``; nothing empty (only ``make_empty_message()`` is, and it is not audited);
- the SYN: the first segment carries it, and only the segment at the ISN does;
- the bytes: the payload is the stream's bytes at that offset, byte for byte; the FIN takes
  the sequence number right after the stream's last byte (RFC 9293 §3.4, sequence numbers);
- the window: no sequence number past the highest right edge the peer has offered (an ACK's
  number plus its window, a zero window taken as one: RFC 9293 §3.8.6.1, zero-window
  probing); until the peer says anything the window is one, the SYN;
- retransmissions are counted here: a segment that carries only sequence numbers already
  sent is one, whether ``tick()`` or ``push()`` returned it.

A violation is a sentence for the feedback (`Audit.error`); the simulation stops there.
"""

from __future__ import annotations

from typing import Any

from netsim.stack.tcp.tcp_receiver import MOD, unwrap


class Audit:
    """The segments one sender sends with `data` as its stream (then its FIN)."""

    def __init__(self, data: bytes, max_payload: int, max_retransmissions: int | None = None
                 ) -> None:
        self.data, self.max_payload = data, max_payload
        self.max_retransmissions = max_retransmissions  # more stops the run (a flood)
        self.isn: int | None = None
        self.sent_end = 0  # absolute: every number before it has been sent at least once
        self.edge = 1  # absolute right edge of the highest window offered (1: the SYN only)
        self.acked = 0  # highest absolute acknowledgment number given to the sender
        self.segments = 0
        self.retransmissions = 0
        self.error = ""

    def _fail(self, what: str) -> bool:
        self.error = self.error or f"segment {self.segments}: {what}"
        return False

    def segment(self, seg: Any, empty: bool = False) -> bool:
        """Check one segment the sender sent; False (and `error`) when it breaks a rule.
        `empty`: it is from ``make_empty_message()``, and must carry nothing."""
        self.segments += 1
        if not (isinstance(seg, tuple | list) and len(seg) == 4):
            return self._fail("not a tuple (seqno, syn, payload, fin)")
        seqno, syn, payload, fin = seg
        if isinstance(seqno, bool) or not isinstance(seqno, int) or not 0 <= seqno < MOD:
            return self._fail(f"seqno {str(seqno)[:30]} is not an integer in [0, 2**32)")
        if not isinstance(syn, bool) or not isinstance(fin, bool):
            return self._fail("syn and fin must be True or False")
        if not isinstance(payload, bytes | bytearray):
            return self._fail(f"the payload is a {type(payload).__name__}, not bytes")
        if len(payload) > self.max_payload:
            return self._fail(f"{len(payload)} bytes of payload, more than max_payload="
                              f"{self.max_payload}")
        length = syn + len(payload) + fin
        if empty:
            self.segments -= 1  # not a segment of the stream
            return length == 0 or self._fail("make_empty_message() gave a segment that "
                                             "carries a SYN, payload or FIN")
        if length == 0:
            return self._fail("an empty segment (no SYN, payload or FIN) from push() or tick()")
        if self.isn is None:
            if not syn:
                return self._fail("the first segment does not carry the SYN")
            self.isn = seqno
        start = unwrap(seqno, self.isn, self.sent_end)
        if syn != (start == 0):
            return self._fail(f"the SYN at absolute sequence number {start} (the ISN is its "
                              "only place)")
        offset = start - 1 + syn  # the stream index of the first payload byte
        if payload and bytes(payload) != self.data[offset:offset + len(payload)]:
            return self._fail(f"the payload at stream byte {offset} is not the stream's bytes")
        if fin and offset + len(payload) != len(self.data):
            return self._fail(f"a FIN after stream byte {offset + len(payload)}; the stream "
                              f"has {len(self.data)} bytes")
        if start + length > self.edge:
            return self._fail(f"sequence numbers up to {start + length} (absolute); the peer's "
                              f"window ends at {self.edge}")
        if start + length <= self.sent_end:
            self.retransmissions += 1
            if self.max_retransmissions is not None and \
                    self.retransmissions > self.max_retransmissions:
                return self._fail(f"more than {self.max_retransmissions} segments sent again "
                                  "(a timer that fires too early, or push() sending again "
                                  "what was sent?)")
        self.sent_end = max(self.sent_end, start + length)
        return True

    def ack(self, ackno: int | None, window: int) -> None:
        """The peer's acknowledgment number and window, as given to the sender."""
        if ackno is not None and self.isn is not None:
            acked = unwrap(ackno, self.isn, self.sent_end)
            if acked <= self.sent_end:  # one of something not yet sent is no offer
                self.acked = max(self.acked, acked)
        self.edge = max(self.edge, self.acked + max(window, 1))

    def fin_acked(self) -> bool:
        """The peer acknowledged the FIN (every sequence number of the stream)."""
        return self.acked == len(self.data) + 2
