"""The receive side in sequence space: 32-bit sequence numbers in, acknowledgment number and
window field out. An assignment seam (assignment 06; docs/architecture.md, "The seams a
student replaces").

A connection's receive side has two halves. The *stream* half is the reassembler
(netsim.stack.tcp.reassembly): it works in stream indices, byte 0 being the first byte after
the SYN, with no wraparound. The *sequence-space* half, here, turns the peer's 32-bit sequence
numbers into those indices and back (RFC 9293 §3.4: sequence numbers wrap modulo 2**32 and
start at the ISN the peer chose):

    absolute sequence number   0 (the SYN)   1 (stream byte 0)   ...   n + 1 (the FIN)
    32-bit sequence number     ISN           ISN + 1             ...   ISN + n + 1 (mod 2**32)

`wrap` maps an absolute (64-bit) sequence number to the 32-bit one; `unwrap` goes back,
choosing of all the absolute numbers that wrap to a sequence number the one closest to a
checkpoint (the receiver's next expected absolute number: a segment is never more than a
window away from it).

`TcpReceiver` is the interface the connection uses (netsim.stack.tcp.receiver calls it for
every segment with data or a FIN, and for every segment it sends); `StreamReceiver` is
netsim's own implementation. How much window to offer (receiver SWS avoidance, never shrinking
it) stays with the connection, which knows how much the application has read; the receiver
turns that many bytes into the window field.
"""

from __future__ import annotations

from typing import Protocol

from netsim.stack.tcp.reassembly import Reassembler, SegmentReassembler

MOD = 1 << 32
MASK = MOD - 1
HALF = 1 << 31


def wrap(n: int, isn: int) -> int:
    """The 32-bit sequence number of absolute sequence number `n` (0 is the SYN)."""
    return (isn + n) & MASK


def unwrap(seqno: int, isn: int, checkpoint: int) -> int:
    """The absolute sequence number (>= 0) that wraps to `seqno` and is closest to
    `checkpoint`. (Exactly 2**31 away both neighbours are as close; this gives the lower one
    when it is not negative.)"""
    up = (seqno - isn - checkpoint) & MASK  # from wrap(checkpoint) forward to seqno
    if up >= HALF and checkpoint + up >= MOD:
        return checkpoint + up - MOD  # going back is shorter
    return checkpoint + up


class TcpReceiver(Protocol):
    # The reassembler the receiver puts data in order with (the connection reads its
    # pending_bytes and blocks() for its ACK policy and SACK blocks).
    reassembler: Reassembler

    def receive(self, seqno: int, syn: bool, fin: bool, payload: bytes, window: int) -> bytes:
        """One segment: its 32-bit sequence number, SYN and FIN flags and payload.
        `window`: how many bytes after the current acknowledgment number fit in the window
        advertised. Returns the bytes that became contiguous (each byte exactly once)."""
        ...

    def ackno(self) -> int | None:
        """The acknowledgment number to send (32-bit): the next sequence number expected,
        past the FIN once the whole stream has arrived; None before the SYN."""
        ...

    def window_field(self, window: int, shift: int) -> int:
        """The 16-bit window field that offers `window` bytes with window scale `shift`: a
        function of the two (the connection reuses the last answer for the same pair)."""
        ...


class StreamReceiver:
    """netsim's receiver: the ISN from the SYN, indices by `unwrap`, data into the
    reassembler."""

    def __init__(self, reassembler: Reassembler | None = None) -> None:
        self.reassembler: Reassembler = reassembler if reassembler is not None \
            else SegmentReassembler()
        self.isn: int | None = None
        self._next_seqno = 0  # the sequence number of the next byte expected
        self._ackno: int | None = None  # what ackno() says: None until the SYN

    def receive(self, seqno: int, syn: bool, fin: bool, payload: bytes, window: int) -> bytes:
        if syn and self.isn is None:
            self.isn = seqno
            self._next_seqno = self._ackno = wrap(1, seqno)
        isn = self.isn
        if isn is None:
            return b""  # nothing can be placed before the SYN gives the ISN
        reasm = self.reassembler
        nxt = reasm.next_index
        if seqno == self._next_seqno and not syn:
            index = nxt  # the usual case: the segment starts with the next byte expected
        else:
            # The first payload byte follows the SYN when there is one; absolute number a
            # is stream index a - 1.
            first = (seqno + 1) & MASK if syn else seqno
            index = unwrap(first, isn, nxt + 1) - 1
        data = reasm.insert(index, payload, fin, nxt + window)
        if data or fin:  # the acknowledgment number may move
            # the SYN, the bytes assembled, and the FIN once the stream is complete
            n = 1 + reasm.next_index
            self._next_seqno = wrap(n, isn)
            self._ackno = wrap(n + 1, isn) if reasm.finished else self._next_seqno
        return data

    def ackno(self) -> int | None:
        return self._ackno

    def window_field(self, window: int, shift: int) -> int:
        # RFC 7323 §2.3: the window field is RCV.WND right-shifted by the scale (the peer
        # shifts it back left); 65535 at most
        field = window >> shift
        return field if field < 0xFFFF else 0xFFFF
