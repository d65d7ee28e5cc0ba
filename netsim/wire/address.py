"""An IPv4Address that hashes cheaply.

It lives in its own module, which stays interpreted in the compiled build
(scripts/compile.py): mypyc cannot compile a subclass of a stdlib class with __slots__.
"""

from __future__ import annotations

from ipaddress import IPv4Address
from typing import Any


class HashedIPv4Address(IPv4Address):
    """An IPv4Address that computes its hash once: the stack uses addresses as dictionary
    keys on every packet (~6 lookups per frame), and the stdlib hashes through hex() each
    time. The hash is the stdlib's, so an instance and an equal plain `IPv4Address` are the
    same dictionary key."""

    __slots__ = ("_hash_of",)

    def __init__(self, address: bytes | int | str) -> None:
        super().__init__(address)
        # A bound C method that returns the hash; `__hash__` (set below the class) is the
        # slot that holds it, so that hash() runs no Python frame: CPython's hash slot binds
        # what it finds under `__hash__` through its descriptor (the slot's, giving this
        # bound method) and calls it, all in C. A `def __hash__` cost a Python call per
        # dictionary lookup (~1/3 of the time of a lookup, measured).
        self._hash_of = super().__hash__().__int__

    def __reduce__(self) -> tuple[type[IPv4Address], tuple[int]]:
        return IPv4Address, (int(self),)

    def __repr__(self) -> str:
        return f"IPv4Address('{self}')"


_slot: Any = HashedIPv4Address.__dict__["_hash_of"]
HashedIPv4Address.__hash__ = _slot  # type: ignore[method-assign]

__all__ = ["HashedIPv4Address"]
