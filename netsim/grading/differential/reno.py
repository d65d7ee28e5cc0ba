"""Differential check of assignment 04: the Reno controller against netsim's `Reno`.

Sequences are built from events the way the connection calls them (ACKs of 1 byte to many
segments, the first two duplicate ACKs, a fast retransmit with further duplicate ACKs and the
ACK that ends recovery, a timeout, an idle period of exactly, just under and just over the
RTO), with the FlightSize around the current window and at the 2*SMSS floor (4*SMSS +- 1), and
an MSS at each threshold of the initial window (1095/1096, 2190/2191). After each call it
compares ``cwnd`` and ``ssthresh``.

RFC 5681 leaves some choices open, and the assignment accepts them, so the candidate is
compared with a family of references (`_Accepted`): slow start or congestion avoidance when
cwnd == ssthresh (RFC 5681 §3.1), slow start capped at ssthresh or not, the byte count of
congestion avoidance kept or cleared at a fast retransmit and, on its own, at a timeout
(RFC 3465 says nothing of it there), and at the end of recovery cwnd = ssthresh
(RFC 5681 §3.2 step 6) or the burst-avoiding min(ssthresh, FlightSize + SMSS) of RFC 6582 §3.2
step 3. Congestion avoidance must count bytes, as the README says: RFC 5681 §3.1 (slow start
and congestion avoidance) RECOMMENDS it and allows the per-ACK formula cwnd += SMSS*SMSS/cwnd
(its eq. 3) only as a MAY, which with delayed ACKs grows cwnd about once every second round
trip; that formula is not accepted.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
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
from netsim.stack.tcp.congestion.reno import Reno, initial_window

RULES = {
    "cwnd": "cwnd per RFC 5681 §3.1-3.2 and §4.1 with RFC 3465 byte counting (L = 2)",
    "ssthresh": "ssthresh = max(FlightSize / 2, 2*SMSS) on a fast retransmit or a timeout "
                "(RFC 5681 eq. 4), unchanged otherwise",
}


class _Accepted:
    """Reno with the choices RFC 5681 leaves open made one way or the other."""

    def __init__(self, ca: str, recovery: str, ss_at_equal: bool, cap: bool) -> None:
        self.ca, self.recovery, self.ss_at_equal, self.cap = ca, recovery, ss_at_equal, cap
        self.mss = 1460
        self.cwnd = 0
        self.ssthresh = 1 << 30
        self._bytes_acked = 0

    def init(self, mss: int, now: float) -> None:
        self.mss = mss
        self.cwnd = initial_window(mss)

    def on_ack(self, acked: int, rtt: float | None, flight: int, now: float) -> None:
        mss = self.mss
        if self.cwnd < self.ssthresh or (self.ss_at_equal and self.cwnd == self.ssthresh):
            grown = self.cwnd + min(acked, 2 * mss)
            if self.cap and self.cwnd < self.ssthresh:
                grown = min(grown, self.ssthresh)
            self.cwnd = grown
        else:  # RFC 3465 §2.1 congestion avoidance: count bytes
            self._bytes_acked += acked
            if self._bytes_acked >= self.cwnd:
                self._bytes_acked -= self.cwnd
                self.cwnd += mss

    def on_dup_ack(self, count: int, flight: int, now: float) -> None:
        if count > 3:
            self.cwnd += self.mss

    def _cut(self, flight: int, event: str) -> None:
        self.ssthresh = max(flight // 2, 2 * self.mss)
        # the byte count kept at both events, at one of them ("kept_at_loss": at a fast
        # retransmit only), or at neither
        if self.ca != "abc_kept" and self.ca != f"kept_at_{event}":
            self._bytes_acked = 0

    def on_loss(self, flight: int, now: float) -> None:
        self._cut(flight, "loss")
        self.cwnd = self.ssthresh + 3 * self.mss

    def on_partial_ack(self, acked: int, flight: int, now: float) -> None:
        pass

    def on_recovery_end(self, flight: int, now: float) -> None:
        if self.recovery == "ssthresh":
            self.cwnd = self.ssthresh
        elif self.recovery == "flight":
            self.cwnd = min(self.ssthresh, flight + self.mss)
        else:
            self.cwnd = min(self.ssthresh, max(flight, self.mss) + self.mss)

    def on_rto(self, flight: int, now: float) -> None:
        self._cut(flight, "rto")
        self.cwnd = self.mss

    def on_idle(self, idle: float, rto: float, now: float) -> None:
        if idle > rto:
            self.cwnd = min(initial_window(self.mss), self.cwnd)


def _variant(ca: str, recovery: str, eq: bool, cap: bool) -> Callable[[], _Accepted]:
    return lambda: _Accepted(ca, recovery, eq, cap)


ACCEPTED = [_variant(*v) for v in itertools.product(
    ("abc", "abc_kept", "kept_at_loss", "kept_at_rto"), ("ref", "ssthresh", "flight"),
    (False, True), (False, True))]


def examples() -> Any:
    from hypothesis import strategies as st

    @st.composite
    def build(draw: Any) -> Example:
        mss = pick(draw, [536, 1000, 1095, 1096, 1460, 2190, 2191, 9000])
        ref = Reno()
        now = 0.0
        calls: list[Call] = []

        def call(method: str, *args: tuple[str, Any]) -> None:
            c = Call(method, args)
            getattr(ref, method)(*c.values())
            calls.append(c)

        def flight() -> int:
            c = int(ref.cwnd)
            return int(pick(draw, [c, c - mss, c // 2, 0, mss, 4 * mss - 1, 4 * mss,
                                   4 * mss + 1, 3 * mss + 1, 2 * c], 0, 2 * c + 1))

        call("init", ("mss", mss), ("now", now))
        while more(draw, len(calls), 30):
            now = round(now + pick(draw, [0.0, 0.01, 0.1, 1.0]), 6)
            kind = pick(draw, ["ack", "ack", "ack", "ack", "ack", "dup", "recovery", "rto",
                               "idle"])
            if kind == "ack":
                acked = pick(draw, [mss, 1, mss - 1, mss + 1, 2 * mss, 2 * mss + 1, 3 * mss,
                                    10 * mss], 1, 4 * mss)
                rtt = pick(draw, [0.05, None])
                call("on_ack", ("acked", acked), ("rtt", rtt), ("flight", flight()),
                     ("now", now))
            elif kind == "dup":
                for count in range(1, pick(draw, [1, 2]) + 1):
                    call("on_dup_ack", ("count", count), ("flight", flight()), ("now", now))
            elif kind == "recovery":
                fl = flight()
                call("on_loss", ("flight", fl), ("now", now))
                for count in range(4, 4 + pick(draw, [0, 1, 2, 3, 5])):
                    call("on_dup_ack", ("count", count), ("flight", fl), ("now", now))
                call("on_recovery_end", ("flight", flight()), ("now", now))
            elif kind == "rto":
                call("on_rto", ("flight", flight()), ("now", now))
            else:
                rto = pick(draw, [1.0, 0.2, 3.0])
                idle = pick(draw, [rto, rto + 1e-6, rto - 1e-6, 0.0, 10 * rto])
                now = round(now + idle, 6)
                call("on_idle", ("idle", idle), ("rto", rto), ("now", now))
        return Example((), tuple(calls))

    return build()


def valid(params: tuple[tuple[str, Any], ...], calls: Sequence[Call]) -> bool:
    """The order in which the connection calls a controller: init first; the first two
    duplicate ACKs outside recovery; on_loss, then duplicate ACKs 4, 5 ..., then
    on_recovery_end; no ACK, timeout or idle inside recovery."""
    if not calls or calls[0].method != "init":
        return False
    recovering, dups = False, 0
    for c in calls[1:]:
        if c.method == "on_loss":
            if recovering:
                return False
            recovering, dups = True, 3
        elif c.method == "on_dup_ack":
            count = dict(c.args)["count"]
            if count != dups + 1 or (not recovering and count > 2):
                return False
            dups = count
        elif c.method == "on_recovery_end":
            if not recovering:
                return False
            recovering, dups = False, 0
        elif c.method == "init" or recovering:
            return False
        else:
            dups = 0
    return True


def diagnose(m: Mismatch) -> str | None:
    """The common Reno mistakes, recognised from the failing step."""
    if m.calls and m.calls[-1].method == "init" and "cwnd" in m.differs:
        return "IW = 4*MSS up to 1095 bytes, 3*MSS up to 2190 bytes (inclusive), else 2*MSS"
    if not m.calls or not m.agreed:
        return None
    call, args = m.calls[-1], dict(m.calls[-1].args)
    mss = dict(m.calls[0].args).get("mss", 0)
    before = dict(m.agreed[-1])
    got = dict(m.got)
    if call.method in ("on_loss", "on_rto") and "ssthresh" in m.differs:
        if got.get("ssthresh") == max(int(before["cwnd"]) // 2, 2 * mss):
            return ("ssthresh was computed from cwnd: RFC 5681 eq. (4) halves FlightSize, the "
                    "`flight` argument")
        if got.get("ssthresh") == max(args["flight"] // 2, mss):
            return "the floor of ssthresh is 2*SMSS, not 1 SMSS (RFC 5681 eq. (4))"
    if call.method == "on_ack" and "cwnd" in m.differs and \
            before["cwnd"] < before["ssthresh"] and \
            got.get("cwnd") == before["cwnd"] + mss and args["acked"] != mss:
        if args["acked"] > mss:
            return ("an ACK of more than one MSS may add up to 2*MSS in slow start (L = 2, "
                    "RFC 3465 §2.2), not 1 MSS")
        return ("cwnd grew by one MSS for an ACK of fewer bytes: count bytes, "
                "cwnd += min(acked, 2*MSS) in slow start (RFC 3465 §2.2)")
    if call.method == "on_ack" and "cwnd" in m.differs and \
            before["cwnd"] >= before["ssthresh"] and isinstance(got.get("cwnd"), int | float) \
            and 0 < got["cwnd"] - before["cwnd"] <= max(1, mss * mss // max(1, before["cwnd"])):
        return ("cwnd grew by SMSS*SMSS/cwnd on this ACK (RFC 5681 eq. 3): count bytes "
                "instead, +1 SMSS once a whole cwnd of bytes has been acknowledged (RFC 3465 "
                "§2.1), the way RFC 5681 §3.1 recommends for congestion avoidance; with "
                "delayed ACKs eq. 3 grows cwnd only about every second round trip")
    if call.method == "on_ack" and "cwnd" in m.differs and \
            before["cwnd"] >= before["ssthresh"]:
        return ("congestion avoidance (cwnd >= ssthresh): +1 SMSS once a whole cwnd of bytes "
                "has been acknowledged, counted across ACKs (RFC 3465 §2.1; RFC 5681 §3.1)")
    if call.method == "on_dup_ack" and args["count"] <= 2 and "cwnd" in m.differs:
        return "the first two duplicate ACKs change nothing (RFC 5681 §3.2 step 1)"
    if call.method == "on_idle" and "cwnd" in m.differs:
        return ("after an idle period longer than the RTO (strictly), cwnd = min(IW, cwnd) "
                "(RFC 5681 §4.1)")
    return None


def observe(cc: Any, call: Call) -> Observation:
    out = getattr(cc, call.method)(*call.values())
    return [("returned", plain(out)), ("cwnd", plain(cc.cwnd)),
            ("ssthresh", plain(cc.ssthresh))]


SPEC = Spec("04-reno", "cc", "MyReno", examples, observe, RULES,
            construct=lambda factory, params: factory(), valid=valid, diagnose=diagnose,
            references=[Reno, *ACCEPTED], max_examples=150, seed=4)
