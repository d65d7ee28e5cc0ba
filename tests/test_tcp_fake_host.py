"""A connection needs only the small interface of netsim.stack.tcp.host_api, not a Stack:
here one runs a handshake, sends data, retransmits on a timeout and is reset, against a fake
host that records what it is asked to do."""

from __future__ import annotations

from collections import Counter
from ipaddress import IPv4Address
from typing import Any

from netsim.stack.events import TraceRecord
from netsim.stack.tcp.config import TcpConfig
from netsim.stack.tcp.connection import TcpConnection
from netsim.stack.tcp.errors import ConnectionReset
from netsim.stack.tcp.states import State
from netsim.stack.timers import TimerQueue
from netsim.wire.tcp import ACK, PSH, RST, SYN, MSSOption, TCPSegment

A = IPv4Address("10.9.0.1")
B = IPv4Address("10.9.0.2")


class FakeHost:
    """`ConnectionHost`: the segments sent, the drops, the trace records."""

    def __init__(self) -> None:
        self.name = "fake"
        self.now = 0.0
        self.records: list[TraceRecord] = []
        self.trace = self
        self.timers = TimerQueue()
        self.tcp_counts: Counter[str] = Counter()
        self.sent: list[TCPSegment] = []
        self.drops: list[str] = []

    def record(self, rec: TraceRecord) -> None:
        self.records.append(rec)

    def drop(self, layer: str, reason: str, detail: str = "") -> None:
        self.drops.append(reason)

    def send_tcp(self, src: IPv4Address, dst: IPv4Address, seg: TCPSegment, opts: bytes,
                 now: float) -> bool:
        assert (src, dst) == (A, B)
        self.sent.append(seg)
        return True


class FakeTable:
    """`ConnectionTable`: a fixed MSS, RSTs and removals recorded."""

    def __init__(self) -> None:
        self.stack = FakeHost()
        self.send_tcp = self.stack.send_tcp
        self.removed: list[Any] = []

    def mss_for(self, remote: IPv4Address) -> int:
        return 1000

    def send_rst(self, src: IPv4Address, dst: IPv4Address, sport: int, dport: int, seq: int,
                 ack: int, flags: int, now: float) -> None:
        raise AssertionError("no stray RST expected")

    def remove(self, conn: Any) -> None:
        self.removed.append(conn)


def peer(seq: int, ack: int, flags: int, payload: bytes = b"", window: int = 8000,
         options: tuple[Any, ...] = ()) -> TCPSegment:
    return TCPSegment(80, 40000, seq, ack, flags, window, payload, options)


def test_a_connection_runs_against_a_fake_host() -> None:
    table = FakeTable()
    host = table.stack
    conn = TcpConnection(table, A, 40000, B, 80, TcpConfig(timestamps=False, sack=False,
                                                           window_scaling=False))
    conn.open_active(0.0)
    syn = host.sent[-1]
    assert syn.flags == SYN and MSSOption(1460) in syn.options
    assert host.timers.next_deadline() == 1.0  # the SYN's retransmission timer (RFC 6298)

    conn.segment_arrives(peer(7000, syn.seq + 1, SYN | ACK, options=(MSSOption(500),)), 0.1)
    assert conn.state is State.ESTABLISHED
    assert host.sent[-1].flags == ACK and host.sent[-1].ack == 7001
    assert conn.snd_mss == 500

    assert conn.send(b"x" * 1200, 0.2) == 1200
    data = [s for s in host.sent if s.payload]
    assert [len(s.payload) for s in data] == [500, 500]  # cwnd: 2 segments of the peer's MSS
    assert data[1].flags == ACK  # not the last byte: no PSH yet

    # Nothing is acknowledged: the retransmission timer fires and resends the first segment
    deadline = conn.rto_at
    assert deadline == 0.2 + conn.rto_est.rto
    host.timers.run(deadline)
    again = host.sent[-1]
    assert again.seq == data[0].seq and again.payload == data[0].payload
    assert conn.retransmissions == 1 and host.tcp_counts["timeouts"] == 1

    conn.segment_arrives(peer(7001, data[1].seq + 500, ACK), deadline + 0.1)
    assert host.sent[-1].flags == ACK | PSH and len(host.sent[-1].payload) == 200

    conn.segment_arrives(peer(7001, 0, RST), deadline + 0.2)
    assert conn.state is State.CLOSED and isinstance(conn.error, ConnectionReset)
    assert table.removed == [conn]
    assert len(host.timers) == 0  # nothing left behind
    assert any(type(r).__name__ == "StateRecord" for r in host.records)
