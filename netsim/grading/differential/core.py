"""The search of the differential checks: `explore` lets Hypothesis generate sequences of calls
(from an assignment's `Spec`), runs each on the student's object and on netsim's references
(`netsim.grading.differential.run`), keeps the shortest disagreement found while shrinking,
and renders it as a script with both answers; `check` is one assignment's whole check, the
search and then, when every sequence agreed, the Spec's resource probe.
"""

from __future__ import annotations

import contextlib
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from netsim.errors import NetsimError
from netsim.grading.differential.render import render
from netsim.grading.differential.run import delete_steps, run_example
from netsim.grading.differential.spec import DiffOutcome, Example, Mismatch, Spec
from netsim.grading.differential.values import held


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


#: How many sequences Hypothesis's shrinker may run after the first failure. A count, not a
#: time, so the failure reported depends on the candidate's answers and the seed alone, not on
#: the machine's speed or load (the corpus of wrong implementations needs at most about 370;
#: through the sandbox 500 take up to ~4 s for the slowest assignments).
SHRINK_EXAMPLES = 500


def _settings(hyp: Any, max_examples: int) -> Any:
    """The check's Hypothesis settings, all of them from Hypothesis's own defaults, never from
    a profile someone loaded in this process (a test suite's, a teacher's)."""
    return hyp.settings(
        hyp.settings.get_profile("default"), max_examples=max_examples, database=None,
        deadline=None, derandomize=False, verbosity=hyp.Verbosity.quiet,
        suppress_health_check=list(hyp.HealthCheck),
        phases=(hyp.Phase.generate, hyp.Phase.shrink), report_multiple_bugs=False,
        print_blob=False)


def explore(spec: Spec, candidate: Callable[..., Any],
            references: Sequence[Callable[..., Any]], *, max_examples: int = 200,
            budget: float = 8.0, shrink_budget: float = 3.0,
            shrink_examples: int = SHRINK_EXAMPLES, seed: int = 0) -> DiffOutcome:
    """Search for a sequence on which the candidate disagrees with every reference.

    The same `max_examples` sequences for every candidate and on every machine (a fixed seed,
    no example database; fewer only when Hypothesis runs out of distinct ones), so the verdict
    does not depend on the machine's speed: a pass means all of them agreed. `budget` is a
    time limit (seconds of wall time): a search that has not finished its sequences by then
    fails, saying so (a slow candidate or a very busy machine), and never passes on fewer.

    After the first failure, shrinking runs at most `shrink_examples` more sequences and the
    pass that drops whole calls at most its number of trials: counts, not time, so the failure
    reported (message, both answers, script) is a function of the candidate's answers and the
    seed. Time is only a safety net: the whole check ends `budget + shrink_budget` seconds
    after it started at the latest; a failure whose shortening was stopped there is reported
    as found so far, and says so (`DiffOutcome.cut`).
    """
    hyp = _hypothesis()
    from hypothesis import strategies as st  # noqa: F401 - imported for the spec modules

    start = time.monotonic()
    hard_end = start + budget + shrink_budget
    tally = [0]
    count = [0]
    best: list[Mismatch] = []
    out_of_time = [False]
    cut = [False]

    class _Found(Exception):
        pass

    first_failure = [0]

    def body(example: Example) -> None:
        if best:
            # the count first: when both are reached, the stop is the deterministic one
            if count[0] - first_failure[0] >= shrink_examples:
                raise _OutOfTime  # a BaseException: Hypothesis stops shrinking
            if time.monotonic() > hard_end:
                cut[0] = True
                raise _OutOfTime
        elif time.monotonic() - start > budget:
            out_of_time[0] = True
            raise _OutOfTime  # stops the search
        count[0] += 1
        found = run_example(spec, candidate, references, example, tally)
        if found is not None:
            if not best:
                first_failure[0] = count[0]
            if not best or found.key() < best[0].key():
                best[:] = [found]
            raise _Found

    test = _settings(hyp, max_examples)(hyp.seed(seed)(hyp.given(spec.examples())(body)))
    # One check at a time: `_seed_only` patches Hypothesis's module state, which a batch
    # graded in several threads would otherwise race on (Hypothesis is quiet: prints nothing).
    with EXPLORING, _seed_only(), warnings.catch_warnings():
        # (one at a time, so the warnings filter is not raced on either: a sequence may
        # carry a long payload, e.g. 06's 70 kB gap, whose repr Hypothesis warns about)
        warnings.filterwarnings("ignore", "Generating overly large repr")
        # _Found is expected; with a failure kept, Hypothesis may also report a flaky replay
        # once shrinking was stopped (the replay is skipped): the shortest failure is kept.
        try:
            test()
        except (_Found, _OutOfTime):
            pass
        except Exception:
            if not best:
                raise  # the checker's own error (e.g. in a strategy): never a silent pass
    if best and not cut[0]:
        best[0], cut[0] = delete_steps(spec, candidate, references, best[0], tally,
                                       deadline=hard_end)
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
    message, expected, got, script = render(spec, best[0], cut=cut[0])
    try:
        hint = spec.diagnose(best[0])
    except Exception:  # noqa: BLE001 - a hint is optional; odd values from the candidate
        hint = None
    feedback = "\n".join([message, f"expected: {expected}", f"got:      {got}",
                          *([f"hint:     {hint}"] if hint else []), "", script])
    return DiffOutcome(False, feedback, count[0], tally[0], seconds, best[0],
                       first_failure[0], message, expected, got, script, hint, cut[0])


def check(spec: Spec, candidate: Callable[..., Any], reference: Callable[..., Any] | None = None,
          *, max_examples: int | None = None, budget: float = 60.0, shrink_budget: float = 3.0,
          shrink_examples: int = SHRINK_EXAMPLES, seed: int | None = None,
          size: Callable[[Any], int] | None = held) -> DiffOutcome:
    """One assignment's check: random call sequences on `candidate` (a factory: the student's
    class, or a function returning a proxy to an object in the sandbox) and on the Spec's
    references (`reference`, if given, in place of netsim's own), then, once all of them
    agreed and with `size` (which measures what an object holds), the Spec's resource probe.
    `max_examples` and `seed` default to the Spec's; the others are `explore`'s."""
    references = [spec.references[0] if reference is None else reference, *spec.references[1:]]
    outcome = explore(spec, candidate, references,
                      max_examples=spec.max_examples if max_examples is None else max_examples,
                      budget=budget, shrink_budget=shrink_budget,
                      shrink_examples=shrink_examples, seed=spec.seed if seed is None else seed)
    if outcome.passed and spec.probe is not None and size is not None:
        probe = spec.probe(candidate, size)
        if probe is not None:
            return probe
    return outcome
