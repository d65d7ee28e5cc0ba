"""Micro-benchmarks of the wire formats: checksum, frame parse, frame build (µs per op).

Run: ``.venv/bin/python benchmarks/bench_wire.py [--number N]``. Numbers are the best of
several timeit repeats of process CPU time, so they estimate the cost on an idle core.
"""

from __future__ import annotations

import argparse
import struct
import time
import timeit
from collections.abc import Callable
from ipaddress import IPv4Address

from netsim.wire.checksum import internet_checksum, reference_checksum
from netsim.wire.ethernet import ETHERTYPE_IPV4, build_ethernet, parse_ethernet
from netsim.wire.ipv4 import PROTO_TCP, build_ipv4, parse_ipv4
from netsim.wire.mac import MacAddress
from netsim.wire.tcp import (
    ACK,
    NOP,
    PSH,
    TCPSegment,
    TimestampOption,
    build_tcp,
    encode_options,
    parse_tcp,
)

PAYLOAD_LEN = 1460


def struct_unpack_checksum(data: bytes) -> int:
    """The textbook CPython checksum: unpack 16-bit words with struct, sum, fold."""
    if len(data) % 2:
        data += b"\x00"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


SRC_IP, DST_IP = IPv4Address("10.0.0.1"), IPv4Address("10.0.0.2")
SRC_MAC, DST_MAC = MacAddress("02:00:00:00:00:01"), MacAddress("02:00:00:00:00:02")
PAYLOAD = bytes(range(256)) * 5 + bytes(PAYLOAD_LEN - 1280)
SEGMENT = TCPSegment(40000, 80, 123456789, 987654321, ACK | PSH, 65535, PAYLOAD[:1448],
                     (NOP, NOP, TimestampOption(1000, 2000)))


def build_frame() -> bytes:
    """Ethernet/IPv4/TCP with timestamps, as the stack would emit a data segment."""
    seg = SEGMENT.build(SRC_IP, DST_IP)
    packet = build_ipv4(SRC_IP, DST_IP, PROTO_TCP, seg, identification=1, df=True)
    return build_ethernet(DST_MAC, SRC_MAC, ETHERTYPE_IPV4, packet)


ENCODED_OPTIONS = encode_options(SEGMENT.options)


def build_frame_preencoded() -> bytes:
    """As `build_frame`, with the options already encoded (`build_tcp`)."""
    s = SEGMENT
    seg = build_tcp(SRC_IP, DST_IP, s.src_port, s.dst_port, s.seq, s.ack, s.flags, s.window,
                    s.payload, ENCODED_OPTIONS)
    packet = build_ipv4(SRC_IP, DST_IP, PROTO_TCP, seg, identification=1, df=True)
    return build_ethernet(DST_MAC, SRC_MAC, ETHERTYPE_IPV4, packet)


FRAME = build_frame()


def parse_frame() -> TCPSegment:
    """Ethernet -> IPv4 (header checksum verified) -> TCP (checksum verified, options)."""
    eth = parse_ethernet(FRAME)
    ip = parse_ipv4(eth.payload)
    return parse_tcp(ip.payload, ip.src, ip.dst)


def best_us(func: Callable[[], object], number: int, repeat: int = 7) -> float:
    # CPU time of this process, not wall time: other busy processes on the machine then
    # inflate the numbers much less (they still share caches and memory bandwidth).
    timer = timeit.Timer(func, timer=time.process_time)
    return min(timer.repeat(number=number, repeat=repeat)) / number * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--number", type=int, default=20000, help="calls per timing repeat")
    args = parser.parse_args(argv)
    n = args.number
    data = PAYLOAD
    assert internet_checksum(data) == struct_unpack_checksum(data) == reference_checksum(data)
    assert parse_frame().payload == SEGMENT.payload
    rows = [
        (f"checksum {PAYLOAD_LEN} B: netsim internet_checksum",
         best_us(lambda: internet_checksum(data), n)),
        (f"checksum {PAYLOAD_LEN} B: struct.unpack summation",
         best_us(lambda: struct_unpack_checksum(data), max(n // 10, 1))),
        (f"checksum {PAYLOAD_LEN} B: reference_checksum (byte loop)",
         best_us(lambda: reference_checksum(data), max(n // 50, 1))),
        (f"parse Ethernet/IPv4/TCP+TS frame ({len(FRAME)} B, checksums verified)",
         best_us(parse_frame, n)),
        ("build Ethernet/IPv4/TCP+TS frame (TCPSegment.build)", best_us(build_frame, n)),
        ("build Ethernet/IPv4/TCP+TS frame (options pre-encoded)",
         best_us(build_frame_preencoded, n)),
    ]
    width = max(len(name) for name, _ in rows)
    print(f"{'operation':<{width}}  µs/op")
    print("-" * (width + 9))
    for name, us in rows:
        print(f"{name:<{width}}  {us:7.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
