"""Segment output: every segment of a connection leaves through `_emit`.

A segment of the data phase (`_emit`) carries ACK = RCV.NXT, the window we advertise
(netsim.stack.tcp.receiver), timestamps when agreed (RFC 7323 §3: TSval, TSecr = TS.Recent)
and SACK blocks when we hold out-of-order data (RFC 2018 §4), in the option space the
payload leaves (RFC 9293 §3.7.1), and ECE while the receiver echoes a CE mark (RFC 3168
§6.1.3, netsim.stack.tcp.ecn). Any segment with ACK records Last.ACK.sent (RFC 7323 §4.3)
and cancels a pending delayed ACK. Here too the statistics of what was sent, and the "tx"
trace record; the segment itself goes to the stack (`ConnectionHost.send_tcp`).
"""

from __future__ import annotations

from netsim.stack.tcp.ecn import ECT0
from netsim.stack.tcp.receiver import Receiver
from netsim.stack.tcp.seq import MASK
from netsim.stack.timers import INF
from netsim.wire.tcp import (
    ACK,
    ECE,
    TCPOption,
    decode_options,
    sack_option,
    segment_unchecked,
    timestamps_option,
)


class SegmentOutput(Receiver):
    """Build and send one segment."""

    __slots__ = ()

    def _send_ack(self, now: float) -> None:
        # <SEQ=SND.NXT><ACK=RCV.NXT> (RFC 9293 §3.10.7.4), but after a go-back-N timeout
        # SND.NXT lags what the peer may already hold and the ACK would be unacceptable
        # there: a pure ACK carries SND.MAX instead (as 4.4BSD tcp_output does)
        self._emit(self.snd_max, ACK, b"", now, False)

    def _emit(self, seq: int, flags: int, payload: bytes, now: float, retransmit: bool,
              ect: bool = False, raw_opts: bytes | None = None, raw_window: int = 0) -> None:
        """Send one segment of the data phase (with ACK, timestamps and SACK blocks); `ect`:
        in an ECT(0) datagram (new data of an ECN connection). Any other segment (SYN, RST)
        comes through `_emit_raw` with its options encoded (`raw_opts`) and its window field
        (`raw_window`) as they go."""
        options: tuple[TCPOption, ...]
        if raw_opts is None:
            if self.ecn_echo:
                flags |= ECE  # RFC 3168 §6.1.3: on every ACK until the sender's CWR arrives
            window = self._window_field()
            opts = b""
            # `options`: `opts` decoded, as the receiver would parse them
            options = ()
            if self.ts_ok:
                tsval = (int(now * 1000) + self._ts_off) & MASK  # (self._tsval(now))
                tsecr = self.ts_recent
                if tsval != self._ts_val or tsecr != self._ts_ecr:
                    # (else the option of the last segment, unchanged)
                    self._ts_opts, self._ts_options = timestamps_option(tsval, tsecr)
                    self._ts_val = tsval
                    self._ts_ecr = tsecr
                opts = self._ts_opts
                options = self._ts_options
            if self.sack_ok and (self._pending or self._dsack is not None):
                # RFC 9293 §3.7.1: data and options together fit the MSS, so SACK blocks go
                # only into the option space a data segment leaves free
                space = self.snd_mss + len(opts) - len(payload) if payload else 40
                blocks = self._sack_blocks(len(opts), space)
                if blocks:
                    sack_bytes, sack_options = sack_option(blocks)
                    opts += sack_bytes
                    options += sack_options
        else:
            opts = raw_opts
            options = decode_options(opts)
            window = raw_window
        ack = self.rcv_nxt if flags & ACK else 0
        # what parsing its bytes gives, but for the checksum, computed only if the bytes are
        # built (netsim.wire.lazyframe)
        segment = segment_unchecked(self.local_port, self.remote_port, seq, ack, flags, window,
                                    payload, options, 5 + (len(opts) >> 2))
        if flags & ACK:
            self.last_ack_sent = ack
            self._unacked_rcv = 0
            self.delack_at = INF
        self.segs_out += 1
        if retransmit:
            self.retransmissions += 1
            self._tcp_counts["retransmissions"] += 1
        self._tcp_counts["tx"] += 1
        if self.trace is not None:
            self._trace_segment("tx", seq, ack, len(payload), flags, window, options, now,
                                retransmit)
        if ect:
            self._send_tcp(self.local_ip, self.remote_ip, segment, opts, now, ECT0)
        else:
            self._send_tcp(self.local_ip, self.remote_ip, segment, opts, now)

    def _emit_raw(self, seq: int, flags: int, payload: bytes, opts: bytes, window: int,
                  now: float, retransmit: bool = False) -> None:
        """Send a segment outside the data phase (SYN, SYN-ACK, RST): its options encoded as
        `opts` and its window field as they are."""
        self._emit(seq, flags, payload, now, retransmit, False, opts, window)
