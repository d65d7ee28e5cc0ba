"""FQ-CoDel against RFC 8290, driven by hand: classification, the new and old lists, the DRR
quantum, the overload drop from the fattest queue."""

from __future__ import annotations

from qdisc_helpers import Driver, udp_frame

from netsim.link.qdisc import FqCodel
from netsim.link.qdisc.fq_codel import flow_key


def _flow_of(pkt: object) -> int:
    data = pkt.data()  # type: ignore[attr-defined]
    return int.from_bytes(data[14 + 20:14 + 22], "big")  # UDP source port


def test_flows_are_told_apart_by_their_five_tuple_and_icmp_by_addresses() -> None:
    # RFC 8290 §4.1: protocol, addresses and ports; §4.1.1: no ports (ICMP) hashes as zero
    a, b = udp_frame(sport=1), udp_frame(sport=2)
    assert flow_key(a) != flow_key(b)
    assert flow_key(a) == flow_key(udp_frame(sport=1, size=200))
    icmp = bytearray(udp_frame(sport=1))
    icmp[14 + 9] = 1  # protocol ICMP: its first bytes are not ports
    assert flow_key(bytes(icmp)).endswith(b"\x00\x00\x00\x00")
    q = FqCodel()
    drv = Driver(q)
    p1, p2 = drv.enqueue(a), drv.enqueue(b)
    assert q.classify(p1) != q.classify(p2)


def test_a_sparse_flow_is_served_before_a_backlogged_one() -> None:
    # RFC 8290 §4.2: a queue with credits left at the head of the new list is served; one
    # that used its quantum goes to the end of the old list. A flow arriving while another
    # has a backlog joins the new list, which is served first.
    drv = Driver(FqCodel())
    for _ in range(10):
        drv.enqueue(udp_frame(sport=1))
    first = drv.dequeue()
    assert first is not None and _flow_of(first) == 1
    drv.enqueue(udp_frame(sport=2, size=100))
    order = [_flow_of(drv.dequeue()) for _ in range(3)]
    assert order == [2, 1, 1]
    q = drv.qdisc
    assert isinstance(q, FqCodel)
    assert [f.where for f in q.old_flows] == ["old"] and not q.new_flows


def test_an_emptied_new_queue_moves_to_the_old_list_before_it_is_forgotten() -> None:
    # RFC 8290 §4.2: the step that prevents starvation
    drv = Driver(FqCodel())
    q = drv.qdisc
    assert isinstance(q, FqCodel)
    drv.enqueue(udp_frame(sport=1, size=100))
    assert drv.dequeue() is not None
    assert drv.dequeue() is None  # the queue was empty: new -> old, then old -> inactive
    assert not q.new_flows and not q.old_flows
    drv.enqueue(udp_frame(sport=1, size=100))
    drv.enqueue(udp_frame(sport=3))
    drv.enqueue(udp_frame(sport=3))
    drv.dequeue()  # flow 1, emptied but still in the new list
    flow1 = q.new_flows[0]
    assert not flow1.packets
    drv.dequeue()  # finds flow 1 empty: moved to the end of the old list; serves flow 3
    assert flow1.where == "old" and flow1 in q.old_flows


def test_the_quantum_shares_bytes_not_packets() -> None:
    # RFC 8290 §3: a queue of quantum/3-byte packets sends three per turn against one
    drv = Driver(FqCodel(quantum=1500))
    for _ in range(300):
        drv.enqueue(udp_frame(sport=1, size=500))
    for _ in range(100):
        drv.enqueue(udp_frame(sport=2, size=1500))
    sent = {1: 0, 2: 0}
    turns = []
    for _ in range(120):
        pkt = drv.dequeue()
        assert pkt is not None
        sent[_flow_of(pkt)] += pkt.size
        turns.append(_flow_of(pkt))
    assert abs(sent[1] - sent[2]) <= 1500
    assert turns[:8] == [1, 1, 1, 2, 1, 1, 1, 2]


def test_over_the_limit_half_the_fattest_queue_is_dropped_from_its_head() -> None:
    # RFC 8290 §4.1 (and §5.2.3): the arriving packet of a thin flow is not the victim
    drv = Driver(FqCodel(limit=20))
    fat = [drv.enqueue(udp_frame(sport=1)) for _ in range(16)]
    thin = [drv.enqueue(udp_frame(sport=2, size=100)) for _ in range(4)]
    arriving = drv.enqueue(udp_frame(sport=2, size=100))
    victims = [p for _, p, _ in drv.dropped]
    assert victims == fat[:8]  # half of the 16, from the head
    assert {r for _, _, r in drv.dropped} == {"queue"}
    assert len(drv.qdisc) == 13 and arriving not in victims and not set(thin) & set(victims)


def test_each_queue_runs_its_own_codel() -> None:
    # RFC 8290 §2/§5.1: a flow with a standing queue is dropped from; a sparse one never
    drv = Driver(FqCodel())
    t = 0.0
    tick = 1 / 1024
    sparse_sent = 0
    while t < 2.0:
        while len(drv.qdisc) < 30:
            drv.enqueue(udp_frame(sport=1), at=t - 0.05)
        if int(t * 1024) % 50 == 0:
            drv.enqueue(udp_frame(sport=2, size=100), at=t)
        pkt = drv.dequeue(at=t)
        if pkt is not None and _flow_of(pkt) == 2:
            sparse_sent += 1
        t += tick
    assert drv.dropped
    assert all(_flow_of(p) == 1 for _, p, _ in drv.dropped)
    assert sparse_sent >= 39
