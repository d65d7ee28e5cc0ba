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
    """Holds disjoint, sorted out-of-order ranges; merges on insert.

    A range keeps the bytes objects that arrived for it, in order, as they are (bytes never
    change, so keeping them needs no copy); they are joined into one bytes object once, when
    the range is assembled."""

    def __init__(self) -> None:
        self.next_index = 0
        self._starts: list[int] = []  # where each held range starts, in order
        # start -> (end, pieces): the range [start, end) and its bytes, in pieces
        self._held: dict[int, tuple[int, list[bytes]]] = {}
        self._pending = 0
        self._last_index: int | None = None

    @property
    def pending_bytes(self) -> int:
        return self._pending

    @property
    def finished(self) -> bool:
        return self._last_index is not None and self.next_index >= self._last_index

    def blocks(self) -> list[tuple[int, int]]:
        return [(s, self._held[s][0]) for s in self._starts]

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
        # kept: bytes(data) is data itself for a bytes object, a copy of anything else (a
        # bytearray or memoryview whose owner may change it later)
        self._store(index, bytes(data))
        if self._starts[0] == nxt:
            start = self._starts.pop(0)
            end, pieces = self._held.pop(start)
            self._pending -= end - start
            self.next_index = end
            return b"".join(pieces)  # the one copy of the range's bytes
        return b""

    def _store(self, index: int, data: bytes) -> None:
        """Insert [index, index+len) merging with overlapping or adjacent held ranges."""
        end = index + len(data)
        starts, held = self._starts, self._held
        i = bisect.bisect_left(starts, index)
        if i > 0:
            prev = starts[i - 1]
            prev_end, prev_pieces = held[prev]
            if prev_end == index and (i == len(starts) or starts[i] > end):
                # The usual case behind a hole: the next segment in order extends the range
                # held last by one more piece.
                prev_pieces.append(data)
                held[prev] = (end, prev_pieces)
                self._pending += len(data)
                return
            if prev_end >= index:
                i -= 1  # the range before overlaps or touches the new bytes
        j = i
        while j < len(starts) and starts[j] <= end:
            j += 1
        # Ranges i to j-1 overlap or touch [index, end): they and the new bytes become one
        # range. Bytes already held keep their bytes (first copy wins); the new bytes fill
        # the gaps before, between and after them.
        new_start = min(index, starts[i]) if j > i else index
        pieces: list[bytes] = []
        pos = index  # the new bytes are placed up to here
        for s in starts[i:j]:
            if pos < s:
                pieces.append(data[pos - index:s - index])  # (all of data: no copy)
            s_end, s_pieces = held.pop(s)
            if pieces:
                pieces += s_pieces
            else:
                pieces = s_pieces  # the first range's list, extended in place
            pos = s_end
            self._pending -= pos - s
        if pos < end:
            pieces.append(data[pos - index:])
            pos = end
        del starts[i:j]
        starts.insert(i, new_start)
        held[new_start] = (pos, pieces)
        self._pending += pos - new_start
