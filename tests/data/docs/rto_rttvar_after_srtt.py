"""An RTO estimator with one classic mistake, for lessons/assignments/README.md: it updates
RTTVAR with the NEW SRTT (RFC 6298 (2.3) says the old one)."""
from netsim.stack.tcp.rto import Rfc6298Estimator


class RtoEstimator(Rfc6298Estimator):
    def on_sample(self, rtt):
        if self.srtt is None:
            return super().on_sample(rtt)
        self.srtt = 7 / 8 * self.srtt + rtt / 8
        self.rttvar = 3 / 4 * self.rttvar + abs(self.srtt - rtt) / 4
        self._base = min(max(self.srtt + max(self.granularity, 4 * self.rttvar),
                             self.min_rto), self.max_rto)
        self.backoffs = 0
