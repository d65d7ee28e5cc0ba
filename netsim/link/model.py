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
   waiting to be serialized, not the one being serialized. With a queue discipline
   (``LinkConfig.qdisc``, netsim.link.qdisc) the frame goes to it instead, and the transmitter
   takes the next frame from it each time it frees; the discipline may drop ("queue", "aqm")
   or ECN-mark frames on the way;
4. it occupies the transmitter for ``len * 8 / rate_bps`` seconds (even if lost later);
5. the loss model may lose it on the wire: reason "loss";
6. corruption may flip one bit, then jitter, reordering and duplication decide its arrival time(s);
7. it arrives ``delay`` after its last bit left; the far side's rx taps and receiver see it.

Performance (DESIGN.md section 5): no SimPy process per frame. The transmitter is a ``busy_until``
time and a list of the start times of frames still waiting; each delivered copy costs exactly one
event at its absolute arrival time (so equal times keep send order, and frames are never
reordered by floating-point rounding), taken from a `Fifo` of the direction's frames in flight
that keeps only the first on the SimPy heap (netsim.simpy_fast; a frame held back by reordering
is scheduled on its own); a direction with a queue discipline adds one event per frame, the
transmitter freeing. Randomness comes from separate streams per
direction *and* per impairment, so turning on, say, duplication does not change which frames a
seed loses.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Final

import simpy

from netsim.errors import UsageError
from netsim.link.config import LinkConfig
from netsim.link.loss import Bernoulli, LossModel, NoLoss
from netsim.link.qdisc.base import Packet, QueueDisc
from netsim.link.stats import DROP_REASONS, ETH_HEADER, LinkStats, flip_one_bit
from netsim.link.streams import LinkWorld
from netsim.simpy_fast import Call, Fifo, Sink, now_of, post
from netsim.wire.lazyframe import LazyFrame, as_bytes

__all__ = ["DROP_REASONS", "ETH_HEADER", "Endpoint", "Link", "LinkConfig", "LinkStats"]

#: What a loss model with ``reads_frames = False`` is given in place of a frame never built.
_UNREAD: Final = b""

Receiver = Callable[[bytes], None]
LazyReceiver = Callable[[bytes | LazyFrame], None]
Tap = Callable[[float, str, bytes], None]
DropHook = Callable[[float, str, str, bytes], None]
#: ``hook(time, endpoint_name, sojourn, qlen, marked)``: a frame left the queue for the
#: transmitter after ``sojourn`` seconds, ``qlen`` frames still waiting behind it
QueueHook = Callable[[float, str, float, int, bool], None]


class Endpoint(Sink):
    """One side of a link. A host's interface ``attach``-es a receiver and calls ``send``.

    ``stats`` counts the direction *leaving* this endpoint; ``config`` is that direction's config.
    It is the `Sink` of its frames in flight: `take` delivers one to the far side.
    """

    def __init__(self, link: Link, name: str, config: LinkConfig, stream: str) -> None:
        self.link = link
        self.name = name
        self.config = config
        self.stats = LinkStats()
        self.peer: Endpoint = self  # set by Link
        self._env: simpy.Environment = link.world.env
        self._receiver: LazyReceiver | None = None
        self._receiver_sink: Sink | None = None  # the receiver, when it is a Sink
        self._receiver_takes_lazy = False
        self._taps: list[Tap] = []
        self._drop_hooks = link.drop_hooks
        self._queue_hooks = link.queue_hooks
        # frames in flight in arrival order (all but those held back by reordering): one SimPy
        # event at a time, for the first to arrive
        self._arrivals = Fifo(self._env, self)
        self._deliver_cb = self._deliver_call
        self._tx_done_cb = self._tx_done
        self._depart_cb = self._depart

        # The outgoing direction, precomputed for the per-frame path.
        self._max_frame = config.mtu + ETH_HEADER
        self._delay = float(config.delay)
        self._rate = float(config.rate_bps) if config.rate_bps is not None else 0.0
        self._queue_packets = config.queue_packets
        self._queue_bytes = config.queue_bytes
        self._busy_until = 0.0
        # tx start times of frames not yet being sent: entries `_head` onwards (plain lists:
        # compiled, a deque's popleft and append are method calls by name), cut down once
        # most are frames that have started
        self._waiting: list[float] = []
        self._waiting_sizes: list[int] = []  # their sizes, kept only with queue_bytes
        self._head = 0
        self._waiting_bytes = 0
        self._appended = 0  # frames ever put in _waiting (numbers them for queue records)
        self._last_arrival = 0.0
        # A queue discipline (netsim.link.qdisc) replaces the drop-tail queue above; a frame then
        # waits in it until the transmitter, free, takes the next one (`_tx_done`).
        self._qdisc: QueueDisc | None = None
        self._tx_busy = False
        if config.qdisc is not None and self._rate:
            qdisc = config.qdisc()
            if not isinstance(qdisc, QueueDisc):
                raise UsageError(f"LinkConfig.qdisc: {config.qdisc!r} made {qdisc!r}, which is "
                                 "not a QueueDisc (netsim.link.qdisc.base)")
            qdisc.bind(rng=link.world.rng(f"{stream}:qdisc"), rate_bps=self._rate,
                       mtu=config.mtu, on_drop=self._qdisc_drop)
            self._qdisc = qdisc
            self.stats.dropped.setdefault("aqm", 0)  # drops the discipline chose to make

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
        world = link.world
        self._rng_loss = world.rng(f"{stream}:loss")
        self._draw_loss = self._rng_loss.random  # (a Bernoulli model's draw: see _bernoulli)
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

    @property
    def qdisc(self) -> QueueDisc | None:
        """The queue discipline of this direction (None: the built-in drop-tail)."""
        return self._qdisc

    @property
    def queue_length(self) -> int:
        """Frames waiting to be serialized now (not counting the one being serialized)."""
        if self._qdisc is not None:
            return len(self._qdisc)
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
        # (a LazyFrame's length as its field: len() would call its __len__)
        size = frame.length if isinstance(frame, LazyFrame) else len(frame)
        stats.bytes_offered += size
        if size > self._max_frame:
            self._drop(now, "mtu", frame)
            return

        rate = self._rate
        if rate:
            if self._qdisc is not None:
                self._qdisc_send(frame, index, now, size)
                return
            start = self._busy_until
            if start > now:
                # Transmitter busy: the frame must wait. Forget frames that have started since.
                waiting = self._waiting
                sizes = self._waiting_sizes
                head = self._head
                total = len(waiting)
                if head < total and waiting[head] <= now:
                    while head < total and waiting[head] <= now:
                        if self._queue_bytes is not None:
                            self._waiting_bytes -= sizes[head]
                        head += 1
                    if head >= 64 and head + head >= total:
                        del waiting[:head]
                        if self._queue_bytes is not None:
                            del sizes[:head]
                        total -= head
                        head = 0
                    self._head = head
                n = total - head
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
                if self._queue_hooks:
                    self._record_departure(start, now)
            else:
                start = now
                if self._queue_hooks:
                    self._record_departure(now, now)
            end = start + size * 8 / rate
            self._busy_until = end
            arrival = end + self._delay
        else:
            arrival = now + self._delay

        if self._impaired:
            self._impaired_send(frame, index, now, arrival)
            return
        # Without jitter/reordering arrival times never decrease, so FIFO holds by construction.
        self._arrivals.push(arrival, frame)

    # -- internals ------------------------------------------------------------------------------

    def _record_departure(self, start: float, now: float) -> None:
        """Drop-tail path with queue hooks: report the frame accepted now when it starts."""
        number = self._appended
        self._appended = number + 1
        if start <= now:
            self._depart_now(now, 0.0, number)
            return
        env = self._env
        post(env, start, self._depart_cb, (now, number))

    def _depart(self, call: Call) -> None:
        enqueued, number = call.value
        now = now_of(self._env)
        self._depart_now(now, now - enqueued, number)

    def _depart_now(self, now: float, sojourn: float, number: int) -> None:
        # FIFO: the frames accepted after this one are exactly those still waiting
        qlen = self._appended - number - 1
        for hook in self._queue_hooks:
            hook(now, self.name, sojourn, qlen, False)

    def _qdisc_send(self, frame: bytes | LazyFrame, index: int, now: float, size: int) -> None:
        qdisc = self._qdisc
        assert qdisc is not None
        qdisc.enqueue(Packet(frame, size, now, index), now)
        n = len(qdisc)
        if n > self.stats.queue_peak:
            self.stats.queue_peak = n
        if not self._tx_busy:
            self._transmit_next(now)

    def _transmit_next(self, now: float) -> None:
        """The transmitter is free: send the frame the discipline gives, if any."""
        qdisc = self._qdisc
        assert qdisc is not None
        pkt = qdisc.dequeue(now)
        if pkt is None:
            self._tx_busy = False
            return
        self._tx_busy = True
        end = now + pkt.size * 8 / self._rate
        self._busy_until = end
        if self._queue_hooks:
            for hook in self._queue_hooks:
                hook(now, self.name, now - pkt.enqueued, len(qdisc), pkt.marked)
        env = self._env
        post(env, end, self._tx_done_cb)
        arrival = end + self._delay
        if self._impaired:
            self._impaired_send(pkt.frame, pkt.index, now, arrival)
        else:
            self._arrivals.push(arrival, pkt.frame)

    def _tx_done(self, _call: Call) -> None:
        self._transmit_next(now_of(self._env))

    def _qdisc_drop(self, pkt: Packet, reason: str) -> None:
        self._drop(now_of(self._env), reason, pkt.frame)

    def _impaired_send(self, frame: bytes | LazyFrame, index: int, now: float,
                       arrival: float) -> None:
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


_DEFAULT_CONFIG = LinkConfig()


class Link:
    """A full-duplex point-to-point link between endpoints ``a`` and ``b``.

    ``a_to_b`` configures frames sent at ``a``; ``b_to_a`` (default: the same) those sent at ``b``.
    Each direction has its own queue, loss-model copy and random streams, derived from the world
    seed and the link's name (made unique within the world: a second "link" becomes "link-2").
    ``drop_hooks`` are called as ``hook(time, endpoint_name, reason, frame)`` for every drop, where
    ``endpoint_name`` is the sending endpoint. ``queue_hooks`` are called as
    ``hook(time, endpoint_name, sojourn, qlen, marked)`` for every frame that leaves a queue
    for its transmitter (none are called, and nothing is computed, while the list is empty).
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
        self.queue_hooks: list[QueueHook] = []
        self.a = Endpoint(self, f"{self.name}.a", a_to_b, f"link:{self.name}:a>b")
        back = a_to_b if b_to_a is None else b_to_a
        self.b = Endpoint(self, f"{self.name}.b", back, f"link:{self.name}:b>a")
        self.a.peer = self.b
        self.b.peer = self.a

    def __repr__(self) -> str:
        return f"<Link {self.name}>"
