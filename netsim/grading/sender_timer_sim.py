"""The simulation check of assignment 07b: the student's sender moves 200 kB to netsim's
receiver (`StreamReceiver`) across a simulated link that loses, reorders and duplicates
segments both ways, with a slow reading application, so the window closes and zero-window
probes are needed. Its own small event loop: the sender's whole interface is plain values, so
no TCP header or stack is needed around it.

`transfer` runs one such transfer with any sender object (a student's through the sandbox's
proxy, or `LabSender`); `check_transfer` is the grader's check: intact, FIN delivered, every
segment acknowledged, and not far more retransmissions than the reference needs.

Run it on your own class: ``python -m netsim.labrun sender-link sender.py``.
"""

from __future__ import annotations

import heapq
import random
from dataclasses import dataclass
from typing import Any

from netsim.grading.framework import CheckFailed, Context
from netsim.grading.sender_timer_audit import Audit
from netsim.stack.tcp.lab_sender import LabSender
from netsim.stack.tcp.tcp_receiver import StreamReceiver


@dataclass(frozen=True)
class LinkSpec:
    delay: float = 0.01  # seconds one way
    loss: float = 0.05  # each segment and each ACK
    reorder: float = 0.1  # this share is held back up to another `delay`
    duplicate: float = 0.02
    capacity: int = 8000  # the receiver's buffer, bytes
    read_bytes: int = 4000  # the application reads this much ...
    read_every: float = 0.02  # ... this often (seconds)
    tick_every: float = 0.01  # how often the sender is told that time passed


@dataclass(frozen=True)
class Transfer:
    intact: bool  # every byte arrived, in order, and the FIN
    delivered: int
    sent_segments: int
    retransmissions: int  # segments carrying only numbers sent before (the audit counts)
    probes: int  # segments sent while the peer's last window was zero
    seconds: float  # simulated
    all_acked: bool  # the FIN was acknowledged to it and its in_flight() was 0 at the end
    error: str = ""  # the rule a segment broke (sender_timer_audit); the transfer stopped there


def transfer(sender: Any, data: bytes, seed: int = 7, link: LinkSpec = LinkSpec(),
             time_limit: float = 120.0, max_payload: int = 1000,
             max_retransmissions: int | None = None) -> Transfer:
    """Send `data` (then close) with `sender` (made with `max_payload`) to netsim's receiver;
    see the module doc. Every segment is audited (`Audit`) before it goes on the link; more
    than `max_retransmissions` segments sent again stop the transfer."""
    rng = random.Random(seed)
    events: list[tuple[float, int, str, Any]] = []
    order = [0]

    def at(t: float, kind: str, what: Any = None) -> None:
        order[0] += 1
        heapq.heappush(events, (t, order[0], kind, what))

    def over_link(t: float, kind: str, what: Any) -> None:
        if rng.random() < link.loss:
            return
        for _ in range(2 if rng.random() < link.duplicate else 1):
            extra = rng.random() * link.delay if rng.random() < link.reorder else 0.0
            at(t + link.delay + extra, kind, what)

    rcv = StreamReceiver()
    got = bytearray()
    read = 0  # bytes the application has read (the rest takes room in the buffer)
    now = 0.0
    probes = 0
    window_seen = 1  # the window of the last ACK the receiver sent
    audit = Audit(data, max_payload, max_retransmissions)

    def emit(t: float, segments: list[Any]) -> None:
        nonlocal probes
        if not isinstance(segments, list):
            audit.segments += 1
            audit.error = audit.error or "push() and tick() return a list of segments"
            return
        for seg in segments:
            if not audit.segment(seg):
                return
            probes += window_seen == 0
            over_link(t, "segment", tuple(seg))

    sender.write(data)
    sender.close()
    emit(0.0, sender.push())
    at(link.tick_every, "tick")
    at(link.read_every, "read")
    while events and not audit.error:
        t, _, kind, what = heapq.heappop(events)
        if t > time_limit:
            break
        if t > now:
            emit(t, sender.tick(t - now))
            now = t
        if kind == "segment":
            seqno, syn, payload, fin = what
            got += rcv.receive(seqno, syn, fin, bytes(payload), link.capacity - len(got) + read)
            ackno = rcv.ackno()
            if ackno is not None:
                window_seen = link.capacity - len(got) + read
                over_link(t, "ack", (ackno, window_seen))
        elif kind == "ack":
            sender.receive(*what)
            audit.ack(*what)
            emit(t, sender.push())
        elif kind == "tick":
            emit(t, sender.push())
            if not (rcv.reassembler.finished and sender.in_flight() == 0):
                at(t + link.tick_every, "tick")
        elif kind == "read":
            was = len(got) - read
            read = min(len(got), read + link.read_bytes)
            ackno = rcv.ackno()
            if was >= link.capacity - 1000 and ackno is not None:
                window_seen = link.capacity - len(got) + read  # a window update
                over_link(t, "ack", (ackno, window_seen))
            if not rcv.reassembler.finished or read < len(got):
                at(t + link.read_every, "read")
    intact = bytes(got) == data and rcv.reassembler.finished and not audit.error
    all_acked = audit.fin_acked() and sender.in_flight() == 0
    return Transfer(intact, len(got), audit.segments, audit.retransmissions, probes, now,
                    all_acked, audit.error)


def check_transfer(ctx: Context, seed: int = 7) -> None:
    data = random.Random(seed).randbytes(200_000)
    kw: dict[str, Any] = dict(isn=(1 << 32) - 50_000, initial_rto=0.1, max_payload=1000)
    ref = transfer(LabSender(**kw), data, seed)
    ctx.step(f"s = {ctx.target_name}(isn={kw['isn']}, initial_rto=0.1, max_payload=1000); "
             "200 kB to netsim's receiver, 10 ms each way, 5% lost, 10% reordered, 2% "
             "duplicated; an 8000-byte receive buffer read 4000 bytes every 20 ms")
    res = transfer(ctx.target()(**kw), data, seed, max_payload=kw["max_payload"],
                   max_retransmissions=2 * ref.retransmissions + 20)
    ctx.step(f"-> intact={res.intact}, {res.delivered} bytes delivered, {res.sent_segments} "
             f"segments sent, {res.retransmissions} retransmitted, {res.probes} zero-window "
             f"probes, {res.seconds:.2f} s (the reference: {ref.retransmissions} retransmitted,"
             f" {ref.seconds:.2f} s)")
    if res.error:
        raise CheckFailed("every segment on the link must follow the rules: the SYN first and "
                          "only at the ISN, the stream's own bytes at their sequence numbers, "
                          "at most max_payload bytes, the FIN right after the last byte, "
                          "nothing past the window the peer offered",
                          got=res.error)
    if not res.intact or not res.all_acked:
        raise CheckFailed("the transfer did not arrive intact with its FIN, every segment "
                          "acknowledged, within 120 simulated seconds",
                          expected=f"{len(data)} bytes and the FIN; the FIN acknowledged and "
                                   "in_flight() 0 at the end",
                          got=f"{res.delivered} bytes, intact={res.intact}, in_flight() 0: "
                          f"{res.all_acked}")
    if res.retransmissions > 2 * ref.retransmissions + 20:
        raise CheckFailed("your sender retransmits far more than the reference on the same "
                          "link (a timer that fires too early or too often?)",
                          expected=f"about {ref.retransmissions} retransmissions",
                          got=f"{res.retransmissions}")
