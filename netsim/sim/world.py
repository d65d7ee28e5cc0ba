"""The simulated world: one SimPy environment and the seed every random stream derives from."""

from __future__ import annotations

import math
from numbers import Integral, Real
from typing import Any

import simpy

from netsim import simpy_fast
from netsim.errors import UsageError
from netsim.link.streams import RandomStreams

__all__ = ["World"]


class _Environment(simpy.Environment):
    """A SimPy environment whose `run` steps through events in netsim.simpy_fast's loop."""

    def run(self, until: Any = None) -> Any:
        return simpy_fast.run(self, until)


class World(RandomStreams):
    """A SimPy environment plus reproducible, independent random streams (`RandomStreams`:
    ``rng(name)`` and ``unique_name(base)``, derived from the seed)."""

    def __init__(self, seed: int = 1) -> None:
        # the random streams hash the seed's text: World("1") would pass for World(1), and
        # World(1.5) or World(None) make streams no command line can reproduce (--seed N)
        if isinstance(seed, bool) or not isinstance(seed, Integral):
            raise UsageError(f"seed: {seed!r:.60} is not an integer seed; use e.g. World(1)")
        super().__init__(int(seed))
        # at 0.0, not SimPy's int 0: the compiled build's float-typed clock code turns the
        # first times into 0.0, so an int start made the two builds' traces differ
        self.env: simpy.Environment = _Environment(initial_time=0.0)

    @property
    def now(self) -> float:
        """Current simulated time, seconds."""
        return float(self.env.now)

    def run(self, until: float | None = None) -> None:
        """Run the simulation until ``until`` seconds (or until nothing is scheduled)."""
        if until is not None and not isinstance(until, simpy.Event):
            if isinstance(until, bool) or not isinstance(until, Real) or \
                    math.isnan(until):
                raise UsageError(f"until: {until!r:.60} is not a time in seconds; use a number "
                                 "(or None: until nothing is scheduled)")
            if until <= self.env.now:
                raise UsageError(f"until: {until!r} is not after the current time, "
                                 f"{self.env.now!r} s")
        self.env.run(until=until)
