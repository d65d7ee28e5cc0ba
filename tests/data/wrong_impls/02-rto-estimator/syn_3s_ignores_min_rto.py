"""After a retransmitted SYN the RTO is set to exactly 3 s, even when min_rto is larger.

Category: boundary value
RFC: RFC 6298 (5.7) with (2.4): the README asks for max(3 s, min_rto)
Observable: rto
Expect: min_rto was ignored
"""

class RtoEstimator:
    ALPHA = 1 / 8
    BETA = 1 / 4
    K = 4

    def __init__(self, min_rto=1.0, max_rto=60.0, initial_rto=1.0, granularity=0.001):
        self.min_rto = min_rto
        self.max_rto = max_rto
        self.initial_rto = initial_rto
        self.granularity = granularity
        self.srtt = None
        self.rttvar = None
        self.backoffs = 0
        self._rto = initial_rto  # the RTO before any backoff

    @property
    def rto(self):
        return min(self._rto * 2 ** self.backoffs, self.max_rto)

    def _clamp(self, value):
        return min(max(value, self.min_rto), self.max_rto)

    def on_sample(self, rtt):
        if self.srtt is None:  # RFC 6298 (2.2): the first measurement
            self.srtt = rtt
            self.rttvar = rtt / 2
        else:  # (2.3): RTTVAR first, with the old SRTT
            self.rttvar = (1 - self.BETA) * self.rttvar + self.BETA * abs(self.srtt - rtt)
            self.srtt = (1 - self.ALPHA) * self.srtt + self.ALPHA * rtt
        # (2.2)/(2.3), then (2.4) at least min_rto and (2.5) at most max_rto
        self._rto = self._clamp(self.srtt + max(self.granularity, self.K * self.rttvar))
        self.backoffs = 0  # a new sample ends the backoff

    def on_timeout(self):  # (5.5): double the RTO, up to max_rto
        if self.rto < self.max_rto:
            self.backoffs += 1

    def on_syn_timeout_done(self):  # (5.7): no RTT measured during the handshake: 3 s
        if self.srtt is None:
            self._rto = 3.0
            self.backoffs = 0
