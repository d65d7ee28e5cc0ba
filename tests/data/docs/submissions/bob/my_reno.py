"""A student's Reno with classic mistakes, for lessons/assignments/README.md: one MSS per ACK
in slow start (no byte counting), ssthresh halved from cwnd instead of FlightSize, no
inflation during fast recovery, no restart after idle."""


class MyReno:
    name = "my-reno"
    partial_ack_recovery = False

    def __init__(self):
        self.mss = 1460
        self.cwnd = 0
        self.ssthresh = 1 << 30
        self._acked = 0

    def init(self, mss, now):
        self.mss = mss
        self.cwnd = 4 * mss if mss <= 1095 else 3 * mss if mss <= 2190 else 2 * mss

    def on_ack(self, acked, rtt, flight, now):
        if self.cwnd < self.ssthresh:
            self.cwnd += self.mss
        else:
            self._acked += acked
            if self._acked >= self.cwnd:
                self._acked -= self.cwnd
                self.cwnd += self.mss

    def on_dup_ack(self, count, flight, now):
        pass

    def on_loss(self, flight, now):
        self.ssthresh = max(self.cwnd // 2, 2 * self.mss)
        self.cwnd = self.ssthresh + 3 * self.mss

    def on_partial_ack(self, acked, flight, now):
        pass

    def on_recovery_end(self, flight, now):
        self.cwnd = self.ssthresh

    def on_rto(self, flight, now):
        self.ssthresh = max(flight // 2, 2 * self.mss)
        self.cwnd = self.mss

    def on_idle(self, idle, rto, now):
        pass
