"""On a timeout the oldest segment is rebuilt from the bytes not yet acknowledged, as many as
max_payload allows: the SYN goes again with payload, or a segment grows.
Category: wrong value
RFC: RFC 6298 (5.4) (retransmit the earliest segment not acknowledged)
Observable: returned
Expect: as it was sent
"""

SPACE = 2**32
HALF = 2**31


class Sender:
    def __init__(self, isn=0, initial_rto=1.0, max_payload=1000):
        self.isn = isn
        self.initial_rto = initial_rto
        self.max_payload = max_payload
        self.stream = b""  # written, not yet sent
        self.closed = False
        self.syn_sent = False
        self.fin_sent = False
        self.next_abs = 0  # absolute number of the next new sequence number
        self.acked_abs = 0  # everything before it is acknowledged
        self.window = 1  # the peer's window; 1 until it tells us
        self.outstanding = []  # [(absolute end, segment)], oldest first
        self.rto = initial_rto
        self.timer = None  # seconds since started, None when stopped
        self.retransmissions = 0

    def _seqno(self, absolute):
        return (self.isn + absolute) % SPACE

    def _absolute(self, seqno):
        offset = (seqno - self._seqno(self.next_abs)) % SPACE
        if offset >= HALF:
            offset -= SPACE
        return self.next_abs + offset

    def write(self, data):
        self.stream += bytes(data)

    def close(self):
        self.closed = True

    def push(self):
        sent = []
        window = max(self.window, 1)  # zero window: probe with one sequence number
        while not self.fin_sent:
            room = self.acked_abs + window - self.next_abs
            if room <= 0:
                break
            syn = not self.syn_sent
            size = min(self.max_payload, room - int(syn), len(self.stream))
            payload, self.stream = self.stream[:size], self.stream[size:]
            fin = self.closed and not self.stream and room - int(syn) - size >= 1
            length = int(syn) + size + int(fin)
            if length == 0:
                break
            segment = (self._seqno(self.next_abs), syn, payload, fin)
            self.next_abs += length
            self.syn_sent = True
            self.fin_sent = fin
            self.outstanding.append((self.next_abs, segment))
            if self.timer is None:
                self.timer = 0.0
            sent.append(segment)
        return sent

    def make_empty_message(self):
        return (self._seqno(self.next_abs), False, b"", False)

    def receive(self, ackno, window):
        if ackno is None:
            self.window = window
            return
        ack = self._absolute(ackno)
        if ack > self.next_abs or ack < self.acked_abs:
            return  # acknowledges something never sent, or an old ACK
        self.window = window
        if ack == self.acked_abs:
            return
        self.acked_abs = ack
        self.outstanding = [(end, seg) for end, seg in self.outstanding if end > ack]
        self.rto = self.initial_rto
        self.retransmissions = 0
        self.timer = 0.0 if self.outstanding else None

    def tick(self, elapsed):
        if self.timer is None:
            return []
        self.timer += elapsed
        if self.timer < self.rto:
            return []
        if self.window > 0:
            self.rto *= 2
            self.retransmissions += 1
        self.timer = 0.0
        seqno, syn, payload, fin = self.outstanding[0][1]
        more = b"".join(s[2] for _, s in self.outstanding[1:])
        payload = (payload + more)[:self.max_payload]
        return [(seqno, syn, payload, fin and len(self.outstanding) == 1)]

    def in_flight(self):
        return self.next_abs - self.acked_abs

    def consecutive_retransmissions(self):
        return self.retransmissions
