"""Grader for assignment 07-tcp-sender: the send side in sequence space.

The student writes the class ``TcpSender`` with the `netsim.stack.tcp.tcp_sender.TcpSender`
interface (no constructor arguments): ``start(isn)``, ``write(data)``, ``buffered()``,
``data_end()``, ``payload(seqno, n)``, ``acknowledge(ackno)``. Expected results come from
netsim's `StreamSender` given the same calls. The scripted check and the simulation put the
class in netsim's real TCP (``TcpConfig(sender_factory=...)``).
"""

from __future__ import annotations

import random
from typing import Any

from netsim.grading.differential import check_fn
from netsim.grading.framework import Assignment, Check, CheckFailed, Context
from netsim.grading.transfer import check_hostile_transfer
from netsim.stack.tcp.tcp_sender import StreamSender

M = 1 << 32
STREAM = bytes(range(65, 91)) * 200  # distinct neighbours, so a shifted byte shows


def _short(data: Any) -> str:
    if isinstance(data, bytes | bytearray) and len(data) > 40:
        return f"<{len(data)} bytes>"
    return repr(data)[:200]


class _Pair:
    """The student's sender and the reference, driven together; every step is logged."""

    def __init__(self, ctx: Context, isn: int) -> None:
        self.ctx = ctx
        self.s = ctx.target()()
        self.ref = StreamSender()
        self.isn = isn
        self.written = 0
        self.acked = 0
        ctx.step(f"s = {ctx.target_name}()")
        self.s.start(isn)
        self.ref.start(isn)
        ctx.step(f"s.start({isn})")

    def _fail(self, rule: str, call: str, want: Any, got: Any, hint: str | None) -> None:
        raise CheckFailed(rule, input=call, expected=_short(want), got=_short(got), hint=hint)

    def write(self, data: bytes) -> None:
        self.s.write(data)
        self.ref.write(data)
        self.written += len(data)
        self.ctx.step(f"s.write({_short(data)})")

    def state(self, rule: str) -> None:
        """buffered() and data_end() as the reference's."""
        got, want = self.s.buffered(), self.ref.buffered()
        self.ctx.step(f"s.buffered() -> {_short(got)}")
        if got != want or isinstance(got, bool):
            hint = None
            if isinstance(got, int) and got == self.written:
                hint = "acknowledged bytes are no longer held: buffered() counts only the rest"
            self._fail(rule, "s.buffered()", want, got, hint)
        got, want = self.s.data_end(), self.ref.data_end()
        self.ctx.step(f"s.data_end() -> {_short(got)}")
        if got != want or isinstance(got, bool):
            hint = None
            if isinstance(got, int):
                if got == (want - 1) & (M - 1):
                    hint = ("the SYN occupies sequence number ISN: stream byte 0 goes out with "
                            "ISN + 1")
                elif got == want + M or got > M - 1:
                    hint = "sequence numbers are 32 bits: take the sum modulo 2**32"
                elif self.acked and got == (want - self.acked) & (M - 1):
                    hint = ("data_end() counts every byte written, acknowledged or not: "
                            "ISN + 1 + bytes written")
            self._fail(rule, "s.data_end()", want, got, hint)

    def payload(self, seqno: int, n: int, rule: str) -> None:
        got, want = self.s.payload(seqno, n), self.ref.payload(seqno, n)
        call = f"s.payload({seqno}, {n})"
        self.ctx.step(f"{call} -> {_short(got)}")
        if not isinstance(got, bytes | bytearray) or bytes(got) != want:
            hint = None
            if isinstance(got, bytes | bytearray) and len(got) == n:
                for shift in (1, -1):
                    if bytes(got) == self.ref.payload((seqno + shift) & (M - 1), n):
                        hint = (f"the bytes of sequence number {seqno} {'+' if shift > 0 else '-'}"
                                " 1: byte i of the stream has sequence number ISN + 1 + i")
            self._fail(rule, call, want, got, hint)

    def acknowledge(self, ackno: int, rule: str) -> None:
        got, want = self.s.acknowledge(ackno), self.ref.acknowledge(ackno)
        call = f"s.acknowledge({ackno})"
        self.ctx.step(f"{call} -> {_short(got)}")
        if got != want or isinstance(got, bool):
            hint = None
            if isinstance(got, int) and want == 0 and got > 0:
                hint = ("an acknowledgment number at or before the oldest byte held (the ACK of "
                        "the SYN, or an old one) drops nothing")
            elif isinstance(got, int) and got == want + 1:
                hint = ("the SYN and the FIN take a sequence number each but no byte: never "
                        "drop more bytes than are held")
            elif isinstance(got, int) and got < 0:
                hint = "a count of bytes dropped is never negative"
            self._fail(rule, call, want, got, hint)
        self.acked += want


def check_start(ctx: Context) -> None:
    rule = ("start(isn): the SYN takes sequence number ISN, so stream byte 0 goes out with "
            "ISN + 1 (mod 2**32); nothing is held yet")
    for isn in (0, 5000, 3_000_000_000, M - 1, M - 2):
        _Pair(ctx, isn).state(rule)


def check_write(ctx: Context) -> None:
    rule = ("write(data) appends to the stream: buffered() counts the bytes held and "
            "data_end() is the sequence number after the last one, across 2**32")
    p = _Pair(ctx, M - 6)
    p.write(b"abc")
    p.state(rule)
    p.write(b"defgh")  # data_end wraps past 2**32
    p.state(rule)
    p.write(b"")
    p.state(rule)


def check_payload(ctx: Context) -> None:
    rule = ("payload(seqno, n) is the n bytes that go out from sequence number seqno: stream "
            "byte i has sequence number ISN + 1 + i (mod 2**32), across writes and 2**32")
    p = _Pair(ctx, M - 4)
    p.write(b"abcde")
    p.write(b"fghij")
    for seqno, n in ((M - 3, 3), (M - 1, 4), (0, 2), (M - 3, 10), (4, 3), (6, 1)):
        p.payload(seqno, n, rule)


def check_old_acks(ctx: Context) -> None:
    rule = ("acknowledge(ackno) drops the bytes before ackno and returns how many; the ACK of "
            "the SYN, an old ACK and a duplicate drop none (RFC 9293 §3.10.7.4: only "
            "SND.UNA < SEG.ACK =< SND.NXT acknowledges new data)")
    isn = 40_000
    p = _Pair(ctx, isn)
    p.write(STREAM[:12])
    p.acknowledge(isn + 1, rule)  # the SYN's ACK
    p.acknowledge(isn + 1, rule)  # again
    p.acknowledge(isn + 4, rule)  # 3 bytes
    p.acknowledge(isn + 2, rule)  # old
    p.acknowledge(isn + 4, rule)  # a duplicate
    p.acknowledge(isn, rule)  # older than the SYN's


def check_acknowledge(ctx: Context) -> None:
    rule = ("acknowledge(ackno) drops the bytes before ackno and returns how many, across "
            "2**32; buffered() shrinks, data_end() stays, and later payloads are unchanged")
    isn = M - 5
    p = _Pair(ctx, isn)
    p.write(STREAM[:12])
    p.acknowledge((isn + 1) & (M - 1), rule)  # the SYN's ACK
    p.acknowledge((isn + 4) & (M - 1), rule)  # 3 bytes
    p.state(rule)
    p.payload((isn + 4) & (M - 1), 5, rule)
    p.acknowledge((isn + 9) & (M - 1), rule)  # across 2**32
    p.state(rule)
    p.payload((isn + 9) & (M - 1), 4, rule)
    p.write(STREAM[12:20])
    p.acknowledge((isn + 15) & (M - 1), rule)
    p.state(rule)
    p.payload((isn + 15) & (M - 1), 6, rule)


def check_fin(ctx: Context) -> None:
    rule = ("the FIN takes the sequence number data_end() but no byte: the ACK of the FIN "
            "drops every byte held and no more (RFC 9293 §3.4: SYN and FIN occupy a sequence "
            "number each)")
    for isn, n in ((700, 6), (M - 4, 3), (M - 1, 0)):
        p = _Pair(ctx, isn)
        p.write(STREAM[:n])
        p.acknowledge((isn + 2) & (M - 1), rule)
        p.acknowledge((isn + n + 2) & (M - 1), rule)  # past the FIN
        p.state(rule)


def check_long_stream(ctx: Context) -> None:
    rule = ("a long stream written and acknowledged piece by piece: every payload is the "
            "bytes at its sequence number, and acknowledged bytes are let go")
    rng = random.Random(707)
    isn = M - 100_000
    p = _Pair(ctx, isn)
    data = bytes(rng.randrange(256) for _ in range(1 << 16)) * 8  # 512 KiB
    una = 0  # stream bytes acknowledged
    for off in range(0, len(data), 16384):
        p.write(data[off:off + 16384])
        while una + 5000 < off + 16384:
            p.payload((isn + 1 + una) & (M - 1), 1448, rule)
            una += rng.choice([1448, 2896, 500, 4000])
            p.acknowledge((isn + 1 + una) & (M - 1), rule)
    p.payload((isn + 1 + una) & (M - 1), len(data) - una, rule)
    p.acknowledge((isn + 2 + len(data)) & (M - 1), rule)
    p.state(rule)


def check_stack(ctx: Context) -> None:
    """The real TCP with the student's sender: the handshake, 3000 bytes in three segments,
    a partial ACK, a retransmission timeout (the oldest byte held goes again), the rest
    acknowledged, the FIN and its ACK."""
    from netsim.stack.tcp.config import TcpConfig
    from netsim.testing.script import TcpScript

    h = TcpScript(TcpConfig(timestamps=False, sack=False, delayed_ack=0,
                            sender_factory=ctx.target()))
    data = STREAM[:3000]
    h.note("the peer offers MSS 1000: 3000 bytes go in three segments (the initial window)")
    h.establish_active(options={"mss": 1000})
    if h.app_send(data) != len(data):
        h.fail("the connection did not take all 3000 bytes")
    for k in range(3):
        h.expect(flags="PA" if k == 2 else "A", seq=h.rel(1 + 1000 * k),
                 payload=_Bytes(data, 1000 * k, 1000))
    h.inject(flags="A", seq=h.prel(1), ack=h.rel(1001))  # the first segment arrived
    h.expect_nothing()
    h.note("the other two are lost: after the RTO (1 s) the oldest byte held goes again")
    h.advance(1.0)
    h.expect(flags="A", seq=h.rel(1001), payload=_Bytes(data, 1000, 1000))
    h.inject(flags="A", seq=h.prel(1), ack=h.rel(3001))
    h.expect_nothing()
    h.app_shutdown()
    h.expect(flags="FA", seq=h.rel(3001), payload=b"")
    h.inject(flags="A", seq=h.prel(1), ack=h.rel(3002))
    h.expect_nothing()
    conn = h.conn
    if conn is None or conn.send_space != conn.cfg.sndbuf:
        h.fail("after the ACK of the FIN the send buffer should be empty (buffered() 0)")


class _Bytes:
    """Matches the `n` stream bytes from index `start` (and shows them briefly)."""

    def __init__(self, data: bytes, start: int, n: int) -> None:
        self.want = data[start:start + n]
        self.start, self.n = start, n

    def __call__(self, got: bytes) -> bool:
        return got == self.want

    def __repr__(self) -> str:
        return f"<stream bytes {self.start}..{self.start + self.n - 1}>"


def check_simulation(ctx: Context) -> None:
    check_hostile_transfer(ctx, "sender", loss=0.02, seed=7)


ASSIGNMENT = Assignment(
    name="07-tcp-sender",
    title="The TCP sender: the send buffer in sequence space",
    filename="tcp_sender.py",
    target="TcpSender",
    reference="netsim.stack.tcp.tcp_sender:StreamSender",
    returns={
        "buffered()": (int,),
        "data_end()": (int,),
        "payload()": (bytes, bytearray),
        "acknowledge()": (int,),
    },
    checks=(
        Check("start", 1, check_start, "start(isn): stream byte 0 goes out with ISN + 1"),
        Check("write", 1, check_write, "writes append: buffered() and data_end() across 2**32"),
        Check("payload", 2, check_payload,
              "payload(seqno, n): the bytes at a sequence number, across writes and 2**32"),
        Check("old_acks", 1, check_old_acks,
              "the ACK of the SYN, old and duplicate ACKs drop no byte"),
        Check("acknowledge", 2, check_acknowledge,
              "acknowledge(ackno): drops the bytes before ackno, across 2**32"),
        Check("fin", 2, check_fin, "the ACK of the FIN drops the bytes held and no more"),
        Check("long_stream", 2, check_long_stream,
              "512 KiB written and acknowledged piece by piece"),
        Check("random_sequences", 3, check_fn("07-tcp-sender"),
              "random call sequences: after every call the same answers as the reference",
              kind="random"),
        Check("stack_sender", 3, check_stack,
              "in the real TCP: segments, a retransmission timeout, the FIN",
              kind="scripted"),
        Check("simulation_hostile_link", 3, check_simulation,
              "in a full simulation over a lossy, reordering, duplicating link: intact",
              kind="simulation"),
    ),
)
