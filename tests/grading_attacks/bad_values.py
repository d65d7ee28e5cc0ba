"""Returns values no estimator has: a huge int, NaN, a 10 MB string, a list nested 10^5 deep,
a named tuple where a number belongs."""
import collections


def _deep(n):
    v = []
    for _ in range(n):
        v = [v]
    return v


class RtoEstimator:
    def __init__(self, *args, **kwargs):
        self.srtt = 10 ** 400
        self.rttvar = float("nan")
        self.backoffs = _deep(100_000)
        self.rto = "x" * (10 << 20)
        self.granularity = collections.namedtuple("P", "a b")(1, 2)

    def on_sample(self, rtt):
        return None

    def on_timeout(self):
        return None

    def on_syn_timeout_done(self):
        return None
