"""acknowledge() moves its count of acknowledged bytes before measuring how far the ACK
reaches: it always returns 0 and never drops the bytes.

Category: wrong order
RFC: RFC 9293 §3.10.7.4 (an ACK of new data advances SND.UNA)
Observable: returned
Expect: drops the bytes before ackno
"""

SPACE = 2**32
HALF = 2**31


class TcpSender:
    def __init__(self):
        self.isn = 0
        self.acked = 0  # bytes acknowledged: the stream index of held[0]
        self.held = bytearray()

    def _index(self, seqno):
        oldest = (self.isn + 1 + self.acked) % SPACE
        distance = (seqno - oldest) % SPACE
        if distance >= HALF:
            distance -= SPACE
        return self.acked + distance

    def start(self, isn):
        self.isn = isn

    def write(self, data):
        self.held.extend(data)

    def buffered(self):
        return len(self.held)

    def data_end(self):
        return (self.isn + 1 + self.acked + len(self.held)) % SPACE

    def payload(self, seqno, n):
        start = self._index(seqno) - self.acked
        return bytes(self.held[start:start + n])

    def acknowledge(self, ackno):
        self.acked = max(self.acked, min(self._index(ackno), self.acked + len(self.held)))
        n = min(max(self._index(ackno) - self.acked, 0), len(self.held))
        del self.held[:n]
        return n
