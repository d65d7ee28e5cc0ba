"""Grader for assignment 03-reassembler: the receive side's reassembler.

The student's class has the `netsim.stack.tcp.reassembly.Reassembler` interface and takes no
constructor arguments. Expected results come from the reference `SegmentReassembler` fed the
same inserts.
"""

from __future__ import annotations

import random

from netsim.grading.differential import check_fn as differential_check
from netsim.grading.framework import Assignment, Check, CheckFailed, Context
from netsim.stack.tcp.reassembly import SegmentReassembler

BIG = 1 << 30  # a window end far away


def _short(data: bytes | bytearray) -> str:
    return repr(data) if len(data) <= 40 else f"<{len(data)} bytes>"


class _Pair:
    """The student's reassembler and the reference, driven together; every step is logged."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.r = ctx.target()()
        self.ref = SegmentReassembler()
        ctx.step(f"r = {ctx.target_name}()")

    def insert(self, index: int, data: bytes, is_last: bool = False, window_end: int = BIG,
               rule: str = "") -> bytes:
        got = self.r.insert(index, data, is_last, window_end)
        want = self.ref.insert(index, data, is_last, window_end)
        win = "" if window_end == BIG else f", window_end={window_end}"
        self.ctx.step(f"r.insert({index}, {_short(data)}, is_last={is_last}{win}) -> "
                      f"{_short(got) if isinstance(got, bytes | bytearray) else repr(got)}")
        if not isinstance(got, bytes | bytearray) or bytes(got) != want:
            hint = None
            if isinstance(got, bytes | bytearray) and len(got) > len(want) and \
                    bytes(got).endswith(want):
                hint = ("bytes already returned were returned again: trim the part of a "
                        "segment before next_index")
            elif isinstance(got, bytes | bytearray) and len(got) > len(want) and \
                    window_end != BIG:
                hint = "bytes at or beyond window_end must be dropped (window_end is exclusive)"
            elif isinstance(got, bytes | bytearray) and len(got) < len(want) and \
                    bytes(want).startswith(bytes(got)):
                hint = "some bytes that became contiguous were not returned"
            raise CheckFailed(rule or "insert() returns exactly the bytes that became "
                              "contiguous, each byte once",
                              input=f"insert({index}, {_short(data)}, is_last={is_last}"
                              f"{win})", expected=_short(want), got=repr(got)[:200], hint=hint)
        self.same("next_index", rule)
        return want

    def same(self, attr: str, rule: str = "") -> None:
        got = getattr(self.r, attr)
        want = getattr(self.ref, attr)
        if got != want:
            self.ctx.step(f"r.{attr} -> {got!r}")
            hint = None
            if attr == "pending_bytes" and isinstance(got, int) and got > want:
                hint = ("overlapping or duplicate held bytes are counted more than once, or "
                        "bytes beyond the window were kept") if want else (
                        "bytes already returned are still counted: pending_bytes counts only "
                        "the bytes held, not yet returned")
            raise CheckFailed(rule or f"{attr} after the inserts below",
                              expected=f"{attr} = {want!r}", got=f"{attr} = {got!r}", hint=hint)

    def blocks(self, rule: str) -> None:
        got = self.r.blocks()
        want = self.ref.blocks()
        self.ctx.step(f"r.blocks() -> {got!r}")
        norm: list[tuple[int, int]] = []
        try:
            for s, e in sorted((int(s), int(e)) for s, e in got):
                if norm and s <= norm[-1][1]:
                    norm[-1] = (norm[-1][0], max(norm[-1][1], e))
                else:
                    norm.append((s, e))
        except (TypeError, ValueError):
            norm = []
        if norm != want or list(got) != sorted(got):
            hint = "blocks() lists the held ranges [start, end), sorted"
            if 0 < len(norm) < len(want) and norm == want[:len(norm)]:
                hint = (f"only the first {len(norm)} held ranges were listed: list them "
                        "all (how many fit in a segment's SACK option is the connection's "
                        "business)")
            if len(norm) < len(want) and sum(e - s for s, e in norm) > \
                    sum(e - s for s, e in want):
                hint = ("ranges were merged across a gap: only touching or overlapping "
                        "ranges become one; a range must not cover bytes not held")
            raise CheckFailed(rule, expected=repr(want), got=repr(got), hint=hint)


# --------------------------------------------------------------------------------- checks
def check_in_order(ctx: Context) -> None:
    p = _Pair(ctx)
    rule = "data at next_index is returned at once and next_index advances"
    p.insert(0, b"abc", rule=rule)
    p.insert(3, b"de", rule=rule)
    p.insert(5, b"", rule=rule)
    p.insert(5, b"fghij", rule=rule)
    p.same("pending_bytes", "nothing is held when data arrives in order")


def check_out_of_order(ctx: Context) -> None:
    p = _Pair(ctx)
    rule = "data after a gap is held; when the gap fills, everything contiguous is returned"
    p.insert(3, b"de", rule=rule)
    p.same("pending_bytes", "bytes after a gap are held (pending_bytes counts them)")
    p.insert(0, b"abc", rule=rule)
    p.same("pending_bytes")
    p.insert(8, b"ij", rule=rule)
    p.insert(10, b"kl", rule=rule)
    p.insert(5, b"fgh", rule=rule)
    p.same("pending_bytes")


def check_many_holes(ctx: Context) -> None:
    p = _Pair(ctx)
    chunks = [(i * 10, bytes([65 + i]) * 10) for i in range(8)]
    for index, data in reversed(chunks[1:]):
        p.insert(index, data)
    p.same("pending_bytes")
    p.blocks("blocks() is the sorted list of held ranges [start, end), adjacent ranges merged")
    p.insert(*chunks[0])
    p.same("pending_bytes")
    q = _Pair(ctx)
    for index in (16, 4, 12, 20, 8, 24):  # six held ranges with a hole before each
        q.insert(index, bytes([65 + index]) * 2)
    q.blocks("blocks() lists EVERY held range, however many: the connection picks the SACK "
             "blocks it sends (RFC 2018: the first one holds the latest segment)")


def check_overlap_assembled(ctx: Context) -> None:
    p = _Pair(ctx)
    rule = ("bytes before next_index were already returned: a segment overlapping them "
            "returns only the new bytes (each byte exactly once)")
    p.insert(0, b"abcd", rule=rule)
    p.insert(2, b"cdef", rule=rule)
    p.insert(0, b"abcdef", rule=rule)
    p.insert(1, b"bcdefgh", rule=rule)
    p.insert(3, b"d", rule=rule)


def check_overlap_held(ctx: Context) -> None:
    p = _Pair(ctx)
    rule = "overlapping out-of-order segments are held once and returned once"
    p.insert(5, b"fgh", rule=rule)
    p.insert(6, b"ghij", rule=rule)
    p.same("pending_bytes", "held bytes are counted once even when segments overlap")
    p.insert(12, b"mn", rule=rule)
    p.insert(11, b"lmnop", rule=rule)
    p.insert(13, b"n", rule=rule)
    p.same("pending_bytes", "held bytes are counted once even when segments overlap")
    p.blocks("blocks() after overlapping inserts")
    p.insert(0, b"abcdefg", rule=rule)
    p.insert(10, b"k", rule=rule)
    p.same("pending_bytes")


def check_window(ctx: Context) -> None:
    p = _Pair(ctx)
    rule = ("only bytes in [next_index, window_end) are kept: window_end is the first byte "
            "OUTSIDE the receive window (RFC 9293 §3.10.7.4)")
    p.insert(0, b"abcdef", window_end=4, rule=rule)
    p.insert(4, b"x", window_end=4, rule=rule)
    p.same("pending_bytes", rule)
    p.insert(6, b"ghij", window_end=8, rule=rule)
    p.same("pending_bytes", rule)
    p.insert(4, b"ef", window_end=8, rule=rule)
    p.insert(9, b"jk", window_end=9, rule=rule)
    p.same("pending_bytes", rule)
    p.insert(8, b"ijkl", window_end=12, rule=rule)


def check_finished(ctx: Context) -> None:
    p = _Pair(ctx)
    rule = "finished is True once the last byte (is_last) has been assembled, not before"
    p.insert(3, b"de", is_last=True, rule=rule)
    p.same("finished", rule)
    p.insert(0, b"abc", rule=rule)
    p.same("finished", rule)
    q = _Pair(ctx)
    q.insert(0, b"abc", rule=rule)
    q.insert(3, b"", is_last=True, rule=rule)
    q.same("finished", "an empty segment with is_last (a bare FIN) at next_index finishes")
    w = _Pair(ctx)
    w.insert(0, b"ab", rule=rule)
    w.insert(2, b"cdef", is_last=True, window_end=4, rule=rule)
    w.same("finished", "a last byte beyond the window was not received: not finished")
    w.insert(4, b"ef", window_end=8, rule=rule)
    w.same("finished", "a segment with is_last that did not fit the window was not received: "
           "the same bytes sent again without is_last do not finish the stream")


def check_random(ctx: Context) -> None:
    rng = random.Random(793)
    for trial in range(20):
        stream = rng.randbytes(rng.randrange(2000, 20000))
        pieces = []
        pos = 0
        while pos < len(stream):
            n = rng.randrange(1, 1500)
            start = max(0, pos - rng.choice([0, 0, rng.randrange(0, 200)]))
            pieces.append((start, stream[start:pos + n]))
            pos += n
        pieces += rng.sample(pieces, len(pieces) // 4)  # duplicates
        rng.shuffle(pieces)
        r = ctx.target()()
        out = bytearray()
        for index, data in pieces:
            got = r.insert(index, data, index + len(data) >= len(stream), BIG)
            out += got
        ctx.step(f"trial {trial}: {len(stream)} bytes in {len(pieces)} shuffled, overlapping "
                 f"and duplicated segments -> {len(out)} bytes out, next_index "
                 f"{r.next_index}, finished {r.finished}")
        if bytes(out) != stream or r.next_index != len(stream) or not r.finished:
            first = next((i for i, (a, b) in enumerate(zip(out, stream, strict=False))
                          if a != b), min(len(out), len(stream)))
            raise CheckFailed("a random stream, cut into shuffled, overlapping and duplicated "
                              "segments, comes out exactly once and in order",
                              expected=f"{len(stream)} bytes, next_index {len(stream)}, "
                              "finished True",
                              got=f"{len(out)} bytes (first difference at byte {first}), "
                              f"next_index {r.next_index}, finished {r.finished}")


def check_stack(ctx: Context) -> None:
    """The real TCP receiver with the student's reassembler (a segment script)."""
    from netsim.stack.tcp.config import TcpConfig
    from netsim.testing.script import TcpScript

    cls = ctx.target()
    h = TcpScript(TcpConfig(timestamps=False, sack=False, window_scaling=False,
                            reassembler_factory=cls))
    h.establish_passive(80, options={"mss": 1000})
    a, b, c = b"A" * 1000, b"B" * 1000, b"C" * 1000
    h.inject(flags="PA", seq=h.prel(1001), payload=b)  # segment 2 first
    h.expect(flags="A", ack=h.prel(1))  # a duplicate ACK at once (RFC 5681 §4.2)
    h.inject(flags="PA", seq=h.prel(2001), payload=c)
    h.expect(flags="A", ack=h.prel(1))
    h.inject(flags="PA", seq=h.prel(1), payload=a)  # fills the hole
    h.expect(flags="A", ack=h.prel(3001))
    data = h.app_recv()
    if data != a + b + c:
        h.fail(f"the application read {len(data)} bytes, expected the 3000 bytes A..B..C "
               "in order")
    h.inject(flags="PA", seq=h.prel(1001), payload=b)  # an old duplicate
    h.expect(flags="A", ack=h.prel(3001))
    if h.app_recv():
        h.fail("an old duplicate segment was delivered to the application again")
    h.inject(flags="FA", seq=h.prel(3001))
    h.expect(flags="A", ack=h.prel(3002))


def check_simulation(ctx: Context) -> None:
    from netsim.sim.link import LinkConfig
    from netsim.sim.loss import Bernoulli
    from netsim.sim.scenario import BulkScenario, run_bulk
    from netsim.stack.tcp.config import TcpConfig

    cls = ctx.target()
    link = LinkConfig(delay=0.005, jitter=0.0, rate_bps=20e6, loss=Bernoulli(0.01),
                      reorder=0.05, duplicate=0.02)
    ctx.step("run_bulk(400 kB, 5 ms delay, 20 Mbit/s, 1% loss, 5% reordered, 2% duplicated, "
             "seed 5) with your reassembler on both hosts")
    res = run_bulk(BulkScenario(bytes=400_000, link=link, seed=5, time_limit=60.0,
                                tcp=TcpConfig(reassembler_factory=cls)))
    ctx.step(f"-> intact={res.intact}, delivered {res.bytes_delivered} bytes, "
             f"{res.retransmissions} retransmissions" + (f", error: {res.error}"
                                                         if res.error else ""))
    if not res.intact:
        raise CheckFailed("the transfer through a lossy, reordering, duplicating link did not "
                          "arrive intact with your reassembler",
                          expected="400000 bytes, same SHA-256",
                          got=f"{res.bytes_delivered} bytes delivered, sha256 "
                          f"{'equal' if res.sha256_sent == res.sha256_received else 'differs'}"
                          + (f", error: {res.error}" if res.error else ""))


ASSIGNMENT = Assignment(
    name="03-reassembler",
    title="The receive side's reassembler",
    filename="reassembler.py",
    target="Reassembler",
    reference="netsim.stack.tcp.reassembly:SegmentReassembler",
    returns={
        "insert()": (bytes,),
        "next_index": (int,),
        "pending_bytes": (int,),
        "finished": (bool, int),
        "blocks()": (list, tuple),
    },
    checks=(
        Check("in_order", 1, check_in_order, "in-order data is returned at once"),
        Check("out_of_order", 2, check_out_of_order,
              "data after a gap is held and returned when the gap fills"),
        Check("many_holes", 2, check_many_holes,
              "many holes filled backwards; blocks() lists every held range"),
        Check("overlap_assembled", 2, check_overlap_assembled,
              "overlap with already-returned bytes: each byte returned exactly once"),
        Check("overlap_held", 2, check_overlap_held,
              "overlapping held segments stored once, pending_bytes counts each byte once"),
        Check("window", 2, check_window,
              "bytes at or beyond window_end are dropped (window_end is exclusive)"),
        Check("finished", 1, check_finished,
              "finished only once the last byte has been assembled"),
        Check("random_stream", 2, check_random,
              "random shuffled, overlapping, duplicated segments reassemble exactly"),
        Check("random_sequences", 3, differential_check("03-reassembler"),
              "random call sequences: after every call the same answers as the reference",
              kind="random"),
        Check("stack_receiver", 3, check_stack,
              "in the real TCP: duplicate ACKs for a hole, one ACK when it fills, data once",
              kind="scripted"),
        Check("simulation_hostile_link", 3, check_simulation,
              "in a full simulation over a lossy, reordering, duplicating link: intact",
              kind="simulation"),
    ),
)
