"""Bulk transfer: a sender of N deterministic pseudo-random bytes and a sink that checks them.

Both are SimPy processes over `netsim.sockets` (they never import netsim.sim or netsim.live), so
the same code runs in a simulated world and live on a TAP:

    sink = env.process(bulk_sink(h2, 5001))
    sender = env.process(bulk_sender(h1, "10.0.0.2", 5001, 10_000_000, seed=7))
    ...
    assert sender.value.sha256 == sink.value.sha256

The byte stream depends only on the seed (see `PseudoRandomBytes`), never on how it is chunked,
so `expected_sha256(nbytes, seed)` tells a receiver elsewhere what it should have got.

A sink given the sender's seed (``bulk_sink(..., seed=7)``) makes the same stream and compares
each read with it (``==`` on bytes, far cheaper than SHA-256), recording where the first byte
differs. Both results' ``sha256`` keep their meaning, the SHA-256 of the bytes sent or received,
but while the bytes are the seed's stream the digest is `expected_sha256`, worked out when
``sha256`` is first read (see `Sha256Field`), once for both ends, not during the run.
"""

from __future__ import annotations

import functools
import hashlib
import random
import weakref
from collections.abc import Generator
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address
from typing import TYPE_CHECKING, Any, overload

from simpy.events import Event

from netsim.errors import UsageError
from netsim.stack.tcp.config import TcpConfig

if TYPE_CHECKING:
    from netsim.node import Node
    from netsim.sockets import Listener, Stream

__all__ = [
    "BLOCK",
    "BulkSendResult",
    "ExpectedDigest",
    "PseudoRandomBytes",
    "Sha256Field",
    "SinkResult",
    "bulk_sender",
    "bulk_sink",
    "expected_sha256",
    "held_sha256",
]

#: The stream is made in blocks of this many bytes (independent of the sizes of reads), and the
#: generator's pool of random bytes is one block long.
BLOCK = 1 << 16
_ADD = bytes(range(256))  # _ADD[c:] + _ADD[:c] is the table of x -> (x + c) % 256


class _Start:
    """How every generator of one seed starts: its pool, and a generator just after drawing it
    (copied, never drawn from); and the generators of the seed alive now, with the blocks one
    of them made that another has yet to reach (see `PseudoRandomBytes`)."""

    __slots__ = ("__weakref__", "blocks", "gens", "pool", "rng")

    def __init__(self, pool: bytes, rng: random.Random) -> None:
        self.pool = pool
        self.rng = rng
        self.gens: weakref.WeakSet[PseudoRandomBytes] = weakref.WeakSet()
        self.blocks: dict[int, bytes] = {}  # block number -> block


# seed -> its _Start, while a generator of that seed lives
_STARTS: weakref.WeakValueDictionary[int, _Start] = weakref.WeakValueDictionary()

#: At most this many blocks (4 MiB) kept for another generator of the seed: about what a
#: sender runs ahead of its sink, its send and receive buffers (1 MiB each by default) and
#: what is in flight between them. Past it a generator makes its blocks itself.
KEEP = 64


class PseudoRandomBytes:
    """The endless byte stream for ``seed``: random-looking, reproducible and cheap to make.

    ``read(n)`` returns the next ``n`` bytes, whatever sizes earlier reads had.

    How it is made: a ``random.Random`` seeded with ``seed`` draws, once, a *pool* of `BLOCK`
    random bytes. The stream is a sequence of blocks of `BLOCK` bytes, and for each block the
    same generator draws ``r`` (0 to BLOCK - 1) and ``c`` (0 to 255): the block is the pool
    read from ``r`` on and round (``pool[r:] + pool[:r]``), with ``c`` added to every byte,
    modulo 256 (``bytes.translate`` with the table ``x -> (x + c) % 256``). Slicing and
    ``translate`` run at memory speed, several times faster than drawing each block from
    the Mersenne Twister (``Random.randbytes`` builds and takes apart a 524,288-bit integer
    per block). Generators of one seed alive at once (a sender and the sink comparing with it)
    share the pool, and a block one of them read whole (`bulk_sender` reads a block at a time)
    is kept for the other (up to `KEEP` blocks, each handed over once), so the sink's copy of
    the stream costs slices, not translates. Any generator gives the same bytes.

    Why it is random enough: TCP never looks at the bytes, and what the SHA-256 of a transfer
    must catch is data at a wrong place: a segment delivered at a wrong offset (off by one
    byte, by a segment, by 2**16 or 2**32 after a sequence number wraps), duplicated or
    skipped. Two stretches of one block come from different places of the pool, so they
    differ as random bytes do. Two stretches of different blocks (of more than a few bytes)
    are equal only if they come from the same place of the pool (their blocks' ``r`` differ
    by just the right amount: 1 chance in 65,536) and had the same ``c`` added (1 in 256:
    with different ``c`` every byte differs). So the stream repeats itself only at offsets
    that are themselves random, and a segment put at a wrong offset leaves the SHA-256
    unchanged with a chance of about 1 in 16 million (2**-24).
    """

    def __init__(self, seed: int) -> None:
        # Generators of one seed (a sender and the sink that checks it) share the pool
        start = _STARTS.get(seed)
        if start is None:
            rng = random.Random(f"netsim-bulk:{seed}")
            start = _STARTS[seed] = _Start(rng.randbytes(BLOCK), rng)
        start.gens.add(self)
        self._rng = random.Random()
        self._rng.setstate(start.rng.getstate())  # as just after drawing the pool
        self._shared = start  # (keeps it in _STARTS while this generator lives)
        self._pool = start.pool
        self._number = 0  # of the current block (the first is 1)
        self._start = 0  # where the current block starts in the pool
        self._table = _ADD  # and what it adds: pool byte x becomes table[x]
        self._block: bytes | None = None  # the current block, if another generator made it
        self._used = BLOCK  # bytes of the current block already read: all, so draw a new one

    def _next_block(self) -> None:
        self._start = self._rng.randrange(BLOCK)
        c = self._rng.randrange(256)
        self._table = _ADD[c:] + _ADD[:c]
        self._number += 1
        self._block = self._shared.blocks.pop(self._number, None)
        self._used = 0

    def read(self, n: int) -> bytes:
        pool = self._pool
        parts: list[bytes] = []
        while n > 0:
            if self._used == BLOCK:
                self._next_block()
            used = self._used
            take = min(n, BLOCK - used)
            block = self._block
            if block is not None:  # made by another generator of the seed: a slice of it
                piece = block if take == BLOCK else block[used:used + take]
            else:
                start = (self._start + used) % BLOCK  # in the pool
                end = start + take
                if end <= BLOCK:
                    piece = pool[start:end].translate(self._table)
                else:  # round the end of the pool (memoryview: one copy of the piece)
                    view = memoryview(pool)
                    piece = b"".join((view[start:], view[:end - BLOCK])).translate(self._table)
                shared = self._shared
                if take == BLOCK and len(shared.gens) > 1 and len(shared.blocks) < KEEP:
                    shared.blocks[self._number] = piece  # a whole block: for the other
            parts.append(piece)
            self._used = used = used + take
            if used == BLOCK:
                self._block = None  # (not kept once read)
            n -= take
        return parts[0] if len(parts) == 1 else b"".join(parts)


def _hash_stream(nbytes: int, seed: int) -> hashlib._Hash:
    """A SHA-256 fed the first ``nbytes`` bytes of ``seed``'s stream (more can be added)."""
    gen = PseudoRandomBytes(seed)
    digest = hashlib.sha256()
    left = nbytes
    while left > 0:
        block = gen.read(min(BLOCK, left))
        digest.update(block)
        left -= len(block)
    return digest


@functools.lru_cache(maxsize=16)  # a run's sender and sink ask for the same one: hashed once
def expected_sha256(nbytes: int, seed: int) -> str:
    """The SHA-256 (hex) of the first ``nbytes`` bytes a sender with ``seed`` sends."""
    return _hash_stream(nbytes, seed).hexdigest()


@dataclass(frozen=True)
class ExpectedDigest:
    """A digest not worked out yet: that of the first ``nbytes`` bytes of ``seed``'s stream.

    A result holds one where it knows the bytes were exactly that stream; `Sha256Field` turns
    it into the hex string (`expected_sha256`) when the field is first read."""

    nbytes: int
    seed: int

    def hexdigest(self) -> str:
        return expected_sha256(self.nbytes, self.seed)


class Sha256Field:
    """A dataclass field that reads as a SHA-256 (hex ``str``, ``default`` until set) and may be
    set to an `ExpectedDigest`, which is worked out, and kept, on the first read.

    Reading the field (``res.sha256``, ``repr``, ``==``, ``dataclasses.asdict``, ``replace``)
    always gives the string; the value is held in the instance's ``__dict__`` under the field's
    name with a leading underscore, so results pickle and copy as before (a pending digest
    pickles as its two numbers)."""

    def __init__(self, default: str = "") -> None:
        self.default = default  # what dataclasses take as the field's default (class access)
        self.name = "_sha256"

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = "_" + name

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> str: ...
    @overload
    def __get__(self, obj: object, owner: type | None = None) -> str: ...
    def __get__(self, obj: object | None, owner: type | None = None) -> str:
        if obj is None:
            return self.default
        value = obj.__dict__[self.name]
        if isinstance(value, ExpectedDigest):
            value = obj.__dict__[self.name] = value.hexdigest()
        assert isinstance(value, str)
        return value

    def __set__(self, obj: object, value: str | ExpectedDigest) -> None:
        obj.__dict__[self.name] = value

    def held(self, obj: object) -> str | ExpectedDigest:
        """The value as held: a digest, or the `ExpectedDigest` that gives it when read."""
        value: str | ExpectedDigest = obj.__dict__[self.name]
        return value


@dataclass
class BulkSendResult:
    """What the sender did; filled in as it goes (pass one as ``into`` to watch a run that
    may not finish). Times are the environment's clock in seconds, None until reached."""

    seed: int = 1
    bytes_sent: int = 0  # handed to TCP so far
    # of all bytes sent, once the last one is queued (they are the seed's stream: its digest
    # is worked out when first read)
    sha256: Sha256Field = Sha256Field()
    connect_started: float | None = None  # connect() called
    connected_at: float | None = None  # handshake done
    queued_at: float | None = None  # the last byte went into the send buffer
    closed_at: float | None = None  # close() done: our FIN acked and the peer's FIN received
    stream: Stream | None = field(default=None, repr=False, compare=False)


@dataclass
class SinkResult:
    """What the sink received; filled in as it goes (see `BulkSendResult`)."""

    bytes_received: int = 0
    # of all bytes received, once the end of the stream came (with a seed and no difference,
    # worked out when first read)
    sha256: Sha256Field = Sha256Field()
    accepted_at: float | None = None
    first_byte_at: float | None = None
    last_byte_at: float | None = None
    eof_at: float | None = None  # the sender's FIN (end of stream) reached the application
    closed_at: float | None = None  # our own close() done
    peer: tuple[IPv4Address | IPv6Address, int] | None = None
    stream: Stream | None = field(default=None, repr=False, compare=False)
    # With a seed: the offset in the stream of the first byte that is not the sender's (a byte
    # changed, lost or added there); None while every byte was
    first_difference: int | None = None


def held_sha256(res: BulkSendResult | SinkResult) -> str | ExpectedDigest:
    """``res.sha256`` without working it out: the digest, or the `ExpectedDigest` that gives it
    (to hand on to another result's `Sha256Field`)."""
    field_: Sha256Field = vars(type(res))["sha256"]
    return field_.held(res)


def bulk_sender(node: Node, ip: str | IPv4Address | IPv6Address, port: int, nbytes: int, *,
                seed: int = 1, chunk: int = BLOCK, cfg: TcpConfig | None = None,
                into: BulkSendResult | None = None) -> Generator[Event, Any, BulkSendResult]:
    """Connect, send ``nbytes`` pseudo-random bytes (``chunk`` bytes per `sendall`), close.

    A TCP error (refused, reset, timed out) is raised from the process; ``into`` then holds
    how far it got.
    """
    if isinstance(nbytes, bool) or not isinstance(nbytes, int) or nbytes < 0:
        raise UsageError(f"nbytes: {nbytes!r} is not a size; use a whole number >= 0")
    if chunk < 1:
        raise UsageError(f"chunk: {chunk!r} is not a positive size; use a size >= 1")
    env = node.env
    res = into if into is not None else BulkSendResult()
    res.seed = seed
    res.connect_started = float(env.now)
    stream: Stream = yield node.connect(ip, port, cfg)
    res.stream = stream
    res.connected_at = float(env.now)
    data = PseudoRandomBytes(seed)
    while res.bytes_sent < nbytes:
        block = data.read(min(chunk, nbytes - res.bytes_sent))
        yield stream.sendall(block)
        res.bytes_sent += len(block)
    res.sha256 = ExpectedDigest(res.bytes_sent, seed)  # what was sent is the seed's stream
    res.queued_at = float(env.now)
    yield stream.close()
    res.closed_at = float(env.now)
    return res


def bulk_sink(node: Node, port: int = 0, *, listener: Listener | None = None,
              recv_size: int = 1 << 16, min_read: int = 1, seed: int | None = None,
              into: SinkResult | None = None) -> Generator[Event, Any, SinkResult]:
    """Accept one connection (on ``listener``, or on a new listener on ``port`` that is closed
    after the accept), read it to the end counting and hashing, then close.

    ``min_read`` is a low-water mark for each read (see `Stream.recv`): a simulation reads in
    chunks to save wake-ups; a live sink, which may be stopped at any moment, reads at once.

    ``seed``: the sender's (`bulk_sender`'s) seed. Each read is then compared with the next
    bytes of that stream instead of hashed; at the first byte that differs, ``first_difference``
    is set and the sink goes back to hashing (the bytes before it, equal to the stream's, and
    everything from the read that differs on). ``sha256`` is the same either way."""
    env = node.env
    res = into if into is not None else SinkResult()
    own = listener is None
    lst: Listener = node.listen(port) if listener is None else listener
    stream: Stream = yield lst.accept()
    if own:
        lst.close()
    res.stream = stream
    res.peer = (stream.conn.remote_ip, stream.conn.remote_port)
    res.accepted_at = float(env.now)
    expected = PseudoRandomBytes(seed) if seed is not None else None
    digest = hashlib.sha256() if seed is None else None
    while True:
        data: bytes = yield stream.recv(recv_size, min_bytes=min_read)
        if not data:
            break
        now = float(env.now)
        if res.first_byte_at is None:
            res.first_byte_at = now
        res.last_byte_at = now
        if expected is not None:
            want = expected.read(len(data))
            if want != data:
                assert seed is not None
                res.first_difference = res.bytes_received + _first_difference(want, data)
                # The bytes before this read were the stream's: hash those, then go on hashing
                expected = None
                digest = _hash_stream(res.bytes_received, seed)
        if digest is not None:
            digest.update(data)
        res.bytes_received += len(data)
    if digest is not None:
        res.sha256 = digest.hexdigest()
    else:
        assert seed is not None
        res.sha256 = ExpectedDigest(res.bytes_received, seed)  # every byte was the stream's
    res.eof_at = float(env.now)
    yield stream.close()
    res.closed_at = float(env.now)
    return res


def _first_difference(a: bytes, b: bytes) -> int:
    """Where ``a`` and ``b``, of one length and not equal, first differ."""
    return next(i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y)
