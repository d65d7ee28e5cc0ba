"""Lesson 6, exercise 7: a congestion controller whose window is always 10 segments (the
teachers' answer quotes its goodput; scripts/refresh_docs.py runs it)."""

from __future__ import annotations


class Fixed10:
    name = "fixed10"
    partial_ack_recovery = True

    def __init__(self) -> None:
        self.mss = 1460
        self.cwnd = 0
        self.ssthresh = 1 << 30

    def init(self, mss: int, now: float) -> None:
        self.mss = mss
        self.cwnd = 10 * mss

    def on_ack(self, acked: int, rtt: float | None, flight: int, now: float) -> None:
        pass

    def on_dup_ack(self, count: int, flight: int, now: float) -> None:
        pass

    def on_loss(self, flight: int, now: float) -> None:
        pass

    def on_partial_ack(self, acked: int, flight: int, now: float) -> None:
        pass

    def on_recovery_end(self, flight: int, now: float) -> None:
        pass

    def on_rto(self, flight: int, now: float) -> None:
        pass

    def on_idle(self, idle: float, rto: float, now: float) -> None:
        pass
