"""D-SACK (RFC 2883): the receiver reports a duplicate segment in the first SACK block, the
sender recognises such a block, and RACK's reordering window grows on it (RFC 8985 §6.2
step 4). Segment-level scripts (netsim.testing.script); the receiver examples are RFC 2883
§4.1-§4.2's, with the peer's stream bytes for its sequence numbers."""

from __future__ import annotations

import pytest

from netsim.errors import UsageError
from netsim.link.config import LinkConfig
from netsim.sim.scenario import BulkScenario, run_bulk
from netsim.stack.events import EventRecord, TraceRecord
from netsim.stack.tcp.config import TcpConfig
from netsim.stack.tcp.connection import TcpConnection
from netsim.stack.tcp.rack import RackTlp
from netsim.stack.tcp.sack import is_dsack
from netsim.testing.script import TcpScript
from netsim.wire.tcp import SackOption, TCPSegment

PEER_ISS = 5000
MSS = 500


def p(n: int) -> int:
    """The peer's sequence number of its stream byte n."""
    return PEER_ISS + 1 + n


def sack_blocks(seg: TCPSegment) -> list[tuple[int, int]]:
    for opt in seg.options:
        if isinstance(opt, SackOption):
            return list(opt.blocks)
    return []


def receiver(dsack: bool = True, ts: bool = False, paws: bool = False
             ) -> tuple[TcpScript, TcpConnection]:
    h = TcpScript(TcpConfig(delayed_ack=0, dsack=dsack, paws=paws))
    opts: dict[str, object] = {"mss": MSS, "sackOK": True}
    if ts:
        opts["ts"] = (1, 0)
    conn = h.establish_passive(80, peer_iss=PEER_ISS, options=opts)
    assert conn.sack_ok
    return h, conn


def deliver(h: TcpScript, start: int, end: int, ts: bool | int = False) -> TCPSegment:
    """The peer sends its stream bytes [start, end) (with TSval 2, or `ts`); returns the
    stack's ACK."""
    opts: dict[str, object] = {"ts": (2 if ts is True else ts, 0)} if ts else {}
    h.inject(flags="A", seq=p(start), payload=b"d" * (end - start), options=opts)
    return h.expect(flags="A")


# ====================================================================== receiver
def test_a_duplicate_below_the_cumulative_ack_is_reported_once() -> None:
    # RFC 2883 §4.1.1 (Example 1): 3000-3499 arrives again after 4000 was acknowledged
    h, conn = receiver()
    for k in range(0, 4000, 500):
        deliver(h, k, k + 500)
    ack = deliver(h, 3000, 3500)
    assert ack.ack == p(4000) and sack_blocks(ack) == [(p(3000), p(3500))]
    # §4 (2): reported in one ACK only; the next ACK has no SACK option
    ack = deliver(h, 4000, 4500)
    assert ack.ack == p(4500) and sack_blocks(ack) == []
    assert conn.stack.tcp_counts["dsack_sent"] == 1


def test_the_dsack_block_comes_before_the_out_of_order_blocks() -> None:
    # RFC 2883 §4.1.2 (Example 2): 4000-4499 lost, 4500-4999 held, 3000-3499 again
    h, _ = receiver()
    for k in range(0, 4000, 500):
        deliver(h, k, k + 500)
    assert sack_blocks(deliver(h, 4500, 5000)) == [(p(4500), p(5000))]
    ack = deliver(h, 3000, 3500)
    assert ack.ack == p(4000)
    assert sack_blocks(ack) == [(p(3000), p(3500)), (p(4500), p(5000))]


def test_a_duplicate_of_held_data_is_followed_by_the_block_it_lies_in() -> None:
    # RFC 2883 §4.1.3 (Example 3) and §4 (4): the second block is the larger held block
    h, _ = receiver()
    for k in range(0, 4000, 500):
        deliver(h, k, k + 500)
    deliver(h, 4500, 5000)
    assert sack_blocks(deliver(h, 5000, 5500)) == [(p(4500), p(5500))]
    ack = deliver(h, 5000, 5500)  # duplicated by the network
    assert ack.ack == p(4000)
    assert sack_blocks(ack) == [(p(5000), p(5500)), (p(4500), p(5500))]


def test_a_partial_duplicate_reports_only_the_duplicate_part() -> None:
    # RFC 2883 §4.2.1 (Example 4): 1000-1499 arrives, then a 1000-byte segment 1000-1999
    h, _ = receiver()
    deliver(h, 0, 500)
    deliver(h, 500, 1000)
    deliver(h, 2000, 2500)
    assert deliver(h, 1000, 1500).ack == p(1500)
    ack = deliver(h, 1000, 2000)
    assert ack.ack == p(2500) and sack_blocks(ack) == [(p(1000), p(1500))]


def test_with_timestamps_the_dsack_block_takes_one_of_three_places() -> None:
    # RFC 2018 §3: 3 blocks fit beside the timestamps option; the D-SACK block is one
    h, _ = receiver(ts=True)
    deliver(h, 0, 500, ts=True)
    for k in (1000, 2000, 3000):
        deliver(h, k, k + 500, ts=True)
    ack = deliver(h, 0, 500, ts=True)
    assert sack_blocks(ack) == [(p(0), p(500)), (p(3000), p(3500)), (p(2000), p(2500))]


def test_a_duplicate_paws_drops_is_reported_in_the_ack_it_draws() -> None:
    # RFC 2883 §4.3: PAWS answers an old segment with an ACK; a duplicate is reported there
    h, conn = receiver(ts=True, paws=True)
    deliver(h, 0, 500, ts=2000)
    ack = deliver(h, 0, 500, ts=1500)  # an old copy, by its timestamp
    assert conn.stack.tcp_counts["drop.paws"] == 1
    assert ack.ack == p(500) and sack_blocks(ack) == [(p(0), p(500))]
    # new data with an old timestamp is dropped too, but it is no duplicate
    ack = deliver(h, 500, 1000, ts=1500)
    assert ack.ack == p(500) and sack_blocks(ack) == []


def test_without_dsack_a_duplicate_gets_a_plain_ack() -> None:
    h, conn = receiver(dsack=False)
    deliver(h, 0, 500)
    ack = deliver(h, 0, 500)
    assert ack.ack == p(500) and sack_blocks(ack) == []
    assert conn.stack.tcp_counts["dsack_sent"] == 0


def test_dsack_must_be_a_bool() -> None:
    with pytest.raises(UsageError, match="dsack: 'yes' is not True or False"):
        TcpConfig(dsack="yes")  # type: ignore[arg-type]


# ====================================================================== sender
class Events:
    def __init__(self) -> None:
        self.records: list[TraceRecord] = []

    def record(self, rec: TraceRecord) -> None:
        self.records.append(rec)


def test_the_sender_recognises_dsack_blocks_by_rfc_2883_section_5() -> None:
    # below the ACK field of the same ACK
    assert is_dsack([(100, 200)], 200)
    assert is_dsack([(100, 200), (300, 400)], 250)
    # within the second block, above the ACK
    assert is_dsack([(300, 350), (300, 400)], 200)
    # an ordinary first block: above the ACK, not inside the second
    assert not is_dsack([(300, 400)], 200)
    assert not is_dsack([(500, 600), (300, 400)], 200)
    assert not is_dsack([], 200)
    # compared with the ACK carried in the same segment, across the sequence-number wrap
    assert is_dsack([(0xFFFFFF00, 0xFFFFFFF0)], 0x10)
    assert not is_dsack([(0x10, 0x20)], 0xFFFFFF00)


def sender(rack: bool = False) -> tuple[TcpScript, TcpConnection, Events]:
    events = Events()
    h = TcpScript(TcpConfig(delayed_ack=0, timestamps=False, rack=rack), trace=events)
    h.listen(80)
    h.inject(flags="S", seq=PEER_ISS, options={"mss": 1000, "sackOK": True})
    h.expect(flags="SA")
    h.advance(0.05)
    h.inject(flags="A", ack=h.rel(1))
    conn = h.accept()
    assert conn is not None
    conn.cc.cwnd = 10_000
    h.app_send(bytes(10_000))
    assert len(h.drain()) == 10
    return h, conn, events


def test_a_dsack_block_is_counted_traced_and_is_no_new_sack_information() -> None:
    h, conn, events = sender()
    h.advance(0.05)
    # segments 0-2 acknowledged, 4 SACKed; the first block reports 1000-2000 a second time
    h.inject(flags="A", ack=h.rel(1 + 3000),
             options={"sack": [(h.rel(1 + 1000), h.rel(1 + 2000)),
                               (h.rel(1 + 4000), h.rel(1 + 5000))]})
    assert conn.dsacks == 1 and conn.stack.tcp_counts["dsack_received"] == 1
    assert conn.sack_board.starts == [conn._una_off + 1000]  # only segment 4
    assert [r.detail for r in events.records
            if isinstance(r, EventRecord) and r.kind == "dsack"] == \
        [f"{h.rel(1 + 1000)}-{h.rel(1 + 2000)}"]
    # an ordinary SACK block first: no D-SACK
    h.inject(flags="A", ack=h.rel(1 + 3000), options={"sack": [(h.rel(1 + 6000),
                                                                h.rel(1 + 7000))]})
    assert conn.dsacks == 1


# ====================================================================== RACK's window
def test_the_reordering_window_grows_once_per_round_with_dsack_and_persists() -> None:
    # RFC 8985 §6.2 step 4
    rack = RackTlp()
    rack.min_rtt, rack.reordering_seen = 0.02, True
    srtt = 0.05
    assert rack.reo_wnd(False, srtt) == 0.02 / 4
    rack.dsack_on_ack = True
    rack.update_reo_wnd(una=0, snd_nxt=10_000, recovering=False)
    assert rack.reo_wnd_mult == 2 and rack.reo_wnd(False, srtt) == 2 * 0.02 / 4
    # a second D-SACK in the same round trip (SND.UNA below the round's end) changes nothing
    rack.dsack_on_ack = True
    rack.update_reo_wnd(una=5_000, snd_nxt=20_000, recovering=False)
    assert rack.reo_wnd_mult == 2
    # the next round: grows again; the window is bounded by SRTT
    for una in (10_000, 30_000, 50_000, 70_000, 90_000, 110_000, 130_000, 150_000):
        rack.dsack_on_ack = True
        rack.update_reo_wnd(una=una, snd_nxt=una + 20_000, recovering=False)
    assert rack.reo_wnd_mult == 10 and rack.reo_wnd(False, srtt) == srtt
    # 16 recoveries without D-SACK: back to min_RTT/4
    for i in range(16):
        assert rack.reo_wnd_mult == 10, i
        rack.update_reo_wnd(una=200_000, snd_nxt=200_000, recovering=True)
        rack.update_reo_wnd(una=200_000, snd_nxt=200_000, recovering=False)
    assert rack.reo_wnd_mult == 1 and rack.reo_wnd(False, srtt) == 0.02 / 4


def test_without_reordering_seen_the_window_is_zero_in_fast_or_rto_recovery() -> None:
    # RFC 8985 §6.2 step 4: "If in Fast or RTO recovery: Return 0"
    rack = RackTlp()
    rack.min_rtt = 0.02
    assert rack.reo_wnd(False, 0.05) == 0.005
    assert rack.reo_wnd(True, 0.05) == 0.0


def test_an_ack_that_acknowledges_and_sacks_at_once_is_no_reordering() -> None:
    # RFC 8985 §6.2 step 3 goes through the newly delivered segments in ascending order:
    # an ACK (the ones before it lost) that acknowledges 0-2 and SACKs 4 saw no reordering
    h, conn, _ = sender(rack=True)
    h.advance(0.05)
    h.inject(flags="A", ack=h.rel(1 + 3000), options={"sack": [(h.rel(1 + 4000),
                                                                h.rel(1 + 5000))]})
    assert conn.rack is not None and not conn.rack.reordering_seen
    # segment 3 delivered late, below segment 4: that is reordering
    h.inject(flags="A", ack=h.rel(1 + 5000))
    assert conn.rack.reordering_seen


def test_rack_with_dsack_stops_most_spurious_retransmissions_under_reordering() -> None:
    # 5% of the data segments held back by a one-way delay (10 ms): RACK's window of
    # min_RTT/4 is too short, and only D-SACK tells it so
    spurious = {}
    for dsack in (False, True):
        total = 0
        for seed in (1, 2):
            link = LinkConfig(delay=0.01, rate_bps=100e6, reorder=0.05)
            res = run_bulk(BulkScenario(bytes=2_000_000, link=link, seed=seed,
                                        reverse=LinkConfig(delay=0.01, rate_bps=100e6),
                                        tcp=TcpConfig(rack=True, dsack=dsack)))
            assert res.intact and res.link_drops.get("loss", 0) == 0
            total += res.retransmissions  # nothing was lost: every one is spurious
        spurious[dsack] = total
    assert spurious[False] >= 20
    assert spurious[True] * 4 <= spurious[False]


def test_a_scenario_with_rack_has_its_receiver_send_dsack() -> None:
    # `netsim sim --rack` (BulkScenario.rack): RACK-TLP as Linux runs it, with D-SACK
    link = LinkConfig(delay=0.01, rate_bps=100e6, reorder=0.05)
    res = run_bulk(BulkScenario(bytes=1_000_000, link=link, seed=1, rack=True,
                                reverse=LinkConfig(delay=0.01, rate_bps=100e6)))
    assert res.intact and res.retransmissions <= 10


def test_rack_off_alone_keeps_dsack_and_no_rack_turns_both_off() -> None:
    # TcpConfig's fields are Linux's independent sysctls: rack=False (tcp_recovery=0) still
    # reports a duplicate in a D-SACK block (tcp_dsack=1) ...
    h = TcpScript(TcpConfig(delayed_ack=0, rack=False))
    conn = h.establish_passive(80, peer_iss=PEER_ISS, options={"mss": MSS, "sackOK": True})
    for k in range(0, 1000, 500):
        deliver(h, k, k + 500)
    ack = deliver(h, 0, 500)
    assert sack_blocks(ack) == [(p(0), p(500))] and conn.stack.tcp_counts["dsack_sent"] == 1
    # ... while the scenario's switch (`netsim sim --no-rack`) is netsim before RACK: neither
    from netsim.sim.scenario import tcp_config_for
    cfg = tcp_config_for(BulkScenario(rack=False))
    assert cfg.rack is False and cfg.dsack is False
    assert tcp_config_for(BulkScenario(rack=True)).dsack is True
