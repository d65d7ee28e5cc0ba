"""Opening connections: active, passive and simultaneous open, MSS negotiation, SYN and
SYN-ACK retransmission, the listen backlog (RFC 9293 §3.5, §3.7.1, §3.8.1; RFC 6298 §5)."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest

from netsim.node import Node
from netsim.sim.link import LinkConfig
from netsim.sim.topology import two_hosts
from netsim.sim.world import World
from netsim.stack.events import StateRecord, TraceRecord
from netsim.stack.tcp.config import TcpConfig
from netsim.stack.tcp.errors import ConnectionTimedOut
from netsim.stack.tcp.states import State
from netsim.testing import ANY, TcpScript
from netsim.testing.script import LOCAL_IP, PEER_IP
from netsim.wire.tcp import MSSOption, TCPSegment, TimestampOption

PLAIN = TcpConfig(timestamps=False, sack=False, window_scaling=False, delayed_ack=0)


def test_active_open() -> None:
    h = TcpScript(TcpConfig(rcvbuf=1 << 20))
    events: list[str] = []
    conn = h.connect(port=80)
    conn.notify = events.append
    h.expect_state(State.SYN_SENT)
    syn = h.expect(flags="S", seq=ANY, ack=0, window=65535,
                   options={"mss": 1460, "sackOK": True, "ts": (ANY, 0), "wscale": 5})
    assert syn.dst_port == 80 and syn.src_port == conn.local_port
    h.inject(flags="SA", seq=7000, ack=h.rel(1), window=65535,
             options={"mss": 1460, "sackOK": True, "ts": (123, tsval(syn)), "wscale": 7})
    h.expect(flags="A", seq=h.rel(1), ack=7001, options={"ts": (ANY, 123)})
    h.expect_state(State.ESTABLISHED)
    assert events == ["established"]
    assert conn.ts_ok and conn.sack_ok
    assert (conn.snd_wscale, conn.rcv_wscale) == (7, 5)
    h.expect_nothing()


def tsval(seg: TCPSegment) -> int:
    """The TSval of a segment the stack sent (for the scripted peer to echo)."""
    for opt in seg.options:
        if isinstance(opt, TimestampOption):
            return opt.tsval
    raise AssertionError("the segment carried no timestamp")


def test_passive_open_answers_only_the_options_offered() -> None:
    h = TcpScript()
    lst = h.listen(8080)
    h.inject(flags="S", seq=1000, options={"mss": 1200})  # no sackOK, TS or wscale
    h.expect(flags="SA", ack=1001, options=[MSSOption(1460)])
    assert len(lst.half_open) == 1 and not lst.accept_queue
    assert h.accept() is None
    h.inject(flags="A", seq=1001, ack=h.rel(1))
    h.expect_nothing()
    conn = h.accept()
    assert conn is not None and conn.state is State.ESTABLISHED
    assert not lst.half_open
    assert not conn.ts_ok and not conn.sack_ok and conn.snd_mss == 1200
    # data flows both ways
    h.inject(flags="PA", payload=b"ping")
    h.advance(0.2)  # the delayed ACK
    h.expect(flags="A", ack=1005)
    assert h.app_recv() == b"ping"
    h.app_send(b"pong")
    h.expect(flags="PA", seq=h.rel(1), ack=1005, payload=b"pong")


def test_passive_open_with_all_options() -> None:
    h = TcpScript()
    h.listen(80)
    h.inject(flags="S", seq=1, options={"mss": 1460, "sackOK": True, "ts": (50, 0),
                                        "wscale": 2})
    h.expect(flags="SA", ack=2, window=65535,
             options={"mss": 1460, "sackOK": True, "ts": (ANY, 50), "wscale": 5})


def test_simultaneous_open_script() -> None:
    """RFC 9293 Figure 7: SYNs cross; both sides go through SYN-RECEIVED."""
    h = TcpScript(PLAIN)
    conn = h.connect(port=6000, local_port=5000)
    h.expect(flags="S", seq=ANY)
    h.inject(flags="S", seq=300, options={"mss": 1460})  # the peer's SYN crosses ours
    h.expect_state(State.SYN_RECEIVED)
    h.expect(flags="SA", seq=h.rel(0), ack=301, options={"mss": 1460})
    h.inject(flags="SA", seq=300, ack=h.rel(1))  # the peer's SYN,ACK
    h.expect(flags="A", seq=h.rel(1), ack=301)  # an ACK (the SYN in it is old)
    h.inject(flags="A", seq=301, ack=h.rel(1))  # the peer's ACK of our SYN,ACK
    h.expect_state(State.ESTABLISHED)
    assert conn.snd_mss == 1460
    h.app_send(b"hi")
    h.expect(flags="PA", seq=h.rel(1), ack=301, payload=b"hi")


def test_simultaneous_open_between_two_stacks() -> None:
    w = World(1)
    transitions: list[tuple[str, str, str]] = []

    class Tracer:
        def record(self, rec: TraceRecord) -> None:
            if isinstance(rec, StateRecord):
                transitions.append((rec.host, rec.old, rec.new))

    net = two_hosts(w, LinkConfig(delay=0.01), tcp=PLAIN, trace=Tracer())
    h1, h2 = net.hosts
    got: dict[str, bytes] = {}

    def side(me: Node, other_ip: str, lport: int, rport: int) -> Generator[Any, Any, None]:
        s = yield me.connect(other_ip, rport, local_port=lport)
        yield s.sendall(f"from {me.name}".encode())
        got[me.name] = yield s.recv_exactly(len("from h1"))
        yield s.close()

    w.env.process(side(h1, "10.0.0.2", 5000, 6000))
    w.env.process(side(h2, "10.0.0.1", 6000, 5000))
    w.run(until=10)
    assert got == {"h1": b"from h2", "h2": b"from h1"}
    for host in ("h1", "h2"):  # the SYNs crossed: both sides went through SYN-RECEIVED
        assert (host, "SYN-SENT", "SYN-RECEIVED") in transitions
        assert (host, "SYN-RECEIVED", "ESTABLISHED") in transitions
    assert h1.stack.counters["tcp"]["tx_rst"] == 0 and h2.stack.counters["tcp"]["tx_rst"] == 0


@pytest.mark.parametrize(("ours", "peer", "timestamps", "effective"), [
    (1460, 1000, False, 1000),
    (1460, 1000, True, 988),  # RFC 9293 §3.7.1: minus the 12 option bytes per segment
    (1460, 9000, False, 1460),
    (1460, None, False, 536),  # no MSS option: the default send MSS
    (500, 1460, True, 488),
])
def test_mss_negotiated(ours: int, peer: int | None, timestamps: bool, effective: int) -> None:
    h = TcpScript(TcpConfig(mss=ours, timestamps=timestamps, sack=False, window_scaling=False,
                            nodelay=True))
    conn = h.connect(80)
    syn = h.expect(flags="S", options={"mss": ours})
    opts: dict[str, object] = {} if peer is None else {"mss": peer}
    if timestamps:
        opts["ts"] = (1, tsval(syn))
    h.inject(flags="SA", seq=0, ack=h.rel(1), options=opts)
    h.expect(flags="A")
    assert conn.snd_mss == effective
    h.app_send(bytes(3 * effective))
    for i in range(3):  # the initial window holds at least three segments of this size
        h.expect(flags=None, seq=h.rel(1 + i * effective),
                 payload=lambda p: len(p) == effective)


@pytest.mark.parametrize(("mtu", "mss"), [(1500, 1460), (9000, 8960), (576, 536)])
def test_announced_mss_follows_the_interface_mtu(mtu: int, mss: int) -> None:
    h = TcpScript(PLAIN, mtu=mtu)
    h.connect(80)
    h.expect(flags="S", options={"mss": mss})
    h.listen(81)
    h.inject(flags="S", seq=9, dport=81)
    h.expect(flags="SA", options={"mss": mss})


def test_syn_retransmitted_with_exponential_backoff_then_gives_up() -> None:
    h = TcpScript(TcpConfig(syn_retries=4, timestamps=False))
    errors: list[str] = []
    conn = h.connect(80)
    conn.notify = errors.append
    first = h.expect(flags="S")
    t = 0.0
    for interval in (1, 2, 4, 8):
        h.advance_to(t + interval - 0.001)
        h.expect_nothing()
        h.advance(0.001)
        again = h.expect(flags="S", seq=first.seq, options={"mss": 1460})
        assert again.options == first.options
        t += interval
    assert conn.retransmissions == 4
    h.advance_to(t + 16 - 0.001)
    h.expect_nothing()
    h.expect_state(State.SYN_SENT)
    h.advance(0.001)  # the fifth timeout: give up, without sending anything
    h.expect_nothing()
    h.expect_state(State.CLOSED)
    assert isinstance(conn.error, ConnectionTimedOut)
    assert errors == ["error"]
    assert h.stack.tcp.state_count() == 0 and len(h.stack.timers) == 0
    h.advance(1000)
    h.expect_nothing()


def test_syn_backoff_is_capped_by_max_rto() -> None:
    h = TcpScript(TcpConfig(syn_retries=8, max_rto=5.0, timestamps=False))
    conn = h.connect(80)
    h.advance(100)
    h.drain()
    times = [s.time for s in h.sent]
    assert [round(b - a, 6) for a, b in zip(times, times[1:], strict=False)] == \
        [1.0, 2.0, 4.0, 5.0, 5.0, 5.0, 5.0, 5.0]
    assert isinstance(conn.error, ConnectionTimedOut)


def test_rto_after_a_retransmitted_syn_is_three_seconds() -> None:
    """RFC 6298 (5.7): the SYN timed out and no RTT was measured: RTO = 3 s for data."""
    h = TcpScript(PLAIN)
    h.connect(80)
    h.expect(flags="S")
    h.advance(1.0)
    h.expect(flags="S")
    h.inject(flags="SA", seq=0, ack=h.rel(1))
    h.expect(flags="A")
    h.app_send(b"data")
    h.expect(flags="PA", payload=b"data")
    h.advance(2.999)
    h.expect_nothing()
    h.advance(0.001)
    h.expect(flags="PA", seq=h.rel(1), payload=b"data")


def test_syn_ack_retransmitted_then_half_open_connection_dropped() -> None:
    h = TcpScript(TcpConfig(synack_retries=3, timestamps=False))
    lst = h.listen(80)
    h.inject(flags="S", seq=100)
    first = h.expect(flags="SA", ack=101)
    t = 0.0
    for interval in (1, 2, 4):
        h.advance_to(t + interval - 0.001)
        h.expect_nothing()
        h.advance(0.001)
        h.expect(flags="SA", seq=first.seq, ack=101)
        t += interval
    assert len(lst.half_open) == 1
    h.advance(8.0)
    h.expect_nothing()  # gave up quietly
    assert not lst.half_open and not lst.accept_queue
    assert h.stack.tcp.state_count() == 0 and len(h.stack.timers) == 0
    # the listener still works
    h.inject(flags="S", seq=900, sport=40001)
    h.expect(flags="SA", ack=901, dport=40001)


def test_duplicate_syn_in_syn_received_resends_syn_ack() -> None:
    h = TcpScript(PLAIN)
    h.listen(80)
    h.inject(flags="S", seq=100)
    first = h.expect(flags="SA", ack=101)
    h.advance(0.3)
    h.inject(flags="S", seq=100)  # the peer lost our SYN-ACK and sends its SYN again
    h.expect(flags="SA", seq=first.seq, ack=101)
    h.inject(flags="A", seq=101, ack=h.rel(1))
    assert h.accept() is not None


def test_half_open_connections_are_bounded() -> None:
    # with SYN cookies off a full half-open queue drops new SYNs (tests/test_tcp_syncookies.py
    # has the default, which answers them with cookies)
    h = TcpScript(TcpConfig(max_half_open=3, timestamps=False, syncookies=0))
    lst = h.listen(80)
    for i in range(5):
        h.inject(flags="S", seq=1000 * i, sport=41000 + i)
    for i in range(3):
        h.expect(flags="SA", ack=1000 * i + 1, dport=41000 + i)
    h.expect_nothing()  # the fourth and fifth SYN were dropped
    assert len(lst.half_open) == 3
    assert h.stack.counters["tcp"]["drop.syn_backlog_full"] == 2
    # completing one handshake makes room for a new SYN
    h.inject(flags="A", seq=1, ack=synack_ack(h, 41000), sport=41000)
    assert len(lst.half_open) == 2 and len(lst.accept_queue) == 1
    h.inject(flags="S", seq=77, sport=42000)
    h.expect(flags="SA", ack=78, dport=42000)


def synack_ack(h: TcpScript, port: int) -> int:
    """ISN+1 of the SYN-ACK the stack sent to the peer port `port`."""
    for s in h.sent:
        if s.seg.dst_port == port and s.flags == "SA":
            return (s.seg.seq + 1) & 0xFFFFFFFF
    raise AssertionError(f"no SYN-ACK to port {port}")


def test_accept_queue_is_bounded() -> None:
    h = TcpScript(PLAIN)
    lst = h.listen(80, backlog=1)
    for port in (41000, 41001):
        h.inject(flags="S", seq=10, sport=port)
        h.expect(flags="SA", dport=port)
    h.inject(flags="A", seq=11, ack=synack_ack(h, 41000), sport=41000)
    h.inject(flags="A", seq=11, ack=synack_ack(h, 41001), sport=41001)
    h.expect_nothing()
    assert len(lst.accept_queue) == 1  # the second ACK was dropped: the queue is full
    assert h.stack.counters["tcp"]["drop.accept_queue_full"] == 1
    second = h.stack.tcp.conns[(LOCAL_IP, 80, PEER_IP, 41001)]
    assert second.state is State.SYN_RECEIVED
    first = h.accept()
    assert first is not None and first.remote_port == 41000
    # once the application has accepted, the retransmitted ACK gets through
    h.inject(flags="A", seq=11, ack=synack_ack(h, 41001), sport=41001)
    assert second.state is State.ESTABLISHED  # type: ignore[comparison-overlap]
    assert h.accept() is second


def test_data_queued_in_syn_sent_follows_the_handshake() -> None:
    h = TcpScript(PLAIN)
    h.connect(80)
    h.expect(flags="S")
    assert h.app_send(b"early") == 5
    h.expect_nothing()  # nothing before the handshake completes
    h.inject(flags="SA", seq=0, ack=h.rel(1))
    h.expect(flags="A", seq=h.rel(1), ack=1)
    h.expect(flags="PA", seq=h.rel(1), ack=1, payload=b"early")


# ---------------------------------------------------------------------------- the harness
def test_a_failure_prints_the_whole_script() -> None:
    h = TcpScript(PLAIN)
    h.connect(80)
    h.expect(flags="S")
    h.inject(flags="SA", seq=5000, ack=h.rel(1))
    with pytest.raises(AssertionError) as info:
        h.expect(flags="SA")
    text = str(info.value)
    lines = text.splitlines()
    assert lines[0] == "TCP script so far:"
    assert "app: connect to 10.0.0.2:80" in lines[1]
    assert "> IP 10.0.0.1.49152 > 10.0.0.2.80: Flags [S], seq " in lines[2]
    assert "< IP 10.0.0.2.80 > 10.0.0.1.49152: Flags [S.], seq 5000, ack " in lines[4]
    assert "Flags [.], ack 5001" in lines[5]
    assert "flags: expected [SA], got [A]" in text


def test_expect_nothing_failure_shows_the_segment() -> None:
    h = TcpScript(PLAIN)
    h.connect(80)
    with pytest.raises(AssertionError, match=r"expected nothing, but the stack sent: IP 10\.0"):
        h.expect_nothing()


def test_advance_fires_timers_at_their_own_deadlines() -> None:
    h = TcpScript(PLAIN)
    h.connect(80)
    h.advance(3.5)
    assert [s.time for s in h.sent] == [0.0, 1.0, 3.0]
    assert len(h.drain()) == 3
    assert h.now == 3.5
