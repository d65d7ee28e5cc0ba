"""Reproducible random streams, and what a `Link` needs from the world it runs in.

`RandomStreams` is the seed part of a simulated `World` (netsim.sim.world); a live host's
impairment (netsim.live.impair) uses it with the live environment, so a flag such as
``--loss 0.05 --seed 3`` loses the same frames as a simulation seeded with 3.
"""

from __future__ import annotations

import hashlib
import random
from typing import Protocol

import simpy

__all__ = ["LinkWorld", "RandomStreams"]


class RandomStreams:
    """Independent random streams derived from one seed.

    ``rng(name)`` derives a generator from ``sha256(seed, name)``: each named stream depends only
    on the seed and its own name, so adding a link (or any other consumer) to a topology never
    changes the numbers another one draws. Asking twice for the same name gives two generators
    producing the same numbers, so give every consumer its own name (`unique_name` helps).
    """

    def __init__(self, seed: int = 1) -> None:
        self.seed = seed
        self._names: set[str] = set()

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


class LinkWorld(Protocol):
    """Where a `Link` runs: a SimPy environment (simulated or live) and random streams."""

    @property
    def env(self) -> simpy.Environment: ...

    def rng(self, name: str) -> random.Random: ...

    def unique_name(self, base: str) -> str: ...
