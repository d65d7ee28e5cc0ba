"""The simulated world: one SimPy environment and the seed every random stream derives from."""

from __future__ import annotations

import simpy

from netsim.link.streams import RandomStreams

__all__ = ["World"]


class World(RandomStreams):
    """A SimPy environment plus reproducible, independent random streams (`RandomStreams`:
    ``rng(name)`` and ``unique_name(base)``, derived from the seed)."""

    def __init__(self, seed: int = 1) -> None:
        super().__init__(seed)
        self.env = simpy.Environment()

    @property
    def now(self) -> float:
        """Current simulated time, seconds."""
        return float(self.env.now)

    def run(self, until: float | None = None) -> None:
        """Run the simulation until ``until`` seconds (or until nothing is scheduled)."""
        self.env.run(until=until)
