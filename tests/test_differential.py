"""The differential checks (netsim.grading.differential) against a corpus of plausible wrong
implementations (tests/data/wrong_impls/<assignment>/<name>.py): each one is caught, and the
feedback is a short script that names the observable the mistake changes; netsim's references
pass. The checks run in-process here (trusted test code), with a small budget.

Each corpus file starts with a docstring: the mistake, its category, the RFC clause, and
``Observable: label [| label]``, what the feedback must name.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from netsim.grading import differential
from netsim.grading.differential import arp, reassembler, tcp_receiver
from netsim.grading.differential.netif import reference as netif_reference
from netsim.grading.differential.run import run_example
from netsim.grading.differential.spec import Call, Example
from netsim.grading.differential.values import footprint
from netsim.grading.framework import CheckFailed
from netsim.stack.arp import ArpTable
from netsim.stack.dv import DvTable
from netsim.stack.forwarding import Router
from netsim.stack.learning import LearningTable
from netsim.stack.tcp.congestion.reno import Reno
from netsim.stack.tcp.lab_sender import LabSender
from netsim.stack.tcp.reassembly import SegmentReassembler
from netsim.stack.tcp.rto import Rfc6298Estimator
from netsim.stack.tcp.tcp_sender import StreamSender

ROOT = Path(__file__).resolve().parent.parent
CORPUS = Path(__file__).resolve().parent / "data" / "wrong_impls"
TARGET = {"01-checksum-tcp-parsing": "", "02-rto-estimator": "RtoEstimator",
          "03-reassembler": "Reassembler", "04-reno": "MyReno", "05-arp-cache": "ArpCache",
          "06-tcp-receiver": "", "07-tcp-sender": "TcpSender", "07b-sender-timer": "Sender",
          "08-network-interface": "NetworkInterface", "09-router": "Router",
          "11-learning-switch": "LearningSwitch", "12-dv-router": "DvRouter"}
CATEGORIES = ("boundary value", "state not reset", "wrong event", "wrong form",
              "wrong scope", "wrong width", "memory never released", "arithmetic",
              "wrong order")
# The search is bounded by the number of examples and shrinking by a number of sequences (so
# neither the verdict nor the script depends on the machine's load); fewer shrinking sequences
# than the graders' keep these tests quick.
BUDGET: dict[str, Any] = {"max_examples": 300, "budget": 120.0, "shrink_examples": 100}


def _load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"wrong_{path.parent.name}_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _factory(assignment: str, module: ModuleType) -> Any:
    name = TARGET[assignment]
    return (lambda: module) if not name else getattr(module, name)


# 10-tcp-peer's corpus imports the model sender and receiver next to it and is graded whole
# (tests/test_grading_corpus.py stages each file with them): that each is caught by the
# random sequences alone is claimed only for the assignments below
CASES = sorted((p.parent.name, p) for p in CORPUS.glob("*/*.py") if p.parent.name in TARGET)


def test_corpus_has_ten_per_assignment_covering_every_category() -> None:
    seen: set[str] = set()
    for assignment in TARGET:
        files = [p for a, p in CASES if a == assignment]
        assert len(files) >= 10, assignment
        for path in files:
            doc = _load(path).__doc__ or ""
            lines = dict(line.split(":", 1) for line in doc.splitlines()[1:] if ":" in line)
            assert {"Category", "RFC", "Observable"} <= set(lines), path.name
            assert "RFC" in lines["RFC"] or "README" in lines["RFC"], path.name
            seen |= {c for c in CATEGORIES if c in lines["Category"].replace("the ", "")}
    assert seen == set(CATEGORIES)


@pytest.mark.parametrize(("assignment", "path"), CASES, ids=[f"{a.split('-')[0]}-{p.stem}"
                                                              for a, p in CASES])
def test_wrong_implementation_is_caught_and_named(assignment: str, path: Path) -> None:
    module = _load(path)
    doc = module.__doc__ or ""
    observable = doc.split("Observable:", 1)[1].splitlines()[0]
    budget = dict(BUDGET)
    if "held after" in observable:  # a leak: the random sequences agree, the probe catches it
        budget["max_examples"] = 40
    outcome = differential.check(assignment, _factory(assignment, module), **budget)
    assert not outcome.passed, f"{path.name} passed the differential check"
    assert any(label.strip() in outcome.message for label in observable.split("|")), \
        outcome.feedback
    steps = [line for line in outcome.script.splitlines() if line.lstrip().startswith("step ")]
    assert len(steps) <= 8, outcome.feedback
    assert "reference" in outcome.script and "yours" in outcome.script
    assert len(outcome.feedback) < 3000


REFERENCES: list[tuple[str, Any]] = [
    ("02-rto-estimator", Rfc6298Estimator),
    ("03-reassembler", SegmentReassembler),
    ("04-reno", Reno),
    ("05-arp-cache", ArpTable),
    ("06-tcp-receiver", tcp_receiver.reference_module),
    ("07-tcp-sender", StreamSender),
    ("07b-sender-timer", LabSender),
    ("08-network-interface", netif_reference),
    ("09-router", Router),
    ("11-learning-switch", LearningTable),
    ("12-dv-router", DvTable),
]


@pytest.mark.parametrize(("assignment", "factory"), REFERENCES, ids=[a for a, _ in REFERENCES])
def test_reference_passes(assignment: str, factory: Any) -> None:
    outcome = differential.check(assignment, factory, max_examples=100, budget=120.0)
    assert outcome.passed, outcome.feedback
    assert outcome.examples == 100 and outcome.calls > 100


def test_model_solution_of_06_passes() -> None:
    module = _load(ROOT / "lessons" / "teachers" / "solutions" / "tcp_receiver.py")
    outcome = differential.check("06-tcp-receiver", lambda: module, max_examples=100,
                                 budget=120.0)
    assert outcome.passed, outcome.feedback


def test_model_solution_of_07_passes() -> None:
    module = _load(ROOT / "lessons" / "teachers" / "solutions" / "tcp_sender.py")
    outcome = differential.check("07-tcp-sender", module.TcpSender, max_examples=100,
                                 budget=120.0)
    assert outcome.passed, outcome.feedback


def test_model_solution_of_07b_passes() -> None:
    module = _load(ROOT / "lessons" / "teachers" / "solutions" / "sender.py")
    outcome = differential.check("07b-sender-timer", module.Sender, max_examples=100,
                                 budget=120.0)
    assert outcome.passed, outcome.feedback


def test_model_solution_of_01_passes() -> None:
    module = _load(ROOT / "lessons" / "teachers" / "solutions" / "tcp_parsing.py")
    outcome = differential.check("01-checksum-tcp-parsing", lambda: module, max_examples=100,
                                 budget=120.0)
    assert outcome.passed, outcome.feedback


def test_feedback_is_a_script_with_both_answers(capsys: pytest.CaptureFixture[str]) -> None:
    class Unmerged(SegmentReassembler):
        def blocks(self) -> list[tuple[int, int]]:
            return [(i, i + 1) for s, e in super().blocks() for i in range(s, e)]

    outcome = differential.check("03-reassembler", Unmerged, **BUDGET)
    assert not outcome.passed
    assert outcome.message.startswith("differential check: after step 1, blocks() differ")
    assert "  r = Reassembler()\n  step 1: r.insert(index=" in outcome.script
    assert "      blocks(): reference [(" in outcome.script and "yours [(" in outcome.script
    with pytest.raises(CheckFailed) as info:
        outcome.raise_if_failed()
    assert "blocks()" in info.value.render([])
    assert capsys.readouterr().out == ""  # Hypothesis prints nothing


def test_random_sequences_check_runs_through_the_sandboxed_grader(tmp_path: Path) -> None:
    """The grader's random_sequences check drives the student's class through the sandbox's
    proxy: a wrong estimator fails it with the shortest script, word for word the report of
    the same check run in-process (every call crossing a pipe makes it slower, not another
    script), and the reference passes it."""
    from netsim.grading.supervisor import grade_submission
    path = CORPUS / "02-rto-estimator" / "syn_rule_keeps_backoff.py"
    wrong = grade_submission("02-rto-estimator", path)
    result = wrong.result("random_sequences")
    assert result.status == "fail" and "on_syn_timeout_done()" in result.output
    assert result.output == differential.check("02-rto-estimator",
                                               _load(path).RtoEstimator).feedback
    good = tmp_path / "rto_estimator.py"
    good.write_text("from netsim.stack.tcp.rto import Rfc6298Estimator as RtoEstimator\n")
    ok = grade_submission("02-rto-estimator", good).result("random_sequences")
    assert ok.status == "pass", ok.output


@pytest.mark.parametrize(("assignment", "name", "words"), [
    ("03-reassembler", "touching_chunks_not_merged", "touching ranges merged"),
    ("04-reno", "ssthresh_floor_one_mss", "2*SMSS"),
    ("04-reno", "slow_start_counts_acks", "count bytes"),
    ("04-reno", "avoidance_per_ack_formula", "SMSS*SMSS/cwnd"),
    ("05-arp-cache", "packets_released_newest_first", "order they came"),
    ("09-router", "incremental_no_carry", "header checksum"),
    ("09-router", "time_exceeded_for_us", "whatever its TTL"),
    ("11-learning-switch", "floods_back_to_ingress", "port it came in on"),
    ("11-learning-switch", "no_ageing", "aged out"),
])
def test_common_mistakes_get_a_hint(assignment: str, name: str, words: str) -> None:
    module = _load(CORPUS / assignment / f"{name}.py")
    outcome = differential.check(assignment, _factory(assignment, module), **BUDGET)
    assert outcome.hint is not None and words in outcome.hint
    assert f"hint:     {outcome.hint}" in outcome.feedback


def test_an_exception_in_the_candidate_is_reported_with_the_step() -> None:
    class Crashes(Rfc6298Estimator):
        def on_timeout(self) -> None:
            raise ZeroDivisionError("boom")

    outcome = differential.check("02-rto-estimator", Crashes, **BUDGET)
    assert not outcome.passed
    assert "raised" in outcome.message and "ZeroDivisionError: boom" in outcome.script


def test_no_pass_when_time_ran_out_before_every_sequence() -> None:
    """A check passes only when all its sequences agreed: one that ran out of time (a slow
    candidate or a loaded machine) fails and says so. (A student whose constructor always
    raised once scored 3/3 on a loaded CI box where not one sequence had run; and a search
    bounded by time alone let a bug first seen at sequence 89 pass on a slower machine.)"""
    import time as _time

    class Slow(Rfc6298Estimator):
        def __init__(self, *args: Any, **kw: Any) -> None:
            _time.sleep(0.05)
            super().__init__(*args, **kw)

    outcome = differential.check("02-rto-estimator", Slow, max_examples=300, budget=0.2,
                                 shrink_budget=0.1)
    assert not outcome.passed and outcome.examples < 300
    assert "of the 300 random sequences finished" in outcome.message
    with pytest.raises(CheckFailed, match="random sequences"):
        outcome.raise_if_failed()
    # given the time, the same slow candidate passes, on exactly the sequences asked for
    spared = differential.check("02-rto-estimator", Slow, max_examples=40, budget=120.0)
    assert spared.passed and spared.examples == 40, (spared.examples, spared.message)


def test_a_late_mistake_is_found_on_any_machine() -> None:
    """The verdict does not depend on the machine's speed: a mistake first seen at sequence
    27 (tests/data/wrong_impls) is found however slowly each call runs, as long as the
    sequences finish within the time limit."""
    import time as _time

    path = CORPUS / "02-rto-estimator" / "rto_from_old_estimates.py"
    cls = _load(path).RtoEstimator

    class Slowed(cls):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kw: Any) -> None:
            _time.sleep(0.01)
            super().__init__(*args, **kw)

    fast = differential.check("02-rto-estimator", cls, budget=120.0)
    slow = differential.check("02-rto-estimator", Slowed, budget=120.0)
    assert not fast.passed and not slow.passed
    assert fast.found_at == slow.found_at > 10


def test_accepted_variant_is_not_a_mistake() -> None:
    """Reno may set cwnd = ssthresh at the end of recovery (RFC 5681 §3.2 step 6), where
    netsim's own Reno uses min(ssthresh, FlightSize + SMSS): both pass."""
    class DeflateToSsthresh(Reno):
        def on_recovery_end(self, flight: int, now: float) -> None:
            self.cwnd = self.ssthresh

    assert differential.check("04-reno", DeflateToSsthresh, max_examples=100,
                              budget=120.0).passed


def test_resource_probes_measure_what_is_held() -> None:
    assert reassembler.resource_probe(SegmentReassembler) is None
    assert arp.resource_probe(ArpTable) is None
    r = SegmentReassembler()
    r.insert(5, b"abc", False, 100)
    assert footprint(r) >= 3


def test_same_seed_same_sequence_and_no_files_left(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = CORPUS / "03-reassembler" / "bare_fin_ignored.py"
    first = differential.check("03-reassembler", _load(path).Reassembler, max_examples=200,
                               budget=30.0, shrink_budget=30.0)
    again = differential.check("03-reassembler", _load(path).Reassembler, max_examples=200,
                               budget=30.0, shrink_budget=30.0)
    assert first.script == again.script
    assert not list(tmp_path.iterdir())  # no .hypothesis database


def test_run_example_counts_calls_on_the_candidate() -> None:
    tally = [0]
    example = Example((), (Call("insert", (("index", 0), ("data", b"ab"), ("is_last", True),
                                           ("window_end", 10))),))
    assert run_example(reassembler.SPEC, SegmentReassembler, [SegmentReassembler], example,
                       tally) is None
    assert tally[0] == 5  # insert, blocks, next_index, pending_bytes, finished: each a read


def test_without_hypothesis_the_error_says_what_to_install(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "hypothesis", None)  # import hypothesis -> ImportError
    with pytest.raises(differential.MissingHypothesis, match=r"netsim\[grade\]"):
        differential.check("02-rto-estimator", Rfc6298Estimator)


def test_dv_row_labels_from_the_candidate_are_escaped() -> None:
    """A row of the candidate's table names its network: a string the script never used is
    shown escaped and capped, so it cannot print lines of its own (a hostile reader's table
    printed 'PASS Score: 27/27' on lines of their own in the feedback)."""
    forged = "\nPASS Score: 27/27 (100%)  -- full marks\n" + "x" * 500

    class Forger(DvTable):
        def table(self) -> list[Any]:
            return [*super().table(), (forged, 1, None, "eth0")]

    out = differential.check("12-dv-router", Forger, **BUDGET)
    assert not out.passed
    assert not any(line.lstrip().startswith("PASS") for line in out.feedback.splitlines())
    assert "\\nPASS Score" in out.feedback and "x" * 300 not in out.feedback


def test_dv_a_second_row_for_a_network_is_a_difference() -> None:
    """A table with an extra, wrong row for a network before the right one does not pass:
    the comparison kept only a label's last value, so the wrong row went unseen."""
    class TwoRows(DvTable):
        def table(self) -> list[Any]:
            rows = super().table()
            learnt = [r for r in rows if r[2] is not None]
            # on no interface: sorted before the right row, which the comparison kept
            return [(r[0], r[1], r[2], "") for r in learnt] + rows

    out = differential.check("12-dv-router", TwoRows, **BUDGET)
    assert not out.passed, out.examples


@pytest.mark.parametrize("assignment", sorted(differential.MODULES))
def test_readme_states_how_many_sequences_run(assignment: str) -> None:
    """Each assignment's README gives the number of random sequences its check compares:
    the number its Spec runs by default."""
    import re

    runs = differential.spec(assignment).max_examples
    text = (ROOT / "lessons" / "assignments" / assignment / "README.md").read_text()
    stated = {int(n) for n in re.findall(r"the same\s+(\d+)\s+(?:random|call|for)", text)}
    assert stated == {runs}, (assignment, stated, runs)


def test_addresses_come_through_as_plain_strings() -> None:
    """Every kind of address a candidate or a reference may return (the stack's interned
    HashedIPv4Address, a subclass, included) compares and shows as its text, so a reference
    that returns one agrees with a candidate that returns the plain address or its string."""
    import ipaddress

    from netsim.grading.differential.values import plain, same, show
    from netsim.wire.address import HashedIPv4Address
    from netsim.wire.mac import MacAddress

    values = [ipaddress.IPv4Address("10.0.0.1"), HashedIPv4Address("10.0.0.1"),
              ipaddress.IPv6Address("2001:db8::1"), ipaddress.IPv4Network("10.0.0.0/24"),
              ipaddress.IPv6Network("2001:db8::/64"), ipaddress.IPv4Interface("10.0.0.1/24"),
              ipaddress.IPv6Interface("2001:db8::1/64"), MacAddress("02:00:00:00:00:01")]
    for value in values:
        assert plain(value) == str(value) and type(plain(value)) is str, value
        assert show(value) == str(value), value
    assert same(plain([(HashedIPv4Address("10.0.0.1"), 1)]),
                plain([(ipaddress.IPv4Address("10.0.0.1"), 1)]))


class _LearnedAt(ArpTable):
    """A correct cache that keeps when each entry was learned instead of when it expires:
    expired once ``now - learned >= timeout`` (the README's "timeout seconds after its last
    update"); next_deadline() names retries only (accepted)."""

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.learned: dict[Any, float] = {}

    def _expired(self, ip: Any, now: float) -> bool:
        return ip in self.learned and now - self.learned[ip] >= self.timeout

    def update(self, ip: Any, mac: Any, now: float, create: bool = True) -> list[bytes]:
        out = super().update(ip, mac, now, create)
        if ip in self._cache:
            self._cache[ip] = (self._cache[ip][0], float("inf"))  # the expiry is ours
            self.learned[ip] = now
        return out

    def lookup(self, ip: Any, now: float) -> Any:
        if self._expired(ip, now):
            del self._cache[ip], self.learned[ip]
        return super().lookup(ip, now)

    def poll(self, now: float) -> Any:
        for ip in [ip for ip in self.learned if self._expired(ip, now)]:
            del self._cache[ip], self.learned[ip]
        return super().poll(now)

    def next_deadline(self) -> float | None:
        return min((p.next_retry for p in self._pending.values()), default=None)

    def entries(self, now: float) -> dict[Any, Any]:
        return {ip: mac for ip, (mac, _) in self._cache.items() if not self._expired(ip, now)}


def test_arp_expiry_kept_as_the_update_time_passes() -> None:
    """A cache that computes `now - learned >= timeout` is as right as one that keeps
    `learned + timeout`: the checks' times are multiples of 1/8 s, exact in binary, so the
    two agree. (With 0.1 s steps an entry learned at 1.3 s with timeout 1.0 was still alive
    for it at 2.3 s, 2.3 - 1.3 being 0.9999999999999998, and 05 and 08 failed it.)"""
    from netsim.stack.netif import EthernetArp

    assert differential.check("05-arp-cache", _LearnedAt, max_examples=1000, budget=120.0,
                              size=None).passed
    for seed in (8, 1):
        out = differential.check(
            "08-network-interface",
            lambda mac, ip, **kw: EthernetArp(mac, ip, _LearnedAt(**kw)),
            max_examples=400, budget=120.0, seed=seed)
        assert out.passed, out.feedback


def test_dv_garbage_collection_may_count_from_the_timeouts_end() -> None:
    """The RIP process calls expire() at each timer's end (deadline()), never later, so a
    router may start a timed-out route's garbage collection at its timeout's end or at the
    `now` of expire(): the same there. The check called expire(7.0) for a timeout that
    ended at 6.0 and failed the first (deadline 10.0, reference 11.0); it now calls expire()
    at every timer's end that time passes."""
    from netsim.stack.dv import INFINITY

    class GcFromTimeoutsEnd(DvTable):
        def expire(self, now: float) -> None:
            for route in list(self.routes.values()):
                if route.metric < INFINITY and route.expires <= now:
                    self._delete(route, route.expires, "timeout")
            super().expire(now)

    for seed in (12, 1):
        out = differential.check("12-dv-router", GcFromTimeoutsEnd, max_examples=500,
                                 budget=120.0, seed=seed)
        assert out.passed, out.feedback


def test_netif_tick_may_list_addresses_in_another_order() -> None:
    """The README promises no order between addresses for tick()'s requests and given-up
    datagrams (05's check sorts them too, and a student may use their own 05 cache): an
    interface that lists them in the other order passes; one address's datagrams keep
    theirs. (The check compared them in the reference's order and failed it.)"""
    from netsim.stack.netif import EthernetArp, Ticked

    class OtherOrder(EthernetArp):
        def tick(self, now: float) -> Ticked:
            result = self.arp.poll(now)
            return Ticked([self._request(ip) for ip in reversed(result.requests)],
                          [raw for _, packets in reversed(result.failed) for raw in packets])

    for seed in (8, 1):
        out = differential.check("08-network-interface", lambda mac, ip, **kw: OtherOrder(
            mac, ip, ArpTable(**kw)), max_examples=400, budget=120.0, seed=seed)
        assert out.passed, out.feedback

    class DatagramsReversed(EthernetArp):
        def tick(self, now: float) -> Ticked:
            result = self.arp.poll(now)
            return Ticked([self._request(ip) for ip in result.requests],
                          [raw for _, packets in result.failed for raw in reversed(packets)])

    out = differential.check("08-network-interface", lambda mac, ip, **kw: DatagramsReversed(
        mac, ip, ArpTable(**kw)), max_examples=400, budget=120.0)
    assert not out.passed and "failed" in out.script


def test_sender_timer_carried_over_gets_a_hint_naming_the_restart() -> None:
    """A sender whose timer keeps the time past the RTO after an expiry (the README says it
    starts again from 0 at that tick) is told so, not that the timer runs on an ACK."""
    class CarriesOver(LabSender):
        def tick(self, elapsed: float) -> Any:
            if self._timer is not None and self._timer + elapsed >= self._rto:
                over = self._timer + elapsed - self._rto
                out = super().tick(elapsed)
                self._timer = over
                return out
            return super().tick(elapsed)

    out = differential.check("07b-sender-timer", CarriesOver, **BUDGET)
    assert not out.passed and out.hint is not None and "beyond the RTO" in out.hint, \
        out.feedback


def test_dv_shortened_scripts_never_expire_late() -> None:
    """The final pass that drops calls from a failing DV script keeps expire() at every
    timer's end (a dropped expire would make the next one late, where the README leaves the
    garbage collection's start open): such a sequence counts as invalid."""
    from netsim.grading.differential import dv

    params = (("split_horizon", "poisoned_reverse"), ("timeout", 6.0),
              ("garbage_collection", 4.0))
    learn = Call("receive", (("interface", "eth0"), ("neighbour", "10.0.0.2"),
                             ("vector", [("10.1.0.0/16", 1)]), ("cost", 1), ("now", 0.0)))
    at = [Call("expire", (("now", t),)) for t in (6.0, 7.0, 10.0)]
    export = Call("export", (("interface", "eth1"), ("changed_only", False)))
    assert dv.valid_for(params, [learn, at[0], export, at[2]])
    assert not dv.valid_for(params, [learn, at[1]])  # the timeout ended at 6.0
    assert not dv.valid_for(params, [learn, at[0], Call(
        "receive", (*learn.args[:4], ("now", 10.0)))])  # the collection ended at 10.0


def test_dv_no_vector_arrives_on_an_interface_that_is_down() -> None:
    """The README does not say what receive() does with a vector on an interface that is
    down, and the RIP process never calls it so (a message is taken only on an interface that
    is up: RipProcess._on_datagram). A router that ignores such vectors passes: the check
    delivered them and failed it, on a rule the README never states."""
    class IgnoresDown(DvTable):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.down: set[str] = set()

        def interface_down(self, interface: str, now: float) -> None:
            self.down.add(interface)
            super().interface_down(interface, now)

        def connect(self, network: str, interface: str, cost: int, now: float) -> None:
            self.down.discard(interface)
            super().connect(network, interface, cost, now)

        def receive(self, interface: str, neighbour: str, vector: list[tuple[str, int]],
                    cost: int, now: float) -> None:
            if interface not in self.down:
                super().receive(interface, neighbour, vector, cost, now)

    for seed in (12, 1):
        out = differential.check("12-dv-router", IgnoresDown, max_examples=500,
                                 budget=120.0, seed=seed)
        assert out.passed, out.feedback


def test_dv_shortened_scripts_never_receive_on_a_downed_interface() -> None:
    """The final pass that drops calls from a failing DV script must not leave a receive()
    on an interface that is down (dropping the connect() that brought it back would): such a
    sequence counts as invalid."""
    from netsim.grading.differential import dv

    params = (("split_horizon", "simple"), ("timeout", 180.0), ("garbage_collection", 120.0))
    down = Call("interface_down", (("interface", "eth1"), ("now", 1.0)))
    back = Call("connect", (("network", "10.0.1.0/24"), ("interface", "eth1"), ("cost", 1),
                            ("now", 2.0)))
    learn = Call("receive", (("interface", "eth1"), ("neighbour", "10.0.1.2"),
                             ("vector", [("10.1.0.0/16", 1)]), ("cost", 1), ("now", 3.0)))
    assert dv.valid_for(params, [down, back, learn])
    assert not dv.valid_for(params, [down, learn])


def test_dv_a_timeout_refreshed_by_another_neighbour_gets_a_hint_naming_it() -> None:
    """A router that restarts a route's timeout for any neighbour's announcement may first
    differ in deadline() (later than the reference's); the hint names the rule, not only
    'the earliest end of any timer'."""
    from netsim.grading.differential import dv
    from netsim.grading.differential.spec import Mismatch

    def rx(hop: str, now: float) -> Call:
        return Call("receive", (("interface", "eth0"), ("neighbour", hop),
                                ("vector", [("10.1.0.0/16", 1)]), ("cost", 1), ("now", now)))

    row = ("10.1.0.0/16", (2, "10.0.0.2", "eth0"))
    params = (("split_horizon", "poisoned_reverse"), ("timeout", 6.0),
              ("garbage_collection", 4.0))
    calls = (rx("10.0.0.2", 0.0), rx("10.0.0.3", 1.0), Call("expire", (("now", 4.0),)))
    m = Mismatch(params, calls, [[row], [row]], [row, ("deadline", 6.0)],
                 [row, ("deadline", 7.0)], ["deadline"])
    hint = dv.diagnose(m)
    assert hint is not None and "current next hop" in hint, hint
    # the same deadline mismatch after the next hop's own refresh is another mistake
    m = Mismatch(params, (rx("10.0.0.2", 0.0), rx("10.0.0.2", 1.0), calls[2]), [[row], [row]],
                 [row, ("deadline", 6.0)], [row, ("deadline", 7.0)], ["deadline"])
    assert dv.diagnose(m) == "the earliest end of any route's timer: its timeout, or its " \
        "garbage collection"
