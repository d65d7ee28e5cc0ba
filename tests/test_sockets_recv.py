"""`Stream.recv` with a low-water mark (``min_bytes``, as SO_RCVLOWAT): a read waits until
that many bytes are unread or the stream ends, then takes all it may; reads queued behind it
are served in order, each with its own mark."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from netsim.errors import UsageError
from netsim.sim.link import LinkConfig
from netsim.sim.topology import two_hosts
from netsim.sim.world import World
from netsim.sockets import Stream
from netsim.stack.tcp.config import TcpConfig

DELAY = 0.005
GAP = 0.1  # between the sender's pieces: each arrives alone, one-way delay after it is sent
PIECE = 1000


def run(pieces: int, readers: list[tuple[str, int, int]],
        nodelay: bool = True) -> tuple[bytes, dict[str, list[tuple[float, bytes]]], float]:
    """The sender sends `pieces` pieces of PIECE bytes, GAP apart, then closes; each reader
    (name, max_bytes, min_bytes) is a process reading the server's stream to its end. Returns
    what was sent, each reader's (time, data) reads (the empty one at the end included),
    and when the first piece was sent."""
    world = World(3)
    cfg = TcpConfig(nodelay=nodelay, delayed_ack=0)
    net = two_hosts(world, LinkConfig(delay=DELAY, rate_bps=100e6), tcp=cfg)
    h1, h2 = net.hosts
    env = world.env
    sent = bytes(i % 251 for i in range(pieces * PIECE))
    reads: dict[str, list[tuple[float, bytes]]] = {name: [] for name, _, _ in readers}
    start: list[float] = []

    def reader(stream: Stream, name: str, max_bytes: int,
               min_bytes: int) -> Generator[Any, Any, None]:
        while True:
            data = yield stream.recv(max_bytes, min_bytes=min_bytes)
            reads[name].append((float(env.now), data))
            if not data:
                return

    def server() -> Generator[Any, Any, None]:
        stream = yield h2.listen(9000).accept()
        procs = [env.process(reader(stream, *r)) for r in readers]
        yield env.all_of(procs)
        yield stream.close()

    def client() -> Generator[Any, Any, None]:
        stream = yield h1.connect("10.0.0.2", 9000)
        yield env.timeout(1.0)  # the server's readers are waiting by now
        start.append(float(env.now))
        for i in range(pieces):
            yield stream.sendall(sent[i * PIECE:(i + 1) * PIECE])
            yield env.timeout(GAP)
        yield stream.close()

    env.process(server())
    env.process(client())
    world.run(until=60)
    return sent, reads, start[0]


def arrival(i: int, start: float) -> float:
    """When piece i (from 0) reaches the server."""
    return start + i * GAP + DELAY


def close_to(a: float, b: float) -> bool:
    return abs(a - b) < 0.002  # serialization of a segment at 100 Mbit/s: 0.1 ms


def test_a_read_waits_for_its_low_water_mark_then_takes_what_is_there() -> None:
    sent, reads, start = run(10, [("r", 65536, 3 * PIECE)])
    got = reads["r"]
    assert b"".join(d for _, d in got) == sent
    # woken by the 3rd, 6th and 9th piece, each time with the three unread; the 10th alone
    # by the end of the stream
    sizes = [len(d) for _, d in got]
    assert sizes == [3 * PIECE, 3 * PIECE, 3 * PIECE, PIECE, 0]
    for k, (t, _) in enumerate(got[:3]):
        assert close_to(t, arrival(3 * k + 2, start))


def test_the_end_of_the_stream_wakes_a_read_short_of_its_mark() -> None:
    sent, reads, _ = run(2, [("r", 65536, 5 * PIECE)])
    assert [len(d) for _, d in reads["r"]] == [2 * PIECE, 0]
    assert reads["r"][0][1] == sent


def test_reads_queued_behind_one_are_served_in_order_with_their_own_marks() -> None:
    # "big" waits for 4 pieces; "small" (any byte) queues behind it and is served as soon
    # as "big" is, with the next piece after
    sent, reads, start = run(6, [("big", 65536, 4 * PIECE), ("small", PIECE, 1)])
    big, small = reads["big"], reads["small"]
    assert len(big[0][1]) == 4 * PIECE and close_to(big[0][0], arrival(3, start))
    assert len(small[0][1]) == PIECE and close_to(small[0][0], arrival(4, start))
    # the stream, in order, across both readers
    ordered = sorted([*big, *small], key=lambda r: r[0])
    assert b"".join(d for _, d in ordered) == sent


def test_a_negative_size_is_refused_where_the_read_is_asked_for() -> None:
    # (not later, inside the stack, when data arrives for the read waiting)
    world = World(3)
    net = two_hosts(world, LinkConfig(delay=DELAY))
    h1, h2 = net.hosts
    env = world.env
    refused: list[str] = []
    got: list[bytes] = []

    def server() -> Generator[Any, Any, None]:
        stream = yield h2.listen(9000).accept()
        try:
            stream.recv(-1)
        except UsageError as exc:
            refused.append(str(exc))
        got.append((yield stream.recv()))

    def client() -> Generator[Any, Any, None]:
        stream = yield h1.connect("10.0.0.2", 9000)
        yield env.timeout(0.5)
        yield stream.sendall(b"hello")

    env.process(server())
    env.process(client())
    world.run(until=5)
    assert len(refused) == 1 and "-1" in refused[0]
    assert got == [b"hello"]
