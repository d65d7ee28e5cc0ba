"""Assignment 02: the RFC 6298 retransmission-timeout estimator.

Fill in the TODOs. Grade your work with

    netsim grade 02-rto-estimator rto_estimator.py

The real TCP in netsim calls these methods (netsim/stack/tcp/retransmit_timer.py):
on_sample() for every valid RTT measurement (never for a retransmitted segment: the
connection applies the first half of Karn's algorithm for you), on_timeout() when the
retransmission timer expires, and on_syn_timeout_done() when the handshake ends after a
retransmitted SYN. It reads `rto` whenever it starts the timer.
"""

from __future__ import annotations


class RtoEstimator:
    """RFC 6298 with alpha = 1/8, beta = 1/4, K = 4 and clock granularity G.

    min_rto: the lower bound (1 s in RFC 6298 (2.4)); max_rto: the upper bound (2.5);
    initial_rto: the RTO before any measurement (2.1); granularity: G, in seconds.
    """

    ALPHA = 1 / 8
    BETA = 1 / 4
    K = 4

    def __init__(self, min_rto: float = 1.0, max_rto: float = 60.0, initial_rto: float = 1.0,
                 granularity: float = 0.001) -> None:
        self.min_rto = min_rto
        self.max_rto = max_rto
        self.initial_rto = initial_rto
        self.granularity = granularity
        self.srtt: float | None = None  # None until the first measurement
        self.rttvar: float | None = None
        self.backoffs = 0  # how many times the timer has been doubled since the last sample
        # TODO: whatever else you need to remember

    @property
    def rto(self) -> float:
        """The current RTO in seconds, backoff included, within [min_rto, max_rto]
        once a sample has been taken (and initial_rto before that)."""
        raise NotImplementedError("TODO: RtoEstimator.rto")

    def on_sample(self, rtt: float) -> None:
        """A new RTT measurement R (seconds): RFC 6298 (2.2) for the first one, (2.3) after.
        A new sample also ends any backoff."""
        raise NotImplementedError("TODO: RtoEstimator.on_sample")

    def on_timeout(self) -> None:
        """The retransmission timer expired: back off, RTO <- RTO * 2 (5.5), bounded by
        max_rto."""
        raise NotImplementedError("TODO: RtoEstimator.on_timeout")

    def on_syn_timeout_done(self) -> None:
        """The handshake is over and a SYN was retransmitted. If no RTT sample was taken,
        the RTO for data is 3 s (5.7)."""
        raise NotImplementedError("TODO: RtoEstimator.on_syn_timeout_done")


if __name__ == "__main__":
    est = RtoEstimator()
    print("initial RTO:", est.rto)
    est.on_sample(0.1)
    print("after one 100 ms sample:", est.srtt, est.rttvar, est.rto)
