"""Assignment 01: the internet checksum (RFC 1071) and the TCP header (RFC 9293 §3.1).

Fill in the three functions marked TODO. Grade your work with

    netsim grade 01-checksum-tcp-parsing tcp_parsing.py

Use only the standard library (struct, ipaddress, int.from_bytes ...), not netsim.wire.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TcpHeader:
    """A parsed TCP segment. Keep these field names: the grader reads them."""

    src_port: int
    dst_port: int
    seq: int  # 32-bit sequence number
    ack: int  # 32-bit acknowledgment number
    data_offset: int  # header length in 32-bit words (5 .. 15)
    flags: int  # byte 13: CWR ECE URG ACK PSH RST SYN FIN (FIN = 0x01)
    window: int
    checksum: int
    urgent: int
    options: bytes  # the raw bytes between byte 20 and data_offset * 4
    payload: bytes  # everything after the header


def internet_checksum(data: bytes) -> int:
    """The RFC 1071 checksum of `data`: the 16-bit one's complement of the one's-complement
    sum of its 16-bit big-endian words. Returns an int in 0..0xFFFF.

    - carries out of the top bit are added back in ("end-around carry");
    - an odd number of bytes: pad with one zero byte at the END;
    - over data that already includes its correct checksum the result is 0.
    """
    raise NotImplementedError("TODO: internet_checksum")


def parse_tcp_header(segment: bytes) -> TcpHeader:
    """Parse a TCP segment (the IPv4 payload). Raise ValueError when it is shorter than 20
    bytes, when the data offset is below 5, or when the header it announces is longer than
    the segment."""
    raise NotImplementedError("TODO: parse_tcp_header")


def tcp_checksum_ok(src_ip: str, dst_ip: str, segment: bytes) -> bool:
    """True when the segment's checksum is correct. The sum covers a pseudo-header
    (source address, destination address, a zero byte, protocol 6, TCP length: 12 bytes),
    then the TCP header and data (RFC 9293 §3.1)."""
    raise NotImplementedError("TODO: tcp_checksum_ok")


if __name__ == "__main__":
    # RFC 1071 §3's example: the checksum of these 8 bytes is 0x220d.
    print(hex(internet_checksum(bytes.fromhex("0001f203f4f5f6f7"))))
