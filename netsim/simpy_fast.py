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
  triggered: `step` runs its callbacks and passes it over (what `Timeout.__init__` does);
- `step` sets a popped event's ``callbacks`` to None and then runs the list it took, so a
  callback may put that same list back and push the event again (`Conveyor`).

Nothing else in netsim touches these names. pyproject.toml pins the SimPy versions this was
checked against, and tests/test_simpy_fast.py fails loudly, naming what changed, when an
installed SimPy no longer works this way.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from heapq import heappush
from operator import attrgetter
from typing import Any, Final

import simpy
from simpy.events import NORMAL as _SIMPY_NORMAL
from simpy.events import Event

__all__ = ["CHECKED_SIMPY", "NORMAL", "Conveyor", "Triggered", "call_at", "next_time",
           "now_of", "schedule", "set_now", "value_of"]

#: The SimPy versions (major.minor) these internals were checked against (see pyproject.toml).
CHECKED_SIMPY: Final = ("4.1",)

#: The priority of ordinary events (simpy.events.NORMAL).
NORMAL: Final[int] = _SIMPY_NORMAL

#: ``now_of(env)``: the current time, without the ``env.now`` property's call.
now_of: Final[Callable[[simpy.Environment], float]] = attrgetter("_now")

#: ``value_of(event)``: a triggered event's value, without the ``event.value`` property.
value_of: Final[Callable[[Event], Any]] = attrgetter("_value")


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


def schedule(env: simpy.Environment, when: float, event: Event) -> None:
    """Put an already-triggered `event` on `env`'s heap at the absolute time `when`, after
    the events already there for that time."""
    heappush(env._queue, (when, NORMAL, next(env._eid), event))  # type: ignore[misc]


def call_at(env: simpy.Environment, when: float, callback: Callable[[Event], None]) -> None:
    """Run `callback` at the absolute time `when` (exactly, with no float drift from adding a
    delay to `now`; a time in the past means now)."""
    now: float = env._now
    schedule(env, when if when > now else now, Triggered(env, callback))


class Conveyor:
    """Items handed over in the order they were put in, each at its time: what one direction of
    a link carries when frames never overtake each other. Only the first item waiting has an
    event on the heap, one event reused for all of them, so an item costs a tuple instead of an
    event and its callback list.

    The order of everything on the heap is the same as if each item had its own event: `put`
    takes the item's event id from ``env._eid`` when it is put in (as `schedule` would), and
    the item's entry goes on the heap with that id as soon as the one before it has fired,
    which is before anything later than that one runs. Times must not decrease from one
    `put` to the next."""

    def __init__(self, env: simpy.Environment, deliver: Callable[[Any], None]) -> None:
        self._env = env
        self._deliver = deliver
        self._waiting: deque[tuple[float, int, Any]] = deque()
        self._event = Triggered(env, self._fire)
        self._callbacks = self._event.callbacks

    def __len__(self) -> int:
        return len(self._waiting)

    def put(self, when: float, item: Any) -> None:
        """Hand `item` to the deliver callback at the absolute time `when`."""
        env = self._env
        eid: int = next(env._eid)
        waiting = self._waiting
        waiting.append((when, eid, item))
        if len(waiting) == 1:
            event = self._event
            event.callbacks = self._callbacks  # (None since it last fired)
            heappush(env._queue, (when, NORMAL, eid, event))  # type: ignore[misc]

    def _fire(self, event: Event) -> None:
        waiting = self._waiting
        item = waiting.popleft()[2]
        if waiting:
            when, eid, _ = waiting[0]
            event.callbacks = self._callbacks  # the list `step` is running: this callback
            heappush(self._env._queue, (when, NORMAL, eid, event))  # type: ignore[misc]
        self._deliver(item)


def next_time(env: simpy.Environment) -> float:
    """The time of the next scheduled event (infinity if none), as `Environment.peek`."""
    queue = env._queue
    return queue[0][0] if queue else float("inf")


def set_now(env: simpy.Environment, t: float) -> None:
    """Move `env`'s clock to `t` (a real-time environment follows the wall clock this way)."""
    env._now = t
