"""Checks of the arguments users pass to the Python API (sockets, nodes, topologies).

Each returns the value to use, or raises a `UsageError` whose one-line message names the
argument and what is allowed (``port: '80' is not a port number; use an int in 1..65535``),
as the command line does. They run once per call of an entry point (``node.connect``,
``stream.recv``), never per segment; the compiled modules call them only for a value their
fast path did not take (``type(data) is bytes``), and declare such arguments with a type
mypyc does not check (a protocol), so that a wrong type reaches the check here rather than
mypyc's generic TypeError.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from ipaddress import IPv4Address, IPv6Address, ip_address
from operator import index
from typing import Any, TypeVar

from netsim.errors import UnknownNameError, UsageError

__all__ = ["whole", "seconds", "port", "address", "ipv4", "ipv6", "payload", "instance", "names",
           "path", "unknown", "callable_"]

_Addr = TypeVar("_Addr", IPv4Address, IPv6Address)


def whole(name: str, value: object, least: int = 0, most: int | None = None,
          what: str = "a size") -> int:
    """`value` as an int in least..most (an int, or anything with __index__; not a bool)."""
    bound = f"in {least}..{most}" if most is not None else f">= {least}"
    try:
        if isinstance(value, bool):
            raise TypeError
        n = index(value)  # type: ignore[arg-type]
    except TypeError:
        raise UsageError(f"{name}: {value!r:.60} is not {what}; use an int {bound}") from None
    if n < least or most is not None and n > most:
        if most is None:
            raise UsageError(f"{name}: {n} is less than {least}; use {what} >= {least}")
        raise UsageError(f"{name}: {n} is not in {least}..{most}")
    return n


def seconds(name: str, value: object, positive: bool = False) -> float:
    """A time in seconds: a finite number >= 0 (> 0 with `positive`), not a bool."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not (
            0 < value < math.inf if positive else 0 <= value < math.inf):
        raise UsageError(f"{name}: {value!r:.60} is not a time in seconds; use a number "
                         + ("> 0" if positive else ">= 0"))
    return float(value)


def port(name: str, value: object, least: int = 1) -> int:
    """A port number in least..65535 (0 for "any free port" where that is allowed)."""
    return whole(name, value, least, 0xFFFF, "a port number")


def address(name: str, value: object) -> IPv4Address | IPv6Address:
    """An IPv4 or IPv6 address, given as text or as an `ipaddress` object."""
    if isinstance(value, IPv4Address | IPv6Address):
        return value
    if isinstance(value, str):
        try:
            return ip_address(value)
        except ValueError:
            pass
    raise UsageError(f"{name}: {value!r:.60} is not an IPv4 or IPv6 address; use text such as "
                     "'10.0.0.2' or '2001:db8::2'")


def ipv4(name: str, value: object, hint: str = "") -> IPv4Address:
    """An IPv4 address, as text or an `IPv4Address` (not an int: IPv4Address(5) is 0.0.0.5);
    `hint` ends the message."""
    return _of_family(name, value, IPv4Address, "IPv4", hint)


def ipv6(name: str, value: object) -> IPv6Address:
    """An IPv6 address, as text or an `IPv6Address` (not an int)."""
    return _of_family(name, value, IPv6Address, "IPv6", "")


def _of_family(name: str, value: object, cls: type[_Addr], family: str, hint: str) -> _Addr:
    if isinstance(value, cls):
        return value
    if isinstance(value, str):
        try:
            return cls(value)
        except ValueError:
            pass
    raise UsageError(f"{name}: {value!r:.60} is not an {family} address{hint}")


def payload(name: str, data: object) -> bytes:
    """Any bytes-like object (bytes, bytearray, memoryview, array, ...) as bytes, byte for
    byte, as a socket takes it: a memoryview of wider items counts its bytes, not items."""
    if isinstance(data, bytes):
        return data
    if isinstance(data, str):
        raise UsageError(f"{name}: {data!r:.40} is text, not bytes; pass {name}.encode() "
                         "or a b'...' literal")
    try:
        view = memoryview(data)  # type: ignore[arg-type]
    except TypeError:
        raise UsageError(f"{name}: {type(data).__name__} is not a bytes-like object; use "
                         "bytes, bytearray or memoryview") from None
    return view.tobytes()


def instance(name: str, value: object, cls: type[Any], what: str) -> Any:
    """`value` if it is a `cls` (None passes: the caller's default)."""
    if value is not None and not isinstance(value, cls):
        raise UsageError(f"{name}: {value!r:.60} is not {what}")
    return value


def names(name: str, value: object) -> list[str]:
    """A list of names (one string is not a list: 'r1' would be the names 'r', '1')."""
    if isinstance(value, str):
        raise UsageError(f"{name}: {value!r:.60} is one string; give a list, e.g. [{value!r:.60}]")
    try:
        items = list(value)  # type: ignore[call-overload]
    except TypeError:
        raise UsageError(f"{name}: {value!r:.60} is not a list of names") from None
    return [str(x) for x in items]


def path(name: str, value: object, example: str = "run.pcap") -> str | os.PathLike[str]:
    """A file path (an int would be taken as a file descriptor)."""
    if not isinstance(value, str | os.PathLike):
        raise UsageError(f"{name}: {value!r:.60} is not a file path; use e.g. {example!r}")
    return value


def unknown(name: str, value: object, what: str, known: Iterable[str]) -> UnknownNameError:
    """The error for a name not among `known` (listed, the first eight): raise what it returns."""
    listed = list(known)
    some = ", ".join(listed[:8]) + (f" (and {len(listed) - 8} more)" if len(listed) > 8 else "")
    return UnknownNameError(f"{name}: {value!r:.60} is not {what}; use one of {some or '(none)'}")


def callable_(name: str, value: object, what: str) -> Any:
    """`value` if it can be called (None passes: the caller's default)."""
    if value is not None and not callable(value):
        raise UsageError(f"{name}: {value!r:.60} is not callable; use {what}")
    return value
