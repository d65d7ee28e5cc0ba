"""window_end is used as a length counted from the segment's index, not as the absolute first index
outside the window.

Category: limit applied to the wrong scope
RFC: RFC 9293 §3.10.7.4 (the window is [RCV.NXT, RCV.NXT + RCV.WND)); README: window_end is an
    index
Observable: pending_bytes
Expect: window_end
"""

class Reassembler:
    def __init__(self):
        self.next_index = 0
        self._held = {}  # stream index -> the byte held there
        self._last = None  # the index one past the last byte, once known

    def insert(self, index, data, is_last, window_end):
        end = index + len(data)
        if is_last and len(data) <= window_end:
            self._last = end
        for i in range(max(index, self.next_index), min(end, index + window_end)):
            if i not in self._held:
                self._held[i] = data[i - index]
        out = bytearray()
        while self.next_index in self._held:
            out.append(self._held.pop(self.next_index))
            self.next_index += 1
        return bytes(out)

    @property
    def pending_bytes(self):
        return len(self._held)

    @property
    def finished(self):
        return self._last is not None and self.next_index >= self._last

    def blocks(self):
        result = []
        for i in sorted(self._held):
            if result and result[-1][1] == i:
                result[-1] = (result[-1][0], i + 1)
            else:
                result.append((i, i + 1))
        return result
