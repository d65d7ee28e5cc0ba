"""The echo and bulk applications over simulated links: data arrives whole, echoes match."""

from __future__ import annotations

import hashlib
from collections.abc import Generator
from typing import Any

import pytest

from netsim.apps.bulk import (
    BulkSendResult,
    PseudoRandomBytes,
    SinkResult,
    bulk_sender,
    bulk_sink,
    expected_sha256,
)
from netsim.apps.echo import EchoServerStats, echo_client, echo_server
from netsim.sim.link import LinkConfig
from netsim.sim.loss import Bernoulli
from netsim.sim.topology import two_hosts
from netsim.sim.world import World
from netsim.stack.tcp.errors import ConnectionRefused

CLEAN = LinkConfig(delay=0.005, rate_bps=50e6)


def lossy(p: float = 0.03) -> LinkConfig:
    return LinkConfig(delay=0.005, rate_bps=50e6, loss=Bernoulli(p), reorder=0.01,
                      duplicate=0.01)


def bulk(link: LinkConfig, nbytes: int, seed: int,
         chunk: int = 1 << 16) -> tuple[BulkSendResult, SinkResult]:
    world = World(seed)
    h1, h2 = two_hosts(world, link).hosts
    sink = world.env.process(bulk_sink(h2, 5001))
    sender = world.env.process(bulk_sender(h1, "10.0.0.2", 5001, nbytes, seed=seed,
                                           chunk=chunk))
    world.env.run(until=world.env.all_of([sender, sink]))
    return sender.value, sink.value


def test_pseudo_random_stream_depends_on_seed_not_on_read_sizes() -> None:
    whole = PseudoRandomBytes(3).read(200_000)
    gen = PseudoRandomBytes(3)
    pieces = b"".join(gen.read(n) for n in (1, 999, 65_536, 70_000, 63_464))
    assert pieces == whole
    assert PseudoRandomBytes(4).read(1000) != whole[:1000]
    assert expected_sha256(200_000, 3) == hashlib.sha256(whole).hexdigest()


def test_bulk_transfer_over_clean_link_arrives_intact() -> None:
    sent, got = bulk(CLEAN, 500_000, seed=1)
    assert sent.bytes_sent == got.bytes_received == 500_000
    assert sent.sha256 == got.sha256 == expected_sha256(500_000, 1)
    assert sent.stream is not None and sent.stream.conn.retransmissions == 0
    assert got.first_byte_at is not None and got.last_byte_at is not None
    assert sent.connected_at is not None and sent.closed_at is not None
    assert sent.connected_at < got.first_byte_at <= got.last_byte_at
    assert got.eof_at is not None and got.last_byte_at <= got.eof_at
    assert got.peer is not None and str(got.peer[0]) == "10.0.0.1"


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_bulk_transfer_over_lossy_link_arrives_intact(seed: int) -> None:
    sent, got = bulk(lossy(), 300_000, seed=seed)
    assert sent.stream is not None and sent.stream.conn.retransmissions > 0
    assert got.bytes_received == 300_000
    assert got.sha256 == sent.sha256 == expected_sha256(300_000, seed)


def test_bulk_data_does_not_depend_on_the_senders_chunk_size() -> None:
    _, small = bulk(CLEAN, 100_000, seed=9, chunk=1000)
    _, large = bulk(CLEAN, 100_000, seed=9, chunk=1 << 16)
    assert small.sha256 == large.sha256 == expected_sha256(100_000, 9)


def test_empty_bulk_transfer_just_opens_and_closes() -> None:
    sent, got = bulk(CLEAN, 0, seed=1)
    assert sent.bytes_sent == got.bytes_received == 0
    assert got.first_byte_at is None and got.sha256 == hashlib.sha256(b"").hexdigest()
    assert got.closed_at is not None


@pytest.mark.parametrize("link", [CLEAN, lossy(0.05)], ids=["clean", "lossy"])
def test_echo_client_gets_its_message_back(link: LinkConfig) -> None:
    world = World(5)
    h1, h2 = two_hosts(world, link).hosts
    world.env.process(echo_server(h2))
    message = bytes(range(256)) * 40  # 10 kB: several segments each way
    client = world.env.process(echo_client(h1, "10.0.0.2", 7, message))
    result = world.env.run(until=client)
    assert result.ok and result.reply == message
    assert result.connected_at <= result.reply_at <= result.closed_at


def test_echo_server_serves_twenty_clients_at_once() -> None:
    world = World(2)
    env = world.env
    h1, h2 = two_hosts(world, CLEAN).hosts
    server = env.process(echo_server(h2, 7, max_connections=21))
    # One exchange first, so that h1 has resolved h2's address before the crowd comes (the
    # ARP queue holds only a few packets per unresolved address).
    env.run(until=env.process(echo_client(h1, "10.0.0.2", 7, b"warm-up")))
    messages = [f"client {i} ".encode() * (50 + 30 * i) for i in range(20)]
    clients = [env.process(echo_client(h1, "10.0.0.2", 7, m)) for m in messages]
    env.run(until=env.all_of([server, *clients]))
    results = [c.value for c in clients]
    assert [r.reply for r in results] == messages
    stats: EchoServerStats = server.value
    assert (stats.connections, stats.finished, stats.errors, stats.active) == (21, 21, 0, 0)
    assert stats.bytes_echoed == sum(len(m) for m in messages) + len(b"warm-up")
    # Served concurrently: all twenty connected at once and were served side by side.
    assert stats.peak_active == 20


def test_echo_client_to_a_closed_port_is_refused() -> None:
    world = World(1)
    h1, _ = two_hosts(world, CLEAN).hosts

    def attempt() -> Generator[Any, Any, str]:
        try:
            yield world.env.process(echo_client(h1, "10.0.0.2", 7, b"x"))
        except ConnectionRefused as exc:
            return type(exc).__name__
        return "connected"

    proc = world.env.process(attempt())
    assert world.env.run(until=proc) == "ConnectionRefused"


def test_apps_see_only_sockets_never_the_simulated_or_live_world() -> None:
    import ast
    from pathlib import Path

    import netsim.apps

    for path in Path(netsim.apps.__file__).parent.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert not name.startswith(("netsim.sim", "netsim.live")), (path.name, name)


# ------------------------------------------------------------ the sink that knows the seed
def feed_sink(data: bytes, seed: int, into: SinkResult | None = None) -> SinkResult:
    """``data`` sent, as it is, to a `bulk_sink` told ``seed`` (as if from a sender with it)."""
    world = World(seed)
    h1, h2 = two_hosts(world, CLEAN).hosts
    sink = world.env.process(bulk_sink(h2, 5001, seed=seed, min_read=16384, into=into))

    def send() -> Generator[Any, Any, None]:
        stream = yield h1.connect("10.0.0.2", 5001)
        for at in range(0, len(data), 10_000):  # reads then straddle a difference or not
            yield stream.sendall(data[at:at + 10_000])
        yield stream.close()

    world.env.run(until=world.env.all_of([world.env.process(send()), sink]))
    result: SinkResult = sink.value
    return result


def where(stream: bytes, near: int, *, same_as_next: bool) -> int:
    """The first offset from ``near`` whose byte differs from the next one (or the one before,
    when ``same_as_next`` is False): where losing or repeating a byte shows at once."""
    k = near
    while (stream[k] == stream[k + 1]) if same_as_next else (stream[k - 1] == stream[k]):
        k += 1
    return k


N = 300_000


@pytest.mark.parametrize("near", [1, 65_537, 123_456, N - 2])
@pytest.mark.parametrize("fault", ["changed", "lost", "repeated"])
def test_a_sink_with_the_seed_finds_the_first_wrong_byte_and_hashes_what_came(
        fault: str, near: int) -> None:
    whole = PseudoRandomBytes(6).read(N)
    if fault == "changed":
        k = near
        got = whole[:k] + bytes([whole[k] ^ 0x5A]) + whole[k + 1:]
    elif fault == "lost":  # byte k missing: byte k + 1 comes in its place
        k = where(whole, near, same_as_next=True)
        got = whole[:k] + whole[k + 1:]
    else:  # byte k - 1 twice: the copy comes in place of byte k
        k = where(whole, near, same_as_next=False)
        got = whole[:k] + whole[k - 1:k] + whole[k:]
    res = feed_sink(got, seed=6)
    assert res.bytes_received == len(got)
    assert res.first_difference == k
    assert res.sha256 == hashlib.sha256(got).hexdigest() != expected_sha256(len(got), 6)


def test_a_sink_with_the_seed_of_an_unchanged_stream_reports_its_sha256() -> None:
    whole = PseudoRandomBytes(6).read(N)
    res = feed_sink(whole, seed=6)
    assert res.first_difference is None and res.bytes_received == N
    assert res.sha256 == expected_sha256(N, 6) == hashlib.sha256(whole).hexdigest()
    # a prefix of the stream is no difference either (the count tells it was cut short)
    short = feed_sink(whole[:N - 1000], seed=6)
    assert short.first_difference is None
    assert short.sha256 == hashlib.sha256(whole[:N - 1000]).hexdigest()


def test_a_sink_told_another_seed_sees_a_difference_at_the_first_byte() -> None:
    whole = PseudoRandomBytes(6).read(N)
    res = feed_sink(whole, seed=7)
    assert res.first_difference == 0 and res.sha256 == hashlib.sha256(whole).hexdigest()


def test_digests_are_empty_until_the_end_then_the_bytes_sha256() -> None:
    nbytes = 3_000_000
    world = World(4)
    h1, h2 = two_hosts(world, CLEAN).hosts
    sres, kres = BulkSendResult(), SinkResult()
    procs = [world.env.process(bulk_sink(h2, 5001, seed=4, into=kres)),
             world.env.process(bulk_sender(h1, "10.0.0.2", 5001, nbytes, seed=4, into=sres))]
    world.env.run(until=0.2)  # 50 Mbit/s: about a third of the bytes are through
    assert 0 < kres.bytes_received < sres.bytes_sent < nbytes and sres.queued_at is None
    assert sres.sha256 == kres.sha256 == ""
    world.env.run(until=world.env.all_of(procs))
    assert sres.sha256 == kres.sha256 == expected_sha256(nbytes, 4)
    assert kres.sha256 == hashlib.sha256(PseudoRandomBytes(4).read(nbytes)).hexdigest()


def test_results_pickle_with_their_digest_whether_worked_out_yet_or_not() -> None:
    import pickle

    sent, got = bulk(CLEAN, 200_000, seed=8)  # a sink without the seed: hashed as it came
    world = World(8)
    h1, h2 = two_hosts(world, CLEAN).hosts
    sink = world.env.process(bulk_sink(h2, 5001, seed=8))
    world.env.process(bulk_sender(h1, "10.0.0.2", 5001, 200_000, seed=8))
    world.env.run(until=sink)
    compared: SinkResult = sink.value
    for res in (sent, got, compared):
        res.stream = None  # (a live connection does not pickle; the numbers do)
    copies = [pickle.loads(pickle.dumps(r)) for r in (sent, got, compared)]  # before reading
    want = hashlib.sha256(PseudoRandomBytes(8).read(200_000)).hexdigest()
    assert [c.sha256 for c in copies] == [want] * 3
    assert copies == [sent, got, compared] and compared.sha256 == want
    assert f"sha256='{want}'" in repr(compared)


def test_run_bulk_hashes_nothing_during_the_run_and_once_for_both_digests(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import netsim.apps.bulk as bulk_module
    from netsim.sim.scenario import BulkScenario, run_bulk

    hashes: list[Any] = []

    class CountingHashlib:  # the bulk module's hashlib, counting the SHA-256s it starts
        @staticmethod
        def sha256(data: bytes = b"") -> Any:
            hashes.append(hashlib.sha256(data))
            return hashes[-1]

    monkeypatch.setattr(bulk_module, "hashlib", CountingHashlib)
    bulk_module.expected_sha256.cache_clear()  # (as in a fresh process)
    res = run_bulk(BulkScenario(bytes=250_001, seed=12, link=CLEAN))
    assert res.intact and hashes == [] and res.sink is not None
    assert res.sha256_sent == res.sha256_received == expected_sha256(250_001, 12)
    assert res.sink.sha256 == res.sha256_received and res.to_dict()["sha256_sent"]
    assert len(hashes) == 1


def test_run_bulk_with_a_receiver_that_changes_one_byte_is_not_intact() -> None:
    from netsim.sim.scenario import BulkScenario, run_bulk
    from netsim.stack.tcp.config import TcpConfig
    from netsim.stack.tcp.reassembly import SegmentReassembler

    k = 100_003

    class Spoiling(SegmentReassembler):  # a student's bug: byte k delivered changed
        def insert(self, index: int, data: bytes, is_last: bool, window_end: int) -> bytes:
            start = self.next_index
            out = super().insert(index, data, is_last, window_end)
            if start <= k < start + len(out):
                i = k - start
                out = out[:i] + bytes([out[i] ^ 1]) + out[i + 1:]
            return out

    res = run_bulk(BulkScenario(bytes=N, seed=5, link=CLEAN,
                                tcp=TcpConfig(reassembler_factory=Spoiling)))
    whole = PseudoRandomBytes(5).read(N)
    got = whole[:k] + bytes([whole[k] ^ 1]) + whole[k + 1:]
    assert res.completed and res.bytes_delivered == N and not res.intact
    assert res.sink is not None and res.sink.first_difference == k
    assert res.sha256_received == hashlib.sha256(got).hexdigest()
    assert res.sha256_sent == expected_sha256(N, 5) == hashlib.sha256(whole).hexdigest()
