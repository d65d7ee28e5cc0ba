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
