"""Grader for assignment 07b-sender-timer: the whole TCP sender (window, SYN/FIN, the
retransmission timer with its backoff, zero-window probes).

The student writes the class ``Sender(isn=0, initial_rto=1.0, max_payload=1000)`` with the
interface of `netsim.stack.tcp.lab_sender.LabSender`: ``write``, ``close``, ``push``,
``receive``, ``tick``, ``in_flight``, ``consecutive_retransmissions``,
``make_empty_message``. Every check is a script run on the student's sender and on
`LabSender` side by side; after every call the return value, ``in_flight()`` and
``consecutive_retransmissions()`` must be the reference's. Segments are plain tuples
``(seqno, syn, payload, fin)``.
"""

from __future__ import annotations

from typing import Any

from netsim.grading.differential import check_fn
from netsim.grading.framework import Assignment, Check, CheckFailed, Context
from netsim.stack.tcp.lab_sender import LabSender

M = 1 << 32
DATA = bytes(range(97, 123)) * 1000  # distinct neighbours, so a shifted byte shows


def _show(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    if isinstance(value, tuple) and len(value) == 4 and isinstance(value[2], bytes):
        payload = value[2] if len(value[2]) <= 12 else f"<{len(value[2])} bytes>"
        return f"({value[0]}, {value[1]}, {payload!r}, {value[3]})".replace("'<", "<") \
            .replace(">'", ">")
    if isinstance(value, bytes) and len(value) > 40:
        return f"<{len(value)} bytes>"
    return repr(value)[:200]


def _plain(value: Any, call: str) -> Any:
    """A segment list or segment from the student's side as plain tuples, or a verdict."""
    if isinstance(value, list):
        return [_plain(v, call) for v in value]
    if isinstance(value, tuple) and len(value) == 4:
        seqno, syn, payload, fin = value
        if isinstance(payload, bytearray):
            payload = bytes(payload)
        if isinstance(seqno, int) and not isinstance(seqno, bool) and \
                isinstance(syn, bool) and isinstance(fin, bool) and isinstance(payload, bytes):
            return (seqno, syn, payload, fin)
        raise CheckFailed(f"{call} must give segments (seqno, syn, payload, fin) of an int, "
                          "True or False, bytes, True or False", input=call,
                          expected="(int, bool, bytes, bool)",
                          got="(" + ", ".join(type(v).__name__ for v in value) + ")",
                          hint="1 and 0 are not True and False, nor a str bytes")
    raise CheckFailed(f"{call} must give segments as plain tuples (seqno, syn, payload, fin)",
                      input=call, expected="a tuple of 4 values",
                      got=_show(value) if isinstance(value, int | str | bytes | list | tuple |
                                                     None) else "an object",
                      hint="return tuples, not objects of a class of yours: only plain values "
                           "cross to the grader")


class _Run:
    """The student's sender and the reference, driven together; every step is logged."""

    def __init__(self, ctx: Context, rule: str, isn: int = 0, initial_rto: float = 1.0,
                 max_payload: int = 1000) -> None:
        self.ctx, self.rule, self.isn = ctx, rule, isn
        self.s = ctx.target()(isn=isn, initial_rto=initial_rto, max_payload=max_payload)
        self.ref = LabSender(isn=isn, initial_rto=initial_rto, max_payload=max_payload)
        self.timer_from = ""  # what last started the reference's timer: "push" or "ack"
        self.rto_reset = False  # an ACK of new data set a backed-off RTO back (reference)
        self.backed_off = False  # the reference's RTO is above initial_rto
        self.after_timeout = False  # the reference's timer last (re)started at a timeout
        self.fin_before = False  # the reference had sent its FIN before this call
        ctx.step(f"s = {ctx.target_name}(isn={isn}, initial_rto={initial_rto}, "
                 f"max_payload={max_payload})")

    def seq(self, n: int) -> int:
        return (self.isn + n) % M  # absolute -> 32-bit

    def _call(self, method: str, *args: Any) -> None:
        shown = f"s.{method}({', '.join(_show(a) for a in args)})"
        before = self.ref.in_flight()
        self.fin_before = self.ref.fin_sent()
        want = getattr(self.ref, method)(*args)
        got = getattr(self.s, method)(*args)
        if method in ("push", "tick"):
            got = _plain(got, shown)
        else:
            want = got = None
        if method == "push" and want and before == 0:
            self.timer_from = "push"
            self.after_timeout = False
        if method == "receive" and self.ref.in_flight() < before:
            self.timer_from = "ack" if self.ref.in_flight() else self.timer_from
            self.after_timeout = False
            self.rto_reset = self.rto_reset or self.backed_off
            self.backed_off = False
        inflight = (self.ref.in_flight(), self.s.in_flight())
        count = (self.ref.consecutive_retransmissions(), self.s.consecutive_retransmissions())
        self.ctx.step(f"{shown} -> {_show(got)}" if method in ("push", "tick") else shown)
        for label, w, g in (("returned", want, got), ("in_flight()", *inflight),
                            ("consecutive_retransmissions()", *count)):
            if w != g or isinstance(g, bool) != isinstance(w, bool):
                raise CheckFailed(self.rule, input=f"{shown}, then {label}" if label !=
                                  "returned" else shown, expected=_show(w), got=_show(g),
                                  hint=self._hint(method, args, label, w, g, before))
        if method == "tick" and want and self.ref.peer_window():
            self.backed_off, self.rto_reset = True, False
        self.after_timeout = self.after_timeout or (method == "tick" and bool(want))

    def _hint(self, method: str, args: tuple[Any, ...], label: str, want: Any, got: Any,
              before: int) -> str | None:
        zero = self.ref.peer_window() == 0
        if label == "consecutive_retransmissions()":
            if method == "receive" and self.ref.in_flight() == before and want:
                return ("a duplicate ACK (no new data acknowledged) sets back neither the "
                        "count nor the RTO, and does not restart the timer (RFC 6298 (5.3): "
                        "an ACK of new data)")
            if method == "receive":
                return "an ACK of new data sets the consecutive count back to 0"
            if zero and isinstance(got, int) and got > want:
                return ("with a zero window a timeout is a probe (RFC 9293 §3.8.6.1, "
                        "zero-window probing): no count and no backoff")
            return "each timeout with a non-zero window counts one retransmission"
        if label == "in_flight()" and method == "receive":
            if self.ref.in_flight() == before:
                return ("an acknowledgment number of something not yet sent is ignored "
                        "(RFC 9293 §3.10.7.4: an ACK of a segment not yet sent), and an old "
                        "one changes nothing")
            return "in_flight() counts from the highest acknowledgment number received"
        if label == "in_flight()":
            return "the SYN and the FIN each take one sequence number in flight"
        if method == "tick":
            if want == [] and got:
                if self.after_timeout:
                    return ("after a timeout the timer starts again from zero (RFC 6298 "
                            "(5.6)), with the doubled RTO")
                if self.timer_from == "ack":
                    return ("the timer restarts from zero on an ACK of new data (RFC 6298 "
                            "(5.3))")
                return ("the timer is off while nothing is outstanding (RFC 6298 (5.2)) and "
                        "starts from zero when a segment is sent (RFC 6298 (5.1))")
            if want and got == []:
                if zero:
                    return "a zero window: the probe is sent again at the same RTO, not doubled"
                if self.rto_reset:
                    return "the RTO goes back to initial_rto on an ACK of new data"
                if not self.backed_off:
                    return ("the timer adds up the elapsed times of every tick since it "
                            "started: it expires when they reach the RTO")
                return "the RTO doubles at each timeout and the timer restarts from zero"
            if want and got and len(got) == 1 and got[0][0] == want[0][0]:
                return ("a timeout sends the oldest outstanding segment again as it was sent: "
                        "the same sequence number, flags and bytes (RFC 6298 (5.4))")
            if want and got:
                return "a timeout sends the OLDEST outstanding segment again (RFC 6298 (5.4))"
        if method == "push":
            fins = sum(bool(g[3]) for g in got)
            if fins > 1 or (fins and self.fin_before):
                return "the FIN goes only once: after it, push() sends nothing new"
            if zero and want == [] and got:
                return ("one probe at a time: while it is outstanding push() sends nothing "
                        "more, and the timer sends it again")
            if want and got == [] and zero:
                return ("a zero window is taken as one: push() sends a one-byte probe "
                        "(RFC 9293 §3.8.6.1, zero-window probing)")
            if want and got and want[0][1] and len(got[0][2]) == len(want[0][2]) + 1:
                return ("the SYN takes one sequence number of the window: a segment with the "
                        "SYN carries at most window - 1 bytes")
            if any(g[3] for g in got) and not any(w[3] for w in want or []):
                return ("the FIN takes a sequence number of the window too: send it only when "
                        "there is room for it")
            return ("the window counts from the last acknowledgment number: at most window - "
                    "in_flight() new sequence numbers, max_payload bytes a segment")
        return None

    def write(self, data: bytes) -> None:
        self._call("write", data)

    def close(self) -> None:
        self._call("close")

    def push(self) -> None:
        self._call("push")

    def receive(self, ack: int | None, window: int) -> None:
        self._call("receive", None if ack is None else self.seq(ack), window)

    def tick(self, elapsed: float) -> None:
        self._call("tick", elapsed)

    def empty(self) -> None:
        want = self.ref.make_empty_message()
        got = _plain(self.s.make_empty_message(), "s.make_empty_message()")
        self.ctx.step(f"s.make_empty_message() -> {_show(got)}")
        if want != got:
            raise CheckFailed(self.rule, input="s.make_empty_message()", expected=_show(want),
                              got=_show(got), hint="its seqno is the next sequence number "
                              "to send, and it carries nothing")


def check_syn(ctx: Context) -> None:
    r = _Run(ctx, "push() sends the SYN first: (ISN, True, b'', False) while the peer's window "
             "is not known (taken as 1); the SYN takes one sequence number (RFC 9293 §3.4)",
             isn=M - 1)
    r.write(b"hello")
    r.push()
    r.push()
    r.empty()
    r.receive(1, 1000)
    r.push()
    r.empty()


def check_fill_window(ctx: Context) -> None:
    r = _Run(ctx, "push() fills the window: at most max_payload bytes a segment, and never "
             "more sequence numbers in flight than the window offers from the last "
             "acknowledgment number", isn=5000)
    r.write(DATA[:2500])
    r.push()
    r.receive(1, 3000)
    r.push()
    r.write(DATA[2500:4000])
    r.push()
    r.receive(1001, 3000)
    r.push()
    r.receive(3001, 500)
    r.push()


def check_syn_fin(ctx: Context) -> None:
    r = _Run(ctx, "the SYN, payload and the FIN share one segment when the window has room "
             "for all: SYN and FIN take one sequence number each (RFC 9293 §3.4)", isn=77)
    r.write(b"hello")
    r.close()
    r.receive(None, 10)
    r.push()
    r.push()
    r.receive(7, 10)
    r.empty()


def check_fin_room(ctx: Context) -> None:
    r = _Run(ctx, "the FIN takes one sequence number of the window: it goes only when there "
             "is room for it, and only once", isn=M - 2)
    r.write(DATA[:10])
    r.close()
    r.receive(None, 11)
    r.push()
    r.push()
    r.receive(11, 1)
    r.push()
    r.push()
    r.receive(12, 100)
    r.push()


def check_acks(ctx: Context) -> None:
    r = _Run(ctx, "receive(): an ACK of new data lets the segments it covers go; an old or "
             "duplicate one changes nothing; one of something not yet sent is ignored, "
             "window included (RFC 9293 §3.10.7.4)", max_payload=100)
    r.write(DATA[:300])
    r.receive(None, 1000)
    r.push()
    r.receive(500, 0)  # not yet sent
    r.write(DATA[300:350])
    r.push()
    r.receive(101, 1000)
    r.receive(50, 1000)  # old
    r.receive(101, 1000)  # duplicate
    r.receive(351, 1000)


def check_timer(ctx: Context) -> None:
    r = _Run(ctx, "the retransmission timer starts when a segment is sent and it is not "
             "running (RFC 6298 (5.1)), expires after RTO seconds, and is off while nothing is "
             "outstanding (RFC 6298 (5.2))", isn=100)
    r.tick(5)
    r.push()
    r.tick(0.75)
    r.tick(0.25)
    r.receive(1, 1000)
    r.tick(10)
    r.write(DATA[:10])
    r.push()
    r.tick(0.75)
    r.tick(0.25)


def check_backoff(ctx: Context) -> None:
    r = _Run(ctx, "each timeout with a non-zero window sends the segment again, doubles the "
             "RTO (RFC 6298 (5.5)) and restarts the timer (RFC 6298 (5.6)); "
             "consecutive_retransmissions() counts them", isn=9)
    r.push()
    for wait in (1, 2, 4):
        r.tick(wait - 0.25)
        r.tick(0.25)


def check_ack_resets(ctx: Context) -> None:
    r = _Run(ctx, "an ACK of new data sets the RTO back to initial_rto and the count to 0, and "
             "restarts the timer while data is outstanding (RFC 6298 (5.3)); a duplicate ACK "
             "does none of this", max_payload=10)
    r.write(DATA[:30])
    r.receive(None, 1000)
    r.push()
    r.tick(1)
    r.tick(2)
    r.receive(0, 1000)  # a duplicate: the count, the RTO and the timer stay
    r.tick(3.25)
    r.receive(11, 1000)
    r.tick(0.75)
    r.tick(0.25)


def check_oldest(ctx: Context) -> None:
    r = _Run(ctx, "a timeout sends the oldest outstanding segment again, and only it "
             "(RFC 6298 (5.4))", isn=M - 20, max_payload=100)
    r.write(DATA[:300])
    r.receive(None, 1000)
    r.push()
    r.receive(101, 1000)
    r.tick(1)
    r.receive(201, 1000)
    r.tick(1)
    r.receive(301, 1000)
    r.write(b"ab")  # two small segments: the oldest goes again as it was, not merged
    r.push()
    r.write(b"cd")
    r.push()
    r.tick(1)


def check_zero_window(ctx: Context) -> None:
    r = _Run(ctx, "a zero window is taken as one: push() sends a one-byte probe, and its "
             "timeouts send it again with no backoff and no count (RFC 9293 §3.8.6.1, "
             "zero-window probing)", isn=1 << 31)
    r.write(DATA[:10])
    r.push()
    r.receive(1, 0)
    r.push()
    r.push()
    r.tick(1)
    r.tick(1)
    r.receive(2, 0)
    r.push()
    r.receive(3, 5)
    r.push()


def check_simulation(ctx: Context) -> None:
    from netsim.grading.sender_timer_sim import check_transfer
    check_transfer(ctx)


def check_netsim_tcp(ctx: Context) -> None:
    """A peer made of the student's sender and netsim's receiver opens a connection to
    netsim's own TCP across a 5% lossy link, sends 100 kB and its FIN, and gets 20 kB and a
    FIN back."""
    import random

    from netsim.grading.sender_timer_peer import exchange

    rng = random.Random(17)
    up, down = rng.randbytes(100_000), rng.randbytes(20_000)
    kw: dict[str, Any] = dict(isn=rng.randrange(M), initial_rto=0.2, max_payload=1000)
    ctx.step(f"s = {ctx.target_name}(isn={kw['isn']}, initial_rto=0.2, max_payload=1000), "
             "with netsim's receiver, connects to netsim's TCP: 10 ms each way, 5% of the "
             "segments lost either way; 100 kB and a FIN up, 20 kB and a FIN back")
    ref = exchange(LabSender(**kw), up, down, seed=17)
    res = exchange(ctx.target()(**kw), up, down, seed=17, max_payload=kw["max_payload"],
                   max_retransmissions=2 * ref.retransmissions + 20)
    ctx.step(f"-> up intact={res.up_intact}, down intact={res.down_intact}, {res.segments} "
             f"segments, {res.retransmissions} retransmitted, {res.seconds:.2f} s (the "
             f"reference: {ref.retransmissions} retransmitted, {ref.seconds:.2f} s)"
             + (", netsim's TCP sent a RST" if res.reset else ""))
    if res.error:
        raise CheckFailed("every segment on the link must follow the rules: the SYN first and "
                          "only at the ISN, the stream's own bytes at their sequence numbers, "
                          "at most max_payload bytes, the FIN right after the last byte, "
                          "nothing past the window the peer offered", got=res.error)
    if not (res.up_intact and res.down_intact) or res.reset:
        raise CheckFailed("the connection with netsim's TCP did not carry both streams and "
                          "both FINs intact within 120 simulated seconds",
                          expected="up and down intact, no RST",
                          got=f"up intact={res.up_intact}, down intact={res.down_intact}, "
                          f"RST={res.reset}")
    if res.retransmissions > 2 * ref.retransmissions + 20:
        raise CheckFailed("your sender retransmits far more than the reference in the same "
                          "connection (a timer that fires too early or too often?)",
                          expected=f"about {ref.retransmissions} retransmissions",
                          got=f"{res.retransmissions}")


ASSIGNMENT = Assignment(
    name="07b-sender-timer",
    title="The TCP sender: window, SYN/FIN, retransmission timer, zero-window probes",
    filename="sender.py",
    target="Sender",
    reference="netsim.stack.tcp.lab_sender:LabSender",
    returns={
        "push()": (list,),
        "tick()": (list,),
        "in_flight()": (int,),
        "consecutive_retransmissions()": (int,),
        "make_empty_message()": (tuple,),
    },
    checks=(
        Check("syn", 1, check_syn, "the SYN first, alone while the window is not known"),
        Check("fill_window", 2, check_fill_window,
              "push() fills the window, max_payload bytes a segment"),
        Check("syn_fin", 1, check_syn_fin, "SYN, payload and FIN in one segment"),
        Check("fin_room", 2, check_fin_room, "the FIN only when the window has room, once"),
        Check("acks", 2, check_acks,
              "ACKs of new data, old and duplicate ACKs, ACKs of unsent data (ignored)"),
        Check("timer", 2, check_timer,
              "the timer: started by a send, expires at RTO, off when nothing is outstanding"),
        Check("backoff", 2, check_backoff, "each timeout doubles the RTO and counts one"),
        Check("ack_resets", 2, check_ack_resets,
              "an ACK of new data resets RTO and count, restarts the timer; a duplicate does "
              "not"),
        Check("oldest", 1, check_oldest, "a timeout resends the oldest outstanding segment"),
        Check("zero_window", 2, check_zero_window,
              "zero window: one-byte probes, no backoff, no count"),
        Check("random_sequences", 3, check_fn("07b-sender-timer"),
              "random call sequences: after every call the same answers as the reference",
              kind="random"),
        Check("simulation_lossy_link", 3, check_simulation,
              "200 kB over a lossy, reordering, duplicating link to netsim's receiver: intact",
              kind="simulation"),
        Check("netsim_tcp", 3, check_netsim_tcp,
              "a connection with netsim's own TCP over a lossy link: 100 kB up, 20 kB back",
              kind="simulation"),
    ),
)
