"""CUBIC (netsim.stack.tcp.congestion.cubic) against the formulas of RFC 9438, driven ACK by
ACK with a fake clock: K, W_cubic(t), the beta = 0.7 reduction, fast convergence, the
Reno-friendly region and the 1.5 * cwnd clamp."""

from __future__ import annotations

import pytest

from netsim.stack.tcp.congestion import Cubic

MSS = 1000
C = 0.4
BETA = 0.7
ALPHA = 3 * (1 - BETA) / (1 + BETA)


def w_cubic(t: float, w_max: float, k: float) -> float:
    """RFC 9438 §4.2, equation (1), in segments."""
    return C * (t - k) ** 3 + w_max


def after_loss(w_max: int, fast_convergence: bool = True) -> Cubic:
    """A CUBIC controller that had `w_max` segments when a loss ended its last epoch."""
    cc = Cubic(fast_convergence=fast_convergence)
    cc.init(MSS, 0.0)
    cc.ssthresh = MSS  # congestion avoidance
    cc.cwnd = w_max * MSS
    cc.on_loss(w_max * MSS, 0.0)
    cc.on_recovery_end(w_max * MSS, 0.0)
    return cc


def run_rounds(cc: Cubic, start: float, rtt: float, rounds: int) -> float:
    """One ACK per segment, a window per round trip; returns the time reached."""
    t = start
    for _ in range(rounds):
        n = max(1, cc.cwnd // MSS)
        for i in range(n):
            cc.on_ack(MSS, rtt, cc.cwnd, t + rtt * i / n)
        t += rtt
    return t


def test_multiplicative_decrease_is_beta_0_7() -> None:
    # RFC 9438 §4.6: ssthresh = cwnd * beta_cubic; after recovery cwnd = ssthresh
    cc = after_loss(100)
    assert cc.ssthresh == 70 * MSS
    assert cc.cwnd == 70 * MSS
    assert cc.w_max == pytest.approx(100)


def test_fast_retransmit_inflates_like_reno_during_recovery() -> None:
    cc = Cubic()
    cc.init(MSS, 0.0)
    cc.cwnd = 50 * MSS
    cc.on_loss(50 * MSS, 1.0)
    assert cc.ssthresh == 35 * MSS
    assert cc.cwnd == 38 * MSS  # ssthresh + 3 SMSS, then one SMSS per further dup ACK
    cc.on_dup_ack(4, 50 * MSS, 1.0)
    assert cc.cwnd == 39 * MSS


def test_timeout_reduces_ssthresh_by_beta_and_cwnd_to_one_segment() -> None:
    # RFC 9438 §4.8
    cc = Cubic()
    cc.init(MSS, 0.0)
    cc.cwnd = 40 * MSS
    cc.on_rto(40 * MSS, 3.0)
    assert cc.cwnd == MSS
    assert cc.ssthresh == 28 * MSS


def test_slow_start_is_reno_slow_start() -> None:
    cc = Cubic()
    cc.init(MSS, 0.0)
    start = cc.cwnd
    cc.on_ack(MSS, 0.1, 0, 0.1)
    cc.on_ack(3 * MSS, 0.1, 0, 0.2)
    assert cc.cwnd == start + 3 * MSS  # +1 SMSS, then ABC's limit of 2 SMSS


def test_k_is_the_time_to_get_back_to_w_max() -> None:
    # RFC 9438 §4.2, equation (2): K = cbrt((W_max - cwnd_epoch) / C)
    cc = after_loss(100)
    cc.on_ack(MSS, 0.1, 0, 10.0)  # starts the epoch
    assert cc.k == pytest.approx(((100 - 70) / C) ** (1 / 3))
    assert cc.k == pytest.approx(4.2172, abs=1e-4)


def test_window_follows_w_cubic_concave_then_convex() -> None:
    # RFC 9438 §4.2/§4.4: the window tracks W_cubic(t + RTT): fast growth just after the
    # reduction, a plateau around W_max at t = K, then convex growth beyond it.
    rtt = 0.1
    cc = after_loss(100)
    epoch = 10.0
    k = ((100 - 70) / C) ** (1 / 3)
    checkpoints = {}
    t = epoch
    for rounds in (10, 21, 11, 20):  # t = 1.0, 3.1, 4.2, 6.2 s after the epoch start
        t = run_rounds(cc, t, rtt, rounds)
        checkpoints[round(t - epoch, 1)] = cc.cwnd / MSS
    for elapsed, seg in checkpoints.items():
        expected = w_cubic(elapsed, 100, k)
        assert seg == pytest.approx(expected, rel=0.06), (elapsed, seg, expected)
    # concave: most of the way back to W_max in the first quarter of K
    assert checkpoints[1.0] > 85
    # the plateau: within 2% of W_max at t = K
    assert checkpoints[4.2] == pytest.approx(100, rel=0.02)
    # convex: growth speeds up again after the plateau
    assert checkpoints[6.2] - checkpoints[4.2] > 2 * (checkpoints[4.2] - checkpoints[3.1])
    assert checkpoints[6.2] > 102


def test_reno_friendly_region_when_rtt_is_short() -> None:
    # RFC 9438 §4.3: W_est grows by alpha_cubic = 3(1-beta)/(1+beta) segments per RTT;
    # while W_cubic(t) < W_est the window follows W_est.
    rtt = 0.01
    cc = after_loss(100)
    run_rounds(cc, 10.0, rtt, 50)  # 0.5 s: W_cubic(0.5) ~ 79.5 segments
    cubic_only = w_cubic(0.5 + rtt, 100, cc.k)
    reno_friendly = 70 + ALPHA * 50
    assert cubic_only < 81
    assert cc.cwnd / MSS == pytest.approx(reno_friendly, abs=1.5)


def test_without_the_reno_friendly_region_it_would_grow_slower() -> None:
    # The same run with a long RTT is governed by W_cubic (growth per second, not per RTT).
    cc = after_loss(100)
    run_rounds(cc, 10.0, 0.25, 2)  # 0.5 s, two round trips
    assert cc.cwnd / MSS == pytest.approx(w_cubic(0.5, 100, cc.k), rel=0.05)
    assert cc.cwnd / MSS > 70 + 2 * ALPHA + 5


def test_target_is_clamped_to_one_and_a_half_cwnd() -> None:
    # RFC 9438 §4.4: target = min(W_cubic(t + RTT), 1.5 * cwnd)
    cc = Cubic()
    cc.init(MSS, 0.0)
    cc.ssthresh = MSS
    cc.cwnd = 100 * MSS
    cc.on_ack(MSS, 0.1, 0, 0.0)  # epoch start at W_max = cwnd, K = 0
    cwnd = cc.cwnd
    # 100 s later W_cubic is 400,000 segments; one (stretch) ACK of a whole window may
    # take cwnd only to 1.5 times its size
    cc.on_ack(cwnd, 0.1, 0, 100.0)
    assert cc.cwnd == pytest.approx(1.5 * cwnd, rel=1e-3)


def test_window_never_shrinks_in_congestion_avoidance() -> None:
    cc = after_loss(100)
    last = cc.cwnd
    t = 10.0
    for i in range(3000):
        cc.on_ack(MSS, 0.05, 0, t + i * 0.002)
        assert cc.cwnd >= last
        last = cc.cwnd


def test_fast_convergence_releases_bandwidth() -> None:
    # RFC 9438 §4.7: a loss below the previous W_max sets W_max = cwnd * (1 + beta) / 2
    for fc, w_max in ((True, 80 * (1 + BETA) / 2), (False, 80.0)):
        cc = after_loss(100, fast_convergence=fc)
        cc.cwnd = 80 * MSS
        cc.on_loss(80 * MSS, 20.0)
        assert cc.w_max == pytest.approx(w_max)
        assert cc.ssthresh == 56 * MSS


def test_loss_above_previous_w_max_keeps_cwnd_as_w_max() -> None:
    cc = after_loss(100)
    cc.cwnd = 120 * MSS
    cc.on_loss(120 * MSS, 20.0)
    assert cc.w_max == pytest.approx(120)


def test_reno_friendly_alpha_becomes_one_above_the_prior_window() -> None:
    # RFC 9438 §4.3: once W_est >= cwnd_prior, alpha_cubic SHOULD be 1 (Reno's own rate)
    rtt = 0.01
    cc = after_loss(100)
    run_rounds(cc, 10.0, rtt, 100)  # 1 s: W_cubic(1) ~ 86.7 segments
    to_prior = (100 - 70) / ALPHA  # round trips to climb back to cwnd_prior at alpha
    expected = 100 + (100 - to_prior) * 1.0
    assert cc.cwnd / MSS == pytest.approx(expected, abs=2.5)
