"""The scripted checks' harness for assignment 10-tcp-peer: the student's peer and netsim's
`LabPeer` driven side by side, every value from the student's side checked before use, and
a hint for the mistakes students make most often.

After every call the returned segments, ``active()`` and ``at_eof()`` must be the
reference's. A segment is a plain 7-tuple ``(seqno, ackno, window, syn, fin, rst, payload)``.
"""

from __future__ import annotations

from typing import Any

from netsim.grading.framework import CheckFailed, Context
from netsim.stack.tcp.lab_peer import LabPeer

M = 1 << 32
Seg = tuple[int, int | None, int, bool, bool, bool, bytes]
FIELDS = ("seqno", "ackno", "window", "syn", "fin", "rst", "payload")
SEGMENT_METHODS = ("connect", "receive", "write", "close", "tick")
MAX_SEGMENTS = 1000  # segments one call may return (a grading script never needs more)


def show(value: Any) -> str:
    """A value for the feedback: segments as tuples with long payloads shortened, the rest
    as repr (so text from the student's side is escaped), capped."""
    if isinstance(value, list):
        inner = [show(v) for v in value[:8]]
        more = [f"... {len(value) - 8} more"] if len(value) > 8 else []
        return "[" + ", ".join(inner + more) + "]"
    if isinstance(value, tuple) and len(value) == 7:
        parts = [show(v) for v in value[:6]]
        payload = value[6]
        if isinstance(payload, bytes) and len(payload) > 12:
            parts.append(f"<{len(payload)} bytes>")
        else:
            parts.append(show(payload))
        return "(" + ", ".join(parts) + ")"
    if isinstance(value, bytes) and len(value) > 40:
        return f"<{len(value)} bytes {value[:8]!r}...>"
    text = repr(value)
    return text if len(text) <= 200 else text[:197] + "..."


def _is_int(value: Any, lo: int, hi: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and lo <= value <= hi


def segment_problem(value: Any) -> str | None:
    """What is wrong with one segment from the student's side, or None."""
    if not isinstance(value, tuple):
        what = "an object of a class of yours" if not isinstance(
            value, int | float | str | bytes | list | dict | None) else type(value).__name__
        return f"a segment is a tuple of 7 values, not {what}"
    if len(value) != 7:
        return f"a segment is a tuple of 7 values (seqno, ackno, window, syn, fin, rst, " \
               f"payload), not of {len(value)}"
    seqno, ackno, window, syn, fin, rst, payload = value
    if not _is_int(seqno, 0, M - 1):
        return f"seqno must be an int in [0, 2**32), not {show(seqno)}"
    if ackno is not None and not _is_int(ackno, 0, M - 1):
        return f"ackno must be None or an int in [0, 2**32), not {show(ackno)}"
    if not _is_int(window, 0, 0xFFFF):
        return (f"window must be the 16-bit window field, an int in [0, 65535], not "
                f"{show(window)} (receiver.window_field caps it)")
    for name, flag in (("syn", syn), ("fin", fin), ("rst", rst)):
        if not isinstance(flag, bool):
            return f"{name} must be True or False, not {show(flag)}"
    if not isinstance(payload, bytes):
        return f"payload must be bytes, not {type(payload).__name__}"
    return None


def segments(value: Any, call: str) -> list[Seg]:
    """The segment list a method of the student's peer returned, checked (else CheckFailed)."""
    if not isinstance(value, list):
        raise CheckFailed(f"{call} must return a list of segments (maybe empty)", input=call,
                          expected="a list", got=show(value) if not _remote(value)
                          else "an object of a class of yours")
    if len(value) > MAX_SEGMENTS:
        raise CheckFailed(f"{call} returned {len(value)} segments", input=call,
                          expected=f"at most {MAX_SEGMENTS}", got=str(len(value)))
    for seg in value:
        problem = segment_problem(seg)
        if problem:
            raise CheckFailed(f"{call} returned a malformed segment: {problem}", input=call,
                              expected="(seqno, ackno, window, syn, fin, rst, payload): "
                                       "int, int or None, int, bool, bool, bool, bytes",
                              got=show(seg) if not _remote(seg) else "an object",
                              hint="return plain tuples: only plain values cross to the "
                                   "grader (1 and 0 are not True and False)")
    return list(value)


def _remote(value: Any) -> bool:
    return type(value).__name__ == "RemoteObject"


class Pair:
    """The student's peer and the reference, driven together; every step is logged."""

    def __init__(self, ctx: Context, rule: str, isn: int = 0, initial_rto: float = 1.0,
                 max_payload: int = 1000, capacity: int = 64000) -> None:
        self.ctx, self.rule = ctx, rule
        kw: dict[str, Any] = dict(isn=isn, initial_rto=initial_rto, max_payload=max_payload,
                                  capacity=capacity)
        self.ref = LabPeer(**kw)
        self.p = ctx.target()(**kw)
        self.capacity = capacity
        self.reads = 0  # calls of read() so far (for the hints)
        ctx.step(f"p = {ctx.target_name}(isn={isn}, initial_rto={initial_rto}, "
                 f"max_payload={max_payload}, capacity={capacity})")

    def call(self, method: str, *args: Any, hint: str | None = None) -> Any:
        """Call `method` on both; compare what it returned, active() and at_eof(); return
        the reference's answer."""
        shown = f"p.{method}({', '.join(show(a) for a in args)})"
        state = _State(self.ref, self.reads)
        self.reads += method == "read"
        want = getattr(self.ref, method)(*args)
        got = getattr(self.p, method)(*args)
        if method in SEGMENT_METHODS:
            got = segments(got, shown)
        elif method == "read" and not isinstance(got, bytes):
            raise CheckFailed("read() returns bytes", input=shown, expected="bytes",
                              got=show(got) if not _remote(got) else "an object")
        self.ctx.step(f"{shown} -> {show(got)}")
        if got != want:
            raise CheckFailed(self.rule, input=shown, expected=show(want), got=show(got),
                              hint=hint or returned_hint(method, args, want, got, state,
                                                         self.ref))
        for label in ("active()", "at_eof()"):
            w = getattr(self.ref, label[:-2])()
            g = getattr(self.p, label[:-2])()
            if not isinstance(g, bool):
                raise CheckFailed(f"{label} returns True or False", input=label,
                                  expected="a bool", got=show(g) if not _remote(g)
                                  else "an object")
            if g != w:
                raise CheckFailed(self.rule, input=f"{shown}, then {label}", expected=show(w),
                                  got=show(g), hint=hint or state_hint(label, method, args, w,
                                                                       state, self.ref))
        return want

    # the script's vocabulary
    def connect(self, **kw: Any) -> Any:
        return self.call("connect", **kw)

    def receive(self, seqno: int, ackno: int | None = None, window: int = 30000, *,
                syn: bool = False, fin: bool = False, rst: bool = False,
                payload: bytes = b"", hint: str | None = None) -> Any:
        return self.call("receive", (seqno % M, None if ackno is None else ackno % M, window,
                                     syn, fin, rst, payload), hint=hint)

    def write(self, data: bytes, hint: str | None = None) -> Any:
        return self.call("write", data, hint=hint)

    def close(self, hint: str | None = None) -> Any:
        return self.call("close", hint=hint)

    def read(self, hint: str | None = None) -> Any:
        return self.call("read", hint=hint)

    def tick(self, elapsed: float, hint: str | None = None) -> Any:
        return self.call("tick", elapsed, hint=hint)


class _State:
    """What the reference was before a call (for the hints)."""

    def __init__(self, ref: LabPeer, reads: int) -> None:
        self.synchronized = ref._receiver.ackno() is not None
        self.fin_sent = ref._fin_sent
        self.finished = ref._receiver.reassembler.finished
        self.unread = len(ref._unread)
        self.reads = reads


RST_NEVER_ANSWERED = ("a RST is never answered, acceptable or not: drop it and return "
                      "(RFC 9293 §3.10.7.4, 'unless the RST bit is set')")
ACK_IT = ("a segment that takes sequence space (SYN, FIN or payload) is acknowledged: when "
          "push() gives nothing, send one make_empty_message() with ackno and window "
          "(RFC 9293 §3.10.7.4)")


def returned_hint(method: str, args: tuple[Any, ...], want: Any, got: Any, before: _State,
                  ref: LabPeer) -> str | None:
    """A hint for the most common reasons the returned value differs."""
    seg = args[0] if method == "receive" else None
    if seg is not None and seg[5]:
        if got and not want:
            return RST_NEVER_ANSWERED
    if method == "read":
        return "read() returns every byte assembled and not yet read, in order, once"
    if not isinstance(want, list) or not isinstance(got, list):
        return None
    if want and not got:
        if method == "tick" and want[0][5]:
            return ("after 8 retransmissions in a row (consecutive_retransmissions() > 8) "
                    "the next timeout gives up: one RST at the next sequence number "
                    "(RFC 9293 §3.8.3: close the connection at R2)")
        if method == "tick":
            return ("tick() hands the elapsed time to the sender: its timer sends the oldest "
                    "segment again")
        if seg is not None and not (seg[3] or seg[4] or seg[6]):
            return ("a segment outside the receive window is answered with an ACK, even one "
                    "with no data (RFC 9293 §3.10.7.4: if a segment is not acceptable, an "
                    "acknowledgment should be sent)")
        if seg is not None:
            return ACK_IT
        return None
    if method == "tick" and got and got[-1][5] and not (want and want[-1][5]):
        return ("give up only when consecutive_retransmissions() EXCEEDS 8: the 8th "
                "retransmission still goes (RFC 9293 §3.8.3, connection failures)")
    if method == "tick" and want and want[-1][5] and got and not got[-1][5]:
        return ("after 8 retransmissions in a row (consecutive_retransmissions() > 8) the "
                "next timeout gives up: one RST instead of the segment (connection "
                "failures, RFC 9293 §3.8.3)")
    if len(want) != len(got):
        if len(got) > len(want) and seg is not None:
            return ("one empty segment only when push() gave nothing: the segments push() "
                    "sends carry the acknowledgment already")
        return None
    return segment_hint(want, got, ref, seg, before.reads)


def segment_hint(want: list[Seg], got: list[Seg], ref: LabPeer, seg: Any = None,
                 reads: int = 1) -> str | None:
    """A hint for two segment lists of one length that differ in a field (`seg`: the segment
    that just arrived, if any; `reads`: calls of read() so far)."""
    theirs = ("the window field is receiver.window_field(capacity - unread bytes, 0), the "
              "room left in OUR receive buffer, not the other side's window")
    for w, g in zip(want, got, strict=True):
        if seg is not None and w[2] != g[2] == seg[2]:
            return theirs
        if w[1] != g[1] and g[1] is None:
            return ("every segment carries ackno = receiver.ackno(): the ACK flag is set "
                    "once the other side's SYN has arrived (rule 4)")
        if w[2] != g[2]:
            full = ref._receiver.window_field(ref._capacity, 0)
            if g[2] == full and w[2] < full:
                return ("bytes received and not yet read take room: the window field is "
                        "receiver.window_field(capacity - unread bytes, 0) (rule 4)")
            if g[2] < w[2] and reads:
                return ("read() frees the room of the bytes it returns: the window field is "
                        "receiver.window_field(capacity - unread bytes, 0) (rule 7)")
            return theirs
        if w[1] != g[1]:
            return "every segment carries ackno = receiver.ackno() (rule 4)"
        if w[5] != g[5]:
            return "only giving up sends a RST (rule 5)"
    return None


def state_hint(label: str, method: str, args: tuple[Any, ...], want: bool, before: _State,
               ref: LabPeer) -> str | None:
    """A hint for the most common reasons active() or at_eof() differs."""
    if label == "at_eof()":
        return ("at_eof() is True once the other side's FIN arrived and every byte before it "
                "was read")
    seg = args[0] if method == "receive" else None
    if seg is not None and seg[5]:
        if want:
            if not before.synchronized:
                return ("in SYN-SENT a RST counts only if its ACK acknowledges our SYN "
                        "(ackno = ISN + 1) (RFC 9293 §3.10.7.3); any other is ignored")
            return ("a RST counts only if its sequence number is in the receive window "
                    "(reset processing, RFC 9293 §3.5.3); any other is ignored")
        return "an acceptable RST ends the connection at once (active() is False)"
    if method == "tick" and want:
        return ("after an active close the peer lingers 10 x initial_rto after the LAST "
                "segment it received: each one (a retransmitted FIN) starts the wait again "
                "(RFC 9293 §3.10.7.4, TIME-WAIT: restart the 2 MSL timeout)")
    if method == "tick":
        return ("after an active close the peer becomes inactive 10 x initial_rto after the "
                "last segment it received (the TIME-WAIT of RFC 9293 §3.6, shortened)")
    if want and ref._linger:
        return ("we closed first (our FIN went before theirs arrived): an active close "
                "lingers 10 x initial_rto (TIME-WAIT, RFC 9293 §3.6) to ACK a retransmitted "
                "FIN")
    if not want:
        return ("their FIN came first (a passive close): once our FIN is acknowledged "
                "nothing is left to wait for; the peer is inactive at once (rule 6)")
    return None
