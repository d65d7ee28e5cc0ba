"""Assignment 06: the TCP receiver.

Your reassembler (assignment 03) works in stream indices: byte 0 is the first byte after the
SYN, and indices never wrap. On the wire, TCP numbers bytes with 32-bit sequence numbers that
start at a random ISN and wrap around at 2**32. The receiver is the translator between the two,
and it says what goes back in every ACK: the acknowledgment number and the window.

    stream index                              0      1     ...   n - 1
    absolute sequence number      0 (SYN)     1      2     ...   n        n + 1 (FIN)
    sequence number (32 bits)     ISN         ISN+1  ISN+2 ...   ISN+n    ISN+n+1  (mod 2**32)

Fill in the TODOs. Grade your work with

    netsim grade 06-tcp-receiver tcp_receiver.py
"""

from __future__ import annotations

# netsim's reassembler, or your own from assignment 03: put your reassembler.py next to this
# file and write `from reassembler import Reassembler` instead.
from netsim.stack.tcp.reassembly import SegmentReassembler as Reassembler


def wrap(n: int, isn: int) -> int:
    """The 32-bit sequence number of absolute sequence number `n` (0 is the SYN)."""
    raise NotImplementedError("TODO: wrap")


def unwrap(seqno: int, isn: int, checkpoint: int) -> int:
    """The absolute sequence number that wraps to `seqno`: of all the numbers n >= 0 with
    wrap(n, isn) == seqno (they are 2**32 apart), the one closest to `checkpoint`."""
    raise NotImplementedError("TODO: unwrap")


class TcpReceiver:
    def __init__(self) -> None:
        self.reassembler = Reassembler()  # the connection reads its pending_bytes, blocks()
        # TODO: what else must the receiver remember? (before the SYN there is no ISN)

    def receive(self, seqno: int, syn: bool, fin: bool, payload: bytes, window: int) -> bytes:
        """One segment from the peer: its sequence number, SYN and FIN flags and payload.

        The SYN gives the ISN; its payload (if any) starts at sequence number ISN + 1.
        Segments before the SYN cannot be placed: ignore them. `window` is how many bytes
        after the current acknowledgment number fit in the window we advertised: bytes
        beyond that are dropped. Return the bytes that became contiguous (from the
        reassembler).
        """
        raise NotImplementedError("TODO: TcpReceiver.receive")

    def ackno(self) -> int | None:
        """The acknowledgment number (32 bits): the sequence number of the next byte
        expected — past the FIN once the whole stream up to it has arrived. None before the
        SYN."""
        raise NotImplementedError("TODO: TcpReceiver.ackno")

    def window_field(self, window: int, shift: int) -> int:
        """The 16-bit window field that offers `window` bytes when the window scale is
        `shift` (the peer multiplies the field by 2**shift). It depends on the two arguments
        only: the connection asks again only when one of them changes."""
        raise NotImplementedError("TODO: TcpReceiver.window_field")


if __name__ == "__main__":
    print(wrap(5, 2**32 - 2))  # 3
    print(unwrap(3, 2**32 - 2, 0))  # 5
    r = TcpReceiver()
    r.receive(2**32 - 2, True, False, b"", 65535)  # the SYN
    print(r.receive(2**32 - 1, False, False, b"hello", 65535))  # b'hello'
    print(r.ackno())  # 4
