"""A point-to-point link carrying Ethernet frames between two ports.

Each direction is a drop-tail queue in front of a transmitter of ``rate_bps`` followed by a wire of
``delay`` seconds that may lose, corrupt, jitter, reorder and duplicate frames. The link never
parses a frame; ``len(frame)`` is its size on the wire (no preamble, FCS or inter-frame gap).

Frames are ``bytes``, or `LazyFrame` objects from a stack (a TCP frame whose bytes nobody has
built yet, netsim.wire.lazyframe). A receiver attached with ``attach_lazy`` gets those as they
are; everything else — a receiver attached with ``attach``, taps, drop hooks, a loss model
that reads frames, corruption — sees the frame's bytes, built at that moment.

What happens to a frame given to ``Endpoint.send`` (in this order):

1. tx taps see it; it is counted as offered (its 0-based ``index`` is the count before it);
2. longer than ``mtu + 14`` bytes (Ethernet header): dropped, reason "mtu";
3. transmitter busy and the queue full: dropped, reason "queue" (drop-tail). The queue holds frames
   waiting to be serialized, not the one being serialized;
4. it occupies the transmitter for ``len * 8 / rate_bps`` seconds (even if lost later);
5. the loss model may lose it on the wire: reason "loss";
6. corruption may flip one bit, then jitter, reordering and duplication decide its arrival time(s);
7. it arrives ``delay`` after its last bit left; the far side's rx taps and receiver see it.

Performance (DESIGN.md section 5): no SimPy process per frame. The transmitter is a ``busy_until``
time and a deque of the start times of frames still waiting; each copy is delivered at its absolute
arrival time (so equal times keep send order, and frames are never reordered by floating-point
rounding), in order through one `Conveyor` per direction (one reused SimPy event for all the frames
in flight), or by an event of its own when reordering lets frames overtake. Randomness comes from
separate streams per direction *and* per impairment, so turning on, say, duplication does not
change which frames a seed loses.
"""

from __future__ import annotations

import copy
import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

import simpy
from simpy.events import Event

from netsim.errors import UsageError
from netsim.link.config import LinkConfig
from netsim.link.loss import LossModel, NoLoss
from netsim.link.streams import LinkWorld
from netsim.simpy_fast import Conveyor, Triggered, now_of, schedule, value_of
from netsim.wire.lazyframe import LazyFrame, as_bytes

__all__ = ["DROP_REASONS", "Endpoint", "Link", "LinkConfig", "LinkStats"]

#: Ethernet II header length (RFC 894): a frame may be ``mtu + ETH_HEADER`` bytes long.
ETH_HEADER: Final = 14
#: Reasons a direction drops a frame. "unattached": it arrived where no receiver was attached.
DROP_REASONS: tuple[str, ...] = ("loss", "queue", "mtu", "unattached")
#: What a loss model with ``reads_frames = False`` is given in place of a frame never built.
_UNREAD: Final = b""

Receiver = Callable[[bytes], None]
LazyReceiver = Callable[[bytes | LazyFrame], None]
Tap = Callable[[float, str, bytes], None]
DropHook = Callable[[float, str, str, bytes], None]


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


def _flip_one_bit(frame: bytes, rng: random.Random) -> bytes:
    """Flip one uniformly chosen bit after the Ethernet header (anywhere if the frame is short)."""
    first = ETH_HEADER if len(frame) > ETH_HEADER else 0
    bit = rng.randrange(first * 8, len(frame) * 8)
    out = bytearray(frame)
    out[bit >> 3] ^= 0x80 >> (bit & 7)
    return bytes(out)


class Endpoint:
    """One side of a link. A host's interface ``attach``-es a receiver and calls ``send``.

    ``stats`` counts the direction *leaving* this endpoint; ``config`` is that direction's config.
    """

    def __init__(self, link: Link, name: str, config: LinkConfig, stream: str) -> None:
        self.link = link
        self.name = name
        self.config = config
        self.stats = LinkStats()
        self.peer: Endpoint = self  # set by Link
        self._env: simpy.Environment = link.world.env
        self._receiver: LazyReceiver | None = None
        self._receiver_takes_lazy = False
        self._taps: list[Tap] = []
        self._drop_hooks = link.drop_hooks
        # Frames arrive in the order they were sent unless reordering lets them overtake:
        # then each has its own event, else they ride one Conveyor (netsim.simpy_fast)
        self._conveyor = Conveyor(self._env, self._deliver)
        self._deliver_event_cb = self._deliver_event

        # The outgoing direction, precomputed for the per-frame path.
        self._max_frame = config.mtu + ETH_HEADER
        self._delay = float(config.delay)
        self._rate = float(config.rate_bps) if config.rate_bps is not None else 0.0
        self._queue_packets = config.queue_packets
        self._queue_bytes = config.queue_bytes
        self._busy_until = 0.0
        self._waiting: deque[float] = deque()  # tx start times of frames not yet being sent
        self._waiting_sizes: deque[int] = deque()  # their sizes, kept only with queue_bytes
        self._waiting_bytes = 0
        self._last_arrival = 0.0

        loss = config.loss
        # Each direction owns its copy, so stateful models do not share state across directions.
        self.loss: LossModel | None = (
            None if loss is None or isinstance(loss, NoLoss) else copy.deepcopy(loss)
        )
        # a model may say it never looks at the frame (netsim.link.loss): it is then not built
        self._loss_reads_frames = bool(getattr(self.loss, "reads_frames", True))
        self._jitter = float(config.jitter)
        self._reorder = float(config.reorder)
        self._reorder_delay = config.effective_reorder_delay
        self._duplicate = float(config.duplicate)
        self._corrupt = float(config.corrupt)
        self._impaired = bool(
            self.loss is not None
            or self._jitter
            or self._reorder
            or self._duplicate
            or self._corrupt
        )
        world = link.world
        self._rng_loss = world.rng(f"{stream}:loss")
        self._rng_jitter = world.rng(f"{stream}:jitter")
        self._rng_reorder = world.rng(f"{stream}:reorder")
        self._rng_duplicate = world.rng(f"{stream}:duplicate")
        self._rng_corrupt = world.rng(f"{stream}:corrupt")

    def __repr__(self) -> str:
        return f"<Endpoint {self.name}>"

    # -- the port's interface -------------------------------------------------------------------

    def attach(self, receiver: Receiver) -> None:
        """Deliver every frame arriving at this side to ``receiver(frame)`` as bytes (replaces
        any other receiver)."""
        self._receiver = receiver  # type: ignore[assignment]  # given bytes only: _deliver
        self._receiver_takes_lazy = False

    def attach_lazy(self, receiver: LazyReceiver) -> None:
        """As `attach`, for a receiver that takes `LazyFrame` objects as they are (a stack)."""
        self._receiver = receiver
        self._receiver_takes_lazy = True

    def add_tap(self, tap: Tap) -> None:
        """Call ``tap(time, "tx", frame)`` on each send here, ``tap(time, "rx", frame)`` on each
        frame delivered here (before the receiver sees it)."""
        self._taps.append(tap)

    @property
    def queue_length(self) -> int:
        """Frames waiting to be serialized now (not counting the one being serialized)."""
        now = now_of(self._env)
        waiting = self._waiting
        return sum(1 for start in waiting if start > now)

    @property
    def busy_until(self) -> float:
        """When the transmitter of this direction will have sent everything it has accepted."""
        return self._busy_until

    def send(self, frame: bytes | LazyFrame) -> None:
        """Transmit ``frame`` towards the other side. Never blocks; may drop (see module doc)."""
        env = self._env
        now: float = now_of(env)
        if self._taps:
            data = as_bytes(frame)
            for tap in self._taps:
                tap(now, "tx", data)
        stats = self.stats
        index = stats.offered
        stats.offered = index + 1
        size = len(frame)
        stats.bytes_offered += size
        if size > self._max_frame:
            self._drop(now, "mtu", frame)
            return

        rate = self._rate
        if rate:
            start = self._busy_until
            if start > now:
                # Transmitter busy: the frame must wait. Forget frames that have started since.
                waiting = self._waiting
                sizes = self._waiting_sizes
                while waiting and waiting[0] <= now:
                    waiting.popleft()
                    if self._queue_bytes is not None:
                        self._waiting_bytes -= sizes.popleft()
                n = len(waiting)
                limit = self._queue_packets
                if limit is not None and n >= limit:
                    self._drop(now, "queue", frame)
                    return
                if self._queue_bytes is not None:
                    if self._waiting_bytes + size > self._queue_bytes:
                        self._drop(now, "queue", frame)
                        return
                    sizes.append(size)
                    self._waiting_bytes += size
                waiting.append(start)
                if n >= stats.queue_peak:
                    stats.queue_peak = n + 1
            else:
                start = now
            end = start + size * 8 / rate
            self._busy_until = end
            arrival = end + self._delay
        else:
            arrival = now + self._delay

        if self._impaired:
            self._impaired_send(frame, index, now, arrival)
            return
        # Without jitter/reordering arrival times never decrease, so FIFO holds by construction.
        self._conveyor.put(arrival, frame)

    # -- internals ------------------------------------------------------------------------------

    def _impaired_send(self, frame: bytes | LazyFrame, index: int, now: float,
                       arrival: float) -> None:
        stats = self.stats
        loss = self.loss
        if loss is not None:
            if isinstance(frame, LazyFrame):
                seen = frame.raw() if self._loss_reads_frames else _UNREAD
            else:
                seen = frame
            if loss.drop(seen, index, self._rng_loss):
                self._drop(now, "loss", frame)
                return
        if self._corrupt and len(frame) and self._rng_corrupt.random() < self._corrupt:
            # what arrives is bytes: parsed, and its checksums checked, by the receiver
            frame = _flip_one_bit(as_bytes(frame), self._rng_corrupt)
            stats.corrupted += 1
        if self._jitter:
            arrival += self._rng_jitter.random() * self._jitter
        if self._reorder and self._rng_reorder.random() < self._reorder:
            # Held back; it does not move the FIFO floor, so later frames may overtake it.
            arrival += self._reorder_delay
            stats.reordered += 1
        elif arrival < self._last_arrival:
            arrival = self._last_arrival  # jitter alone never reorders
        else:
            self._last_arrival = arrival
        copies = 1
        if self._duplicate and self._rng_duplicate.random() < self._duplicate:
            stats.duplicated += 1
            copies = 2
        for _ in range(copies):
            if self._reorder:
                env = self._env
                schedule(env, arrival, Triggered(env, self._deliver_event_cb, frame))
            else:
                self._conveyor.put(arrival, frame)  # jitter alone keeps the order (above)

    def _deliver_event(self, event: Event) -> None:
        self._deliver(value_of(event))

    def _deliver(self, frame: bytes | LazyFrame) -> None:
        peer = self.peer
        if peer._taps:
            now = now_of(self._env)
            data = as_bytes(frame)
            for tap in peer._taps:
                tap(now, "rx", data)
        receiver = peer._receiver
        if receiver is None:
            self._drop(now_of(self._env), "unattached", frame)
            return
        stats = self.stats
        stats.delivered += 1
        stats.bytes += len(frame)
        if not peer._receiver_takes_lazy and isinstance(frame, LazyFrame):
            frame = frame.raw()
        receiver(frame)

    def _drop(self, now: float, reason: str, frame: bytes | LazyFrame) -> None:
        self.stats.dropped[reason] += 1
        if self._drop_hooks:
            data = as_bytes(frame)
            for hook in self._drop_hooks:
                hook(now, self.name, reason, data)


_DEFAULT_CONFIG = LinkConfig()


class Link:
    """A full-duplex point-to-point link between endpoints ``a`` and ``b``.

    ``a_to_b`` configures frames sent at ``a``; ``b_to_a`` (default: the same) those sent at ``b``.
    Each direction has its own queue, loss-model copy and random streams, derived from the world
    seed and the link's name (made unique within the world: a second "link" becomes "link-2").
    ``drop_hooks`` are called as ``hook(time, endpoint_name, reason, frame)`` for every drop, where
    ``endpoint_name`` is the sending endpoint.
    """

    def __init__(
        self,
        world: LinkWorld,
        a_to_b: LinkConfig = _DEFAULT_CONFIG,
        b_to_a: LinkConfig | None = None,
        *,
        name: str = "link",
    ) -> None:
        if not isinstance(a_to_b, LinkConfig):
            raise UsageError(f"Link a_to_b: {a_to_b!r} is not a LinkConfig")
        if b_to_a is not None and not isinstance(b_to_a, LinkConfig):
            raise UsageError(f"Link b_to_a: {b_to_a!r} is not a LinkConfig")
        self.world = world
        self.name = world.unique_name(name)
        self.drop_hooks: list[DropHook] = []
        self.a = Endpoint(self, f"{self.name}.a", a_to_b, f"link:{self.name}:a>b")
        back = a_to_b if b_to_a is None else b_to_a
        self.b = Endpoint(self, f"{self.name}.b", back, f"link:{self.name}:b>a")
        self.a.peer = self.b
        self.b.peer = self.a

    def __repr__(self) -> str:
        return f"<Link {self.name}>"
