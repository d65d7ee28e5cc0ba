"""Each timeout doubles the RTO with no upper bound: max_rto is applied when the RTO is computed
from a sample, not after a backoff.

Category: limit applied to the wrong scope
RFC: RFC 6298 (5.5) with (2.5): a maximum value MAY be placed on RTO
Observable: rto
Expect: max_rto
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
        return self._rto * 2 ** self.backoffs

    def _clamp(self, value):
        return min(max(value, self.min_rto), self.max_rto)

    def on_sample(self, rtt):
        if self.srtt is None:
            self.srtt = rtt
            self.rttvar = rtt / 2
        else:
            self.rttvar = (1 - self.BETA) * self.rttvar + self.BETA * abs(self.srtt - rtt)
            self.srtt = (1 - self.ALPHA) * self.srtt + self.ALPHA * rtt
        self._rto = self._clamp(self.srtt + max(self.granularity, self.K * self.rttvar))
        self.backoffs = 0

    def on_timeout(self):
        self.backoffs += 1

    def on_syn_timeout_done(self):
        if self.srtt is None:
            self._rto = max(3.0, self.min_rto)
            self.backoffs = 0
