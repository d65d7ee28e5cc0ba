"""What a link direction counts (`LinkStats`), its drop reasons, and the bit flip of the
corruption impairment: the small pieces of netsim.link.model that are not the per-frame path.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, Final

__all__ = ["DROP_REASONS", "ETH_HEADER", "LinkStats", "flip_one_bit"]

#: Ethernet II header length (RFC 894): a frame may be ``mtu + ETH_HEADER`` bytes long.
ETH_HEADER: Final = 14
#: Reasons a direction drops a frame. "unattached": it arrived where no receiver was attached.
#: A direction with a queue discipline also counts "aqm": the drops the discipline chose.
DROP_REASONS: tuple[str, ...] = ("loss", "queue", "mtu", "unattached")


@dataclass(slots=True)
class LinkStats:
    """Counters of one direction (the one leaving an endpoint).

    Once every frame in flight has landed:
    ``offered == delivered - duplicated + sum(dropped.values())``.
    """

    offered: int = 0
    delivered: int = 0  # copies handed to the far side (a duplicated frame counts twice)
    bytes: int = 0  # bytes delivered
    bytes_offered: int = 0
    corrupted: int = 0
    duplicated: int = 0
    reordered: int = 0  # frames held back so that later frames may overtake them
    queue_peak: int = 0  # most frames ever waiting in the queue
    dropped: dict[str, int] = field(default_factory=lambda: dict.fromkeys(DROP_REASONS, 0))

    @property
    def dropped_total(self) -> int:
        return sum(self.dropped.values())

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready copy."""
        return {
            "offered": self.offered,
            "delivered": self.delivered,
            "bytes": self.bytes,
            "bytes_offered": self.bytes_offered,
            "dropped": dict(self.dropped),
            "corrupted": self.corrupted,
            "duplicated": self.duplicated,
            "reordered": self.reordered,
            "queue_peak": self.queue_peak,
        }


def flip_one_bit(frame: bytes, rng: random.Random) -> bytes:
    """Flip one uniformly chosen bit after the Ethernet header (anywhere if the frame is short)."""
    first = ETH_HEADER if len(frame) > ETH_HEADER else 0
    bit = rng.randrange(first * 8, len(frame) * 8)
    out = bytearray(frame)
    out[bit >> 3] ^= 0x80 >> (bit & 7)
    return bytes(out)
