"""Assignment 07b: the whole TCP sender (window, SYN/FIN, retransmission timer, zero-window
probes).

The application writes a stream of bytes and closes it; the sender turns it into segments,
each a plain tuple (seqno, syn, payload, fin). The SYN takes the ISN, stream byte i takes
ISN + 1 + i, the FIN the number after the last byte, all modulo 2**32. Times are seconds.

Fill in the TODOs. Grade your work with

    netsim grade 07b-sender-timer sender.py
"""

from __future__ import annotations


class Sender:
    def __init__(self, isn: int = 0, initial_rto: float = 1.0, max_payload: int = 1000) -> None:
        pass  # TODO: what must the sender remember?

    def write(self, data: bytes) -> None:
        """Append the application's bytes to the outbound stream."""
        raise NotImplementedError("TODO: Sender.write")

    def close(self) -> None:
        """The application wrote its last byte: a FIN follows it."""
        raise NotImplementedError("TODO: Sender.close")

    def push(self) -> list[tuple[int, bool, bytes, bool]]:
        """New segments that fill the peer's window, oldest first: the SYN first, at most
        max_payload bytes each, the FIN when the stream is closed and there is room. A zero
        window is taken as one (a one-byte probe)."""
        raise NotImplementedError("TODO: Sender.push")

    def receive(self, ackno: int | None, window: int) -> None:
        """The peer's 32-bit acknowledgment number (None: its segment had no ACK) and the
        window it offers from there."""
        raise NotImplementedError("TODO: Sender.receive")

    def tick(self, elapsed: float) -> list[tuple[int, bool, bytes, bool]]:
        """`elapsed` seconds passed: the oldest outstanding segment again if the
        retransmission timer expired, else []."""
        raise NotImplementedError("TODO: Sender.tick")

    def in_flight(self) -> int:
        """Sequence numbers sent and not yet acknowledged (SYN and FIN count one each)."""
        raise NotImplementedError("TODO: Sender.in_flight")

    def consecutive_retransmissions(self) -> int:
        """Timeouts (with a non-zero window) since the last ACK of new data."""
        raise NotImplementedError("TODO: Sender.consecutive_retransmissions")

    def make_empty_message(self) -> tuple[int, bool, bytes, bool]:
        """(the next sequence number, False, b"", False): a segment that only carries an
        ACK; it is never outstanding."""
        raise NotImplementedError("TODO: Sender.make_empty_message")


if __name__ == "__main__":
    s = Sender(isn=2**32 - 1, max_payload=4)
    s.write(b"hello")
    print(s.push())  # [(4294967295, True, b'', False)]
    s.receive(0, 10)
    print(s.push())  # [(0, False, b'hell', False), (4, False, b'o', False)]
    print(s.tick(1.0))  # [(0, False, b'hell', False)]
