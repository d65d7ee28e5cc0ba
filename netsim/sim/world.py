"""The simulated world: one SimPy environment and the seed every random stream derives from."""

from __future__ import annotations

from typing import Any

import simpy

from netsim import simpy_fast
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
        super().__init__(seed)
        # at 0.0, not SimPy's int 0: the compiled build's float-typed clock code turns the
        # first times into 0.0, so an int start made the two builds' traces differ
        self.env: simpy.Environment = _Environment(initial_time=0.0)

    @property
    def now(self) -> float:
        """Current simulated time, seconds."""
        return float(self.env.now)

    def run(self, until: float | None = None) -> None:
        """Run the simulation until ``until`` seconds (or until nothing is scheduled)."""
        self.env.run(until=until)
