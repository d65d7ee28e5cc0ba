"""RED (Floyd and Jacobson 1993) driven by hand: the moving average, the drop probability
with its count correction, forced drops above max, and ECN marking instead of early drops."""

from __future__ import annotations

import random

import pytest
from qdisc_helpers import Driver, udp_frame

from netsim.link.qdisc import Red
from netsim.link.qdisc.ecn import CE, ECT0, ecn_of


class Fixed(random.Random):
    """A random stream that always draws the same number."""

    def __init__(self, value: float) -> None:
        super().__init__(0)
        self.value = value

    def random(self) -> float:
        return self.value


def test_the_average_is_an_ewma_of_the_queue_seen_by_arrivals() -> None:
    red = Red(min=50, max=100, weight=0.25, limit=1000)
    drv = Driver(red)
    expected = 0.0
    for n in range(6):
        drv.enqueue(udp_frame(), at=0.0)
        # on arrival: avg = (1 - wq) avg + wq q, q the packets already queued (idle: q = 0)
        q = n
        expected = 0.75 * expected + 0.25 * q if n else 0.0
        assert red.avg == pytest.approx(expected)
    assert red.avg == pytest.approx(sum(0.25 * k * 0.75 ** (5 - k) for k in range(1, 6)))


def test_an_idle_queue_decays_the_average_as_if_small_packets_had_passed() -> None:
    red = Red(weight=0.1, avpkt=1250)  # 1 ms per packet at 10 Mbit/s
    drv = Driver(red)
    red.avg = 8.0
    drv.enqueue(udp_frame(), at=0.0)
    drv.dequeue(at=0.001)  # empty from t = 1 ms
    drv.enqueue(udp_frame(), at=0.011)  # idle 10 ms: m = 10 packet times
    assert red.avg == pytest.approx(8.0 * 0.9 ** 10)


def test_the_base_probability_rises_linearly_from_min_to_max() -> None:
    red = Red(min=5, max=15, probability=0.1)
    assert red.probability(4.9) == 0.0
    assert red.probability(5.0) == 0.0
    assert red.probability(10.0) == pytest.approx(0.05)
    assert red.probability(14.0) == pytest.approx(0.09)
    assert red.probability(15.0) == 1.0  # forced
    gentle = Red(min=5, max=15, probability=0.1, gentle=True)
    assert gentle.probability(22.5) == pytest.approx(0.1 + 0.9 * 0.5)
    assert gentle.probability(30.0) == 1.0


def test_the_count_correction_spaces_drops_evenly() -> None:
    # pa = pb / (1 - count pb): with pb = 0.1 and a draw of 0.5, a packet is dropped when
    # count = 9 (0.1 / (1 - 0.9) = 1 > 0.5; at count 8, 0.1 / (1 - 0.8) = 0.5 is not). count
    # starts at -1 (the paper's initial value) and is 0 after a drop, so arrival k since a
    # drop has count k: drops at arrivals 9, 18, 27
    red = Red(min=0, max=100, probability=0.2, weight=1e-9, limit=10_000)
    drv = Driver(red)
    red.bind(rng=Fixed(0.5), rate_bps=10e6, mtu=1500, on_drop=drv._drop)
    red.avg = 50.0  # pb = 0.2 * 50 / 100 = 0.1, held by the tiny weight
    arrivals = [drv.enqueue(udp_frame(), at=0.0) for _ in range(28)]
    dropped = [arrivals.index(p) for _, p, _ in drv.dropped]
    assert dropped == [9, 18, 27]


def test_the_drop_fraction_matches_the_uniform_spacing() -> None:
    # with the correction, the gap between drops is uniform on 1..1/pb: mean (1/pb + 1) / 2
    red = Red(min=0, max=100, probability=0.1, weight=1e-12, limit=10**6)
    drv = Driver(red)
    red.avg = 50.0  # pb = 0.05
    n = 20_000
    for _ in range(n):
        drv.enqueue(udp_frame(size=64), at=0.0)
    assert len(drv.dropped) / n == pytest.approx(1 / ((1 / 0.05 + 1) / 2), rel=0.1)


def test_above_max_every_arrival_is_dropped_and_the_limit_holds() -> None:
    red = Red(min=1, max=2, weight=1.0, limit=1000)
    drv = Driver(red)
    for _ in range(10):
        drv.enqueue(udp_frame(), at=0.0)
    assert len(red) == 2  # q = 2 after two arrivals: avg = 2 >= max from then on
    tight = Red(min=100, max=200, limit=3)
    drv2 = Driver(tight)
    for _ in range(5):
        drv2.enqueue(udp_frame(), at=0.0)
    assert [r for _, _, r in drv2.dropped] == ["queue", "queue"]


def test_with_ecn_an_early_drop_of_an_ect_packet_becomes_a_mark() -> None:
    red = Red(min=0, max=100, probability=0.2, weight=1e-9, limit=10_000, ecn=True)
    drv = Driver(red)
    red.bind(rng=Fixed(0.5), rate_bps=10e6, mtu=1500, on_drop=drv._drop)
    red.avg = 50.0
    arrivals = [drv.enqueue(udp_frame(ecn=ECT0), at=0.0) for _ in range(28)]
    assert drv.dropped == []
    assert [i for i, p in enumerate(arrivals) if p.marked] == [9, 18, 27]
    assert all(ecn_of(arrivals[i].data()) == CE for i in (9, 18, 27))
    assert len(red) == 28
