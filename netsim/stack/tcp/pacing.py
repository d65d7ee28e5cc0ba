"""Pacing (fq-style, per connection): data segments leave no faster than a pacing rate.

After each data segment the next one may leave `size / rate` seconds later (as Linux's
fq qdisc and its internal TCP pacing space packets, time_next_packet); a sender that is
ahead waits on a timer in the stack's TimerQueue (`Pacer` is a TimerOwner of its own), so
simulation and live runs use the same code and nothing busy-waits. The rate is the
controller's (`cc.pacing_rate`, bytes per second, e.g. BBR's) when it has one, else Linux's
default (tcp_update_pacing_rate): 2 x cwnd / SRTT in slow start (cwnd < ssthresh / 2),
1.2 x cwnd / SRTT after, with no pacing before the first RTT sample.

The connection gates each data segment of `_output` and of recovery's sending loops on
`Pacer.wait`; pure ACKs, the FIN, a window or loss probe and the first retransmission of a fast
retransmit or timeout are not held back, but a data segment among them still moves the next
departure time.
Sizes are payload bytes, as the delivery rate (netsim.stack.tcp.rate_sample) counts them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from netsim.stack.timers import INF

#: Linux's tcp_pacing_ss_ratio and tcp_pacing_ca_ratio (percent), as factors
SS_RATIO = 2.0
CA_RATIO = 1.2


class _Timers(Protocol):
    def ensure(self, owner: Pacer, when: float) -> None: ...


def default_rate(cwnd: int, ssthresh: int, flight: int, srtt: float | None) -> float:
    """Linux's pacing rate without a controller's (bytes per second); 0.0: no pacing yet."""
    if srtt is None or srtt <= 0:
        return 0.0
    ratio = SS_RATIO if cwnd < ssthresh // 2 else CA_RATIO
    return ratio * max(cwnd, flight) / srtt


class Pacer:
    """The next time a data segment may leave, and the timer that wakes the sender then."""

    __slots__ = ("timer_at", "next_at", "rate", "_wake", "_timers", "held")

    def __init__(self, timers: _Timers, wake: Callable[[float], None]) -> None:
        self.timer_at = INF  # the TimerOwner field
        self.next_at = -INF  # earliest departure of the next data segment
        self.rate = 0.0  # bytes per second of the last segment sent (0.0: unpaced)
        self._wake = wake
        self._timers = timers
        self.held = 0  # times a segment waited for the pacing timer

    def wait(self, now: float) -> bool:
        """True if the next data segment must wait: the timer is armed to send it."""
        if self.next_at <= now:
            return False
        self.held += 1
        self._timers.ensure(self, self.next_at)
        return True

    def sent(self, size: int, rate: float, now: float) -> None:
        """A data segment of `size` bytes left at `now`; the next may leave size/rate later
        (no credit is banked while the sender had nothing to send)."""
        self.rate = rate
        if rate > 0:
            self.next_at = max(self.next_at, now) + size / rate
        else:
            self.next_at = -INF

    def on_timer(self, now: float) -> None:
        self._wake(now)  # the connection's _output: sends what its windows allow
