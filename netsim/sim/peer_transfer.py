"""Assignment 10's simulation: a TcpPeer (netsim's `LabPeer`, or a student's) and netsim's
own TCP exchange `nbytes` each way at once across a simulated link that loses, reorders and
duplicates frames both ways, then both close.

h1 runs netsim's TCP (a SimPy process over netsim.sockets: send everything, half-close, read to
the end, close); h2 gives a port to the peer (netsim.stack.tcp.peer_adapter). By default the
peer listens and netsim's TCP connects; with ``active=True`` the peer opens the connection to
netsim's listener. The peer's application writes its whole stream and closes at once, and
reads whatever arrives. The peer is made by calling
``peer_factory(isn=, initial_rto=, max_payload=, capacity=)`` and only its interface methods
are called; every value it returns is checked (the grader passes a sandbox proxy).

    python -m netsim.labrun peer-sim tcp_peer.py [--seed N] [--loss P] [--plot out.png]
"""

from __future__ import annotations

import random
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

from simpy.events import Event

from netsim.errors import UsageError
from netsim.link.loss import Bernoulli
from netsim.node import Node
from netsim.sim.link import LinkConfig
from netsim.sim.topology import two_hosts
from netsim.sim.world import World
from netsim.sockets import Stream
from netsim.stack.events import Tracer
from netsim.stack.tcp.config import TcpConfig
from netsim.stack.tcp.errors import TcpError
from netsim.stack.tcp.peer_adapter import (
    PeerConnection,
    PeerFactory,
    PeerListener,
    connect_peer,
    listen_peer,
    raised,
)

__all__ = ["PeerTransfer", "transfer", "stream_bytes"]

PORT = 5001


@dataclass(frozen=True)
class PeerTransfer:
    """What `transfer` saw, in plain values."""

    to_peer_intact: bool  # the peer read exactly netsim's bytes, then the end of the stream
    from_peer_intact: bool  # netsim's TCP read exactly the peer's bytes, then its FIN
    peer_closed: bool  # the peer became inactive with no RST either way and no error
    netsim_closed: bool  # netsim's connection closed (CLOSED or TIME-WAIT) without an error
    reset: bool  # the peer sent a RST, or took one and ended, or netsim's TCP was reset
    segments: int  # sent by the peer
    retransmissions: int  # of those, segments whose sequence numbers were all sent before
    seconds: float  # simulated, until both sides were done (or the stop)
    error: str = ""  # the first thing that went wrong, one line ("" when nothing did)
    conn: str = ""  # the peer's connection name (for the trace), "" if none opened


def stream_bytes(nbytes: int, seed: int, who: str) -> bytes:
    """The `nbytes` bytes `who` ("peer" or "netsim") sends in the transfer with `seed`."""
    return random.Random(f"netsim-peer-transfer:{who}:{seed}").randbytes(nbytes)


def transfer(peer_factory: PeerFactory, seed: int = 1, *, active: bool = False,
             nbytes: int = 1_000_000, loss: float = 0.05, reorder: float = 0.05,
             duplicate: float = 0.02, delay: float = 0.01, rate_bps: float = 20e6,
             initial_rto: float = 0.2, max_payload: int = 1000, capacity: int = 64000,
             time_limit: float = 600.0, trace: Tracer | None = None) -> PeerTransfer:
    """Run the exchange of the module doc once; see `PeerTransfer` for the result."""
    if isinstance(nbytes, bool) or not isinstance(nbytes, int) or nbytes < 0:
        raise UsageError(f"nbytes: {nbytes!r} is not allowed; use a whole number >= 0")
    for name, p in (("loss", loss), ("reorder", reorder), ("duplicate", duplicate)):
        if not 0.0 <= p < 1.0:
            raise UsageError(f"{name}: {p!r} is not allowed; use a probability in [0, 1)")
    rng = random.Random(f"netsim-peer-transfer:{seed}")
    up, down = stream_bytes(nbytes, seed, "peer"), stream_bytes(nbytes, seed, "netsim")
    world = World(seed)
    env = world.env
    link = LinkConfig(delay=delay, rate_bps=rate_bps, loss=Bernoulli(loss) if loss else None,
                      reorder=reorder, duplicate=duplicate)
    net = two_hosts(world, link, trace=trace, tcp=TcpConfig())
    h1, h2 = net.hosts
    state: dict[str, Any] = {"conn": None, "got": bytearray(), "netsim": None,
                             "netsim_done": False, "peer_eof": False, "started": False}
    done = env.event()

    def check_done() -> None:
        # both ends done. A peer that broke the interface is done too (the adapter reset its
        # connection, and netsim's TCP ends when the RST, or the answer to its next segment,
        # arrives), but netsim's TCP never connects to a peer that failed before its SYN, or
        # that could not be made
        conn: PeerConnection | None = state["conn"]
        lst: PeerListener | None = state.get("listener")
        peer_done = conn is not None and conn.closed
        never = conn is None and lst is not None and lst.error is not None or \
            conn is not None and conn.error is not None and state["netsim"] is None
        if not done.triggered and (state["netsim_done"] and peer_done or never):
            done.succeed()

    def peer_app(conn: PeerConnection) -> None:
        """The peer's application, called after every change: at its first call (after the
        peer's connect() or first receive()) it writes its whole stream and closes; always
        it reads what arrived and looks for the end of the stream."""
        if conn.error is None and not conn.closed:
            if not state["started"]:
                state["started"] = True
                conn.write(up)
                conn.close()
            state["got"] += conn.read()
            if not state["peer_eof"] and conn.at_eof():
                state["peer_eof"] = True
        check_done()

    def on_open(conn: PeerConnection) -> None:
        if state["conn"] is None:  # (a second SYN from elsewhere would get a peer of its own)
            state["conn"] = conn
            conn.notify = peer_app

    def netsim_app() -> Generator[Event, Any, None]:
        stream: Stream
        if active:
            listener = h1.listen(PORT)
            stream = yield listener.accept()
            listener.close()
        else:
            stream = yield h1.connect(h2.ip, PORT)
        state["netsim"] = stream
        sending = stream.sendall(down)
        got = bytearray()
        while True:
            chunk = yield stream.recv(65536)
            if not chunk:
                break
            got += chunk
        yield sending
        stream.shutdown()
        yield stream.close()
        state["netsim_got"] = bytes(got)

    def netsim_finished(ev: Event) -> None:
        if not ev.ok:
            ev.defused = True
            exc = ev.value
            assert isinstance(exc, BaseException)
            if not isinstance(exc, TcpError):
                raise exc  # a bug of netsim's, not an outcome
            state["netsim_error"] = f"netsim's TCP: {exc}"
        state["netsim_done"] = True
        check_done()

    peer_args: dict[str, Any] = {"initial_rto": initial_rto, "max_payload": max_payload,
                                 "capacity": capacity}
    proc = env.process(netsim_app())
    proc.callbacks.append(netsim_finished)
    if active:
        try:
            peer = peer_factory(isn=rng.randrange(1 << 32), **peer_args)
        except Exception as exc:
            return _failed(f"making the peer raised {raised(exc)}")

        def begin() -> Generator[Event, Any, None]:
            yield env.timeout(0.001)  # once netsim's listener is up
            state["conn"] = connect_peer(h2.stack, h1.ip, PORT, peer, max_payload=max_payload,
                                         notify=peer_app)
            check_done()
        env.process(begin())
    else:
        state["listener"] = listen_peer(h2.stack, PORT, peer_factory,
                                        isn=lambda: rng.randrange(1 << 32), on_open=on_open,
                                        **peer_args)
    env.run(until=env.any_of([done, env.timeout(time_limit)]))
    return _result(state, env.now, up, down, time_limit, h1, h2)


def _failed(error: str) -> PeerTransfer:
    return PeerTransfer(False, False, False, False, False, 0, 0, 0.0, error)


def _result(state: dict[str, Any], now: float, up: bytes, down: bytes, time_limit: float,
            h1: Node, h2: Node) -> PeerTransfer:
    conn: PeerConnection | None = state["conn"]
    stream: Stream | None = state["netsim"]
    netsim_got = state.get("netsim_got")
    netsim_error = state.get("netsim_error", "")
    error = ""
    if conn is not None and conn.error is not None:
        error = str(conn.error)
    elif netsim_error:
        error = netsim_error
    elif conn is None:
        lst = state.get("listener")
        error = str(lst.error) if lst is not None and lst.error is not None else \
            "no connection was opened"
    elif not (state["netsim_done"] and conn.closed):
        error = f"not done after the time limit of {time_limit:g} simulated seconds"
    to_peer_intact = bytes(state["got"]) == down and bool(state["peer_eof"])
    from_peer_intact = netsim_got == up
    netsim_closed = stream is not None and not netsim_error and netsim_got is not None \
        and stream.conn.error is None
    # A RST the peer took after both streams were complete and netsim's TCP had closed ended
    # its linger early, as a RST ends TIME-WAIT (RFC 9293 §3.10.7.4): a late duplicate of the
    # peer's reached netsim's closed port, which answered it with a RST. That is a clean end.
    late = conn is not None and conn.reset and not conn.rst_sent and to_peer_intact and \
        from_peer_intact and netsim_closed
    reset = conn is not None and (conn.rst_sent or conn.reset) and not late or \
        stream is not None and stream.conn.error is not None
    peer_closed = conn is not None and conn.closed and conn.error is None and not reset
    return PeerTransfer(
        to_peer_intact=to_peer_intact,
        from_peer_intact=from_peer_intact,
        peer_closed=peer_closed,
        netsim_closed=netsim_closed,
        reset=reset,
        segments=conn.segs_out if conn is not None else 0,
        retransmissions=conn.retransmissions if conn is not None else 0,
        seconds=float(now),
        error=error,
        conn=conn.name if conn is not None else "")
