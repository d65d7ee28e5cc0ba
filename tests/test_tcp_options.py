"""TCP options at the segment level: window scaling (RFC 7323 §2), timestamps and RTTM
(RFC 7323 §3-§4), and the MSS with options (RFC 9293 §3.7.1), scripted with
netsim.testing.script."""

from __future__ import annotations

import pytest

from netsim.stack.events import RttRecord, TraceRecord
from netsim.stack.tcp.config import TcpConfig
from netsim.stack.tcp.connection import TcpConnection
from netsim.testing.script import TcpScript
from netsim.wire.tcp import TCPOption, TimestampOption

PEER_ISS = 5000
RCVBUF = 1 << 20  # needs a shift of 5 for its size to fit the 16-bit field
OUR_SHIFT = 5


def p(n: int) -> int:
    """The peer's sequence number of its stream byte n."""
    return PEER_ISS + 1 + n


def tsval(options: tuple[TCPOption, ...]) -> int:
    return next(o.tsval for o in options if isinstance(o, TimestampOption))


class Records:
    def __init__(self) -> None:
        self.items: list[TraceRecord] = []

    def record(self, rec: TraceRecord) -> None:
        self.items.append(rec)


def active(peer_options: dict[str, object], window: int = 1000,
           cfg: TcpConfig | None = None) -> tuple[TcpScript, TcpConnection]:
    h = TcpScript(cfg or TcpConfig(rcvbuf=RCVBUF, delayed_ack=0))
    conn = h.connect(80)
    syn = h.expect(flags="S")
    opts = dict(peer_options)
    if opts.get("ts") == "echo":
        ts0 = tsval(syn.options)
        opts["ts"] = (100, ts0)
    h.inject(flags="SA", seq=PEER_ISS, ack=h.rel(1), window=window, options=opts)
    return h, conn


# ---------------------------------------------------------------------- window scaling
def test_syn_offers_window_scale_and_its_window_is_not_scaled() -> None:
    h = TcpScript(TcpConfig(rcvbuf=RCVBUF))
    h.connect(80)
    # RFC 7323 §2.2: the window field of a SYN is never scaled: the field says 65535
    h.expect(flags="S", window=65535, options={"wscale": OUR_SHIFT})


def test_no_window_scale_offered_when_disabled() -> None:
    h = TcpScript(TcpConfig(rcvbuf=RCVBUF, window_scaling=False))
    h.connect(80)
    h.expect(flags="S", window=65535, options={"wscale": None})


def test_negotiated_shifts_apply_to_later_windows_in_both_directions() -> None:
    h, conn = active({"mss": 1000, "wscale": 7}, window=1000)
    # the peer's SYN-ACK window is taken unscaled
    assert conn.snd_wnd == 1000
    # our first window after the handshake is the buffer shifted right by our shift
    h.expect(flags="A", window=RCVBUF >> OUR_SHIFT)
    # the peer's later windows are shifted left by its shift
    h.inject(flags="A", seq=p(0), window=100)
    assert conn.snd_wnd == 100 << 7
    h.inject(flags="A", seq=p(0), payload=b"x" * 1000, window=100)
    h.expect(flags="A", ack=p(1000), window=(RCVBUF - 1000) >> OUR_SHIFT)


def test_no_scaling_when_the_peer_does_not_offer_it() -> None:
    h, conn = active({"mss": 1000}, window=1000)
    assert conn.snd_wscale == conn.rcv_wscale == 0
    h.expect(flags="A", window=65535)  # the field, unscaled, capped at 65535
    h.inject(flags="A", seq=p(0), window=100)
    assert conn.snd_wnd == 100


def test_no_scaling_when_we_did_not_offer_it_even_if_the_peer_sends_one() -> None:
    # RFC 7323 §2.2: scaling is on only if both sides sent the option in their SYNs
    h, conn = active({"mss": 1000, "wscale": 7}, window=1000,
                     cfg=TcpConfig(rcvbuf=RCVBUF, window_scaling=False, delayed_ack=0))
    h.expect(flags="A", window=65535)
    h.inject(flags="A", seq=p(0), window=100)
    assert conn.snd_wnd == 100


def test_shift_above_14_is_treated_as_14() -> None:
    # RFC 7323 §2.3
    h, conn = active({"mss": 1000, "wscale": 15}, window=1000)
    h.inject(flags="A", seq=p(0), window=3)
    assert conn.snd_wnd == 3 << 14


def test_syn_ack_carries_window_scale_only_if_the_syn_did() -> None:
    # RFC 7323 §2.2: a SYN-ACK may carry the option only when the SYN did
    h = TcpScript(TcpConfig(rcvbuf=RCVBUF))
    h.listen(80)
    h.inject(flags="S", seq=PEER_ISS, options={"mss": 1000})
    h.expect(flags="SA", window=65535, options={"wscale": None})
    h2 = TcpScript(TcpConfig(rcvbuf=RCVBUF))
    h2.listen(80)
    h2.inject(flags="S", seq=PEER_ISS, window=2000, options={"mss": 1000, "wscale": 2})
    h2.expect(flags="SA", window=65535, options={"wscale": OUR_SHIFT})
    # the ACK that completes the handshake has a scaled window
    h2.inject(flags="A", seq=p(0), ack=h2.rel(1), window=2000)
    conn = h2.accept()
    assert conn is not None
    assert conn.snd_wnd == 2000 << 2


def test_sender_uses_the_scaled_window() -> None:
    # a 100-unit window with shift 7 is 12800 bytes: 12 full segments go (the rest of the
    # window is smaller than a segment and sender SWS avoidance holds it back)
    h, conn = active({"mss": 1000, "wscale": 7}, window=100)
    h.expect(flags="A")
    h.inject(flags="A", seq=p(0), window=100)
    conn.cc.cwnd = 100_000
    h.app_send(b"z" * 50_000)
    sent = h.drain()
    assert [len(s.payload) for s in sent] == [1000] * 12


# ---------------------------------------------------------------------- timestamps
def test_timestamps_negotiated_and_echoed() -> None:
    h, conn = active({"mss": 1000, "ts": "echo"})
    assert conn.ts_ok
    h.expect(flags="A", options={"ts": lambda v: v[1] == 100})
    h.inject(flags="A", seq=p(0), payload=b"a" * 500, options={"ts": (200, 0)})
    h.expect(flags="A", ack=p(500), options={"ts": lambda v: v[1] == 200})


def test_ts_recent_only_from_segments_at_or_below_the_last_ack_sent() -> None:
    # RFC 7323 §4.3: TS.Recent takes SEG.TSval only if SEG.SEQ <= Last.ACK.sent, so after a
    # hole the echo is the timestamp of the segment that was expected, not of a later one
    h, conn = active({"mss": 1000, "ts": "echo"})
    h.expect(flags="A")
    h.inject(flags="A", seq=p(0), payload=b"a" * 500, options={"ts": (200, 0)})
    h.expect(flags="A", ack=p(500), options={"ts": lambda v: v[1] == 200})
    h.inject(flags="A", seq=p(1000), payload=b"c" * 500, options={"ts": (300, 0)})  # hole
    h.expect(flags="A", ack=p(500), options={"ts": lambda v: v[1] == 200})
    h.inject(flags="A", seq=p(500), payload=b"b" * 500, options={"ts": (250, 0)})  # fills it
    h.expect(flags="A", ack=p(1500), options={"ts": lambda v: v[1] == 250})


def test_tsval_counts_milliseconds() -> None:
    h, conn = active({"mss": 1000, "ts": "echo"})
    first = h.expect(flags="A").options
    h.advance(2.5)
    h.inject(flags="A", seq=p(0), payload=b"a" * 10, options={"ts": (300, 0)})
    later = h.expect(flags="A").options
    ts0 = tsval(first)
    ts1 = tsval(later)
    assert (ts1 - ts0) & 0xFFFFFFFF == 2500


def test_no_timestamps_unless_both_sides_offer_them() -> None:
    h, conn = active({"mss": 1000})
    assert not conn.ts_ok
    h.expect(flags="A", options={"ts": None})
    h.app_send(b"d" * 100)
    h.expect(flags="PA", options={"ts": None})
    h2 = TcpScript(TcpConfig(timestamps=False))
    h2.connect(80)
    h2.expect(flags="S", options={"ts": None})


def test_an_rtt_sample_from_every_ack_of_new_data() -> None:
    # RFC 7323 §4.1 (RTTM): with timestamps every ACK that acknowledges new data gives an
    # RTT sample, TSecr being the TSval of the segment it acknowledges
    trace = Records()
    h = TcpScript(TcpConfig(delayed_ack=0), trace=trace)
    h.connect(80)
    syn = h.expect(flags="S")
    ts0 = tsval(syn.options)
    h.inject(flags="SA", seq=PEER_ISS, ack=h.rel(1), options={"mss": 1000, "ts": (1, ts0)})
    h.expect(flags="A")
    conn = h.conn
    assert conn is not None
    conn.cc.cwnd = 20_000
    h.app_send(b"e" * (988 * 6))
    sent = h.drain()
    assert len(sent) == 6
    before = sum(1 for r in trace.items if isinstance(r, RttRecord) and r.sample is not None)
    rtts = [0.040, 0.055, 0.070]
    for i, (rtt, k) in enumerate(zip(rtts, (1, 3, 6), strict=True)):
        h.advance_to(h.sent[-1].time + rtt if i == 0 else h.now + 0.015)
        # the peer acks up to segment k, echoing the TSval of the segment (k - 1)
        echo = tsval(sent[k - 1].options)
        h.inject(flags="A", seq=p(0), ack=h.rel(1 + 988 * k), options={"ts": (10 + i, echo)})
    samples = [r.sample for r in trace.items if isinstance(r, RttRecord) and
               r.sample is not None][before:]
    assert samples == pytest.approx(rtts, abs=0.0011)
    assert conn.rto_est.srtt is not None


# ---------------------------------------------------------------------- MSS
@pytest.mark.parametrize(("options", "payload"), [
    ({"mss": 1000}, 1000),
    ({"mss": 1000, "ts": "echo"}, 988),  # 12 bytes of each segment go to the timestamp
    ({"mss": 1000, "ts": "echo", "wscale": 2, "sackOK": True}, 988),
    ({}, 536),  # RFC 9293 §3.7.1: no MSS option, 536
])
def test_data_segments_carry_the_negotiated_mss(options: dict[str, object],
                                                payload: int) -> None:
    h, conn = active(options, window=65535)
    h.expect(flags="A")
    h.app_send(b"f" * 3 * payload)
    sent = h.drain()
    assert [len(s.payload) for s in sent] == [payload] * 3
