"""32-bit sequence numbers: arithmetic modulo 2**32 (RFC 9293 §3.4), initial sequence numbers
(RFC 9293 §3.4.1, RFC 6528), and transfers whose sequence numbers wrap past 2**32 - 1."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Generator
from ipaddress import IPv4Address
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import netsim.stack.tcp.connection as connection_module
from netsim.sim.link import LinkConfig
from netsim.sim.loss import Bernoulli, Periodic
from netsim.sim.topology import two_hosts
from netsim.sim.world import World
from netsim.stack.tcp.config import TcpConfig
from netsim.stack.tcp.isn import isn
from netsim.stack.tcp.seq import (
    seq_add,
    seq_diff,
    seq_ge,
    seq_gt,
    seq_in,
    seq_le,
    seq_lt,
    seq_max,
    seq_min,
)
from netsim.testing import TcpScript

MOD = 1 << 32
MASK = MOD - 1
HALF = 1 << 31

# Sequence numbers anywhere, with extra weight right below and above the wrap.
seqs = st.one_of(st.integers(0, MASK), st.integers(MASK - 5000, MASK), st.integers(0, 5000))
distances = st.integers(1, HALF - 1)


# ---------------------------------------------------------------------------- arithmetic
@given(seqs, distances)
def test_a_number_ahead_is_greater(a: int, d: int) -> None:
    b = (a + d) & MASK
    assert seq_lt(a, b) and seq_le(a, b) and seq_gt(b, a) and seq_ge(b, a)
    assert not seq_lt(b, a) and not seq_le(b, a) and not seq_gt(a, b) and not seq_ge(a, b)
    assert seq_diff(b, a) == d and seq_diff(a, b) == -d
    assert seq_max(a, b) == b and seq_max(b, a) == b
    assert seq_min(a, b) == a and seq_min(b, a) == a


@given(seqs)
def test_equal_numbers(a: int) -> None:
    assert seq_le(a, a) and seq_ge(a, a)
    assert not seq_lt(a, a) and not seq_gt(a, a)
    assert seq_diff(a, a) == 0


@given(st.integers(-(1 << 40), 1 << 40), st.integers(-(HALF - 1), HALF - 1))
def test_agrees_with_unbounded_counters(x: int, d: int) -> None:
    """Two byte counters less than 2**31 apart compare the same after reduction mod 2**32."""
    y = x + d
    a, b = x & MASK, y & MASK
    assert seq_lt(a, b) == (x < y)
    assert seq_le(a, b) == (x <= y)
    assert seq_gt(a, b) == (x > y)
    assert seq_ge(a, b) == (x >= y)
    assert seq_diff(b, a) == y - x


@given(seqs, st.integers(-(1 << 34), 1 << 34))
def test_seq_add_wraps(a: int, n: int) -> None:
    r = seq_add(a, n)
    assert 0 <= r <= MASK
    assert (r - a) % MOD == n % MOD


@given(seqs, st.integers(0, MASK), st.integers(0, MASK))
def test_seq_in_is_a_half_open_window(lo: int, k: int, w: int) -> None:
    assert seq_in((lo + k) & MASK, lo, (lo + w) & MASK) == (k < w)


def test_values_at_the_wrap() -> None:
    assert seq_lt(MASK, 0) and seq_gt(0, MASK)
    assert seq_lt(MASK - 10, 5) and seq_diff(5, MASK - 10) == 16
    assert seq_add(MASK, 1) == 0 and seq_add(0, -1) == MASK
    assert seq_in(0, MASK, 1) and seq_in(MASK, MASK, 1) and not seq_in(1, MASK, 1)
    assert seq_in(2, MASK - 1, 3) and not seq_in(MASK - 2, MASK - 1, 3)
    assert not seq_in(7, 7, 7)  # an empty window holds nothing
    assert seq_max(MASK, 3) == 3 and seq_min(MASK, 3) == MASK


# ---------------------------------------------------------------------------- ISN
A, B = IPv4Address("10.0.0.1"), IPv4Address("10.0.0.2")


def test_isn_is_a_function_of_key_time_and_tuple() -> None:
    assert isn(b"k", 12.5, A, 1000, B, 80) == isn(b"k", 12.5, A, 1000, B, 80)
    base = isn(b"k", 12.5, A, 1000, B, 80)
    others = {
        isn(b"k2", 12.5, A, 1000, B, 80),
        isn(b"k", 12.5, B, 1000, A, 80),
        isn(b"k", 12.5, A, 1001, B, 80),
        isn(b"k", 12.5, A, 1000, IPv4Address("10.0.0.3"), 80),
        isn(b"k", 12.5, A, 1000, B, 81),
        isn(b"k", 12.5, A, 80, B, 1000),
    }
    assert base not in others and len(others) == 6


def test_isn_tuples_are_spread_over_the_space() -> None:
    values = [isn(b"secret", 0.0, A, port, B, 80) for port in range(49152, 49152 + 256)]
    assert len(set(values)) == 256
    # F() is a keyed hash, not a counter: the offsets cover the 32-bit space
    assert max(values) - min(values) > 1 << 30


@given(st.floats(0, 10_000), st.integers(0, 1_000_000))
def test_isn_advances_one_per_four_microseconds(t0: float, ms: int) -> None:
    """RFC 9293 §3.4.1: M is a timer that ticks every 4 µs (250,000 ticks a second)."""
    t0 = round(t0, 3)
    early = isn(b"k", t0, A, 1000, B, 80)
    late = isn(b"k", t0 + ms / 1000, A, 1000, B, 80)
    assert abs(((late - early) & MASK) - ms * 250) <= 1  # float rounding of the clock


def test_isn_clock_wraps_after_4_55_hours() -> None:
    period = MOD / 250_000  # 17179.869184 s
    assert isn(b"k", 5.0, A, 1, B, 2) == isn(b"k", 5.0 + period, A, 1, B, 2)
    assert isn(b"k", 0.0, A, 1, B, 2) == (isn(b"k", 0.004, A, 1, B, 2) - 1000) & MASK


def test_connections_use_the_keyed_clock_isn() -> None:
    def syn_seq(key: bytes, at: float, port: int = 50000) -> int:
        h = TcpScript(TcpConfig(isn_key=key), start=at)
        h.connect(80, local_port=port)
        return h.expect(flags="S").seq

    assert syn_seq(b"one", 3.0) == syn_seq(b"one", 3.0) == isn(b"one", 3.0, A, 50000, B, 80)
    assert syn_seq(b"one", 3.0) != syn_seq(b"two", 3.0)
    assert syn_seq(b"one", 3.0) != syn_seq(b"one", 3.0, port=50001)
    assert (syn_seq(b"one", 5.0) - syn_seq(b"one", 3.0)) & MASK == 500_000


# ---------------------------------------------------------------------------- wraparound
def test_script_sends_and_receives_across_the_wrap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(connection_module, "make_isn", lambda *a: MASK - 2)
    h = TcpScript(TcpConfig(timestamps=False, sack=True, window_scaling=False, delayed_ack=0,
                            nodelay=True))
    peer = MASK - 4
    h.establish_active(peer_iss=peer, options={"mss": 1000, "sackOK": True})
    assert h.iss == MASK - 2
    # our data: bytes at MASK-1, MASK, 0, 1, ... the SYN took MASK-2
    h.app_send(b"0123456789")
    h.expect(flags="PA", seq=MASK - 1, ack=(peer + 1) & MASK, payload=b"0123456789")
    h.inject(flags="A", seq=(peer + 1) & MASK, ack=8)  # = ISS + 11 mod 2**32
    assert h.conn is not None and h.conn.snd_una == 8 and h.conn.flight == 0
    # the peer's data across its wrap, the second segment first (out of order)
    first, second = (peer + 1) & MASK, (peer + 1 + 6) & MASK
    assert first == MASK - 3 and second == 2
    h.inject(flags="PA", seq=second, ack=8, payload=b"world!")
    h.expect(flags="A", ack=first, options={"sack": [(second, second + 6)]})
    assert h.app_recv() == b""
    h.inject(flags="PA", seq=first, ack=8, payload=b"hello ")
    h.expect(flags="A", seq=8, ack=8)
    assert h.app_recv() == b"hello world!"
    h.app_close()
    h.expect(flags="FA", seq=8)
    h.inject(flags="FA", seq=8, ack=9)
    h.expect(flags="A", seq=9, ack=9)


@pytest.mark.parametrize("seed", [1, 2])
def test_lossy_transfer_across_the_wrap_is_intact(monkeypatch: pytest.MonkeyPatch,
                                                  seed: int) -> None:
    """Both ISNs a few segments below 2**32: the bulk of the transfer, its losses,
    retransmissions and SACK blocks all straddle the wrap."""
    starts = {"10.0.0.1": MASK - 20_000, "10.0.0.2": MASK - 7}

    def near_wrap(key: bytes, now: float, local: IPv4Address, *rest: object) -> int:
        return starts[str(local)]

    monkeypatch.setattr(connection_module, "make_isn", near_wrap)
    world = World(seed)
    forward = LinkConfig(delay=0.005, rate_bps=20e6, loss=Periodic(20))  # every 20th frame
    reverse = LinkConfig(delay=0.005, rate_bps=20e6, loss=Bernoulli(0.03))
    net = two_hosts(world, forward, reverse, tcp=TcpConfig(min_rto=0.2))
    h1, h2 = net.hosts
    data = random.Random(seed).randbytes(150_000)
    got: list[bytes] = []
    answer = b"reply across the wrap " * 2000
    back: list[bytes] = []

    def server() -> Generator[Any, Any, None]:
        lst = h2.listen(9000)
        s = yield lst.accept()
        buf = bytearray()
        while True:
            chunk = yield s.recv()
            if not chunk:
                break
            buf += chunk
        got.append(bytes(buf))
        yield s.sendall(answer)
        yield s.close()

    conns: list[Any] = []

    def client() -> Generator[Any, Any, None]:
        s = yield h1.connect("10.0.0.2", 9000)
        conns.append(s.conn)
        yield s.sendall(data)
        s.shutdown()
        buf = bytearray()
        while True:
            chunk = yield s.recv()
            if not chunk:
                break
            buf += chunk
        back.append(bytes(buf))
        yield s.close()

    world.env.process(server())
    world.env.process(client())
    world.run(until=120)
    assert got and hashlib.sha256(got[0]).digest() == hashlib.sha256(data).digest()
    assert back == [answer]
    conn = conns[0]
    assert conn.iss == MASK - 20_000 and conn.irs == MASK - 7
    # both directions wrapped: the final sequence numbers are small
    assert conn.snd_nxt == (conn.iss + 1 + len(data) + 1) & MASK < 1 << 20
    assert conn.rcv_nxt == (conn.irs + 1 + len(answer) + 1) & MASK < 1 << 20
    # data segments were lost and repaired across the wrap
    assert net.links[0].a.stats.dropped["loss"] > 0 and conn.retransmissions > 0
