"""Differential check of assignment 06: the TCP receiver against `StreamReceiver`.

Sequences are what a correct peer could send: an ISN anywhere in 32-bit space (often just
below 2**32, so the sequence numbers wrap inside the stream), maybe a segment before the SYN,
the SYN (sometimes with data), then segments cut from one stream — in order, ahead of a hole,
old, at and past the window's edge, duplicated, the FIN with the last byte or alone, one
without the SYN flag that starts at the ISN (its first byte is trimmed), another SYN (which
sets no new ISN) — each with the window that fits after the current acknowledgment number;
sometimes, in a window scaled past 16 bits, a segment 70 000 bytes ahead and the gap before it
filled in one go; now and then a window field to compute, or a call of the module's ``wrap``
or ``unwrap`` (checkpoints on both sides of multiples of 2**32 and near 0). After each call it
compares what was returned and, after ``receive``, ``ackno()``.

The candidate's factory returns the student's module (``TcpReceiver``, ``wrap``, ``unwrap``
as attributes; through the sandbox's proxies in the grader).
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from netsim.grading.differential.spec import (
    Call,
    Example,
    Observation,
    Spec,
    more,
    pick,
)
from netsim.grading.differential.values import plain
from netsim.stack.tcp.tcp_receiver import HALF, MASK, StreamReceiver, unwrap, wrap

STREAM = bytes(range(65, 65 + 26)) * 4  # distinct neighbours, so a shifted byte shows
M = 1 << 32
FAR = 70_000  # beyond what a 16-bit window field can offer unscaled


def _periodic(start: int, n: int) -> bytes:
    """Stream bytes [start, start + n) of STREAM's pattern (its bytes repeat every 26)."""
    return bytes(65 + i % 26 for i in range(start, start + n))

RULES = {
    "returned": "receive() returns exactly the bytes that became contiguous, each byte once "
                "(stream index = absolute sequence number - 1; the SYN's payload starts at "
                "SYN + 1; a segment without SYN at the ISN loses its first byte, the SYN's "
                "number; only bytes inside the window)",
    "ackno()": "ackno() is wrap(1 + bytes assembled (+ 1 once the FIN's stream is complete), "
               "ISN); None before the SYN; only the first SYN gives the ISN",
    "wrap()": "wrap(n, isn) = (isn + n) mod 2**32 (RFC 9293 §3.4: sequence numbers wrap)",
    "unwrap()": "unwrap(seqno, isn, checkpoint) is the absolute sequence number >= 0 that "
                "wraps to seqno, closest to the checkpoint",
    "window_field()": "the window field is the window right-shifted by the scale, at most "
                      "65535 (RFC 7323 §2.3, RCV.WND)",
}


def examples() -> Any:
    from hypothesis import strategies as st

    @st.composite
    def build(draw: Any) -> Example:
        length = pick(draw, [8, 0, 1, 2, 5, 13, 30, 60], 0, 100)
        isn = pick(draw, [M - 3, 0, M - 1, 1 << 31, M - 20, 12345], 0, M - 1)
        ref = StreamReceiver()
        calls: list[Call] = []

        def receive(seqno: int, syn: bool, fin: bool, data: bytes, window: int) -> None:
            ref.receive(seqno, syn, fin, data, window)
            calls.append(Call("receive", (("seqno", seqno), ("syn", syn), ("fin", fin),
                                          ("payload", data), ("window", window))))

        if pick(draw, [False, True]):  # a segment before the SYN: nothing to place it by
            receive(wrap(1, isn), False, False, STREAM[:pick(draw, [2, 0, 1])], 1 << 16)
        syn_data = pick(draw, [0, 0, 1, 3], 0, length)
        syn_data = min(syn_data, length)
        receive(isn, True, syn_data == length and length > 0 and pick(draw, [False, True]),
                STREAM[:syn_data], pick(draw, [1 << 16, 2, 0, 5], 0, 64))
        while more(draw, len(calls), 16, least=4):
            kind = pick(draw, ["segment", "segment", "segment", "segment", "unwrap", "wrap"])
            if kind == "unwrap":
                cp = pick(draw, [3 * M, 0, 5, M - 1, M, 7 * M + 11], 0, 1 << 36)
                n = cp + pick(draw, [-1, 1, -6, 100, -(HALF - 1), HALF - 1, 0],
                              -(HALF - 1), HALF - 1)
                if n < 0:  # the closest would be negative: the one above it is the answer
                    n += M
                at = pick(draw, [isn, 0, M - 1], 0, M - 1)
                seqno = wrap(n, at)
                if (seqno - at - cp) & MASK == HALF:
                    seqno = (seqno + 1) & MASK  # exactly halfway: not asked
                calls.append(FnCall("unwrap", (("seqno", seqno), ("isn", at),
                                               ("checkpoint", cp))))
                continue
            if kind == "wrap":
                calls.append(FnCall("wrap", (
                    ("n", pick(draw, [M, 0, 1, M - 1, 5 * M + 3, 1 << 40], 0, 1 << 45)),
                    ("isn", pick(draw, [isn, M - 1, 0, 1 << 31], 0, M - 1)))))
                continue
            if pick(draw, [False, False, False, True]):
                calls.append(Call("window_field", (
                    ("window", pick(draw, [1 << 20, 65535, 65536, 0, 1, 3, 1 << 30, 100000],
                                    0, 1 << 31)),
                    ("shift", pick(draw, [0, 7, 14, 1, 2, 4], 0, 14)))))
                continue
            nxt = ref.reassembler.next_index
            window = pick(draw, [1 << 16, max(0, length - nxt), 0, 1, 2, 3, 4, 7, 16], 0, 40)
            how = pick(draw, ["any", "rest", "ahead", "at_next", "to_edge", "past_edge",
                              "old", "tail", "fin_only", "at_isn", "syn_again"])
            if how == "at_isn":  # no SYN flag, first byte at the SYN's number: trimmed
                end = min(length, pick(draw, [2, 0, 1, 5], 0, 20))
                receive(isn, False, False, b"!" + STREAM[:end], window)
                continue
            if how == "syn_again":  # another SYN: not a new ISN
                receive(wrap(pick(draw, [0, 7, M - 100, 1 << 31], 0, M - 1), isn), True, False,
                        b"", window)
                continue
            if how == "ahead":  # leave a hole of 1 to 5 bytes
                start = nxt + pick(draw, [1, 2, 3, 5])
            elif how in ("at_next", "rest"):
                start = nxt
            elif how == "old":
                start = max(0, nxt - pick(draw, [0, 1, 2, 3, 6]))
            elif how in ("tail", "fin_only"):
                start = max(0, length - (0 if how == "fin_only" else pick(draw, [1, 2, 6])))
            else:
                start = pick(draw, [0], 0, length)
            start = min(start, length)
            if how == "to_edge":
                end = min(max(start, nxt + window), length)
            elif how == "past_edge":
                end = min(max(start, nxt + window + 1), length)
            elif how in ("tail", "fin_only", "rest"):
                end = length  # "rest": everything still missing, often with the FIN
            else:
                end = min(length, start + pick(draw, [1, 0, 2, 3, 5], 0, 20))
            fin = end == length and pick(draw, [True, False])
            receive(wrap(1 + start, isn), False, fin, STREAM[start:end], window)
        if not any(dict(c.args).get("fin") for c in calls) and \
                pick(draw, [False, False, False, True]):
            # a window scaled past 16 bits: a segment 70 000 bytes ahead is inside it, and
            # the gap filled in one go returns both (STREAM's bytes repeat every 26)
            nxt = ref.reassembler.next_index
            receive(wrap(1 + nxt + FAR, isn), False, False, _periodic(nxt + FAR, 3), 1 << 17)
            receive(wrap(1 + nxt, isn), False, False, _periodic(nxt, FAR), 1 << 17)
        return Example((), tuple(calls))

    return build()


class FnCall(Call):
    """A call of one of the module's functions (shown without the receiver)."""

    def render(self, target: str) -> str:
        return super().render("")


class _Subject:
    """A fresh receiver of the module, and the module's functions."""

    def __init__(self, module: Any) -> None:
        self.module = module
        self.r = module.TcpReceiver()


def observe(s: _Subject, call: Call) -> Observation:
    if call.method in ("wrap", "unwrap"):
        fn = getattr(s.module, call.method)
        return [(call.method + "()", plain(fn(*call.values())))]
    if call.method == "window_field":
        return [("window_field()", plain(s.r.window_field(*call.values())))]
    out = s.r.receive(*call.values())
    return [("returned", plain(out)), ("ackno()", plain(s.r.ackno()))]


def reference_module() -> Any:
    """netsim's implementation, in the shape of a student's module."""
    return SimpleNamespace(TcpReceiver=StreamReceiver, wrap=wrap, unwrap=unwrap)


SPEC = Spec("06-tcp-receiver", "r", "TcpReceiver", examples, observe, RULES,
            construct=lambda factory, params: _Subject(factory()),
            references=[reference_module], max_examples=100, seed=6)
