"""The send side in sequence space: the byte stream the application writes, held until the
peer acknowledges it, and the 32-bit sequence numbers its bytes go out with. An assignment
seam (docs/architecture.md, "The seams a student replaces"), the mirror of
netsim.stack.tcp.tcp_receiver.

The application's bytes are a stream, byte 0 being the first byte written. On the wire byte
i has sequence number ISN + 1 + i modulo 2**32: the SYN takes the ISN itself, and the FIN
the number after the last byte (RFC 9293 §3.4). Neither takes room in the buffer:

    absolute sequence number   0 (the SYN)   1 (stream byte 0)   ...   n + 1 (the FIN)
    32-bit sequence number     ISN           ISN + 1             ...   ISN + n + 1 (mod 2**32)

`TcpSender` is the interface the connection uses (netsim.stack.tcp.sender calls it to queue
what the application writes, to find the bytes of a segment it sends or sends again, and on
every ACK of new data); `StreamSender` is netsim's own implementation. What to send when
(the peer's window, the congestion window, Nagle, loss recovery, the timers) stays with the
connection, which tells the sender only sequence numbers it has checked: a segment never
starts before the oldest byte held or runs past the last one, and an acknowledgment number
never lies past what was sent (RFC 9293 §3.10.7.4 drops such an ACK before it gets here).
"""

from __future__ import annotations

import bisect
from typing import Protocol

MOD = 1 << 32
MASK = MOD - 1
SMALL = 512  # a write smaller than this is gathered with others ...
GATHER = 65536  # ... into a bytearray of up to about this size


class TcpSender(Protocol):
    def start(self, isn: int) -> None:
        """The connection chose its ISN (the SYN's sequence number): stream byte 0 goes out
        with ISN + 1. Called once, before anything is written."""
        ...

    def write(self, data: bytes) -> None:
        """Append the application's bytes to the stream (the connection has checked that
        they fit its send buffer)."""
        ...

    def buffered(self) -> int:
        """How many bytes are held: written and not yet acknowledged."""
        ...

    def data_end(self) -> int:
        """The 32-bit sequence number just past the last byte written (where a FIN goes): a
        function of the ISN and what was written (the connection asks again only after
        start, write or acknowledge)."""
        ...

    def payload(self, seqno: int, n: int) -> bytes:
        """The `n` bytes that go out starting at 32-bit sequence number `seqno` (new or
        again); `seqno` is at or past the oldest byte held, and `n` bytes are held from it."""
        ...

    def acknowledge(self, ackno: int) -> int:
        """The peer acknowledged everything before 32-bit sequence number `ackno` (which may
        cover the SYN and the FIN, or be old): drop the bytes it covers and return how many
        were dropped."""
        ...


class StreamSender:
    """netsim's sender: the bytes objects the application wrote, kept as they came (bytes
    never change, so keeping one needs no copy), each dropped once it is all acknowledged.
    Small writes are gathered (copied) into one bytearray, so that many of them do not cost
    an object each."""

    def __init__(self) -> None:
        self._chunks: list[bytes | bytearray] = []  # what was written, in order
        self._starts: list[int] = []  # the stream offset of each chunk's first byte
        self._acked = 0  # the stream offset of the oldest byte held (in _chunks[0])
        self._written = 0  # the stream offset just past the last byte written
        self._seqno = 1  # the sequence number of stream byte _acked

    def start(self, isn: int) -> None:
        self._seqno = (isn + 1) & MASK  # after the SYN

    def write(self, data: bytes) -> None:
        if not data:
            return
        chunks = self._chunks
        last = chunks[-1] if chunks else None
        if len(data) < SMALL and type(last) is bytearray and len(last) < GATHER:
            last += data
        else:
            # a bytes object as it is; anything else (a bytearray its owner may change
            # later, a small piece) copied into a bytearray of its own
            chunks.append(data if type(data) is bytes and len(data) >= SMALL
                          else bytearray(data))
            self._starts.append(self._written)
        self._written += len(data)

    def buffered(self) -> int:
        return self._written - self._acked

    def data_end(self) -> int:
        return (self._seqno + self._written - self._acked) & MASK

    def payload(self, seqno: int, n: int) -> bytes:
        start = self._acked + ((seqno - self._seqno) & MASK)  # the stream offset of seqno
        if start + n > self._written:
            n = self._written - start  # (asked past the last byte written: what is held)
        if n <= 0:
            return b""
        i = bisect.bisect_right(self._starts, start) - 1  # the chunk holding byte start
        off = start - self._starts[i]
        chunk = self._chunks[i]
        if off + n <= len(chunk) and type(chunk) is bytes:
            return chunk[off:off + n]  # the usual case: a slice of one write (one copy)
        # Views of the chunks' parts, joined: one copy. (The views are gone when this
        # returns, so a bytearray chunk can grow again in write().)
        parts: list[memoryview] = []
        while n > 0:
            chunk = self._chunks[i]
            take = min(n, len(chunk) - off)
            parts.append(memoryview(chunk)[off:off + take])
            n -= take
            off = 0
            i += 1
        return b"".join(parts)

    def acknowledge(self, ackno: int) -> int:
        # bytes from the oldest held up to ackno, as a signed 32-bit difference: an old ACK
        # (or the one of the SYN) is <= 0, one past the FIN covers one number too many
        covered = ((ackno - self._seqno + (1 << 31)) & MASK) - (1 << 31)
        if covered <= 0:
            return 0
        held = self._written - self._acked
        n = covered if covered < held else held
        self._acked += n
        self._seqno = (self._seqno + n) & MASK
        # drop the chunks now acknowledged to their last byte
        chunks, starts = self._chunks, self._starts
        done = 0
        while done < len(chunks) and starts[done] + len(chunks[done]) <= self._acked:
            done += 1
        if done:
            del chunks[:done]
            del starts[:done]
        return n
