"""Grader for assignment 04-reno: a Reno congestion controller (RFC 5681 with RFC 3465 ABC).

The student's class has the `netsim.stack.tcp.congestion.base.CongestionControl` interface,
takes no constructor arguments and has ``partial_ack_recovery = False``. Unit checks call its
methods directly (sizes in bytes, MSS 1000); the scripted check and the simulation plug it into
the real TCP (``TcpConfig.cc_factory``, ``netsim sim --cc FILE.py:CLASS``), with SACK off so
that Reno's own fast recovery runs.
"""

from __future__ import annotations

from typing import Any

from netsim.grading.differential import check_fn as differential_check
from netsim.grading.differential.values import show
from netsim.grading.framework import Assignment, Check, CheckFailed, Context

MSS = 1000


def _state(cc: Any) -> str:
    return f"cwnd={getattr(cc, 'cwnd', '?')}, ssthresh={getattr(cc, 'ssthresh', '?')}"


class _Driver:
    def __init__(self, ctx: Context, mss: int = MSS) -> None:
        self.ctx = ctx
        self.cc = ctx.target()()
        ctx.step(f"cc = {ctx.target_name}()")
        self.cc.init(mss, 0.0)
        ctx.step(f"cc.init(mss={mss}, now=0)  ->  {_state(self.cc)}")

    def set(self, cwnd: int, ssthresh: int) -> None:
        self.cc.cwnd = cwnd
        self.cc.ssthresh = ssthresh
        self.ctx.step(f"cc.cwnd = {cwnd}; cc.ssthresh = {ssthresh}")

    def call(self, method: str, *args: Any) -> None:
        getattr(self.cc, method)(*args)
        shown = ", ".join(repr(a) for a in args)
        self.ctx.step(f"cc.{method}({shown})  ->  {_state(self.cc)}")

    def ack(self, acked: int, flight: int, now: float = 1.0) -> None:
        self.call("on_ack", acked, 0.05, flight, now)

    def want(self, attr: str, value: int, rule: str, hints: dict[int, str] | None = None,
             accept: tuple[int, ...] = ()) -> None:
        got = getattr(self.cc, attr, None)
        if got == value or got in accept:
            return
        hint = (hints or {}).get(got) if isinstance(got, int) else None
        raise CheckFailed(rule, expected=f"{attr} = {value}"
                          + (f" (or {', '.join(map(str, accept))})" if accept else ""),
                          got=f"{attr} = {got!r}", hint=hint)


# --------------------------------------------------------------------------------- checks
def check_initial_window(ctx: Context) -> None:
    for mss, iw in ((1000, 4000), (1460, 4380), (2500, 5000)):
        d = _Driver(ctx, mss)
        d.want("cwnd", iw, "the initial window: IW = 4*SMSS up to 1095 bytes, 3*SMSS up to "
               "2190 bytes, else 2*SMSS (RFC 5681 §3.1)", {mss: "IW is more than 1 SMSS"})
        ss = getattr(d.cc, "ssthresh", None)
        # RFC 5681 §3.1 leaves the value open ("arbitrarily high"); the assignment fixes it,
        # as the starting file gives it, because the later checks compare ssthresh exactly
        if not isinstance(ss, int) or isinstance(ss, bool) or ss != 1 << 30:
            raise CheckFailed("the initial ssthresh is arbitrarily high (RFC 5681 §3.1): the "
                              "starting file's 1 << 30, about the largest window a peer can "
                              "advertise (RFC 7323 §2.3)", expected="ssthresh = 1 << 30 "
                              "(1073741824)", got=f"ssthresh = {show(ss)}",
                              hint="keep the starting file's initial ssthresh: the later "
                              "checks compare ssthresh exactly")


def check_slow_start(ctx: Context) -> None:
    d = _Driver(ctx)
    cwnd = 4000
    for i in range(12):
        d.ack(MSS, 3000)
        cwnd += MSS
        d.want("cwnd", cwnd, "in slow start (cwnd < ssthresh) each ACK of one full segment "
               "adds SMSS: cwnd doubles every round trip (RFC 5681 §3.1)",
               {cwnd - MSS: "cwnd did not grow on an ACK in slow start"} if i == 0 else None)


def check_abc(ctx: Context) -> None:
    d = _Driver(ctx)
    d.ack(4 * MSS, 0)
    d.want("cwnd", 6000, "appropriate byte counting: in slow start cwnd += min(N, L*SMSS) "
           "with L = 2, N the bytes this ACK acknowledged (RFC 3465 §2.2)",
           {8000: "no limit: an ACK of 4 segments may add at most L*SMSS = 2*SMSS",
            5000: "this is L = 1 (cwnd += min(N, SMSS)); the assignment asks for L = 2"})
    d.ack(300, 0)
    d.want("cwnd", 6300, "byte counting: an ACK of 300 bytes adds 300 bytes, not a whole "
           "SMSS (RFC 3465 §2.2)",
           {7000: "this counts ACKs, not bytes: an ACK of 300 bytes adds 300 (RFC 3465)"})


def check_congestion_avoidance(ctx: Context) -> None:
    # RFC 5681 §3.1 (slow start and congestion avoidance) RECOMMENDS counting bytes, +1 SMSS
    # once a cwnd of bytes is acknowledged (RFC 3465 §2.1 congestion avoidance), and allows
    # cwnd += SMSS*SMSS/cwnd per ACK (eq. 3) as a MAY; the assignment asks for the bytes
    per_ack = "this is cwnd += SMSS*SMSS/cwnd per ACK (RFC 5681 eq. 3): count the bytes " \
        "acknowledged instead, and add SMSS once they reach cwnd (RFC 3465 §2.1)"
    d = _Driver(ctx)
    d.set(10_000, 9_000)
    rule = ("congestion avoidance (cwnd >= ssthresh) counts bytes: SMSS more once a whole cwnd "
            "of bytes has been acknowledged, about one SMSS per round trip (RFC 5681 §3.1, "
            "RFC 3465 §2.1)")
    for rounds, acks, acked, cwnd in ((1, 10, MSS, 11_000), (2, 11, MSS, 12_000),
                                      (3, 6, 2 * MSS, 13_000)):
        for _ in range(acks):
            d.ack(acked, 9_000)
        got = d.cc.cwnd
        if got == cwnd:
            continue
        before = cwnd - MSS
        raise CheckFailed(
            rule if rounds == 1 else f"{rule}; round trip {rounds}" + (
                ", with delayed ACKs (one ACK of 2 segments per 2 segments)" if acked > MSS
                else ""),
            input=f"cwnd {before} >= ssthresh 9000; {acks} ACKs of {acked} bytes",
            expected=f"cwnd = {cwnd}", got=f"cwnd = {got!r}",
            hint="still growing as in slow start" if isinstance(got, int | float)
            and got >= before + 4 * MSS else "cwnd did not grow" if got == before
            else per_ack if isinstance(got, int | float) and before < got < cwnd else None)


def check_fast_retransmit(ctx: Context) -> None:
    d = _Driver(ctx)
    d.set(30_000, 1 << 30)
    d.call("on_loss", 20_000, 2.0)
    d.want("ssthresh", 10_000, "on the third duplicate ACK: ssthresh = max(FlightSize / 2, "
           "2*SMSS) (RFC 5681 §3.2 step 2, eq. 4)",
           {15_000: "this is cwnd / 2: RFC 5681 halves FlightSize (the bytes in flight, "
                    "given as `flight`), not cwnd",
            20_000: "ssthresh was not halved",
            30_000: "ssthresh was not halved"})
    d.want("cwnd", 13_000, "entering fast recovery: cwnd = ssthresh + 3*SMSS, inflated by "
           "the three segments that left the network (RFC 5681 §3.2 step 3)",
           {10_000: "add 3*SMSS for the three duplicate ACKs",
            1000: "fast retransmit is not a timeout: cwnd = ssthresh + 3*SMSS, not 1 SMSS",
            30_000: "cwnd was not reduced"})


def check_ssthresh_floor(ctx: Context) -> None:
    d = _Driver(ctx)
    d.call("on_loss", 1000, 1.0)
    d.want("ssthresh", 2000, "ssthresh is at least 2*SMSS (RFC 5681 §3.2 eq. 4)",
           {500: "ssthresh = max(FlightSize / 2, 2*SMSS): the 2*SMSS floor is missing"})
    e = _Driver(ctx)
    e.call("on_rto", 600, 1.0)
    e.want("ssthresh", 2000, "after a timeout, too, ssthresh >= 2*SMSS (RFC 5681 §3.1 eq. 4)",
           {300: "the 2*SMSS floor is missing"})


def check_fast_recovery(ctx: Context) -> None:
    d = _Driver(ctx)
    d.set(30_000, 1 << 30)
    d.call("on_loss", 20_000, 2.0)
    for n, cwnd in ((4, 14_000), (5, 15_000), (6, 16_000)):
        d.call("on_dup_ack", n, 20_000, 2.0)
        d.want("cwnd", cwnd, "in fast recovery each further duplicate ACK inflates cwnd by "
               "SMSS (RFC 5681 §3.2 step 4)", {cwnd - MSS: "cwnd did not grow on a duplicate "
                                               "ACK during fast recovery"})
    d.call("on_recovery_end", 19_000, 2.1)
    d.want("cwnd", 10_000, "when new data is acknowledged, fast recovery ends: cwnd is "
           "deflated to ssthresh (RFC 5681 §3.2 step 6)",
           {16_000: "cwnd was not deflated when recovery ended",
            1000: "recovery ends in congestion avoidance at ssthresh, not at 1 SMSS"})


def check_dupack_outside_recovery(ctx: Context) -> None:
    d = _Driver(ctx)
    for n in (1, 2):
        d.call("on_dup_ack", n, 3000, 1.0)
        d.want("cwnd", 4000, "the first and second duplicate ACKs do not change cwnd "
               "(RFC 5681 §3.2 step 1; limited transmit does not inflate it)")


def check_rto(ctx: Context) -> None:
    d = _Driver(ctx)
    d.set(30_000, 1 << 30)
    d.call("on_rto", 20_000, 3.0)
    d.want("cwnd", MSS, "after a retransmission timeout cwnd = the loss window LW = 1 SMSS "
           "(RFC 5681 §3.1)", {30_000: "cwnd was not reset to 1 SMSS after the timeout",
                               4000: "after a timeout cwnd = LW = 1 SMSS, not the initial "
                               "window", 13_000: "a timeout is not a fast retransmit: no "
                               "+3*SMSS, cwnd = 1 SMSS", 10_000: "cwnd = 1 SMSS, not ssthresh"})
    d.want("ssthresh", 10_000, "after a timeout ssthresh = max(FlightSize / 2, 2*SMSS) "
           "(RFC 5681 §3.1 eq. 4)", {15_000: "halve FlightSize, not cwnd",
                                     30_000: "ssthresh was not halved"})


def check_after_rto(ctx: Context) -> None:
    d = _Driver(ctx)
    d.set(16_000, 1 << 30)
    d.call("on_rto", 8000, 3.0)  # ssthresh 4000, cwnd 1000
    for cwnd in (2000, 3000, 4000):
        d.ack(MSS, 0)
        d.want("cwnd", cwnd, "after a timeout TCP slow-starts again up to ssthresh "
               "(RFC 5681 §3.1)")
    for _ in range(4):
        d.ack(MSS, 0)
    got = d.cc.cwnd
    if not (isinstance(got, int) and 4_800 <= got <= 5_000):
        raise CheckFailed("above ssthresh growth is linear again: 4 ACKs of 1000 bytes at "
                          "cwnd 4000 add about one SMSS (RFC 5681 §3.1)",
                          expected="cwnd between 4800 and 5000", got=f"cwnd = {got!r}")


def check_idle(ctx: Context) -> None:
    d = _Driver(ctx)
    d.set(30_000, 20_000)
    d.call("on_idle", 0.5, 1.0, 10.0)
    d.want("cwnd", 30_000, "an idle period shorter than the RTO keeps cwnd")
    d.call("on_idle", 5.0, 1.0, 20.0)
    d.want("cwnd", 4000, "after an idle period longer than the RTO, cwnd = min(RW, cwnd) "
           "with RW the initial window (RFC 5681 §4.1)",
           {30_000: "cwnd was not reduced to the restart window after idle"})


def check_stack(ctx: Context) -> None:
    """The real TCP sender with the student's controller (a segment script)."""
    from netsim.stack.tcp.config import TcpConfig
    from netsim.testing.script import TcpScript

    cls = ctx.target()
    h = TcpScript(TcpConfig(timestamps=False, sack=False, window_scaling=False,
                            cc_factory=cls, nodelay=True))
    h.establish_active(80, options={"mss": 1000}, window=65535)

    full = _Length(1000)

    h.app_send(b"d" * 30_000)
    h.note("# IW = 4 segments of 1000 bytes (RFC 5681 §3.1)")
    for i in range(4):
        h.expect(None, seq=h.rel(1 + 1000 * i), payload=full)
    h.expect_nothing()
    h.inject(flags="A", ack=h.rel(2001))
    h.note("# ACK of 2 segments: cwnd 4000 + min(2000, 2*SMSS) = 6000, 2000 in flight")
    for i in range(4, 8):
        h.expect(None, seq=h.rel(1 + 1000 * i), payload=full)
    h.expect_nothing()
    h.inject(flags="A", ack=h.rel(8001))
    h.note("# ACK of 6 segments: cwnd 6000 + 2000 (ABC, L = 2) = 8000, nothing in flight")
    for i in range(8, 16):
        h.expect(None, seq=h.rel(1 + 1000 * i), payload=full)
    h.expect_nothing()
    h.note("# segment 8001 is lost: three duplicate ACKs")
    for i in range(2):
        h.inject(flags="A", ack=h.rel(8001))
        h.note("# limited transmit (RFC 3042): one new segment per early dup ACK")
        h.expect(None, seq=h.rel(16001 + 1000 * i), payload=full)
        h.expect_nothing()
    h.inject(flags="A", ack=h.rel(8001))
    h.note("# fast retransmit: FlightSize 8000 (the 2 limited-transmit segments do not "
            "count, RFC 3042 §2), ssthresh = 4000, cwnd = 4000 + 3*1000 = 7000")
    h.expect(None, seq=h.rel(8001), payload=full)
    h.expect_nothing()
    for n, cwnd in ((4, 8000), (5, 9000), (6, 10000)):
        h.inject(flags="A", ack=h.rel(8001))
        h.note(f"# dup ACK {n}: cwnd {cwnd} (+1 SMSS each), 10000 in flight: nothing new")
        h.expect_nothing()
    h.inject(flags="A", ack=h.rel(8001))
    h.note("# dup ACK 7: cwnd 11000 > 10000 in flight: one new segment")
    h.expect(None, seq=h.rel(18001), payload=full)
    h.expect_nothing()


class _Length:
    """Matches a payload of `n` bytes (shown as such in the script)."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __call__(self, payload: bytes) -> bool:
        return len(payload) == self.n

    def __repr__(self) -> str:
        return f"<{self.n} bytes>"


def check_simulation(ctx: Context) -> None:
    """A full simulation with every call on the student's controller recorded: the transfer
    completes and each event follows the Reno rules (`netsim.grading.reno_sim`)."""
    from netsim.grading.reno_sim import Event, Recorder, check_events
    from netsim.sim.link import LinkConfig
    from netsim.sim.loss import Bernoulli
    from netsim.sim.scenario import BulkScenario, run_bulk
    from netsim.stack.tcp.config import TcpConfig

    spec = f"{ctx.path.name}:{ctx.target_name}"
    cls = ctx.target()
    link = LinkConfig(delay=0.01, rate_bps=10e6, loss=Bernoulli(0.01), queue_packets=50)
    # a 30 kB receive window: the flight stays below cwnd once cwnd has grown past it, so
    # FlightSize/2 and cwnd/2 differ at a loss (RFC 5681 §3.2 eq. 4 names FlightSize)
    base: dict[str, Any] = dict(bytes=500_000, link=link, seed=2, time_limit=120.0)
    ref = run_bulk(BulkScenario(cc="reno", tcp=TcpConfig(sack=False, rcvbuf=SIM_RCVBUF),
                                **base))
    log: list[Event] = []
    ctx.step(f"run_bulk(500 kB, 10 ms, 10 Mbit/s, 1% loss, queue 50, seed 2, SACK off, "
             f"receive buffer {SIM_RCVBUF} bytes, cc={spec!r}); every call on your "
             "controller is recorded")
    tcp = TcpConfig(sack=False, rcvbuf=SIM_RCVBUF, cc_factory=lambda: Recorder(cls(), log))
    res = run_bulk(BulkScenario(cc="factory", tcp=tcp, **base))
    ctx.step(f"reference Reno: intact={ref.intact}, {ref.sim_seconds:.2f} s, "
             f"{ref.fast_retransmits} fast retransmits, {ref.timeouts} timeouts")
    ctx.step(f"your Reno:      intact={res.intact}, {res.sim_seconds:.2f} s, "
             f"{res.fast_retransmits} fast retransmits, {res.timeouts} timeouts"
             + (f", error: {res.error}" if res.error else ""))
    seen = check_events(ctx, log, res.mss)
    ctx.step("your controller's calls: " + ", ".join(f"{k} x{v}" for k, v in seen.items()))
    if not res.intact:
        raise CheckFailed("the transfer did not complete intact with your controller",
                          expected="500000 bytes delivered, SHA-256 equal",
                          got=f"{res.bytes_delivered} bytes, error: {res.error}")
    if res.goodput_bps < 0.5 * ref.goodput_bps:
        raise CheckFailed("your controller reaches less than half the reference Reno's "
                          "goodput on the same link and seed",
                          expected=f"about {ref.goodput_bps / 1e6:.2f} Mbit/s",
                          got=f"{res.goodput_bps / 1e6:.2f} Mbit/s")


SIM_RCVBUF = 30_000


ASSIGNMENT = Assignment(
    name="04-reno",
    title="A Reno congestion controller in the real stack",
    filename="my_reno.py",
    target="MyReno",
    reference="netsim.stack.tcp.congestion.reno:Reno",
    returns={
        "cwnd": (int, float),
        "ssthresh": (int, float),
        "partial_ack_recovery": (bool,),
    },
    checks=(
        Check("initial_window", 1, check_initial_window,
              "IW = 4/3/2 SMSS by MSS size; ssthresh starts high (RFC 5681 §3.1)"),
        Check("slow_start", 2, check_slow_start, "slow start: +1 SMSS per ACKed segment"),
        Check("abc", 2, check_abc,
              "byte counting: cwnd += min(N, 2*SMSS) per ACK in slow start (RFC 3465)"),
        Check("congestion_avoidance", 2, check_congestion_avoidance,
              "congestion avoidance: bytes counted, +1 SMSS per cwnd acknowledged (RFC 3465)"),
        Check("fast_retransmit", 2, check_fast_retransmit,
              "3 dup ACKs: ssthresh = max(FlightSize/2, 2 SMSS), cwnd = ssthresh + 3 SMSS"),
        Check("ssthresh_floor", 1, check_ssthresh_floor, "ssthresh never below 2*SMSS"),
        Check("fast_recovery", 2, check_fast_recovery,
              "fast recovery: +1 SMSS per dup ACK, deflate to ssthresh at the end"),
        Check("dupack_no_change", 1, check_dupack_outside_recovery,
              "the first two duplicate ACKs leave cwnd alone"),
        Check("rto", 2, check_rto, "timeout: ssthresh = FlightSize/2, cwnd = 1 SMSS"),
        Check("after_rto", 1, check_after_rto,
              "after a timeout: slow start to ssthresh, then linear growth"),
        Check("idle_restart", 1, check_idle,
              "idle longer than the RTO: cwnd = min(IW, cwnd) (RFC 5681 §4.1)"),
        Check("random_sequences", 3, differential_check("04-reno"),
              "random call sequences: after every call the same answers as the reference",
              kind="random"),
        Check("stack_sender", 3, check_stack,
              "in the real TCP: IW, slow start with ABC, fast retransmit, inflation",
              kind="scripted"),
        Check("simulation_lossy_link", 3, check_simulation,
              "in a full simulation (1% loss, 30 kB receive window): every call follows the rules",
              kind="simulation"),
    ),
)
