"""The RFC 6298 retransmission-timeout estimator (netsim/stack/tcp/rto.py) on its own, and
the settings that choose it (TcpConfig: min_rto, max_rto, the Linux-like preset)."""

from __future__ import annotations

import pytest

from netsim.errors import UsageError
from netsim.stack.tcp.config import TcpConfig
from netsim.stack.tcp.rto import Rfc6298Estimator


def test_before_any_sample_rto_is_one_second() -> None:
    # RFC 6298 (2.1): until a measurement is made, RTO <- 1 second
    est = Rfc6298Estimator()
    assert est.srtt is None and est.rttvar is None
    assert est.rto == 1.0


def test_first_sample_sets_srtt_to_r_and_rttvar_to_half_r() -> None:
    # RFC 6298 (2.2): SRTT <- R, RTTVAR <- R/2, RTO <- SRTT + max(G, K*RTTVAR)
    est = Rfc6298Estimator(min_rto=0.2, granularity=0.001)
    est.on_sample(0.1)
    assert est.srtt == pytest.approx(0.1)
    assert est.rttvar == pytest.approx(0.05)
    assert est.rto == pytest.approx(0.1 + 4 * 0.05)


def test_later_samples_use_alpha_beta_and_the_old_srtt_for_rttvar() -> None:
    # RFC 6298 (2.3): RTTVAR <- 3/4 RTTVAR + 1/4 |SRTT - R'| with the OLD SRTT, then
    # SRTT <- 7/8 SRTT + 1/8 R'.  With R = 0.1 then R' = 0.3:
    #   RTTVAR = 0.75 * 0.05 + 0.25 * |0.1 - 0.3| = 0.0875   (with the new SRTT: 0.08125)
    #   SRTT   = 0.875 * 0.1 + 0.125 * 0.3       = 0.125
    #   RTO    = 0.125 + 4 * 0.0875               = 0.475
    est = Rfc6298Estimator(min_rto=0.2)
    est.on_sample(0.1)
    est.on_sample(0.3)
    assert est.rttvar == pytest.approx(0.0875)
    assert est.srtt == pytest.approx(0.125)
    assert est.rto == pytest.approx(0.475)
    # A third sample R'' = 0.125 equal to SRTT: only RTTVAR shrinks (by 1/4).
    est.on_sample(0.125)
    assert est.srtt == pytest.approx(0.125)
    assert est.rttvar == pytest.approx(0.0875 * 0.75)


def test_clock_granularity_is_the_floor_of_the_variance_term() -> None:
    # Identical samples drive RTTVAR towards 0; RTO then rests at SRTT + G.
    est = Rfc6298Estimator(min_rto=0.01, granularity=0.5)
    for _ in range(200):
        est.on_sample(1.0)
    assert est.rttvar is not None and 4 * est.rttvar < 0.5
    assert est.rto == pytest.approx(1.5)
    fine = Rfc6298Estimator(min_rto=0.01, granularity=0.001)
    for _ in range(200):
        fine.on_sample(1.0)
    assert fine.rto == pytest.approx(1.001, abs=1e-3)


def test_rfc_minimum_rto_is_one_second() -> None:
    # RFC 6298 (2.4): if the computed RTO is less than 1 second it is rounded up.
    est = TcpConfig().new_rto()
    est.on_sample(0.010)
    assert est.srtt == pytest.approx(0.010)
    assert est.rto == 1.0


@pytest.mark.parametrize("cfg", [TcpConfig(min_rto=0.2), TcpConfig.linux_like()],
                         ids=["min_rto=0.2", "linux_like"])
def test_linux_like_minimum_rto_is_200_ms(cfg: TcpConfig) -> None:
    est = cfg.new_rto()
    est.on_sample(0.010)
    assert est.rto == pytest.approx(0.2)
    # Above the floor the computed value shows through.
    est2 = cfg.new_rto()
    est2.on_sample(0.1)
    assert est2.rto == pytest.approx(0.3)


def test_maximum_rto_bounds_the_computed_value() -> None:
    # RFC 6298 (2.5): a maximum may be placed on RTO provided it is at least 60 seconds.
    est = TcpConfig().new_rto()
    est.on_sample(100.0)
    assert est.rto == 60.0
    small = TcpConfig(max_rto=10.0).new_rto()
    small.on_sample(5.0)
    assert small.rto == 10.0


def test_backoff_doubles_and_is_capped_at_max_rto() -> None:
    # RFC 6298 (5.5): RTO <- RTO * 2 on each expiry, bounded by the maximum.
    est = Rfc6298Estimator(min_rto=1.0, max_rto=60.0)
    seen = [est.rto]
    for _ in range(10):
        est.on_timeout()
        seen.append(est.rto)
    assert seen[:7] == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0]
    assert seen[7:] == [60.0] * 4
    # The backoff does not grow without bound while capped.
    assert est.backoffs <= 6


def test_backoff_starts_from_the_computed_rto() -> None:
    est = Rfc6298Estimator(min_rto=0.2, max_rto=60.0)
    est.on_sample(0.1)  # RTO 0.3
    est.on_timeout()
    est.on_timeout()
    assert est.rto == pytest.approx(1.2)
    # A new measurement recomputes RTO from the estimate.
    est.on_sample(0.1)
    assert est.backoffs == 0
    assert est.rto < 1.2


def test_syn_lost_without_sample_rto_returns_to_three_seconds() -> None:
    # RFC 6298 (5.7): the SYN timed out and no RTT sample exists when the data phase
    # begins: RTO is set to 3 seconds (again, with the backoff undone).
    est = Rfc6298Estimator()
    est.on_timeout()
    est.on_timeout()
    assert est.rto == 4.0
    est.on_syn_timeout_done()
    assert est.rto == 3.0
    assert est.srtt is None


def test_syn_lost_but_sample_taken_keeps_the_computed_rto() -> None:
    est = Rfc6298Estimator(min_rto=0.2)
    est.on_sample(0.1)
    est.on_syn_timeout_done()
    assert est.rto == pytest.approx(0.3)


def test_config_rejects_impossible_rto_bounds() -> None:
    with pytest.raises(UsageError, match="min_rto"):
        TcpConfig(min_rto=0)
    with pytest.raises(UsageError, match="max_rto"):
        TcpConfig(min_rto=2.0, max_rto=1.0)


def test_rto_factory_replaces_the_estimator() -> None:
    # The estimator is an assignment seam: TcpConfig.rto_factory picks another one.
    made: list[Rfc6298Estimator] = []

    def factory() -> Rfc6298Estimator:
        est = Rfc6298Estimator(min_rto=0.5)
        made.append(est)
        return est

    est = TcpConfig(rto_factory=factory).new_rto()
    assert made == [est]
