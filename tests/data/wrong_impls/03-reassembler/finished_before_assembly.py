"""finished is True as soon as a FIN has been seen, even while bytes before it are still missing.

Category: state reset by the wrong event
RFC: RFC 9293 §3.10.7.4: the FIN is processed only once everything before it has been received
Observable: finished
Expect: assembled
"""

class Reassembler:
    def __init__(self):
        self.next_index = 0
        self._held = {}  # stream index -> the byte held there
        self._last = None  # the index one past the last byte, once known

    def insert(self, index, data, is_last, window_end):
        end = index + len(data)
        if is_last and end <= window_end:
            self._last = end
        for i in range(max(index, self.next_index), min(end, window_end)):
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
        return self._last is not None

    def blocks(self):
        result = []
        for i in sorted(self._held):
            if result and result[-1][1] == i:
                result[-1] = (result[-1][0], i + 1)
            else:
                result.append((i, i + 1))
        return result
