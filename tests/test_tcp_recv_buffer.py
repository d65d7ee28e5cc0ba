"""The receive buffer between a connection and its application: reads of any size give the
stream in order, exactly once, whatever the sizes of the segments it came in; the window
advertised is the free buffer space (RFC 9293 §3.8.6) all along; a closed connection drops
what was not read."""

from __future__ import annotations

import random

import pytest

from netsim.errors import UsageError
from netsim.stack.tcp.config import TcpConfig
from netsim.stack.tcp.connection import TcpConnection
from netsim.stack.tcp.reassembly import SegmentReassembler
from netsim.testing.script import TcpScript

PEER_ISS = 5000
MSS = 1000
RCVBUF = 8000


def p(n: int) -> int:
    """The peer's sequence number of its stream byte n."""
    return PEER_ISS + 1 + n


def receiver(cfg: TcpConfig | None = None) -> tuple[TcpScript, TcpConnection]:
    h = TcpScript(cfg or TcpConfig(rcvbuf=RCVBUF, delayed_ack=0))
    conn = h.establish_passive(80, peer_iss=PEER_ISS, options={"mss": MSS})
    return h, conn


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_reads_of_any_size_give_the_stream_in_order(seed: int) -> None:
    rng = random.Random(seed)
    stream = rng.randbytes(40_000)
    h, conn = receiver()
    sent = 0  # bytes the peer sent (all in order)
    got = bytearray()  # what the application read
    while len(got) < len(stream):
        unread = sent - len(got)
        # a segment when the coin says so; it stays an MSS below the free space, hence
        # inside the window advertised (receiver SWS avoidance holds it at most that far back)
        n = min(rng.randint(1, MSS), len(stream) - sent, RCVBUF - unread - MSS)
        if n > 0 and (unread == 0 or rng.random() < 0.5):
            h.inject(flags="A", seq=p(sent), payload=stream[sent:sent + n])
            sent += n
            seg = h.expect(flags="A", ack=p(sent))
            # the window is the free space, or a little less (RFC 1122 §4.2.3.3)
            assert 0 <= RCVBUF - (sent - len(got)) - seg.window < MSS
            h.drain()
            continue
        assert conn.readable == unread
        size = rng.choice([0, 1, rng.randint(1, 3 * MSS), unread, unread + 1, 1 << 20])
        data = h.app_recv(size)
        assert data == stream[len(got):len(got) + min(size, unread)]
        got += data
        h.drain()
    assert bytes(got) == stream and conn.readable == 0


def test_window_tracks_the_unread_bytes_through_partial_reads() -> None:
    h, conn = receiver()
    h.inject(flags="A", seq=p(0), payload=b"a" * 1000)
    h.expect(flags="A", ack=p(1000), window=7000)
    h.inject(flags="A", seq=p(1000), payload=b"b" * 1000)
    h.expect(flags="A", ack=p(2000), window=6000)
    assert h.app_recv(300) == b"a" * 300  # inside the first segment
    assert h.app_recv(1200) == b"a" * 700 + b"b" * 500  # across the two
    assert conn.readable == 500
    h.drain()
    h.inject(flags="A", seq=p(2000), payload=b"c" * 1000)
    h.expect(flags="A", ack=p(3000), window=RCVBUF - 1500)
    assert h.app_recv(1500) == b"b" * 500 + b"c" * 1000
    assert conn.readable == 0


def test_a_hole_filled_later_reads_in_stream_order() -> None:
    h, conn = receiver()
    h.inject(flags="A", seq=p(1000), payload=b"b" * 1000)  # out of order: held
    h.expect(flags="A", ack=p(0))
    assert conn.readable == 0
    h.inject(flags="A", seq=p(0), payload=b"a" * 1000)  # fills the hole
    h.expect(flags="A", ack=p(2000), window=RCVBUF - 2000)
    assert h.app_recv(1500) == b"a" * 1000 + b"b" * 500
    assert h.app_recv() == b"b" * 500


class LendingReassembler(SegmentReassembler):
    """Gives its bytes in one buffer of its own that it overwrites on the next insert."""

    def __init__(self) -> None:
        super().__init__()
        self._lent = bytearray()

    def insert(self, index: int, data: bytes, is_last: bool, window_end: int) -> bytes:
        out = super().insert(index, data, is_last, window_end)
        self._lent[:] = out
        return self._lent  # type: ignore[return-value]  # a bytes-like object, as a student's may


def test_bytes_read_are_those_that_arrived_even_from_a_buffer_the_seam_reuses() -> None:
    h, conn = receiver(TcpConfig(rcvbuf=RCVBUF, delayed_ack=0,
                                 reassembler_factory=LendingReassembler))
    h.inject(flags="A", seq=p(0), payload=b"a" * 1000)
    h.expect(flags="A", ack=p(1000))
    h.inject(flags="A", seq=p(1000), payload=b"b" * 1000)
    h.expect(flags="A", ack=p(2000))
    assert h.app_recv() == b"a" * 1000 + b"b" * 1000


def test_a_negative_read_size_is_a_usage_error() -> None:
    h, conn = receiver()
    h.inject(flags="A", seq=p(0), payload=b"a" * 1000)
    h.expect(flags="A", ack=p(1000))
    with pytest.raises(UsageError, match="max_bytes"):
        conn.recv(-1, h.now)
    assert h.app_recv() == b"a" * 1000


def test_close_with_unread_data_resets_and_drops_it() -> None:
    # RFC 1122 §4.2.2.13: closing with unread data sends a reset
    h, conn = receiver()
    h.inject(flags="A", seq=p(0), payload=b"a" * 1000)
    h.expect(flags="A", ack=p(1000))
    assert h.app_recv(400) == b"a" * 400
    h.app_close()
    h.expect(flags="R")
    assert conn.readable == 0
