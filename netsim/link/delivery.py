"""The delivering side of a link direction (`netsim.link.model`): the wire and the port it ends at.

`Delivery` is the part of an `Endpoint` that a frame reaches once its transmitter has sent it
(steps 5 to 7 of netsim.link.model's list): the loss model, corruption, jitter, reordering and
duplication of the wire, the direction's frames in flight, and their delivery to the far side's
taps and receiver. It also holds what this side's own port is delivered to (``attach``,
``attach_lazy``, ``add_tap``), since the far side's delivery reads it. `Endpoint` adds the
transmitter in front: the queue, its discipline and the serialization at ``rate_bps``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Final

import simpy

from netsim.link.config import LinkConfig
from netsim.link.loss import Bernoulli, LossModel, NoLoss
from netsim.link.stats import LinkStats, flip_one_bit
from netsim.link.streams import LinkWorld
from netsim.simpy_fast import Call, Fifo, Sink, now_of, post
from netsim.wire.lazyframe import LazyFrame, as_bytes

__all__ = ["Delivery", "DropHook", "LazyReceiver", "Receiver", "Tap"]

#: What a loss model with ``reads_frames = False`` is given in place of a frame never built.
_UNREAD: Final = b""

Receiver = Callable[[bytes], None]
LazyReceiver = Callable[[bytes | LazyFrame], None]
Tap = Callable[[float, str, bytes], None]
DropHook = Callable[[float, str, str, bytes], None]


class Delivery(Sink):
    """The wire leaving one side of a link, and that side's receiver (see the module doc).

    ``stats`` counts the direction *leaving* this side; ``config`` is that direction's config.
    It is the `Sink` of its frames in flight: `take` delivers one to the far side (``peer``).
    """

    def __init__(self, world: LinkWorld, name: str, config: LinkConfig, stream: str,
                 drop_hooks: list[DropHook]) -> None:
        self.name = name
        self.config = config
        self.stats = LinkStats()
        self.peer: Delivery = self  # set by Link
        self._env: simpy.Environment = world.env
        self._receiver: LazyReceiver | None = None
        self._receiver_sink: Sink | None = None  # the receiver, when it is a Sink
        self._receiver_takes_lazy = False
        self._taps: list[Tap] = []
        self._drop_hooks = drop_hooks
        # frames in flight in arrival order (all but those held back by reordering): one SimPy
        # event at a time, for the first to arrive
        self._arrivals = Fifo(self._env, self)
        self._deliver_cb = self._deliver_call
        self._last_arrival = 0.0

        loss = config.loss
        # Each direction owns its copy, so stateful models do not share state across directions.
        self.loss: LossModel | None = (
            None if loss is None or isinstance(loss, NoLoss) else copy.deepcopy(loss)
        )
        # a model may say it never looks at the frame (netsim.link.loss): it is then not built
        self._loss_reads_frames = bool(getattr(self.loss, "reads_frames", True))
        # A `Bernoulli` model (exactly that class, not a subclass) is not called per frame: its
        # draw, ``rng.random() < p`` on this direction's loss stream, is made here, reading `p`
        # each time. Compared by identity, so a model put in `loss` later is called as usual.
        model = self.loss
        self._bernoulli: Bernoulli | None = model if type(model) is Bernoulli else None
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
        # the Bernoulli model when it is the wire's only impairment: `Endpoint.send` then makes
        # the draw itself (what `_impaired_send` would do, the rest of it being nothing to do)
        self._loss_only: Bernoulli | None = self._bernoulli if not (
            self._jitter or self._reorder or self._duplicate or self._corrupt) else None
        self._rng_loss = world.rng(f"{stream}:loss")
        self._draw_loss = self._rng_loss.random  # (a Bernoulli model's draw: see _bernoulli)
        self._rng_jitter = world.rng(f"{stream}:jitter")
        self._rng_reorder = world.rng(f"{stream}:reorder")
        self._rng_duplicate = world.rng(f"{stream}:duplicate")
        self._rng_corrupt = world.rng(f"{stream}:corrupt")

    # -- the port's receiving interface ---------------------------------------------------------

    def attach(self, receiver: Receiver) -> None:
        """Deliver every frame arriving at this side to ``receiver(frame)`` as bytes (replaces
        any other receiver)."""
        self._receiver = receiver  # type: ignore[assignment]  # given bytes only: take
        self._receiver_sink = receiver if isinstance(receiver, Sink) else None
        self._receiver_takes_lazy = False

    def attach_lazy(self, receiver: LazyReceiver) -> None:
        """As `attach`, for a receiver that takes `LazyFrame` objects as they are (a stack)."""
        self._receiver = receiver
        self._receiver_sink = receiver if isinstance(receiver, Sink) else None
        self._receiver_takes_lazy = True

    def add_tap(self, tap: Tap) -> None:
        """Call ``tap(time, "tx", frame)`` on each send here, ``tap(time, "rx", frame)`` on each
        frame delivered here (before the receiver sees it)."""
        self._taps.append(tap)

    # -- the wire -------------------------------------------------------------------------------

    def _impaired_send(self, frame: bytes | LazyFrame, index: int, now: float,
                       arrival: float) -> None:
        """A frame the transmitter sent, due at ``arrival`` unless the wire's impairments say
        otherwise (the link's ``index``-th frame offered, at ``now``)."""
        stats = self.stats
        loss = self.loss
        bernoulli = self._bernoulli
        if bernoulli is not None and loss is bernoulli:
            if self._draw_loss() < bernoulli.p:  # (Bernoulli.drop, without the call)
                self._drop(now, "loss", frame)
                return
        elif loss is not None:
            if isinstance(frame, LazyFrame):
                seen = frame.raw() if self._loss_reads_frames else _UNREAD
            else:
                seen = frame
            if loss.drop(seen, index, self._rng_loss):
                self._drop(now, "loss", frame)
                return
        if self._corrupt and len(frame) and self._rng_corrupt.random() < self._corrupt:
            # what arrives is bytes: parsed, and its checksums checked, by the receiver
            frame = flip_one_bit(as_bytes(frame), self._rng_corrupt)
            stats.corrupted += 1
        if self._jitter:
            arrival += self._rng_jitter.random() * self._jitter
        # (a bool, not the float `_reorder` when it is 0: compiled, no float object per frame)
        held = bool(self._reorder) and self._rng_reorder.random() < self._reorder
        if held:
            # Held back; it does not move the FIFO floor, so later frames may overtake it.
            arrival += self._reorder_delay
            stats.reordered += 1
            post(self._env, arrival, self._deliver_cb, frame)
        else:
            if arrival < self._last_arrival:
                arrival = self._last_arrival  # jitter alone never reorders
            else:
                self._last_arrival = arrival
            self._arrivals.push(arrival, frame)
        if self._duplicate and self._rng_duplicate.random() < self._duplicate:
            stats.duplicated += 1
            if held:
                post(self._env, arrival, self._deliver_cb, frame)
            else:
                self._arrivals.push(arrival, frame)

    def _deliver_call(self, call: Call) -> None:
        self.take(call.value)

    def take(self, frame: bytes | LazyFrame) -> None:
        """Deliver `frame` (its time has come) to the far side."""
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
        if isinstance(frame, LazyFrame):
            stats.bytes += frame.length
            if not peer._receiver_takes_lazy:
                frame = frame.raw()
        else:
            stats.bytes += len(frame)
        sink = peer._receiver_sink
        if sink is not None:
            sink.take(frame)
        else:
            receiver(frame)

    def _drop(self, now: float, reason: str, frame: bytes | LazyFrame) -> None:
        self.stats.dropped[reason] += 1
        if self._drop_hooks:
            data = as_bytes(frame)
            for hook in self._drop_hooks:
                hook(now, self.name, reason, data)
