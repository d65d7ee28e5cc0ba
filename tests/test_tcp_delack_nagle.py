"""Delayed ACKs (RFC 1122 §4.2.3.2, RFC 5681 §4.2) on the receiver and Nagle's algorithm
(RFC 1122 §4.2.3.4) with its TCP_NODELAY switch on the sender, as segment-level scripts."""

from __future__ import annotations

import pytest

from netsim.errors import UsageError
from netsim.stack.tcp.config import TcpConfig
from netsim.stack.tcp.connection import TcpConnection
from netsim.testing.script import TcpScript

PEER_ISS = 5000
MSS = 1000


def p(n: int) -> int:
    return PEER_ISS + 1 + n


def connected(cfg: TcpConfig | None = None) -> tuple[TcpScript, TcpConnection]:
    """Our stack accepted a connection at t=1 from a peer announcing MSS 1000, no options."""
    h = TcpScript(cfg, start=1.0)
    conn = h.establish_passive(80, peer_iss=PEER_ISS, options={"mss": MSS})
    return h, conn


# ---------------------------------------------------------------------- delayed ACK
def test_default_delayed_ack_is_200_ms() -> None:
    assert TcpConfig().delayed_ack == pytest.approx(0.2)


def test_lone_segment_is_acked_after_the_delay() -> None:
    h, conn = connected()
    h.inject(flags="PA", seq=p(0), payload=b"q" * 100)
    h.expect_nothing()
    h.advance(0.199)
    h.expect_nothing()
    h.advance(0.001)
    h.expect(flags="A", ack=p(100))
    h.advance(5.0)
    h.expect_nothing()


@pytest.mark.parametrize("delay", [0.05, 0.5])
def test_delayed_ack_time_is_configurable(delay: float) -> None:
    h, conn = connected(TcpConfig(delayed_ack=delay))
    h.inject(flags="PA", seq=p(0), payload=b"q" * 10)
    h.advance(delay - 0.001)
    h.expect_nothing()
    h.advance(0.001)
    h.expect(flags="A", ack=p(10))


def test_delayed_ack_zero_acks_every_segment_at_once() -> None:
    h, conn = connected(TcpConfig(delayed_ack=0))
    h.inject(flags="PA", seq=p(0), payload=b"q" * 10)
    h.expect(flags="A", ack=p(10))


@pytest.mark.parametrize("bad", [0.501, 1.0, -0.1])
def test_config_rejects_a_delay_above_half_a_second(bad: float) -> None:
    # RFC 1122 §4.2.3.2: the delay MUST be less than 0.5 seconds.
    with pytest.raises(UsageError, match="delayed_ack"):
        TcpConfig(delayed_ack=bad)


def test_ack_for_at_least_every_second_full_sized_segment() -> None:
    h, conn = connected()
    for i in range(6):
        h.inject(flags="A", seq=p(i * MSS), payload=b"f" * MSS)
        if i % 2 == 0:
            h.expect_nothing()  # the first of a pair may wait
        else:
            h.expect(flags="A", ack=p((i + 1) * MSS))  # the second is acknowledged at once
    h.advance(1.0)
    h.expect_nothing()


def test_out_of_order_segment_gets_an_immediate_duplicate_ack() -> None:
    # RFC 5681 §4.2: an out-of-order segment SHOULD be acknowledged immediately.
    h, conn = connected()
    h.inject(flags="A", seq=p(0), payload=b"a" * 500)
    h.expect_nothing()  # in order: delayed
    h.inject(flags="A", seq=p(1500), payload=b"c" * 500)
    h.expect(flags="A", ack=p(500))  # at once, acknowledging the in-order part
    h.inject(flags="A", seq=p(2500), payload=b"e" * 500)
    h.expect(flags="A", ack=p(500))


def test_segment_filling_a_hole_gets_an_immediate_ack() -> None:
    # RFC 5681 §4.2: an immediate ACK when a segment fills in all or part of a gap.
    h, conn = connected()
    h.inject(flags="A", seq=p(1000), payload=b"b" * 1000)
    h.expect(flags="A", ack=p(0))
    h.inject(flags="A", seq=p(3000), payload=b"d" * 1000)
    h.expect(flags="A", ack=p(0))
    h.inject(flags="A", seq=p(0), payload=b"a" * 1000)  # fills the first hole
    h.expect(flags="A", ack=p(2000))
    h.inject(flags="A", seq=p(2000), payload=b"c" * 500)  # fills part of the second
    h.expect(flags="A", ack=p(2500))
    h.inject(flags="A", seq=p(2500), payload=b"c" * 500)  # and the rest
    h.expect(flags="A", ack=p(4000))
    assert h.app_recv() == b"a" * 1000 + b"b" * 1000 + b"c" * 1000 + b"d" * 1000


def test_data_sent_in_reply_carries_the_pending_ack() -> None:
    # Piggybacking: a reply within the delay carries the ACK, and no separate ACK follows.
    h, conn = connected()
    h.inject(flags="PA", seq=p(0), payload=b"question")
    h.advance(0.05)
    h.app_send(b"answer")
    h.expect(flags="PA", ack=p(8), payload=b"answer")
    h.advance(conn.rto_est.rto - 0.001)  # (until our own retransmission timer)
    h.expect_nothing()


# ---------------------------------------------------------------------- Nagle
def test_nagle_holds_small_segments_while_data_is_unacked() -> None:
    h, conn = connected()
    h.app_send(b"1" * 100)
    h.expect(flags="PA", seq=h.rel(1), payload=b"1" * 100)  # nothing in flight: goes now
    h.app_send(b"2" * 100)
    h.app_send(b"3" * 100)
    h.expect_nothing()  # small, and data is unacknowledged: held
    h.advance(0.05)
    h.inject(flags="A", seq=p(0), ack=h.rel(101))
    # The ACK releases what accumulated, as one segment.
    h.expect(flags="PA", seq=h.rel(101), payload=b"2" * 100 + b"3" * 100)
    h.expect_nothing()


def test_nagle_lets_full_sized_segments_go() -> None:
    h, conn = connected()
    h.app_send(b"1" * 100)
    h.expect(flags="PA", payload=b"1" * 100)
    h.app_send(b"2" * (MSS + 300))
    h.expect(flags="A", seq=h.rel(101), payload=b"2" * MSS)  # a full segment is not held
    h.expect_nothing()  # the 300-byte tail waits
    h.inject(flags="A", seq=p(0), ack=h.rel(101 + MSS))
    h.expect(flags="PA", seq=h.rel(101 + MSS), payload=b"2" * 300)


def test_nodelay_sends_small_segments_at_once() -> None:
    h, conn = connected(TcpConfig(nodelay=True))
    for chunk in (b"1" * 100, b"2" * 100, b"3" * 100):
        h.app_send(chunk)
        h.expect(flags="PA", payload=chunk)
    assert conn.flight == 300
