"""Differential checks: random call sequences on the student's object and on netsim's
reference, compared after every step.

One module per assignment, each with its interface as a `SPEC`
(`netsim.grading.differential.spec`); `MODULES` maps the assignment name to it, and `check`
runs it (`netsim.grading.differential.core`: the search; `.run`: one sequence; `.render`: the
feedback). The candidate is given as a factory, so it may be a class or a function returning
a proxy to an object in a sandboxed process.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable
from typing import Any

from netsim.grading.differential import core
from netsim.grading.differential.core import EXPLORING, MissingHypothesis
from netsim.grading.differential.spec import DiffOutcome, Spec
from netsim.grading.framework import Context

MODULES: dict[str, str] = {
    "01-checksum-tcp-parsing": "netsim.grading.differential.checksum_tcp",
    "02-rto-estimator": "netsim.grading.differential.rto",
    "03-reassembler": "netsim.grading.differential.reassembler",
    "04-reno": "netsim.grading.differential.reno",
    "05-arp-cache": "netsim.grading.differential.arp",
    "06-tcp-receiver": "netsim.grading.differential.tcp_receiver",
    "07-tcp-sender": "netsim.grading.differential.tcp_sender",
    "07b-sender-timer": "netsim.grading.differential.sender_timer",
    "08-network-interface": "netsim.grading.differential.netif",
    "09-router": "netsim.grading.differential.router",
    "10-tcp-peer": "netsim.grading.differential.tcp_peer",
    "11-learning-switch": "netsim.grading.differential.switch",
    "12-dv-router": "netsim.grading.differential.dv",
}


def spec(assignment: str) -> Spec:
    """The `Spec` of `assignment`'s differential check."""
    found: Spec = importlib.import_module(MODULES[assignment]).SPEC
    return found


def check(assignment: str, candidate: Callable[..., Any], **kw: Any) -> DiffOutcome:
    """Run the differential check of `assignment` on `candidate` (a factory); `kw` as
    `netsim.grading.differential.core.check` takes them."""
    return core.check(spec(assignment), candidate, **kw)


class _Functions:
    """The student's module-level functions as attributes (each one a proxy)."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    def __getattr__(self, name: str) -> Any:
        return self._ctx.get(name)


def check_fn(assignment: str, **kw: Any) -> Callable[[Context], None]:
    """A grader check (``fn(ctx)``) that runs the differential check on the student's class
    (or, for assignment 01, their module) and raises `CheckFailed` with the shortest failing
    script. With student code in a sandbox, build the factory from the proxy instead."""

    def fn(ctx: Context) -> None:
        factory: Callable[..., Any]
        if ctx.target_name:
            factory = ctx.target()
        else:  # assignment 01: the student's functions, looked up by name through the proxy
            functions = _Functions(ctx)
            factory = lambda: functions  # noqa: E731
        run_in_check(ctx, assignment, factory, **kw)

    return fn


def run_in_check(ctx: Context, assignment: str, factory: Callable[..., Any],
                 **kw: Any) -> DiffOutcome:
    """Run the differential check inside a grader check and raise `CheckFailed` if it fails.

    One differential check runs at a time in a process (Hypothesis's state is global); the
    time spent waiting for another thread's check is not charged to this one: the check's
    deadline moves by the wait. The search must finish its fixed number of sequences within
    three quarters of what is left of the check's time limit; shrinking a failure, bounded by
    counts, may use what the search left and a fifth more, a safety net that ends it before
    the check's own limit (`netsim.grading.differential.core.explore`)."""
    waited = time.monotonic()
    with EXPLORING:
        ctx.session.deadline += time.monotonic() - waited
        opts = dict(kw)
        left = max(ctx.session.deadline - time.monotonic(), 0.0)
        opts.setdefault("budget", 0.75 * left)
        opts.setdefault("shrink_budget", 0.2 * left)
        outcome = check(assignment, factory, **opts)
    ctx.step(f"{outcome.examples} random sequences, {outcome.calls} calls")
    outcome.raise_if_failed()
    return outcome


__all__ = ["MODULES", "DiffOutcome", "MissingHypothesis", "check", "check_fn", "run_in_check",
           "spec"]
