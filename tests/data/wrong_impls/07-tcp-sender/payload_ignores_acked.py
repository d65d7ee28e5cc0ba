"""payload() indexes the held bytes from the start of the stream, not from the oldest byte
still held: after an ACK every payload is shifted.

Category: wrong scope
RFC: RFC 9293 §3.4 (stream byte i has sequence number ISN + 1 + i)
Observable: returned
Expect: later payloads
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
        start = self._index(seqno)
        return bytes(self.held[start:start + n])

    def acknowledge(self, ackno):
        n = min(max(self._index(ackno) - self.acked, 0), len(self.held))
        del self.held[:n]
        self.acked += n
        return n
