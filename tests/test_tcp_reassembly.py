"""The receive side: the reassembler (netsim/stack/tcp/reassembly.py) on its own and under
Hypothesis, and, in a connection, the segment acceptability test of RFC 9293 §3.10.7.4 with
the trimming of data already received."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netsim.stack.tcp.config import TcpConfig
from netsim.stack.tcp.connection import TcpConnection
from netsim.stack.tcp.reassembly import SegmentReassembler
from netsim.testing.script import TcpScript

BIG = 1 << 40  # a window end that never limits


# ---------------------------------------------------------------------- the reassembler
def test_in_order_data_comes_straight_out() -> None:
    r = SegmentReassembler()
    assert r.insert(0, b"abc", False, BIG) == b"abc"
    assert r.insert(3, b"def", False, BIG) == b"def"
    assert r.next_index == 6 and r.pending_bytes == 0 and r.blocks() == []


def test_out_of_order_data_waits_for_the_gap() -> None:
    r = SegmentReassembler()
    assert r.insert(5, b"fgh", False, BIG) == b""
    assert r.insert(10, b"kl", False, BIG) == b""
    assert r.pending_bytes == 5
    assert r.blocks() == [(5, 8), (10, 12)]
    assert r.next_index == 0
    assert r.insert(0, b"abcde", False, BIG) == b"abcdefgh"
    assert r.next_index == 8 and r.blocks() == [(10, 12)]
    assert r.insert(8, b"ij", False, BIG) == b"ijkl"
    assert r.pending_bytes == 0 and r.next_index == 12


def test_duplicates_and_old_data_are_not_delivered_again() -> None:
    r = SegmentReassembler()
    assert r.insert(0, b"hello", False, BIG) == b"hello"
    assert r.insert(0, b"hello", False, BIG) == b""
    assert r.insert(2, b"llo", False, BIG) == b""
    # Overlapping the start: only the new tail comes out.
    assert r.insert(3, b"lo world", False, BIG) == b" world"
    assert r.next_index == 11


def test_overlapping_held_ranges_merge_and_come_out_once() -> None:
    r = SegmentReassembler()
    r.insert(4, b"efgh", False, BIG)
    r.insert(6, b"ghij", False, BIG)
    r.insert(2, b"cdef", False, BIG)
    assert r.blocks() == [(2, 10)]
    assert r.pending_bytes == 8
    assert r.insert(0, b"abcdefghijk", False, BIG) == b"abcdefghijk"
    assert r.pending_bytes == 0 and r.blocks() == []


def test_data_beyond_the_window_is_cut() -> None:
    r = SegmentReassembler()
    assert r.insert(0, b"abcdefgh", False, 5) == b"abcde"
    assert r.next_index == 5
    # Held data is bounded by the window end too.
    assert r.insert(7, b"hijklmn", False, 10) == b""
    assert r.blocks() == [(7, 10)]
    assert r.pending_bytes == 3
    # Entirely beyond: nothing kept.
    assert r.insert(12, b"xyz", False, 10) == b""
    assert r.pending_bytes == 3


def test_last_byte_marks_the_stream_finished() -> None:
    r = SegmentReassembler()
    r.insert(3, b"def", True, BIG)
    assert not r.finished
    r.insert(0, b"abc", False, BIG)
    assert r.finished
    # A FIN beyond the window does not count.
    r2 = SegmentReassembler()
    r2.insert(0, b"abcdef", True, 4)
    assert not r2.finished


@st.composite
def _deliveries(draw: st.DrawFn) -> tuple[bytes, list[tuple[int, int]], int, int]:
    data = draw(st.binary(min_size=1, max_size=600))
    n = len(data)
    # Random segments covering everything, plus random extra (overlapping) ranges.
    cuts = sorted(set(draw(st.lists(st.integers(0, n), max_size=30))) | {0, n})
    segs = [(a, b) for a, b in zip(cuts, cuts[1:], strict=False) if a < b]
    extra = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(1, 80)), max_size=20))
    segs += [(a, min(n, a + length)) for a, length in extra]
    window = draw(st.integers(1, n + 50))
    seed = draw(st.integers(0, 2**32 - 1))
    return data, segs, window, seed


@settings(max_examples=300, deadline=None)
@given(_deliveries())
def test_any_segmentation_reassembles_exactly_once_in_order(
        case: tuple[bytes, list[tuple[int, int]], int, int]) -> None:
    """Random segmentation, overlap, duplication and reordering, with a receive window of
    random size: what comes out is the byte string, each byte once and in order; nothing
    is ever held beyond the window."""
    data, segs, window, seed = case
    rng = random.Random(seed)
    r = SegmentReassembler()
    out = bytearray()
    rounds = 0
    while r.next_index < len(data):
        rounds += 1
        assert rounds <= 4 * len(data) + 10, "no progress"
        # Each round the sender (re)transmits every segment, shuffled, some twice.
        batch = segs + rng.sample(segs, k=rng.randint(0, len(segs)))
        rng.shuffle(batch)
        for a, b in batch:
            window_end = r.next_index + window
            got = r.insert(a, data[a:b], b == len(data), window_end)
            out += got
            assert r.next_index == len(out)
            assert r.pending_bytes <= window
            for start, end in r.blocks():
                assert r.next_index < start < end <= window_end
    assert bytes(out) == data
    assert r.finished
    assert r.pending_bytes == 0


# ---------------------------------------------------------------------- in a connection
PEER_ISS = 5000


def receiver(rcvbuf: int = 1 << 20) -> tuple[TcpScript, TcpConnection]:
    """Our stack accepted a connection; the peer (no options but MSS 1000) sends to it."""
    h = TcpScript(TcpConfig(rcvbuf=rcvbuf, delayed_ack=0))
    conn = h.establish_passive(80, peer_iss=PEER_ISS, options={"mss": 1000})
    return h, conn


def p(n: int) -> int:
    """The peer's sequence number of stream byte n (0 = first data byte)."""
    return PEER_ISS + 1 + n


def drops(h: TcpScript) -> int:
    return h.stack.counters["tcp"]["drop.out_of_window"]


def test_zero_length_segment_acceptable_only_inside_a_nonzero_window() -> None:
    # RFC 9293 §3.10.7.4, case SEG.LEN = 0, RCV.WND > 0:
    #   RCV.NXT =< SEG.SEQ < RCV.NXT+RCV.WND
    h, conn = receiver()
    wnd = 65535
    h.inject(flags="A", seq=p(0), ack=h.rel(1))
    h.inject(flags="A", seq=p(wnd - 1), ack=h.rel(1))
    h.expect_nothing()
    assert drops(h) == 0
    for bad in (p(-1), p(wnd), p(-1000)):
        h.inject(flags="A", seq=bad, ack=h.rel(1))
        # not acceptable: an ACK <SEQ=SND.NXT><ACK=RCV.NXT> is the answer
        h.expect(flags="A", seq=h.rel(1), ack=p(0), payload=b"")
        h.advance(0.5)  # (one answer per 0.5 s: RFC 5961 §7, tests/test_tcp_syncookies.py)
    assert drops(h) == 3


def test_zero_window_accepts_only_a_zero_length_segment_at_rcv_nxt() -> None:
    # Cases SEG.LEN = 0 and SEG.LEN > 0 with RCV.WND = 0.
    h, conn = receiver(rcvbuf=2000)
    h.inject(flags="A", seq=p(0), payload=b"z" * 1000)
    h.inject(flags="PA", seq=p(1000), payload=b"z" * 1000)
    acks = h.drain()
    assert acks[-1].ack == p(2000) and acks[-1].window == 0
    before = drops(h)
    h.inject(flags="A", seq=p(2000), ack=h.rel(1))  # SEG.SEQ = RCV.NXT: acceptable
    h.expect_nothing()
    h.inject(flags="A", seq=p(2001), ack=h.rel(1))  # anything else is not
    h.expect(flags="A", ack=p(2000), window=0)
    h.inject(flags="PA", seq=p(2000), payload=b"w")  # data into a zero window: not
    h.expect(flags="A", ack=p(2000), window=0)
    assert drops(h) == before + 2
    assert conn.bytes_received == 2000
    assert h.app_recv() == b"z" * 2000


def test_data_segment_acceptable_when_its_first_or_last_byte_is_in_the_window() -> None:
    # Case SEG.LEN > 0, RCV.WND > 0: RCV.NXT =< SEG.SEQ < RCV.NXT+RCV.WND or
    # RCV.NXT =< SEG.SEQ+SEG.LEN-1 < RCV.NXT+RCV.WND.
    h, conn = receiver()
    h.inject(flags="PA", seq=p(0), payload=b"0123456789")
    h.expect(flags="A", ack=p(10))
    # Entirely old (a duplicate): unacceptable, answered with an ACK, not delivered again.
    h.inject(flags="PA", seq=p(0), payload=b"0123456789")
    h.expect(flags="A", ack=p(10))
    assert drops(h) == 1
    # Starts before RCV.NXT, ends inside: acceptable, and only the new part is kept.
    h.inject(flags="PA", seq=p(5), payload=b"56789abcde")
    h.expect(flags="A", ack=p(15))
    assert drops(h) == 1
    # Starts beyond the window: unacceptable.
    h.inject(flags="PA", seq=p(15 + 70000), payload=b"far")
    h.expect(flags="A", ack=p(15))
    assert drops(h) == 2
    assert h.app_recv() == b"0123456789abcde"
    assert conn.bytes_received == 15


def test_out_of_order_data_held_within_the_window_only() -> None:
    h, conn = receiver(rcvbuf=4000)
    # Window 4000: bytes [1000, 2000) are held, [3500, 4500) is cut at 4000.
    h.inject(flags="A", seq=p(1000), payload=b"B" * 1000)
    h.inject(flags="A", seq=p(3500), payload=b"D" * 1000)
    h.drain()
    assert conn.reasm.pending_bytes == 1000 + 500
    h.inject(flags="A", seq=p(0), payload=b"A" * 1000)
    h.inject(flags="A", seq=p(2000), payload=b"C" * 1500)
    last = h.drain()[-1]
    assert last.ack == p(4000)
    assert h.app_recv() == b"A" * 1000 + b"B" * 1000 + b"C" * 1500 + b"D" * 500
    # The part that did not fit is taken when it is sent again.
    h.inject(flags="PA", seq=p(3500), payload=b"D" * 1000)
    assert h.drain()[-1].ack == p(4500)
    assert h.app_recv() == b"D" * 500


@pytest.mark.parametrize("seed", range(5))
def test_shuffled_overlapping_segments_delivered_once_through_a_connection(seed: int) -> None:
    rng = random.Random(seed)
    data = rng.randbytes(20000)
    h, conn = receiver()
    pieces = []
    off = 0
    while off < len(data):
        n = rng.randint(1, 1000)
        pieces.append((off, data[off:off + n]))
        # an overlapping copy that starts a little earlier
        start = max(0, off - rng.randint(0, 300))
        pieces.append((start, data[start:off + n]))
        off += n
    rng.shuffle(pieces)
    got = bytearray()
    for start, chunk in pieces:
        h.inject(flags="A", seq=p(start), payload=chunk)
        got += h.app_recv()
    assert bytes(got) == data
    assert conn.bytes_received == len(data)
    assert conn.reasm.pending_bytes == 0


def test_sack_blocks_never_push_a_data_segment_past_the_mss() -> None:
    # RFC 9293 §3.7.1: data and options together fit the MSS. While out-of-order data is
    # held, our full-sized data segments still fit a 1500-byte MTU (timestamps on).
    h = TcpScript()
    conn = h.establish_passive(80, peer_iss=PEER_ISS, options={
        "mss": 1460, "sackOK": True, "ts": (100, 0), "wscale": 7})
    assert conn.sack_ok and conn.ts_ok
    h.inject(flags="A", seq=p(3000), payload=b"h" * 500, options={"ts": (101, 0)})
    ack = h.expect(flags="A", ack=p(0))
    assert ack.option(5) is not None  # a pure ACK carries the SACK block
    h.app_send(b"d" * 20000)
    segs = h.drain()
    assert sum(len(s.payload) for s in segs) > 0
    for s in segs:
        options_len = (s.data_offset - 5) * 4
        assert 20 + 20 + options_len + len(s.payload) <= 1500
    assert h.stack.counters["ipv4"]["drop.too_big_df"] == 0
