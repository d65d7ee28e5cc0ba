"""Values as the differential checks compare and show them, and a measure of what an object
holds (for the resource probes)."""

from __future__ import annotations

import enum
import ipaddress
from typing import Any

SHOW_LIMIT = 90  # characters of one value in the feedback (student values are capped)


def show(value: Any) -> str:
    """A value for the feedback: repr (so strings from student code are escaped), capped."""
    if isinstance(value, _ADDRESSES) or type(value).__name__ == "MacAddress":
        return str(value)  # (a subclass too: the stack's routes hold HashedIPv4Address)
    text = repr(value)
    return text if len(text) <= SHOW_LIMIT else text[:SHOW_LIMIT - 3] + "..."


_ADDRESSES = (ipaddress.IPv4Address, ipaddress.IPv6Address, ipaddress.IPv4Network,
              ipaddress.IPv6Network, ipaddress.IPv4Interface, ipaddress.IPv6Interface)


def plain(value: Any) -> Any:
    """The comparable form of a value that may come back from the candidate: enums by value,
    addresses as strings, bytes-likes as bytes, sequences as lists (recursively)."""
    if isinstance(value, enum.Enum):
        return plain(value.value)
    if isinstance(value, _ADDRESSES) or type(value).__name__ == "MacAddress":
        return str(value)  # (a subclass too: the stack's routes hold HashedIPv4Address)
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    if isinstance(value, tuple):
        return tuple(plain(v) for v in value)
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {plain(k): plain(v) for k, v in value.items()}
    return value


def same(want: Any, got: Any, rel: float = 1e-6) -> bool:
    """Equal, with floats compared to a relative tolerance (and ints equal to floats)."""
    if isinstance(want, float) or isinstance(got, float):
        if isinstance(want, bool) or isinstance(got, bool):
            return want is got
        if not isinstance(want, int | float) or not isinstance(got, int | float):
            return False
        return abs(want - got) <= rel * max(1.0, abs(want))
    if isinstance(want, list | tuple) and isinstance(got, list | tuple):
        return len(want) == len(got) and all(same(a, b, rel) for a, b in zip(want, got,
                                                                              strict=True))
    if isinstance(want, bool) or isinstance(got, bool):
        return type(want) is type(got) and want == got
    return bool(want == got)


def footprint(obj: Any, limit: int = 2_000_000) -> int:
    """What an object holds, in-process: the bytes of every bytes-like and one unit per
    element of every container reachable from its attributes (a stand-in for memory that
    does not depend on the interpreter). For a proxy to a sandboxed object, `held`."""
    seen: set[int] = set()
    stack: list[Any] = [obj]
    total = 0
    while stack and total < limit:
        x = stack.pop()
        if id(x) in seen or isinstance(x, type | bool | int | float | str | enum.Enum) or \
                x is None or callable(x) and not hasattr(x, "__dict__"):
            continue
        seen.add(id(x))
        if isinstance(x, bytes | bytearray | memoryview):
            total += len(x)
        elif isinstance(x, dict):
            total += len(x)
            stack.extend(x.keys())
            stack.extend(x.values())
        elif isinstance(x, list | tuple | set | frozenset) or type(x).__name__ == "deque":
            total += len(x)
            stack.extend(x)
        elif type(x).__module__ in ("builtins", "ipaddress") or \
                type(x).__name__ in ("function", "module", "MacAddress"):
            continue
        else:
            stack.extend(getattr(x, "__dict__", {}).values())
            for slot in getattr(type(x), "__slots__", ()):
                if hasattr(x, slot):
                    stack.append(getattr(x, slot))
    return total


def held(obj: Any) -> int:
    """`footprint` of an object here, or measured inside the sandbox for a proxy to the
    student's object (only the number crosses the boundary)."""
    from netsim.grading.proxy import RemoteObject, remote_size
    if isinstance(obj, RemoteObject):
        return remote_size(obj)
    return footprint(obj)
