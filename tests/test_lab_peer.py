"""netsim's reference TCP peer (assignment 10's `LabPeer`): the spec's rules 1-7, each seen
from outside, through the 7-tuples it takes and returns."""

from __future__ import annotations

import pytest

from netsim.stack.tcp.lab_peer import LINGER_RTOS, MAX_RETX, LabPeer, Seg


def syn(seq: int, ack: int | None = None, window: int = 64000) -> Seg:
    return (seq, ack, window, True, False, False, b"")


def ack(seq: int, ackno: int, window: int = 64000, payload: bytes = b"", fin: bool = False,
        rst: bool = False) -> Seg:
    return (seq, ackno, window, False, fin, rst, payload)


def established(isn: int = 100, other: int = 5000, **kw: int) -> LabPeer:
    """An active peer after the handshake with a peer whose ISN is `other`."""
    p = LabPeer(isn=isn, initial_rto=1.0, **kw)
    p.connect()
    cap = kw.get("capacity", 64000)
    assert p.receive(syn(other, isn + 1)) == [ack(isn + 1, other + 1, cap)]
    return p


def test_active_open_sends_a_syn_and_acknowledges_the_syn_ack() -> None:
    p = LabPeer(isn=100, max_payload=500, capacity=3000)
    assert p.connect() == [(100, None, 3000, True, False, False, b"")]
    assert p.receive(syn(5000, 101)) == [(101, 5001, 3000, False, False, False, b"")]
    assert p.active()


def test_passive_open_answers_a_syn_with_a_syn_ack() -> None:
    p = LabPeer(isn=7)
    assert p.receive(syn(100)) == [(7, 101, 64000, True, False, False, b"")]
    # the handshake's last ACK takes no sequence space, so it is not answered
    assert p.receive(ack(101, 8)) == []


def test_a_peer_that_has_not_opened_ignores_anything_but_a_syn() -> None:
    p = LabPeer(isn=7)
    assert p.receive(ack(100, 8, payload=b"x")) == []
    assert p.write(b"abc") == []  # nothing goes out before the connection opens


def test_data_is_delivered_in_order_and_acknowledged_with_the_window_left() -> None:
    p = established(capacity=1000)
    assert p.receive(ack(5003, 101, payload=b"cd")) == [ack(101, 5001, 1000)]  # a gap: dup ACK
    assert p.receive(ack(5001, 101, payload=b"ab")) == [ack(101, 5005, 996)]
    assert p.read() == b"abcd" and p.read() == b""
    assert p.write(b"hello") == [ack(101, 5005, 1000, payload=b"hello")]


def test_a_bare_ack_in_the_window_is_not_answered_one_outside_is() -> None:
    p = established()
    assert p.receive(ack(5001, 101)) == []
    assert p.receive(ack(4000, 101)) == [ack(101, 5001)]  # old: §3.10.7.4 not acceptable
    assert p.receive(ack(5001 + 64000, 101)) == [ack(101, 5001)]  # just past the window


def test_a_zero_window_accepts_only_rcv_nxt() -> None:
    p = established(capacity=4)
    assert p.receive(ack(5001, 101, payload=b"wxyz")) == [ack(101, 5005, 0)]
    assert p.receive(ack(5005, 101)) == []
    assert p.receive(ack(5006, 101)) == [ack(101, 5005, 0)]
    assert p.read() == b"wxyz"


def test_a_rst_in_syn_sent_counts_only_if_it_acknowledges_our_syn() -> None:
    p = LabPeer(isn=100)
    p.connect()
    assert p.receive((0, None, 0, False, False, True, b"")) == [] and p.active()
    assert p.receive((0, 100, 0, False, False, True, b"")) == [] and p.active()
    assert p.receive((0, 101, 0, False, False, True, b"")) == [] and not p.active()
    assert p.receive(syn(5000, 101)) == []  # closed: nothing more


def test_a_rst_counts_only_inside_the_receive_window() -> None:
    p = established()
    assert p.receive(ack(4000, 101, rst=True)) == [] and p.active()  # out of window: ignored
    assert p.receive(ack(5001 + 64000, 101, rst=True)) == [] and p.active()
    assert p.receive(ack(5500, 101, rst=True)) == [] and not p.active()
    assert p.tick(10.0) == [] and p.write(b"x") == []


def test_it_gives_up_with_a_rst_after_max_retx_timeouts() -> None:
    p = LabPeer(isn=100, initial_rto=1.0)
    p.connect()
    retransmitted: list[Seg] = []
    rto = 1.0
    for _ in range(MAX_RETX):
        retransmitted += p.tick(rto)
        rto *= 2
    assert retransmitted == [syn(100, window=64000)] * MAX_RETX and p.active()
    assert p.tick(rto) == [(101, None, 64000, False, False, True, b"")]
    assert not p.active() and p.tick(1000.0) == []


def test_a_passive_close_ends_when_our_fin_is_acknowledged() -> None:
    p = established()
    assert p.receive(ack(5001, 101, payload=b"bye", fin=True)) == [ack(101, 5005, 63997)]
    assert p.read() == b"bye" and p.at_eof()
    assert p.close() == [ack(101, 5005, fin=True)]
    assert p.active()
    assert p.receive(ack(5005, 102)) == [] and not p.active()


def test_an_active_close_lingers_and_acknowledges_a_retransmitted_fin() -> None:
    p = established()
    assert p.close() == [ack(101, 5001, fin=True)]
    assert p.receive(ack(5001, 102)) == []  # our FIN acknowledged
    assert p.receive(ack(5001, 102, fin=True)) == [ack(102, 5002)]
    assert p.active() and p.at_eof()
    assert p.tick(LINGER_RTOS * 1.0 - 1) == [] and p.active()
    assert p.receive(ack(5001, 102, fin=True)) == [ack(102, 5002)]  # a retransmitted FIN
    assert p.tick(LINGER_RTOS * 1.0 - 0.5) == [] and p.active()  # the wait started again
    assert p.tick(0.5) == [] and not p.active()


def _run(a: LabPeer, b: LabPeer, first: list[Seg], steps: int = 2000) -> tuple[bytes, bytes]:
    """Two peers joined by a perfect link, 0.01 s a step; what each read."""
    to_b, to_a = list(first), list[Seg]()
    got_a, got_b = bytearray(), bytearray()
    for _ in range(steps):
        while to_a or to_b:
            for s in to_b[:]:
                to_a += b.receive(s)
            to_b.clear()
            for s in to_a[:]:
                to_b += a.receive(s)
            to_a.clear()
        got_a += a.read()
        got_b += b.read()
        to_b += a.tick(0.01)
        to_a += b.tick(0.01)
        if not a.active() and not b.active():
            break
    return bytes(got_a), bytes(got_b)


def test_two_peers_move_bytes_both_ways_and_both_end_inactive() -> None:
    a, b = LabPeer(isn=1, initial_rto=0.1, max_payload=100), LabPeer(isn=(1 << 32) - 50,
                                                                    initial_rto=0.1)
    up, down = bytes(range(256)) * 40, b"reply" * 999
    first = a.connect()
    first += a.write(up) + a.close()
    b.write(down)  # before the SYN arrives: buffered until the connection opens
    b.close()
    got_a, got_b = _run(a, b, first)
    assert got_b == up and got_a == down
    assert a.at_eof() and b.at_eof() and not a.active() and not b.active()


@pytest.mark.parametrize("bad", [-1, 0, True, 1.5])
def test_a_bad_capacity_is_refused_naming_it(bad: object) -> None:
    with pytest.raises(ValueError, match="capacity"):
        LabPeer(capacity=bad)  # type: ignore[arg-type]
