"""CoDel against RFC 8289, driven by hand: a clock, packets with chosen sojourn times, and the
drops the discipline makes.

Each test scripts one rule of RFC 8289 §5: entering drop state only after the sojourn time has
stayed above TARGET for INTERVAL (§5.6 dodequeue), drops spaced INTERVAL / sqrt(count) (§5.6
control law), leaving drop state as soon as a packet's sojourn time is below TARGET, and the
count reuse rule on re-entering (§5.5)."""

from __future__ import annotations

import math

from qdisc_helpers import Driver, udp_frame

from netsim.link.qdisc import Codel
from netsim.link.qdisc.ecn import CE, ECT0, NOT_ECT, ecn_of
from netsim.wire.ipv4 import parse_ipv4

TARGET, INTERVAL = 0.005, 0.1
TICK = 1 / 1024  # dequeue opportunities; a binary fraction so that times add up exactly


def _saturated(drv: Driver, start: float, stop: float,
               sojourn: float = 0.05) -> list[float]:
    """Dequeue every TICK from ``start`` to ``stop``, keeping the queue full of packets that
    have waited ``sojourn``; return the times of the drops."""
    before = len(drv.dropped)
    t = start
    while t < stop:
        while len(drv.qdisc) < 20:
            drv.enqueue(udp_frame(), at=t - sojourn)
        drv.dequeue(at=t)
        t += TICK
    return [when for when, _, _ in drv.dropped[before:]]


def _expected(entry: float, count: int, drops: int, start_next: float) -> list[float]:
    """The drop times RFC 8289 §5.5 and §5.6 give at TICK-spaced dequeues: the first at
    ``entry``; then drop_next = previous drop_next + INTERVAL / sqrt(count), the drop being
    at the first dequeue at or after it."""
    times = [entry]
    drop_next = start_next
    for _ in range(drops - 1):
        times.append(math.ceil(drop_next / TICK) * TICK)
        count += 1
        drop_next = drop_next + INTERVAL / math.sqrt(count)
    return times


def test_no_drop_until_the_sojourn_time_stayed_above_target_for_an_interval() -> None:
    drv = Driver(Codel())
    drops = _saturated(drv, 0.0, 0.3)
    # above TARGET from the first dequeue (t = 0): first_above_time = 0 + INTERVAL
    assert drops[0] == math.ceil(INTERVAL / TICK) * TICK
    assert drv.qdisc.state.dropping


def test_drops_are_spaced_interval_over_sqrt_count() -> None:
    drv = Driver(Codel())
    drops = _saturated(drv, 0.0, 1.5)
    entry = drops[0]
    # on entry count = 1 and drop_next = entry + INTERVAL / sqrt(1)
    assert drops == _expected(entry, 1, len(drops), entry + INTERVAL)
    gaps = [b - a for a, b in zip(drops, drops[1:], strict=False)]
    assert gaps[0] > gaps[5] > gaps[-1]  # the drop rate rises while the queue stays bad
    assert abs(gaps[8] - INTERVAL / math.sqrt(9)) <= TICK  # ninth gap: count 9 -> 10


def test_a_packet_below_target_ends_drop_state() -> None:
    drv = Driver(Codel())
    _saturated(drv, 0.0, 0.5)
    assert drv.qdisc.state.dropping
    n = len(drv.dropped)
    # drain the old packets, then only fresh ones (sojourn 1 ms < TARGET)
    t = 0.5
    while len(drv.qdisc):
        drv.dequeue(at=t)
        t += TICK
    n = len(drv.dropped)
    for _ in range(500):
        drv.enqueue(udp_frame(), at=t - 0.001)
        assert drv.dequeue(at=t) is not None
        t += TICK
    assert not drv.qdisc.state.dropping
    assert len(drv.dropped) == n


def test_a_small_backlog_is_never_dropped_whatever_its_sojourn() -> None:
    # RFC 8289 §5.6: the second term, bytes <= maxpacket, keeps one MTU's worth queued
    drv = Driver(Codel())
    t = 0.0
    for _ in range(2000):
        drv.enqueue(udp_frame(), at=t - 0.5)  # waited half a second
        assert drv.dequeue(at=t) is not None
        t += TICK
    assert drv.dropped == []


def _episode(drv: Driver, start: float, length: float) -> list[float]:
    drops = _saturated(drv, start, start + length)
    # then a good spell: fresh packets only, until drop state is left
    t = start + length
    while len(drv.qdisc):
        drv.dequeue(at=t)
        t += TICK
    drv.enqueue(udp_frame(), at=t)
    drv.dequeue(at=t)
    assert not drv.qdisc.state.dropping
    return drops


def test_count_is_reused_when_drop_state_comes_back_soon() -> None:
    drv = Driver(Codel())
    _episode(drv, 0.0, 0.6)
    state = drv.qdisc.state
    count, lastcount = state.count, state.lastcount
    assert count == len(drv.dropped) and lastcount == 1  # every drop of the one drop state
    # bad again right away: within 16 intervals of drop_next, so count = count - lastcount
    second = _saturated(drv, 0.7, 1.0)
    delta = count - lastcount
    assert delta > 1
    assert state.lastcount == delta
    assert abs((second[1] - second[0]) - INTERVAL / math.sqrt(delta)) <= TICK


def test_count_starts_again_at_one_after_a_long_good_spell() -> None:
    drv = Driver(Codel())
    _episode(drv, 0.0, 0.6)
    # 16 intervals and more later: the old drop rate is forgotten (count = 1)
    later = 0.6 + 17 * INTERVAL
    second = _saturated(drv, later, later + 0.4)
    assert drv.qdisc.state.lastcount == 1
    assert abs((second[1] - second[0]) - INTERVAL) <= TICK


def test_arrivals_beyond_the_limit_are_tail_dropped_and_not_counted() -> None:
    drv = Driver(Codel(limit=3))
    for _ in range(5):
        drv.enqueue(udp_frame(), at=0.0)
    assert [reason for _, _, reason in drv.dropped] == ["queue", "queue"]
    assert drv.qdisc.state.count == 0  # RFC 8289 §5.4: not CoDel drops


def test_with_ecn_an_ect_packet_is_marked_and_sent_and_a_not_ect_one_dropped() -> None:
    drv = Driver(Codel(ecn=True))
    t = 0.0
    sent = []
    while t < 1.0:
        while len(drv.qdisc) < 20:
            ecn = ECT0 if drv.index % 2 else NOT_ECT
            drv.enqueue(udp_frame(ecn=ecn), at=t - 0.05)
        pkt = drv.dequeue(at=t)
        if pkt is not None:
            sent.append(pkt)
        t += TICK
    marked = [p for p in sent if p.marked]
    assert marked, "in drop state, ECT packets are marked"
    for p in marked:
        assert ecn_of(p.data()) == CE
        parse_ipv4(p.data()[14:])  # the header checksum was updated (verified here)
    assert all(ecn_of(p.data()) == NOT_ECT for _, p, _ in drv.dropped)
    assert drv.qdisc.marks == len(marked)


def test_without_ecn_an_ect_packet_is_dropped() -> None:
    drv = Driver(Codel())
    t = 0.0
    while t < 0.5:
        while len(drv.qdisc) < 20:
            drv.enqueue(udp_frame(ecn=ECT0), at=t - 0.05)
        pkt = drv.dequeue(at=t)
        assert pkt is None or not pkt.marked
        t += TICK
    assert drv.dropped and drv.qdisc.marks == 0
