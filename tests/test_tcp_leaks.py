"""A closed connection leaves nothing behind: no table entry, no live timer, no listener
entry — whichever way it ended."""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

import pytest

from netsim.sim.link import LinkConfig
from netsim.sim.topology import two_hosts
from netsim.sim.world import World
from netsim.stack.tcp.config import TcpConfig
from netsim.stack.tcp.states import State
from netsim.testing import TcpScript

CFG = TcpConfig(timestamps=False, sack=False, window_scaling=False, delayed_ack=0, msl=0.5,
                syn_retries=2, max_retries=3)


def _active_close(h: TcpScript) -> None:
    h.establish_active()
    h.app_send(b"data")
    h.app_close()
    h.inject(flags="A", ack=h.rel(6))
    h.inject(flags="FA", ack=h.rel(6))
    h.advance(1.0)  # 2 MSL


def _passive_close(h: TcpScript) -> None:
    h.establish_passive()
    h.inject(flags="PA", payload=b"req")
    h.inject(flags="FA")
    h.app_send(b"resp")
    h.app_close()
    h.inject(flags="A", ack=h.rel(6))


def _simultaneous_close(h: TcpScript) -> None:
    h.establish_active()
    h.app_close()
    h.inject(flags="FA", ack=h.rel(1))
    h.inject(flags="A", seq=h.prel(2), ack=h.rel(2))
    h.advance(1.0)


def _abort(h: TcpScript) -> None:
    h.establish_active()
    h.app_send(b"unacked data")
    h.app_abort()


def _reset_by_peer(h: TcpScript) -> None:
    h.establish_passive()
    h.app_send(b"unacked data")
    h.inject(flags="R", seq=h.prel(1))


def _refused(h: TcpScript) -> None:
    h.connect(80)
    h.inject(flags="RA", seq=0, ack=h.rel(1))


def _syn_timeout(h: TcpScript) -> None:
    h.connect(80)
    h.advance(100)


def _syn_ack_timeout(h: TcpScript) -> None:
    h.listen(80)
    h.inject(flags="S", seq=1)
    h.advance(100)


def _data_timeout(h: TcpScript) -> None:
    h.establish_active()
    h.app_send(b"nobody listens")
    h.advance(1000)


def _fin_wait_1_timeout(h: TcpScript) -> None:
    h.establish_active()
    h.app_close()
    h.advance(1000)


def _embryonic_reset(h: TcpScript) -> None:
    h.listen(80)
    h.inject(flags="S", seq=1)
    h.inject(flags="R", seq=2)


def _listener_closed_with_pending(h: TcpScript) -> None:
    lst = h.listen(80)
    h.inject(flags="S", seq=1, sport=41000)  # half-open
    h.inject(flags="S", seq=1, sport=41001)
    h.inject(flags="A", seq=2, ack=(h.sent[-1].seg.seq + 1) & 0xFFFFFFFF, sport=41001)
    assert len(lst.half_open) == 1 and len(lst.accept_queue) == 1
    lst.close(h.now)


ENDINGS: dict[str, Callable[[TcpScript], None]] = {
    f.__name__.strip("_"): f for f in (
        _active_close, _passive_close, _simultaneous_close, _abort, _reset_by_peer, _refused,
        _syn_timeout, _syn_ack_timeout, _data_timeout, _fin_wait_1_timeout, _embryonic_reset,
        _listener_closed_with_pending)}


@pytest.mark.parametrize("ending", list(ENDINGS))
def test_nothing_left_behind(ending: str) -> None:
    h = TcpScript(CFG)
    ENDINGS[ending](h)
    if h.conn is not None:
        assert h.conn.state is State.CLOSED, h.script()
    tcp = h.stack.tcp
    assert tcp.state_count() == 0, h.script()
    assert not tcp.conns
    for lst in tcp.listeners.values():
        assert not lst.half_open and not lst.accept_queue
    assert len(h.stack.timers) == 0, h.script()
    h.drain()
    h.advance(10_000)
    h.expect_nothing()


def test_thousand_connections_leave_nothing_behind() -> None:
    world = World(3)
    net = two_hosts(world, LinkConfig(delay=0.0005, rate_bps=100e6),
                    tcp=TcpConfig(msl=0.01, delayed_ack=0.01))
    client, server = net.hosts
    n = 1000
    received: list[bytes] = []
    listener = server.listen(7000)

    def serve() -> Generator[Any, Any, None]:
        while True:
            s = yield listener.accept()
            world.env.process(handle(s))

    def handle(s: Any) -> Generator[Any, Any, None]:
        data = b""
        while True:
            chunk = yield s.recv()
            if not chunk:
                break
            data += chunk
        received.append(data)
        yield s.sendall(b"ok:" + data)
        yield s.close()

    replies: list[bytes] = []
    done_at: list[float] = []

    def run_clients() -> Generator[Any, Any, None]:
        for i in range(n):
            s = yield client.connect("10.0.0.2", 7000)
            yield s.sendall(b"request %d" % i)
            s.shutdown()
            reply = b""
            while True:
                chunk = yield s.recv()
                if not chunk:
                    break
                reply += chunk
            replies.append(reply)
            yield s.close()
        done_at.append(world.env.now)

    world.env.process(serve())
    world.env.process(run_clients())
    world.run(until=30.0)  # the clients finish long before; ARP entries live for 60 s
    assert done_at and done_at[0] < 29.0, done_at
    assert received == [b"request %d" % i for i in range(n)]
    assert replies == [b"ok:request %d" % i for i in range(n)]
    for node in (client, server):
        # the only timer still live is the stack's own (ARP entry expiry), none of TCP's
        live = [owner for when, _, owner in node.stack.timers._heap if owner.timer_at == when]
        assert live == [node.stack]
        assert node.stack.tcp.state_count() == 0
    world.run()  # until nothing is scheduled: the ARP entries expire too
    for node in (client, server):
        stack = node.stack
        assert stack.tcp.state_count() == 0
        assert not stack.tcp.conns
        assert len(stack.timers) == 0
        assert stack.counters["tcp"]["tx_rst"] == 0
    lst = listener.listener
    assert not lst.half_open and not lst.accept_queue
    assert server.stack.tcp.listeners == {7000: lst}
