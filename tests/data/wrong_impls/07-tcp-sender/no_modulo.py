"""data_end() forgets the modulo: past 2**32 it gives a 33-bit number.

Category: wrong width
RFC: RFC 9293 §3.4 (sequence numbers wrap modulo 2**32)
Observable: data_end()
Expect: 32 bits
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
        return self.isn + 1 + self.acked + len(self.held)

    def payload(self, seqno, n):
        start = self._index(seqno) - self.acked
        return bytes(self.held[start:start + n])

    def acknowledge(self, ackno):
        n = min(max(self._index(ackno) - self.acked, 0), len(self.held))
        del self.held[:n]
        self.acked += n
        return n
