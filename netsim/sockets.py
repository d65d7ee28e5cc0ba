"""Listener, stream and datagram objects for applications written as SimPy processes.

The same application code runs in simulation and live mode: it only sees these
objects and SimPy events.

    def client(node):
        stream = yield node.connect("10.0.0.2", 7)
        yield stream.sendall(b"hello")
        data = yield stream.recv(4096)      # b"" at end of stream
        yield stream.close()

Over IPv6 the same calls take IPv6 addresses, as an AF_INET6 socket would:
``node.connect("2001:db8::2", 7)`` connects over IPv6 (``stream.peer`` is then an
`IPv6Address` and port), and ``node.listen(7)`` (or ``address="::"``) accepts both families;
``address="0.0.0.0"`` only IPv4, ``address="2001:db8::2"`` only that address.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Generator, Sequence
from ipaddress import IPv4Address, IPv6Address
from typing import TYPE_CHECKING, Any, Final, SupportsIndex

from simpy.events import Event, Process

from netsim import argcheck
from netsim.errors import UsageError
from netsim.stack.tcp.config import TcpConfig
from netsim.stack.tcp.connection import TcpConnection
from netsim.stack.tcp.errors import ConnectionClosed
from netsim.stack.tcp.layer import TcpListener
from netsim.stack.tcp.states import State

if TYPE_CHECKING:
    from typing_extensions import Buffer

    from netsim.node import Node

# Arguments users pass are declared with protocols and ABCs (`Buffer`: any bytes-like
# object; `SupportsIndex`: an int; `Sequence`: sendto's (address, port) tuple), which the
# compiled build does not check: a wrong type then reaches netsim.argcheck, whose
# UsageError names the argument, rather than mypyc's generic TypeError.

# Final constants: read directly by the compiled build (see netsim.stack.tcp.states)
CLOSED: Final = State.CLOSED
ESTABLISHED: Final = State.ESTABLISHED
TIME_WAIT: Final = State.TIME_WAIT

# `TcpConnection.rcv_lowat` while no read waits: more bytes than any buffer holds
_NO_READER: Final = 1 << 60

__all__ = ["Stream", "Listener", "DatagramSocket", "open_connection"]


class Stream:
    """A connected TCP socket."""

    # one per connection end; compiled, a Stream takes no new attributes either
    __slots__ = ("node", "env", "conn", "_readers", "_writers", "_closed_waiters",
                 "_connect_event")

    def __init__(self, node: Node, conn: TcpConnection) -> None:
        self.node = node
        self.env = node.env
        self.conn = conn
        # The events waiting on the stream, each list made when the first one waits (an idle
        # connection end has none: three empty lists were 170 bytes of its ~3.5 kB).
        # Reads: (event, max, low-water), a list, not a deque: rarely more than one, and an
        # empty deque costs over 600 bytes (a block of 64 slots)
        self._readers: list[tuple[Event, int, int]] | None = None
        self._writers: list[Event] | None = None  # None again once woken
        self._closed_waiters: list[Event] | None = None  # the same
        self._connect_event: Event | None = None  # open_connection's, until it fires
        # the stream itself is the connection's callback (`__call__`): a bound method kept
        # per connection would cost 80 bytes more
        conn.notify = self
        # no read waiting: data need not wake us (__call__ would find nothing to do)
        conn.rcv_lowat = _NO_READER

    # ------------------------------------------------------------------ notifications
    def __call__(self, event: str) -> None:
        """What the connection tells its stream (`TcpConnection.notify`): "established",
        "readable", "eof", "writable", "error" or "closed"."""
        conn = self.conn
        if event == "established":
            connected = self._connect_event
            if connected is not None:
                self._connect_event = None
                if not connected.triggered:
                    connected.succeed(self)
            return
        if event in ("readable", "eof", "error", "closed"):
            readers = self._readers
            while readers and self._can_read(readers[0][2]):
                ev, n, _ = readers.pop(0)
                self._finish_read(ev, n)
            # wake us again for data once the next read waiting can take it
            conn.rcv_lowat = readers[0][2] if readers else _NO_READER
        if event in ("writable", "error", "closed"):
            writers = self._writers
            if writers is not None:
                self._writers = None
                for ev in writers:
                    if not ev.triggered:
                        ev.succeed()
        if event == "error" and self._connect_event is not None and \
                not self._connect_event.triggered:
            assert conn.error is not None
            self._connect_event.fail(conn.error)
        if conn.state is CLOSED or conn.state is TIME_WAIT:
            waiters = self._closed_waiters
            if waiters is not None:
                self._closed_waiters = None
                for ev in waiters:
                    if not ev.triggered:
                        self._finish_close(ev)

    def _finish_close(self, ev: Event) -> None:
        """A close that ended in an error (reset, timed out) fails, so the application
        learns its data may not have arrived."""
        err = self.conn.error
        if err is not None and not isinstance(err, ConnectionClosed):
            ev.fail(err)
        else:
            ev.succeed()

    def _finish_read(self, ev: Event, n: int) -> None:
        conn = self.conn
        if conn.readable:
            ev.succeed(conn.recv(n, self.env.now))
        elif conn.error is not None and not isinstance(conn.error, ConnectionClosed) and \
                not conn.at_eof:
            ev.fail(conn.error)
        else:
            ev.succeed(b"")

    # ------------------------------------------------------------------ reading
    def _can_read(self, lowat: int) -> bool:
        conn = self.conn
        return (conn.readable >= lowat or conn.fin_received or conn.error is not None
                or conn.state is CLOSED)

    def recv(self, max_bytes: SupportsIndex = 65536, min_bytes: SupportsIndex = 1) -> Event:
        """An event with up to `max_bytes` bytes; b"" at the end of the stream.

        `min_bytes` is a low-water mark like SO_RCVLOWAT: the event waits until that many
        bytes are ready (or the stream ends), so a bulk reader wakes once per chunk rather
        than once per segment. It is capped at 1/64 of the receive buffer, so waiting for it
        never closes a noticeable part of the window (with a small buffer it does nothing)."""
        # (checked here: a read left waiting would raise it inside the stack)
        n = max_bytes if type(max_bytes) is int else argcheck.whole("max_bytes", max_bytes)
        if n < 0:
            raise UsageError(f"recv: max_bytes {n!r} is negative; use a size >= 0")
        low = min_bytes if type(min_bytes) is int else argcheck.whole("min_bytes", min_bytes)
        if low < 0:
            raise UsageError(f"recv: min_bytes {low!r} is negative; use a size >= 0")
        ev = self.env.event()
        lowat = max(1, min(low, n, self.conn.cfg.rcvbuf // 64))
        readers = self._readers
        if not readers and self._can_read(lowat):
            self._finish_read(ev, n)
        else:
            if readers is None:
                readers = self._readers = []
            if not readers:
                self.conn.rcv_lowat = lowat
            readers.append((ev, n, lowat))
        return ev

    def recv_exactly(self, n: SupportsIndex) -> Process:
        """A process that returns the next `n` bytes (fewer only at the end of the stream)."""
        want = argcheck.whole("n", n)

        def run() -> Generator[Event, Any, bytes]:
            buf = bytearray()
            while len(buf) < want:
                chunk = yield self.recv(want - len(buf))
                if not chunk:
                    break
                buf += chunk
            return bytes(buf)
        return self.env.process(run())

    # ------------------------------------------------------------------ writing
    def sendall(self, data: Buffer) -> Process:
        """A process that finishes once all of `data` is in the send buffer (any bytes-like
        object, as a socket's sendall: bytes, bytearray, memoryview, array, ...)."""
        # bytes as they are (bulk senders call this per 64 kB); anything else is copied once
        # to bytes here, so that a bad argument raises now rather than inside the process
        raw = data if type(data) is bytes else argcheck.payload("data", data)

        def run() -> Generator[Event, Any, int]:
            view = memoryview(raw)
            off = 0
            while off < len(raw):
                space = self.conn.send_space
                n = 0
                if space:
                    # all of it in one go: hand it over as it is (bytes: immutable), else
                    # a copy of the part that fits
                    whole = off == 0 and space >= len(raw)
                    n = self.conn.send(raw if whole else bytes(view[off:off + space]),
                                       self.env.now)
                off += n
                if off < len(raw):
                    ev = self.env.event()
                    if self._writers is None:
                        self._writers = []
                    self._writers.append(ev)
                    yield ev
                    if self.conn.error is not None:
                        raise self.conn.error
            return off
        return self.env.process(run())

    def send(self, data: Buffer) -> int:
        """Queue as much of `data` (any bytes-like object) as fits now; returns the number
        of bytes taken."""
        raw = data if type(data) is bytes else argcheck.payload("data", data)
        return self.conn.send(raw, self.env.now)

    # ------------------------------------------------------------------ closing
    def shutdown(self) -> None:
        """Half-close: send a FIN after the queued data, keep receiving."""
        self.conn.shutdown(self.env.now)

    def close(self) -> Event:
        """Close both directions; the event fires when the connection has closed (CLOSED or
        TIME-WAIT) — our FIN acknowledged and the peer's FIN received."""
        ev = self.env.event()
        conn = self.conn
        conn.close(self.env.now)
        if conn.state in (CLOSED, TIME_WAIT):
            self._finish_close(ev)
        else:
            self._wait_close(ev)
        return ev

    def wait_closed(self) -> Event:
        ev = self.env.event()
        if self.conn.state in (CLOSED, TIME_WAIT):
            self._finish_close(ev)
        else:
            self._wait_close(ev)
        return ev

    def _wait_close(self, ev: Event) -> None:
        if self._closed_waiters is None:
            self._closed_waiters = []
        self._closed_waiters.append(ev)

    def abort(self) -> None:
        self.conn.abort(self.env.now)

    @property
    def state(self) -> State:
        return self.conn.state

    @property
    def peer(self) -> tuple[IPv4Address | IPv6Address, int]:
        """The remote address and port (as getpeername; an IPv6 address over IPv6)."""
        return self.conn.remote_ip, self.conn.remote_port

    @property
    def local(self) -> tuple[IPv4Address | IPv6Address, int]:
        """Our address and port (as getsockname)."""
        return self.conn.local_ip, self.conn.local_port

    def __repr__(self) -> str:
        return f"<Stream {self.conn.name} {self.conn.state}>"


def open_connection(node: Node, ip: str | IPv4Address | IPv6Address, port: int,
                    cfg: TcpConfig | None,
                    local_port: int = 0) -> Event:
    conn = node.stack.tcp.connect(ip, port, node.env.now, local_port, cfg)
    stream = Stream(node, conn)
    ev = node.env.event()
    if conn.state is ESTABLISHED:
        ev.succeed(stream)
    elif conn.error is not None:
        ev.fail(conn.error)
    else:
        stream._connect_event = ev  # (for __call__: "established" or "error")
    return ev


class Listener:
    def __init__(self, node: Node, lst: TcpListener) -> None:
        self.node = node
        self.listener = lst
        self._waiters: deque[Event] = deque()
        lst.notify = self._on_event

    @property
    def port(self) -> int:
        return self.listener.port

    def _on_event(self, event: str) -> None:
        while self._waiters and self.listener.accept_queue:
            conn = self.listener.accept()
            if conn is None:
                break
            self._waiters.popleft().succeed(Stream(self.node, conn))

    def accept(self) -> Event:
        """An event with the next connected `Stream`."""
        ev = self.node.env.event()
        conn = self.listener.accept() if not self._waiters else None
        if conn is not None:
            ev.succeed(Stream(self.node, conn))
        else:
            self._waiters.append(ev)
        return ev

    def close(self) -> None:
        self.listener.close(self.node.env.now)


class DatagramSocket:
    """A bound UDP socket; `recvfrom()` is an event with (payload, (ip, port))."""

    def __init__(self, node: Node, port: int = 0) -> None:
        self.node = node
        self._queue: deque[tuple[bytes, tuple[IPv4Address | IPv6Address, int]]] = deque()
        self._waiters: deque[Event] = deque()
        self.errors: deque[tuple[int, int, IPv4Address | IPv6Address, float]] = deque()
        self.endpoint = node.stack.udp.bind(port, self._on_datagram, self._on_error)

    @property
    def port(self) -> int:
        return self.endpoint.port

    def _on_datagram(self, payload: bytes, ip: IPv4Address | IPv6Address, port: int,
                     now: float) -> None:
        if self._waiters:
            self._waiters.popleft().succeed((payload, (ip, port)))
        else:
            self._queue.append((payload, (ip, port)))

    def _on_error(self, type_: int, code: int, sender: IPv4Address | IPv6Address,
                  now: float) -> None:
        self.errors.append((type_, code, sender, now))

    def sendto(self, payload: Buffer,
               addr: Sequence[str | IPv4Address | IPv6Address | SupportsIndex],
               ttl: SupportsIndex = 64) -> bool:
        """Send one datagram of `payload` (any bytes-like object) to `addr`, an (address,
        port) pair; False when it could not be routed."""
        raw = payload if type(payload) is bytes else argcheck.payload("payload", payload)
        if not isinstance(addr, tuple) or len(addr) != 2:
            raise UsageError(f"addr: {addr!r:.60} is not an (address, port) pair; use e.g. "
                             "('10.0.0.2', 7)")
        ip = argcheck.address("addr", addr[0])
        port = argcheck.port("port", addr[1])
        hops = argcheck.whole("ttl", ttl, 1, 255, "a TTL")
        # 16-bit length fields: UDP's (RFC 768: 8 bytes of header) and, over IPv4, the IP
        # packet's total length (20 bytes of header); Linux refuses more with EMSGSIZE
        most = 0xFFFF - 8 - (20 if isinstance(ip, IPv4Address) else 0)
        if len(raw) > most:
            raise UsageError(f"payload: {len(raw)} bytes is more than a UDP datagram holds; "
                             f"send at most {most} to {ip}")
        return self.endpoint.sendto(raw, (ip, port), self.node.env.now, ttl=hops)

    def recvfrom(self) -> Event:
        ev = self.node.env.event()
        if self._queue:
            ev.succeed(self._queue.popleft())
        else:
            self._waiters.append(ev)
        return ev

    def close(self) -> None:
        self.endpoint.close()

