"""One sequence of calls, run on the candidate and on the references side by side, every
observable compared after every step (`run_example`); and the pass that drops whole calls from
a failing sequence while it still fails (`delete_steps`), so the script shows only what the
mistake needs."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from netsim.grading.differential.spec import Call, Example, Mismatch, Observation, Spec
from netsim.grading.differential.values import SHOW_LIMIT, same


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


def delete_steps(spec: Spec, candidate: Callable[..., Any],
                 references: Sequence[Callable[..., Any]], m: Mismatch, tally: list[int],
                 max_trials: int = 600, deadline: float | None = None) -> tuple[Mismatch, bool]:
    """Hypothesis shrinks the choices behind a sequence; this pass then drops runs of whole
    calls (16, 8, ... 1 at a time, latest first) while the sequence stays valid and still
    fails, so the script shows only the calls the mistake needs. Bounded by a number of
    trials, not by time, so the result does not depend on the machine's load; `deadline` (of
    `time.monotonic()`) is only a safety net. Returns the shortest mismatch and whether the
    deadline stopped the pass."""
    calls = list(m.calls)
    trials = 0
    for size in (16, 8, 4, 3, 2, 1):
        i = len(calls) - 1 - size  # spans before the failing call, which stays
        while i >= 0 and trials < max_trials:
            trial = calls[:i] + calls[i + size:]
            if spec.valid(m.params, trial):
                if deadline is not None and time.monotonic() > deadline:
                    return m, True
                trials += 1
                found = run_example(spec, candidate, references,
                                    Example(m.params, tuple(trial)), tally)
                if found is not None:
                    m = found
                    calls = list(found.calls)
                    i = min(i, len(calls) - 1 - size)
                    continue
            i -= 1
    return m, False
