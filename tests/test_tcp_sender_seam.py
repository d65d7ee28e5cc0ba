"""The send side in sequence space (netsim/stack/tcp/tcp_sender.py): the reference sender on
its own across the 2**32 wrap, and a sender object of another class composed into whole
connections (the seam a sender assignment plugs into)."""

from __future__ import annotations

import pytest

from netsim.errors import UsageError
from netsim.sim.link import LinkConfig
from netsim.sim.loss import Bernoulli
from netsim.sim.scenario import BulkScenario, run_bulk
from netsim.stack.tcp.config import TcpConfig
from netsim.stack.tcp.tcp_sender import StreamSender

M = 1 << 32


def test_reference_sender_maps_stream_bytes_to_sequence_numbers_across_the_wrap() -> None:
    s = StreamSender()
    isn = M - 3
    s.start(isn)
    assert s.data_end() == M - 2 and s.buffered() == 0  # byte 0 goes after the SYN
    s.write(b"abcdef")
    assert s.data_end() == 4 and s.buffered() == 6
    assert s.payload(M - 2, 3) == b"abc"
    assert s.payload(0, 4) == b"cdef"  # bytes 2.. sit past the wrap
    assert s.acknowledge(M - 2) == 0  # the ACK of the SYN drops no byte
    assert s.acknowledge(M - 3) == 0  # an old ACK neither
    assert s.acknowledge(1) == 3  # a, b, c
    assert s.buffered() == 3 and s.payload(1, 2) == b"de"
    assert s.acknowledge(5) == 3  # one past the FIN: the FIN takes no byte
    assert s.buffered() == 0 and s.data_end() == 4


def test_reference_sender_keeps_bytes_through_many_partial_acks() -> None:
    s = StreamSender()
    s.start(100)
    sent = bytes(range(256)) * 2000  # 512,000 bytes: the buffer compacts on the way
    seq = 101
    for i in range(0, len(sent), 1000):
        s.write(sent[i:i + 1000])
        assert s.payload(seq, 500) == sent[seq - 101:seq - 101 + 500]
        assert s.acknowledge(seq + 700) == 700
        seq += 700
    assert s.buffered() == len(sent) - (seq - 101)
    assert s.payload(seq, s.buffered()) == sent[seq - 101:]


class CountingSender:
    """Another class with the interface, delegating: what a student's object looks like to
    the connection."""

    made = 0

    def __init__(self) -> None:
        self._inner = StreamSender()
        self.calls = 0
        CountingSender.made += 1

    def start(self, isn: int) -> None:
        self._inner.start(isn)

    def write(self, data: bytes) -> None:
        self.calls += 1
        self._inner.write(data)

    def buffered(self) -> int:
        return self._inner.buffered()

    def data_end(self) -> int:
        return self._inner.data_end()

    def payload(self, seqno: int, n: int) -> bytes:
        return self._inner.payload(seqno, n)

    def acknowledge(self, ackno: int) -> int:
        return self._inner.acknowledge(ackno)


def test_a_sender_object_of_another_class_runs_whole_connections() -> None:
    link = LinkConfig(delay=0.005, rate_bps=20e6, loss=Bernoulli(0.01), reorder=0.05,
                      duplicate=0.02)
    ref = run_bulk(BulkScenario(bytes=300_000, link=link, seed=9, time_limit=60.0))
    CountingSender.made = 0
    got = run_bulk(BulkScenario(bytes=300_000, link=link, seed=9, time_limit=60.0,
                                tcp=TcpConfig(sender_factory=CountingSender)))
    assert got.intact and got.completed and CountingSender.made >= 2
    # the same sender logic, so the same transfer segment for segment
    assert (got.data_segments, got.retransmissions, got.sim_seconds) == \
        (ref.data_segments, ref.retransmissions, ref.sim_seconds)


class ShortPayload(CountingSender):
    def payload(self, seqno: int, n: int) -> bytes:
        return self._inner.payload(seqno, n)[:-1]


class OverAck(CountingSender):
    def acknowledge(self, ackno: int) -> int:
        return self._inner.acknowledge(ackno) + 1


@pytest.mark.parametrize(("cls", "message"), [
    (ShortPayload, r"payload\(seqno, 5\) gave 4 bytes; exactly 5"),
    (OverAck, r"acknowledge\(\) gave 6; the ACK covers 5 new sequence numbers"),
])
def test_a_sender_giving_wrong_values_is_named_not_sent(cls: type[CountingSender],
                                                         message: str) -> None:
    from netsim.testing.script import TcpScript

    h = TcpScript(TcpConfig(sender_factory=cls, delayed_ack=0))
    with pytest.raises(UsageError, match=message):
        h.establish_active()
        h.app_send(b"hello")
        h.inject(flags="A", seq=h.prel(1), ack=h.rel(6))
