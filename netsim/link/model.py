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

`Endpoint` here is the transmitter (steps 1 to 4); the wire and the delivery after it (5 to 7)
are its base class `Delivery`, netsim.link.delivery.

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

from collections.abc import Callable

from netsim.errors import UsageError
from netsim.link.config import LinkConfig
from netsim.link.delivery import Delivery, DropHook, LazyReceiver, Receiver, Tap
from netsim.link.qdisc.base import Packet, QueueDisc
from netsim.link.stats import DROP_REASONS, ETH_HEADER, LinkStats
from netsim.link.streams import LinkWorld
from netsim.simpy_fast import Call, now_of, post
from netsim.wire.lazyframe import LazyFrame, as_bytes

__all__ = ["DROP_REASONS", "ETH_HEADER", "DropHook", "Endpoint", "LazyReceiver", "Link",
           "LinkConfig", "LinkStats", "QueueHook", "Receiver", "Tap"]

#: ``hook(time, endpoint_name, sojourn, qlen, marked)``: a frame left the queue for the
#: transmitter after ``sojourn`` seconds, ``qlen`` frames still waiting behind it
QueueHook = Callable[[float, str, float, int, bool], None]


class Endpoint(Delivery):
    """One side of a link. A host's interface ``attach``-es a receiver and calls ``send``.

    ``stats`` counts the direction *leaving* this endpoint; ``config`` is that direction's config.
    This class is the transmitter of that direction (steps 1 to 4 of the module doc); the wire
    after it and the delivery at the far side are `Delivery`'s (netsim.link.delivery).
    """

    def __init__(self, link: Link, name: str, config: LinkConfig, stream: str) -> None:
        super().__init__(link.world, name, config, stream, link.drop_hooks)
        self.link = link
        self._queue_hooks = link.queue_hooks
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

    def __repr__(self) -> str:
        return f"<Endpoint {self.name}>"

    # -- the port's interface -------------------------------------------------------------------

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
            only = self._loss_only
            if only is None or self.loss is not only:
                self._impaired_send(frame, index, now, arrival)
                return
            # a Bernoulli loss, the wire's only impairment: `_impaired_send` would draw and
            # then, but for a drop, push the frame as below
            if self._draw_loss() < only.p:  # (Bernoulli.drop, without the call)
                self._drop(now, "loss", frame)
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
            raise UsageError(f"a_to_b: {a_to_b!r:.60} is not a LinkConfig; use e.g. "
                             "LinkConfig(delay=0.01)")
        if b_to_a is not None and not isinstance(b_to_a, LinkConfig):
            raise UsageError(f"b_to_a: {b_to_a!r:.60} is not a LinkConfig (or None: as a_to_b)")
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
