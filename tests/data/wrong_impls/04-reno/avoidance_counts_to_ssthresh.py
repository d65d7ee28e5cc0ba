"""In congestion avoidance one MSS is added once ssthresh bytes (instead of cwnd bytes) have been
acknowledged.

Category: limit applied to the wrong scope
RFC: RFC 3465 §2.1: when bytes_acked >= cwnd, cwnd += SMSS
Observable: cwnd
Expect: congestion avoidance
"""

class MyReno:
    name = "my-reno"
    partial_ack_recovery = False
    ABC_L = 2

    def __init__(self):
        self.mss = 1460
        self.cwnd = 0
        self.ssthresh = 1 << 30
        self.acked_bytes = 0  # bytes acked in congestion avoidance (RFC 3465)

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
            self.acked_bytes += acked
            if self.acked_bytes >= self.ssthresh:
                self.acked_bytes -= self.ssthresh
                self.cwnd += self.mss

    def on_dup_ack(self, count, flight, now):
        if count > 3:
            self.cwnd += self.mss

    def on_loss(self, flight, now):
        self.ssthresh = max(flight // 2, 2 * self.mss)
        self.cwnd = self.ssthresh + 3 * self.mss
        self.acked_bytes = 0

    def on_partial_ack(self, acked, flight, now):
        pass

    def on_recovery_end(self, flight, now):
        self.cwnd = self.ssthresh

    def on_rto(self, flight, now):
        self.ssthresh = max(flight // 2, 2 * self.mss)
        self.cwnd = self.mss
        self.acked_bytes = 0

    def on_idle(self, idle, rto, now):
        if idle > rto:
            self.cwnd = min(self.cwnd, self._iw())
