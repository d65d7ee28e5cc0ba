"""The simulated world: one SimPy environment and the seed every random stream derives from."""

from __future__ import annotations

import hashlib
import random

import simpy

__all__ = ["World"]


class World:
    """A SimPy environment plus reproducible, independent random streams.

    ``rng(name)`` derives a generator from ``sha256(seed, name)``: each named stream depends only
    on the seed and its own name, so adding a link (or any other consumer) to a topology never
    changes the numbers another one draws. Asking twice for the same name gives two generators
    producing the same numbers, so give every consumer its own name (`unique_name` helps).
    """

    def __init__(self, seed: int = 1) -> None:
        self.seed = seed
        self.env = simpy.Environment()
        self._names: set[str] = set()

    @property
    def now(self) -> float:
        """Current simulated time, seconds."""
        return float(self.env.now)

    def rng(self, name: str) -> random.Random:
        """A generator for the stream ``name``, derived from (seed, name) with SHA-256."""
        digest = hashlib.sha256(f"netsim:{self.seed}:{name}".encode()).digest()
        return random.Random(int.from_bytes(digest, "big"))

    def unique_name(self, base: str) -> str:
        """Reserve ``base`` (or ``base-2``, ``base-3``, ... if taken) and return it.

        Links use this so two links both called "link" still get different random streams.
        """
        name, n = base, 1
        while name in self._names:
            n += 1
            name = f"{base}-{n}"
        self._names.add(name)
        return name

    def run(self, until: float | None = None) -> None:
        """Run the simulation until ``until`` seconds (or until nothing is scheduled)."""
        self.env.run(until=until)
