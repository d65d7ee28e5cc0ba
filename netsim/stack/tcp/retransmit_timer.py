"""The retransmission timer (RFC 6298) and the timer entry of a connection.

A connection has four deadlines (retransmission, persist, delayed ACK, TIME-WAIT/FIN-WAIT-2),
absolute times or INF, and one entry in the stack's timer queue for the soonest (`_arm`).
The retransmission timer is started, restarted and stopped only here:

- (5.1) start it when data is sent and it is not running: `_start_rto_if_stopped`;
- (5.2)/(5.3) stop it when all is acknowledged, restart it on an ACK of new data:
  `_stop_rto`, `_restart_rto`;
- (5.5)/(5.6) on expiry back off and restart: `_back_off`, `_set_rto`.

RTT samples come from timestamps (RFC 7323 §4, RTTM) or from one timed segment at a time,
never a retransmitted one (Karn's algorithm, RFC 6298 §3); the estimator itself is
`cfg.new_rto()` (netsim.stack.tcp.rto, or a student's). The persist timer, which sends
zero-window probes (RFC 9293 §3.8.6.1), is started here too; what it sends is the sender's
business (netsim.stack.tcp.sender).
"""

from __future__ import annotations

from netsim.stack.events import RttRecord
from netsim.stack.tcp.seq import MASK, seq_ge, seq_gt
from netsim.stack.tcp.tcb import ControlBlock
from netsim.stack.timers import INF
from netsim.wire.tcp import TCPSegment, TimestampOption


class RetransmitTimer(ControlBlock):
    """The timer entry, the retransmission timer and RTT measurement."""

    __slots__ = ()

    def _arm(self) -> None:
        """Make sure the timer queue wakes us at the soonest deadline."""
        # (min() of the four as comparisons: compiled, a min() call boxes each float)
        soonest = self.rto_at
        if self.persist_at < soonest:
            soonest = self.persist_at
        if self.delack_at < soonest:
            soonest = self.delack_at
        if self.timewait_at < soonest:
            soonest = self.timewait_at
        # the queue's entry for us (`timer_at`) wakes us no later than `soonest` already: the
        # usual case (an RTO restarted later), with nothing for `ensure` to do
        if soonest < self.timer_at:
            self.stack.timers.ensure(self, soonest)

    def _set_rto(self, now: float) -> None:
        """Set the retransmission deadline one RTO from `now` (the caller arms)."""
        self.rto_at = now + self.rto_est.rto

    def _restart_rto(self, now: float) -> None:
        """RFC 6298 (5.3)/(5.6): the timer expires one RTO from now."""
        self.rto_at = now + self.rto_est.rto
        self._arm()

    def _start_rto_if_stopped(self, now: float) -> None:
        """RFC 6298 (5.1): start the timer if it is not running."""
        if self.rto_at == INF:
            self.rto_at = now + self.rto_est.rto
            self._arm()

    def _stop_rto(self) -> None:
        """RFC 6298 (5.2): all outstanding data acknowledged."""
        self.rto_at = INF

    def _srtt(self) -> float | None:
        """The estimator's SRTT (None before the first sample), asked again only after a
        call that may change it (an interpreted estimator's attribute is a slow read)."""
        if not self._srtt_fresh:
            self._srtt_seen = self.rto_est.srtt
            self._srtt_fresh = True
        return self._srtt_seen

    def _back_off(self, now: float) -> None:
        """RFC 6298 (5.5): double the RTO; no RTT sample from what was sent before."""
        self.rto_est.on_timeout()
        self._srtt_fresh = False
        if self.trace is not None:
            est = self.rto_est
            self.trace.record(RttRecord(now, self.stack.name, self.name, None, est.srtt,
                                        est.rttvar, est.rto, est.backoffs))
        self._rtt_seq = None  # Karn

    def _start_persist(self, now: float) -> None:
        # RFC 9293 §3.8.6.1 / RFC 1122 §4.2.2.17: probe a zero window, backing off
        delay = min(max(self.rto_est.rto, 0.2) * (1 << self._persist_backoff), 60.0)
        self.persist_at = now + delay
        self.rto_at = INF
        self._arm()

    def _rtt_from_ack(self, seg: TCPSegment, now: float, handshake: bool,
                      ts: TimestampOption | None) -> float | None:
        """An RTT sample for an ACK of new data: RFC 7323 §4 (RTTM) with timestamps (`ts`,
        the segment's timestamps option), else the one timed segment, never a retransmitted
        one (Karn's algorithm)."""
        sample: float | None = None
        if handshake and self.from_cookie:
            pass  # when the cookie SYN-ACK left is not known
        elif self.ts_ok:
            if ts is not None and ts.tsecr and (self._retrans_ts is None or
                                                seq_ge(ts.tsecr, self._retrans_ts)):
                ms = (self._tsval(now) - ts.tsecr) & MASK
                if ms < 0x7FFFFFFF:
                    sample = max(ms / 1000.0, 0.0)
            if handshake and self._syn_retransmitted:
                sample = None  # a retransmitted SYN's echo may be from the first SYN
        elif handshake:
            if not self._syn_retransmitted:
                sample = now - self._rtt_time
        elif self._rtt_seq is not None and seq_gt(seg.ack, self._rtt_seq):
            sample = now - self._rtt_time
            self._rtt_seq = None
        if sample is not None:
            self.rto_est.on_sample(sample)
            self._srtt_fresh = False
            if self.trace is not None:
                est = self.rto_est
                self.trace.record(RttRecord(now, self.stack.name, self.name, sample, est.srtt,
                                            est.rttvar, est.rto, est.backoffs))
        return sample
