"""Held chunks are merged only when they overlap, so two that merely touch stay separate and
blocks() reports [(1, 3), (3, 5)] for one range.

Category: equal as sets but the wrong form
RFC: RFC 2018 §4 (each SACK block a contiguous received range); README: touching ranges merged
Observable: blocks()
Expect: merged
"""

class Reassembler:
    def __init__(self):
        self.next_index = 0
        self._chunks = {}  # start -> bytes; disjoint, touching chunks merged
        self._last = None

    def insert(self, index, data, is_last, window_end):
        end = index + len(data)
        if is_last and end <= window_end:
            self._last = end
        start, stop = max(index, self.next_index), min(end, window_end)
        if start < stop:
            self._store(start, data[start - index:stop - index])
        out = bytearray()
        while self.next_index in self._chunks:
            chunk = self._chunks.pop(self.next_index)
            out += chunk
            self.next_index += len(chunk)
        return bytes(out)

    def _store(self, start, piece):
        stop = start + len(piece)
        merged = bytearray(piece)
        for s in sorted(self._chunks):
            old = self._chunks[s]
            e = s + len(old)
            if s < stop and start < e:  # overlapping: one chunk
                del self._chunks[s]
                lo, hi = min(s, start), max(e, stop)
                buf = bytearray(hi - lo)
                buf[start - lo:stop - lo] = merged
                buf[s - lo:e - lo] = old
                merged, start, stop = buf, lo, hi
        self._chunks[start] = bytes(merged)

    @property
    def pending_bytes(self):
        return sum(len(c) for c in self._chunks.values())

    @property
    def finished(self):
        return self._last is not None and self.next_index >= self._last

    def blocks(self):
        return [(s, s + len(self._chunks[s])) for s in sorted(self._chunks)]
