"""A SimPy environment that runs in real time and waits on file descriptors instead of sleeping.

`LiveEnvironment` is `simpy.rt.RealtimeEnvironment(strict=False)` whose idle wait is an
``epoll`` on the registered descriptors (TAP devices, stdin, a signal wake-up pipe) with the
time to the next scheduled event as its timeout (DESIGN.md §1). Simulated time is seconds of
``time.monotonic()`` since the environment was created, so ``env.now`` is real time:

- a scheduled event runs when its time has come (never earlier; later if we are busy);
- when a descriptor becomes readable, its callback runs at the current real time: ``env.now``
  is set to the moment the wait returned, so a frame read from a TAP reaches the stack with its
  real arrival time. If we are behind (events from the past are still queued), the callback is
  scheduled as an event at that real time instead, so ``env.now`` never goes backwards and the
  queued events run first.

While events are due back to back the descriptors are still polled (without waiting) every
`poll_interval` events, so a busy sender cannot starve the receive path.

``install_signal_handlers()`` turns SIGINT/SIGTERM into the event `stop_requested` (a second
signal raises KeyboardInterrupt), so a command can close its connections and exit cleanly.
"""

from __future__ import annotations

import math
import os
import select
import signal
import time
from collections.abc import Callable
from types import FrameType
from typing import Any

from simpy.core import EmptySchedule, Environment
from simpy.events import Event
from simpy.rt import RealtimeEnvironment

from netsim.simpy_fast import Triggered, next_time, now_of, schedule, set_now

__all__ = ["LiveEnvironment", "ReadCallback"]

#: Called with no argument when a registered descriptor is readable; ``env.now`` is its time.
ReadCallback = Callable[[], None]

_INF = math.inf
_EPOLLIN = select.EPOLLIN


class LiveEnvironment(RealtimeEnvironment):
    """Real-time SimPy environment whose idle wait is ``epoll`` on registered descriptors."""

    def __init__(self, poll_interval: int = 16) -> None:
        super().__init__(initial_time=0.0, factor=1.0, strict=False)  # a float, as World
        self._origin = time.monotonic()
        self.real_start = self._origin
        #: ``time.time()`` at env time 0: ``env.wall(t)`` is the wall-clock time of env time t.
        self.wall_origin = time.time() - (time.monotonic() - self._origin)
        self.poll_interval = poll_interval
        self._readers: dict[int, ReadCallback] = {}
        self._pending: set[int] = set()
        self._epoll = select.epoll()
        self._due_steps = 0
        self._signal_r: int | None = None
        self._signal_w: int | None = None
        self._old_handlers: dict[int, Any] = {}
        self._old_wakeup_fd = -1
        self._signalled: int | None = None
        #: Succeeds (with the signal number) at the first SIGINT/SIGTERM once
        #: `install_signal_handlers` has run.
        self.stop_requested: Event = self.event()
        #: Number of descriptor callbacks run, and how many of them were deferred.
        self.wakeups = 0
        self.deferred = 0

    # ------------------------------------------------------------------ time
    def real_now(self) -> float:
        """Seconds since the environment started (what ``env.now`` will be for new input)."""
        return time.monotonic() - self._origin

    def touch(self) -> float:
        """Move ``env.now`` forward to the current real time, but never past the next scheduled
        event (so events still run in order). A descriptor callback that handles several
        inputs calls it before each one, so each gets its own arrival time. Returns env.now."""
        now = time.monotonic() - self._origin
        nxt = next_time(self)
        if nxt < now:
            now = nxt
        if now > now_of(self):
            set_now(self, now)
        return now_of(self)

    def wall(self, t: float | None = None) -> float:
        """The wall-clock time (``time.time()`` scale) of env time `t` (default: now)."""
        return self.wall_origin + (now_of(self) if t is None else t)

    def sync(self) -> None:
        """Does nothing: env time is always the monotonic clock since the start (kept for
        RealtimeEnvironment's interface)."""

    # ------------------------------------------------------------------ descriptors
    def add_reader(self, fd: int | Any, callback: ReadCallback) -> None:
        """Call `callback()` whenever `fd` (an int or an object with ``fileno()``) is readable."""
        fileno = fd if isinstance(fd, int) else int(fd.fileno())
        if fileno in self._readers:
            self._epoll.modify(fileno, _EPOLLIN)
        else:
            self._epoll.register(fileno, _EPOLLIN)
        self._readers[fileno] = callback

    def remove_reader(self, fd: int | Any) -> None:
        fileno = fd if isinstance(fd, int) else int(fd.fileno())
        if self._readers.pop(fileno, None) is not None and fileno not in self._pending:
            self._epoll.unregister(fileno)
        self._pending.discard(fileno)

    # ------------------------------------------------------------------ the loop
    def step(self) -> None:
        """Run the next event once its time has come, or a descriptor callback if one fires
        first. Raises EmptySchedule only when nothing is scheduled and nothing is watched."""
        while True:
            t = next_time(self)
            now = time.monotonic() - self._origin
            if t <= now:
                self._due_steps += 1
                if self._due_steps >= self.poll_interval:
                    self._due_steps = 0
                    if self._readers:
                        self._poll(0.0, behind=True)
                Environment.step(self)
                return
            self._due_steps = 0
            if t == _INF and not self._readers:
                raise EmptySchedule
            if self._poll(-1.0 if t == _INF else t - now, behind=False):
                return

    def _poll(self, timeout: float, behind: bool) -> bool:
        """Wait up to `timeout` seconds (-1: forever) for a descriptor; run or defer callbacks.
        Returns whether any descriptor was ready."""
        if timeout > 0:
            # epoll rounds to whole milliseconds (upwards); never wake before the event is due.
            timeout = math.ceil(timeout * 1000.0) / 1000.0
        ready = self._epoll.poll(timeout)
        if not ready:
            return False
        now = time.monotonic() - self._origin
        if now < now_of(self):
            now = now_of(self)
        for fd, _mask in ready:
            callback = self._readers.get(fd)
            if callback is None:
                continue
            self.wakeups += 1
            if behind or next_time(self) < now:
                self._defer(fd, callback, now)
            else:
                set_now(self, now)
                callback()
        return True

    def _defer(self, fd: int, callback: ReadCallback, when: float) -> None:
        """Run `callback` as an event at `when`, after the older events; stop watching `fd`
        until then (it stays readable)."""
        self.deferred += 1
        self._pending.add(fd)
        self._epoll.unregister(fd)

        def run(_ev: Event) -> None:
            if fd not in self._pending:
                return  # removed meanwhile
            self._pending.discard(fd)
            if fd in self._readers:
                self._epoll.register(fd, _EPOLLIN)
                callback()

        schedule(self, when, Triggered(self, run))

    def call_soon(self, callback: Callable[[], None]) -> None:
        """Run `callback()` as an event at the current time, after the events already due."""
        schedule(self, self.touch(), Triggered(self, lambda _ev: callback()))

    # ------------------------------------------------------------------ signals
    def install_signal_handlers(self, signals: tuple[int, ...] = (signal.SIGINT, signal.SIGTERM)
                                ) -> None:
        """Make SIGINT/SIGTERM succeed `stop_requested` (main thread only). A second signal
        raises KeyboardInterrupt. `restore_signal_handlers` undoes this."""
        if self._signal_r is not None:
            return
        r, w = os.pipe()
        os.set_blocking(r, False)
        os.set_blocking(w, False)
        self._signal_r, self._signal_w = r, w
        self._old_wakeup_fd = signal.set_wakeup_fd(w)
        for signum in signals:
            self._old_handlers[signum] = signal.signal(signum, self._on_signal)
        self.add_reader(r, self._drain_signal_pipe)

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        if self.stop_requested.triggered:
            raise KeyboardInterrupt
        # The wake-up fd makes the wait return; the pipe's reader succeeds the event.
        self._signalled = signum

    def _drain_signal_pipe(self) -> None:
        assert self._signal_r is not None
        try:
            data = os.read(self._signal_r, 512)
        except BlockingIOError:
            return
        signum = self._signalled or (data[-1] if data else int(signal.SIGINT))
        if not self.stop_requested.triggered:
            self.stop_requested.succeed(signum)

    def restore_signal_handlers(self) -> None:
        if self._signal_r is None:
            return
        for signum, handler in self._old_handlers.items():
            signal.signal(signum, handler)
        self._old_handlers.clear()
        signal.set_wakeup_fd(self._old_wakeup_fd)
        self.remove_reader(self._signal_r)
        assert self._signal_w is not None
        os.close(self._signal_r)
        os.close(self._signal_w)
        self._signal_r = self._signal_w = None

    def close(self) -> None:
        """Restore signal handlers and release the epoll object."""
        self.restore_signal_handlers()
        self._epoll.close()
