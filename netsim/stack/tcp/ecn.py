"""ECN in TCP (RFC 3168 §6.1): the handshake that agrees on it, and the CE -> ECE -> CWR loop.

- Agreeing (RFC 3168 §6.1.1, initialization): the side that opens sends an ECN-setup SYN (ECE
  and CWR set) when ``TcpConfig.ecn`` is 1; the other side, with ``ecn`` 1 or 2, answers an
  ECN-setup SYN with an ECN-setup SYN-ACK (ECE set, CWR clear). ECN is on only when both were
  sent. A retransmitted SYN is not ECN-setup, as Linux's tcp_ecn_fallback does: a
  middlebox that drops ECN-setup SYNs then still lets the connection open (RFC 3168
  §6.1.1.1 allows resending the SYN with CWR and ECE cleared); a SYN without ECE and CWR once
  sent, the connection sends no ECT.
- The sender (RFC 3168 §6.1.2): new data leaves with ECT(0) in the IP header; pure ACKs
  (§6.1.4: not-ECT), retransmissions (§6.1.5) and window probes (§6.1.6) do not. An ACK with
  ECE is a congestion signal, answered as a loss is, through the controller's own reduction
  (`on_loss`, with cwnd then at ssthresh: no recovery follows), at most once per window of
  data; the window does not grow on an ECE ACK. A loss found later in the window an ECE ACK
  already cut is repaired without a second cut (`cut_this_window`). After any window
  reduction (ECE, fast retransmit or timeout) the first new data segment carries CWR.
- The receiver (RFC 3168 §6.1.3): a CE-marked segment in the window turns the echo on; every
  ACK then carries ECE until a segment with CWR arrives. The first CE is acknowledged at once
  (as Linux's quick ACK), so a delayed ACK cannot swallow it behind the CWR that ends it.

The per-segment work stays in the connection's files, one attribute test each:
`SegmentOutput._emit` sets ECE, `Sender._send_segment` decides ECT and CWR; the handshake,
`segment_arrives` and `_process_ack` call the functions here only when ECN is in play.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from netsim.stack.events import EcnRecord
from netsim.stack.tcp.seq import seq_diff, seq_gt
from netsim.wire.tcp import ACK, CWR, ECE

if TYPE_CHECKING:
    from netsim.stack.tcp.retransmit_timer import RetransmitTimer as Conn

__all__ = ["CE", "ECT0", "ECN_SETUP_SYN", "cut_this_window", "established", "loss_after_cut",
           "syn_again", "new_data_cwr", "on_ece", "on_receive", "syn_flags", "take_syn"]

#: The ECN field of the IP header (RFC 3168 §5): ECT(0), and CE (congestion experienced)
ECT0: Final = 0b10
CE: Final = 0b11
#: The flags of an ECN-setup SYN (RFC 3168 §6.1.1); an ECN-setup SYN-ACK has ECE alone
ECN_SETUP_SYN: Final = ECE | CWR

NEVER: Final = 0
ASK: Final = 1  # TcpConfig.ecn: ask in our SYNs, agree when asked
AGREE: Final = 2  # agree when asked only (Linux's default)


# ---------------------------------------------------------------------- the handshake
def syn_flags(conn: Conn, ack: bool) -> int:
    """ECE/CWR for the SYN or SYN-ACK `conn` is about to send (RFC 3168 §6.1.1)."""
    if ack:
        return ECE if conn.ecn_ok else 0  # an ECN-setup SYN-ACK only to an ECN-setup SYN
    # our first SYN asks when configured to; a retransmitted one does not (§6.1.1.1, as
    # Linux's tcp_ecn_fallback), and from then on this connection sends no ECT
    conn._ecn_asked = conn.cfg.ecn == ASK and conn.retries == 0
    return ECN_SETUP_SYN if conn._ecn_asked else 0


def take_syn(conn: Conn, flags: int) -> None:
    """The peer's SYN or SYN-ACK arrived with `flags`: is ECN agreed (RFC 3168 §6.1.1)?"""
    if flags & ACK:  # a SYN-ACK answers our SYN: ECN-setup is ECE without CWR
        conn.ecn_ok = conn._ecn_asked and flags & ECN_SETUP_SYN == ECE
    elif conn.listener is not None:  # a SYN to a listener: agree if configured to
        conn.ecn_ok = conn.cfg.ecn != NEVER and flags & ECN_SETUP_SYN == ECN_SETUP_SYN
    else:  # simultaneous open: both sent SYNs, both must be ECN-setup
        conn.ecn_ok = conn._ecn_asked and flags & ECN_SETUP_SYN == ECN_SETUP_SYN


def syn_again(conn: Conn, flags: int) -> None:
    """The peer's SYN again, in SYN-RECEIVED: once a non-ECN-setup SYN was received the host
    should not send ECT (RFC 3168 §6.1.1); an ECN-setup one cannot turn it back on, as a
    non-ECN-setup SYN-ACK may have been sent."""
    if flags & ECN_SETUP_SYN != ECN_SETUP_SYN:
        conn.ecn_ok = False


def established(conn: Conn, now: float) -> None:
    """The data phase starts with ECN on: count it, and start the once-per-window marks."""
    conn._ecn_high = conn._ecn_recover = conn.recover
    conn.stack.tcp_counts["ecn_negotiated"] += 1
    _record(conn, now, "negotiated")


# ---------------------------------------------------------------------- the receiver
def on_receive(conn: Conn, flags: int, ip_ecn: int, now: float) -> bool:
    """A data segment in the window arrived (the CE of one outside it is ignored: RFC 3168
    §6.1.5, for retransmitted packets; a window probe's counts, §6.1.6): a CWR ends the echo,
    a CE starts it (RFC 3168 §6.1.3, the receiver). True when the echo has just begun: that
    ACK goes at once."""
    if flags & CWR and conn.ecn_echo:
        conn.ecn_echo = False
        conn.stack.tcp_counts["ecn_cwr_received"] += 1
        _record(conn, now, "cwr_received")
    if ip_ecn != CE:
        return False
    conn.ce_received += 1
    conn.stack.tcp_counts["ecn_ce_received"] += 1
    if conn.ecn_echo:
        return False
    conn.ecn_echo = True
    _record(conn, now, "ce_received")
    return True


# ---------------------------------------------------------------------- the sender
def on_ece(conn: Conn, ack: int, cwnd_before: int, now: float) -> None:
    """An ACK with ECE (not a SYN's) was processed; `cwnd_before` is the window before it.

    RFC 3168 §6.1.2 (the sender): the window does not grow on an ECE ACK, and is reduced as
    for a loss at most once per window of data: only for an ACK beyond what was outstanding
    at the last reduction, ECE or loss (`recover`, RFC 6582), and not in loss recovery."""
    cc = conn.cc
    conn.stack.tcp_counts["ecn_ece_received"] += 1
    if conn.in_recovery or not seq_gt(ack, conn._ecn_high) or not seq_gt(ack, conn.recover):
        if cc.cwnd > cwnd_before:
            cc.cwnd = cwnd_before
        return
    cc.cwnd = cwnd_before
    cc.on_loss(seq_diff(conn.snd_max, conn.snd_una), now)
    if cc.cwnd > cc.ssthresh:
        cc.cwnd = cc.ssthresh  # no fast recovery follows, so no inflation (RFC 5681 §3.2)
    conn._ecn_high = conn.snd_max
    conn._ecn_cwr = True
    conn.ecn_reductions += 1
    conn.stack.tcp_counts["ecn_reductions"] += 1
    conn._event(now, "ecn_reduce", f"cwnd {cc.cwnd}")
    _record(conn, now, "reduce")
    conn._trace_cwnd(now, "ecn")


def cut_this_window(conn: Conn, lost: int | None = None) -> bool:
    """Whether an ECE reduction already answered congestion in the window of data that a loss
    found now belongs to: the lost byte (`lost`, default SND.UNA) was sent before it (below
    SND.MAX at that reduction). RFC 3168 §6.1.2: the window is reduced only once for a series
    of dropped and/or CE packets from a single window of data, and ssthresh is not decreased
    again within a round trip (as Linux, whose recovery entered in its CWR state does not
    reduce again)."""
    high = conn._ecn_high
    return conn.ecn_ok and seq_gt(high, conn.snd_una if lost is None else lost) \
        and not seq_gt(high, conn.snd_max)


def loss_after_cut(conn: Conn, now: float) -> None:
    """A loss was found in a window an ECE reduction already cut (`cut_this_window`): the
    lost data is resent, but cwnd and ssthresh stay, and no new CWR is due (RFC 3168 §6.1.2:
    CWR follows a reduction). Call after `recover` is set for the recovery."""
    conn._ecn_recover = conn.recover
    conn.stack.tcp_counts["ecn_loss_after_cut"] += 1
    _record(conn, now, "loss_after_cut")


def new_data_cwr(conn: Conn, now: float) -> bool:
    """Whether the new data segment about to leave carries CWR: the first after a window
    reduction for any reason (RFC 3168 §6.1.2). Every loss reduction moves `recover`."""
    if not conn._ecn_cwr and conn.recover == conn._ecn_recover:
        return False
    conn._ecn_cwr = False
    conn._ecn_recover = conn.recover
    conn.stack.tcp_counts["ecn_cwr_sent"] += 1
    _record(conn, now, "cwr_sent")
    return True


def _record(conn: Conn, now: float, event: str) -> None:
    if conn.trace is not None:
        conn.trace.record(EcnRecord(now, conn.stack.name, conn.name, event, conn.cc.cwnd,
                                    conn.cc.ssthresh))
