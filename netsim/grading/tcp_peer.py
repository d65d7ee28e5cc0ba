"""Grader for assignment 10-tcp-peer (the capstone): a whole TCP peer, the glue that joins
the student's own 07b sender and 06 receiver into one endpoint.

The student writes ``TcpPeer(isn=0, initial_rto=1.0, max_payload=1000, capacity=64000)`` with
the interface of `netsim.stack.tcp.lab_peer.LabPeer`: ``connect``, ``receive``, ``write``,
``close``, ``read``, ``tick``, ``at_eof``, ``active``; segments are plain 7-tuples
``(seqno, ackno, window, syn, fin, rst, payload)``. The scripted checks run on the student's
peer and on `LabPeer` side by side (`netsim.grading.tcp_peer_run`); then random sequences
against `LabPeer` (`netsim.grading.differential.tcp_peer`) and whole transfers in netsim's
simulated world (`netsim.grading.tcp_peer_sim`).
"""

from __future__ import annotations

from netsim.grading.differential import check_fn
from netsim.grading.framework import Assignment, Check, Context
from netsim.grading.tcp_peer_run import M, Pair

ISN = 1000  # the student's peer's ISN in most scripts
THEIRS = 5000  # the other side's ISN
DATA = bytes(range(97, 123)) * 40  # distinct neighbours, so a shifted byte shows


def _passive(ctx: Context, rule: str, initial_rto: float = 1.0,
             capacity: int = 64000) -> Pair:
    """A peer (ISN 1000) opened passively: their SYN, our SYN-ACK, their ACK of it."""
    r = Pair(ctx, rule, isn=ISN, initial_rto=initial_rto, capacity=capacity)
    r.receive(THEIRS, None, syn=True)
    r.receive(THEIRS + 1, ISN + 1)
    return r


def check_passive_open(ctx: Context) -> None:
    r = Pair(ctx, "a passive open: their SYN gets our SYN-ACK (our ISN, ackno = their ISN + "
             "1, our window); their ACK of it completes the handshake and is not answered "
             "(RFC 9293 §3.5, the three-way handshake)", isn=ISN)
    r.receive(THEIRS, None, syn=True)
    r.receive(THEIRS + 1, ISN + 1)
    r.write(b"hello")
    r.receive(THEIRS + 1, ISN + 6)


def check_active_open(ctx: Context) -> None:
    hint = ("tick() hands the elapsed time to the sender: its timer sends the SYN again "
            "after initial_rto")
    r = Pair(ctx, "an active open: connect() sends the SYN (no ACK flag: nothing to "
             "acknowledge yet); the timer sends it again; the SYN-ACK is acknowledged "
             "(RFC 9293 §3.5, the three-way handshake)", isn=M - 1, initial_rto=0.5)
    r.connect()
    r.tick(0.25)
    r.tick(0.25, hint=hint)
    r.receive(THEIRS, 0, 30000, syn=True)  # their SYN-ACK; our ISN + 1 wraps to 0
    r.write(b"hello")


def check_ack_data(ctx: Context) -> None:
    r = _passive(ctx, "data that arrives when there is nothing to send gets one empty "
                 "segment: ackno = receiver.ackno(), window = receiver.window_field(capacity "
                 "- unread bytes, 0) (RFC 9293 §3.10.7.4: send an acknowledgment)")
    r.receive(THEIRS + 1, ISN + 1, payload=b"hello")
    r.receive(THEIRS + 6, ISN + 1, payload=b"world")
    r.receive(THEIRS + 1, ISN + 1, payload=b"hello")  # a duplicate: ACKed again
    r.receive(THEIRS + 16, ISN + 1, payload=b"later")  # out of order: ACK the hole
    r.write(b"abc")  # data carries the ACK: no empty segment besides it
    r.receive(THEIRS + 11, ISN + 4, payload=b"12345")


def check_out_of_window(ctx: Context) -> None:
    r = _passive(ctx, "a segment outside the receive window is answered with an ACK, even "
                 "one without data; one in the window without data is not "
                 "(RFC 9293 §3.10.7.4, the first check of the sequence number)",
                 capacity=2000)
    r.receive(THEIRS + 1 + 5000, ISN + 1)  # past the window
    r.receive(THEIRS - 100, ISN + 1)  # before it (old)
    r.receive(THEIRS + 1 + 1999, ISN + 1)  # the window's last number: acceptable
    r.receive(THEIRS + 1, ISN + 1)


def check_rst_syn_sent(ctx: Context) -> None:
    r = Pair(ctx, "in SYN-SENT a RST counts only if its ACK acknowledges our SYN "
             "(RFC 9293 §3.10.7.3); an acceptable RST ends the connection, and no RST is "
             "ever answered", isn=ISN)
    r.connect()
    r.receive(THEIRS, None, 0, rst=True)  # no ACK: ignored
    r.receive(0, ISN + 7, 0, rst=True)  # acknowledges something we never sent: ignored
    r.receive(0, ISN + 1, 0, rst=True)  # acknowledges our SYN: the connection is refused
    r.tick(1.0)  # nothing more: the SYN is not sent again
    r.receive(THEIRS, ISN + 1, syn=True)


RST_RULE = ("once synchronized a RST counts only if its sequence number is in the receive "
            "window (RFC 9293 §3.5.3, reset processing), modulo 2**32, and with a zero window "
            "only at RCV.NXT itself; an acceptable one ends the connection, and no RST is "
            "ever answered")


def check_rst_synchronized(ctx: Context) -> None:
    r = _passive(ctx, RST_RULE, capacity=1000)
    r.receive(THEIRS + 1 + 5000, ISN + 1, 0, rst=True)  # past the window: ignored
    r.receive(THEIRS - 50, ISN + 1, 0, rst=True)  # old: ignored
    r.receive(THEIRS + 1, ISN + 1, payload=b"abc")
    r.receive(THEIRS + 4 + 500, None, 0, rst=True)  # in the window (no ACK needed)
    r.receive(THEIRS + 4, ISN + 1, payload=b"more")
    r.tick(5.0)
    # their sequence numbers wrap past 0 right after the handshake: the window wraps too
    ctx.step("(a new peer; the other side's ISN is 2**32 - 3)")
    w = Pair(ctx, RST_RULE, isn=ISN, capacity=1000)
    theirs = M - 3
    w.receive(theirs, None, syn=True)
    w.receive((theirs + 1) % M, ISN + 1)
    w.receive((theirs + 1 + 500) % M, None, 0, rst=True,
              hint="RCV.NXT is 2**32 - 2 and the window 1000 bytes: sequence number 498 is "
                   "inside it; compare modulo 2**32")
    w.receive((theirs + 1) % M, ISN + 1, payload=b"more")
    # a full buffer: the window is zero, so only a RST at exactly RCV.NXT counts
    ctx.step("(a new peer; its 1000-byte buffer is filled and not read)")
    z = _passive(ctx, RST_RULE, capacity=1000)
    z.receive(THEIRS + 1, ISN + 1, payload=DATA[:1000])
    z.receive(THEIRS + 1 + 1000 + 1, None, 0, rst=True,
              hint="with a zero window a RST is acceptable only at RCV.NXT (RFC 9293 "
                   "§3.10.7.4)")
    z.receive(THEIRS + 1 + 1000, None, 0, rst=True)
    z.receive(THEIRS + 1 + 1000, ISN + 1, payload=b"x")


def check_give_up(ctx: Context) -> None:
    r = _passive(ctx, "each timeout sends the oldest segment again; when "
                 "consecutive_retransmissions() exceeds 8 the peer gives up: one RST at the "
                 "next sequence number, then nothing (RFC 9293 §3.8.3: at R2 close the "
                 "connection)")
    r.write(b"hello")
    rto = 1.0
    for _ in range(9):
        r.tick(rto / 2)
        r.tick(rto / 2)
        rto *= 2
    r.tick(1.0)
    r.receive(THEIRS + 1, ISN + 6, payload=b"late")


def check_active_close(ctx: Context) -> None:
    r = _passive(ctx, "an active close (our FIN first) lingers 10 x initial_rto after the last "
                 "segment received, acknowledging a retransmitted FIN, then ends (RFC 9293 "
                 "§3.6: TIME-WAIT's 2 MSL, shortened)", initial_rto=0.5)
    r.write(b"bye")
    r.close()
    r.receive(THEIRS + 1, ISN + 5)  # our data and FIN acknowledged
    r.receive(THEIRS + 1, ISN + 5, payload=b"ok", fin=True)  # theirs: ACK, linger
    r.read()
    r.tick(4.0)
    r.receive(THEIRS + 1, ISN + 5, payload=b"ok", fin=True)  # retransmitted: ACK
    r.tick(4.0)  # 8 s since their first FIN, 4 s since the last segment: still lingering
    r.tick(1.0)
    r.receive(THEIRS + 1, ISN + 5, payload=b"ok", fin=True)  # over: not answered


def check_passive_close(ctx: Context) -> None:
    r = _passive(ctx, "a passive close (their FIN first) does not linger: once our FIN is "
                 "acknowledged the peer is inactive at once (RFC 9293 §3.6, closing a "
                 "connection); at_eof() waits until every byte is read")
    r.receive(THEIRS + 1, ISN + 1, payload=b"bye", fin=True)
    r.read()
    r.write(b"ok")
    r.close()
    r.receive(THEIRS + 5, ISN + 3)  # our data acknowledged, not our FIN
    r.receive(THEIRS + 5, ISN + 4)  # our FIN acknowledged: over
    r.tick(10.0)


def check_read_window(ctx: Context) -> None:
    r = _passive(ctx, "bytes not yet read take room in the window; read() returns them once, "
                 "in order, and frees their room (a window that opens needs no segment of "
                 "its own: the other side probes)", capacity=10)
    r.receive(THEIRS + 1, ISN + 1, payload=DATA[:6])
    r.receive(THEIRS + 7, ISN + 1, payload=DATA[6:12])  # only 4 fit
    r.receive(THEIRS + 11, ISN + 1, payload=DATA[10:12])  # a zero window: ACK
    r.read()
    r.read()
    r.receive(THEIRS + 11, ISN + 1, payload=DATA[10:13])
    r.write(b"x")
    r.read()
    big = _passive(ctx, "the window field is 16 bits: receiver.window_field caps a larger "
                   "room at 65535", capacity=70000)
    big.receive(THEIRS + 1, ISN + 1, payload=DATA[:100])


def check_simulation(ctx: Context) -> None:
    from netsim.grading.tcp_peer_sim import check_transfers
    check_transfers(ctx)


ASSIGNMENT = Assignment(
    name="10-tcp-peer",
    title="The TCP peer: your sender and receiver in one connection",
    filename="tcp_peer.py",
    target="TcpPeer",
    reference="netsim.stack.tcp.lab_peer:LabPeer;netsim.stack.tcp.lab_sender:LabSender;"
              "netsim.stack.tcp.tcp_receiver:StreamReceiver",
    helpers={"sender.py": "Sender", "tcp_receiver.py": "TcpReceiver"},
    returns={
        "connect()": (list,),
        "receive()": (list,),
        "write()": (list,),
        "close()": (list,),
        "tick()": (list,),
        "read()": (bytes,),
        "at_eof()": (bool,),
        "active()": (bool,),
    },
    checks=(
        Check("passive_open", 2, check_passive_open,
              "a SYN gets the SYN-ACK; its ACK is not answered"),
        Check("active_open", 2, check_active_open,
              "connect() sends the SYN, the timer resends it, the SYN-ACK is acknowledged"),
        Check("ack_data", 2, check_ack_data,
              "data with nothing to send gets one empty ACK; ackno and window on every "
              "segment"),
        Check("out_of_window", 1, check_out_of_window,
              "a segment outside the receive window is answered with an ACK"),
        Check("rst_syn_sent", 2, check_rst_syn_sent,
              "SYN-SENT: a RST counts only if it acknowledges our SYN; never answered"),
        Check("rst_synchronized", 2, check_rst_synchronized,
              "synchronized: a RST counts only inside the receive window; never answered"),
        Check("give_up", 2, check_give_up,
              "more than 8 retransmissions in a row: one RST, then inactive"),
        Check("active_close", 2, check_active_close,
              "our FIN first: linger 10 RTOs after the last segment, ACK a retransmitted FIN"),
        Check("passive_close", 2, check_passive_close,
              "their FIN first: inactive once our FIN is acknowledged, no linger"),
        Check("read_window", 2, check_read_window,
              "unread bytes take window; read() frees it; the field is 16 bits"),
        Check("random_sequences", 3, check_fn("10-tcp-peer"),
              "random exchanges: after every call the same answers as the reference",
              kind="random"),
        Check("simulation_lossy_link", 4, check_simulation,
              "with netsim's TCP over a hostile link, 30 kB each way, 3 runs: intact, closed "
              "cleanly", kind="simulation"),
    ),
)
