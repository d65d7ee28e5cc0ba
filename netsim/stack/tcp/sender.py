"""The sending side of a connection: what may be sent now, the peer's window and the persist
timer.

- The send buffer is an object of its own, `self.sender` (netsim.stack.tcp.tcp_sender: the
  bytes written and not yet acknowledged, by sequence number); SND.UNA..SND.NXT is in flight.
- `_output` sends what the windows allow: min(cwnd, SND.WND) (RFC 5681 §2, RFC 9293 §3.8.6),
  one new segment per duplicate ACK for the first two (limited transmit, RFC 3042), sender
  SWS avoidance and Nagle (RFC 1122 §4.2.3.4), the restart after idle (RFC 5681 §4.1), then
  the FIN after the last byte.
- The send window is taken from an ACK only if it is newer (SND.WL1/SND.WL2,
  RFC 9293 §3.10.7.4 fifth).
- A zero window is probed by the persist timer, backing off (RFC 9293 §3.8.6.1,
  RFC 1122 §4.2.2.17); a small window that never grows is sent into when the persist timer
  fires (the SWS override timeout, RFC 1122 §4.2.3.4).
"""

from __future__ import annotations

from typing import Any

from netsim.errors import UsageError
from netsim.stack.tcp import delivery, ecn
from netsim.stack.tcp import rack_recovery as rack
from netsim.stack.tcp.errors import ConnectionClosed
from netsim.stack.tcp.output import SegmentOutput
from netsim.stack.tcp.seq import HALF, MASK, MOD, seq_diff, seq_lt
from netsim.stack.tcp.states import (
    CAN_SEND,
    CLOSE_WAIT,
    CLOSED,
    CLOSING,
    ESTABLISHED,
    FIN_WAIT_1,
    LAST_ACK,
    SYN_RECEIVED,
    SYN_SENT,
)
from netsim.stack.tcp.tcb import seam_bytes
from netsim.stack.timers import INF
from netsim.wire.tcp import ACK, CWR, FIN, PSH, TCPSegment


class Sender(SegmentOutput):
    """`send`, `_output`, the peer's window, the persist timer."""

    __slots__ = ()

    # ================================================================== application
    @property
    def send_space(self) -> int:
        return max(0, self.cfg.sndbuf - self.sender.buffered())

    @property
    def unsent(self) -> int:
        return seq_diff(self._data_end(), self.snd_nxt) if self.state is not CLOSED else 0

    def send(self, data: bytes, now: float) -> int:
        """Queue up to `send_space` bytes; returns how many were taken."""
        if self.error is not None:
            raise self.error
        if self.fin_queued or self.state not in CAN_SEND and self.state not in (
                SYN_SENT, SYN_RECEIVED):
            raise ConnectionClosed(f"TCP {self.name}: cannot send in state {self.state}"
                                   + (" after shutdown" if self.fin_queued else ""))
        take = min(len(data), self.send_space)
        if take:
            self._snd_end = -1  # data_end() moves (marked first, in case write() raises)
            self.sender.write(data[:take] if take < len(data) else data)
            if self.state in CAN_SEND:
                self._output(now)
        return take

    # ================================================================== output
    def _output(self, now: float) -> None:
        """Send what the windows, Nagle and SWS avoidance allow (RFC 9293 §3.8.6,
        RFC 1122 §4.2.3.4)."""
        state = self.state
        if state not in (ESTABLISHED, CLOSE_WAIT, FIN_WAIT_1, CLOSING, LAST_ACK):
            return
        # The end of the data written: nothing in here writes to the send buffer (the
        # application does, between calls)
        data_end = self._snd_end
        if data_end < 0:  # (as _data_end(), without the call when it is known)
            data_end = self._data_end()
        if not self.fin_queued and self.snd_nxt == data_end and not self.sack_recovery:
            return  # nothing queued beyond SND.NXT (the common case on a receiver)
        if self.sack_recovery:
            self._sack_output(now)
            # (seq_diff(data_end, SND.MAX) > 0, written out)
            if 0 < (data_end - self.snd_max) & MASK < HALF or not self.fin_queued:
                return
        mss = self.snd_mss
        sent = False
        while True:
            nxt = self.snd_nxt
            # (seq_diff written out, here and below: a distance of HALF or more is negative)
            avail = (data_end - nxt) & MASK
            if avail >= HALF:
                avail -= MOD
            if avail > 0:
                flight = (nxt - self.snd_una) & MASK
                if flight >= HALF:
                    flight -= MOD
                wnd = self.cc.cwnd
                if self.dupacks and not self.in_recovery:
                    # RFC 3042 limited transmit: a new segment for each of the first two
                    # duplicate ACKs, so a small window still gets three of them
                    wnd += min(self.dupacks, 2) * mss
                if self.snd_wnd < wnd:
                    wnd = self.snd_wnd
                usable = wnd - flight
                n = avail if avail < mss else mss
                if usable < n:
                    n = usable
                if n <= 0:
                    if self.snd_wnd == 0 and flight == 0 and self.persist_at == INF:
                        self._start_persist(now)
                    break
                if n < mss:
                    # Sender SWS avoidance and Nagle: a small segment goes only when it
                    # carries all queued data and nothing is unacknowledged (or NODELAY,
                    # or the connection is closing), or it fills half the peer's max window.
                    if not ((n == avail and (self.cfg.nodelay or flight == 0 or
                                             self.fin_queued))
                            or n >= self.max_snd_wnd // 2 > 0 or self._sws_override):
                        if flight == 0 and self.persist_at == INF:
                            # RFC 1122 §4.2.3.4: an override timeout, so that a small
                            # window that never grows cannot stall the sender for good
                            self._start_persist(now)
                        break
                if self.pacer is not None and self.pacer.wait(now):
                    break  # pacing: the pacer's timer sends it (netsim.stack.tcp.pacing)
                if flight == 0 and now - self._last_send > self.rto_est.rto and \
                        self.data_segs_out:
                    self.cc.on_idle(now - self._last_send, self.rto_est.rto, now)
                    n = min(n, self.cc.cwnd)
                self._send_segment(nxt, n, now, data_end)
                nxt = (nxt + n) & MASK
                self.snd_nxt = nxt  # and SND.MAX follows it up (_set_snd_nxt)
                if 0 < (nxt - self.snd_max) & MASK < HALF:
                    self.snd_max = nxt
                sent = True
                continue
            if self.rate is not None:  # nothing more to send: application-limited?
                delivery.app_limited(self, seq_diff(nxt, self.snd_una))
            if avail == 0 and self.fin_queued and state in (FIN_WAIT_1, LAST_ACK,
                                                             CLOSING):
                # The FIN follows the last data byte.
                retransmit = seq_lt(nxt, self.snd_max)
                self._emit(nxt, FIN | ACK, b"", now, retransmit)
                self._set_snd_nxt((nxt + 1) & MASK)
                sent = True
            break
        if sent and self.persist_at == INF:
            self._start_rto_if_stopped(now)

    def _send_segment(self, seq: int, n: int, now: float, data_end: int = -1) -> None:
        """Send the `n` bytes written from `seq` on (new or again); `data_end`: the send
        buffer's `data_end()` when the caller has it."""
        # (through Any: a seam's bytearray or memoryview is taken in both builds, copied once)
        seam: Any = self.sender
        raw = seam.payload(seq, n)
        payload: bytes = raw if type(raw) is bytes else seam_bytes(raw, "sender: payload()")
        if len(payload) != n:
            raise UsageError(f"sender: payload(seqno, {n}) gave {len(payload)} bytes; "
                             f"exactly {n} are held from that sequence number")
        snd_max = self.snd_max
        retransmit = seq != snd_max and seq_lt(seq, snd_max)
        flags = ACK
        if data_end < 0:
            data_end = self._data_end()
        if (data_end - seq) & MASK == n:  # (seq_diff(data_end, seq): n > 0)
            flags |= PSH  # the last queued byte: push
        if not retransmit and self._rtt_seq is None and not self.ts_ok:
            self._rtt_seq = seq  # time this segment (RFC 6298 §3, Karn)
            self._rtt_time = now
        self.data_segs_out += 1
        self._last_send = now
        if self.rack is not None:  # RACK-TLP: the transmit time (RFC 8985 §6.1)
            rack.on_transmit(self, seq, n, now, retransmit)
        if self.rate is not None or self.pacer is not None:  # rate sample, pacing
            delivery.on_transmit(self, seq, n, now, retransmit)
        # RFC 3168 §6.1.2: ECT(0) on new data only, not on a retransmission (§6.1.5) or a
        # window probe (§6.1.6); CWR on the first new data after a window reduction
        ect = self.ecn_ok and not retransmit and not self._probing
        if ect and ecn.new_data_cwr(self, now):
            flags |= CWR
        self._emit(seq, flags, payload, now, retransmit, ect)

    # ================================================================== ACKs
    def _rate_sample(self, seg: TCPSegment, now: float) -> None:
        """What the ACK delivered, as a rate sample for the controller (BBR), which may change
        cwnd and the pacing rate (netsim.stack.tcp.delivery)."""
        delivery.on_ack(self, seg, now)

    def _ecn_echoed(self, ack: int, cwnd_before: int, now: float) -> None:
        """An ACK with ECE arrived (netsim.stack.tcp.ecn: reduce the window at most once per
        window of data); `cwnd_before` is the window before the ACK was processed."""
        ecn.on_ece(self, ack, cwnd_before, now)

    def _drop_acked(self, ack: int, acked: int) -> None:
        """The sender drops the bytes an ACK covers: at most `acked`, the sequence numbers
        SND.UNA moved (the SYN and FIN among them take no room in the buffer)."""
        self._snd_end = -1  # (data_end() stays, by the contract; asked again all the same)
        dropped = self.sender.acknowledge(ack)
        if not 0 <= dropped <= acked:
            raise UsageError(f"sender: acknowledge() gave {dropped!r}; the ACK covers {acked} "
                             "new sequence numbers, so 0 to that many bytes are allowed")
        self.bytes_acked += dropped

    def _update_window(self, seq: int, ack: int, wnd: int) -> None:
        """RFC 9293 §3.10.7.4 fifth: take SND.WND from the ACK if SND.WL1 < SEG.SEQ or
        (SND.WL1 = SEG.SEQ and SND.WL2 =< SEG.ACK)."""
        wl1 = self.snd_wl1
        # (seq_lt(wl1, seq) or wl1 == seq and seq_le(SND.WL2, ack), written out)
        if 0 < (seq - wl1) & MASK < HALF or wl1 == seq and (ack - self.snd_wl2) & MASK < HALF:
            self.snd_wnd = wnd
            self.snd_wl1, self.snd_wl2 = seq, ack
            if wnd > self.max_snd_wnd:
                self.max_snd_wnd = wnd
            if wnd and self.persist_at != INF:
                self.persist_at = INF  # the window opened: no more probes
                self._persist_backoff = 0
                # A probe byte the receiver refused is sent again from SND.UNA (as BSD
                # does), not left as a hole for the retransmission timer to find.
                self.snd_nxt = self.snd_una

    # ================================================================== persist timer
    def _on_persist(self, now: float) -> None:
        self._timer_record(now, "persist")
        if self.snd_wnd > 0 or self.state not in (ESTABLISHED, CLOSE_WAIT,
                                                  FIN_WAIT_1, CLOSING, LAST_ACK):
            self._persist_backoff = 0
            self._sws_override = True  # send what the small window takes (RFC 1122 §4.2.3.4)
            self._output(now)
            self._sws_override = False
            return
        self.stack.tcp_counts["window_probes"] += 1
        una = self.snd_una
        if seq_diff(self._data_end(), una) > 0:
            # A window probe: one byte at SND.UNA, past the closed window
            self._probing = True
            self._send_segment(una, 1, now)
            self._probing = False
            if seq_lt(self.snd_nxt, (una + 1) & MASK):
                self._set_snd_nxt((una + 1) & MASK)
        else:
            self._send_ack(now)
        if self._persist_backoff < 16:
            self._persist_backoff += 1
        self._start_persist(now)
