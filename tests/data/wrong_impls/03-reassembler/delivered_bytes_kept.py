"""Delivered bytes are marked as read but never removed, so the reassembler holds the whole stream.

Category: memory never released
RFC: RFC 9293 §3.10.7.4 (data passed to the user leaves the receive buffer); README: bytes held
    out of order
Observable: held after delivery
Expect: held after delivery
"""

class Reassembler:
    def __init__(self):
        self.next_index = 0
        self._held = {}  # stream index -> the byte held there (kept for the record)
        self._last = None  # the index one past the last byte, once known

    def insert(self, index, data, is_last, window_end):
        end = index + len(data)
        if is_last and end <= window_end:
            self._last = end
        for i in range(max(index, self.next_index), min(end, window_end)):
            if i not in self._held or i < self.next_index:
                self._held[i] = data[i - index]
        out = bytearray()
        while self.next_index in self._held:
            out.append(self._held[self.next_index])
            self.next_index += 1
        return bytes(out)

    @property
    def pending_bytes(self):
        return sum(1 for i in self._held if i >= self.next_index)

    @property
    def finished(self):
        return self._last is not None and self.next_index >= self._last

    def blocks(self):
        result = []
        for i in sorted(i for i in self._held if i >= self.next_index):
            if result and result[-1][1] == i:
                result[-1] = (result[-1][0], i + 1)
            else:
                result.append((i, i + 1))
        return result
