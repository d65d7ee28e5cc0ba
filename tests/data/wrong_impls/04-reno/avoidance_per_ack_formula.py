"""In congestion avoidance every ACK adds SMSS*SMSS/cwnd (RFC 5681 eq. (3), which the RFC allows
as a MAY) instead of counting bytes: with delayed ACKs (one ACK per two segments) cwnd grows about
one SMSS every second round trip, where the assignment asks for byte counting (+1 SMSS per cwnd
of bytes acknowledged).

Category: arithmetic (no byte counting)
RFC: RFC 5681 §3.1 (byte counting RECOMMENDED, eq. (3) a MAY) / RFC 3465 §2.1
Observable: cwnd
Expect: SMSS*SMSS/cwnd
"""

class MyReno:
    name = "my-reno"
    partial_ack_recovery = False
    ABC_L = 2

    def __init__(self):
        self.mss = 1460
        self.cwnd = 0
        self.ssthresh = 1 << 30

    def _iw(self):
        if self.mss <= 1095:
            return 4 * self.mss
        if self.mss <= 2190:
            return 3 * self.mss
        return 2 * self.mss

    def init(self, mss, now):
        self.mss = mss
        self.cwnd = self._iw()

    def on_ack(self, acked, rtt, flight, now):
        if self.cwnd < self.ssthresh:
            self.cwnd += min(acked, self.ABC_L * self.mss)
        else:
            # RFC 5681 eq. (3), rounded up to 1 byte as its implementation note says
            self.cwnd += max(1, self.mss * self.mss // self.cwnd)

    def on_dup_ack(self, count, flight, now):
        if count > 3:
            self.cwnd += self.mss

    def on_loss(self, flight, now):
        self.ssthresh = max(flight // 2, 2 * self.mss)
        self.cwnd = self.ssthresh + 3 * self.mss

    def on_partial_ack(self, acked, flight, now):
        pass

    def on_recovery_end(self, flight, now):
        self.cwnd = self.ssthresh

    def on_rto(self, flight, now):
        self.ssthresh = max(flight // 2, 2 * self.mss)
        self.cwnd = self.mss

    def on_idle(self, idle, rto, now):
        if idle > rto:
            self.cwnd = min(self.cwnd, self._iw())
