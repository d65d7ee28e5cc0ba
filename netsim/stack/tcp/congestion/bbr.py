"""BBR version 1 (draft-cardwell-iccrg-bbr-congestion-control-00, as ns-3's TcpBbr and
Linux's tcp_bbr.c implement it): a model-based controller. It does not take loss as the
signal of congestion; it estimates the bottleneck bandwidth (BtlBw: the windowed maximum of
delivery-rate samples over 10 round trips) and the round-trip propagation time (RTprop: the
minimum RTT over 10 s), paces at pacing_gain x BtlBw and keeps at most cwnd_gain x BDP in
flight. A state machine sets the gains: STARTUP (2/ln 2, doubling each round until BtlBw
stops growing by 25 % for 3 rounds), DRAIN (the inverse gain until what is in flight is one
BDP), PROBE_BW (cycling 5/4, 3/4 and six phases of 1) and PROBE_RTT (4 segments in flight
for 200 ms once RTprop is 10 s old).

The connection hands it a rate sample on every ACK (`on_rate_sample`,
netsim.stack.tcp.rate_sample) and paces by its `pacing_rate` (netsim.stack.tcp.pacing). The
loss-recovery callbacks of the controller interface only save and restore cwnd
("Modulating cwnd in loss recovery").

Left out: the ACK-aggregation and long-term-bandwidth (policer) extensions of Linux's BBR,
and PROBE_RTT marking the connection application-limited (its low samples are below BtlBw
and do not lower the max filter anyway).
"""

from __future__ import annotations

import math
import random
from collections import deque

from netsim.stack.tcp.congestion.reno import check_iw, initial_window
from netsim.stack.tcp.rate_sample import RateSample

STARTUP = "startup"
DRAIN = "drain"
PROBE_BW = "probe_bw"
PROBE_RTT = "probe_rtt"

# "Startup": the smallest gain that doubles the sending rate each round trip
HIGH_GAIN = 2 / math.log(2)
DRAIN_GAIN = 1 / HIGH_GAIN  # "Drain": the inverse, to empty the queue Startup built
PACING_GAIN_CYCLE = (5 / 4, 3 / 4, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0)  # "ProbeBW" gain cycling
CWND_GAIN = 2.0  # ProbeBW: 2 x BDP in flight, room for delayed and stretched ACKs
BTLBW_FILTER_LEN = 10  # round trips ("BtlBw" max filter)
RTPROP_FILTER_LEN = 10.0  # seconds ("RTprop" min filter)
PROBE_RTT_DURATION = 0.2  # seconds
MIN_PIPE_CWND = 4  # segments ("Minimum cwnd")
FULL_BW_THRESH = 1.25  # "Estimating when Startup has filled the pipe": 25 % growth...
FULL_BW_COUNT = 3  # ...missing for 3 rounds


class Bbr:
    name = "bbr"
    partial_ack_recovery = True
    # bytes per second; a class attribute, which asks the connection to pace by it
    # (netsim.stack.tcp.delivery); 0.0: unpaced until the first RTT sample
    pacing_rate: float = 0.0

    def __init__(self, iw: str = "iw10", seed: int = 0) -> None:
        check_iw(iw)
        self.iw_preset = iw
        self.mss = 1460
        self.cwnd = 0
        self.ssthresh = 1 << 30  # BBR keeps none; set only as loss recovery's cwnd
        self.pacing_rate = 0.0
        self.state = STARTUP
        self.pacing_gain = HIGH_GAIN
        self.cwnd_gain = HIGH_GAIN
        self.btl_bw = 0.0  # bytes per second
        self._bw: deque[list[float]] = deque()  # [round, max rate in that round]
        self.rtprop = math.inf
        self.rtprop_stamp = 0.0
        self.rtprop_expired = False
        self.round_count = 0
        self.next_round_delivered = 0
        self.round_start = False
        self.delivered = 0  # C.delivered of the last sample
        self.filled_pipe = False
        self.full_bw = 0.0
        self.full_bw_count = 0
        self.cycle_index = 0
        self.cycle_stamp = 0.0
        self.probe_rtt_done: float | None = None
        self.probe_rtt_round_done = False
        self.prior_cwnd = 0
        self.packet_conservation = False
        self.in_recovery = False
        self._restore_after_rto = False
        self.idle_restart = False
        self._loss = False  # a loss found since the last sample
        self._inflight = 0  # in flight after the last sample
        self.initial_cwnd = 0
        self._seed = seed
        self._rng = random.Random(seed)
        self.state_log: list[tuple[float, str]] = []  # (time, state entered)

    def init(self, mss: int, now: float) -> None:
        """"Initialization": IW, Startup, RTprop stamped now."""
        self.mss = mss
        self.cwnd = self.initial_cwnd = initial_window(mss, self.iw_preset)
        self.rtprop_stamp = now
        self.cycle_stamp = now
        # deterministic, but not the same gain phase for two flows that start apart
        self._rng = random.Random(f"{self._seed}:{now!r}")
        self.state_log.append((now, STARTUP))

    # ------------------------------------------------------------------ the model
    def _bdp(self, gain: float) -> int:
        """BBRInflight(gain): gain x BtlBw x RTprop plus 3 send quanta (the initial window
        while RTprop is unknown)."""
        if self.rtprop == math.inf:
            return self.initial_cwnd
        return int(gain * self.btl_bw * self.rtprop) + 3 * self._send_quantum()

    def _send_quantum(self) -> int:
        """"Send Quantum": 1 segment below 1.2 Mbit/s, 2 below 24 Mbit/s, else 1 ms of data
        up to 64 kB."""
        rate = self.pacing_rate
        if rate < 1.2e6 / 8:
            return self.mss
        if rate < 24e6 / 8:
            return 2 * self.mss
        return min(int(rate * 0.001), 65536)

    def _update_round(self, rs: RateSample) -> None:
        """A round trip ends when a packet sent after the last round started is delivered
        ("Tracking time for the BtlBw max filter")."""
        self.round_start = False
        if rs.acked and rs.prior_delivered >= self.next_round_delivered:
            self.next_round_delivered = rs.conn_delivered
            self.round_count += 1
            self.round_start = True
            self.packet_conservation = False  # one round of conservation in recovery
            if self._restore_after_rto:
                self._restore_after_rto = False
                self.cwnd = max(self.cwnd, self.prior_cwnd)

    def _update_btl_bw(self, rs: RateSample) -> None:
        """"BtlBw": a windowed max of the samples over BTLBW_FILTER_LEN rounds; an
        application-limited sample only if it raises the estimate."""
        if not rs.valid or rs.app_limited and rs.delivery_rate < self.btl_bw:
            return
        bw = self._bw
        if bw and bw[-1][0] == self.round_count:
            bw[-1][1] = max(bw[-1][1], rs.delivery_rate)
        else:
            bw.append([self.round_count, rs.delivery_rate])
        while bw[0][0] <= self.round_count - BTLBW_FILTER_LEN:
            bw.popleft()
        self.btl_bw = max(r for _, r in bw)

    def _update_rtprop(self, rs: RateSample, now: float) -> None:
        """"RTprop": the minimum RTT over RTPROP_FILTER_LEN seconds."""
        self.rtprop_expired = now > self.rtprop_stamp + RTPROP_FILTER_LEN
        if rs.rtt is not None and (rs.rtt <= self.rtprop or self.rtprop_expired):
            self.rtprop = rs.rtt
            self.rtprop_stamp = now

    # ------------------------------------------------------------------ the states
    def _enter(self, state: str, now: float, pacing_gain: float, cwnd_gain: float) -> None:
        self.state = state
        self.pacing_gain = pacing_gain
        self.cwnd_gain = cwnd_gain
        self.state_log.append((now, state))

    def _check_full_pipe(self, rs: RateSample) -> None:
        """"Estimating when Startup has filled the pipe": BtlBw grew less than 25 % in
        three rounds in a row (not counting application-limited rounds)."""
        if self.filled_pipe or not self.round_start or rs.app_limited:
            return
        if self.btl_bw >= self.full_bw * FULL_BW_THRESH:
            self.full_bw = self.btl_bw
            self.full_bw_count = 0
            return
        self.full_bw_count += 1
        if self.full_bw_count >= FULL_BW_COUNT:
            self.filled_pipe = True

    def _check_drain(self, rs: RateSample, now: float) -> None:
        """"Drain": entered when the pipe is full, left when in flight <= one BDP."""
        if self.state == STARTUP and self.filled_pipe:
            self._enter(DRAIN, now, DRAIN_GAIN, HIGH_GAIN)
        if self.state == DRAIN and rs.inflight <= self._bdp(1.0):
            self._enter_probe_bw(now)

    def _enter_probe_bw(self, now: float) -> None:
        """"ProbeBW": start the gain cycle at a random phase other than the 3/4 one."""
        self._enter(PROBE_BW, now, 1.0, CWND_GAIN)
        self.cycle_index = len(PACING_GAIN_CYCLE) - 1 - self._rng.randrange(7)
        self._advance_cycle(now)

    def _advance_cycle(self, now: float) -> None:
        self.cycle_stamp = now
        self.cycle_index = (self.cycle_index + 1) % len(PACING_GAIN_CYCLE)
        self.pacing_gain = PACING_GAIN_CYCLE[self.cycle_index]

    def _check_cycle_phase(self, rs: RateSample, now: float) -> None:
        """"Gain Cycling": a phase lasts one RTprop; 5/4 also until a loss or 5/4 BDP in
        flight; 3/4 ends early once in flight <= one BDP."""
        if self.state != PROBE_BW:
            return
        full_length = now - self.cycle_stamp > self.rtprop
        prior_inflight = rs.inflight + rs.acked
        gain = self.pacing_gain
        if gain == 1.0:
            nxt = full_length
        elif gain > 1.0:
            nxt = full_length and (self._loss or prior_inflight >= self._bdp(gain))
        else:
            nxt = full_length or prior_inflight <= self._bdp(1.0)
        if nxt:
            self._advance_cycle(now)

    def _check_probe_rtt(self, rs: RateSample, now: float) -> None:
        """"ProbeRTT": when RTprop has not been refreshed for 10 s, hold 4 segments in
        flight for 200 ms and one round, then go back to ProbeBW (or Startup)."""
        if self.state != PROBE_RTT and self.rtprop_expired and not self.idle_restart:
            self._enter(PROBE_RTT, now, 1.0, 1.0)
            self._save_cwnd()
            self.probe_rtt_done = None
        if self.state == PROBE_RTT:
            if self.probe_rtt_done is None and rs.inflight <= MIN_PIPE_CWND * self.mss:
                self.probe_rtt_done = now + PROBE_RTT_DURATION
                self.probe_rtt_round_done = False
                self.next_round_delivered = rs.conn_delivered
            elif self.probe_rtt_done is not None:
                if self.round_start:
                    self.probe_rtt_round_done = True
                if self.probe_rtt_round_done and now > self.probe_rtt_done:
                    self.rtprop_stamp = now
                    self.cwnd = max(self.cwnd, self.prior_cwnd)
                    if self.filled_pipe:
                        self._enter_probe_bw(now)
                    else:
                        self._enter(STARTUP, now, HIGH_GAIN, HIGH_GAIN)
        if rs.acked:
            self.idle_restart = False

    # ------------------------------------------------------------------ per ACK
    def on_rate_sample(self, rs: RateSample, now: float) -> None:
        """"Per-ACK steps": update the model and the state, then pacing rate and cwnd."""
        self.delivered = rs.conn_delivered
        self.ssthresh = 1 << 30  # (only loss recovery's cwnd for the ACK that set it)
        self._update_round(rs)
        self._update_btl_bw(rs)
        self._check_cycle_phase(rs, now)
        self._check_full_pipe(rs)
        self._check_drain(rs, now)
        self._update_rtprop(rs, now)
        self._check_probe_rtt(rs, now)
        self._loss = False
        self._inflight = rs.inflight
        # "Pacing Rate": gain x BtlBw; before the first BtlBw sample, the initial window
        # per RTT with the Startup gain ("Initialization")
        if self.btl_bw > 0:
            rate = self.pacing_gain * self.btl_bw
            if self.filled_pipe or rate > self.pacing_rate:
                self.pacing_rate = rate
        elif rs.rtt is not None and rs.rtt > 0 and self.pacing_rate == 0.0:
            self.pacing_rate = HIGH_GAIN * self.initial_cwnd / rs.rtt
        self._set_cwnd(rs)

    def _set_cwnd(self, rs: RateSample) -> None:
        """"Core cwnd Adjustment Mechanism" with "Modulating cwnd in Loss Recovery" and
        "Modulating cwnd in ProbeRTT"."""
        mss = self.mss
        acked = rs.acked
        if self.packet_conservation:
            self.cwnd = max(self.cwnd, rs.inflight + acked)
        else:
            target = self._bdp(self.cwnd_gain)
            if self.filled_pipe:
                self.cwnd = min(self.cwnd + acked, target)
            elif self.cwnd < target or self.delivered < self.initial_cwnd:
                self.cwnd += acked
            self.cwnd = max(self.cwnd, MIN_PIPE_CWND * mss)
        if self.state == PROBE_RTT:
            self.cwnd = min(self.cwnd, MIN_PIPE_CWND * mss)

    # ------------------------------------------------------------------ the interface
    def _save_cwnd(self) -> None:
        """BBRSaveCwnd: the last good cwnd, restored after recovery or ProbeRTT."""
        if not self.in_recovery and self.state != PROBE_RTT:
            self.prior_cwnd = self.cwnd
        else:
            self.prior_cwnd = max(self.prior_cwnd, self.cwnd)

    def on_ack(self, acked: int, rtt: float | None, flight: int, now: float) -> None:
        pass  # everything happens in on_rate_sample, on every ACK

    def on_dup_ack(self, count: int, flight: int, now: float) -> None:
        pass

    def on_loss(self, flight: int, now: float) -> None:
        """Entering fast recovery: save cwnd; cwnd = what is in flight plus one segment,
        then one round of packet conservation. The connection sets cwnd = ssthresh."""
        self._save_cwnd()
        self.in_recovery = True
        self._loss = True
        self.packet_conservation = True
        inflight = min(flight, self._inflight) if self._inflight else flight
        self.cwnd = self.ssthresh = max(inflight + self.mss, MIN_PIPE_CWND * self.mss)

    def on_partial_ack(self, acked: int, flight: int, now: float) -> None:
        pass

    def on_recovery_end(self, flight: int, now: float) -> None:
        """Leaving recovery: cwnd back to at least what it was before."""
        self.in_recovery = False
        self.packet_conservation = False
        self.cwnd = max(self.cwnd, self.prior_cwnd)

    def on_rto(self, flight: int, now: float) -> None:
        """A timeout: save cwnd, one segment in flight, the saved cwnd back after a round."""
        self._save_cwnd()
        self._loss = True
        self.in_recovery = False
        self.packet_conservation = False
        self._restore_after_rto = True
        self.cwnd = self.mss

    def on_idle(self, idle: float, rto: float, now: float) -> None:
        """"Restarting From Idle": pace at BtlBw at once in ProbeBW."""
        self.idle_restart = True
        if self.state == PROBE_BW and self.btl_bw > 0:
            self.pacing_rate = self.btl_bw
