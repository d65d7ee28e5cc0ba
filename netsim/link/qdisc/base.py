"""The queue-discipline interface (an assignment seam, like a congestion controller).

A link direction with a rate has a transmitter that sends one frame at a time. A queue
discipline decides which frames wait for it, in what order they leave, and which are dropped
(or ECN-marked) on the way:

- ``enqueue(pkt, now)``: a frame arrives while the transmitter is busy or idle. Keep it, or
  refuse it with ``self.drop(pkt, "queue")`` (a full buffer), or drop another one instead.
- ``dequeue(now)``: the transmitter is free; return the next `Packet` to send, or None when
  nothing waits. An AQM may drop packets here first (``self.drop(p, "aqm")``), or mark one
  (``self.mark(p)``) and send it.
- ``__len__``/``backlog``: packets and bytes waiting (for traces and statistics).

``drop`` and ``mark`` report to the link (its counters, drop hooks and traces) through the
callbacks `bind` installs; a discipline never touches the link itself. ``rng`` is the seeded
random stream of this link direction's discipline (RED draws from it); ``rate_bps`` and
``mtu`` describe the link it sits in front of.

ECN: ``mark(pkt)`` sets Congestion Experienced on an ECN-capable IPv4 packet and returns True,
or returns False for a packet that cannot be marked (not ECT, not IPv4), which the discipline
must then drop (RFC 3168 §5: a router marks CE only where it would otherwise have dropped, and
only ECT packets). Marking is off unless the discipline is built with ``ecn=True``.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from netsim.link.qdisc.ecn import set_ce
from netsim.wire.lazyframe import LazyFrame, as_bytes

__all__ = ["Packet", "QueueDisc"]


class Packet:
    """A frame waiting in a queue discipline: the frame, its size, when it was enqueued, and
    its 0-based index among the frames offered to this link direction."""

    __slots__ = ("enqueued", "frame", "index", "marked", "size")

    def __init__(self, frame: bytes | LazyFrame, size: int, enqueued: float, index: int) -> None:
        self.frame = frame
        self.size = size
        self.enqueued = enqueued
        self.index = index
        self.marked = False  # CE set by a discipline

    def data(self) -> bytes:
        """The frame's bytes (a frame a stack has not built yet is built now)."""
        frame = self.frame
        if isinstance(frame, LazyFrame):
            frame = self.frame = as_bytes(frame)
        return frame

    def __repr__(self) -> str:
        return f"<Packet #{self.index} {self.size} B at {self.enqueued:.6f}>"


DropCallback = Callable[[Packet, str], None]
MarkCallback = Callable[[Packet], None]


class QueueDisc:
    """Base class of the queue disciplines; subclasses implement enqueue/dequeue/__len__.

    Class attribute ``name`` is what ``--qdisc`` and `describe` call it.
    """

    name = "qdisc"

    def __init__(self) -> None:
        self.rng: random.Random = random.Random(0)
        self.rate_bps: float = 0.0
        self.mtu: int = 1500
        self.drops: dict[str, int] = {}
        self.marks = 0
        self._on_drop: DropCallback | None = None
        self._on_mark: MarkCallback | None = None

    # -- set up by the link -----------------------------------------------------------------
    def bind(self, *, rng: random.Random, rate_bps: float, mtu: int,
             on_drop: DropCallback | None = None, on_mark: MarkCallback | None = None) -> None:
        """Called once by the link direction this discipline serves."""
        self.rng = rng
        self.rate_bps = rate_bps
        self.mtu = mtu
        self._on_drop = on_drop
        self._on_mark = on_mark
        self.on_bind()

    def on_bind(self) -> None:
        """Called at the end of `bind`: a subclass may size itself from ``mtu``/``rate_bps``."""

    # -- to implement ------------------------------------------------------------------------
    def enqueue(self, pkt: Packet, now: float) -> None:
        raise NotImplementedError

    def dequeue(self, now: float) -> Packet | None:
        raise NotImplementedError

    def __len__(self) -> int:
        raise NotImplementedError

    @property
    def backlog(self) -> int:
        """Bytes waiting."""
        raise NotImplementedError

    # -- for subclasses ----------------------------------------------------------------------
    def drop(self, pkt: Packet, reason: str) -> None:
        """Report ``pkt`` dropped ("queue": no room; "aqm": the discipline chose to)."""
        self.drops[reason] = self.drops.get(reason, 0) + 1
        if self._on_drop is not None:
            self._on_drop(pkt, reason)

    def mark(self, pkt: Packet) -> bool:
        """Set CE on ``pkt`` if it is ECN-capable (RFC 3168 §5); False if it cannot be
        marked (the caller then drops it)."""
        marked = set_ce(pkt.data())
        if marked is None:
            return False
        pkt.frame = marked
        pkt.marked = True
        self.marks += 1
        if self._on_mark is not None:
            self._on_mark(pkt)
        return True

    def describe(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.describe()}>"
