"""blocks() merges ranges separated by a one-byte hole, as if `end + 1` were adjacent, so the SACK
blocks claim a byte that never arrived.

Category: boundary value
RFC: RFC 2018 §3: a block is a contiguous range of received data
Observable: blocks()
Expect: across a gap
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
            if s <= stop and start <= e:  # overlapping or touching: one chunk
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
        spans = []
        for s in sorted(self._chunks):
            e = s + len(self._chunks[s])
            if spans and s <= spans[-1][1] + 1:
                spans[-1] = (spans[-1][0], e)
            else:
                spans.append((s, e))
        return spans
