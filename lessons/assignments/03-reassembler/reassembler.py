"""Assignment 03: the receive side's reassembler.

TCP segments arrive late, twice, out of order and overlapping. The reassembler holds what
arrived ahead of a gap and hands the application each byte exactly once, in order. It works
in stream indices (byte 0 is the first byte after the SYN), so there is no sequence-number
wraparound to think about: the connection converts (netsim/stack/tcp/receiver.py).

Fill in the TODOs. Grade your work with

    netsim grade 03-reassembler reassembler.py
"""

from __future__ import annotations


class Reassembler:
    def __init__(self) -> None:
        self.next_index = 0  # the first byte not yet assembled (what the ACK acknowledges)
        # TODO: how will you hold out-of-order data? (a dict of index -> bytes, a sorted
        # list of ranges, a bytearray with a bitmap ... each has its trade-offs)

    def insert(self, index: int, data: bytes, is_last: bool, window_end: int) -> bytes:
        """Take `data`, whose first byte has stream index `index`.

        Keep only the bytes in [next_index, window_end): earlier bytes were already
        returned, bytes at or after window_end are outside the receive window and are
        dropped. `is_last`: the last byte of `data` is the last byte of the stream (a FIN
        came with it); it counts only if that byte fits in the window.

        Return the bytes that became contiguous by this insert (possibly b""), and advance
        next_index past them. Each byte of the stream is returned exactly once.
        """
        raise NotImplementedError("TODO: Reassembler.insert")

    @property
    def pending_bytes(self) -> int:
        """How many distinct bytes are held out of order."""
        raise NotImplementedError("TODO: Reassembler.pending_bytes")

    @property
    def finished(self) -> bool:
        """True when the last byte (see is_last) has been assembled."""
        raise NotImplementedError("TODO: Reassembler.finished")

    def blocks(self) -> list[tuple[int, int]]:
        """The held ranges [start, end), sorted, with touching or overlapping ranges merged
        (the connection sends them as SACK blocks)."""
        raise NotImplementedError("TODO: Reassembler.blocks")


if __name__ == "__main__":
    r = Reassembler()
    print(r.insert(3, b"de", False, 100))  # b'' : held, a gap before it
    print(r.insert(0, b"abc", False, 100))  # b'abcde'
