"""Loss recovery without SACK, as segment-level scripts (netsim.testing.script): fast
retransmit (RFC 5681 §3.2), limited transmit (RFC 3042), Reno fast recovery, NewReno partial
ACKs and the recover point (RFC 6582), and the window after a timeout (RFC 5681 §3.1).

The stack under test is the sender; the scripted peer acknowledges. The peer's MSS is 1000,
so with no timestamps every data segment carries 1000 bytes; the script starts each test
with a congestion window of 10 segments and 10 segments in flight."""

from __future__ import annotations

from netsim.stack.tcp.config import TcpConfig
from netsim.stack.tcp.connection import TcpConnection
from netsim.testing.script import TcpScript

MSS = 1000
DATA = bytes(i % 251 for i in range(60 * MSS))


def flight_of_ten(cc: str = "newreno") -> tuple[TcpScript, TcpConnection]:
    h = TcpScript(TcpConfig(cc=cc, sack=False, delayed_ack=0))
    conn = h.establish_passive(80, options={"mss": MSS})
    assert not conn.sack_ok and not conn.ts_ok
    conn.cc.cwnd = 10 * MSS  # as if slow start had got this far
    h.app_send(DATA)
    sent = h.drain()
    assert [s.seq for s in sent] == [seg(h, k) for k in range(10)]
    return h, conn


def seg(h: TcpScript, k: int) -> int:
    """The sequence number of data segment k (0-based)."""
    return h.rel(1 + k * MSS)


def payload(k: int) -> bytes:
    return DATA[k * MSS:(k + 1) * MSS]


def dupack(h: TcpScript, k: int) -> None:
    """The peer acknowledges up to segment k again (it is still missing segment k)."""
    h.inject(flags="A", ack=seg(h, k))


def new_segments(h: TcpScript) -> list[int]:
    """Segment numbers the stack sent since the last look."""
    return [(s.seq - h.rel(1)) // MSS for s in h.drain()]


def test_fast_retransmit_after_exactly_three_dup_acks() -> None:
    h, conn = flight_of_ten()
    # RFC 3042: the first two duplicate ACKs each release one new segment...
    dupack(h, 0)
    h.expect(flags="A", seq=seg(h, 10), payload=payload(10))
    h.expect_nothing()
    dupack(h, 0)
    h.expect(flags="A", seq=seg(h, 11), payload=payload(11))
    h.expect_nothing()
    assert conn.fast_retransmits == 0 and conn.retransmissions == 0
    # ...and the third retransmits the missing segment at once (RFC 5681 §3.2 step 2)
    dupack(h, 0)
    h.expect(flags="A", seq=seg(h, 0), payload=payload(0))
    h.expect_nothing()
    assert conn.fast_retransmits == 1 and conn.retransmissions == 1
    assert conn.timeouts == 0


def test_ssthresh_is_half_the_flight_without_limited_transmit_data() -> None:
    # RFC 5681 §3.2 step 2: ssthresh = max(FlightSize / 2, 2*SMSS), and data sent by limited
    # transmit is not part of that FlightSize; step 3: cwnd = ssthresh + 3*SMSS
    h, conn = flight_of_ten()
    for _ in range(3):
        dupack(h, 0)
    assert conn.cc.ssthresh == 5 * MSS
    assert conn.cc.cwnd == 8 * MSS


def test_reno_fast_recovery_sends_new_data_as_dup_acks_inflate_the_window() -> None:
    # RFC 5681 §3.2 steps 4-5: each further dup ACK adds one SMSS, and a segment goes out
    # whenever cwnd allows. 12 segments are out; cwnd is 8 after the third dup ACK.
    h, conn = flight_of_ten("reno")
    for _ in range(3):
        dupack(h, 0)
    assert new_segments(h) == [10, 11, 0]
    for count in range(4, 12):  # the peer holds segments 1..11: 11 dup ACKs in all
        dupack(h, 0)
        assert conn.cc.cwnd == (8 + count - 3) * MSS
        sent = new_segments(h)
        if count < 8:
            assert sent == [], f"dup ACK {count}: cwnd {conn.cc.cwnd} < flight + SMSS"
        else:
            assert sent == [12 + count - 8], f"dup ACK {count}"
    assert conn.in_recovery and conn.retransmissions == 1


def lose_0_and_4(cc: str) -> tuple[TcpScript, TcpConnection]:
    """Segments 0 and 4 of the first flight are lost; the peer has 1-3 and 5-11 (with
    those of limited transmit) and says so with dup ACKs; recovery has started."""
    h, conn = flight_of_ten(cc)
    for _ in range(10):
        dupack(h, 0)
    assert new_segments(h)[:3] == [10, 11, 0]
    assert conn.in_recovery
    return h, conn


def test_newreno_partial_ack_retransmits_the_next_hole_and_stays_in_recovery() -> None:
    h, conn = lose_0_and_4("newreno")
    cwnd = conn.cc.cwnd
    # The retransmitted segment 0 fills the first hole: the peer now acks up to segment 4.
    h.inject(flags="A", ack=seg(h, 4))
    # RFC 6582 §3.2 step 4: retransmit the first unacknowledged segment at once...
    h.expect(flags="A", seq=seg(h, 4), payload=payload(4))
    # ...deflate cwnd by the amount acked and add back one SMSS...
    assert conn.cc.cwnd == cwnd - 4 * MSS + MSS
    # ...and stay in fast recovery, with no new loss event
    assert conn.in_recovery
    assert conn.fast_retransmits == 1 and conn.timeouts == 0
    new_segments(h)
    # further dup ACKs keep inflating the window (RFC 6582 §3.2 step 4, continued)
    before = conn.cc.cwnd
    dupack(h, 4)
    dupack(h, 4)
    assert conn.cc.cwnd == before + 2 * MSS
    # The full ACK (everything up to `recover`) ends recovery: RFC 6582 §3.2 step 3,
    # cwnd = min(ssthresh, FlightSize + SMSS)
    h.inject(flags="A", ack=seg(h, 12))
    assert not conn.in_recovery
    flight = conn.snd_max - seg(h, 12)
    assert conn.cc.cwnd == min(conn.cc.ssthresh, flight + MSS)
    assert conn.cc.ssthresh == 5 * MSS
    assert conn.fast_retransmits == 1 and conn.retransmissions == 2 and conn.timeouts == 0


def test_reno_leaves_recovery_on_the_first_new_ack() -> None:
    h, conn = lose_0_and_4("reno")
    h.inject(flags="A", ack=seg(h, 4))
    # RFC 5681 §3.2 step 6: the first ACK of new data deflates cwnd to ssthresh and ends
    # fast recovery; segment 4 is not retransmitted now
    assert not conn.in_recovery
    assert conn.cc.cwnd == conn.cc.ssthresh == 5 * MSS
    assert all(s.seq != seg(h, 4) for s in h.drain())
    assert conn.retransmissions == 1


def test_no_second_fast_retransmit_below_the_recover_point_after_a_timeout() -> None:
    # RFC 6582 §3.2 step 2 and §4: after a timeout recover = the highest sequence sent;
    # dup ACKs that do not cover it (e.g. caused by go-back-N resends) start no fast
    # retransmit and no second window reduction
    h, conn = flight_of_ten()
    h.advance(conn.rto_est.rto)
    h.expect(flags="A", seq=seg(h, 0), payload=payload(0))
    assert conn.timeouts == 1
    ssthresh = conn.cc.ssthresh
    h.inject(flags="A", ack=seg(h, 2))  # the peer lacks segment 2 as well
    new_segments(h)
    for _ in range(4):
        dupack(h, 2)
    assert conn.fast_retransmits == 0 and not conn.in_recovery
    assert conn.cc.ssthresh == ssthresh
    assert all(s.seq != seg(h, 2) for s in h.drain())


def test_fast_retransmit_again_for_a_loss_just_after_the_recover_point() -> None:
    # RFC 6582 §3.2 step 2: dup ACKs whose cumulative ACK covers `recover` (the highest
    # sequence number sent when recovery began) start a new fast retransmit: here the
    # first segment sent during the last recovery is lost.
    h, conn = flight_of_ten()
    for _ in range(11):
        dupack(h, 0)
    assert new_segments(h) == [10, 11, 0, 12, 13, 14, 15]
    h.inject(flags="A", ack=seg(h, 12))  # full ACK: recovery over
    assert not conn.in_recovery
    new_segments(h)
    for _ in range(3):
        dupack(h, 12)
    assert conn.fast_retransmits == 2
    assert seg(h, 12) in [s.seq for s in h.drain()]


def test_timeout_sets_cwnd_to_one_segment_and_halves_ssthresh() -> None:
    # RFC 5681 §3.1: ssthresh = max(FlightSize/2, 2*SMSS) (eq. 4), cwnd = LW = 1 SMSS
    h, conn = flight_of_ten()
    h.advance(conn.rto_est.rto - 0.001)
    h.expect_nothing()
    h.advance(0.001)
    h.expect(flags="A", seq=seg(h, 0), payload=payload(0))
    h.expect_nothing()  # one segment only
    assert conn.cc.cwnd == MSS
    assert conn.cc.ssthresh == 5 * MSS
    # slow start from one segment: the ACK of segment 0 releases two (go back N)
    h.inject(flags="A", ack=seg(h, 1))
    assert new_segments(h) == [1, 2]
    assert conn.cc.cwnd == 2 * MSS


def test_rto_ends_fast_recovery() -> None:
    h, conn = lose_0_and_4("newreno")
    new_segments(h)
    h.advance(conn.rto_est.rto)
    assert conn.timeouts == 1
    assert not conn.in_recovery
    assert conn.cc.cwnd == MSS
    assert new_segments(h) == [0]


def test_restart_window_after_idle() -> None:
    # RFC 5681 §4.1: after more than an RTO without sending, cwnd = min(IW, cwnd)
    h = TcpScript(TcpConfig(sack=False, delayed_ack=0))
    conn = h.establish_passive(80, options={"mss": MSS})
    conn.cc.cwnd = 20 * MSS
    h.app_send(DATA[:5 * MSS])
    h.drain()
    h.inject(flags="A", ack=seg(h, 5))
    h.advance(conn.rto_est.rto + 1.0)
    h.app_send(DATA[:20 * MSS])
    assert len(h.drain()) == 4  # IW for a 1000-byte MSS (RFC 5681 §3.1)
    assert conn.cc.cwnd == 4 * MSS
