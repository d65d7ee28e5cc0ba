"""The simulation check of assignment 04 with teeth: every call the real TCP sender makes on the
student's controller is recorded with cwnd and ssthresh before and after, and the properties
that separate Reno from a plausible controller are asserted on that record.

A controller that passes "the transfer completes" may still lack byte counting, halve cwnd
instead of FlightSize, or grow too fast in congestion avoidance; the link below is chosen so
that these differ (the receive window limits the flight below cwnd, and a timeout is followed
by an ACK that covers many segments). The properties, in the order they are checked for each
event:

- slow start: cwnd += min(N, 2*SMSS) per ACK of N bytes (RFC 3465 §2.2; cwnd doubles per RTT);
- congestion avoidance: about +1 SMSS per round trip, bytes counted (RFC 5681 §3.1, RFC 3465 §2.1);
- fast retransmit, the sawtooth's trough: ssthresh = max(FlightSize/2, 2*SMSS), cwnd =
  ssthresh + 3*SMSS (RFC 5681 §3.2 steps 2-3, eq. 4), FlightSize the `flight` given;
- fast recovery: +1 SMSS per further duplicate ACK, none for the first two (§3.2 steps 1, 4);
- end of recovery: cwnd = ssthresh, or RFC 6582's min(ssthresh, max(flight, SMSS) + SMSS);
- timeout: ssthresh = max(FlightSize/2, 2*SMSS), cwnd = 1 SMSS (RFC 5681 §3.1).

The recorder lives in the grader's process and reads only plain numbers through the proxy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from netsim.grading.framework import CheckFailed, Context
from netsim.stack.tcp.congestion.reno import initial_window


@dataclass(frozen=True)
class Event:
    method: str
    args: tuple[Any, ...]
    before: tuple[Any, Any]  # (cwnd, ssthresh)
    after: tuple[Any, Any]
    time: float

    def show(self) -> str:
        shown = ", ".join(f"{a:.3f}" if isinstance(a, float) else repr(a) for a in self.args)
        return (f"t={self.time:.3f} cc.{self.method}({shown}): cwnd {self.before[0]} -> "
                f"{self.after[0]}, ssthresh {self.before[1]} -> {self.after[1]}")


class Recorder:
    """Stands for the student's controller in the stack: forwards every use, and logs each
    method call with (cwnd, ssthresh) before and after."""

    def __init__(self, inner: Any, log: list[Event]) -> None:
        object.__setattr__(self, "_inner", inner)
        object.__setattr__(self, "_log", log)

    def __getattr__(self, name: str) -> Any:
        return getattr(object.__getattribute__(self, "_inner"), name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(object.__getattribute__(self, "_inner"), name, value)

    def _call(self, method: str, *args: Any) -> None:
        inner = object.__getattribute__(self, "_inner")
        before = (inner.cwnd, inner.ssthresh)
        getattr(inner, method)(*args)
        after = (inner.cwnd, inner.ssthresh)
        object.__getattribute__(self, "_log").append(
            Event(method, args, before, after, float(args[-1])))

    def init(self, mss: int, now: float) -> None:
        self._call("init", mss, now)

    def on_ack(self, acked: int, rtt: float | None, flight: int, now: float) -> None:
        self._call("on_ack", acked, rtt, flight, now)

    def on_dup_ack(self, count: int, flight: int, now: float) -> None:
        self._call("on_dup_ack", count, flight, now)

    def on_loss(self, flight: int, now: float) -> None:
        self._call("on_loss", flight, now)

    def on_partial_ack(self, acked: int, flight: int, now: float) -> None:
        self._call("on_partial_ack", acked, flight, now)

    def on_recovery_end(self, flight: int, now: float) -> None:
        self._call("on_recovery_end", flight, now)

    def on_rto(self, flight: int, now: float) -> None:
        self._call("on_rto", flight, now)

    def on_idle(self, idle: float, rto: float, now: float) -> None:
        self._call("on_idle", idle, rto, now)


def _fail(rule: str, ev: Event, expected: str, got: str, hint: str | None,
          ctx: Context, before: list[Event]) -> CheckFailed:
    for e in before[-3:]:
        ctx.step(e.show())
    ctx.step(ev.show())
    return CheckFailed(f"in the simulation, {rule}", input=ev.show(), expected=expected,
                       got=got, hint=hint)


def check_events(ctx: Context, log: list[Event], mss: int) -> dict[str, int]:
    """Assert the rules on every recorded event; returns how often each kind was seen."""
    seen: dict[str, int] = {}
    run: list[Event] = []  # consecutive on_ack calls in congestion avoidance

    def end_run() -> None:
        if len(run) < 4:
            run.clear()
            return
        growth = run[-1].after[0] - run[0].before[0]
        rtts = sum(e.args[0] / e.before[0] for e in run)
        want = rtts * mss
        if abs(growth - want) > max(2 * mss, 0.25 * want):
            first, last = run[0], run[-1]
            ctx.step(first.show())
            ctx.step(f"... {len(run) - 2} more ACKs in congestion avoidance ...")
            ctx.step(last.show())
            raise CheckFailed(
                "in the simulation, congestion avoidance grows cwnd by about 1 SMSS per round "
                "trip (per cwnd of bytes acknowledged: RFC 5681 §3.1 slow start and congestion "
                "avoidance, RFC 3465 §2.1)",
                input=f"{len(run)} ACKs with cwnd >= ssthresh, about {rtts:.1f} round trips "
                f"of data", expected=f"cwnd grows by about {want:.0f} bytes",
                got=f"cwnd grew by {growth} bytes",
                hint="growth faster than 1 SMSS per cwnd acknowledged: count the bytes "
                     "acknowledged against cwnd, not ssthresh or a fixed number"
                if growth > want else "the receiver acknowledges every second segment: "
                "growth per ACK (such as SMSS*SMSS/cwnd, RFC 5681 eq. 3) is half as fast; "
                "count the bytes acknowledged" if growth > 0 else None)
        run.clear()

    for i, ev in enumerate(log):
        cwnd0, ss0 = ev.before
        cwnd1, ss1 = ev.after
        if not all(isinstance(v, int | float) for v in (*ev.before, *ev.after)):
            continue  # a value of another type is the type check's to report
        seen[ev.method] = seen.get(ev.method, 0) + 1
        earlier = log[:i]
        if ev.method == "on_ack" and cwnd0 >= ss0:
            run.append(ev)
            continue
        end_run()
        if ev.method == "on_ack":  # slow start
            acked = ev.args[0]
            want = cwnd0 + min(acked, 2 * mss)
            # slow start may stop at ssthresh (as the random sequences accept): RFC 5681 §3.1
            if cwnd1 != want and cwnd1 != min(want, ss0):
                hint = None
                if cwnd1 - cwnd0 == acked:
                    hint = "no byte-counting limit: an ACK may add at most L*SMSS = 2*SMSS"
                elif cwnd1 - cwnd0 == mss:
                    hint = "this counts ACKs, not bytes (RFC 3465)"
                raise _fail("slow start grows cwnd by min(N, 2*SMSS) per ACK of N bytes "
                            "(byte counting, RFC 3465 §2.2: cwnd doubles per round trip)",
                            ev, f"cwnd = {want}", f"cwnd = {cwnd1}", hint, ctx, earlier)
        elif ev.method == "on_loss":
            flight = ev.args[0]
            want_ss = max(flight // 2, 2 * mss)
            if abs(ss1 - want_ss) > 1:
                hint = ("this is cwnd/2: halve FlightSize (the `flight` argument), not cwnd"
                        if abs(ss1 - max(cwnd0 // 2, 2 * mss)) <= 1 else None)
                raise _fail("a fast retransmit sets the trough of the sawtooth: ssthresh = "
                            "max(FlightSize/2, 2*SMSS) (RFC 5681 §3.2 step 2, eq. 4)", ev,
                            f"ssthresh = {want_ss}", f"ssthresh = {ss1}", hint, ctx, earlier)
            if cwnd1 != ss1 + 3 * mss:
                raise _fail("entering fast recovery cwnd = ssthresh + 3*SMSS (RFC 5681 §3.2 "
                            "step 3)", ev, f"cwnd = {ss1 + 3 * mss}", f"cwnd = {cwnd1}",
                            None, ctx, earlier)
        elif ev.method == "on_dup_ack":
            count = ev.args[0]
            want = cwnd0 + mss if count > 3 else cwnd0 if count < 3 else None
            if want is not None and cwnd1 != want:
                raise _fail("a duplicate ACK: no change for the first two, +1 SMSS for each "
                            "one after the third in fast recovery (RFC 5681 §3.2 steps 1, 4)",
                            ev, f"cwnd = {want}", f"cwnd = {cwnd1}", None, ctx, earlier)
        elif ev.method == "on_recovery_end":
            flight = ev.args[0]
            ok = (ss1, min(ss1, max(flight, mss) + mss))
            if cwnd1 not in ok:
                raise _fail("when fast recovery ends cwnd is deflated to ssthresh (RFC 5681 "
                            "§3.2 step 6; RFC 6582's min(ssthresh, max(FlightSize, SMSS) + "
                            "SMSS) is also accepted)", ev, f"cwnd = {ok[0]} or {ok[1]}",
                            f"cwnd = {cwnd1}", None, ctx, earlier)
        elif ev.method == "on_rto":
            flight = ev.args[0]
            want_ss = max(flight // 2, 2 * mss)
            if abs(ss1 - want_ss) > 1 or cwnd1 != mss:
                raise _fail("a retransmission timeout sets ssthresh = max(FlightSize/2, "
                            "2*SMSS) and cwnd = 1 SMSS (RFC 5681 §3.1 eq. 4)", ev,
                            f"ssthresh = {want_ss}, cwnd = {mss}",
                            f"ssthresh = {ss1}, cwnd = {cwnd1}", None, ctx, earlier)
        elif ev.method == "on_idle":
            idle, rto = ev.args[0], ev.args[1]
            want = min(initial_window(mss), cwnd0) if idle > rto else cwnd0
            if cwnd1 != want:
                raise _fail("after an idle period longer than the RTO cwnd = min(IW, cwnd), "
                            "after a shorter one it is kept (RFC 5681 §4.1)", ev,
                            f"cwnd = {want}", f"cwnd = {cwnd1}", None, ctx, earlier)
    end_run()
    return seen
