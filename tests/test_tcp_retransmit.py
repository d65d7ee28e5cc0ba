"""The retransmission timer of a connection (RFC 6298 §5, Karn's algorithm, giving up),
as segment-level scripts (netsim.testing.script) and one SimPy run."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest

from netsim.sim.link import LinkConfig
from netsim.sim.topology import two_hosts
from netsim.sim.world import World
from netsim.stack.tcp.config import TcpConfig
from netsim.stack.tcp.connection import TcpConnection
from netsim.stack.tcp.errors import ConnectionTimedOut
from netsim.stack.tcp.states import State
from netsim.testing.script import TcpScript

MSS = 1000
PEER_ISS = 5000
HANDSHAKE_RTT = 0.1


def established(cfg: TcpConfig | None = None) -> tuple[TcpScript, TcpConnection]:
    """A passive open at t=10 whose handshake takes 100 ms; the peer offers MSS 1000 and no
    timestamps, so RTT samples come from timed segments (Karn's algorithm applies)."""
    h = TcpScript(cfg, start=10.0)
    h.listen(80)
    h.inject(flags="S", seq=PEER_ISS, options={"mss": MSS})
    h.expect(flags="SA", ack=PEER_ISS + 1)
    h.advance(HANDSHAKE_RTT)
    h.inject(flags="A", seq=PEER_ISS + 1, ack=h.rel(1))
    conn = h.accept()
    assert conn is not None and conn.state is State.ESTABLISHED
    assert not conn.ts_ok
    return h, conn


def test_handshake_gives_the_first_rtt_sample() -> None:
    h, conn = established()
    assert conn.rto_est.srtt == pytest.approx(HANDSHAKE_RTT)
    assert conn.rto_est.rttvar == pytest.approx(HANDSHAKE_RTT / 2)


def test_no_timer_before_data_then_retransmission_exactly_at_rto() -> None:
    # RFC 6298 (5.1): the timer starts when a data segment is sent and it is not running.
    h, conn = established()
    h.advance(30.0)
    h.expect_nothing()
    h.app_send(b"a" * 500)
    first = h.expect(flags="PA", seq=h.rel(1), payload=b"a" * 500)
    rto = conn.rto_est.rto
    h.advance(rto - 0.001)
    h.expect_nothing()
    h.advance(0.001)
    again = h.expect(flags="PA", seq=first.seq, payload=first.payload)
    assert again.ack == PEER_ISS + 1
    assert conn.retransmissions == 1 and conn.timeouts == 1


def test_timer_stops_when_everything_is_acknowledged() -> None:
    # RFC 6298 (5.2): all outstanding data acknowledged: turn off the timer.
    h, conn = established()
    h.app_send(b"b" * 2000)
    h.expect(flags="A", payload=b"b" * MSS)
    h.expect(flags="PA", payload=b"b" * MSS)
    h.advance(0.05)
    h.inject(flags="A", seq=PEER_ISS + 1, ack=h.rel(2001))
    h.advance(600.0)
    h.expect_nothing()
    assert conn.retransmissions == 0


def test_new_ack_restarts_the_timer() -> None:
    # RFC 6298 (5.3): an ACK of new data restarts the timer (RTO from now), so nothing is
    # retransmitted at the first send time + RTO.
    h, conn = established()
    h.app_send(b"c" * 2000)
    h.expect(flags="A", seq=h.rel(1))
    second = h.expect(flags="PA", seq=h.rel(1 + MSS))
    t_send = h.now
    rto_at_send = conn.rto_est.rto
    h.advance(rto_at_send * 0.6)
    h.inject(flags="A", seq=PEER_ISS + 1, ack=h.rel(1 + MSS))
    t_ack = h.now
    rto = conn.rto_est.rto  # the ACK was a sample: the RTO may have been recomputed
    h.advance_to(t_send + rto_at_send + 0.001)
    if t_ack + rto > h.now:
        h.expect_nothing()
    h.advance_to(t_ack + rto - 0.001)
    h.expect_nothing()
    h.advance_to(t_ack + rto)
    h.expect(flags="PA", seq=second.seq, payload=second.payload)


def test_expiry_retransmits_earliest_unacked_with_exponential_backoff() -> None:
    # RFC 6298 (5.4)-(5.6): retransmit the earliest unacknowledged segment, double the RTO,
    # restart the timer. Three segments are outstanding; each expiry resends only the first.
    h, conn = established()
    h.app_send(b"d" * 3000)
    segs = h.drain()
    assert [len(s.payload) for s in segs] == [MSS, MSS, MSS]
    rto = conn.rto_est.rto
    times = []
    for _ in range(4):
        h.advance(conn.rto_est.rto - 0.001)
        h.expect_nothing()
        h.advance(0.001)
        seg = h.expect(seq=h.rel(1), payload=b"d" * MSS)
        assert seg.flags  # an ACK is always set in the data phase
        h.expect_nothing()  # one segment per expiry
        times.append(h.now)
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert gaps == pytest.approx([2 * rto, 4 * rto, 8 * rto])
    assert conn.rto_est.backoffs == 4
    # The peer finally acknowledges the first segment: the rest follows.
    h.inject(flags="A", seq=PEER_ISS + 1, ack=h.rel(1 + MSS))
    rest = h.drain()
    assert rest and rest[0].seq == h.rel(1 + MSS)


def test_karn_no_sample_from_a_retransmitted_segment() -> None:
    # Karn's algorithm (RFC 6298 §3): an ACK for a retransmitted segment is ambiguous and
    # gives no RTT sample; the backed-off RTO stays until a fresh segment is timed.
    h, conn = established()
    srtt, rttvar = conn.rto_est.srtt, conn.rto_est.rttvar
    base = conn.rto_est.rto
    h.app_send(b"e" * 400)
    h.expect(flags="PA")
    h.advance(base)
    h.expect(flags="PA", seq=h.rel(1))  # the retransmission
    h.advance(0.02)
    h.inject(flags="A", seq=PEER_ISS + 1, ack=h.rel(401))
    assert conn.rto_est.srtt == srtt and conn.rto_est.rttvar == rttvar
    assert conn.rto_est.rto == pytest.approx(2 * base)
    # New data, never retransmitted, acknowledged after 0.3 s: that is a sample.
    h.app_send(b"f" * 400)
    h.expect(flags="PA", seq=h.rel(401))
    h.advance(0.3)
    h.inject(flags="A", seq=PEER_ISS + 1, ack=h.rel(801))
    assert conn.rto_est.srtt == pytest.approx(0.875 * HANDSHAKE_RTT + 0.125 * 0.3)
    assert conn.rto_est.backoffs == 0


def test_gives_up_after_max_retries_with_connection_timed_out() -> None:
    h, conn = established(TcpConfig(max_retries=3))
    events: list[str] = []
    conn.notify = events.append
    h.app_send(b"g" * 300)
    h.expect(flags="PA")
    retransmitted = 0
    for _ in range(3):
        h.advance(conn.rto_est.rto)
        h.expect(flags="PA", seq=h.rel(1))
        retransmitted += 1
    assert conn.state is State.ESTABLISHED
    h.advance(conn.rto_est.rto - 0.001)
    assert conn.state is State.ESTABLISHED
    h.advance(0.001)
    assert conn.state is State.CLOSED
    assert isinstance(conn.error, ConnectionTimedOut)
    assert "error" in events
    assert retransmitted == 3 and conn.retransmissions == 3
    with pytest.raises(ConnectionTimedOut):
        conn.send(b"more", h.now)
    assert h.stack.tcp.state_count() == 0


def test_syn_lost_without_sample_data_rto_is_three_seconds() -> None:
    # RFC 6298 (5.7): after a SYN timeout with no RTT sample, RTO is 3 s for the data phase.
    h = TcpScript(start=0.0)
    conn = h.connect(80)
    h.expect(flags="S")
    h.advance(1.0)  # initial RTO 1 s (2.1)
    h.expect(flags="S")  # the retransmitted SYN
    h.advance(0.5)
    h.inject(flags="SA", seq=PEER_ISS, ack=h.rel(1), options={"mss": MSS})
    h.expect(flags="A")
    assert conn.state is State.ESTABLISHED
    assert conn.rto_est.srtt is None  # Karn: the SYN-ACK answered a retransmitted SYN
    assert conn.rto_est.rto == 3.0
    h.app_send(b"h" * 100)
    h.expect(flags="PA")
    h.advance(2.999)
    h.expect_nothing()
    h.advance(0.001)
    h.expect(flags="PA", seq=h.rel(1))


class _CutAfterHandshake:
    """A loss model that loses everything once `cut[0]` is set (shared through a closure,
    since each link direction deep-copies its loss model)."""

    def __init__(self, cut: list[bool]) -> None:
        self.is_cut = lambda: cut[0]

    def drop(self, frame: bytes, index: int, rng: Any) -> bool:
        return self.is_cut()


def test_application_sees_connection_timed_out_when_the_link_dies() -> None:
    world = World(3)
    cut = [False]
    link = LinkConfig(delay=0.005, rate_bps=100e6, loss=_CutAfterHandshake(cut))
    cfg = TcpConfig(min_rto=0.2, max_retries=5)
    net = two_hosts(world, link, tcp=cfg)
    h1, h2 = net.hosts
    outcome: dict[str, object] = {}

    def server() -> Generator[Any, Any, None]:
        lst = h2.listen(9000)
        s = yield lst.accept()
        outcome["server_stream"] = s

    def client() -> Generator[Any, Any, None]:
        s = yield h1.connect("10.0.0.2", 9000)
        cut[0] = True  # from now on the link loses every frame
        outcome["cut_at"] = world.now
        try:
            yield s.sendall(b"x" * 200_000)
            yield s.recv(1000)
        except ConnectionTimedOut as exc:
            outcome["error"] = exc
            outcome["error_at"] = world.now

    world.env.process(server())
    world.env.process(client())
    world.run(until=3600)
    assert isinstance(outcome.get("error"), ConnectionTimedOut)
    conn = h1.stack.tcp.conns
    assert not conn  # the connection is gone from the table
    # 5 retransmissions then a final timeout, each RTO doubled: at least 0.2 * (2**6 - 1).
    waited = float(outcome["error_at"]) - float(outcome["cut_at"])  # type: ignore[arg-type]
    assert waited >= 0.2 * 63 - 1e-6
    assert h1.stack.counters["tcp"]["timeouts"] == 6


def test_pure_ack_after_go_back_n_carries_snd_max() -> None:
    # After a timeout SND.NXT is pulled back to the first unacknowledged segment; an ACK
    # sent then must still carry a sequence number the peer finds acceptable, i.e. not
    # below what it has already received (4.4BSD sends SND.MAX). Otherwise two sides that
    # both time out can each drop the other's ACKs as out-of-window for good.
    h, conn = established(TcpConfig(delayed_ack=0))
    h.app_send(b"k" * 3000)
    assert len(h.drain()) == 3
    h.advance(conn.rto_est.rto)
    h.expect(seq=h.rel(1), payload=b"k" * MSS)  # go-back-N from SND.UNA
    # The peer (which got everything, but whose ACKs were lost) sends data of its own.
    h.inject(flags="PA", seq=PEER_ISS + 1, ack=h.rel(1), payload=b"peer data")
    ack = h.expect(flags="A", ack=PEER_ISS + 1 + 9)
    assert ack.seq == h.rel(3001)
    assert not ack.payload


def test_retransmission_stays_inside_the_peer_window() -> None:
    # The peer offers 600 bytes: the first segment holds 600 (half its window), and the
    # retransmission of it after a timeout is 600 bytes too, not a full MSS.
    h = TcpScript(start=0.0)
    h.establish_passive(80, peer_iss=PEER_ISS, window=600, options={"mss": MSS})
    assert h.conn is not None
    h.app_send(b"w" * 3000)
    first = h.expect(flags="A", seq=h.rel(1))
    assert len(first.payload) == 600
    h.expect_nothing()
    h.advance(h.conn.rto_est.rto)
    again = h.expect(seq=h.rel(1))
    assert again.payload == first.payload
