"""The language of a segment-level script (netsim.testing.script): flags as tcpdump's letters,
options as a mapping in Linux's order, and what an expected field may be: a value, ``ANY``, or
a predicate.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Final, TypeAlias

from netsim.wire.tcp import (
    ACK,
    CWR,
    ECE,
    FIN,
    NOP,
    PSH,
    RST,
    SACK_PERMITTED,
    SYN,
    URG,
    MSSOption,
    SackOption,
    SackPermittedOption,
    TCPOption,
    TCPSegment,
    TimestampOption,
    WindowScaleOption,
)

MASK: Final = 0xFFFFFFFF


class AnyValue:
    """Matches every value (``seq=ANY``)."""

    def __repr__(self) -> str:
        return "ANY"


ANY: Final = AnyValue()

IntMatch: TypeAlias = int | AnyValue | Callable[[int], bool]
BytesMatch: TypeAlias = bytes | AnyValue | Callable[[bytes], bool]
OptionsSpec: TypeAlias = Mapping[str, object] | Sequence[TCPOption]

# tcpdump's letters plus "A" for ACK and "C" for CWR, so "SA", "S.", "FA" and "F." all work.
_FLAG_BITS: Final = {"F": FIN, "S": SYN, "R": RST, "P": PSH, "A": ACK, ".": ACK, "U": URG,
                     "E": ECE, "W": CWR, "C": CWR}
_FLAG_ORDER: Final = ((SYN, "S"), (FIN, "F"), (RST, "R"), (PSH, "P"), (ACK, "A"), (URG, "U"),
                      (ECE, "E"), (CWR, "W"))


def parse_flags(text: str) -> int:
    """``"SA"`` -> SYN|ACK. Letters: S F R P A (or .) U E W; ``""`` or ``"none"`` is 0."""
    if text == "none":
        return 0
    bits = 0
    for ch in text.upper():
        if ch not in _FLAG_BITS:
            raise ValueError(f"flags: unknown flag letter {ch!r} in {text!r} (use S F R P A U E W)")
        bits |= _FLAG_BITS[ch]
    return bits


def flag_text(bits: int) -> str:
    return "".join(letter for bit, letter in _FLAG_ORDER if bits & bit) or "none"


def make_options(spec: OptionsSpec) -> tuple[TCPOption, ...]:
    """Options from a sequence of option objects (kept as given) or a mapping, laid out in
    Linux's order: ``{"mss": 1460, "sackOK": True, "ts": (val, ecr), "wscale": 7,
    "sack": [(left, right)]}``."""
    if not isinstance(spec, Mapping):
        return tuple(spec)
    unknown = set(spec) - {"mss", "sackOK", "ts", "wscale", "sack"}
    if unknown:
        raise ValueError(f"options: unknown keys {sorted(unknown)} "
                         "(allowed: mss, sackOK, ts, wscale, sack)")
    out: list[TCPOption] = []
    if spec.get("mss") is not None:
        out.append(MSSOption(_int(spec["mss"])))
    if spec.get("sackOK"):
        out.append(SACK_PERMITTED)
    ts = spec.get("ts")
    if ts is not None:
        val, ecr = _pair(ts)
        out += [NOP, NOP, TimestampOption(val, ecr)]
    if spec.get("wscale") is not None:
        out += [NOP, WindowScaleOption(_int(spec["wscale"]))]
    blocks = spec.get("sack")
    if blocks:
        if not isinstance(blocks, Sequence):
            raise ValueError(f"options: sack must be a list of (left, right), not {blocks!r}")
        out += [NOP, NOP, SackOption(tuple(_pair(b) for b in blocks))]
    return tuple(out)


def _int(value: object) -> int:
    if not isinstance(value, int):
        raise ValueError(f"options: expected an integer, not {value!r}")
    return value


def _pair(value: object) -> tuple[int, int]:
    if not isinstance(value, tuple | list) or len(value) != 2:
        raise ValueError(f"options: expected a pair of integers, not {value!r}")
    return _int(value[0]) & MASK, _int(value[1]) & MASK


def option_value(seg: TCPSegment, key: str) -> object:
    """The value of option `key` in `seg` (None when absent), in make_options' vocabulary."""
    for opt in seg.options:
        if key == "mss" and isinstance(opt, MSSOption):
            return opt.mss
        if key == "wscale" and isinstance(opt, WindowScaleOption):
            return opt.shift
        if key == "sackOK" and isinstance(opt, SackPermittedOption):
            return True
        if key == "ts" and isinstance(opt, TimestampOption):
            return (opt.tsval, opt.tsecr)
        if key == "sack" and isinstance(opt, SackOption):
            return list(opt.blocks)
    return None


def matches(want: object, got: object) -> bool:
    if isinstance(want, AnyValue):
        return True
    if callable(want):
        return bool(want(got))
    if isinstance(want, tuple | list) and isinstance(got, tuple | list):
        return len(want) == len(got) and all(matches(w, g) for w, g in zip(want, got,
                                                                             strict=True))
    return want == got
