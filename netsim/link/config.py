"""`LinkConfig`: how one direction of a simulated link behaves, validated on construction.

Kept apart from `netsim.link.model` (which re-exports it) so that it stays interpreted in the
compiled build (scripts/compile.py): a bad value must give a `UsageError` naming the field,
not the compiled code's generic TypeError.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from netsim.errors import UsageError
from netsim.link.loss import LossModel, NoLoss
from netsim.units import format_rate, format_size, format_time

if TYPE_CHECKING:
    from netsim.link.qdisc.base import QueueDisc

__all__ = ["LinkConfig"]


def _number(value: object, name: str, *, what: str, allow_zero: bool = True) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value < 0
        or (value == 0 and not allow_zero)
    ):
        bound = ">= 0" if allow_zero else "> 0"
        raise UsageError(f"LinkConfig.{name}: {value!r} is not {what}; use a number {bound}")
    return float(value)


def _count(value: object, name: str, *, least: int, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise UsageError(f"LinkConfig.{name}: {value!r} is not {what}; use an integer >= {least}")


@dataclass(frozen=True)
class LinkConfig:
    """The behaviour of ONE direction of a link. Validated on construction.

    ``corrupt`` flips one uniformly chosen bit *after* the 14-byte Ethernet header (anywhere in a
    frame of 14 bytes or fewer): the frame still reaches its port and carries a wrong bit in its
    IPv4 header or payload, so the receiver's IPv4/ICMP/UDP/TCP checksums must catch it. (The
    Ethernet FCS is not modelled: think of it as corruption the NIC did not catch.)

    ``qdisc`` (None: drop-tail with ``queue_packets``/``queue_bytes``) is a factory of the
    queue discipline in front of the transmitter: a class such as ``Codel``, a ``QdiscSpec``
    from ``parse_qdisc("codel target 5ms")`` (netsim.link.qdisc), or any callable returning
    a ``QueueDisc``. Each direction calls it once for a discipline of its own. The discipline
    has its own limit; ``queue_packets``/``queue_bytes`` then do not apply. A link without a
    rate never queues, so it ignores ``qdisc``.
    """

    delay: float = 0.0
    jitter: float = 0.0
    rate_bps: float | None = None
    queue_packets: int | None = 1000
    queue_bytes: int | None = None
    mtu: int = 1500
    loss: LossModel | None = None
    reorder: float = 0.0
    reorder_delay: float | None = None
    duplicate: float = 0.0
    corrupt: float = 0.0
    qdisc: Callable[[], QueueDisc] | None = None

    def __post_init__(self) -> None:
        _number(self.delay, "delay", what="a delay in seconds")
        _number(self.jitter, "jitter", what="a jitter in seconds")
        if self.rate_bps is not None:
            _number(self.rate_bps, "rate_bps", what="a rate in bits/s", allow_zero=False)
        if self.queue_packets is not None:
            _count(self.queue_packets, "queue_packets", least=0, what="a queue length")
        if self.queue_bytes is not None:
            _count(self.queue_bytes, "queue_bytes", least=0, what="a queue size in bytes")
        # RFC 791: every internet module must be able to forward a datagram of 68 octets.
        _count(self.mtu, "mtu", least=68, what="an MTU")
        if self.mtu > 65535:
            raise UsageError(f"LinkConfig.mtu: {self.mtu!r} is not an MTU; use 68 to 65535")
        if self.loss is not None and not callable(getattr(self.loss, "drop", None)):
            raise UsageError(
                f"LinkConfig.loss: {self.loss!r} is not a loss model; "
                "use an object with drop(frame, index, rng) such as Bernoulli(0.01)"
            )
        for name in ("reorder", "duplicate", "corrupt"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not (
                0.0 <= value <= 1.0
            ):
                raise UsageError(
                    f"LinkConfig.{name}: {value!r} is not a probability; use a number in [0, 1]"
                )
        if self.reorder_delay is not None:
            _number(self.reorder_delay, "reorder_delay", what="a delay in seconds")
        if self.qdisc is not None and not callable(self.qdisc):
            raise UsageError(
                f"LinkConfig.qdisc: {self.qdisc!r} is not a queue discipline factory; use a "
                "QueueDisc class such as Codel, or parse_qdisc('codel target 5ms')"
            )

    @property
    def effective_reorder_delay(self) -> float:
        """How long a reordered frame is held back: ``reorder_delay`` or max(delay, 1 ms)."""
        if self.reorder_delay is not None:
            return float(self.reorder_delay)
        return max(float(self.delay), 1e-3)

    def describe(self, mtu: bool = True) -> str:
        """One line for people: "delay 10 ms, rate 100 Mbit/s, queue 1000 pkts, mtu 1500"
        (without the MTU if `mtu` is False)."""
        parts = [f"delay {format_time(self.delay)}"]
        if self.jitter:
            parts.append(f"jitter {format_time(self.jitter)}")
        parts.append(f"rate {format_rate(self.rate_bps)}")
        queue = []
        if self.qdisc is not None:
            describe = getattr(self.qdisc, "describe", None)
            queue.append(describe() if callable(describe) and not isinstance(self.qdisc, type)
                         else str(getattr(self.qdisc, "name", None)
                                  or getattr(self.qdisc, "__name__", "qdisc")))
        elif self.queue_packets is not None:
            queue.append(f"{self.queue_packets} pkts")
        if self.queue_bytes is not None and self.qdisc is None:
            queue.append(format_size(self.queue_bytes))
        parts.append(f"queue {' / '.join(queue) or 'unlimited'}")
        if mtu:
            parts.append(f"mtu {self.mtu}")
        if self.loss is not None and not isinstance(self.loss, NoLoss):
            parts.append(f"loss {self.loss!r}")
        for name in ("reorder", "duplicate", "corrupt"):
            value = getattr(self, name)
            if value:
                parts.append(f"{name} {value:g}")
        return ", ".join(parts)
