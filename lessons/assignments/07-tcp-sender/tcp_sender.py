"""Assignment 07: the TCP sender (the send buffer in sequence space).

The application writes a stream of bytes: byte 0 is the first byte written. On the wire each
byte goes out with a 32-bit sequence number: the SYN takes the ISN, byte i takes ISN + 1 + i
(modulo 2**32), and the FIN the number after the last byte. The sender holds every byte
written until the peer acknowledges it, because a lost segment is sent again from it.

    stream index                              0      1     ...   n - 1
    absolute sequence number      0 (SYN)     1      2     ...   n        n + 1 (FIN)
    sequence number (32 bits)     ISN         ISN+1  ISN+2 ...   ISN+n    ISN+n+1  (mod 2**32)

Fill in the TODOs. Grade your work with

    netsim grade 07-tcp-sender tcp_sender.py
"""

from __future__ import annotations


class TcpSender:
    def __init__(self) -> None:
        pass  # TODO: what must the sender remember?

    def start(self, isn: int) -> None:
        """The connection chose its ISN (the SYN's sequence number). Called once, before any
        write."""
        raise NotImplementedError("TODO: TcpSender.start")

    def write(self, data: bytes) -> None:
        """Append the application's bytes to the stream (the connection has checked that
        they fit its send buffer)."""
        raise NotImplementedError("TODO: TcpSender.write")

    def buffered(self) -> int:
        """How many bytes are held: written and not yet acknowledged."""
        raise NotImplementedError("TODO: TcpSender.buffered")

    def data_end(self) -> int:
        """The 32-bit sequence number just after the last byte written (where the FIN
        goes)."""
        raise NotImplementedError("TODO: TcpSender.data_end")

    def payload(self, seqno: int, n: int) -> bytes:
        """The n bytes that go out from 32-bit sequence number `seqno` (a new segment, or a
        retransmission). The connection asks only for bytes you hold."""
        raise NotImplementedError("TODO: TcpSender.payload")

    def acknowledge(self, ackno: int) -> int:
        """The peer acknowledged every sequence number before `ackno` (32 bits). Drop the
        bytes that covers and return how many you dropped. The ACK of the SYN, an old or a
        repeated ACK drop nothing; the ACK of the FIN covers one number that is no byte."""
        raise NotImplementedError("TODO: TcpSender.acknowledge")


if __name__ == "__main__":
    s = TcpSender()
    s.start(2**32 - 2)
    s.write(b"hello")
    print(s.data_end())  # 4
    print(s.payload(2**32 - 1, 3))  # b'hel'
    print(s.acknowledge(1))  # 2
    print(s.buffered())  # 3
