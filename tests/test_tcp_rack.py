"""RACK-TLP (RFC 8985) and PAWS (RFC 7323 §5), as segment-level scripts
(netsim.testing.script).

The stack under test is the sender; the scripted peer acknowledges with SACK blocks. The
peer's MSS is 1000 and timestamps are off unless a test asks, so every data segment carries
1000 bytes. Each RACK test starts with ten segments in flight, sent at t=0, and a round trip
of 50 ms (the peer answers 50 ms after the stack sent)."""

from __future__ import annotations

import pytest

from netsim.errors import UsageError
from netsim.link.config import LinkConfig
from netsim.link.loss import Bernoulli
from netsim.sim.scenario import BulkScenario, run_bulk
from netsim.stack.tcp.config import TcpConfig
from netsim.stack.tcp.connection import TcpConnection
from netsim.stack.tcp.rack_recovery import MAX_ACK_DELAY
from netsim.testing.script import TcpScript

MSS = 1000
RTT = 0.05


def flight_of_ten(rack: bool = True, segments: int = 60) -> tuple[TcpScript, TcpConnection]:
    h = TcpScript(TcpConfig(rack=rack, delayed_ack=0, timestamps=False))
    h.listen(80)
    h.inject(flags="S", seq=5000, options={"mss": MSS, "sackOK": True})
    h.expect(flags="SA")
    h.advance(RTT)  # the handshake's RTT sample: SRTT = 50 ms
    h.inject(flags="A", ack=h.rel(1))
    conn = h.accept()
    assert conn is not None and conn.sack_ok and conn.rto_est.srtt == RTT
    conn.cc.cwnd = 10 * MSS  # as if slow start had got this far
    h.app_send(data(segments))
    sent = h.drain()
    assert [s.seq for s in sent] == [seg(h, k) for k in range(10)]
    return h, conn


def data(segments: int) -> bytes:
    return bytes(i % 251 for i in range(segments * MSS))


def seg(h: TcpScript, k: int) -> int:
    """The sequence number of data segment k (0-based)."""
    return h.rel(1 + k * MSS)


def sack(h: TcpScript, una_k: int, *blocks: tuple[int, int]) -> None:
    """The peer acknowledges up to segment una_k and SACKs segments [a, b) of each block."""
    opts = {"sack": [(seg(h, a), seg(h, b)) for a, b in blocks]} if blocks else {}
    h.inject(flags="A", ack=seg(h, una_k), options=opts)


def sent_segments(h: TcpScript) -> list[int]:
    return [(s.seq - h.rel(1)) // MSS for s in h.drain() if s.payload]


# ====================================================================== RACK
def test_one_sack_after_a_quarter_rtt_marks_the_hole_lost() -> None:
    # RFC 8985 §6.2: segment 0 was sent before segment 1, which is delivered; with no
    # reordering seen and fewer than DupThresh segments SACKed the reordering window is
    # min_RTT/4 (step 4), and the reordering timer fires when it has passed (step 5)
    h, conn = flight_of_ten()
    h.advance(RTT)
    sack(h, 0, (1, 2))
    # one duplicate ACK: limited transmit (RFC 3042) sends new data, nothing is lost yet
    assert sent_segments(h) == [10]
    h.advance(RTT / 4 - 0.001)
    h.expect_nothing()
    h.advance(0.002)
    assert sent_segments(h)[0] == 0  # the reordering timer found segment 0 lost
    assert conn.in_recovery and conn.timeouts == 0
    assert conn.cc.ssthresh == 5 * MSS  # §9.3: the controller's fast recovery response


def test_three_sacked_segments_mark_the_hole_lost_at_once() -> None:
    # RFC 8985 §6.2 step 4: with DupThresh segments SACKed (and no reordering seen) the
    # reordering window is zero, as DupAck counting would decide
    h, conn = flight_of_ten()
    h.advance(RTT)
    sack(h, 0, (1, 2))
    sack(h, 0, (1, 3))
    assert sent_segments(h) == [10, 11]  # limited transmit (RFC 3042)
    sack(h, 0, (1, 4))
    assert sent_segments(h)[0] == 0
    assert conn.fast_retransmits == 1


def test_a_lost_retransmission_is_found_without_a_timeout() -> None:
    # RFC 8985 §3.1 / §6.2: RACK compares transmit times, so when a segment sent after the
    # retransmission of segment 0 is delivered and segment 0 is not, the retransmission is
    # lost too. DupAck counting (RFC 6675) cannot see this and waits for the RTO.
    h, conn = flight_of_ten()
    h.advance(RTT)
    sack(h, 0, (1, 4))
    assert sent_segments(h) == [0]  # the retransmission
    sack(h, 0, (1, 10))
    assert sent_segments(h) == [10, 11, 12, 13]  # sent after it (ties: by sequence)
    h.advance(RTT)
    sack(h, 0, (1, 12))  # segments 10 and 11 arrive; the retransmission of 0 does not
    assert sent_segments(h)[0] == 0
    assert conn.rack is not None and conn.rack.lost_retransmissions == 1
    assert conn.timeouts == 0


def test_without_rack_a_lost_retransmission_waits_for_the_rto() -> None:
    h, conn = flight_of_ten(rack=False)
    h.advance(RTT)
    sack(h, 0, (1, 4))
    assert sent_segments(h)[0] == 0
    sack(h, 0, (1, 10))
    sent = sent_segments(h)
    assert 0 not in sent
    h.advance(RTT)
    sack(h, 0, (1, 10 + len(sent)))
    assert 0 not in sent_segments(h)
    h.advance(1.0)  # RFC 6298 (2.4): the minimum RTO
    assert conn.timeouts == 1


def test_reordering_seen_keeps_a_reordering_window_in_recovery() -> None:
    # RFC 8985 §6.2 step 3: a segment never retransmitted delivered below the forward-most
    # delivered one was reordered; from then on the window stays min_RTT/4 (step 4)
    h, conn = flight_of_ten()
    h.advance(RTT)
    sack(h, 0, (2, 3))
    sack(h, 0, (1, 3))  # segment 1 arrives after segment 2: reordering
    assert conn.rack is not None and conn.rack.reordering_seen
    sack(h, 0, (1, 5))  # four SACKed: DupAck counting would retransmit now
    assert 0 not in sent_segments(h)
    h.advance(RTT / 4 + 0.001)
    assert sent_segments(h)[0] == 0


# ====================================================================== TLP
def test_a_lost_tail_draws_a_probe_after_two_srtt_not_an_rto() -> None:
    # RFC 8985 §7.2-§7.3: the last five segments of a ten-segment transfer are lost; 2*SRTT
    # after the ACK of the first five, the last segment is sent again as a probe (no new data
    # is left), and its SACK lets RACK find the other four (§7.4.1)
    h, conn = flight_of_ten(segments=10)
    h.advance(RTT)
    sack(h, 5)
    h.expect_nothing()
    srtt = conn.rto_est.srtt
    assert srtt is not None
    h.advance(2 * srtt - 0.002)
    h.expect_nothing()
    h.advance(0.004)
    assert sent_segments(h) == [9]  # the probe: the highest segment sent
    assert conn.rack is not None and conn.rack.tlp_is_retrans
    h.advance(RTT)
    sack(h, 5, (9, 10))
    assert sent_segments(h)[:2] == [5, 6]  # fast recovery, RACK's losses first
    assert conn.timeouts == 0 and conn.in_recovery


def test_a_probe_sends_new_data_when_there_is_some() -> None:
    # RFC 8985 §7.3: a previously unsent segment, if the receive window allows
    h, conn = flight_of_ten()
    conn.cc.cwnd = conn.cc.ssthresh = 4 * MSS  # the ACK below releases nothing new
    h.advance(RTT)
    sack(h, 5)
    h.expect_nothing()
    h.advance(2 * RTT + 0.005)
    assert sent_segments(h) == [10]
    assert conn.rack is not None and not conn.rack.tlp_is_retrans


def test_one_probe_per_episode_then_the_rto() -> None:
    # RFC 8985 §7.3: no probe while one is unacknowledged; the RTO is re-armed after it
    h, conn = flight_of_ten(segments=10)
    h.advance(RTT)
    sack(h, 5)
    h.advance(2 * RTT + 0.005)
    assert sent_segments(h) == [9]
    h.advance(0.9)
    h.expect_nothing()  # no second probe
    h.advance(0.2)
    assert conn.timeouts == 1 and sent_segments(h)[0] == 5


def test_a_dsack_for_the_probe_means_no_loss() -> None:
    # RFC 8985 §7.4.2 case 1: the original and the probe both arrived; the window is kept
    h, conn = flight_of_ten(segments=10)
    h.advance(RTT)
    sack(h, 10)  # everything acknowledged: no probe
    h.advance(1.0)
    assert sent_segments(h) == [] and conn.timeouts == 0

    h, conn = flight_of_ten(segments=10)
    h.advance(RTT)
    sack(h, 9)
    # §7.2: one segment in flight: the PTO allows for a delayed ACK (TLP.max_ack_delay)
    h.advance(2 * RTT + MAX_ACK_DELAY - 0.005)
    h.expect_nothing()
    h.advance(0.01)
    assert sent_segments(h) == [9]
    cwnd = conn.cc.cwnd
    h.advance(RTT)
    sack(h, 10)  # the original's ACK
    sack(h, 10, (9, 10))  # the probe's: a D-SACK below the cumulative ACK (RFC 2883)
    assert conn.rack is not None and conn.rack.tlp_end is None
    assert conn.cc.cwnd >= cwnd and conn.stack.tcp_counts["tlp_recoveries"] == 0


def test_a_duplicate_ack_for_the_probe_means_no_loss() -> None:
    # RFC 8985 §7.4.2 case 2: a receiver without D-SACK answers the duplicate with a
    # duplicate ACK without SACK blocks; then a later ACK brings no window reduction
    h, conn = flight_of_ten(segments=10)
    h.advance(RTT)
    sack(h, 9)
    h.advance(2 * RTT + MAX_ACK_DELAY + 0.005)
    assert sent_segments(h) == [9]
    h.advance(RTT)
    sack(h, 10)  # the original's ACK
    sack(h, 10)  # the probe's: a duplicate
    assert conn.rack is not None and conn.rack.tlp_end is None
    h.app_send(data(1))
    h.drain()
    h.advance(RTT)
    sack(h, 11)
    assert conn.stack.tcp_counts["tlp_recoveries"] == 0


def test_a_probe_that_repaired_a_loss_brings_the_fast_recovery_response() -> None:
    # RFC 8985 §7.4.2: no D-SACK for the probe, and an ACK beyond it: the original or the
    # probe was lost, and the window is reduced as fast recovery would have (§9.3)
    h, conn = flight_of_ten(segments=10)
    h.advance(RTT)
    sack(h, 9)  # segment 9 is lost
    h.advance(2 * RTT + MAX_ACK_DELAY + 0.005)
    assert sent_segments(h) == [9]
    h.advance(RTT)
    sack(h, 10)  # the probe repaired it: a plain cumulative ACK
    assert conn.rack is not None and conn.rack.tlp_end is not None  # not known yet
    h.app_send(data(1))
    assert sent_segments(h) == [10]
    h.advance(RTT)
    sack(h, 11)  # beyond the probe, no D-SACK came
    assert conn.rack.tlp_end is None
    assert conn.stack.tcp_counts["tlp_recoveries"] == 1
    assert conn.cc.ssthresh == 2 * MSS  # half the one segment in flight, at least 2 SMSS
    assert conn.timeouts == 0


def test_without_sack_rack_stays_out() -> None:
    # RFC 8985 relies on SACK: without it DupAck counting goes on
    h = TcpScript(TcpConfig(rack=True, delayed_ack=0, timestamps=False))
    conn = h.establish_passive(80, options={"mss": MSS})
    h.app_send(data(4))
    h.drain()
    assert conn.rack is None


def test_rack_must_be_a_bool() -> None:
    with pytest.raises(UsageError, match="rack: 'yes' is not True or False"):
        TcpConfig(rack="yes")  # type: ignore[arg-type]


# ====================================================================== PAWS
def ts_receiver(paws: bool) -> tuple[TcpScript, TcpConnection]:
    h = TcpScript(TcpConfig(paws=paws, delayed_ack=0))
    conn = h.establish_passive(80, options={"mss": MSS, "ts": (1000, 0)})
    assert conn.ts_ok
    return h, conn


def test_paws_drops_a_segment_with_an_old_timestamp_and_acks() -> None:
    # RFC 7323 §5.3 R1: SEG.TSval < TS.Recent: send an ACK, drop the segment
    h, conn = ts_receiver(paws=True)
    h.inject(flags="A", payload=b"a" * 100, options={"ts": (2000, 0)})
    ack = h.expect(flags="A")
    assert conn.ts_recent == 2000
    seq = h.peer_nxt
    h.inject(flags="A", seq=seq, payload=b"b" * 100, options={"ts": (1500, 0)})
    h.expect(flags="A", ack=ack.ack)  # the ACK does not move
    assert conn.stack.tcp_counts["drop.paws"] == 1
    assert h.app_recv() == b"a" * 100  # the old segment's bytes were not taken
    # the same bytes with a current timestamp are taken
    h.inject(flags="A", seq=seq, payload=b"b" * 100, options={"ts": (2001, 0)})
    h.expect(flags="A", ack=(ack.ack + 100) & 0xFFFFFFFF)


def test_paws_compares_in_the_timestamp_clocks_modular_order() -> None:
    # RFC 7323 §5.3: "<" is modulo 2**32, so a clock that wrapped is newer, not older
    h, conn = ts_receiver(paws=True)
    conn.ts_recent = 0xFFFFFF00
    h.inject(flags="A", payload=b"a" * 10, options={"ts": (0x10, 0)})
    h.expect(flags="A")
    assert h.app_recv() == b"a" * 10
    assert conn.ts_recent == 0x10


def test_without_paws_an_old_timestamp_is_accepted() -> None:
    h, conn = ts_receiver(paws=False)
    h.inject(flags="A", payload=b"a" * 100, options={"ts": (2000, 0)})
    h.expect(flags="A")
    h.inject(flags="A", payload=b"b" * 100, options={"ts": (1500, 0)})
    h.expect(flags="A")
    assert h.app_recv() == b"a" * 100 + b"b" * 100


def test_paws_never_drops_a_rst() -> None:
    # RFC 7323 §5.3 R1 applies to segments without RST (a RST is checked by sequence alone)
    h, conn = ts_receiver(paws=True)
    h.inject(flags="A", payload=b"a" * 10, options={"ts": (2000, 0)})
    h.expect(flags="A")
    h.inject(flags="R", options={"ts": (1, 0)})
    assert conn.closed



# ====================================================================== a whole transfer
def test_rack_tlp_avoids_most_timeouts_of_a_lossy_bulk_transfer() -> None:
    # Issue #18's measure at a tenth of the size: 10 MB over 100 Mbit/s, 10 ms, 1% random
    # loss, three seeds that time out with DupAck counting. RACK-TLP must have at most a
    # third of the timeouts, deliver the data intact, and not be slower.
    totals = {}
    for rack in (False, True):
        timeouts, seconds = 0, 0.0
        for seed in (1, 3, 5):
            link = LinkConfig(delay=0.01, rate_bps=100e6, loss=Bernoulli(0.01))
            res = run_bulk(BulkScenario(bytes=10_000_000, link=link, seed=seed, rack=rack))
            assert res.intact
            timeouts += res.timeouts
            seconds += res.sim_seconds
        totals[rack] = (timeouts, seconds)
    assert totals[False][0] >= 3  # the scenario does time out without RACK-TLP
    assert totals[True][0] * 3 <= totals[False][0]
    assert totals[True][1] <= totals[False][1]
