"""The simulation check of assignment 02 with teeth: the real TCP's calls on the student's
estimator (RTT samples as the path gives them, timeouts, backoffs, the SYN rule) are replayed on
netsim's `Rfc6298Estimator`, and SRTT, RTTVAR and RTO after every call must be the reference's
(RFC 6298 (2.2)-(2.5), (5.5)-(5.7)): "RTO values after known samples", with the samples the
simulation made. A transfer that completes with a wrong RTO is not enough.

The recorder lives in the grader's process and reads only plain numbers through the proxy; a
difference is noted, not raised, inside the stack, so the transfer runs to its end.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from netsim.grading.framework import CheckFailed, Context, approx, fmt
from netsim.stack.tcp.rto import Rfc6298Estimator

FIELDS = ("srtt", "rttvar", "rto")


@dataclass
class Replay:
    """The calls made on one estimator and the first one after which it left RFC 6298."""

    calls: list[str] = field(default_factory=list)
    first: tuple[int, str, dict[str, Any], dict[str, Any]] | None = None  # (i, call, want, got)


class Recorder:
    """Stands for the student's estimator: forwards every use, and steps a reference estimator
    with the same parameters along, comparing SRTT, RTTVAR and RTO after each call."""

    def __init__(self, inner: Any, params: dict[str, float], replay: Replay) -> None:
        object.__setattr__(self, "_inner", inner)
        object.__setattr__(self, "_ref", Rfc6298Estimator(**params))
        object.__setattr__(self, "_replay", replay)

    def __getattr__(self, name: str) -> Any:
        return getattr(object.__getattribute__(self, "_inner"), name)

    def _call(self, method: str, *args: Any) -> None:
        inner = object.__getattribute__(self, "_inner")
        ref = object.__getattribute__(self, "_ref")
        replay: Replay = object.__getattribute__(self, "_replay")
        getattr(inner, method)(*args)
        getattr(ref, method)(*args)
        shown = f"est.{method}({', '.join(fmt(a) for a in args)})"
        replay.calls.append(shown)
        if replay.first is None:
            want = {f: getattr(ref, f) for f in FIELDS}
            got = {f: getattr(inner, f, None) for f in FIELDS}
            if any(not (want[f] is None and got[f] is None or want[f] is not None and
                        approx(got[f], want[f], 1e-6)) for f in FIELDS):
                replay.first = (len(replay.calls), shown, want, got)

    def on_sample(self, rtt: float) -> None:
        self._call("on_sample", rtt)

    def on_timeout(self) -> None:
        self._call("on_timeout")

    def on_syn_timeout_done(self) -> None:
        self._call("on_syn_timeout_done")


def report(ctx: Context, replays: list[Replay]) -> None:
    """Raise for the first estimator that left RFC 6298, with the calls up to there."""
    for who, replay in zip(("sender", "receiver"), replays, strict=False):
        samples = sum(c.startswith("est.on_sample") for c in replay.calls)
        timeouts = sum(c == "est.on_timeout()" for c in replay.calls)
        ctx.step(f"the {who}'s estimator: {samples} RTT samples, {timeouts} timeouts")
        if replay.first is None:
            continue
        i, call, want, got = replay.first
        for c in replay.calls[max(0, i - 4):i]:
            ctx.step("  " + c)
        differs = [f for f in FIELDS if not (want[f] is None and got[f] is None or
                                            want[f] is not None and approx(got[f], want[f]))]
        raise CheckFailed(
            f"in the simulation, after call {i} on the {who}'s estimator ({call}) "
            f"{', '.join(differs)} left RFC 6298 (2.2)-(2.5), (5.5)-(5.7): the samples and "
            "timeouts are the ones the real TCP produced",
            input=call, expected=", ".join(f"{f} = {fmt(want[f])}" for f in FIELDS),
            got=", ".join(f"{f} = {fmt(got[f])}" for f in FIELDS))
