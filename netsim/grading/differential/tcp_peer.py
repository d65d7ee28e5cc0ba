"""Differential check of assignment 10: the whole TCP peer against `LabPeer`.

A sequence is what one connection could bring: the peer opens actively (``connect()``) or
passively (the other side's SYN arrives), then the application writes, closes and reads, time
passes (now and then an outage: timeouts in a row, up to giving up), and segments arrive. The
other side is a second `LabPeer` in the generator, so most segments are real ones (data, ACKs,
FINs, window updates, retransmissions); the network between the two loses, duplicates and
reorders them, and now and then a segment is made up: a RST with a sequence number inside or
outside the window (with an ACK or none), a bare ACK outside the window. Parameters are small
(a few bytes a segment, a buffer of a few bytes) so windows fill and close. Ticks are binary
fractions or multiples of the current RTO, so sums of times are exact. After each call it
compares what was returned, ``active()`` and ``at_eof()``.

The generator steps the reference along to choose the segments; the calls on the peer under
test are the only ones recorded.
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
from netsim.stack.tcp.lab_peer import LabPeer

M = 1 << 32
STREAM = bytes(range(97, 97 + 26)) * 4  # distinct neighbours, so a shifted byte shows
SEGMENT_METHODS = ("connect", "receive", "write", "close", "tick")

RULES = {
    "returned": "what the peer sends: the sender's segments with ackno = receiver.ackno() and "
                "window = receiver.window_field(capacity - unread, 0); one empty ACK for a "
                "segment that takes sequence space or lies outside the window when push() "
                "gives nothing; nothing in answer to a RST; one RST on giving up; read(): "
                "the unread bytes",
    "active()": "active() is False after an acceptable RST, after giving up, after a passive "
                "close once our FIN is acknowledged, and 10 x initial_rto after the last "
                "segment of an active close",
    "at_eof()": "at_eof() is True once the other side's FIN arrived and every byte before it "
                "was read",
}


def examples() -> Any:
    from hypothesis import strategies as st

    @st.composite
    def build(draw: Any) -> Example:
        isn = pick(draw, [M - 3, 0, 12345, M - 1, 1 << 31], 0, M - 1)
        rto = pick(draw, [1.0, 0.5])
        params = {"isn": isn, "initial_rto": rto, "max_payload": pick(draw, [4, 1000, 3, 1]),
                  "capacity": pick(draw, [12, 64000, 5, 30, 100_000])}
        ref = LabPeer(**params)
        theirs = pick(draw, [5000, M - 2, 0], 0, M - 1)
        remote = LabPeer(theirs, rto, pick(draw, [4, 1000, 3]), pick(draw, [12, 64000, 6]))
        to_ref: list[Any] = []  # segments on their way to the peer under test
        to_remote: list[Any] = []
        seen: list[Any] = []  # segments delivered (for duplicates)
        calls: list[Call] = []
        st_ = {"written": 0, "closed": False, "remote_written": 0, "remote_closed": False}

        def call(method: str, *args: tuple[str, Any]) -> None:
            calls.append(Call(method, args))
            out = getattr(ref, method)(*[v for _, v in args])
            if method in SEGMENT_METHODS:
                to_remote.extend(out)

        def deliver(seg: Any) -> None:
            seen.append(seg)
            call("receive", ("seg", seg))

        def answer() -> None:  # the other side gets what the peer sent (some lost)
            while to_remote:
                seg = to_remote.pop(0)
                if pick(draw, [True, True, True, False]):
                    to_ref.extend(remote.receive(seg))
            if pick(draw, [True, False]):
                remote.read()

        def made_up(kind: str) -> Any:
            nxt = remote._sender.make_empty_message()[0]  # the other side's next seqno
            off = pick(draw, [0, 1, 3, params["capacity"], 100_000, -1, -40])
            seqno = (nxt + off) % M
            if kind == "rst":
                ackno = pick(draw, [None, (isn + 1) % M, ref._sender.make_empty_message()[0],
                                    (isn + 9) % M])
                return (seqno, ackno, 0, False, False, True, b"")
            return (seqno, ref._sender.make_empty_message()[0], 64000, False, False, False,
                    b"")

        if pick(draw, [True, False]):
            call("connect")
        else:
            to_ref.extend(remote.connect())
        while more(draw, len(calls), 40, least=8):
            kind = pick(draw, ["deliver", "answer", "deliver", "write", "tick", "deliver",
                               "answer", "read", "remote_write", "close", "remote_close",
                               "reorder", "dup", "rst", "junk", "remote_tick", "outage",
                               "flush", "close", "remote_close", "flush"])
            if kind == "deliver" and to_ref:
                deliver(to_ref.pop(0))
            elif kind == "reorder" and len(to_ref) > 1:
                deliver(to_ref.pop(pick(draw, list(range(1, len(to_ref))))))
            elif kind == "dup" and seen:
                deliver(pick(draw, seen[::-1]))
            elif kind in ("rst", "junk"):
                deliver(made_up(kind))
            elif kind == "write" and not st_["closed"]:
                n = pick(draw, [5, 1, 0, 12, 30])
                w = st_["written"] % 26
                call("write", ("data", STREAM[w:w + n]))
                st_["written"] += n
            elif kind == "close" and not st_["closed"]:
                call("close")
                st_["closed"] = True
            elif kind == "read":
                call("read")
            elif kind == "tick":  # fractions of the current RTO: exact in binary
                now = ref._sender._rto
                call("tick", ("elapsed", pick(draw, [now / 2, now, now / 4, 2 * now, 0.0,
                                                     8 * rto, 4 * rto])))
            elif kind == "flush":  # the network settles: everything in flight arrives
                for _ in range(3):
                    answer()
                    while to_ref:
                        deliver(to_ref.pop(0))
            elif kind == "outage":  # nothing arrives for a while: timeouts in a row
                for _ in range(pick(draw, [9, 3, 8, 12])):
                    call("tick", ("elapsed", ref._sender._rto))
            elif kind == "remote_write" and not st_["remote_closed"]:
                n = pick(draw, [5, 1, 12, 30])
                w = st_["remote_written"] % 26
                to_ref.extend(remote.write(STREAM[w:w + n]))
                st_["remote_written"] += n
            elif kind == "remote_close" and not st_["remote_closed"]:
                to_ref.extend(remote.close())
                st_["remote_closed"] = True
            elif kind == "remote_tick":
                to_ref.extend(remote.tick(pick(draw, [rto, 2 * rto, rto / 2])))
            else:
                answer()
        return Example(tuple(params.items()), tuple(calls))

    return build()


def observe(peer: Any, call: Call) -> Observation:
    out = getattr(peer, call.method)(*call.values())
    return [("returned", plain(out)), ("active()", plain(peer.active())),
            ("at_eof()", plain(peer.at_eof()))]


def valid(params: tuple[tuple[str, Any], ...], calls: Sequence[Call]) -> bool:
    """No write after close (the reference refuses it; the application never does it)."""
    closed = False
    for c in calls:
        if c.method == "write" and closed:
            return False
        closed = closed or c.method == "close"
    return True


def diagnose(m: Mismatch) -> str | None:
    """A hint for the mistakes students make most often."""
    from netsim.grading.tcp_peer_run import ACK_IT, RST_NEVER_ANSWERED

    call = m.calls[-1]
    want, got = dict(m.want), dict(m.got)
    w, g = want.get("returned"), got.get("returned")
    seg = call.values()[0] if call.method == "receive" else None
    rst = isinstance(seg, tuple) and len(seg) == 7 and seg[5]
    if "returned" in m.differs:
        if rst and g and not w:
            return RST_NEVER_ANSWERED
        if call.method == "receive" and w and not g:
            return ACK_IT + "; so is one outside the receive window"
        if call.method == "tick" and g and isinstance(g[-1], tuple) and len(g[-1]) == 7 \
                and g[-1][5] and not (w and w[-1][5]):
            return ("give up only when consecutive_retransmissions() EXCEEDS 8: the 8th "
                    "retransmission still goes (RFC 9293 §3.8.3, connection failures)")
        if call.method == "tick" and w and w[-1][5]:
            return ("after 8 retransmissions in a row (consecutive_retransmissions() > 8) "
                    "the next timeout gives up: one RST (connection failures, RFC 9293 §3.8.3)")
        if call.method == "tick" and w and not g:
            return "tick() hands the elapsed time to the sender: its timer resends segments"
        if isinstance(w, list) and isinstance(g, list) and len(w) == len(g):
            for a, b in zip(w, g, strict=True):
                if isinstance(a, tuple) and isinstance(b, tuple) and len(b) == 7:
                    if a[1] != b[1]:
                        return "every segment carries ackno = receiver.ackno() (rule 4)"
                    if a[2] != b[2]:
                        return ("the window field is receiver.window_field(capacity - unread "
                                "bytes, 0): unread bytes take room, read() frees it")
    if "active()" in m.differs and rst:
        return ("a RST counts in SYN-SENT only if it acknowledges our SYN (RFC 9293 "
                "§3.10.7.3), later only if its sequence number is in the window (reset "
                "processing, RFC 9293 §3.5.3)")
    if "active()" in m.differs:
        return ("an active close lingers 10 x initial_rto after the last segment received; a "
                "passive close ends once our FIN is acknowledged (rule 6)")
    return None


SPEC = Spec("10-tcp-peer", "p", "TcpPeer", examples, observe, RULES, valid=valid,
            diagnose=diagnose, references=[LabPeer], max_examples=40, seed=10)
