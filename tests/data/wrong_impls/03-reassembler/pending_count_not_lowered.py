"""pending_bytes is a running count raised when bytes are stored but not lowered when they are
returned, so it keeps counting bytes that were delivered long ago.

Category: state not reset
RFC: RFC 9293 §3.10.7.4 (data passed to the user leaves the receive buffer); README:
    pending_bytes counts the bytes held
Observable: pending_bytes
Expect: pending_bytes
"""


class Reassembler:
    def __init__(self):
        self.next_index = 0
        self._chunks = {}  # start -> bytes held; disjoint, not touching, all >= next_index
        self._last = None  # one past the last byte, once a segment with is_last fitted
        self._pending = 0  # bytes held, counted as they are stored

    def insert(self, index, data, is_last, window_end):
        end = index + len(data)
        if is_last and end <= window_end:  # a FIN beyond the window was not received
            self._last = end
        # only [next_index, window_end) is kept (RFC 9293 §3.10.7.4): bytes before were
        # returned already, bytes at or beyond window_end are outside the window
        lo, hi = max(index, self.next_index), min(end, window_end)
        if lo < hi:
            self._store(lo, data[lo - index:hi - index])
        out = bytearray()
        while self.next_index in self._chunks:
            piece = self._chunks.pop(self.next_index)
            out += piece
            self.next_index += len(piece)
        return bytes(out)

    def _store(self, lo, data):
        """Merge [lo, lo + len(data)) with every held range it overlaps or touches; where
        they overlap, the copy held first wins."""
        hi = lo + len(data)
        touching = [s for s, c in self._chunks.items() if s <= hi and s + len(c) >= lo]
        start = min([lo, *touching])
        stop = max([hi, *(s + len(self._chunks[s]) for s in touching)])
        buf = bytearray(stop - start)
        buf[lo - start:hi - start] = data
        for s in touching:
            c = self._chunks.pop(s)
            self._pending -= len(c)
            buf[s - start:s - start + len(c)] = c
        self._chunks[start] = bytes(buf)
        self._pending += len(buf)

    @property
    def pending_bytes(self):
        return self._pending  # never lowered when held bytes are returned

    @property
    def finished(self):
        return self._last is not None and self.next_index >= self._last

    def blocks(self):
        return [(s, s + len(self._chunks[s])) for s in sorted(self._chunks)]
