"""The engine of the differential checks: one sequence of calls, run on the student's object and
on netsim's reference side by side, every observable compared after every step.

An assignment module (`netsim.grading.differential.reassembler` ...) describes its interface
as a `Spec`: how to build an object, a Hypothesis strategy of `Example`s (constructor arguments
and a list of `Call`s), and `observe`, which makes one call and reads the observables after it
(the return value, then queries such as ``blocks()`` or ``cwnd``). `explore` lets Hypothesis
search for a sequence on which the two disagree, keeps the shortest one found while shrinking,
and renders it as a script with both answers.

The candidate is only ever reached through its factory and its interface (method calls and
attribute reads with plain values), so the same check works on an object in this process or on
a proxy to a sandboxed one. Several references may be given: the first is netsim's own, the
others answers the assignment also accepts (e.g. cwnd = ssthresh at the end of recovery); a
candidate passes as long as, after every step, it agrees with at least one reference that has
agreed with it at every step before.
"""

from __future__ import annotations

import contextlib
import functools
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from netsim.errors import NetsimError
from netsim.grading.differential.render import render
from netsim.grading.differential.values import SHOW_LIMIT, same, show
from netsim.grading.framework import CheckFailed


class MissingHypothesis(NetsimError):
    """The differential checks need Hypothesis (``pip install netsim[grade]``)."""


def _hypothesis() -> Any:
    try:
        import hypothesis
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        raise MissingHypothesis(
            "the differential checks need the Python package 'hypothesis': install it with "
            "pip install 'netsim[grade]' (or pip install hypothesis)") from exc
    return hypothesis


@functools.lru_cache(maxsize=256)
def _index(n: int) -> Any:
    from hypothesis import strategies as st
    return st.integers(0, n)


def pick(draw: Any, options: Sequence[Any], lo: int | None = None,
         hi: int | None = None) -> Any:
    """One of `options` (shrinking towards the first), or, about half the time when `lo` and
    `hi` are given, any integer in [lo, hi]. Fixed strategies, so drawing stays cheap."""
    n = len(options)
    i = draw(_index(2 * n - 1 if lo is not None else n - 1))
    if i < n or lo is None or hi is None or hi < lo:
        return options[i % n]
    return lo + draw(_index(hi - lo))


def more(draw: Any, so_far: int, most: int, least: int = 1) -> bool:
    """Whether a sequence goes on (at least `least` steps, then 7 in 8); a stop shrinks to
    the shortest sequence, since the shrinker can drop one step's choices together with its
    "go on"."""
    return so_far < least or so_far < most and bool(draw(_index(7)))


@dataclass(frozen=True)
class Call:
    """One call on the object: a method with named arguments (``kind="call"``)."""

    method: str
    args: tuple[tuple[str, Any], ...] = ()

    def render(self, target: str) -> str:
        if self.method == "read":
            return f"(no call: {target or 'the state'} read again)"
        shown = ", ".join(f"{k}={show(v)}" for k, v in self.args)
        return f"{target}.{self.method}({shown})" if target else f"{self.method}({shown})"

    def values(self) -> list[Any]:
        return [v for _, v in self.args]


@dataclass(frozen=True)
class Example:
    """Constructor arguments and the calls of one generated sequence."""

    params: tuple[tuple[str, Any], ...]
    calls: tuple[Call, ...]


Observation = list[tuple[str, Any]]  # (label, plain value); "returned" first


@dataclass
class Spec:
    """One assignment's interface, as the differential check sees it."""

    name: str  # "03-reassembler"
    target: str  # how the object is named in the script ("r"), "" for plain functions
    cls_name: str  # the student's class ("Reassembler"), or "" for a module of functions
    examples: Callable[[], Any]  # () -> a Hypothesis strategy of Example
    observe: Callable[[Any, Call], Observation]
    rules: dict[str, str] = field(default_factory=dict)  # label -> the rule, for the message
    construct: Callable[[Callable[..., Any], dict[str, Any]], Any] = \
        lambda factory, params: factory(**params)
    # whether a sequence is one the real caller could make (for the final deletion pass)
    valid: Callable[[Sequence[Call]], bool] = lambda calls: True
    # a hint naming a common mistake that explains the mismatch, if one does
    diagnose: Callable[[Mismatch], str | None] = lambda m: None


@dataclass
class Mismatch:
    """The first step at which the candidate agreed with no reference."""

    params: tuple[tuple[str, Any], ...]
    calls: tuple[Call, ...]  # up to and including the failing step
    agreed: list[Observation]  # the candidate's observations at each earlier step
    want: Observation  # the closest reference's observation at the failing step
    got: Observation
    differs: list[str]  # labels that differ

    def key(self) -> tuple[int, int]:
        return (len(self.calls), len(repr(self.calls)))


class _Counting:
    """Counts attribute reads and method calls on the candidate (each one would cross the
    pipe to a sandboxed process)."""

    def __init__(self, obj: Any, tally: list[int]) -> None:
        object.__setattr__(self, "_obj", obj)
        object.__setattr__(self, "_tally", tally)

    def __getattr__(self, name: str) -> Any:
        self._tally[0] += 1
        return getattr(self._obj, name)


def _raised(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text[:SHOW_LIMIT]


def _observe(spec: Spec, obj: Any, call: Call) -> Observation:
    try:
        return spec.observe(obj, call)
    except Exception as exc:  # noqa: BLE001 - the candidate's exception is an observation
        return [("raised", _raised(exc))]


def _differs(want: Observation, got: Observation) -> list[str]:
    wd, gd = dict(want), dict(got)
    if ("raised" in wd) != ("raised" in gd):
        return ["raised"]  # one side raised: that is the difference, not every field
    labels = [label for label, _ in want]
    out = [label for label, value in want if label not in gd or not same(value, gd[label])]
    out += [label for label, _ in got if label not in labels]
    # a label the candidate gave twice (two rows for one network) differs, whatever the last
    # one says: dict() above kept only that one
    got_labels = [label for label, _ in got]
    out += [label for i, label in enumerate(got_labels)
            if label in got_labels[:i] and label not in out]
    return out


def run_example(spec: Spec, candidate: Callable[..., Any],
                references: Sequence[Callable[..., Any]], example: Example,
                tally: list[int]) -> Mismatch | None:
    """Run one sequence on the candidate and the references; the first disagreement.

    Only the first reference still alive is stepped along with the candidate; the others
    catch up (replaying the calls and checking every step against what the candidate
    answered) only when it falls out, so accepted variants cost little."""
    params = dict(example.params)
    try:
        cand: Any = _Counting(spec.construct(candidate, params), tally)
    except Exception as exc:  # noqa: BLE001
        return Mismatch(example.params, (), [], [("constructed", True)],
                        [("raised", _raised(exc))], ["raised"])
    refs: list[Any] = [None] * len(references)
    pos = [0] * len(references)
    alive = list(range(len(references)))
    history: list[Observation] = []
    deaths: list[tuple[int, int, Observation]] = []  # (step, reference, its observation)

    def catch_up(j: int) -> bool:
        if refs[j] is None:
            refs[j] = spec.construct(references[j], params)
        while pos[j] < len(history):
            k = pos[j]
            want = _observe(spec, refs[j], example.calls[k])
            if _differs(want, history[k]):
                deaths.append((k, j, want))
                return False
            pos[j] += 1
        return True

    for call in example.calls:
        history.append(_observe(spec, cand, call))
        while alive and not catch_up(alive[0]):
            alive.pop(0)
        if not alive:
            last = max(k for k, _, _ in deaths)
            closest = min(((len(_differs(w, history[k])), j, w) for k, j, w in deaths
                           if k == last), key=lambda t: (t[0], t[1]))
            want, got = closest[2], history[last]
            return Mismatch(example.params, example.calls[:last + 1], history[:last], want,
                            got, _differs(want, got))
        if history[-1] and history[-1][0][0] == "raised":
            break  # every reference raised the same: nothing more to compare
    return None


@dataclass(frozen=True)
class DiffOutcome:
    """The verdict of one differential check, with what it cost."""

    passed: bool
    feedback: str  # "" when passed; else the message and the shortest failing script
    examples: int  # sequences run
    calls: int  # attribute reads and method calls made on the candidate
    seconds: float
    mismatch: Mismatch | None = None
    found_at: int = 0  # the example that first failed (before shrinking), 0 if none
    message: str = ""
    expected: str = ""
    got: str = ""
    script: str = ""
    hint: str | None = None

    def raise_if_failed(self) -> None:
        """Raise the framework's `CheckFailed` (for use inside a grader's check)."""
        if not self.passed:
            raise CheckFailed(self.message, expected=self.expected or None,
                              got=self.got or None, hint=self.hint, script=self.script or None)


def _delete_steps(spec: Spec, candidate: Callable[..., Any],
                  references: Sequence[Callable[..., Any]], m: Mismatch, tally: list[int],
                  max_trials: int = 600) -> Mismatch:
    """Hypothesis shrinks the choices behind a sequence; this pass then drops runs of whole
    calls (16, 8, ... 1 at a time, latest first) while the sequence stays valid and still
    fails, so the script shows only the calls the mistake needs. Bounded by a number of
    trials, not by time, so the result does not depend on the machine's load."""
    calls = list(m.calls)
    trials = 0
    for size in (16, 8, 4, 3, 2, 1):
        i = len(calls) - 1 - size  # spans before the failing call, which stays
        while i >= 0 and trials < max_trials:
            trial = calls[:i] + calls[i + size:]
            if spec.valid(trial):
                trials += 1
                found = run_example(spec, candidate, references,
                                    Example(m.params, tuple(trial)), tally)
                if found is not None:
                    m = found
                    calls = list(found.calls)
                    i = min(i, len(calls) - 1 - size)
                    continue
            i -= 1
    return m


@contextlib.contextmanager
def _seed_only() -> Iterator[None]:
    """Hypothesis 6.1xx also draws constants it finds in the source of the local modules that
    happen to be imported, so loading a student's file (in-process) or another module would
    change the sequences. While a check runs, that pool is empty: generation depends on the
    seed alone. (Internal to Hypothesis: without these names, nothing is changed.)"""
    try:
        from hypothesis.internal.conjecture import providers
        from hypothesis.internal.constants_ast import Constants
    except ImportError:  # pragma: no cover - another Hypothesis version
        yield
        return
    saved: dict[str, Any] = {name: getattr(providers, name, None)
             for name in ("_get_local_constants", "CONSTANTS_CACHE")}
    if None in saved.values():  # pragma: no cover - another Hypothesis version
        yield
        return
    providers._get_local_constants = Constants  # () -> an empty pool
    providers.CONSTANTS_CACHE = type(saved["CONSTANTS_CACHE"])(1024)
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(providers, name, value)


# One exploration at a time in this process (re-entrant: a grader check holds it while it waits
# its turn): `_seed_only` patches Hypothesis's module state, which checks graded in several
# threads would otherwise race on.
EXPLORING = threading.RLock()


class _OutOfTime(BaseException):
    """The time limit is spent (raised through Hypothesis, caught by `explore`)."""


def explore(spec: Spec, candidate: Callable[..., Any],
            references: Sequence[Callable[..., Any]], *, max_examples: int = 200,
            budget: float = 8.0, shrink_budget: float = 3.0, seed: int = 0) -> DiffOutcome:
    """Search for a sequence on which the candidate disagrees with every reference.

    The same `max_examples` sequences for every candidate and on every machine (a fixed seed,
    no example database; fewer only when Hypothesis runs out of distinct ones), so the verdict
    does not depend on the machine's speed: a pass means all of them agreed. `budget` is a
    time limit (seconds of wall time): a search that has not finished its sequences by then
    fails, saying so (a slow candidate or a very busy machine), and never passes on fewer.
    After the first failure, shrinking gets at most `shrink_budget` seconds; the shortest
    failure found by then is reported.
    """
    hyp = _hypothesis()
    from hypothesis import strategies as st  # noqa: F401 - imported for the spec modules

    start = time.monotonic()
    tally = [0]
    count = [0]
    best: list[Mismatch] = []
    out_of_time = [False]

    class _Found(Exception):
        pass

    first_failure = [0.0, 0]

    def body(example: Example) -> None:
        now = time.monotonic()
        if best and now - first_failure[0] > shrink_budget or not best and now - start > budget:
            out_of_time[0] = not best
            raise _OutOfTime  # a BaseException: Hypothesis stops searching and shrinking
        count[0] += 1
        found = run_example(spec, candidate, references, example, tally)
        if found is not None:
            if not best:
                first_failure[:] = [time.monotonic(), count[0]]
            if not best or found.key() < best[0].key():
                best[:] = [found]
            raise _Found

    test = hyp.settings(max_examples=max_examples, database=None, deadline=None,
                        derandomize=False, verbosity=hyp.Verbosity.quiet,
                        suppress_health_check=list(hyp.HealthCheck),
                        phases=(hyp.Phase.generate, hyp.Phase.shrink),
                        report_multiple_bugs=False, print_blob=False)(
        hyp.seed(seed)(hyp.given(spec.examples())(body)))
    # One check at a time: `_seed_only` patches Hypothesis's module state, which a batch
    # graded in several threads would otherwise race on (Hypothesis is quiet: prints nothing).
    with EXPLORING, _seed_only():
        # _Found is expected; with a failure kept, Hypothesis may also report a flaky replay
        # once the budget is spent (the replay is skipped): the shortest failure is kept.
        try:
            test()
        except (_Found, _OutOfTime):
            pass
        except Exception:
            if not best:
                raise  # the checker's own error (e.g. in a strategy): never a silent pass
    if best:
        best[0] = _delete_steps(spec, candidate, references, best[0], tally)
    seconds = time.monotonic() - start
    if out_of_time[0]:
        # Out of time before every sequence ran (a slow candidate, or a loaded machine): a
        # pass on fewer would depend on the machine's speed, so this is not one.
        message = (f"only {count[0]} of the {max_examples} random sequences finished in the "
                   f"{seconds:.1f} s this check had; all of them must agree with the reference "
                   "to pass (each call should take microseconds; if the machine was busy, "
                   "grade again, or with a longer --timeout)")
        return DiffOutcome(False, message, count[0], tally[0], seconds, message=message)
    if not best:
        return DiffOutcome(True, "", count[0], tally[0], seconds)
    message, expected, got, script = render(spec, best[0])
    try:
        hint = spec.diagnose(best[0])
    except Exception:  # noqa: BLE001 - a hint is optional; odd values from the candidate
        hint = None
    feedback = "\n".join([message, f"expected: {expected}", f"got:      {got}",
                          *([f"hint:     {hint}"] if hint else []), "", script])
    return DiffOutcome(False, feedback, count[0], tally[0], seconds, best[0],
                       int(first_failure[1]), message, expected, got, script, hint)
