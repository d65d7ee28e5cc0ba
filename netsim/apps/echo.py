"""Echo (RFC 862 over TCP): a server that sends back what it reads, and a one-shot client.

SimPy processes over `netsim.sockets` only (never netsim.sim or netsim.live), so they run the
same in simulation and live:

    env.process(echo_server(h2, 7))                      # serves until the world stops
    result = yield env.process(echo_client(h1, "10.0.0.2", 7, b"hello"))
    assert result.ok
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address
from typing import TYPE_CHECKING, Any

from simpy.events import Event, Process

from netsim import argcheck
from netsim.stack.tcp.config import TcpConfig
from netsim.stack.tcp.errors import TcpError

if TYPE_CHECKING:
    from netsim.node import Node
    from netsim.sockets import Listener, Stream

__all__ = ["ECHO_PORT", "EchoResult", "EchoServerStats", "echo_client", "echo_connection",
           "echo_server"]

#: RFC 862: "A server listens for TCP connections on TCP port 7."
ECHO_PORT = 7


@dataclass
class EchoServerStats:
    """Counters of an echo server, updated while it runs."""

    connections: int = 0  # accepted
    active: int = 0  # being served now
    peak_active: int = 0  # most connections served at the same time
    finished: int = 0  # echoed to the end of the stream and closed
    errors: int = 0  # ended by a TCP error (reset, timeout)
    bytes_echoed: int = 0
    error_messages: list[str] = field(default_factory=list)


@dataclass
class EchoResult:
    """One echo exchange as the client saw it. Times are the environment's clock (seconds)."""

    message: bytes
    reply: bytes
    connect_started: float
    connected_at: float
    reply_at: float  # the whole echo (or the end of the stream) arrived
    closed_at: float  # close() done: both FINs exchanged

    @property
    def ok(self) -> bool:
        """The server sent back exactly the message."""
        return self.reply == self.message

    @property
    def rtt(self) -> float:
        """From the handshake's end (when the message was sent) to the whole echo."""
        return self.reply_at - self.connected_at


def echo_connection(stream: Stream, stats: EchoServerStats | None = None,
                    recv_size: int = 1 << 16) -> Generator[Event, Any, int]:
    """Serve one connection: echo until the client's FIN, then close. Returns bytes echoed."""
    stats = stats if stats is not None else EchoServerStats()
    stats.active += 1
    stats.peak_active = max(stats.peak_active, stats.active)
    echoed = 0
    try:
        while True:
            data: bytes = yield stream.recv(recv_size)
            if not data:
                break
            yield stream.sendall(data)
            echoed += len(data)
            stats.bytes_echoed += len(data)
        yield stream.close()
        stats.finished += 1
    except TcpError as exc:
        stats.errors += 1
        stats.error_messages.append(str(exc))
        stream.abort()
    finally:
        stats.active -= 1
    return echoed


def echo_server(node: Node, port: int = ECHO_PORT, *, max_connections: int | None = None,
                backlog: int | None = None, cfg: TcpConfig | None = None,
                listener: Listener | None = None,
                stats: EchoServerStats | None = None) -> Generator[Event, Any, EchoServerStats]:
    """Accept connections and serve each one concurrently in its own process.

    With ``max_connections`` the server stops accepting after that many, closes its listener,
    waits for the last connection to finish and returns its `EchoServerStats`; without it, it
    serves until the world stops (pass ``stats`` to watch it). Bad arguments raise
    `UsageError` here, before the process starts.
    """
    if max_connections is not None:
        max_connections = argcheck.whole("max_connections", max_connections, 1, None,
                                         "a number of connections")
    if listener is None:  # (node.listen checks these again, when the process starts)
        argcheck.port("port", port)
        if backlog is not None:
            argcheck.whole("backlog", backlog, 1, None, "a backlog")
        argcheck.instance("cfg", cfg, TcpConfig, "a TcpConfig")
    return _serve(node, port, max_connections, backlog, cfg, listener,
                  stats if stats is not None else EchoServerStats())


def _serve(node: Node, port: int, max_connections: int | None, backlog: int | None,
           cfg: TcpConfig | None, listener: Listener | None,
           stats: EchoServerStats) -> Generator[Event, Any, EchoServerStats]:
    env = node.env
    lst: Listener = listener if listener is not None else node.listen(port, backlog, cfg)
    handlers: list[Process] = []
    while max_connections is None or stats.connections < max_connections:
        stream: Stream = yield lst.accept()
        stats.connections += 1
        proc = env.process(echo_connection(stream, stats))
        if max_connections is not None:
            handlers.append(proc)
    lst.close()
    if handlers:
        yield env.all_of(handlers)
    return stats


def echo_client(node: Node, ip: str | IPv4Address | IPv6Address, port: int = ECHO_PORT,
                message: bytes = b"hello", *,
                cfg: TcpConfig | None = None) -> Generator[Event, Any, EchoResult]:
    """Connect, send ``message``, read until as many bytes came back (or the stream ended),
    close. A TCP error (refused, reset, timed out) is raised from the process; a bad
    argument raises `UsageError` here, before the process starts."""
    data = argcheck.payload("message", message)
    # (node.connect checks these again, when the process starts)
    argcheck.address("ip", ip)
    argcheck.port("port", port)
    argcheck.instance("cfg", cfg, TcpConfig, "a TcpConfig")
    return _exchange(node, ip, port, data, cfg)


def _exchange(node: Node, ip: str | IPv4Address | IPv6Address, port: int, message: bytes,
              cfg: TcpConfig | None) -> Generator[Event, Any, EchoResult]:
    env = node.env
    started = float(env.now)
    stream: Stream = yield node.connect(ip, port, cfg)
    connected = float(env.now)
    yield stream.sendall(message)
    reply = bytearray()
    while len(reply) < len(message):
        data: bytes = yield stream.recv(len(message) - len(reply))
        if not data:
            break
        reply += data
    got = float(env.now)
    yield stream.close()
    return EchoResult(message, bytes(reply), started, connected, got, float(env.now))
