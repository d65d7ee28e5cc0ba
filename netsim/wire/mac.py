"""The 48-bit Ethernet MAC address as an immutable value."""

from __future__ import annotations

import re
from typing import Any

from netsim.errors import UsageError

_MAC_RE = re.compile(r"[0-9a-fA-F]{2}([:-])(?:[0-9a-fA-F]{2}\1){4}[0-9a-fA-F]{2}")


class MacAddress(bytes):
    """A MAC address: six bytes, printed as ``aa:bb:cc:dd:ee:ff``.

    Being a `bytes` subclass it is immutable, hashable and concatenates directly into
    frames. Construct from six bytes or from text: ``MacAddress("02:00:00:00:00:01")``.
    """

    __slots__ = ()

    def __new__(cls, value: Any) -> MacAddress:
        if isinstance(value, MacAddress):
            return value
        if isinstance(value, str):
            if not _MAC_RE.fullmatch(value):  # (`$` would accept a trailing newline)
                raise UsageError(
                    f"MAC address: {value!r} is not six hex pairs like 02:00:00:00:00:01"
                )
            return super().__new__(cls, bytes.fromhex(value.replace(":", "").replace("-", "")))
        if isinstance(value, (bytes, bytearray, memoryview)):
            raw = bytes(value)
            if len(raw) != 6:
                raise UsageError(f"MAC address: needs 6 bytes, got {len(raw)}")
            return super().__new__(cls, raw)
        raise UsageError(f"MAC address: cannot make one from {type(value).__name__}")

    def __str__(self) -> str:
        return ":".join(f"{b:02x}" for b in self)

    def __repr__(self) -> str:
        return f"MacAddress('{self}')"

    @property
    def is_broadcast(self) -> bool:
        return self == BROADCAST

    @property
    def is_multicast(self) -> bool:
        return bool(self[0] & 1)

    @classmethod
    def local(cls, index: int) -> MacAddress:
        """A locally administered unicast address 02:00:xx:xx:xx:xx numbered by `index`."""
        return cls(b"\x02\x00" + (index & 0xFFFFFFFF).to_bytes(4, "big"))


BROADCAST = MacAddress(b"\xff" * 6)
ZERO = MacAddress(b"\x00" * 6)

_mac_cache: dict[bytes, MacAddress] = {}


def mac_from_bytes(raw: bytes) -> MacAddress:
    """A `MacAddress` for exactly 6 bytes, cached: parsers call this per frame."""
    mac = _mac_cache.get(raw)
    if mac is None:
        if len(_mac_cache) > 4096:
            _mac_cache.clear()
        mac = _mac_cache[bytes(raw)] = MacAddress(raw)
    return mac
