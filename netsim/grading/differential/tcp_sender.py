"""Differential check of assignment 07: the TCP sender against `StreamSender`.

Sequences are what netsim's connection could make: ``start`` with an ISN anywhere in 32-bit
space (often just below 2**32, so the stream's sequence numbers wrap), then writes, payloads
of held bytes (the oldest, the newest, across the wrap, whole or in part) and
acknowledgment numbers from what was sent: the SYN's, old ones, duplicates, partial ones,
everything, and one past the FIN. After each call it compares what was returned,
``buffered()`` and ``data_end()``. A resource probe then streams 2 MiB, acknowledged as it
goes: the sender must not go on holding what was acknowledged.

The candidate's factory makes the student's sender (through the sandbox's proxy in the
grader).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from netsim.grading.differential.spec import (
    Call,
    DiffOutcome,
    Example,
    Observation,
    Spec,
    more,
    pick,
)
from netsim.grading.differential.values import held, plain
from netsim.stack.tcp.tcp_sender import MASK, StreamSender

STREAM = bytes(range(65, 65 + 26)) * 8  # distinct neighbours, so a shifted byte shows
M = 1 << 32

RULES = {
    "returned": "payload(seqno, n) is the n bytes from sequence number seqno (stream byte i "
                "goes out with ISN + 1 + i); acknowledge(ackno) returns how many bytes it "
                "dropped: those before ackno, none for the SYN's or an old ACK, never more "
                "than are held",
    "buffered()": "buffered() counts the bytes written and not yet acknowledged",
    "data_end()": "data_end() is the sequence number after the last byte written: ISN + 1 + "
                  "bytes written (mod 2**32)",
}


def examples() -> Any:
    from hypothesis import strategies as st

    @st.composite
    def build(draw: Any) -> Example:
        isn = pick(draw, [M - 3, 0, M - 1, 1 << 31, M - 20, 12345], 0, M - 1)
        written = 0  # stream bytes written
        una = 0  # stream bytes acknowledged
        calls: list[Call] = [Call("start", (("isn", isn),))]

        def seqno(index: int) -> int:
            return int((isn + 1 + index) & MASK)  # stream index -> sequence number

        while more(draw, len(calls), 16, least=4):
            kind = pick(draw, ["write", "payload", "ack", "write", "ack", "payload"])
            if kind == "write" or written == una and kind == "payload":
                n = pick(draw, [3, 1, 0, 5, 12, 30], 0, 60)
                calls.append(Call("write", (("data", STREAM[written % 26:written % 26 + n]),)))
                written += n
            elif kind == "payload":
                start = pick(draw, [una, written - 1, una + 1], una, written - 1)
                start = min(max(start, una), written - 1)
                n = pick(draw, [written - start, 1, 2, 5], 1, written - start)
                n = min(n, written - start)
                calls.append(Call("payload", (("seqno", seqno(start)), ("n", n))))
            else:
                how = pick(draw, ["some", "all", "fin", "syn", "old", "same"])
                if how == "all":
                    to = written + 1  # absolute: the SYN is 0, stream byte i is i + 1
                elif how == "fin":
                    to = written + 2
                elif how == "syn":
                    to = 1
                elif how == "old":
                    to = max(1, una + 1 - pick(draw, [1, 2, 5]))
                elif how == "same":
                    to = una + 1
                else:
                    to = pick(draw, [una + 2, written], una + 1, written + 1)
                    to = min(max(to, 1), written + 1)
                calls.append(Call("acknowledge", (("ackno", (isn + to) & MASK),)))
                una = max(una, min(to - 1, written))
        return Example((), tuple(calls))

    return build()


def observe(s: Any, call: Call) -> Observation:
    out = getattr(s, call.method)(*call.values())
    if call.method in ("start", "write"):
        out = None  # what they return is not part of the interface
    return [("returned", plain(out)), ("buffered()", plain(s.buffered())),
            ("data_end()", plain(s.data_end()))]


def resource_probe(candidate: Callable[[], Any], size: Callable[[Any], int] = held,
                   total: int = 1 << 21, chunk: int = 16384,
                   window: int = 32768) -> DiffOutcome | None:
    """A `total`-byte stream written `chunk` bytes at a time, each write followed by the ACK
    of all but the last `window` bytes: what the sender then holds must be about the bytes
    not yet acknowledged (netsim's compacts its buffer now and then: at most about twice
    that, plus 64 KiB), not the stream (README: acknowledge drops the bytes it covers)."""
    s = candidate()
    isn = M - 5000  # the stream crosses 2**32 early on
    s.start(isn)
    calls = 1
    for off in range(0, total, chunk):
        s.write(bytes(chunk))
        s.acknowledge((isn + 1 + max(0, off + chunk - window)) & MASK)
        calls += 2
    amount = size(s)
    calls += 1
    bound = 4 * window + 2 * chunk + 65536
    if amount <= bound:
        return None
    script = "\n".join([
        "the resource probe (after the random sequences all agreed):",
        "  s = TcpSender()",
        f"  s.start({isn}); {total // chunk} times: s.write(<{chunk} bytes>), then "
        f"s.acknowledge(...) of all but the last {window} bytes written",
        f"      held after acknowledgment: reference at most {bound}, yours about {amount} "
        "(acknowledged bytes are never released)"])
    message = ("differential check: held after acknowledgment differs from netsim's "
               f"reference ({amount} bytes or entries still held when {window} bytes are "
               "unacknowledged; drop the bytes an ACK covers, do not just count them)")
    return DiffOutcome(False, message + "\n\n" + script, 1, calls, 0.0, None, 0, message,
                       f"held after acknowledgment <= {bound}",
                       f"held after acknowledgment = {amount}", script)


SPEC = Spec("07-tcp-sender", "s", "TcpSender", examples, observe, RULES,
            construct=lambda factory, params: factory(),
            references=[StreamSender], max_examples=150, seed=7, probe=resource_probe)
