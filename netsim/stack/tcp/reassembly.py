"""The receive side's reassembler: out-of-order data held until the gap fills.

It works in stream indices (byte 0 is the first byte after the SYN), so there is
no sequence wraparound to think about; the connection converts. `Reassembler` is
the interface (an assignment seam, DESIGN.md §6); `SegmentReassembler` is the
reference implementation.
"""

from __future__ import annotations

import bisect
from typing import Protocol


class Reassembler(Protocol):
    next_index: int  # the first byte not yet assembled (what the ACK acknowledges)

    def insert(self, index: int, data: bytes, is_last: bool, window_end: int) -> bytes:
        """Take `data` starting at stream `index`; keep only bytes in [next_index, window_end).
        Returns the bytes that became contiguous (each byte is returned exactly once)."""
        ...

    @property
    def pending_bytes(self) -> int:
        """Bytes held out of order (only insert changes it: the connection reads it once
        after each segment its receiver takes)."""
        ...

    @property
    def finished(self) -> bool:
        """True when the last byte (is_last) has been assembled."""
        ...

    def blocks(self) -> list[tuple[int, int]]:
        """Held out-of-order ranges [start, end), in index order (for SACK)."""
        ...


class SegmentReassembler:
    """Holds disjoint, sorted out-of-order ranges; merges on insert."""

    def __init__(self) -> None:
        self.next_index = 0
        self._starts: list[int] = []
        self._chunks: dict[int, bytearray] = {}  # grown in place when data extend them
        self._pending = 0
        self._last_index: int | None = None

    @property
    def pending_bytes(self) -> int:
        return self._pending

    @property
    def finished(self) -> bool:
        return self._last_index is not None and self.next_index >= self._last_index

    def blocks(self) -> list[tuple[int, int]]:
        return [(s, s + len(self._chunks[s])) for s in self._starts]

    def insert(self, index: int, data: bytes, is_last: bool, window_end: int) -> bytes:
        end = index + len(data)
        if is_last and end <= window_end:
            self._last_index = end
        nxt = self.next_index
        # Trim what was already assembled and what lies beyond the window.
        if index < nxt:
            data = data[nxt - index:]
            index = nxt
        if end > window_end:
            data = data[:max(0, window_end - index)]
            end = index + len(data)
        if not data:
            return b""
        if index == nxt and not self._starts:
            self.next_index = end  # the common in-order case
            return data
        self._store(index, data)
        if self._starts and self._starts[0] == nxt:
            start = self._starts.pop(0)
            out = self._chunks.pop(start)
            self._pending -= len(out)
            self.next_index = nxt + len(out)
            return bytes(out)
        return b""

    def _store(self, index: int, data: bytes) -> None:
        """Insert [index, index+len) merging with overlapping or adjacent held ranges."""
        end = index + len(data)
        starts, chunks = self._starts, self._chunks
        i = bisect.bisect_left(starts, index)
        if i > 0:
            prev = starts[i - 1]
            prev_end = prev + len(chunks[prev])
            if prev_end == index and (i == len(starts) or starts[i] > end):
                # The usual case behind a hole: the next segment in order extends the range
                # held last. Growing it in place keeps each insert proportional to its own
                # size rather than to everything held.
                chunks[prev] += data
                self._pending += len(data)
                return
            if prev_end >= index:  # overlaps or touches the previous range
                i -= 1
        j = i
        new_start, new_end = index, end
        pieces: list[tuple[int, bytearray]] = []
        while j < len(starts) and starts[j] <= new_end:
            s = starts[j]
            c = chunks.pop(s)
            self._pending -= len(c)
            pieces.append((s, c))
            new_start = min(new_start, s)
            new_end = max(new_end, s + len(c))
            j += 1
        del starts[i:j]
        buf = bytearray(new_end - new_start)
        buf[index - new_start:end - new_start] = data
        for s, c in pieces:  # data already held keeps its bytes (first copy wins)
            buf[s - new_start:s - new_start + len(c)] = c
        starts.insert(i, new_start)
        chunks[new_start] = buf
        self._pending += len(buf)
