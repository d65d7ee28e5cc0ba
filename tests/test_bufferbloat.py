"""The bufferbloat lesson's claims (issue #18): a ping alongside a bulk CUBIC flow at a
10 Mbit/s bottleneck with a 20 ms base RTT, under drop-tail, CoDel and FQ-CoDel."""

from __future__ import annotations

import pytest

from netsim.link.qdisc import parse_qdisc
from netsim.sim.link import LinkConfig
from netsim.sim.loaded_ping import LoadedPing, ping_under_load


def _run(qdisc: str | None) -> LoadedPing:
    cfg = LinkConfig(delay=0.01, rate_bps=10e6, queue_packets=1000,
                     qdisc=parse_qdisc(qdisc) if qdisc else None)
    return ping_under_load(cfg, duration=15.0, warmup=5.0)


@pytest.fixture(scope="module")
def droptail() -> LoadedPing:
    return _run(None)


def test_a_deep_drop_tail_buffer_makes_queueing_dominate_the_rtt(droptail: LoadedPing) -> None:
    assert 0.019 < droptail.base_rtt < 0.022
    assert droptail.percentile(50) >= 10 * droptail.base_rtt
    assert droptail.queue_peak == 1000  # the buffer filled


def test_codel_keeps_the_rtt_near_the_base_and_the_link_busy() -> None:
    codel = _run("codel")
    assert codel.percentile(95) <= codel.base_rtt + 0.020
    assert codel.utilisation >= 0.90
    assert codel.drops["aqm"] > 0 and codel.drops["queue"] == 0  # CoDel's drops, no overflow
    assert len(codel.rtts) >= 0.97 * codel.sent


def test_fq_codel_isolates_the_ping_from_the_bulk_flow() -> None:
    fq = _run("fq_codel")
    # the ping's own queue is always (nearly) empty: at most one bulk frame ahead of it
    one_frame = 1514 * 8 / 10e6
    assert fq.percentile(95) <= fq.base_rtt + one_frame + 0.0005
    assert len(fq.rtts) == fq.sent  # never dropped
    assert fq.utilisation >= 0.90


@pytest.mark.parametrize("qdisc", ["codel ecn", "fq_codel ecn"])
def test_with_ecn_a_marking_aqm_slows_the_flow_without_a_single_retransmission(
        qdisc: str) -> None:
    cfg = LinkConfig(delay=0.01, rate_bps=10e6, qdisc=parse_qdisc(qdisc))
    on = ping_under_load(cfg, duration=15.0, warmup=5.0, ecn=True)
    off = ping_under_load(cfg, duration=15.0, warmup=5.0)
    # without ECN the same queue drops the flow's packets and TCP resends each of them
    assert off.ce_marks == 0 and off.drops["aqm"] > 20 and off.retransmissions > 20
    # with it: marks instead, each answered by a window reduction, and nothing resent
    assert on.retransmissions == 0 and on.drops["queue"] == 0
    assert on.ce_marks > 20 and 0 < on.ecn_reductions <= on.ce_marks
    # the only packets such a queue still drops are the pings (ICMP is not ECN-capable)
    assert on.drops["aqm"] == on.sent - len(on.rtts) <= 2
    # the queueing delay and the goodput are (nearly) those of the dropping run
    assert on.utilisation >= 0.90
    assert on.percentile(50) <= off.percentile(50) + 0.002
