"""Differential check of assignment 02: the RTO estimator against `Rfc6298Estimator`.

Constructor arguments vary (a small `max_rto` so that backoff reaches the cap, a coarse clock
granularity G); samples reach the corners: exactly `min_rto`, far below it, far above
`max_rto`, zero, repeated values (RTTVAR decays to G), timeouts in a row (up to ten: the
doubling has no limit of its own), an initial RTO below `min_rto`, a `min_rto` above 3 s
(the SYN rule's max(3 s, min_rto)), the SYN rule before and after a sample, and reads with
nothing in between (a getter must not change the state). After each step it compares
``srtt``, ``rttvar``, ``rto`` and ``backoffs``.
"""

from __future__ import annotations

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
from netsim.stack.tcp.rto import Rfc6298Estimator

RULES = {
    "srtt": "SRTT <- R on the first sample (2.2), then 7/8 SRTT + 1/8 R' (2.3)",
    "rttvar": "RTTVAR <- R/2 on the first sample (2.2), then 3/4 RTTVAR + 1/4 |SRTT - R'| "
              "with the old SRTT (2.3)",
    "rto": "RTO = SRTT + max(G, 4 RTTVAR) within [min_rto, max_rto] (2.2-2.5), doubled per "
           "timeout up to max_rto (5.5) until the next sample, 3 s after a SYN timeout with "
           "no sample (5.7)",
    "backoffs": "backoffs counts the doublings since the last sample (RFC 6298 (5.5))",
}


class _CountingEveryTimeout(Rfc6298Estimator):
    """Also accepted: `backoffs` counts every timeout, even once RTO sits at max_rto."""

    def on_timeout(self) -> None:
        self.backoffs += 1


def examples() -> Any:
    from hypothesis import strategies as st

    @st.composite
    def build(draw: Any) -> Example:
        min_rto = pick(draw, [1.0, 0.2, 0.05, 4.0])  # 4 s: the SYN rule's max(3 s, min_rto)
        max_rto = pick(draw, [60.0, 4.0, 3.0]) if min_rto < 3.0 else 60.0
        # initial_rto is used as given, below min_rto too (RFC 6298 (2.1); (2.4) is for
        # an RTO computed from samples)
        initial = pick(draw, [1.0, 3.0, 0.5, min_rto / 2])
        g = pick(draw, [0.001, 0.1, 0.5])
        special = [0.1, min_rto, min_rto / 4, 0.0, g / 4, g, max_rto, 2 * max_rto, 0.3]
        calls: list[Call] = []
        while more(draw, len(calls), 16):
            kind = pick(draw, ["on_sample", "on_sample", "on_timeout", "on_syn_timeout_done",
                               "read", "timeouts"])
            if kind == "timeouts":  # many in a row: the doubling has no limit below max_rto
                calls += [Call("on_timeout")] * pick(draw, [7, 8, 10])
            elif kind == "on_sample":
                i = pick(draw, list(range(len(special))), 1, 5000)
                rtt = special[i] if i < len(special) else i / 1000
                calls.append(Call("on_sample", (("rtt", rtt),)))
            else:
                calls.append(Call(kind))
        return Example((("min_rto", min_rto), ("max_rto", max_rto), ("initial_rto", initial),
                        ("granularity", g)), tuple(calls))

    return build()


def observe(est: Any, call: Call) -> Observation:
    out = None if call.method == "read" else getattr(est, call.method)(*call.values())
    return [("returned", plain(out)), ("srtt", plain(est.srtt)), ("rttvar", plain(est.rttvar)),
            ("rto", plain(est.rto)), ("backoffs", plain(est.backoffs))]


def diagnose(m: Mismatch) -> str | None:
    """A sample of zero seconds treated as no sample."""
    zero = any(c.method == "on_sample" and dict(c.args).get("rtt") == 0 for c in m.calls)
    if zero and {"srtt", "rttvar"} & set(m.differs):
        return ("an RTT sample of 0 s (a coarse clock, a very short path) is still a "
                "measurement: SRTT = 0 afterwards is a value, not 'no sample yet' (test "
                "`srtt is None`), RFC 6298 (2.2), (2.3)")
    return None


SPEC = Spec("02-rto-estimator", "est", "RtoEstimator", examples, observe, RULES,
            diagnose=diagnose, references=[Rfc6298Estimator, _CountingEveryTimeout],
            max_examples=250, seed=2)
