"""Reno (RFC 5681) and NewReno (RFC 6582) window management, and a fixed window."""

from __future__ import annotations

from netsim.errors import UsageError

IW_PRESETS = ("rfc5681", "iw10")


def check_iw(preset: object) -> None:
    if preset not in IW_PRESETS:
        raise UsageError(f"iw: {preset!r} is not 'rfc5681' (RFC 5681 §3.1) or 'iw10' (RFC 6928)")


def initial_window(mss: int, preset: str = "rfc5681") -> int:
    """RFC 5681 §3.1 (IW by SMSS), or "iw10" (RFC 6928)."""
    check_iw(preset)
    if preset == "iw10":
        return min(10 * mss, max(2 * mss, 14600))
    if mss > 2190:
        return 2 * mss
    if mss > 1095:
        return 3 * mss
    return 4 * mss


class Reno:
    """RFC 5681: slow start, congestion avoidance with appropriate byte counting (RFC 3465,
    L = 2), fast retransmit and fast recovery, and the restart window after idle."""

    name = "reno"
    partial_ack_recovery = False
    ABC_L = 2  # RFC 3465 §2.2: at most L*SMSS per ACK in slow start

    def __init__(self, iw: str = "rfc5681", ssthresh: int = 1 << 30) -> None:
        check_iw(iw)
        self.iw_preset = iw
        self.mss = 1460
        self.cwnd = 0
        self.ssthresh = ssthresh
        self._bytes_acked = 0  # RFC 3465 congestion-avoidance counter

    def init(self, mss: int, now: float) -> None:
        self.mss = mss
        self.cwnd = initial_window(mss, self.iw_preset)

    def on_ack(self, acked: int, rtt: float | None, flight: int, now: float) -> None:
        mss = self.mss
        if self.cwnd < self.ssthresh:
            # RFC 5681 §3.1 eq. 2, with RFC 3465: cwnd += min(N, L*SMSS)
            self.cwnd += min(acked, self.ABC_L * mss)
        else:
            # RFC 3465 §2.1: cwnd += SMSS once a full cwnd of bytes has been acked
            self._bytes_acked += acked
            if self._bytes_acked >= self.cwnd:
                self._bytes_acked -= self.cwnd
                self.cwnd += mss

    def on_dup_ack(self, count: int, flight: int, now: float) -> None:
        if count > 3:
            self.cwnd += self.mss  # RFC 5681 §3.2 step 4: inflate for each further dup ACK

    def on_loss(self, flight: int, now: float) -> None:
        # RFC 5681 §3.2 steps 2-3: ssthresh = max(FlightSize/2, 2*SMSS); cwnd = ssthresh+3*SMSS
        self.ssthresh = max(flight // 2, 2 * self.mss)
        self.cwnd = self.ssthresh + 3 * self.mss
        self._bytes_acked = 0

    def on_partial_ack(self, acked: int, flight: int, now: float) -> None:
        # RFC 6582 §3.2 step 5: deflate by the amount acked, add back one SMSS if >= SMSS
        self.cwnd = max(self.cwnd - acked, self.mss)
        if acked >= self.mss:
            self.cwnd += self.mss

    def on_recovery_end(self, flight: int, now: float) -> None:
        # RFC 6582 §3.2 step 3, full ACK, option (1): cwnd = min(ssthresh, max(FlightSize,
        # SMSS) + SMSS), which avoids a burst when little is outstanding (RFC 5681 §3.2 step 6
        # deflates to ssthresh, option (2))
        self.cwnd = min(self.ssthresh, max(flight, self.mss) + self.mss)

    def on_rto(self, flight: int, now: float) -> None:
        # RFC 5681 §3.1 (4) and §3.1: ssthresh = max(FlightSize/2, 2*SMSS); cwnd = LW = 1 SMSS
        self.ssthresh = max(flight // 2, 2 * self.mss)
        self.cwnd = self.mss
        self._bytes_acked = 0

    def on_idle(self, idle: float, rto: float, now: float) -> None:
        # RFC 5681 §4.1: after an idle period longer than the RTO, cwnd = min(RW, cwnd)
        if idle > rto:
            self.cwnd = min(initial_window(self.mss, self.iw_preset), self.cwnd)


class NewReno(Reno):
    """RFC 6582: the same window rules; recovery lasts until the recover point is acked."""

    name = "newreno"
    partial_ack_recovery = True


class FixedWindow:
    """A constant congestion window (no congestion control), for lessons on flow control."""

    name = "fixed"
    partial_ack_recovery = True

    def __init__(self, segments: int = 64) -> None:
        self.segments = segments
        self.cwnd = 0
        self.ssthresh = 1 << 30
        self.mss = 1460

    def init(self, mss: int, now: float) -> None:
        self.mss = mss
        self.cwnd = self.segments * mss

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
