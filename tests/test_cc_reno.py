"""The Reno and NewReno controllers (netsim.stack.tcp.congestion.reno) against the numbers in
RFC 5681 (with RFC 3465 appropriate byte counting, L = 2) and RFC 6582, called directly."""

from __future__ import annotations

import pytest

from netsim.errors import UsageError
from netsim.stack.tcp.config import TcpConfig
from netsim.stack.tcp.congestion import Cubic, FixedWindow, NewReno, Reno, make_cc
from netsim.stack.tcp.congestion.reno import initial_window

MSS = 1000


def reno(cls: type[Reno] = Reno, iw: str = "rfc5681", mss: int = MSS) -> Reno:
    cc = cls(iw)
    cc.init(mss, 0.0)
    return cc


# ---------------------------------------------------------------------- initial window
@pytest.mark.parametrize(("mss", "segments"), [
    (536, 4), (1095, 4),  # SMSS <= 1095: IW = 4 * SMSS
    (1096, 3), (1460, 3), (2190, 3),  # 1095 < SMSS <= 2190: 3 * SMSS
    (2191, 2), (8960, 2),  # SMSS > 2190: 2 * SMSS
])
def test_initial_window_follows_rfc5681_by_smss(mss: int, segments: int) -> None:
    # RFC 5681 §3.1, equation (1)
    assert initial_window(mss) == segments * mss
    assert reno(mss=mss).cwnd == segments * mss


@pytest.mark.parametrize(("mss", "iw"), [(1460, 14600), (536, 5360), (1000, 10000),
                                         (8960, 17920)])
def test_iw10_is_min_of_10_smss_and_max_of_2_smss_and_14600(mss: int, iw: int) -> None:
    # RFC 6928 §2: IW = min(10*MSS, max(2*MSS, 14600))
    assert initial_window(mss, "iw10") == iw
    assert reno(iw="iw10", mss=mss).cwnd == iw


def test_config_chooses_the_controller_and_initial_window() -> None:
    assert isinstance(TcpConfig(cc="reno").new_cc(), Reno)
    assert isinstance(TcpConfig().new_cc(), NewReno)  # the default
    assert isinstance(TcpConfig(cc="cubic").new_cc(), Cubic)
    cc = TcpConfig(cc="cubic", initial_window="iw10").new_cc()
    cc.init(1460, 0.0)
    assert cc.cwnd == 14600
    mine = FixedWindow(7)
    assert TcpConfig(cc_factory=lambda: mine).new_cc() is mine
    with pytest.raises(UsageError, match="cc"):
        make_cc("vegas")


def test_an_unknown_initial_window_is_refused_up_front() -> None:
    """It was taken for RFC 5681's window, silently, whatever its spelling."""
    with pytest.raises(UsageError, match="initial_window: 'IW10' is not 'rfc5681'"):
        TcpConfig(initial_window="IW10")
    for cls in (Reno, NewReno, Cubic):
        with pytest.raises(UsageError, match="iw: 'bogus' is not"):
            cls(iw="bogus")
    with pytest.raises(UsageError, match="iw: 'iw4' is not"):
        initial_window(1460, "iw4")


# ---------------------------------------------------------------------- slow start
def test_slow_start_with_abc_adds_at_most_two_smss_per_ack() -> None:
    # RFC 3465 §2.2 (L = 2) / RFC 5681 §3.1 (2): cwnd += min(N, L * SMSS)
    cc = reno()
    start = cc.cwnd
    cc.on_ack(MSS, None, 0, 0.1)
    assert cc.cwnd == start + MSS
    cc.on_ack(300, None, 0, 0.1)
    assert cc.cwnd == start + MSS + 300
    cc.on_ack(2 * MSS, None, 0, 0.1)  # a delayed ACK for two segments
    assert cc.cwnd == start + 3 * MSS + 300
    cc.on_ack(5 * MSS, None, 0, 0.1)  # a stretch ACK: still only L * SMSS
    assert cc.cwnd == start + 5 * MSS + 300


def test_slow_start_doubles_per_round_with_an_ack_per_segment() -> None:
    cc = reno()
    for _ in range(4):
        segments = cc.cwnd // MSS
        before = cc.cwnd
        for _ in range(segments):
            cc.on_ack(MSS, None, 0, 0.0)
        assert cc.cwnd == 2 * before


def test_slow_start_ends_at_ssthresh() -> None:
    cc = Reno(ssthresh=6 * MSS)
    cc.init(MSS, 0.0)
    cc.cwnd = 6 * MSS  # cwnd == ssthresh: congestion avoidance (RFC 5681 §3.1)
    cc.on_ack(MSS, None, 0, 0.0)
    assert cc.cwnd == 6 * MSS


# ---------------------------------------------------------------------- congestion avoidance
def test_congestion_avoidance_adds_one_smss_per_window_acked() -> None:
    # RFC 5681 §3.1 (3) with RFC 3465 §2.1: +1 SMSS once cwnd bytes have been acknowledged
    cc = reno()
    cc.ssthresh = cc.cwnd = 10 * MSS
    for i in range(9):
        cc.on_ack(MSS, None, 0, 0.0)
        assert cc.cwnd == 10 * MSS, f"grew after {i + 1} of 10 segments"
    cc.on_ack(MSS, None, 0, 0.0)
    assert cc.cwnd == 11 * MSS
    # the next increment needs 11 segments' worth, however it is split up
    for _ in range(5):
        cc.on_ack(2 * MSS, None, 0, 0.0)
    assert cc.cwnd == 11 * MSS
    cc.on_ack(MSS, None, 0, 0.0)
    assert cc.cwnd == 12 * MSS


def test_congestion_avoidance_is_linear_over_many_rounds() -> None:
    cc = reno()
    cc.ssthresh = cc.cwnd = 20 * MSS
    for _ in range(30):  # 30 round trips, one ACK per segment
        for _ in range(cc.cwnd // MSS):
            cc.on_ack(MSS, None, 0, 0.0)
    assert cc.cwnd == 50 * MSS


# ---------------------------------------------------------------------- loss
@pytest.mark.parametrize(("flight", "ssthresh"), [
    (20 * MSS, 10 * MSS), (21 * MSS, 10 * MSS + MSS // 2),
    (3 * MSS, 2 * MSS), (MSS, 2 * MSS),  # never below 2 * SMSS
])
def test_fast_retransmit_halves_flight_size_and_inflates_by_three(flight: int,
                                                                  ssthresh: int) -> None:
    # RFC 5681 §3.2 steps 2-3: ssthresh = max(FlightSize / 2, 2*SMSS); cwnd = ssthresh + 3*SMSS
    cc = reno()
    cc.cwnd = 40 * MSS  # the rule uses FlightSize, not cwnd
    cc.on_loss(flight, 1.0)
    assert cc.ssthresh == ssthresh
    assert cc.cwnd == ssthresh + 3 * MSS


def test_each_further_dup_ack_inflates_by_one_smss() -> None:
    # RFC 5681 §3.2 step 4
    cc = reno()
    cc.on_loss(20 * MSS, 1.0)
    assert cc.cwnd == 13 * MSS
    for count in range(4, 10):
        cc.on_dup_ack(count, 20 * MSS, 1.0)
        assert cc.cwnd == (13 + count - 3) * MSS


def test_first_two_dup_acks_do_not_change_the_window() -> None:
    # RFC 5681 §3.2 step 1 / RFC 3042: the window itself stays as it is
    cc = reno()
    before = cc.cwnd
    cc.on_dup_ack(1, 3 * MSS, 1.0)
    cc.on_dup_ack(2, 3 * MSS, 1.0)
    assert cc.cwnd == before


def test_partial_ack_deflates_by_the_amount_acked_plus_one_smss() -> None:
    # RFC 6582 §3.2 step 5: deflate by the newly acked data; add back SMSS if >= SMSS
    cc = reno(NewReno)
    cc.on_loss(20 * MSS, 1.0)
    cc.cwnd = 16 * MSS  # after three more dup ACKs
    cc.on_partial_ack(4 * MSS, 16 * MSS, 1.1)
    assert cc.cwnd == 16 * MSS - 4 * MSS + MSS
    cc.on_partial_ack(MSS // 2, 16 * MSS, 1.2)  # less than one SMSS: nothing added back
    assert cc.cwnd == 13 * MSS - MSS // 2
    assert cc.ssthresh == 10 * MSS  # partial ACKs leave ssthresh alone


def test_recovery_end_deflates_to_ssthresh() -> None:
    # RFC 5681 §3.2 step 6 / RFC 6582 §3.2 step 3 (1):
    # cwnd = min(ssthresh, max(FlightSize, SMSS) + SMSS)
    cc = reno(NewReno)
    cc.on_loss(20 * MSS, 1.0)
    for count in range(4, 14):
        cc.on_dup_ack(count, 20 * MSS, 1.0)
    assert cc.cwnd > cc.ssthresh
    cc.on_recovery_end(15 * MSS, 1.2)
    assert cc.cwnd == cc.ssthresh == 10 * MSS
    # little outstanding: no burst of ssthresh bytes at once
    cc.on_loss(20 * MSS, 2.0)
    cc.on_recovery_end(3 * MSS, 2.2)
    assert cc.cwnd == 4 * MSS
    # nothing outstanding: max(FlightSize, SMSS) + SMSS = 2 segments
    cc.on_loss(20 * MSS, 3.0)
    cc.on_recovery_end(0, 3.2)
    assert cc.cwnd == 2 * MSS


def test_after_recovery_growth_is_linear() -> None:
    cc = reno()
    cc.on_loss(20 * MSS, 1.0)
    cc.on_recovery_end(15 * MSS, 1.2)
    for _ in range(10):
        cc.on_ack(MSS, None, 10 * MSS, 1.3)
    assert cc.cwnd == 11 * MSS  # congestion avoidance, not slow start


def test_timeout_sets_cwnd_to_one_smss_and_halves_flight() -> None:
    # RFC 5681 §3.1 equation (4) and "cwnd MUST be set to no more than LW = 1 SMSS"
    cc = reno()
    cc.cwnd = 30 * MSS
    cc.on_rto(24 * MSS, 5.0)
    assert cc.cwnd == MSS
    assert cc.ssthresh == 12 * MSS
    cc.on_rto(MSS, 6.0)  # a second timeout with one segment out
    assert cc.ssthresh == 2 * MSS
    # slow start again up to ssthresh, then linear
    cc.on_ack(MSS, None, 0, 6.5)
    assert cc.cwnd == 2 * MSS
    cc.on_ack(MSS, None, 0, 6.6)
    assert cc.cwnd == 2 * MSS


def test_restart_after_idle_longer_than_rto() -> None:
    # RFC 5681 §4.1: cwnd = RW = min(IW, cwnd) when idle for more than one RTO
    cc = reno()
    cc.cwnd = 40 * MSS
    cc.on_idle(0.5, 1.0, 10.0)  # shorter than the RTO: unchanged
    assert cc.cwnd == 40 * MSS
    cc.on_idle(1.5, 1.0, 10.0)
    assert cc.cwnd == initial_window(MSS) == 4 * MSS
    cc.cwnd = 2 * MSS  # a window below IW is kept
    cc.on_idle(5.0, 1.0, 20.0)
    assert cc.cwnd == 2 * MSS


def test_reno_and_newreno_differ_only_in_partial_ack_handling() -> None:
    assert Reno.partial_ack_recovery is False
    assert NewReno.partial_ack_recovery is True


def test_fixed_window_ignores_every_signal() -> None:
    cc = FixedWindow(8)
    cc.init(MSS, 0.0)
    cc.on_ack(MSS, 0.1, 0, 1.0)
    cc.on_loss(8 * MSS, 1.0)
    cc.on_dup_ack(5, 8 * MSS, 1.0)
    assert cc.cwnd == 8 * MSS
    cc.on_rto(8 * MSS, 2.0)
    cc.on_idle(10, 1, 3.0)
    assert cc.cwnd == 8 * MSS
