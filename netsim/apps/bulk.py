"""Bulk transfer: a sender of N deterministic pseudo-random bytes and a sink that checks them.

Both are SimPy processes over `netsim.sockets` (they never import netsim.sim or netsim.live), so
the same code runs in a simulated world and live on a TAP:

    sink = env.process(bulk_sink(h2, 5001))
    sender = env.process(bulk_sender(h1, "10.0.0.2", 5001, 10_000_000, seed=7))
    ...
    assert sender.value.sha256 == sink.value.sha256

The byte stream depends only on the seed (see `PseudoRandomBytes`), never on how it is chunked,
so `expected_sha256(nbytes, seed)` tells a receiver elsewhere what it should have got.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Generator
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address
from typing import TYPE_CHECKING, Any

from simpy.events import Event

from netsim.errors import UsageError
from netsim.stack.tcp.config import TcpConfig

if TYPE_CHECKING:
    from netsim.node import Node
    from netsim.sockets import Listener, Stream

__all__ = [
    "BLOCK",
    "BulkSendResult",
    "PseudoRandomBytes",
    "SinkResult",
    "bulk_sender",
    "bulk_sink",
    "expected_sha256",
]

#: The stream is made in blocks of this many bytes (independent of the sizes of reads), and the
#: generator's pool of random bytes is one block long.
BLOCK = 1 << 16
_ADD = bytes(range(256))  # _ADD[c:] + _ADD[:c] is the table of x -> (x + c) % 256


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
    per block), and the generator holds one block of bytes (the pool), as one drawn block
    would.

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
        self._rng = random.Random(f"netsim-bulk:{seed}")
        self._pool = self._rng.randbytes(BLOCK)
        self._start = 0  # where the current block starts in the pool
        self._table = _ADD  # and what it adds: pool byte x becomes table[x]
        self._used = BLOCK  # bytes of the current block already read: all, so draw a new one

    def _next_block(self) -> None:
        self._start = self._rng.randrange(BLOCK)
        c = self._rng.randrange(256)
        self._table = _ADD[c:] + _ADD[:c]
        self._used = 0

    def read(self, n: int) -> bytes:
        pool = self._pool
        parts: list[bytes] = []
        while n > 0:
            if self._used == BLOCK:
                self._next_block()
            take = min(n, BLOCK - self._used)
            start = (self._start + self._used) % BLOCK  # in the pool
            end = start + take
            if end <= BLOCK:
                piece = pool[start:end]
            else:  # round the end of the pool (memoryview: one copy of the piece, not three)
                view = memoryview(pool)
                piece = b"".join((view[start:], view[:end - BLOCK]))
            parts.append(piece.translate(self._table))
            self._used += take
            n -= take
        return parts[0] if len(parts) == 1 else b"".join(parts)


def expected_sha256(nbytes: int, seed: int) -> str:
    """The SHA-256 (hex) of the first ``nbytes`` bytes a sender with ``seed`` sends."""
    gen = PseudoRandomBytes(seed)
    digest = hashlib.sha256()
    left = nbytes
    while left > 0:
        block = gen.read(min(BLOCK, left))
        digest.update(block)
        left -= len(block)
    return digest.hexdigest()


@dataclass
class BulkSendResult:
    """What the sender did; filled in as it goes (pass one as ``into`` to watch a run that
    may not finish). Times are the environment's clock in seconds, None until reached."""

    seed: int = 1
    bytes_sent: int = 0  # handed to TCP so far
    sha256: str = ""  # of all bytes sent, once the last one is queued
    connect_started: float | None = None  # connect() called
    connected_at: float | None = None  # handshake done
    queued_at: float | None = None  # the last byte went into the send buffer
    closed_at: float | None = None  # close() done: our FIN acked and the peer's FIN received
    stream: Stream | None = field(default=None, repr=False, compare=False)


@dataclass
class SinkResult:
    """What the sink received; filled in as it goes (see `BulkSendResult`)."""

    bytes_received: int = 0
    sha256: str = ""  # of all bytes received, once the end of the stream came
    accepted_at: float | None = None
    first_byte_at: float | None = None
    last_byte_at: float | None = None
    eof_at: float | None = None  # the sender's FIN (end of stream) reached the application
    closed_at: float | None = None  # our own close() done
    peer: tuple[IPv4Address | IPv6Address, int] | None = None
    stream: Stream | None = field(default=None, repr=False, compare=False)


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
    digest = hashlib.sha256()
    while res.bytes_sent < nbytes:
        block = data.read(min(chunk, nbytes - res.bytes_sent))
        digest.update(block)
        yield stream.sendall(block)
        res.bytes_sent += len(block)
    res.sha256 = digest.hexdigest()
    res.queued_at = float(env.now)
    yield stream.close()
    res.closed_at = float(env.now)
    return res


def bulk_sink(node: Node, port: int = 0, *, listener: Listener | None = None,
              recv_size: int = 1 << 16, min_read: int = 1,
              into: SinkResult | None = None) -> Generator[Event, Any, SinkResult]:
    """Accept one connection (on ``listener``, or on a new listener on ``port`` that is closed
    after the accept), read it to the end counting and hashing, then close.

    ``min_read`` is a low-water mark for each read (see `Stream.recv`): a simulation reads in
    chunks to save wake-ups; a live sink, which may be stopped at any moment, reads at once."""
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
    digest = hashlib.sha256()
    while True:
        data: bytes = yield stream.recv(recv_size, min_bytes=min_read)
        if not data:
            break
        now = float(env.now)
        if res.first_byte_at is None:
            res.first_byte_at = now
        res.last_byte_at = now
        res.bytes_received += len(data)
        digest.update(data)
    res.sha256 = digest.hexdigest()
    res.eof_at = float(env.now)
    yield stream.close()
    res.closed_at = float(env.now)
    return res
