"""CUBIC (RFC 9438): a window that grows as a cubic function of the time since the last
congestion event, with a Reno-friendly region."""

from __future__ import annotations

from netsim.stack.tcp.congestion.reno import Reno


class Cubic(Reno):
    name = "cubic"
    partial_ack_recovery = True
    C = 0.4  # RFC 9438 §5: C = 0.4
    BETA = 0.7  # RFC 9438 §4.6: beta_cubic = 0.7
    # RFC 9438 §4.3: alpha_cubic = 3 * (1 - beta) / (1 + beta), for the Reno-friendly window
    ALPHA = 3 * (1 - BETA) / (1 + BETA)

    def __init__(self, iw: str = "rfc5681", fast_convergence: bool = True) -> None:
        super().__init__(iw)
        self.fast_convergence = fast_convergence
        self.w_max = 0.0  # segments
        self.k = 0.0  # seconds
        self.epoch_start: float | None = None
        self.w_est = 0.0  # segments, the Reno-friendly estimate
        self.cwnd_prior = 0.0  # segments, cwnd when ssthresh was last set
        self.cwnd_epoch = 0.0
        self.rtt = 0.1  # the latest RTT sample, seconds

    def _w_cubic(self, t: float) -> float:
        # RFC 9438 §4.2, eq. 1: W_cubic(t) = C * (t - K)^3 + W_max
        return self.C * (t - self.k) ** 3 + self.w_max

    def on_ack(self, acked: int, rtt: float | None, flight: int, now: float) -> None:
        if rtt is not None and rtt > 0:
            self.rtt = rtt
        if self.cwnd < self.ssthresh:
            super().on_ack(acked, rtt, flight, now)  # slow start as in Reno (RFC 9438 §4.10)
            return
        mss = self.mss
        cwnd_seg = self.cwnd / mss
        if self.epoch_start is None:
            # RFC 9438 §4.2: a new congestion-avoidance epoch
            self.epoch_start = now
            if cwnd_seg < self.w_max:
                self.k = ((self.w_max - cwnd_seg) / self.C) ** (1 / 3)  # eq. 2
            else:
                self.k = 0.0
                self.w_max = cwnd_seg
            self.w_est = cwnd_seg
        t = now - self.epoch_start
        target = self._w_cubic(t + self.rtt)
        # RFC 9438 §4.2: the target is clamped to [cwnd, 1.5 * cwnd]
        target = min(max(target, cwnd_seg), 1.5 * cwnd_seg)
        # RFC 9438 §4.3: the Reno-friendly estimate grows by alpha per window of ACKs
        # (alpha_cubic SHOULD become 1 once W_est >= cwnd_prior, to grow as Reno does)
        alpha = self.ALPHA if self.w_est < self.cwnd_prior else 1.0
        self.w_est += alpha * (acked / mss) / cwnd_seg
        if self._w_cubic(t) < self.w_est:
            new = self.w_est  # Reno-friendly region
        else:
            new = cwnd_seg + (target - cwnd_seg) / cwnd_seg * (acked / mss)  # §4.4/§4.5
        self.cwnd = max(int(new * mss), self.cwnd)

    def _reduce(self) -> None:
        cwnd_seg = self.cwnd / self.mss
        self.cwnd_prior = cwnd_seg
        # RFC 9438 §4.7 fast convergence
        if self.fast_convergence and cwnd_seg < self.w_max:
            self.w_max = cwnd_seg * (1 + self.BETA) / 2
        else:
            self.w_max = cwnd_seg
        self.ssthresh = max(int(self.cwnd * self.BETA), 2 * self.mss)  # §4.6
        self.epoch_start = None

    def on_loss(self, flight: int, now: float) -> None:
        self._reduce()
        self.cwnd = self.ssthresh + 3 * self.mss  # inflated during fast recovery, as Reno
        self._bytes_acked = 0

    def on_rto(self, flight: int, now: float) -> None:
        # RFC 9438 §4.8: on a timeout, ssthresh as in §4.6 and cwnd = 1 segment
        self._reduce()
        self.cwnd = self.mss
        self._bytes_acked = 0

    def on_idle(self, idle: float, rto: float, now: float) -> None:
        super().on_idle(idle, rto, now)
        self.epoch_start = None
