"""The retransmission timeout estimator of RFC 6298.

`RtoEstimator` is the interface (an assignment seam, DESIGN.md §6);
`Rfc6298Estimator` is the reference implementation.
"""

from __future__ import annotations

from typing import Protocol


class RtoEstimator(Protocol):
    srtt: float | None
    rttvar: float | None
    backoffs: int

    @property
    def rto(self) -> float:
        """The current RTO in seconds, backoff included."""
        ...

    def on_sample(self, rtt: float) -> None:
        """A new RTT measurement R (seconds), never from a retransmitted segment (Karn)."""
        ...

    def on_timeout(self) -> None:
        """The retransmission timer expired: back off (RFC 6298 (5.5))."""
        ...

    def on_syn_timeout_done(self) -> None:
        """The handshake is over and a SYN was retransmitted before any sample (5.7)."""
        ...


class Rfc6298Estimator:
    """RFC 6298 with alpha = 1/8, beta = 1/4, K = 4 and clock granularity G.

    min_rto: 1 s as the RFC says (2.4), or 0.2 s like Linux (`RTO_LINUX`).
    max_rto: an upper bound, at least 60 s per (2.5).
    """

    ALPHA = 1 / 8
    BETA = 1 / 4
    K = 4

    def __init__(self, min_rto: float = 1.0, max_rto: float = 60.0, initial_rto: float = 1.0,
                 granularity: float = 0.001) -> None:
        self.min_rto = min_rto
        self.max_rto = max_rto
        self.granularity = granularity
        self.srtt: float | None = None
        self.rttvar: float | None = None
        self._base = initial_rto  # (2.1) RTO <- 1 second before any measurement
        self.backoffs = 0

    @property
    def rto(self) -> float:
        return min(self._base * (1 << self.backoffs), self.max_rto)

    def on_sample(self, rtt: float) -> None:
        if self.srtt is None or self.rttvar is None:
            # (2.2) the first measurement R
            self.srtt = rtt
            self.rttvar = rtt / 2
        else:
            # (2.3) RTTVAR first, with the old SRTT; then SRTT
            self.rttvar = (1 - self.BETA) * self.rttvar + self.BETA * abs(self.srtt - rtt)
            self.srtt = (1 - self.ALPHA) * self.srtt + self.ALPHA * rtt
        rto = self.srtt + max(self.granularity, self.K * self.rttvar)
        # (2.4) at least min_rto; (2.5) at most max_rto
        self._base = min(max(rto, self.min_rto), self.max_rto)
        self.backoffs = 0  # a new sample ends the backoff (5.5 / 5.7 are about the timer)

    def on_timeout(self) -> None:
        # (5.5) RTO <- RTO * 2, bounded by the maximum
        if self._base * (1 << self.backoffs) < self.max_rto:
            self.backoffs += 1

    def on_syn_timeout_done(self) -> None:
        # (5.7) SYN lost and no RTT measured: RTO back to 3 s when data transmission begins
        if self.srtt is None:
            self._base = max(3.0, self.min_rto)
            self.backoffs = 0
