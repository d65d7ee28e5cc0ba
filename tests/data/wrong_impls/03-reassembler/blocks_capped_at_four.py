"""blocks() lists only the first four held ranges ("at most four SACK blocks fit in the
options"): with five holes or more the ranges after the fourth are missing, and the
connection can no longer report the latest segment's block first.

Category: limit applied to the wrong scope
RFC: RFC 2018 §4 (the first SACK block holds the most recent segment; which blocks fit is the
sender of the ACK's choice); README: blocks() lists the held ranges
Observable: blocks()
Expect: only the first 4 held ranges
"""

class Reassembler:
    def __init__(self):
        self.next_index = 0
        self._chunks = {}  # start -> bytes held; disjoint, not touching, all >= next_index
        self._last = None  # one past the last byte, once a segment with is_last fitted

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
            buf[s - start:s - start + len(c)] = c
        self._chunks[start] = bytes(buf)

    @property
    def pending_bytes(self):
        return sum(len(c) for c in self._chunks.values())

    @property
    def finished(self):
        return self._last is not None and self.next_index >= self._last

    def blocks(self):
        # at most four SACK blocks fit in the TCP options (RFC 2018)
        return [(s, s + len(self._chunks[s])) for s in sorted(self._chunks)][:4]
