"""The wire format between the grader and the process that runs a student's code.

One message is one line of JSON (UTF-8, at most `MAX_MESSAGE` bytes). Only plain values cross:
None, bool, int, float, str, list, dict with str keys, and a few tagged forms, each a dict with
one ``$`` key: ``{"$b": base64}`` bytes, ``{"$t": [...]}`` a tuple, ``{"$f": "inf"}`` a float
JSON cannot spell, ``{"$ip": "10.0.0.2"}`` an IPv4 address, ``{"$mac": "02:00:.."}`` a MAC
address, ``{"$enum": [class, member]}`` an enum member, ``{"$ref": n}`` an object that stays in
the student's process (the grader can only name it in later requests), ``{"$method": name}``
an attribute that is a method.

`decode` is what the grader applies to everything from the student's side: it checks every
size, depth, number and string before anything else sees the value, and raises `BadValue`
with a sentence for the feedback when one is out of bounds. Nothing is ever unpickled or
evaluated. `clean_text` makes a student's string safe for a terminal, XML or CSV.
"""

from __future__ import annotations

import base64
import binascii
import enum
import json
import math
import re
from ipaddress import AddressValueError, IPv4Address
from typing import Any

MAX_MESSAGE = 4 << 20  # bytes in one line
MAX_DEPTH = 24  # nesting of lists/dicts
MAX_ITEMS = 200_000  # values in one message, all levels
MAX_STR = 1 << 20  # characters of one str (bytes: the same in bytes)
MAX_INT_BITS = 128  # |an int| < 2**128
TEXT_CAP = 4000  # characters of student-derived text per check in a report

_CONTROL = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|"
                      r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
                      r"\ud800-\udfff\ufffe\uffff]")


class BadValue(ValueError):
    """A value from the student's side that is malformed or out of bounds."""


class Enum_:  # noqa: N801 - an enum member from the student's side the grader does not know
    def __init__(self, cls: str, member: str) -> None:
        self.cls, self.member = cls, member

    def __repr__(self) -> str:
        # both names are the student's (any strings, up to 100 characters each): escaped as
        # repr escapes a str, since a repr is how a value reaches the feedback (`show`)
        return f"<{repr(self.cls)[1:-1]}.{repr(self.member)[1:-1]}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Enum_) and (self.cls, self.member) == (other.cls, other.member)

    def __hash__(self) -> int:
        return hash((self.cls, self.member))


class Ref:
    """The name of an object that lives in the student's process."""

    __slots__ = ("id",)

    def __init__(self, id: int) -> None:  # noqa: A002
        self.id = id


class Method:
    """An attribute that is a method (callable) in the student's process."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name


# ------------------------------------------------------------------------------- encoding
def encode(value: Any, refs: Any = None, depth: int = 0) -> Any:
    """A JSON-ready form of `value`. `refs(obj) -> int` names an object that is not plain (the
    student's side keeps it); without `refs` such an object is a TypeError."""
    if depth > MAX_DEPTH:
        raise ValueError("value nested too deeply")
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, Method):
        return {"$method": value.name}
    if isinstance(value, enum.Enum):
        return {"$enum": [type(value).__name__, str(value.name)]}
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        f = float(value)
        return f if math.isfinite(f) else {"$f": repr(f)}
    if type(value).__name__ == "MacAddress" and isinstance(value, bytes) and len(value) == 6:
        return {"$mac": bytes(value).hex(":")}
    if isinstance(value, bytes | bytearray | memoryview):
        return {"$b": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, IPv4Address):
        return {"$ip": str(value)}
    if type(value) is tuple:  # a named tuple stays an object: its fields are read by name
        return {"$t": [encode(v, refs, depth + 1) for v in value]}
    if isinstance(value, list | set | frozenset) or (isinstance(value, tuple) and refs is None):
        return [encode(v, refs, depth + 1) for v in value]
    if isinstance(value, dict):
        if all(type(k) is str and not k.startswith("$") for k in value):
            return {k: encode(v, refs, depth + 1) for k, v in value.items()}
        return {"$d": [[encode(k, refs, depth + 1), encode(v, refs, depth + 1)]
                       for k, v in value.items()]}
    if refs is None:
        raise TypeError(f"cannot send a {type(value).__name__}")
    return {"$ref": int(refs(value))}


def dumps(message: dict[str, Any]) -> bytes:
    return json.dumps(message, separators=(",", ":"), allow_nan=False).encode() + b"\n"


# ------------------------------------------------------------------------------- decoding
def loads(line: bytes) -> dict[str, Any]:
    """One message from the student's side: a JSON object, or `BadValue`."""
    if len(line) > MAX_MESSAGE:
        raise BadValue(f"a message of {len(line)} bytes (the limit is {MAX_MESSAGE})")
    try:
        msg = json.loads(line, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:
        raise BadValue(f"a message that is not valid JSON ({str(exc)[:80]})") from None
    if not isinstance(msg, dict):
        raise BadValue("a message that is not a JSON object")
    return msg


def _no_constant(name: str) -> Any:
    raise BadValue(f"{name} in a message")


class _Budget:
    def __init__(self) -> None:
        self.items = 0


def decode(value: Any, enums: dict[str, type[enum.Enum]] | None = None) -> Any:
    """A value received from the student's side, checked: `BadValue` when out of bounds."""
    return _decode(value, enums or {}, 0, _Budget())


def _decode(v: Any, enums: dict[str, type[enum.Enum]], depth: int, budget: _Budget) -> Any:
    budget.items += 1
    if budget.items > MAX_ITEMS:
        raise BadValue(f"a value with more than {MAX_ITEMS} items")
    if depth > MAX_DEPTH:
        raise BadValue(f"a value nested more than {MAX_DEPTH} levels deep")
    if v is None or isinstance(v, bool):
        return v
    if isinstance(v, int):
        if v.bit_length() > MAX_INT_BITS:
            raise BadValue(f"an integer of {v.bit_length()} bits")
        return v
    if isinstance(v, float):
        if math.isnan(v):
            raise BadValue("NaN (not a number)")
        return v
    if isinstance(v, str):
        if len(v) > MAX_STR:
            raise BadValue(f"a string of {len(v)} characters")
        return v
    if isinstance(v, list):
        return [_decode(x, enums, depth + 1, budget) for x in v]
    if not isinstance(v, dict):
        raise BadValue(f"a value of JSON type {type(v).__name__}")
    if len(v) == 1:
        ((key, body),) = v.items()
        if key.startswith("$"):
            return _tagged(key, body, enums, depth, budget)
    if any(k.startswith("$") for k in v):
        raise BadValue("a malformed tagged value")
    return {k: _decode(x, enums, depth + 1, budget) for k, x in v.items()}


def _tagged(key: str, body: Any, enums: dict[str, type[enum.Enum]], depth: int,
            budget: _Budget) -> Any:
    if key == "$b" and isinstance(body, str):
        if len(body) > MAX_STR * 4 // 3 + 4:
            raise BadValue(f"bytes of about {len(body) * 3 // 4} bytes")
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise BadValue("malformed bytes") from None
    if key == "$t" and isinstance(body, list):
        return tuple(_decode(x, enums, depth + 1, budget) for x in body)
    if key == "$f" and body in ("inf", "-inf"):
        return float(body)
    if key == "$f" and body == "nan":
        raise BadValue("NaN (not a number)")
    if key == "$ip" and isinstance(body, str) and len(body) <= 15:
        try:
            return IPv4Address(body)
        except AddressValueError:
            raise BadValue(f"a malformed IPv4 address {body[:20]!r}") from None
    if key == "$mac" and isinstance(body, str) and re.fullmatch(r"([0-9a-f]{2}:){5}[0-9a-f]{2}",
                                                                 body):
        from netsim.wire.mac import MacAddress
        return MacAddress(body)
    if key == "$enum" and isinstance(body, list) and len(body) == 2 and \
            all(isinstance(x, str) and len(x) <= 100 for x in body):
        cls = enums.get(body[0])
        if cls is not None and body[1] in cls.__members__:
            return cls.__members__[body[1]]
        return Enum_(body[0], body[1])
    if key == "$d" and isinstance(body, list):
        out = {}
        for pair in body:
            if not (isinstance(pair, list) and len(pair) == 2):
                raise BadValue("a malformed mapping")
            k = _decode(pair[0], enums, depth + 1, budget)
            try:
                out[k] = _decode(pair[1], enums, depth + 1, budget)
            except TypeError:
                raise BadValue("a mapping with an unhashable key") from None
        return out
    if key == "$ref" and isinstance(body, int) and not isinstance(body, bool) and \
            0 <= body < 1 << 31:
        return Ref(body)
    if key == "$method" and isinstance(body, str) and len(body) <= 100:
        return Method(body)
    raise BadValue(f"an unknown or malformed tagged value {key[:20]!r}")


# ------------------------------------------------------------------------------- text
def clean_text(text: str, cap: int = TEXT_CAP) -> str:
    """`text` from the student's side, safe to show: escape sequences and control characters
    (except newline and tab) removed, at most `cap` characters (a note says how many more)."""
    if len(text) > 4 * cap:  # never run the regex over megabytes
        text = text[:4 * cap]
    text = _CONTROL.sub("", text.replace("\r\n", "\n"))
    if len(text) > cap:
        text = text[:cap] + f"\n[... {len(text) - cap} more characters cut]"
    return text


def one_line(text: str, cap: int = TEXT_CAP) -> str:
    """`clean_text` on one line: a line break shows as the two characters \\n, so text from
    the student's side (an exception message, a file name) cannot start a line of its own in
    a report and pass for the grader's ("PASS ...", "Score: ...")."""
    return clean_text(text, cap).replace("\n", "\\n").replace("\t", " ")


def quoted(text: str, cap: int = TEXT_CAP) -> str:
    """`clean_text` of a block from the student's side (a traceback, what the code printed),
    every line behind "| ", so none of it can pass for a line of the grader's."""
    return "\n".join("| " + ln for ln in clean_text(text, cap).rstrip("\n").split("\n"))
