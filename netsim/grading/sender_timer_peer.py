"""A minimal TCP peer built from a student's 07b sender and netsim's receiver
(`StreamReceiver`), talking to netsim's own TCP across a lossy simulated link: the student
sees their sender move bytes to a real TCP, and the real TCP's answer come back.

The peer opens the connection (its sender's SYN), sends `up` and its FIN; netsim's TCP
(listening, driven by `netsim.testing.script.TcpScript`, a fake clock and no other traffic)
reads all of it, then sends `down` back and closes. Segments cross a link with a fixed delay
that loses each one (either way) with probability `loss`. Time advances in steps of `step`
seconds; the sender's `tick` gets the same steps.

    python -m netsim.labrun sender-peer sender.py[:Sender] [--loss 0.05] [--seed 7]
"""

from __future__ import annotations

import heapq
import random
from dataclasses import dataclass
from typing import Any

from netsim.grading.sender_timer_audit import Audit
from netsim.stack.tcp.config import TcpConfig
from netsim.stack.tcp.tcp_receiver import StreamReceiver
from netsim.testing.script import TcpScript
from netsim.wire.tcp import ACK, FIN, RST, SYN, TCPSegment

RCV_WINDOW = 65535  # the peer reads at once, so it always offers its whole buffer


@dataclass(frozen=True)
class PeerResult:
    up_intact: bool  # netsim's TCP read every byte the sender sent, then its FIN
    down_intact: bool  # the peer's receiver got netsim's bytes and FIN
    segments: int  # the sender's segments (retransmissions included)
    retransmissions: int  # segments carrying only numbers sent before (the audit counts)
    seconds: float  # simulated
    reset: bool  # netsim's TCP sent a RST
    error: str = ""  # the rule a segment broke (sender_timer_audit); the exchange stopped there


def exchange(sender: Any, up: bytes, down: bytes, *, loss: float = 0.05, delay: float = 0.01,
             seed: int = 7, step: float = 0.005, time_limit: float = 120.0,
             max_payload: int = 1000, max_retransmissions: int | None = None) -> PeerResult:
    """Run the exchange described in the module doc with `sender` (a 07b sender made with
    `isn`, `initial_rto` and `max_payload`; its stream is written here). Every segment it
    sends is audited (`Audit`) before it goes on the link; more than `max_retransmissions`
    segments sent again stop the exchange."""
    rng = random.Random(seed)
    h = TcpScript(TcpConfig())
    h.listen(80)
    rcv = StreamReceiver()
    got_down = bytearray()
    got_up = bytearray()
    down_left = down
    in_transit: list[tuple[float, int, str, Any]] = []  # (arrival, order, way, segment)
    order = [0]
    counts = {"reset": 0}
    audit = Audit(up, max_payload, max_retransmissions)

    def link(way: str, what: Any) -> None:
        if rng.random() >= loss:
            order[0] += 1
            heapq.heappush(in_transit, (h.now + delay, order[0], way, what))

    def send(msg: Any, empty: bool = False) -> None:
        if not audit.segment(msg, empty):
            return
        seqno, syn, payload, fin = msg
        link("up", (seqno, bool(syn), bytes(payload), bool(fin), rcv.ackno()))

    def to_netsim(seqno: int, syn: bool, payload: bytes, fin: bool, ackno: int | None) -> None:
        flags = ("S" if syn else "") + ("F" if fin else "") + ("A" if ackno is not None else "")
        h.inject(flags or "A", seq=seqno, ack=ackno or 0, window=RCV_WINDOW, payload=payload,
                 options={"mss": 1000} if syn else ())

    def to_peer(seg: TCPSegment) -> None:
        if seg.flags & RST:
            counts["reset"] = 1
            return
        got_down.extend(rcv.receive(seg.seq, bool(seg.flags & SYN), bool(seg.flags & FIN),
                                    seg.payload, RCV_WINDOW))
        sender.receive(seg.ack if seg.flags & ACK else None, seg.window)
        audit.ack(seg.ack if seg.flags & ACK else None, seg.window)
        if seg.flags & (SYN | FIN) or seg.payload:
            send(sender.make_empty_message(), empty=True)  # acknowledge what arrived

    sender.write(up)
    sender.close()
    conn = None
    while h.now < time_limit and not counts["reset"] and not audit.error:
        for msg in _segments(sender.push(), audit):
            send(msg)
        while in_transit and in_transit[0][0] <= h.now + 1e-9:
            _, _, way, what = heapq.heappop(in_transit)
            if way == "up":
                to_netsim(*what)
            else:
                to_peer(what)
        conn = conn or h.accept()
        if conn is not None:
            got_up += h.app_recv()
            if conn.at_eof and down_left:  # all of `up` read: answer, then close
                n = h.app_send(down_left)
                down_left = down_left[n:]
                if not down_left:
                    h.app_shutdown()
        for seg in h.drain():
            link("down", seg)
        if rcv.reassembler.finished and sender.in_flight() == 0 and conn is not None and \
                conn.at_eof and not in_transit and not down_left:
            break
        h.advance(step)
        for msg in _segments(sender.tick(step), audit):
            send(msg)
    up_ok = bytes(got_up) == up and conn is not None and bool(conn.at_eof) and not audit.error
    down_ok = bytes(got_down) == down and rcv.reassembler.finished
    return PeerResult(up_ok, down_ok, audit.segments, audit.retransmissions, h.now,
                      bool(counts["reset"]), audit.error)


def _segments(value: Any, audit: Audit) -> list[Any]:
    """What push() or tick() returned, if a list (else nothing, and the audit's error)."""
    if isinstance(value, list):
        return value
    audit.error = audit.error or "push() and tick() return a list of segments"
    return []
