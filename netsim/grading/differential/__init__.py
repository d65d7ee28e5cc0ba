"""Differential checks: random call sequences on the student's object and on netsim's
reference, compared after every step (see `netsim.grading.differential.core`).

One module per assignment, each with ``check(candidate, ...) -> DiffOutcome``; `CHECKS` maps
the assignment name to it. The candidate is given as a factory, so it may be a class or a
function returning a proxy to an object in a sandboxed process.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable
from typing import Any

from netsim.grading.differential.core import DiffOutcome, MissingHypothesis
from netsim.grading.framework import Context

MODULES: dict[str, str] = {
    "01-checksum-tcp-parsing": "netsim.grading.differential.checksum_tcp",
    "02-rto-estimator": "netsim.grading.differential.rto",
    "03-reassembler": "netsim.grading.differential.reassembler",
    "04-reno": "netsim.grading.differential.reno",
    "05-arp-cache": "netsim.grading.differential.arp",
    "06-tcp-receiver": "netsim.grading.differential.tcp_receiver",
    "07-tcp-sender": "netsim.grading.differential.tcp_sender",
    "08-network-interface": "netsim.grading.differential.netif",
    "09-router": "netsim.grading.differential.router",
}


def check(assignment: str, candidate: Callable[..., Any], **kw: Any) -> DiffOutcome:
    """Run the differential check of `assignment` on `candidate` (a factory)."""
    module = importlib.import_module(MODULES[assignment])
    outcome: DiffOutcome = module.check(candidate, **kw)
    return outcome


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
        # stay inside the check's own time limit: search for at most about half of what is
        # left, shrink within a quarter (a short limit means fewer random sequences)
        opts = dict(kw)
        left = ctx.session.deadline - time.monotonic()
        if left > 0:
            opts["budget"] = min(float(opts.get("budget", 8.0)), 0.5 * left)
            opts["shrink_budget"] = min(float(opts.get("shrink_budget", 3.0)), 0.25 * left)
        outcome = check(assignment, factory, **opts)
        ctx.step(f"{outcome.examples} random sequences, {outcome.calls} calls")
        outcome.raise_if_failed()

    return fn


__all__ = ["MODULES", "DiffOutcome", "MissingHypothesis", "check", "check_fn"]
