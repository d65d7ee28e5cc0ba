"""Grader for assignment 02-rto-estimator: an RFC 6298 retransmission-timeout estimator.

The student's class has the `netsim.stack.tcp.rto.RtoEstimator` interface and the constructor
``RtoEstimator(min_rto=1.0, max_rto=60.0, initial_rto=1.0, granularity=0.001)``. Every value
is compared with the reference `Rfc6298Estimator` fed the same inputs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from netsim.grading.differential import check_fn as differential_check
from netsim.grading.framework import (
    Assignment,
    Check,
    CheckFailed,
    Context,
    SameBytes,
    approx,
    fmt,
)
from netsim.stack.tcp.rto import Rfc6298Estimator

SAMPLES = (0.5, 1.0, 0.2, 0.4, 0.4, 0.9)


def _state(est: Any) -> str:
    return (f"srtt={fmt(est.srtt)}, rttvar={fmt(est.rttvar)}, rto={fmt(est.rto)}, "
            f"backoffs={fmt(est.backoffs)}")


def _new(ctx: Context, **kw: float) -> tuple[Any, Rfc6298Estimator]:
    cls = ctx.target()
    args = ", ".join(f"{k}={v:g}" for k, v in kw.items())
    ctx.step(f"est = {ctx.target_name}({args})")
    ref = Rfc6298Estimator(kw.get("min_rto", 1.0), kw.get("max_rto", 60.0),
                           kw.get("initial_rto", 1.0), kw.get("granularity", 0.001))
    return cls(**kw), ref


def _sample(ctx: Context, est: Any, ref: Rfc6298Estimator, r: float) -> None:
    est.on_sample(r)
    ref.on_sample(r)
    ctx.step(f"est.on_sample({r:g})  ->  {_state(est)}")


def _timeout(ctx: Context, est: Any, ref: Rfc6298Estimator) -> None:
    est.on_timeout()
    ref.on_timeout()
    ctx.step(f"est.on_timeout()  ->  {_state(est)}")


def _compare(ctx: Context, est: Any, ref: Rfc6298Estimator, field: str, rule: str,
             diagnose: Callable[[Any], str | None] | None = None) -> None:
    want = getattr(ref, field)
    got = getattr(est, field)
    ok = (got is None) if want is None else approx(got, want)
    if not ok:
        raise CheckFailed(f"{field} is wrong after the steps below: {rule}",
                          expected=f"{field} = {fmt(want)}", got=f"{field} = {fmt(got)}",
                          hint=diagnose(got) if diagnose else None)


# --------------------------------------------------------------------------------- checks
def check_initial(ctx: Context) -> None:
    est, ref = _new(ctx, min_rto=0.2, initial_rto=1.0)
    ctx.step(f"(no sample yet)  ->  {_state(est)}")
    for f in ("srtt", "rttvar", "rto"):
        _compare(ctx, est, ref, f, "before any measurement SRTT and RTTVAR are unset (None) "
                 "and RTO is the initial RTO, 1 s (RFC 6298 (2.1))")
    est2, ref2 = _new(ctx, min_rto=0.2, initial_rto=2.5)
    ctx.step(f"(no sample yet)  ->  {_state(est2)}")
    _compare(ctx, est2, ref2, "rto", "use the initial_rto argument before any measurement")
    est3, ref3 = _new(ctx, min_rto=1.0, initial_rto=0.5)
    ctx.step(f"(no sample yet)  ->  {_state(est3)}")
    _compare(ctx, est3, ref3, "rto", "initial_rto is used as given until the first sample, "
             "even below min_rto: (2.4)'s floor applies to an RTO computed from samples "
             "(RFC 6298 (2.1), (2.4))",
             lambda got: "initial_rto was raised to min_rto before any sample"
             if isinstance(got, int | float) and approx(got, 1.0) else None)


def check_first_sample(ctx: Context) -> None:
    est, ref = _new(ctx, min_rto=0.1)
    _sample(ctx, est, ref, 0.5)
    _compare(ctx, est, ref, "srtt", "the first measurement R sets SRTT <- R (RFC 6298 (2.2))")
    _compare(ctx, est, ref, "rttvar", "the first measurement sets RTTVAR <- R/2 (RFC 6298 (2.2))")
    _compare(ctx, est, ref, "rto", "RTO <- SRTT + max(G, K*RTTVAR) with K = 4 (RFC 6298 (2.2))")


def check_srtt(ctx: Context) -> None:
    est, ref = _new(ctx, min_rto=0.1)
    for r in SAMPLES:
        old = ref.srtt
        _sample(ctx, est, ref, r)

        def diagnose(got: Any, old: float | None = old, r: float = r) -> str | None:
            if old is None or not isinstance(got, int | float):
                return None
            for a in (1 / 4, 1 / 2, 1 / 16):
                if approx(got, (1 - a) * old + a * r):
                    return f"this is SRTT with alpha = {a:g}; RFC 6298 uses alpha = 1/8"
            if approx(got, r):
                return "SRTT equals the last sample: it must be smoothed"
            if approx(got, (1 - 1 / 8) * r + (1 / 8) * old):
                return "alpha and 1 - alpha are swapped: the new sample gets weight 1/8"
            return None
        _compare(ctx, est, ref, "srtt", "SRTT <- (1 - alpha) * SRTT + alpha * R' with "
                 "alpha = 1/8 (RFC 6298 (2.3))", diagnose)


def check_rttvar(ctx: Context) -> None:
    est, ref = _new(ctx, min_rto=0.1)
    for r in SAMPLES:
        old_srtt, old_var = ref.srtt, ref.rttvar
        _sample(ctx, est, ref, r)

        def diagnose(got: Any, s: float | None = old_srtt, v: float | None = old_var,
                     r: float = r) -> str | None:
            if s is None or v is None or not isinstance(got, int | float):
                return None
            new_s = (7 / 8) * s + r / 8
            if approx(got, 0.75 * v + 0.25 * abs(new_s - r)):
                return ("RTTVAR was computed with the NEW SRTT: update RTTVAR first, using "
                        "the old SRTT, then SRTT (RFC 6298 (2.3))")
            for b in (1 / 8, 1 / 2):
                if approx(got, (1 - b) * v + b * abs(s - r)):
                    return f"this is RTTVAR with beta = {b:g}; RFC 6298 uses beta = 1/4"
            if approx(got, 0.75 * v + 0.25 * (s - r)) or approx(got, 0.75 * v + 0.25 * (r - s)):
                return "use the absolute value |SRTT - R'|"
            return None
        _compare(ctx, est, ref, "rttvar", "RTTVAR <- (1 - beta) * RTTVAR + beta * |SRTT - R'| "
                 "with beta = 1/4, computed BEFORE SRTT changes (RFC 6298 (2.3))", diagnose)


def check_rto_formula(ctx: Context) -> None:
    est, ref = _new(ctx, min_rto=0.05, granularity=0.1)
    for r in (0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.32):
        _sample(ctx, est, ref, r)
        _compare(ctx, est, ref, "rto", "RTO <- SRTT + max(G, K * RTTVAR), K = 4, G the clock "
                 "granularity (RFC 6298 (2.2), (2.3))",
                 lambda got: "the clock granularity G is a lower bound of the K*RTTVAR term"
                 if isinstance(got, int | float) and ref.srtt is not None and ref.rttvar
                 is not None and approx(got, ref.srtt + 4 * ref.rttvar) else None)


def check_min_rto(ctx: Context) -> None:
    est, ref = _new(ctx, min_rto=1.0)
    for r in (0.01, 0.012, 0.011):
        _sample(ctx, est, ref, r)
        _compare(ctx, est, ref, "rto", "whenever RTO is computed below min_rto it is rounded "
                 "up to min_rto (1 s in RFC 6298 (2.4))")


def check_max_rto(ctx: Context) -> None:
    est, ref = _new(ctx, min_rto=1.0, max_rto=60.0)
    _sample(ctx, est, ref, 100.0)
    _compare(ctx, est, ref, "rto", "a maximum may be placed on RTO provided it is at least "
             "60 s; this estimator caps RTO at max_rto (RFC 6298 (2.5))")


def check_backoff_doubles(ctx: Context) -> None:
    est, ref = _new(ctx, min_rto=0.1, max_rto=60.0)
    _sample(ctx, est, ref, 0.5)
    for _ in range(4):
        _timeout(ctx, est, ref)
        _compare(ctx, est, ref, "rto", "when the timer expires, RTO <- RTO * 2 (\"back off "
                 "the timer\", RFC 6298 (5.5))",
                 lambda got: "the RTO did not change on a timeout" if approx(
                     got, ref.rto / (1 << ref.backoffs)) else None)
        _compare(ctx, est, ref, "backoffs", "backoffs counts the doublings since the last "
                 "RTT sample")
    # a small RTO doubles many times before max_rto: no limit on the number of doublings
    est2, ref2 = _new(ctx, min_rto=0.1, max_rto=60.0)
    _sample(ctx, est2, ref2, 0.05)
    for _ in range(9):
        _timeout(ctx, est2, ref2)
        _compare(ctx, est2, ref2, "rto", "every timeout doubles the RTO until it reaches "
                 "max_rto: the number of doublings has no limit of its own (RFC 6298 (5.5))",
                 lambda got: "the RTO stopped doubling below max_rto" if approx(
                     got, ref2.rto / 2) else None)


def check_backoff_capped(ctx: Context) -> None:
    est, ref = _new(ctx, min_rto=1.0, max_rto=60.0)
    _sample(ctx, est, ref, 2.0)
    for _ in range(10):
        _timeout(ctx, est, ref)
        _compare(ctx, est, ref, "rto", "the doubled RTO is still bounded by max_rto "
                 "(RFC 6298 (5.5) with (2.5))")


def check_backoff_kept_until_sample(ctx: Context) -> None:
    est, ref = _new(ctx, min_rto=0.2, max_rto=60.0)
    _sample(ctx, est, ref, 0.1)
    _timeout(ctx, est, ref)
    _timeout(ctx, est, ref)
    ctx.step(f"(read again, nothing happened)  ->  {_state(est)}")
    _compare(ctx, est, ref, "rto", "the backed-off RTO stays in force until a new valid RTT "
             "sample (Karn's algorithm, RFC 6298 §5 note after (5.7))")
    _sample(ctx, est, ref, 0.1)
    _compare(ctx, est, ref, "rto", "a new RTT sample ends the backoff: RTO is computed from "
             "SRTT and RTTVAR again (Karn's algorithm, RFC 6298 §5)",
             lambda got: "the RTO is still backed off after a new sample: reset the "
             "backoff in on_sample" if isinstance(got, int | float) and got > ref.rto * 1.5
             else None)
    _compare(ctx, est, ref, "backoffs", "a new RTT sample resets backoffs to 0")
    first, ref1 = _new(ctx, min_rto=0.2, max_rto=60.0)
    _timeout(ctx, first, ref1)  # the SYN's timer expired: no sample yet
    _sample(ctx, first, ref1, 0.4)
    _compare(ctx, first, ref1, "rto", "the FIRST RTT sample ends a backoff, too: RTO is "
             "computed from it (RFC 6298 (2.2), Karn's algorithm §5)",
             lambda got: "the backoff from before the first sample was kept: reset the "
             "backoff on every sample, the first included" if isinstance(got, int | float)
             and got > ref1.rto * 1.5 else None)


def check_syn_timeout(ctx: Context) -> None:
    est, ref = _new(ctx, min_rto=1.0)
    _timeout(ctx, est, ref)
    est.on_syn_timeout_done()
    ref.on_syn_timeout_done()
    ctx.step(f"est.on_syn_timeout_done()  ->  {_state(est)}")
    _compare(ctx, est, ref, "rto", "if the SYN was retransmitted and no RTT was measured, RTO "
             "is reset to 3 s when data transmission begins (RFC 6298 (5.7))")
    est2, ref2 = _new(ctx, min_rto=0.2)
    _timeout(ctx, est2, ref2)
    _sample(ctx, est2, ref2, 0.4)
    est2.on_syn_timeout_done()
    ref2.on_syn_timeout_done()
    ctx.step(f"est.on_syn_timeout_done()  ->  {_state(est2)}")
    _compare(ctx, est2, ref2, "rto", "(5.7) applies only when no RTT sample was taken: "
             "with a sample the RTO stays as computed")
    est3, ref3 = _new(ctx, min_rto=4.0)
    _timeout(ctx, est3, ref3)
    est3.on_syn_timeout_done()
    ref3.on_syn_timeout_done()
    ctx.step(f"est.on_syn_timeout_done()  ->  {_state(est3)}")
    _compare(ctx, est3, ref3, "rto", "(5.7)'s 3 s is still at least min_rto: the RTO "
             "becomes max(3 s, min_rto) (RFC 6298 (5.7), (2.4))",
             lambda got: "min_rto was ignored: 3 s is below this min_rto"
             if isinstance(got, int | float) and approx(got, 3.0) else None)


def check_stack_timer(ctx: Context) -> None:
    """The real TCP's retransmission timer runs on the student's RTO (a segment script)."""
    from netsim.stack.tcp.config import TcpConfig
    from netsim.testing.script import TcpScript

    cls = ctx.target()
    cfg = TcpConfig(timestamps=False, sack=False,
                    rto_factory=lambda: cls(min_rto=0.2, max_rto=60.0, initial_rto=1.0,
                                            granularity=0.001))
    h = TcpScript(cfg)
    h.connect(80)
    h.expect(flags="S")
    h.advance(0.1)  # the handshake RTT: 100 ms -> SRTT 0.1, RTTVAR 0.05, RTO 0.3 s
    h.inject(flags="SA", seq=5000, ack=h.rel(1), options={"mss": 1000})
    h.expect(flags="A", ack=5001)
    h.app_send(b"x" * 500)
    h.expect(flags="PA", seq=h.rel(1), payload=SameBytes(b"x" * 500))
    h.note("# handshake RTT 0.1 s: SRTT 0.1, RTTVAR 0.05, RTO 0.3 s -> retransmit at t=0.4")
    h.advance(0.28)
    h.expect_nothing()
    h.advance(0.04)
    h.expect(flags="PA", seq=h.rel(1))
    h.note("# timeout: RTO doubles to 0.6 s -> next retransmission at t=1.0")
    h.advance(0.56)
    h.expect_nothing()
    h.advance(0.04)
    h.expect(flags="PA", seq=h.rel(1))
    h.inject(flags="A", ack=h.rel(501))
    h.note("# no RTT sample from a retransmitted segment (Karn): RTO stays 1.2 s")
    h.app_send(b"y" * 500)
    h.expect(flags="PA", seq=h.rel(501))
    h.advance(1.1)
    h.expect_nothing()
    h.advance(0.2)
    h.expect(flags="PA", seq=h.rel(501))


def check_simulation(ctx: Context) -> None:
    """A bulk transfer over a lossy link with the student's estimator on both hosts."""
    from netsim.grading.rto_sim import Recorder, Replay, report
    from netsim.sim.link import LinkConfig
    from netsim.sim.loss import Bernoulli
    from netsim.sim.scenario import BulkScenario, run_bulk
    from netsim.stack.tcp.config import TcpConfig

    cls = ctx.target()
    made: list[Any] = []
    replays: list[Replay] = []
    params = dict(min_rto=0.2, max_rto=60.0, initial_rto=1.0, granularity=0.001)

    def factory() -> Any:
        replays.append(Replay())
        est = Recorder(cls(**params), params, replays[-1])
        made.append(est)
        return est

    link = LinkConfig(delay=0.01, rate_bps=10e6, loss=Bernoulli(0.02))
    # rack=False (no RACK-TLP, no D-SACK): the estimator's timeouts and backoffs decide this
    # transfer, as the check was made for, not RACK's time-based detection and loss probes
    base = dict(bytes=300_000, link=link, seed=4, cc="newreno", time_limit=60.0, rack=False)
    ref = run_bulk(BulkScenario(**base, tcp=TcpConfig(min_rto=0.2)))  # type: ignore[arg-type]
    ctx.step("run_bulk(300 kB, 10 ms one-way delay, 10 Mbit/s, 2% loss, seed 4), min_rto 0.2 s")
    res = run_bulk(BulkScenario(**base, tcp=TcpConfig(rto_factory=factory)))  # type: ignore[arg-type]
    ctx.step(f"reference estimator: intact={ref.intact}, {ref.sim_seconds:.2f} s, "
             f"{ref.timeouts} timeouts, {ref.retransmissions} retransmissions")
    ctx.step(f"your estimator:      intact={res.intact}, {res.sim_seconds:.2f} s, "
             f"{res.timeouts} timeouts, {res.retransmissions} retransmissions"
             + (f", error: {res.error}" if res.error else ""))
    report(ctx, replays)  # every call the stack made, replayed on RFC 6298's estimator
    if not res.intact:
        raise CheckFailed("the transfer did not complete intact with your estimator",
                          expected="all 300000 bytes delivered, SHA-256 equal",
                          got=f"{res.bytes_delivered} bytes, error: {res.error}")
    sender = made[0] if made else None
    srtts = [e.srtt for e in made if e.srtt is not None]
    ctx.step("your SRTT at the end, per connection end: " + ", ".join(fmt(s) for s in srtts))
    if sender is None or not srtts or not all(0.019 <= s <= 0.5 for s in srtts):
        raise CheckFailed("SRTT is not the path's round-trip time",
                          expected="SRTT between 0.02 s (the propagation RTT) and 0.5 s",
                          got=", ".join(fmt(s) for s in srtts) or "no SRTT")
    if res.sim_seconds > 2 * ref.sim_seconds + 1.0 or \
            res.retransmissions > 2 * ref.retransmissions + 20:
        raise CheckFailed("your RTO makes the transfer much slower or retransmit far more "
                          "than the reference (too many spurious timeouts, or waiting far "
                          "too long)",
                          expected=f"about {ref.sim_seconds:.2f} s and {ref.retransmissions} "
                          "retransmissions",
                          got=f"{res.sim_seconds:.2f} s and {res.retransmissions}")


ASSIGNMENT = Assignment(
    name="02-rto-estimator",
    title="An RFC 6298 retransmission-timeout estimator",
    filename="rto_estimator.py",
    target="RtoEstimator",
    reference="netsim.stack.tcp.rto:Rfc6298Estimator",
    returns={
        "rto": (int, float),
        "srtt": (int, float, None),
        "rttvar": (int, float, None),
        "backoffs": (int,),
    },
    checks=(
        Check("initial_rto", 1, check_initial,
              "before any sample: SRTT/RTTVAR unset, RTO = initial RTO (RFC 6298 (2.1))"),
        Check("first_sample", 2, check_first_sample,
              "first sample R: SRTT = R, RTTVAR = R/2, RTO = SRTT + 4*RTTVAR (RFC 6298 (2.2))"),
        Check("srtt_update", 2, check_srtt,
              "SRTT = 7/8 SRTT + 1/8 R' (alpha = 1/8, RFC 6298 (2.3))"),
        Check("rttvar_update", 2, check_rttvar,
              "RTTVAR = 3/4 RTTVAR + 1/4 |SRTT - R'|, with the OLD SRTT (RFC 6298 (2.3))"),
        Check("rto_granularity", 1, check_rto_formula,
              "RTO = SRTT + max(G, K*RTTVAR): the clock granularity G bounds the variance term"),
        Check("min_rto", 1, check_min_rto, "RTO is never below min_rto (RFC 6298 (2.4))"),
        Check("max_rto", 1, check_max_rto, "RTO is never above max_rto (RFC 6298 (2.5))"),
        Check("backoff_doubles", 2, check_backoff_doubles,
              "each timeout doubles the RTO (RFC 6298 (5.5))"),
        Check("backoff_capped", 1, check_backoff_capped,
              "the doubled RTO stays within max_rto (RFC 6298 (5.5), (2.5))"),
        Check("backoff_until_sample", 2, check_backoff_kept_until_sample,
              "the backed-off RTO is kept until a new RTT sample, which ends it (Karn)"),
        Check("syn_timeout_3s", 1, check_syn_timeout,
              "SYN retransmitted and no sample: RTO = 3 s for the data (RFC 6298 (5.7))"),
        Check("random_sequences", 3, differential_check("02-rto-estimator"),
              "random call sequences: after every call the same answers as the reference",
              kind="random"),
        Check("stack_retransmit_timer", 3, check_stack_timer,
              "in the real TCP: retransmissions at RTO, 2*RTO, backoff kept after the ACK",
              kind="scripted"),
        Check("simulation_lossy_link", 3, check_simulation,
              "in a full simulation over a 2% lossy link: after every call the real TCP "
              "makes, SRTT/RTTVAR/RTO as RFC 6298's; intact, no spurious-timeout flood",
              kind="simulation"),
    ),
)
