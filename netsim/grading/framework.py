"""The pieces every grader is made of: checks, their results, and the student's file.

A grader module (one per assignment, e.g. `netsim.grading.rto_estimator`) defines
``ASSIGNMENT = Assignment(...)`` with a list of `Check` objects. A check is a function
``fn(ctx: Context) -> None`` that passes by returning and fails by raising `CheckFailed`
with the input given, what was expected and what happened. Checks in the style of the
CS144 tests write each action to ``ctx.step(...)``; a failure prints every step so far.

Checks run in the grader's own (trusted) process and never import the student's file: the
student's class and functions are reached through proxies (`netsim.grading.proxy`) that
forward each use to a sandboxed process (`netsim.grading.sandbox`). The checks therefore see
only plain values coming back, and only the supervisor (`netsim.grading.supervisor`) decides
the points.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from netsim.errors import NetsimError
from netsim.grading.codec import one_line
from netsim.grading.proxy import RemoteClass, RemoteFunction

if TYPE_CHECKING:
    from netsim.grading.proxy import Session


class CheckFailed(NetsimError):  # noqa: N818 - a check's verdict
    """A check's verdict: the student's component did the wrong thing."""

    def __init__(self, message: str, *, input: str | None = None,  # noqa: A002
                 expected: str | None = None, got: str | None = None,
                 hint: str | None = None, script: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.input = input
        self.expected = expected
        self.got = got
        self.hint = hint
        self.script = script

    def render(self, steps: list[str]) -> str:
        lines = [self.message]
        for label, value in (("input", self.input), ("expected", self.expected),
                             ("got", self.got)):
            if value is not None:
                lines.append(f"{label + ':':10}{_indent_rest(value, 10)}")
        if self.hint:
            lines.append(f"hint:     {_indent_rest(self.hint, 10)}")
        if self.script:
            lines += ["", self.script]
        elif steps:
            lines += ["", "script so far:", *("  " + s for s in steps)]
        return "\n".join(lines)


def _indent_rest(text: str, n: int) -> str:
    return text.replace("\n", "\n" + " " * n)


class GradingError(NetsimError):
    """The grader itself could not run (unknown assignment, missing file)."""


RANDOM_TIME_FACTOR = 3.0  # see `Check.time_limit`


@dataclass(frozen=True)
class Check:
    """One graded check: all or nothing, worth `points`."""

    name: str
    points: int
    fn: Callable[[Context], None]
    description: str  # the rule checked, shown in the feedback (names the RFC clause)
    kind: str = "unit"  # "unit", "scripted" (a segment script), "simulation", "random"

    def time_limit(self, timeout: float) -> float:
        """The check's time limit when the per-check limit is `timeout`: a "random" check
        (a differential check) compares a fixed number of sequences, and gets three times
        as long."""
        return timeout * (RANDOM_TIME_FACTOR if self.kind == "random" else 1.0)


@dataclass(frozen=True)
class Assignment:
    name: str  # "02-rto-estimator", also the folder under lessons/assignments/
    title: str
    filename: str  # the starter file's name, looked for in batch mode
    target: str  # the class students write, or "" when they write functions
    checks: tuple[Check, ...]
    # netsim's own implementation ("module:name", names separated by commas; several modules
    # separated by ";"): a submission that merely re-exports or subclasses it, or uses one of
    # the names, gets a note for the teacher.
    reference: str = ""
    # The student's earlier work the file imports, copied next to it (file name -> its class):
    # one that is netsim's reference (`reference`) gets a note for the teacher too.
    helpers: dict[str, str] = field(default_factory=dict)
    # What the student's attributes and methods must give back, by name: a value of another
    # type costs the check with a message naming it, before netsim's stack sees the value.
    returns: dict[str, tuple[Any, ...]] = field(default_factory=dict)

    @property
    def max_score(self) -> int:
        return sum(c.points for c in self.checks)

    def check(self, name: str) -> Check:
        for c in self.checks:
            if c.name == name:
                return c
        raise GradingError(f"{self.name} has no check {name!r}")


@dataclass
class Context:
    """What a check gets: the student's module (through a proxy), the name of their class,
    a step log."""

    session: Session
    target_name: str
    path: Path
    steps: list[str] = field(default_factory=list)

    def step(self, text: str) -> None:
        self.steps.append(text)

    def target(self) -> Any:
        """The student's class (the assignment's `target`): calling it makes an instance."""
        return self.get(self.target_name, "class")

    def get(self, name: str, what: str = "function") -> Any:
        kind = self.session.kind(name)
        if kind == "missing" or (what == "class") != (kind == "class"):
            raise CheckFailed(f"{one_line(self.path.name, 200)} defines no {what} {name!r}",
                              hint=f"keep the {what} name from the starter file")
        if kind == "class":
            return RemoteClass(self.session, name)
        return RemoteFunction(self.session, name)


@dataclass
class CheckResult:
    name: str
    points: int  # awarded
    max_points: int
    status: str  # "pass", "fail", "error" (exception), "timeout"
    description: str
    output: str = ""  # feedback for the student
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return self.status == "pass"

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "points": self.points, "max_points": self.max_points,
                "status": self.status, "description": self.description, "output": self.output,
                "seconds": self.seconds}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CheckResult:
        return cls(str(d["name"]), int(d["points"]), int(d["max_points"]), str(d["status"]),
                   str(d["description"]), str(d.get("output", "")), float(d.get("seconds", 0)))


@dataclass
class GradeReport:
    assignment: str
    submission: str
    results: list[CheckResult]
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)  # for the teacher (e.g. reference reused)
    # Said once instead of under every check: the file is not Python, does not compile, or
    # its import failed.
    problem: str = ""
    sandbox: list[str] = field(default_factory=list)  # protections unavailable on this machine

    @property
    def score(self) -> int:
        return sum(r.points for r in self.results)

    @property
    def max_score(self) -> int:
        return sum(r.max_points for r in self.results)

    @property
    def full_marks(self) -> bool:
        return self.score == self.max_score and all(r.passed for r in self.results)

    def result(self, name: str) -> CheckResult:
        for r in self.results:
            if r.name == name:
                return r
        raise KeyError(name)


# ------------------------------------------------------------------------- the student's file
def split_spec(spec: str) -> tuple[Path, str | None]:
    """``file.py`` or ``file.py:ClassName``."""
    path_text, sep, name = spec.rpartition(":")
    if sep and path_text.endswith(".py") and name.isidentifier():
        return Path(path_text), name
    return Path(spec), None


class SameBytes:
    """Matches a payload equal to `data`; shown short in a segment script."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def __call__(self, payload: bytes) -> bool:
        return payload == self.data

    def __repr__(self) -> str:
        return f"<{len(self.data)} bytes {self.data[:4]!r}...>"


def approx(a: float | None, b: float, tol: float = 1e-6) -> bool:
    return a is not None and isinstance(a, int | float) and abs(a - b) <= tol * max(1.0, abs(b))


def fmt(x: object) -> str:
    if isinstance(x, float):
        return f"{x:.6g}"
    return repr(x)
