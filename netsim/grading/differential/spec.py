"""What an assignment module tells the differential checks about its interface: a `Spec` (how
to build an object, a Hypothesis strategy of `Example`s, `observe`, the references and the
check's settings), the `Call`s of a sequence, the `Mismatch` found and the verdict
(`DiffOutcome`), and `pick` and `more`, with which the strategies draw.

The candidate is only ever reached through its factory and its interface (method calls and
attribute reads with plain values), so the same check works on an object in this process or on
a proxy to a sandboxed one. Several references may be given: the first is netsim's own, the
others answers the assignment also accepts (e.g. cwnd = ssthresh at the end of recovery); a
candidate passes as long as, after every step, it agrees with at least one reference that has
agreed with it at every step before.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from netsim.grading.differential.values import show
from netsim.grading.framework import CheckFailed


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

#: (candidate factory, size) -> a failed outcome, or None when the object holds what it should
Probe = Callable[[Callable[..., Any], Callable[[Any], int]], "DiffOutcome | None"]


@dataclass
class Spec:
    """One assignment's interface, as the differential check sees it, and how it is checked."""

    name: str  # "03-reassembler"
    target: str  # how the object is named in the script ("r"), "" for plain functions
    cls_name: str  # the student's class ("Reassembler"), or "" for a module of functions
    examples: Callable[[], Any]  # () -> a Hypothesis strategy of Example
    observe: Callable[[Any, Call], Observation]
    rules: dict[str, str] = field(default_factory=dict)  # label -> the rule, for the message
    construct: Callable[[Callable[..., Any], dict[str, Any]], Any] = \
        lambda factory, params: factory(**params)
    # whether a sequence, for the constructor's arguments, is one the real caller could make
    # (for the final deletion pass)
    valid: Callable[[tuple[tuple[str, Any], ...], Sequence[Call]], bool] = \
        lambda params, calls: True
    # a hint naming a common mistake that explains the mismatch, if one does
    diagnose: Callable[[Mismatch], str | None] = lambda m: None
    # netsim's reference first, then the variants the assignment also accepts
    references: Sequence[Callable[..., Any]] = field(kw_only=True)
    max_examples: int = field(default=200, kw_only=True)  # random sequences per check
    seed: int = field(default=0, kw_only=True)  # each assignment its own
    # what the object holds, measured once every sequence agreed (None: not measured)
    probe: Probe | None = field(default=None, kw_only=True)


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
    # shortening the failing sequence was stopped by the time limit (the script says so): the
    # only case in which the script shown may depend on the machine's speed
    cut: bool = False

    def raise_if_failed(self) -> None:
        """Raise the framework's `CheckFailed` (for use inside a grader's check)."""
        if not self.passed:
            raise CheckFailed(self.message, expected=self.expected or None,
                              got=self.got or None, hint=self.hint, script=self.script or None)
