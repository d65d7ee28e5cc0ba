"""The receive side in sequence space (netsim/stack/tcp/tcp_receiver.py): wrap/unwrap around
2**32, the reference receiver on its own, and a receiver object of another class composed
into whole connections (the seam assignment 06 plugs into)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from netsim.sim.link import LinkConfig
from netsim.sim.loss import Bernoulli
from netsim.sim.scenario import BulkScenario, run_bulk
from netsim.stack.tcp.config import TcpConfig
from netsim.stack.tcp.reassembly import SegmentReassembler
from netsim.stack.tcp.tcp_receiver import StreamReceiver, unwrap, wrap

M = 1 << 32


def test_wrap_adds_the_isn_modulo_2_32() -> None:
    assert wrap(0, 5) == 5
    assert wrap(3 * M + 17, 15) == 32
    assert wrap(10, M - 5) == 5


@pytest.mark.parametrize(("seqno", "isn", "checkpoint", "want"), [
    (1, 0, 0, 1),
    (0, M - 1, 0, 1),  # just past the wrap of 32-bit space
    (M - 1, 0, 3 * M, 3 * M - 1),  # just below a multiple of 2**32: backwards
    (5, 0, 3 * M - 10, 3 * M + 5),  # forwards across the multiple
    (M - 2, 0, 0, M - 2),  # never negative, even though -2 would be closer
    (16, 16 + (1 << 31) + 7, 0, M - (1 << 31) - 7),
])
def test_unwrap_picks_the_closest_absolute_number(seqno: int, isn: int, checkpoint: int,
                                                  want: int) -> None:
    assert unwrap(seqno, isn, checkpoint) == want


@given(st.integers(0, 1 << 50), st.integers(0, M - 1), st.integers(-(1 << 31) + 1, 1 << 31))
def test_unwrap_inverts_wrap_near_the_checkpoint(n: int, isn: int, delta: int) -> None:
    checkpoint = max(0, n + delta)
    assert unwrap(wrap(n, isn), isn, checkpoint) == n or n + delta < 0


def test_reference_receiver_acks_the_syn_data_and_fin_across_the_wrap() -> None:
    r = StreamReceiver()
    assert r.ackno() is None
    assert r.receive(7, False, False, b"early", 100) == b""  # before the SYN: nothing
    isn = M - 3
    assert r.receive(isn, True, False, b"", 100) == b""
    assert r.ackno() == M - 2
    assert r.receive(M - 2, False, False, b"ab", 100) == b"ab"
    assert r.receive(2, False, True, b"e", 100) == b""  # held: a hole at index 2, 3
    assert r.ackno() == 0
    assert r.receive(0, False, False, b"cd", 100) == b"cde"
    assert r.ackno() == 4  # past the FIN
    assert r.window_field(1 << 20, 5) == 1 << 15 and r.window_field(100, 2) == 25
    assert r.window_field(1 << 30, 0) == 0xFFFF


class CountingReceiver:
    """Another class with the interface, delegating: what a student's object looks like to
    the connection."""

    made = 0

    def __init__(self) -> None:
        self._inner = StreamReceiver(SegmentReassembler())
        self.reassembler = self._inner.reassembler
        self.calls = 0
        CountingReceiver.made += 1

    def receive(self, *args: Any) -> bytes:
        self.calls += 1
        return self._inner.receive(*args)

    def ackno(self) -> int | None:
        return self._inner.ackno()

    def window_field(self, window: int, shift: int) -> int:
        return self._inner.window_field(window, shift)


def test_a_receiver_object_of_another_class_runs_whole_connections() -> None:
    link = LinkConfig(delay=0.005, rate_bps=20e6, loss=Bernoulli(0.01), reorder=0.05,
                      duplicate=0.02)
    ref = run_bulk(BulkScenario(bytes=300_000, link=link, seed=9, time_limit=60.0))
    CountingReceiver.made = 0
    got = run_bulk(BulkScenario(bytes=300_000, link=link, seed=9, time_limit=60.0,
                                tcp=TcpConfig(receiver_factory=CountingReceiver)))
    assert got.intact and got.completed and CountingReceiver.made >= 2
    # the same receiver logic, so the same transfer segment for segment
    assert (got.data_segments, got.retransmissions, got.sim_seconds) == \
        (ref.data_segments, ref.retransmissions, ref.sim_seconds)


class UnwrappedAck(CountingReceiver):
    def ackno(self) -> int | None:
        a = self._inner.ackno()
        return None if a is None else a + (1 << 32)


class WideWindow(CountingReceiver):
    def window_field(self, window: int, shift: int) -> int:
        return window << 1  # a left shift: beyond 16 bits


def test_a_receiver_giving_out_of_range_values_is_named_not_sent() -> None:
    from netsim.errors import UsageError
    from netsim.testing.script import TcpScript

    h = TcpScript(TcpConfig(receiver_factory=UnwrappedAck))
    h.listen(80)
    with pytest.raises(UsageError, match=r"ackno\(\) gave 4294972297; a 32-bit"):
        h.inject(flags="S", seq=5000)
    h = TcpScript(TcpConfig(receiver_factory=WideWindow, window_scaling=False, delayed_ack=0))
    with pytest.raises(UsageError, match=r"window_field\(\) gave 1\d{5}; the field is 16"):
        h.establish_passive(80)
        h.inject(flags="PA", seq=h.prel(1), payload=b"x")
