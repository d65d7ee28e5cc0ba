"""Assignment 10 (the capstone): a whole TCP peer made of your own sender and receiver.

Copy your sender.py (assignment 07b) and tcp_receiver.py (assignment 06) next to this file:
the peer owns one of each and joins them into one TCP endpoint that opens a connection, moves
bytes both ways and closes it. A segment is a plain 7-tuple

    (seqno, ackno, window, syn, fin, rst, payload)

its 32-bit sequence number, the acknowledgment number (None: the ACK flag is not set), the
16-bit window field (in bytes: no window scaling), the SYN, FIN and RST flags and the payload
bytes. Every method that can make segments returns the list to send now, oldest first.

Fill in the TODOs (README.md gives the rules 1-7). Grade your work with

    netsim grade 10-tcp-peer tcp_peer.py
"""

from __future__ import annotations

from sender import Sender  # your assignment 07b
from tcp_receiver import TcpReceiver  # your assignment 06

Seg = tuple[int, int | None, int, bool, bool, bool, bytes]

MAX_RETX = 8  # give up after this many retransmissions in a row (rule 5)
LINGER_RTOS = 10  # an active close lingers this many initial RTOs (rule 6)


class TcpPeer:
    def __init__(self, isn: int = 0, initial_rto: float = 1.0, max_payload: int = 1000,
                 capacity: int = 64000) -> None:
        self.sender = Sender(isn, initial_rto, max_payload)
        self.receiver = TcpReceiver()
        # TODO: what else must the peer remember? (bytes not yet read, whether it is active,
        # whether its FIN went out, whether it lingers and for how long)

    def connect(self) -> list[Seg]:
        """Active open: the SYN."""
        raise NotImplementedError("TODO: TcpPeer.connect")

    def receive(self, seg: Seg) -> list[Seg]:
        """A segment arrived (rules 1-3): what to send now."""
        raise NotImplementedError("TODO: TcpPeer.receive")

    def write(self, data: bytes) -> list[Seg]:
        """The application's bytes for the outbound stream: what can go now."""
        raise NotImplementedError("TODO: TcpPeer.write")

    def close(self) -> list[Seg]:
        """The end of the outbound stream: the FIN when the window has room."""
        raise NotImplementedError("TODO: TcpPeer.close")

    def read(self) -> bytes:
        """The in-order bytes not yet read (reading frees window, rule 7)."""
        raise NotImplementedError("TODO: TcpPeer.read")

    def tick(self, elapsed: float) -> list[Seg]:
        """`elapsed` seconds passed: retransmissions, a RST on giving up (rule 5), the end of
        the linger time (rule 6)."""
        raise NotImplementedError("TODO: TcpPeer.tick")

    def at_eof(self) -> bool:
        """The other side's FIN arrived and every byte before it was read."""
        raise NotImplementedError("TODO: TcpPeer.at_eof")

    def active(self) -> bool:
        """False once closed cleanly, reset, or given up."""
        raise NotImplementedError("TODO: TcpPeer.active")
