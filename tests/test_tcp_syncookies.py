"""SYN cookies (RFC 4987 §3.6, netsim.stack.tcp.syncookies) and half-open connections, scripted
segment by segment: the cookie a SYN gets, the connection a returning ACK builds, expiry,
forged ACKs, MSS classes, options carried in the timestamp, and SYN-ACK retries."""

from __future__ import annotations

import pytest

from netsim.errors import UsageError
from netsim.stack.tcp import syncookies as sc
from netsim.stack.tcp.config import TcpConfig
from netsim.stack.tcp.states import State
from netsim.testing.script import LOCAL_IP, PEER_IP, TcpScript
from netsim.wire.tcp import SackOption, TimestampOption

MASK = 0xFFFFFFFF
ALWAYS = TcpConfig(syncookies=2)
SYN_OPTS = {"mss": 1460, "sackOK": True, "ts": (777, 0), "wscale": 7}


def tsval_of(seg: object) -> int:
    for opt in seg.options:  # type: ignore[attr-defined]
        if isinstance(opt, TimestampOption):
            return opt.tsval
    raise AssertionError("no timestamp option")


def cookie_handshake(h: TcpScript, *, port: int = 80, options: object = SYN_OPTS,
                     peer_iss: int = 5000) -> int:
    """listen(); the peer's SYN; the cookie SYN-ACK; returns the cookie (our ISN)."""
    if h.listener is None:
        h.listen(port)
    h.inject(flags="S", seq=peer_iss, options=options)  # type: ignore[arg-type]
    synack = h.expect(flags="SA", ack=(peer_iss + 1) & MASK)
    return synack.seq


def test_a_cookie_syn_ack_keeps_no_state_and_encodes_the_4_tuple_time_and_mss() -> None:
    h = TcpScript(ALWAYS)
    lst = h.listen(80)
    h.inject(flags="S", seq=5000, options=SYN_OPTS)
    synack = h.expect(flags="SA", ack=5001, options={"mss": 1460, "sackOK": True,
                                                    "wscale": 5})
    expected = sc.make_cookie(h.stack.tcp.cookie_secret, PEER_IP, LOCAL_IP, 40000, 80, 5000,
                              sc.count_at(0.0), sc.MSS_TABLE.index(1460))
    assert synack.seq == expected
    # the options the cookie cannot hold ride in the low 6 bits of TSval: wscale 7, SACK
    assert tsval_of(synack) & 0x3F == 7 | 0x10
    assert h.stack.tcp.conns == {} and not lst.half_open
    assert h.stack.counters["tcp"]["syncookies_sent"] == 1
    h.expect_nothing()
    h.advance(10)  # and, stateless, it is never retransmitted
    h.expect_nothing()


def test_a_valid_cookie_ack_establishes_with_window_scaling_sack_and_timestamps() -> None:
    h = TcpScript(ALWAYS)
    cookie = cookie_handshake(h)
    assert cookie == h.iss
    h.advance(0.05)
    h.inject(flags="A", seq=5001, ack=(cookie + 1) & MASK, window=20,
             options={"ts": (800, tsval_of(h.sent[-1].seg))})
    conn = h.accept()
    assert conn is not None and conn.state is State.ESTABLISHED and conn.from_cookie
    assert h.stack.counters["tcp"]["syncookies_valid"] == 1
    assert (conn.snd_wscale, conn.rcv_wscale, conn.sack_ok, conn.ts_ok) == (7, 5, True, True)
    assert conn.peer_mss == 1460 and conn.snd_wnd == 20 << 7  # the ACK's window was scaled
    # Data out of order: our ACK carries a SACK block and a scaled window
    h.inject(flags="PA", seq=5001 + 1000, ack=(cookie + 1) & MASK, payload=b"x" * 500,
             window=20, options={"ts": (801, 0)})
    ack = h.expect(flags="A", ack=5001)
    blocks = [o for o in ack.options if isinstance(o, SackOption)]
    assert blocks and blocks[0].blocks == ((6001, 6501),)
    assert ack.window == TcpConfig().rcvbuf >> 5  # 1 MiB in the field, scaled by 2**5
    # and a transfer: what we send is bounded by the scaled window (20 << 7 = 2560 bytes);
    # read unscaled, a window of 20 bytes would let out no full segment
    h.inject(flags="PA", seq=5001, ack=(cookie + 1) & MASK, payload=b"y" * 1000,
             window=20, options={"ts": (802, 0)})
    h.drain()
    assert h.app_recv() == b"y" * 1000 + b"x" * 500
    h.app_send(b"z" * 10000)
    h.advance(0.3)
    sent = sum(len(s.payload) for s in h.drain())
    assert 1448 <= sent <= 20 << 7


def test_without_timestamps_a_cookie_offers_only_mss_and_options_are_lost() -> None:
    h = TcpScript(ALWAYS)
    cookie = cookie_handshake(h, options={"mss": 1460, "sackOK": True, "wscale": 7})
    synack = h.sent[-1].seg
    assert [o.kind for o in synack.options] == [2]  # MSS alone, as Linux's cookie SYN-ACK
    h.inject(flags="A", seq=5001, ack=(cookie + 1) & MASK, window=1000)
    conn = h.accept()
    assert conn is not None and conn.state is State.ESTABLISHED
    assert (conn.snd_wscale, conn.rcv_wscale, conn.sack_ok, conn.ts_ok) == (0, 0, False, False)
    assert conn.snd_wnd == 1000


def test_a_cookie_expires_after_max_age_ticks_of_64_seconds() -> None:
    h = TcpScript(ALWAYS)
    h.listen(80)
    h.inject(flags="S", seq=100, sport=41000)
    fresh = h.expect(flags="SA").seq
    h.inject(flags="S", seq=200, sport=41001)
    stale = h.expect(flags="SA").seq
    h.advance(3 * 64 - 0.5)  # t=191.5: the count moved on by 2 ticks: still valid
    h.inject(flags="A", seq=101, ack=(fresh + 1) & MASK, sport=41000)
    assert h.accept() is not None
    h.advance(0.5)  # t=192: 3 ticks: expired
    h.inject(flags="A", seq=201, ack=(stale + 1) & MASK, sport=41001)
    rst = h.expect(flags="R", seq=(stale + 1) & MASK, dport=41001)
    assert rst is not None and h.accept() is None
    assert h.stack.counters["tcp"]["syncookies_failed"] == 1


@pytest.mark.parametrize("change", ["ack+1", "ack-4", "seq", "port", "source", "random"])
def test_a_forged_or_misdirected_ack_is_rejected_with_a_rst(change: str) -> None:
    # (The MSS index is added to the low 24 bits, so as in Linux an ACK a few below the
    # cookie decodes to a smaller MSS class: 1460 is index 3, the highest; +1 is index 4.)
    h = TcpScript(ALWAYS)
    cookie = cookie_handshake(h, options={"mss": 1460})
    seq, ack, sport, src = 5001, (cookie + 1) & MASK, 40000, str(PEER_IP)
    if change == "ack+1":
        ack = (ack + 1) & MASK
    elif change == "ack-4":
        ack = (ack - 4) & MASK
    elif change == "seq":
        seq = 5001 + 100000
    elif change == "port":
        sport = 40001
    elif change == "source":
        src = "10.0.0.3"
    else:
        ack = 0x12345678
    h.inject(flags="A", seq=seq, ack=ack, sport=sport, src=src)
    assert h.accept() is None and h.stack.tcp.conns == {}
    assert h.stack.counters["tcp"]["syncookies_failed"] == 1
    assert h.stack.counters["tcp"]["syncookies_valid"] == 0
    if src == str(PEER_IP):
        h.expect(flags="R", seq=ack)


@pytest.mark.parametrize(("offered", "kept"), [(1460, 1460), (9000, 1460), (1450, 1440),
                                                (1400, 1300), (1299, 536), (500, 536),
                                                (None, 536)])
def test_the_mss_is_rounded_down_to_a_class_of_the_table(offered: int | None,
                                                          kept: int) -> None:
    h = TcpScript(ALWAYS)
    opts = {} if offered is None else {"mss": offered}
    cookie = cookie_handshake(h, options=opts)
    h.inject(flags="A", seq=5001, ack=(cookie + 1) & MASK)
    conn = h.accept()
    assert conn is not None and conn.peer_mss == kept


def test_with_cookies_on_overflow_only_a_full_queue_gets_cookies() -> None:
    h = TcpScript(TcpConfig(max_half_open=2))
    lst = h.listen(80)
    for i in range(3):
        h.inject(flags="S", seq=1000 * i, sport=41000 + i, options={"mss": 1460})
    normal = [h.expect(flags="SA", dport=41000 + i) for i in range(2)]
    third = h.expect(flags="SA", dport=41002)
    assert len(lst.half_open) == 2 and h.stack.counters["tcp"]["syncookies_sent"] == 1
    assert third.seq == sc.make_cookie(h.stack.tcp.cookie_secret, PEER_IP, LOCAL_IP, 41002, 80,
                                       2000, 0, 3)
    assert normal[0].seq != sc.make_cookie(h.stack.tcp.cookie_secret, PEER_IP, LOCAL_IP,
                                           41000, 80, 0, 0, 3)
    h.inject(flags="A", seq=2001, ack=(third.seq + 1) & MASK, sport=41002)
    conn = h.accept()
    assert conn is not None and conn.remote_port == 41002 and conn.from_cookie
    assert len(lst.half_open) == 2  # the cookie connection never was in the queue


def test_with_cookies_off_an_ack_to_a_listener_is_never_taken_as_a_cookie() -> None:
    h = TcpScript(TcpConfig(syncookies=0))
    h.listen(80)
    ack = sc.make_cookie(h.stack.tcp.cookie_secret, PEER_IP, LOCAL_IP, 40000, 80, 5000, 0, 3)
    h.inject(flags="A", seq=5001, ack=(ack + 1) & MASK)
    h.expect(flags="R")
    assert h.accept() is None and h.stack.counters["tcp"]["syncookies_failed"] == 0


def test_a_cookie_ack_with_a_full_accept_queue_is_dropped_and_works_when_retried() -> None:
    h = TcpScript(ALWAYS)
    lst = h.listen(80, backlog=1)
    cookie = cookie_handshake(h, options={"mss": 1460}, peer_iss=10)
    h.inject(flags="S", seq=20, sport=40001, options={"mss": 1460})
    other = h.expect(flags="SA", dport=40001).seq
    h.inject(flags="A", seq=21, ack=(other + 1) & MASK, sport=40001)
    h.inject(flags="A", seq=11, ack=(cookie + 1) & MASK)
    h.expect_nothing()
    assert len(lst.accept_queue) == 1 and h.stack.counters["tcp"]["drop.accept_queue_full"] == 1
    assert len(h.stack.tcp.conns) == 1
    assert h.accept() is not None
    h.inject(flags="A", seq=11, ack=(cookie + 1) & MASK)
    assert h.accept() is not None


def test_syn_ack_is_retransmitted_5_times_from_1_s_doubling_then_the_entry_goes() -> None:
    h = TcpScript(TcpConfig(timestamps=False))
    lst = h.listen(80)
    h.inject(flags="S", seq=100)
    first = h.expect(flags="SA")
    times = []
    for _ in range(200):
        h.advance(0.5)
        for seg in h.drain():
            assert seg.seq == first.seq
            times.append(h.now)
        if not lst.half_open:
            break
    assert times == [1.0, 3.0, 7.0, 15.0, 31.0]  # 1 s doubling (RFC 6298 (2.1), (5.5))
    assert h.now == 63.0 and h.stack.tcp.conns == {}


def test_the_mode_is_checked() -> None:
    with pytest.raises(UsageError, match="syncookies"):
        TcpConfig(syncookies=3)


def test_ts_option_bits_round_trip_and_never_run_ahead_of_the_clock() -> None:
    for clock in (0, 5, 63, 64, 1000, MASK):
        for ws in (None, 0, 7, 14):
            for sack in (False, True):
                ts = sc.ts_with_options(clock, ws, sack)
                assert (ts - clock) & MASK >= 1 << 31 or ts == clock or ts <= clock
                assert sc.options_from_ts(ts)[:2] == (ws, sack)


# ---------------------------------------------------------------------- RFC 5961 §7
def test_answers_to_out_of_window_acks_and_challenge_acks_are_throttled_per_connection(
) -> None:
    h = TcpScript(TcpConfig(timestamps=False))
    conn = h.establish_passive(80)
    una = h.rel(1)
    for i in range(50):  # an ACK flood with sequence numbers outside the window
        h.inject(flags="A", seq=(5001 + 100000 + 7919 * i) & MASK, ack=una)
    assert len(h.drain()) == 1  # one answer in 0.5 s, not 50
    for i in range(50):  # RSTs inside the window but not at RCV.NXT: challenge ACKs
        h.inject(flags="R", seq=5002 + i)
    assert h.drain() == []  # the same budget: the out-of-window answer used it
    h.advance(0.5)
    h.inject(flags="R", seq=5100)
    h.expect(flags="A", seq=una, ack=5001)  # the challenge ACK
    assert conn.state is State.ESTABLISHED and conn.challenge_acks == 1
    assert h.stack.counters["tcp"]["oow_ack_limited"] == 99
    # data out of window is always answered (it is not part of an ACK loop; as Linux)
    for i in range(3):
        h.inject(flags="PA", seq=(5001 + 200000 + 1000 * i) & MASK, ack=una, payload=b"d" * 10)
    assert len(h.drain()) == 3
    # and the connection still works
    h.inject(flags="PA", seq=5001, ack=una, payload=b"hello")
    assert h.app_recv() == b"hello"
