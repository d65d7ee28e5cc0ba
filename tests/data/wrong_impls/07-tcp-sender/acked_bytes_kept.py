"""Acknowledged bytes are only counted, never dropped: the sender holds the whole stream.

Category: memory never released
RFC: RFC 9293 §3.10.7.4 (acknowledged data leaves the retransmission queue); README:
    acknowledge drops the bytes it covers
Observable: held after acknowledgment
Expect: held after acknowledgment
"""

SPACE = 2**32
HALF = 2**31


class TcpSender:
    def __init__(self):
        self.isn = 0
        self.acked = 0  # bytes acknowledged
        self.stream = bytearray()  # every byte written (the acknowledged ones kept too)

    def _index(self, seqno):
        oldest = (self.isn + 1 + self.acked) % SPACE
        distance = (seqno - oldest) % SPACE
        if distance >= HALF:
            distance -= SPACE
        return self.acked + distance

    def start(self, isn):
        self.isn = isn

    def write(self, data):
        self.stream.extend(data)

    def buffered(self):
        return len(self.stream) - self.acked

    def data_end(self):
        return (self.isn + 1 + len(self.stream)) % SPACE

    def payload(self, seqno, n):
        start = self._index(seqno)
        return bytes(self.stream[start:start + n])

    def acknowledge(self, ackno):
        n = min(max(self._index(ackno) - self.acked, 0), len(self.stream) - self.acked)
        self.acked += n
        return n
