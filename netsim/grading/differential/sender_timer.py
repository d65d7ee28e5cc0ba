"""Differential check of assignment 07b: the whole sender (window, SYN/FIN, retransmission
timer) against `LabSender`.

Sequences are what a connection could make: a sender with an ISN anywhere in 32-bit space
(often just below 2**32), a small or large payload limit and an initial RTO of 0.5, 1 or 2 s;
then writes, a close, pushes, ticks of a quarter, a half, ... of the reference's current RTO
(exact binary fractions, so no sum of floats depends on the order it is taken in), and the
peer's answers: acknowledgment numbers from what was sent (segment ends, inside a segment,
duplicates, old ones, one not yet sent, none) with windows from zero up, often exactly the
room the data needs. After each call it compares what was returned, ``in_flight()``,
``consecutive_retransmissions()`` and ``make_empty_message()``.

The generator steps a `LabSender` along to choose acknowledgment numbers near what was sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from netsim.grading.differential.spec import (
    Call,
    Example,
    Mismatch,
    Observation,
    Spec,
    more,
    pick,
)
from netsim.grading.differential.values import plain
from netsim.stack.tcp.lab_sender import LabSender
from netsim.stack.tcp.tcp_receiver import wrap

STREAM = bytes(range(97, 97 + 26)) * 4  # distinct neighbours, so a shifted byte shows
M = 1 << 32

RULES = {
    "returned": "push() fills the window (SYN first, at most max_payload bytes a segment, the "
                "FIN when closed and there is room; a zero window is taken as one); tick() "
                "sends the oldest outstanding segment again when the timer reaches the RTO",
    "in_flight()": "in_flight() counts the sequence numbers sent and not acknowledged (SYN "
                   "and FIN one each); an ACK of something not yet sent is ignored",
    "consecutive_retransmissions()": "each timeout with a non-zero window counts one; an ACK "
                                     "of new data sets the count back to 0",
    "make_empty_message()": "make_empty_message() is (next seqno, False, b'', False)",
}


def examples() -> Any:
    from hypothesis import strategies as st

    @st.composite
    def build(draw: Any) -> Example:
        isn = pick(draw, [M - 3, 0, 12345, M - 1, 1 << 31], 0, M - 1)
        rto = pick(draw, [1.0, 0.5, 2.0])
        mp = pick(draw, [3, 1000, 5, 1])
        ref = LabSender(isn, rto, mp)
        st_: dict[str, Any] = {"sent_end": 0, "written": 0, "closed": False}  # absolute ends
        ends: list[int] = []  # absolute ends of the segments sent
        calls: list[Call] = []

        def call(method: str, *args: tuple[str, Any]) -> Any:
            calls.append(Call(method, args))
            return getattr(ref, method)(*[v for _, v in args])

        def push() -> None:
            for seg in call("push"):
                st_["sent_end"] += seg[1] + len(seg[2]) + seg[3]
                ends.append(st_["sent_end"])

        def write() -> None:
            if st_["closed"]:
                return push()
            n = pick(draw, [4, 1, 0, 8, 12], 0, 20)
            w = st_["written"] % 26
            call("write", ("data", STREAM[w:w + n]))
            st_["written"] += n

        def receive(how: str) -> None:
            sent_end = st_["sent_end"]
            acked = sent_end - ref.in_flight()
            pending = [e for e in ends if e > acked]  # ends of outstanding segments
            if how == "end" and pending:
                to = pick(draw, pending)
            elif how == "all":
                to = sent_end
            elif how == "inside" and sent_end > acked:
                to = pick(draw, [acked + 1, sent_end - 1], acked, sent_end)
            elif how == "old":
                to = max(0, acked - pick(draw, [1, 2, 4]))
            elif how == "unsent":
                to = sent_end + pick(draw, [1, 2, 100])
            else:
                to = acked
            fit = max(0, sent_end - to) + ref.unsent_bytes()  # room for all but the FIN
            window = pick(draw, [1000, 0, 3, 1, 8, 20, fit, 1000, fit], 0, 65535)
            call("receive", ("ackno", None if how == "none" else wrap(to, isn)),
                 ("window", window))

        if pick(draw, [True, True, True, False]):  # the handshake, most of the time
            push()
            receive("end")
        while more(draw, len(calls), 40, least=8):
            kind = pick(draw, ["send", "ack", "tick", "send", "ack", "tick", "push",
                               "receive", "write", "close", "ack", "dup"])
            rto_now = ref.rto()  # ticks are fractions of the reference's RTO: exact in binary
            if kind == "send":  # the application writes, the connection pushes
                write()
                push()
            elif kind == "write":
                write()
            elif kind == "close" and not st_["closed"]:
                call("close")
                st_["closed"] = True
            elif kind in ("push", "close"):
                push()
            elif kind == "tick":
                call("tick", ("elapsed", pick(draw, [rto_now, rto_now / 2, rto_now / 4,
                                                     3 * rto_now / 4, 2 * rto_now, 0.0,
                                                     8.0])))
            elif kind == "ack":  # some time passes, then the oldest segment (or all) is acked
                call("tick", ("elapsed", pick(draw, [rto_now / 2, rto_now / 4,
                                                     3 * rto_now / 4, 0.0])))
                receive(pick(draw, ["end", "all", "end"]))
            elif kind == "dup":  # a timeout, then a duplicate ACK (it must change nothing)
                call("tick", ("elapsed", rto_now))
                receive("same")
            else:
                receive(pick(draw, ["end", "all", "inside", "same", "old", "unsent", "none"]))
        return Example((("isn", isn), ("initial_rto", rto), ("max_payload", mp)), tuple(calls))

    return build()


def observe(s: Any, call: Call) -> Observation:
    out = getattr(s, call.method)(*call.values())
    if call.method in ("write", "close", "receive"):
        out = None  # what they return is not part of the interface
    return [("returned", plain(out)), ("in_flight()", plain(s.in_flight())),
            ("consecutive_retransmissions()", plain(s.consecutive_retransmissions())),
            ("make_empty_message()", plain(s.make_empty_message()))]


def valid(params: tuple[tuple[str, Any], ...], calls: Sequence[Call]) -> bool:
    """No write after close (the reference refuses it; the connection never does it)."""
    closed = False
    for c in calls:
        if c.method == "write" and closed:
            return False
        closed = closed or c.method == "close"
    return True


def diagnose(m: Mismatch) -> str | None:
    """A hint for the mistakes students make most often."""
    call = m.calls[-1]
    want, got = dict(m.want), dict(m.got)
    if call.method == "tick" and "returned" in m.differs:
        w, g = want.get("returned"), got.get("returned")
        before = dict(m.agreed[-1]).get("returned") if m.agreed else None
        if w == [] and g and len(m.calls) > 1 and m.calls[-2].method == "tick" and before:
            return ("the timer starts again from zero at the tick that saw it expire: the "
                    "part of that tick's elapsed beyond the RTO does not count (RFC 6298 "
                    "(5.6))")
        if w == [] and g:
            return ("the timer runs only while something is outstanding, and restarts from "
                    "zero on an ACK of new data (RFC 6298 (5.2), (5.3))")
        if w and g == []:
            return ("is the RTO back at its initial value after an ACK of new data, and "
                    "not doubled when the window is zero?")
        if w and g and w != g:
            return "a timeout sends the OLDEST outstanding segment again (RFC 6298 (5.4))"
    if call.method == "receive" and "in_flight()" not in m.differs and \
            "consecutive_retransmissions()" in m.differs and want.get("in_flight()") and \
            want.get("consecutive_retransmissions()"):
        return ("a duplicate ACK (no new data acknowledged) sets back neither the count nor "
                "the RTO, and does not restart the timer (RFC 6298 (5.3): an ACK of new data)")
    if call.method == "receive" and "in_flight()" in m.differs:
        return ("an acknowledgment number past anything sent is ignored (RFC 9293 §3.10.7.4), "
                "and an old one changes nothing")
    if call.method == "push" and "returned" in m.differs:
        return ("the window counts from the last acknowledgment number; the SYN and the FIN "
                "each take one sequence number of it; a zero window is taken as one")
    return None


SPEC = Spec("07b-sender-timer", "s", "Sender", examples, observe, RULES, valid=valid,
            diagnose=diagnose, references=[LabSender], max_examples=150, seed=7)
