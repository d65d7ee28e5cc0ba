"""Flow control (RFC 9293 §3.8.6, RFC 1122 §4.2.3.3/§4.2.3.4): the advertised window is the
free receive-buffer space, the sender stays inside the peer's window, a closed window is
probed with backoff, and receiver SWS avoidance holds small window updates back."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Generator
from typing import Any

import pytest

from netsim.sim.link import LinkConfig
from netsim.sim.topology import two_hosts
from netsim.sim.world import World
from netsim.stack.events import SegmentRecord, TimerRecord, TraceRecord
from netsim.stack.tcp.config import TcpConfig
from netsim.stack.tcp.connection import TcpConnection
from netsim.testing.script import TcpScript

PEER_ISS = 5000
MSS = 1000


def p(n: int) -> int:
    """The peer's sequence number of its stream byte n."""
    return PEER_ISS + 1 + n


def receiver(rcvbuf: int) -> tuple[TcpScript, TcpConnection]:
    h = TcpScript(TcpConfig(rcvbuf=rcvbuf, delayed_ack=0))
    conn = h.establish_passive(80, peer_iss=PEER_ISS, options={"mss": MSS})
    return h, conn


def sender(peer_window: int) -> tuple[TcpScript, TcpConnection]:
    h = TcpScript(TcpConfig(delayed_ack=0))
    conn = h.establish_passive(80, peer_iss=PEER_ISS, window=peer_window,
                               options={"mss": MSS})
    return h, conn


# ---------------------------------------------------------------------- receiver side
def test_advertised_window_is_the_free_receive_buffer() -> None:
    h, conn = receiver(rcvbuf=8000)
    h.inject(flags="A", seq=p(0), payload=b"a" * 1000)
    h.expect(flags="A", ack=p(1000), window=7000)
    h.inject(flags="A", seq=p(1000), payload=b"b" * 3000)
    h.expect(flags="A", ack=p(4000), window=4000)
    assert h.app_recv(2500) == b"a" * 1000 + b"b" * 1500
    h.drain()  # (a window update may or may not be due here)
    h.inject(flags="A", seq=p(4000), payload=b"c" * 500)
    # 2500 + 1000 unread bytes: free space 4500
    h.expect(flags="A", ack=p(4500), window=8000 - 2000)
    h.app_recv()
    h.drain()
    h.inject(flags="A", seq=p(4500), payload=b"d" * 1000)
    h.expect(flags="A", ack=p(5500), window=7000)


def test_window_field_never_exceeds_what_the_field_can_say() -> None:
    # No window scaling offered by the peer: a 1 MB buffer still advertises 65535 at most,
    # and data beyond that window is not accepted.
    h, conn = receiver(rcvbuf=1 << 20)
    h.inject(flags="A", seq=p(0), payload=b"x" * 100)
    # (the right edge stays put for 100 bytes: receiver SWS avoidance)
    h.expect(flags="A", ack=p(100), window=65535 - 100)
    h.inject(flags="A", seq=p(65535), payload=b"y" * 10)
    h.expect(flags="A", ack=p(100))
    assert h.stack.counters["tcp"]["drop.out_of_window"] == 1


def test_receiver_sws_avoidance_holds_small_window_updates() -> None:
    # RFC 1122 §4.2.3.3: the right window edge moves forward only by at least
    # min(RCV.BUFF/2, MSS) = min(4000, 1000) = 1000 bytes.
    h, conn = receiver(rcvbuf=8000)
    for i in range(8):
        h.inject(flags="A", seq=p(i * 1000), payload=bytes([65 + i]) * 1000)
    acks = h.drain()
    assert acks[-1].ack == p(8000) and acks[-1].window == 0
    h.app_recv(600)
    h.expect_nothing()  # 600 bytes free: no window update
    # A zero-window probe is answered, still with window 0.
    h.inject(flags="A", seq=p(8000), payload=b"?")
    h.expect(flags="A", ack=p(8000), window=0)
    h.app_recv(399)
    h.expect_nothing()  # 999 free: still below the threshold
    h.app_recv(1)
    h.expect(flags="A", ack=p(8000), window=1000)  # the window update, from the reader
    # From here each ACK may open the window further, in steps of at least 1000.
    h.app_recv(500)
    h.inject(flags="A", seq=p(8000), payload=b"i" * 100)
    seg = h.expect(flags="A", ack=p(8100))
    assert seg.window == 900  # the edge did not move for 500 bytes


# ---------------------------------------------------------------------- sender side
def test_sender_stays_inside_the_peer_window() -> None:
    h, conn = sender(peer_window=3000)
    h.app_send(b"s" * 10000)
    segs = h.drain()
    assert sum(len(s.payload) for s in segs) == 3000
    h.advance(0.1)
    h.inject(flags="A", seq=p(0), ack=h.rel(1001), window=3000)
    segs = h.drain()
    assert [s.seq for s in segs] == [h.rel(3001)]
    assert sum(len(s.payload) for s in segs) == 1000  # up to ack + window = 4000
    h.inject(flags="A", seq=p(0), ack=h.rel(4001), window=2000)
    segs = h.drain()
    assert sum(len(s.payload) for s in segs) == 2000
    assert conn.flight <= 2000


def test_small_window_override_then_zero_window_probes_with_backoff() -> None:
    h, conn = sender(peer_window=4000)
    data = bytes(range(256)) * 40  # 10240 bytes
    h.app_send(data)
    assert sum(len(s.payload) for s in h.drain()) == 4000
    # The peer takes everything but its reader is slow: 400 bytes of window.
    h.inject(flags="A", seq=p(0), ack=h.rel(4001), window=400)
    h.expect_nothing()  # sender SWS avoidance: no 400-byte segment at once...
    # ...but the override timer (RFC 1122 §4.2.3.4) sends it rather than stall forever.
    deadline = h.stack.next_deadline()
    assert deadline is not None
    h.advance_to(deadline)
    seg = h.expect(flags="A", seq=h.rel(4001))
    assert len(seg.payload) == 400
    # Now the window is closed.
    h.inject(flags="A", seq=p(0), ack=h.rel(4401), window=0)
    h.expect_nothing()
    probe_times: list[float] = []
    while len(probe_times) < 4:
        deadline = h.stack.next_deadline()
        assert deadline is not None, "nothing scheduled while the window is closed"
        h.advance_to(deadline)
        for s in h.drain():
            assert s.seq == h.rel(4401) and len(s.payload) == 1  # one byte past the window
            probe_times.append(h.now)
            # The peer still has no room: it answers with window 0, acknowledging nothing.
            h.inject(flags="A", seq=p(0), ack=h.rel(4401), window=0)
            h.expect_nothing()
    assert conn.stack.counters["tcp"]["window_probes"] >= 1
    # No data was lost or skipped: once the window opens, the rest goes out in order.
    h.inject(flags="A", seq=p(0), ack=h.rel(4401), window=65535)
    rest = h.drain()
    # The refused probe byte is sent again from SND.UNA (as BSD does), not left as a hole
    # for the retransmission timer to find.
    assert rest[0].seq == h.rel(4401)
    sent = b"".join(s.payload for s in rest)
    assert data[4400:4400 + len(sent)] == sent
    # The probes carried the byte at SND.UNA, with backoff between them.
    gaps = [b - a for a, b in zip(probe_times, probe_times[1:], strict=False)]
    assert len(probe_times) >= 3 and all(y > x for x, y in zip(gaps, gaps[1:], strict=False))


def test_zero_window_probe_intervals_grow() -> None:
    h, conn = sender(peer_window=2000)
    h.app_send(b"z" * 6000)
    h.drain()
    h.inject(flags="A", seq=p(0), ack=h.rel(2001), window=0)
    h.expect_nothing()
    times = []
    while len(times) < 6:
        deadline = h.stack.next_deadline()
        assert deadline is not None, "no persist timer while the window is closed"
        h.advance_to(deadline)
        for s in h.drain():
            assert len(s.payload) == 1 and s.seq == h.rel(2001)
            times.append(h.now)
            h.inject(flags="A", seq=p(0), ack=h.rel(2001), window=0)
            h.drain()
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert all(b > a for a, b in zip(gaps, gaps[1:], strict=False)), gaps
    assert gaps[1] == pytest.approx(2 * gaps[0])
    # Open the window: the probing stops and data flows.
    h.inject(flags="A", seq=p(0), ack=h.rel(2001), window=10000)
    sent = h.drain()
    assert sent and sent[0].seq == h.rel(2001)  # the refused probe byte goes again first
    for _ in range(10):
        h.inject(flags="A", seq=p(0), window=10000)  # acknowledge all that was sent
        if not h.drain():
            break
    assert conn.snd_una == h.rel(6001)
    h.advance(600)
    h.expect_nothing()


# ---------------------------------------------------------------------- in simulation
class _Trace:
    def __init__(self) -> None:
        self.records: list[TraceRecord] = []

    def record(self, rec: TraceRecord) -> None:
        self.records.append(rec)


def test_reader_that_stops_stalls_the_sender_without_loss() -> None:
    trace = _Trace()
    world = World(11)
    cfg = TcpConfig(rcvbuf=16384)
    net = two_hosts(world, LinkConfig(delay=0.005, rate_bps=10e6), trace=trace, tcp=cfg)
    h1, h2 = net.hosts
    data = random.Random(11).randbytes(300_000)
    got = bytearray()
    marks: dict[str, float] = {}
    pause = 40.0

    def server() -> Generator[Any, Any, None]:
        s = yield h2.listen(9000).accept()
        first = yield s.recv(5000)  # read a little, then stop reading for a while
        got.extend(first)
        yield world.env.timeout(pause)
        marks["resume"] = world.now
        while True:
            chunk = yield s.recv(65536)
            if not chunk:
                break
            got.extend(chunk)
        yield s.close()

    def client() -> Generator[Any, Any, None]:
        s = yield h1.connect("10.0.0.2", 9000)
        yield s.sendall(data)
        yield s.close()
        marks["done"] = world.now

    world.env.process(server())
    world.env.process(client())
    world.run(until=400)
    assert hashlib.sha256(bytes(got)).digest() == hashlib.sha256(data).digest()
    assert "done" in marks
    resume = marks["resume"]

    segs = [r for r in trace.records if isinstance(r, SegmentRecord)]
    # The sender never had more unacknowledged data than the window it was offered
    # (window probes, one byte past a closed window, excepted).
    # (16384 needs no window scaling, so the window field is in bytes.)
    acked, window, checked = 0, 16384, 0
    for r in segs:
        if r.host != "h1":
            continue
        if r.direction == "rx" and "." in r.flags:
            acked, window = max(acked, r.ack_rel), r.window
        elif r.direction == "tx" and r.length and not r.retransmit:
            if window == 0 and r.length == 1:
                continue
            assert r.seq_rel + r.length <= acked + window, r
            checked += 1
    assert checked > 100
    # While the reader slept the window closed and the sender probed it, backing off.
    probes = [r.time for r in trace.records if isinstance(r, TimerRecord) and r.host == "h1"
              and r.timer == "persist" and r.time < resume]
    assert len(probes) >= 3
    gaps = [b - a for a, b in zip(probes[-3:], probes[-2:], strict=False)]
    assert gaps[1] > gaps[0]
    assert h1.stack.counters["tcp"]["window_probes"] >= 3
    zero_wnd = [r for r in segs if r.host == "h2" and r.direction == "tx" and r.window == 0]
    assert zero_wnd and zero_wnd[0].time < resume
    # The reader's stack sent a window update as soon as the application read again.
    update = [r for r in segs if r.host == "h2" and r.direction == "tx" and r.time >= resume
              and r.window > 0]
    assert update and update[0].time == pytest.approx(resume)
    assert marks["done"] > resume
    assert h1.stack.counters["tcp"]["tx_rst"] == h2.stack.counters["tcp"]["tx_rst"] == 0
