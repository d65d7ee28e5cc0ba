"""Grader for assignment 06-tcp-receiver: the receive side in sequence space.

The student writes the functions ``wrap(n, isn)`` and ``unwrap(seqno, isn, checkpoint)`` and
the class ``TcpReceiver`` with the `netsim.stack.tcp.tcp_receiver.TcpReceiver` interface (no
constructor arguments; a ``reassembler`` attribute with assignment 03's interface). Expected
results come from netsim's `wrap`, `unwrap` and `StreamReceiver` given the same inputs. The
scripted check and the simulation put the class in netsim's real TCP
(``TcpConfig(receiver_factory=...)``).
"""

from __future__ import annotations

import random
from typing import Any

from netsim.grading.differential import run_in_check
from netsim.grading.framework import Assignment, Check, CheckFailed, Context
from netsim.grading.transfer import check_hostile_transfer
from netsim.stack.tcp.tcp_receiver import StreamReceiver, unwrap, wrap

M = 1 << 32
BIG = 1 << 20  # a window that never limits


def _short(data: Any) -> str:
    if isinstance(data, bytes | bytearray) and len(data) > 40:
        return f"<{len(data)} bytes>"
    return repr(data)[:200]


# ------------------------------------------------------------------------ wrap and unwrap
def _wrap(ctx: Context, n: int, isn: int, rule: str) -> None:
    got = ctx.get("wrap")(n, isn)
    want = wrap(n, isn)
    ctx.step(f"wrap({n}, isn={isn}) -> {_short(got)}")
    if got != want or isinstance(got, bool):
        hint = None
        if isinstance(got, int) and got == isn + n:
            hint = "sequence numbers are 32 bits: take the sum modulo 2**32"
        elif isinstance(got, int) and got == n & (M - 1):
            hint = "the ISN is sequence number of absolute number 0: add it"
        raise CheckFailed(rule, input=f"wrap({n}, isn={isn})", expected=str(want),
                          got=_short(got), hint=hint)


def _unwrap(ctx: Context, seqno: int, isn: int, checkpoint: int, rule: str) -> None:
    got = ctx.get("unwrap")(seqno, isn, checkpoint)
    want = unwrap(seqno, isn, checkpoint)
    ctx.step(f"unwrap({seqno}, isn={isn}, checkpoint={checkpoint}) -> {_short(got)}")
    if got != want or isinstance(got, bool):
        hint = None
        offset = (seqno - isn) & (M - 1)
        if isinstance(got, int) and got < 0:
            hint = ("absolute sequence numbers are never negative: when going back from the "
                    "checkpoint would pass 0, the number ahead of it is the answer")
        elif isinstance(got, int) and got == seqno and seqno != offset:
            hint = "subtract the ISN first: absolute 0 is the ISN, not sequence number 0"
        elif isinstance(got, int) and got == offset and want != offset:
            hint = ("the checkpoint was ignored: of all numbers that wrap to seqno (offset + "
                    "k * 2**32), return the one closest to the checkpoint")
        elif isinstance(got, int) and got > want and (got - want) % M == 0:
            hint = ("the closest number can be BEFORE the checkpoint: compare the candidate "
                    "below it as well as the one above")
        elif isinstance(got, int) and got < want and (want - got) % M == 0:
            hint = ("the closest number can be AFTER the checkpoint (across the next multiple "
                    "of 2**32): compare the candidate above it as well")
        raise CheckFailed(rule, input=f"unwrap({seqno}, isn={isn}, checkpoint={checkpoint})",
                          expected=str(want), got=_short(got), hint=hint)


def check_wrap(ctx: Context) -> None:
    rule = ("wrap(n, isn) is the 32-bit sequence number of absolute sequence number n: "
            "(isn + n) mod 2**32 (RFC 9293 §3.4: sequence numbers wrap around)")
    for n, isn in ((0, 0), (5, 10), (0, 3_000_000_000), (1, M - 1), (10, M - 5),
                   (3 * M + 17, 15), (M - 1, 1), (2 * M + (1 << 31), 1 << 31)):
        _wrap(ctx, n, isn, rule)


def check_unwrap_isn(ctx: Context) -> None:
    rule = ("unwrap(seqno, isn, checkpoint): the absolute sequence number of seqno, counted "
            "from the ISN (absolute 0 is the SYN's sequence number)")
    for isn in (0, 123_456_789, (1 << 31) + 5, M - 2):
        _unwrap(ctx, isn, isn, 0, rule)
        _unwrap(ctx, (isn + 1) & (M - 1), isn, 0, rule)
        _unwrap(ctx, (isn + 1000) & (M - 1), isn, 900, rule)
        _unwrap(ctx, (isn + 70_000) & (M - 1), isn, 65_000, rule)


def check_unwrap_checkpoint(ctx: Context) -> None:
    rule = ("unwrap returns, of all absolute numbers that wrap to seqno, the one closest to "
            "the checkpoint, and never a negative one")
    isn = (1 << 31) + 5
    for seqno, base, checkpoint in (
            (M - 1, 0, 3 * M),  # just before a multiple of 2**32: backwards across it
            (5, 0, 3 * M - 10),  # forwards across the multiple
            (10, 0, 5 * M + 7),
            (M - 2, 0, 0),  # the closest would be -2: not allowed
            (M - 100, 0, 50),
            (wrap(7 * M + 100, isn), isn, 7 * M + 100 + (1 << 31) - 1),  # checkpoint after
            (wrap(7 * M + 100, isn), isn, 7 * M + 100 - (1 << 31) + 1),  # checkpoint before
            (wrap(M + 3, isn), isn, M - 3),
            (wrap(M - 3, isn), isn, M + 3)):
        _unwrap(ctx, seqno, base, checkpoint, rule)


def check_unwrap_random(ctx: Context) -> None:
    rule = "unwrap(wrap(n, isn), isn, checkpoint) == n for any checkpoint less than 2**31 away"
    rng = random.Random(606)
    fn = ctx.get("unwrap")
    for k in range(300):
        n = rng.choice([rng.randrange(0, 1 << 40), rng.randrange(0, 1 << 63),
                        rng.randrange(M - 5000, M + 5000), rng.randrange(0, 5000)])
        isn = rng.choice([rng.randrange(0, M), M - 1, 0])
        delta = rng.randrange(-(1 << 31) + 1, 1 << 31)
        checkpoint = max(0, n + delta)
        seqno = wrap(n, isn)
        got = fn(seqno, isn, checkpoint)
        if got != n:
            ctx.step(f"... {k} random cases agreed")
            _unwrap(ctx, seqno, isn, checkpoint, rule)
    ctx.step("300 random (n, isn, checkpoint) agreed")


# ----------------------------------------------------------------------------- the receiver
class _Pair:
    """The student's receiver and the reference, driven together; every step is logged."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.r = ctx.target()()
        self.ref = StreamReceiver()
        ctx.step(f"r = {ctx.target_name}()")

    def receive(self, seqno: int, syn: bool, fin: bool, payload: bytes, window: int = BIG,
                rule: str = "", hint: str | None = None) -> None:
        got = self.r.receive(seqno, syn, fin, payload, window)
        want = self.ref.receive(seqno, syn, fin, payload, window)
        call = f"r.receive({seqno}, syn={syn}, fin={fin}, payload={_short(payload)}, " \
               f"window={window})"
        self.ctx.step(f"{call} -> {_short(got)}")
        if not isinstance(got, bytes | bytearray) or bytes(got) != want:
            if hint is None and isinstance(got, bytes | bytearray) and len(got) > len(want):
                hint = ("bytes at or past ackno + window are outside the window: hand the "
                        "reassembler window_end = next_index + window")
            raise CheckFailed(rule or "receive() returns exactly the bytes that became "
                              "contiguous", input=call, expected=_short(want),
                              got=_short(got), hint=hint)
        self.ackno(rule)

    def ackno(self, rule: str = "", hint: str | None = None) -> None:
        got = self.r.ackno()
        want = self.ref.ackno()
        self.ctx.step(f"r.ackno() -> {_short(got)}")
        if got != want or isinstance(got, bool):
            isn = self.ref.isn
            if hint is None and isinstance(got, int) and want is not None and isn is not None:
                n_want = unwrap(want, isn, 0)
                n_got = unwrap(got & (M - 1), isn, 0)
                if n_got == n_want - 1 and self.ref.reassembler.finished:
                    hint = ("the FIN occupies one sequence number: once the whole stream "
                            "(up to the FIN) has arrived, the ACK is one past the last byte")
                elif n_got == n_want + 1 and not self.ref.reassembler.finished:
                    hint = ("the FIN counts only once every byte before it has arrived: with "
                            "a hole before it, the ACK stays at the hole")
                elif n_got == n_want - 1:
                    hint = ("the SYN occupies one sequence number: the ACK is wrap(1 + bytes "
                            "assembled, isn)")
                elif got > M - 1:
                    hint = "the acknowledgment number is 32 bits: wrap it"
            elif hint is None and want is None:
                hint = "before the SYN there is no ISN and nothing to acknowledge: None"
            raise CheckFailed(rule or "ackno() is the next sequence number expected",
                              expected=_short(want), got=_short(got), hint=hint)


def check_syn(ctx: Context) -> None:
    p = _Pair(ctx)
    try:
        nxt = p.r.reassembler.next_index
    except AttributeError:
        raise CheckFailed("TcpReceiver has a `reassembler` attribute (assignment 03's "
                          "interface): the connection reads its pending_bytes and blocks()",
                          expected="r.reassembler.next_index = 0",
                          got="no attribute reassembler (or no next_index)") from None
    ctx.step(f"r.reassembler.next_index -> {_short(nxt)}")
    rule = "before the SYN nothing can be placed (no ISN yet): receive() returns b'' and " \
           "ackno() is None"
    isn = 3_000_000_000
    p.ackno(rule)
    p.receive(isn + 1, False, False, b"abc", rule=rule)
    rule = "the SYN gives the ISN and occupies one sequence number: ackno() = ISN + 1"
    p.receive(isn, True, False, b"", rule=rule)
    rule = "data right after the SYN (absolute sequence number 1) is stream byte 0"
    p.receive(isn + 1, False, False, b"hello", rule=rule)
    q = _Pair(ctx)
    rule = ("a SYN may carry data: its first byte has sequence number SYN + 1; with an ISN "
            "just below 2**32 the acknowledgment number wraps to a small number")
    q.receive(M - 2, True, False, b"xyz", rule=rule,
              hint="the payload of a SYN starts one after the SYN's sequence number")
    q.receive(2, False, False, b"uvw", rule=rule)
    t = _Pair(ctx)
    rule = ("a segment without the SYN flag that starts at the ISN: its first byte has the "
            "SYN's sequence number, already acknowledged; only the rest is new (RFC 9293 "
            "§3.10.7.4: of a segment that straddles old and new, only the new part is "
            "processed)")
    t.receive(77_000, True, False, b"", rule=rule)
    t.receive(77_000, False, False, b"!abc", rule=rule,
              hint="trim the byte at the ISN, do not drop the whole segment")
    rule = ("only the first SYN gives the ISN: a later SYN (another ISN, or the same one "
            "again) changes neither the ISN nor the acknowledgment number (RFC 9293 "
            "§3.10.7.4: a SYN on a synchronized connection is no new start)")
    t.receive(5_000_000, True, False, b"", rule=rule,
              hint="set the ISN only while there is none")
    t.receive(77_004, False, False, b"def", rule=rule,
              hint="set the ISN only while there is none")


def check_ackno(ctx: Context) -> None:
    p = _Pair(ctx)
    isn = M - 6
    rule = ("data is placed by its absolute sequence number (unwrapped against what was "
            "received so far); ackno() is wrap(1 + bytes assembled, isn), across 2**32")
    p.receive(isn, True, False, b"", rule=rule)
    p.receive(M - 5, False, False, b"abcd", rule=rule)  # stream 0..3: seqnos M-5 .. M-2
    p.receive(3, False, False, b"ijk", rule=rule)  # stream 8..10: a hole before it
    p.receive(M - 1, False, False, b"efgh", rule=rule)  # stream 4..7: across the wrap
    p.receive(M - 3, False, False, b"cdef", rule=rule)  # old: nothing new
    p.receive(6, False, False, b"lm", rule=rule)
    p.receive(10, False, False, b"pq", rule=rule)  # ahead again
    p.receive(8, False, False, b"no", rule=rule)


def check_window(ctx: Context) -> None:
    p = _Pair(ctx)
    isn = 1000
    rule = ("receive() keeps only bytes inside the window: `window` bytes from the current "
            "acknowledgment number (RFC 9293 §3.10.7.4: trim the segment to the window)")
    p.receive(isn, True, False, b"", rule=rule)
    p.receive(isn + 1, False, False, b"abcdef", window=4, rule=rule)
    p.receive(isn + 5, False, False, b"ef", window=0, rule=rule)
    p.receive(isn + 7, False, False, b"gh", window=2, rule=rule)
    p.receive(isn + 5, False, False, b"ef", window=4, rule=rule)
    p.receive(isn + 9, False, False, b"ij", window=3, rule=rule)
    p.receive(isn + 7, False, False, b"ghij", window=4, rule=rule)
    q = _Pair(ctx)
    rule = ("the window can be far larger than 65535 bytes (RFC 7323 window scaling): a "
            "segment 70000 bytes ahead inside a 128 KiB window is kept, and returned once "
            "the gap before it fills")
    q.receive(isn, True, False, b"", rule=rule)
    far = b"far"
    q.receive(isn + 1 + 70_000, False, False, far, window=1 << 17, rule=rule)
    hint = ("the window was cut to 16 bits: only the window FIELD is at most 65535; the "
            "window itself is window_end = next_index + window, whatever its size")
    q.receive(isn + 1, False, False, bytes(70_000), window=1 << 17, rule=rule, hint=hint)


def check_fin(ctx: Context) -> None:
    rule = ("the FIN occupies the sequence number after the last byte: ackno() moves past "
            "it once every byte before it has arrived (RFC 9293 §3.10.7.4 eighth: the FIN "
            "advances RCV.NXT)")
    p = _Pair(ctx)
    isn = M - 3
    p.receive(isn, True, False, b"", rule=rule)
    p.receive(M - 2, False, True, b"xyz", rule=rule)
    q = _Pair(ctx)
    q.receive(500, True, False, b"", rule=rule)
    q.receive(504, False, True, b"de", rule=rule)  # FIN with a hole before it
    q.receive(501, False, False, b"ab", rule=rule)
    q.receive(503, False, False, b"c", rule=rule)
    w = _Pair(ctx)
    w.receive(70, True, False, b"", rule=rule)
    w.receive(71, False, False, b"abc", rule=rule)
    w.receive(74, False, True, b"", rule=rule)  # a bare FIN after the data
    x = _Pair(ctx)
    rule = ("a FIN outside the window was not received: filling the data up to it later "
            "does not acknowledge it")
    x.receive(9000, True, False, b"", rule=rule)
    x.receive(9004, False, True, b"def", window=4, rule=rule)
    x.receive(9001, False, False, b"abcdef", window=10, rule=rule)


def check_window_field(ctx: Context) -> None:
    rule = ("window_field(window, shift): the 16-bit field that offers `window` bytes: the "
            "window right-shifted by the scale, at most 65535 (RFC 7323 §2.3: RCV.WND "
            "shifted right by Rcv.Wind.Shift)")
    r = ctx.target()()
    ctx.step(f"r = {ctx.target_name}()")
    ref = StreamReceiver()
    for window, shift in ((1000, 0), (0, 0), (65535, 0), (65536, 0), (1 << 20, 5),
                          (100, 2), (103, 2), (0, 7), (1 << 20, 4), ((1 << 30) - 1, 14),
                          (3 << 14, 14), ((5 << 7) + 127, 7), (1 << 31, 1)):
        got = r.window_field(window, shift)
        want = ref.window_field(window, shift)
        ctx.step(f"r.window_field({window}, {shift}) -> {_short(got)}")
        if got != want or isinstance(got, bool):
            hint = None
            if isinstance(got, int):
                if got == min(window, 0xFFFF) and shift:
                    hint = "the window was not scaled: shift it right by `shift` bits"
                elif got == (window >> shift) & 0xFFFF:
                    hint = ("a window too large for 16 bits is capped at 65535, not cut to its "
                            "low 16 bits")
                elif got == min(-(-window >> shift), 0xFFFF):
                    hint = ("rounded up: the field would offer more than the window; shift "
                            "right (round down)")
                elif got == min(window << shift, 0xFFFF):
                    hint = "the receiver shifts right; the peer shifts the field back left"
            raise CheckFailed(rule, input=f"window_field({window}, {shift})",
                              expected=str(want), got=_short(got), hint=hint)


class _Module:
    """The student's module as the differential check takes it: the class and the two
    functions, each a proxy."""

    def __init__(self, ctx: Context) -> None:
        self.TcpReceiver = ctx.target()  # noqa: N815 - the student's class name
        self.wrap = ctx.get("wrap")
        self.unwrap = ctx.get("unwrap")


def check_random(ctx: Context) -> None:
    module = _Module(ctx)
    run_in_check(ctx, "06-tcp-receiver", lambda: module)


def check_stack(ctx: Context) -> None:
    """The real TCP with the student's receiver: the handshake, data across 2**32 with a hole,
    an old duplicate, a FIN after a hole, windows scaled by 2**5."""
    from netsim.stack.tcp.config import TcpConfig
    from netsim.testing.script import TcpScript

    cls = ctx.target()
    want: list[int] = []
    _script(TcpScript(TcpConfig(timestamps=False, sack=False, delayed_ack=0)), None, want)
    h = TcpScript(TcpConfig(timestamps=False, sack=False, delayed_ack=0,
                            receiver_factory=cls))
    _script(h, want, [])


def _script(h: Any, want: list[int] | None, windows: list[int]) -> None:
    """The segment exchange. `want`: the reference's window fields, in order, to compare
    with; None records them into `windows`."""
    from netsim.testing.script import ANY

    def win() -> _Window:
        return _Window(want, windows)

    peer_iss = M - 1500  # the peer's sequence numbers wrap after its first 1499 bytes
    h.note("the peer's ISN is 2**32 - 1500; it offers window scale 7, we offer 5")
    h.listen(80)
    h.inject(flags="S", seq=peer_iss, options={"mss": 1000, "wscale": 7})
    h.expect(flags="SA", ack=(peer_iss + 1) & (M - 1))
    h.inject(flags="A", seq=h.prel(1), ack=h.rel(1))
    if h.accept() is None:
        h.fail("the handshake finished but accept() returned nothing")
    a, b, c, d = b"A" * 1000, b"B" * 1000, b"C" * 1000, b"D" * 1000
    h.inject(flags="PA", seq=h.prel(1), payload=a)
    h.expect(flags="A", ack=h.prel(1001), window=win())
    h.inject(flags="PA", seq=h.prel(2001), payload=c)  # crosses 2**32; a hole before it
    h.expect(flags="A", ack=h.prel(1001), window=win())
    h.inject(flags="PA", seq=h.prel(1001), payload=b)  # fills the hole
    h.expect(flags="A", ack=h.prel(3001), window=win())
    data = h.app_recv()
    if data != a + b + c:
        h.fail(f"the application read {len(data)} bytes, expected the 3000 bytes A..B..C in "
               "order")
    h.inject(flags="PA", seq=h.prel(1001), payload=b)  # an old duplicate
    h.expect(flags="A", ack=h.prel(3001), window=win())
    h.inject(flags="FA", seq=h.prel(4001))  # the FIN, with a hole before it
    h.expect(flags="A", ack=h.prel(3001), window=ANY)
    h.inject(flags="PA", seq=h.prel(3001), payload=d)
    h.expect(flags="A", ack=h.prel(4002), window=win())  # the data and the FIN
    if h.app_recv() != d:
        h.fail("the last 1000 bytes were not delivered to the application")


class _Window:
    """Matches the window field the reference sent at the same step (and shows it); with no
    reference values yet, records the field."""

    def __init__(self, want: list[int] | None, seen: list[int]) -> None:
        self.want, self.seen = want, seen
        self.k = len(seen)
        if want is not None:
            seen.append(0)  # a slot per step

    def __call__(self, got: int) -> bool:
        if self.want is None:
            self.seen.append(got)
            return True
        return self.k < len(self.want) and got == self.want[self.k]

    def __repr__(self) -> str:
        if self.want is None or self.k >= len(self.want):
            return "<the reference's window field>"
        return repr(self.want[self.k])


def check_simulation(ctx: Context) -> None:
    check_hostile_transfer(ctx, "receiver", loss=0.01, seed=6)


ASSIGNMENT = Assignment(
    name="06-tcp-receiver",
    title="The TCP receiver: sequence numbers, acknowledgments, window",
    filename="tcp_receiver.py",
    target="TcpReceiver",
    reference="netsim.stack.tcp.tcp_receiver:StreamReceiver,wrap,unwrap",
    returns={
        "receive()": (bytes,),
        "ackno()": (int, None),
        "window_field()": (int,),
    },
    checks=(
        Check("wrap", 1, check_wrap, "wrap(n, isn) = (isn + n) mod 2**32"),
        Check("unwrap_isn", 2, check_unwrap_isn,
              "unwrap counts from the ISN (ISNs far from 0)"),
        Check("unwrap_checkpoint", 2, check_unwrap_checkpoint,
              "unwrap: the closest to the checkpoint, across 2**32, never negative"),
        Check("unwrap_random", 2, check_unwrap_random,
              "random round trips: unwrap(wrap(n)) == n near the checkpoint"),
        Check("syn", 2, check_syn,
              "nothing before the SYN; the SYN sets the ISN and takes one sequence number"),
        Check("ackno", 2, check_ackno,
              "data placed by unwrapped sequence number; ackno across 2**32"),
        Check("window", 2, check_window, "only bytes inside the window are kept"),
        Check("fin", 2, check_fin, "the FIN is acknowledged once all data before it arrived"),
        Check("window_field", 2, check_window_field,
              "the window field: right-shifted by the scale, capped at 65535"),
        Check("random_sequences", 3, check_random,
              "random segment sequences: after every call the same answers as the reference",
              kind="random"),
        Check("stack_receiver", 3, check_stack,
              "in the real TCP: ACKs across 2**32, a hole, a FIN, scaled windows",
              kind="scripted"),
        Check("simulation_hostile_link", 3, check_simulation,
              "in a full simulation over a lossy, reordering, duplicating link: intact",
              kind="simulation"),
    ),
)
