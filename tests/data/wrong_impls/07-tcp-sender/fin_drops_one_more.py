"""the ACK of the FIN is taken as one more byte: acknowledge() returns one too many and
data_end() moves past the FIN.

Category: boundary value
RFC: RFC 9293 §3.4 (the FIN occupies a sequence number, no byte)
Observable: returned
Expect: no byte | never drop more
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
        n = max(self._index(ackno) - self.acked, 0)
        del self.held[:n]
        self.acked += n
        return n
