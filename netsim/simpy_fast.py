"""The SimPy internals netsim uses for speed, in one place (issue 20).

SimPy's public API schedules an event at ``now + delay`` (a float sum that drifts) and builds
each `Timeout` through several calls. On the paths that run once per frame or per timer,
netsim instead pushes already-triggered events straight onto the environment's heap at an
absolute time, and reads the clock without the ``env.now`` property. That relies on
SimPy 4.1's private layout:

- ``env._queue``: a heap of ``(time, priority, event id, event)`` that `Environment.step`
  pops, setting ``env._now`` to the time;
- ``env._eid``: an `itertools.count` that orders events of equal time and priority;
- ``env._now``: the current time, as a float attribute;
- an `Event` whose ``callbacks`` is a list, ``_value`` is not PENDING and ``_ok`` is True is
  triggered: `step` runs its callbacks and passes it over (what `Timeout.__init__` does).
  `step` reads nothing else of a successful event, so netsim's own callbacks go on the heap
  as lighter objects that only look like one (`Call`, `Fifo`: a ``callbacks`` list and
  ``_ok``), and `run`'s loop calls them directly.

A link direction's frames arrive in the order they were sent: a `Fifo` keeps them, each with
the event id it took when it was sent, and only the first is on the heap. The events run in
the same order as if each had been pushed at once, over a heap of a few entries instead of
one per frame in flight.

`run` is `Environment.run` with `Environment.step` inlined in its loop (compiled in the
compiled build): the loop runs once per event. It copies SimPy 4.1's `run` and `step`, which
also raise `StopSimulation` from the ``until`` event's callback and `EmptySchedule` from an
empty heap, and re-raise a failed event's exception that no one defused.

Nothing else in netsim touches these names. pyproject.toml pins the SimPy versions this was
checked against, and tests/test_simpy_fast.py fails loudly, naming what changed, when an
installed SimPy no longer works this way.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator
from operator import attrgetter
from typing import Any, Final, final

import simpy
from simpy.core import EmptySchedule, StopSimulation
from simpy.events import NORMAL as _SIMPY_NORMAL
from simpy.events import URGENT as _SIMPY_URGENT
from simpy.events import Event

__all__ = ["CHECKED_SIMPY", "NORMAL", "Call", "Fifo", "Sink", "Triggered", "call_at", "next_time",
           "now_of", "post", "run", "schedule", "set_now", "value_of"]

#: The SimPy versions (major.minor) these internals were checked against (see pyproject.toml).
CHECKED_SIMPY: Final = ("4.1",)

#: The priority of ordinary events (simpy.events.NORMAL).
NORMAL: Final[int] = _SIMPY_NORMAL

#: ``now_of(env)``: the current time, without the ``env.now`` property's call.
now_of: Final[Callable[[simpy.Environment], float]] = attrgetter("_now")

#: ``value_of(event)``: a triggered event's value, without the ``event.value`` property.
value_of: Final[Callable[[Event], Any]] = attrgetter("_value")

# heapq's two functions as Final names: the compiled build reads a Final from a C static
# where it looks an imported name up in the module's dictionary, on every call (each frame)
heappush: Final = heapq.heappush
heappop: Final = heapq.heappop
# (and `next`: compiled, a call of the builtin looks its name up in the builtins module)
_next: Final = next


class Triggered(Event):
    """An event triggered when it is made (successfully, with `value`): scheduled with
    `schedule`, it runs `callback` when the environment reaches its time."""

    def __init__(self, env: simpy.Environment, callback: Callable[[Event], None],
                 value: Any = None) -> None:
        # Event.__init__ + succeed(), inlined as simpy.events.Timeout does
        self.env = env
        self.callbacks = [callback]
        self._value = value
        self._ok = True


@final
class Call:
    """A call of ``fn(call)`` at a scheduled time: what netsim schedules for its own
    callbacks, lighter than an `Event` (one object with two fields, no attribute dict, no
    callback list). `run`'s loop calls ``fn`` directly; to SimPy's own `Environment.step`
    (an environment that SimPy steps, e.g. netsim.live's) it looks like a triggered event
    whose one callback is ``fn`` (``callbacks``, ``_ok``). It is not an `Event`: a process
    cannot wait for it (schedule a `Triggered` for that)."""

    __slots__ = ("fn", "value")

    def __init__(self, fn: Callable[[Call], None], value: Any = None) -> None:
        self.fn = fn
        self.value = value

    @property
    def callbacks(self) -> list[Callable[[Call], None]] | None:
        return [self.fn]

    @callbacks.setter
    def callbacks(self, value: list[Callable[[Call], None]] | None) -> None:
        pass  # (Environment.step sets None before it runs them: nothing to forget)

    @property
    def _ok(self) -> bool:
        return True


def post(env: simpy.Environment, when: float, fn: Callable[[Call], None],
         value: Any = None) -> None:
    """Call ``fn(call)`` (``call.value`` is `value`) at the absolute time `when`, after the
    events already scheduled for that time; `when` must not be in the past."""
    heappush(env._queue, (when, NORMAL, _next(env._eid), Call(fn, value)))  # type: ignore[misc]


class Sink:
    """Something that takes values one at a time (`take`): a link direction's far end takes
    the frames of its `Fifo`, a node's receiver takes the frames of a port. Compiled, a call
    of `take` on one is a direct call where a call of a function is a Python-level one. It
    is callable too: ``sink(value)`` is ``sink.take(value)``."""

    def take(self, value: Any) -> None:
        raise NotImplementedError

    def __call__(self, value: Any) -> None:
        self.take(value)


@final
class Fifo:
    """Calls of one function ``fn(value)`` at times that never decrease (a link direction's
    deliveries, in the order they were sent), with only the earliest on the environment's
    heap (`fn` may be a `Sink`: its `take` is called). Each call takes its place in the event
    order (its event id) when it is `push`-ed, and reaches the heap with that id when the call
    before it runs, so events run in exactly the order they would if each were pushed at once;
    the heap stays short (one entry per `Fifo` instead of one per frame in flight), so each
    event costs fewer comparisons. The heap entry is the `Fifo` itself: `run`'s loop calls
    `run_first`; to SimPy's own `Environment.step` it looks like a triggered event, as a
    `Call` does."""

    __slots__ = ("_queue", "_eid", "_fn", "_sink", "_entries", "_values", "_head")

    def __init__(self, env: simpy.Environment, fn: Callable[[Any], None]) -> None:
        self._queue: list[Any] = env._queue  # (SimPy never replaces these two)
        self._eid: Iterator[int] = env._eid
        self._fn = fn
        self._sink = fn if isinstance(fn, Sink) else None
        # the calls not yet made are entry `_head` onwards of two lists (plain lists, whose
        # appends and reads the compiled build makes in C: a deque's are method calls), cut
        # down in `run_first` once most of them are calls made: each call's heap entry, made
        # when it is pushed (its time and event id), and its value
        # (entries typed Any: compiled, a tuple of known item types is unboxed when read
        # from a list and made anew to be pushed; an Any is the tuple itself)
        self._entries: list[Any] = []
        self._values: list[Any] = []
        self._head = 0

    def push(self, when: float, value: Any) -> None:
        """Call ``fn(value)`` at `when`: not before the time of the previous push, nor now."""
        entry: Any = (when, NORMAL, _next(self._eid), self)
        values = self._values
        if self._head == len(values):
            heappush(self._queue, entry)
        self._entries.append(entry)
        values.append(value)

    def __len__(self) -> int:
        return len(self._values) - self._head

    def run_first(self) -> None:
        """Make the first call (its time has come), after putting the next on the heap."""
        values = self._values
        head = self._head
        value = values[head]
        values[head] = None
        head += 1
        n = len(values)
        if head < n:
            heappush(self._queue, self._entries[head])
            if head >= 64 and head + head >= n:
                del values[:head]
                del self._entries[:head]
                head = 0
        else:  # none left: start the lists afresh
            values.clear()
            self._entries.clear()
            head = 0
        self._head = head
        sink = self._sink
        if sink is not None:
            sink.take(value)
        else:
            self._fn(value)

    def _step(self, _event: Any) -> None:
        self.run_first()

    @property
    def callbacks(self) -> list[Callable[[Any], None]] | None:
        return [self._step]

    @callbacks.setter
    def callbacks(self, value: list[Callable[[Any], None]] | None) -> None:
        pass

    @property
    def _ok(self) -> bool:
        return True


def schedule(env: simpy.Environment, when: float, event: Event) -> None:
    """Put an already-triggered `event` on `env`'s heap at the absolute time `when`, after
    the events already there for that time."""
    heappush(env._queue, (when, NORMAL, _next(env._eid), event))  # type: ignore[misc]


def call_at(env: simpy.Environment, when: float, callback: Callable[[Call], None]) -> None:
    """Run `callback` at the absolute time `when` (exactly, with no float drift from adding a
    delay to `now`; a time in the past means now). It is given a `Call`, not an `Event`."""
    now: float = env._now
    post(env, when if when > now else now, callback)


def next_time(env: simpy.Environment) -> float:
    """The time of the next scheduled event (infinity if none), as `Environment.peek`."""
    queue = env._queue
    return queue[0][0] if queue else float("inf")


def set_now(env: simpy.Environment, t: float) -> None:
    """Move `env`'s clock to `t` (a real-time environment follows the wall clock this way)."""
    env._now = t


def run(env: simpy.Environment, until: Any = None) -> Any:
    """``env.run(until)`` (SimPy 4.1's `Environment.run`, the same arguments, result and
    exceptions), stepping through the events in a loop of its own (`_step_until_stopped`)."""
    if until is not None:
        if not isinstance(until, Event):
            # (the time as given: an int stays an int, as in SimPy)
            at: Any = until if isinstance(until, int) else float(until)
            if at <= env.now:
                raise ValueError(
                    f"until ({at}) must be greater than the current simulation time")
            stop = Event(env)
            stop._ok = True
            stop._value = None
            env.schedule(stop, _SIMPY_URGENT, at - env.now)
            until = stop
        # (an Any: a processed event's callbacks are None, not the list its type says)
        callbacks: Any = until.callbacks
        if callbacks is None:
            return until.value  # already processed
        callbacks.append(StopSimulation.callback)
    try:
        _step_until_stopped(env)
    except StopSimulation as exc:
        return exc.args[0]
    except EmptySchedule:
        if until is not None:
            assert not until.triggered
            raise RuntimeError(f'No scheduled events left but "until" event was not '
                               f"triggered: {until}") from None
    return None


def _step_until_stopped(env: simpy.Environment) -> None:
    """`Environment.step` over and over, until an exception stops it."""
    queue: list[Any] = env._queue
    while True:
        try:
            entry = heappop(queue)
        except IndexError:
            raise EmptySchedule from None
        env._now = entry[0]
        event: Any = entry[3]
        # (netsim's own callbacks never fail, and never stop the simulation)
        if isinstance(event, Fifo):
            event.run_first()
            continue
        if isinstance(event, Call):
            event.fn(event)
            continue
        callbacks: list[Any] = event.callbacks
        event.callbacks = None  # (no callback added while they run)
        callback: Any = None
        try:
            for callback in callbacks:
                callback(event)
        except StopSimulation:
            # the rest of the callbacks run when the simulation resumes
            event.callbacks = callbacks[callbacks.index(callback) + 1:]
            env.schedule(event, -1)  # type: ignore[arg-type]
            raise
        if not event._ok and not hasattr(event, "_defused"):
            # a failed event no one defused: crash with a copy of its exception
            value: Any = event._value
            exc = type(value)(*value.args)
            exc.__cause__ = value
            raise exc
