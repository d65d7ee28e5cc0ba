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

from typing import Protocol

MOD = 1 << 32
MASK = MOD - 1


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
    """netsim's sender: one bytearray, its head dropped as it is acknowledged."""

    def __init__(self) -> None:
        self._buf = bytearray()  # the bytes held, from _head on
        self._head = 0  # offset in _buf of the oldest byte held
        self._seqno = 1  # the sequence number of _buf[_head]

    def start(self, isn: int) -> None:
        self._seqno = (isn + 1) & MASK  # after the SYN

    def write(self, data: bytes) -> None:
        head = self._head
        if head > 65536 and head * 2 > len(self._buf):
            # compact once the acknowledged part is large (rather than on every ACK)
            del self._buf[:head]
            self._head = 0
        self._buf += data

    def buffered(self) -> int:
        return len(self._buf) - self._head

    def data_end(self) -> int:
        return (self._seqno + len(self._buf) - self._head) & MASK

    def payload(self, seqno: int, n: int) -> bytes:
        off = self._head + ((seqno - self._seqno) & MASK)
        # One copy: bytes() of a view of the buffer (bytes(self._buf[off:off + n]) would copy
        # twice, to a bytearray and then to bytes). The view is gone when this line ends, so
        # the buffer can be resized again by write().
        return bytes(memoryview(self._buf)[off:off + n])

    def acknowledge(self, ackno: int) -> int:
        # bytes from the oldest held up to ackno, as a signed 32-bit difference: an old ACK
        # (or the one of the SYN) is <= 0, one past the FIN covers one number too many
        covered = ((ackno - self._seqno + (1 << 31)) & MASK) - (1 << 31)
        if covered <= 0:
            return 0
        held = len(self._buf) - self._head
        n = covered if covered < held else held
        self._head += n
        self._seqno = (self._seqno + n) & MASK
        if self._head == len(self._buf):
            self._buf.clear()
            self._head = 0
        return n
