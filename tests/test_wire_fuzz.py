"""Bad input: every parser either parses or raises its layer's WireError, never a crash.

Two kinds of input per parser: random bytes, and valid packets with a few mutations (bit flips,
byte changes, insertions, deletions, truncation). The builders are then fed out-of-range field
values and must answer with the layer's error too (not struct.error, ValueError, OverflowError).
"""

from __future__ import annotations

from collections.abc import Callable
from ipaddress import IPv4Address
from typing import Any

from hypothesis import event, given, settings
from hypothesis import strategies as st

from netsim.wire import icmp
from netsim.wire.arp import OP_REPLY, OP_REQUEST, ArpPacket, parse_arp
from netsim.wire.errors import (
    ArpError,
    EthernetError,
    ICMPError,
    IPv4Error,
    TCPError,
    UDPError,
    WireError,
)
from netsim.wire.ethernet import build_ethernet, parse_ethernet
from netsim.wire.icmp import ICMPMessage, echo, error, parse_icmp
from netsim.wire.ipv4 import build_ipv4, parse_ipv4
from netsim.wire.mac import MacAddress
from netsim.wire.tcp import (
    NOP,
    SACK_PERMITTED,
    MSSOption,
    SackOption,
    TimestampOption,
    UnknownOption,
    WindowScaleOption,
    build_tcp,
    decode_options,
    encode_options,
    parse_tcp,
)
from netsim.wire.udp import build_udp, parse_udp

FUZZ = settings(max_examples=400, deadline=None)
BUILDERS = settings(max_examples=300, deadline=None)

U32 = 2**32 - 1
ips = st.integers(0, U32).map(IPv4Address)
macs = st.binary(min_size=6, max_size=6).map(MacAddress)


def must_parse_or_raise(parse: Callable[[bytes], object], exc: type[WireError], layer: str,
                        data: bytes) -> None:
    """`parse(data)` returns, or raises `exc` with a message that names the layer and says
    something; any other exception escapes and fails the test."""
    try:
        parse(data)
    except WireError as e:
        assert isinstance(e, exc), f"{type(e).__name__} from the {layer} parser: {e}"
        message = str(e)
        assert message.startswith(f"{layer}: ") and len(message) > len(layer) + 10, message
        # what was wrong, without the numbers (see pytest --hypothesis-show-statistics)
        event(" ".join(w for w in message.split()[:5] if not any(c.isdigit() for c in w)))
    else:
        event(f"{layer}: parsed")


# --- valid packets of each layer -----------------------------------------------------------

options_bytes = st.integers(0, 10).flatmap(lambda n: st.binary(min_size=4 * n, max_size=4 * n))
tcp_options = st.lists(st.one_of(
    st.just(NOP), st.integers(0, 0xFFFF).map(MSSOption), st.integers(0, 14).map(WindowScaleOption),
    st.just(SACK_PERMITTED),
    st.tuples(st.integers(0, U32), st.integers(0, U32)).map(lambda t: TimestampOption(*t)),
    st.lists(st.tuples(st.integers(0, U32), st.integers(0, U32)), min_size=1, max_size=3)
    .map(lambda b: SackOption(tuple(b))),
    st.tuples(st.integers(9, 255), st.binary(max_size=6)).map(lambda t: UnknownOption(*t)),
), max_size=4).map(lambda opts: encode_or_empty(opts))


def encode_or_empty(options: list[Any]) -> bytes:
    try:
        return encode_options(options)
    except TCPError:  # more than 40 bytes
        return b""


@st.composite
def ethernet_frames(draw: st.DrawFn) -> bytes:
    return build_ethernet(draw(macs), draw(macs), draw(st.integers(0x0600, 0xFFFF)),
                          draw(st.binary(max_size=80)))


@st.composite
def arp_packets(draw: st.DrawFn) -> bytes:
    return ArpPacket(draw(st.sampled_from([OP_REQUEST, OP_REPLY])), draw(macs), draw(ips),
                     draw(macs), draw(ips)).build()


@st.composite
def ipv4_packets(draw: st.DrawFn) -> bytes:
    return build_ipv4(draw(ips), draw(ips), draw(st.integers(0, 255)), draw(st.binary(max_size=40)),
                      ttl=draw(st.integers(0, 255)), identification=draw(st.integers(0, 0xFFFF)),
                      df=draw(st.booleans()), mf=draw(st.booleans()),
                      fragment_offset=8 * draw(st.integers(0, 0x1FFF)),
                      dscp=draw(st.integers(0, 63)), ecn=draw(st.integers(0, 3)),
                      options=draw(options_bytes))


@st.composite
def icmp_messages(draw: st.DrawFn) -> bytes:
    if draw(st.booleans()):
        return echo(draw(st.sampled_from([icmp.ECHO_REQUEST, icmp.ECHO_REPLY])),
                    draw(st.integers(0, 0xFFFF)), draw(st.integers(0, 0xFFFF)),
                    draw(st.binary(max_size=40))).build()
    return error(draw(st.sampled_from([icmp.DEST_UNREACHABLE, icmp.TIME_EXCEEDED])),
                 draw(st.integers(0, 5)), draw(ipv4_packets())).build()


@st.composite
def udp_datagrams(draw: st.DrawFn) -> tuple[IPv4Address, IPv4Address, bytes]:
    src, dst = draw(ips), draw(ips)
    return src, dst, build_udp(src, dst, draw(st.integers(0, 0xFFFF)),
                               draw(st.integers(0, 0xFFFF)), draw(st.binary(max_size=40)))


@st.composite
def tcp_segments(draw: st.DrawFn, options: st.SearchStrategy[bytes] = tcp_options
                 ) -> tuple[IPv4Address, IPv4Address, bytes]:
    src, dst = draw(ips), draw(ips)
    return src, dst, build_tcp(src, dst, draw(st.integers(0, 0xFFFF)),
                               draw(st.integers(0, 0xFFFF)), draw(st.integers(0, U32)),
                               draw(st.integers(0, U32)), draw(st.integers(0, 0xFFF)),
                               draw(st.integers(0, 0xFFFF)), draw(st.binary(max_size=40)),
                               draw(options), draw(st.integers(0, 0xFFFF)))


@st.composite
def mutated(draw: st.DrawFn, packet: bytes) -> bytes:
    """`packet` after 1 to 4 random edits."""
    data = bytearray(packet)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "set", "insert", "delete", "truncate"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif op == "set" and data:
            data[at] = draw(st.integers(0, 255))
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=4))
        elif op == "delete" and data:
            del data[at:at + draw(st.integers(1, 4))]
        elif op == "truncate":
            del data[at:]
    return bytes(data)


def mutations_of(packets: st.SearchStrategy[bytes]) -> st.SearchStrategy[bytes]:
    return packets.flatmap(lambda p: mutated(p))


def ip_and_mutations(packets: st.SearchStrategy[tuple[IPv4Address, IPv4Address, bytes]]
                     ) -> st.SearchStrategy[tuple[IPv4Address, IPv4Address, bytes]]:
    return packets.flatmap(lambda t: mutated(t[2]).map(lambda m: (t[0], t[1], m)))


# --- random bytes --------------------------------------------------------------------------

@FUZZ
@given(st.binary(max_size=80))
def test_random_bytes_ethernet_arp(data: bytes) -> None:
    must_parse_or_raise(parse_ethernet, EthernetError, "Ethernet", data)
    must_parse_or_raise(parse_arp, ArpError, "ARP", data)
    # ARP with a valid fixed prefix so that the later checks are reached
    must_parse_or_raise(parse_arp, ArpError, "ARP", b"\x00\x01\x08\x00\x06\x04" + data)


@FUZZ
@given(st.binary(max_size=80), st.integers(0, 15))
def test_random_bytes_ipv4(data: bytes, ihl: int) -> None:
    must_parse_or_raise(parse_ipv4, IPv4Error, "IPv4", data)
    with_version = bytes([0x40 | ihl]) + data  # most random bytes fail the version check
    must_parse_or_raise(parse_ipv4, IPv4Error, "IPv4", with_version)
    must_parse_or_raise(lambda d: parse_ipv4(d, verify_checksum=False), IPv4Error, "IPv4",
                        with_version)


@FUZZ
@given(st.binary(max_size=80), ips, ips)
def test_random_bytes_icmp_udp_tcp(data: bytes, src: IPv4Address, dst: IPv4Address) -> None:
    must_parse_or_raise(parse_icmp, ICMPError, "ICMP", data)
    must_parse_or_raise(lambda d: parse_icmp(d, verify_checksum=False), ICMPError, "ICMP", data)
    must_parse_or_raise(parse_udp, UDPError, "UDP", data)
    must_parse_or_raise(lambda d: parse_udp(d, src, dst), UDPError, "UDP", data)
    must_parse_or_raise(parse_tcp, TCPError, "TCP", data)
    must_parse_or_raise(lambda d: parse_tcp(d, src, dst), TCPError, "TCP", data)


@FUZZ
@given(st.binary(max_size=44))
def test_random_bytes_tcp_options(data: bytes) -> None:
    must_parse_or_raise(decode_options, TCPError, "TCP", data)


@FUZZ
@given(st.data())
def test_random_options_area_in_a_segment_with_a_correct_checksum(data: st.DataObject) -> None:
    # the checksum is right, so parse_tcp gets as far as decoding whatever the options are
    src, dst, seg = data.draw(tcp_segments(options=options_bytes))
    must_parse_or_raise(lambda d: parse_tcp(d, src, dst), TCPError, "TCP", seg)


@FUZZ
@given(st.data())
def test_icmp_error_quotes_of_random_bytes(data: st.DataObject) -> None:
    body = data.draw(st.binary(max_size=60))
    msg = ICMPMessage(icmp.TIME_EXCEEDED, 0, bytes(4), body)
    must_parse_or_raise(lambda _: msg.quoted_ipv4(), ICMPError, "ICMP", b"")
    quote = bytes([0x40 | data.draw(st.integers(0, 15))]) + body
    msg = ICMPMessage(icmp.DEST_UNREACHABLE, 3, bytes(4), quote)
    must_parse_or_raise(lambda _: msg.quoted_ipv4(), ICMPError, "ICMP", b"")


# --- valid packets, mutated ----------------------------------------------------------------

@FUZZ
@given(mutations_of(ethernet_frames()), mutations_of(arp_packets()))
def test_mutated_ethernet_and_arp(frame: bytes, arp: bytes) -> None:
    must_parse_or_raise(parse_ethernet, EthernetError, "Ethernet", frame)
    must_parse_or_raise(parse_arp, ArpError, "ARP", arp)


@FUZZ
@given(mutations_of(ipv4_packets()))
def test_mutated_ipv4(packet: bytes) -> None:
    must_parse_or_raise(parse_ipv4, IPv4Error, "IPv4", packet)
    must_parse_or_raise(lambda d: parse_ipv4(d, verify_checksum=False), IPv4Error, "IPv4",
                        packet)


@FUZZ
@given(mutations_of(icmp_messages()))
def test_mutated_icmp(message: bytes) -> None:
    must_parse_or_raise(parse_icmp, ICMPError, "ICMP", message)

    def parse_and_quote(d: bytes) -> object:
        msg = parse_icmp(d, verify_checksum=False)
        return msg.quoted_ipv4() if msg.is_error else msg

    must_parse_or_raise(parse_and_quote, ICMPError, "ICMP", message)


@FUZZ
@given(ip_and_mutations(udp_datagrams()))
def test_mutated_udp(case: tuple[IPv4Address, IPv4Address, bytes]) -> None:
    src, dst, datagram = case
    must_parse_or_raise(lambda d: parse_udp(d, src, dst), UDPError, "UDP", datagram)
    must_parse_or_raise(parse_udp, UDPError, "UDP", datagram)


@FUZZ
@given(ip_and_mutations(tcp_segments()))
def test_mutated_tcp(case: tuple[IPv4Address, IPv4Address, bytes]) -> None:
    src, dst, segment = case
    must_parse_or_raise(lambda d: parse_tcp(d, src, dst), TCPError, "TCP", segment)
    must_parse_or_raise(parse_tcp, TCPError, "TCP", segment)  # reaches the options decoder
    must_parse_or_raise(decode_options, TCPError, "TCP", segment[20:60])


@FUZZ
@given(ethernet_frames().flatmap(lambda f: mutated(f)), st.data())
def test_mutated_whole_stack(frame: bytes, data: st.DataObject) -> None:
    # a full Ethernet/IPv4/TCP frame, mutated anywhere, walked down the layers as a stack does
    src, dst, seg = data.draw(tcp_segments())
    whole = data.draw(mutated(build_ethernet(b"\x02" * 6, b"\x04" * 6, 0x0800,
                                             build_ipv4(src, dst, 6, seg))))
    for raw in (frame, whole):
        try:
            eth = parse_ethernet(raw)
            ip = parse_ipv4(eth.payload)
            parse_tcp(ip.payload, ip.src, ip.dst)
        except WireError as e:
            assert str(e).split(":")[0] in {"Ethernet", "IPv4", "TCP"}, e


# --- builders given out-of-range values ----------------------------------------------------

def must_raise(build: Callable[[], object], exc: type[WireError]) -> None:
    try:
        build()
    except exc as e:
        assert str(e), "the error must say what is wrong"
    else:
        raise AssertionError("the builder accepted an out-of-range value")


def bad_value(limit: int) -> st.SearchStrategy[int]:
    return st.one_of(st.integers(max_value=-1), st.integers(min_value=limit + 1))


@BUILDERS
@given(st.sampled_from(["ttl", "identification", "dscp", "ecn", "fragment_offset", "protocol"]),
       st.data())
def test_ipv4_builder_rejects_out_of_range_values(field: str, data: st.DataObject) -> None:
    limits = {"ttl": 255, "identification": 0xFFFF, "dscp": 63, "ecn": 3,
              "fragment_offset": 65528, "protocol": 255}
    value = data.draw(bad_value(limits[field]))
    kwargs: dict[str, Any] = {"protocol": 17}
    kwargs[field] = value
    protocol = kwargs.pop("protocol")
    must_raise(lambda: build_ipv4(IPv4Address(1), IPv4Address(2), protocol, b"", **kwargs),
               IPv4Error)


@BUILDERS
@given(st.integers(0, 5), st.data())
def test_tcp_builder_rejects_out_of_range_values(index: int, data: st.DataObject) -> None:
    fields = [0xFFFF, 0xFFFF, U32, U32, 0xFFF, 0xFFFF]  # ports, seq, ack, flags, window
    values = [1, 2, 3, 4, 0x10, 5]
    values[index] = data.draw(bad_value(fields[index]))
    urgent = data.draw(st.one_of(st.just(0), bad_value(0xFFFF)))
    must_raise(lambda: build_tcp(IPv4Address(1), IPv4Address(2), *values, urgent=urgent),
               TCPError)


@BUILDERS
@given(st.sampled_from(["mss", "shift", "tsval", "tsecr", "kind"]), st.data())
def test_tcp_option_encoder_rejects_out_of_range_values(field: str, data: st.DataObject) -> None:
    option: Any
    if field == "mss":
        option = MSSOption(data.draw(bad_value(0xFFFF)))
    elif field == "shift":
        option = WindowScaleOption(data.draw(bad_value(255)))
    elif field == "tsval":
        option = TimestampOption(data.draw(bad_value(U32)), 0)
    elif field == "tsecr":
        option = TimestampOption(0, data.draw(bad_value(U32)))
    else:
        option = UnknownOption(data.draw(st.one_of(bad_value(255), st.sampled_from([0, 1, 2, 3,
                                                                                    4, 5, 8]))),
                               b"")
    layout = data.draw(st.sampled_from([(option,), (NOP, NOP, option)]))
    must_raise(lambda: encode_options(layout), TCPError)


@BUILDERS
@given(bad_value(0xFFFF), st.booleans())
def test_udp_builder_rejects_out_of_range_ports(port: int, first: bool) -> None:
    ports = (port, 53) if first else (53, port)
    must_raise(lambda: build_udp(IPv4Address(1), IPv4Address(2), *ports, b""), UDPError)


@BUILDERS
@given(st.integers(0, 3), st.data())
def test_icmp_builders_reject_out_of_range_values(which: int, data: st.DataObject) -> None:
    original = build_ipv4(IPv4Address(1), IPv4Address(2), 17, bytes(8))
    if which == 0:
        must_raise(lambda: echo(8, data.draw(bad_value(0xFFFF)), 0), ICMPError)
    elif which == 1:
        must_raise(lambda: echo(0, 0, data.draw(bad_value(0xFFFF))), ICMPError)
    elif which == 2:
        must_raise(lambda: error(3, 4, original, data.draw(bad_value(0xFFFF))), ICMPError)
    else:
        must_raise(lambda: ICMPMessage(data.draw(bad_value(255)), 0, bytes(4), b"").build(),
                   ICMPError)


@BUILDERS
@given(bad_value(0xFFFF).filter(lambda v: v < 0x0600 or v > 0xFFFF),
       st.binary(max_size=10).filter(lambda b: len(b) != 6))
def test_ethernet_and_arp_builders_reject_bad_values(ethertype: int, short_mac: bytes) -> None:
    a = MacAddress.local(1)
    must_raise(lambda: build_ethernet(a, a, ethertype, b""), EthernetError)
    must_raise(lambda: build_ethernet(short_mac, a, 0x0800, b""), EthernetError)
    must_raise(lambda: ArpPacket(OP_REQUEST, short_mac, IPv4Address(1), a,  # type: ignore[arg-type]
                                 IPv4Address(2)).build(), ArpError)
    must_raise(lambda: ArpPacket(ethertype, a, IPv4Address(1), a, IPv4Address(2)).build(),
               ArpError)
