"""An IPv4Address that hashes cheaply.

It lives in its own module, which stays interpreted in the compiled build
(scripts/compile.py): mypyc cannot compile a subclass of a stdlib class with __slots__.
"""

from __future__ import annotations

from ipaddress import IPv4Address


class HashedIPv4Address(IPv4Address):
    """An IPv4Address that computes its hash once: the stack uses addresses as dictionary
    keys on every packet, and the stdlib hashes through hex() each time."""

    __slots__ = ("_hash",)

    def __init__(self, address: bytes | int | str) -> None:
        super().__init__(address)
        self._hash = super().__hash__()

    def __hash__(self) -> int:
        return self._hash

    def __reduce__(self) -> tuple[type[IPv4Address], tuple[int]]:
        return IPv4Address, (int(self),)

    def __repr__(self) -> str:
        return f"IPv4Address('{self}')"


__all__ = ["HashedIPv4Address"]
