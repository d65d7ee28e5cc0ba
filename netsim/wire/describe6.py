"""IPv6 for `netsim pcap -v` (netsim.wire.describe): every field of the IPv6 header (RFC 8200
§3) and of its extension headers, then TCP, UDP or ICMPv6 (RFC 4443) with neighbour
discovery's messages and options (RFC 4861 §4), checksums with their verdict. Never raises: a
header that does not parse ends the block with a ``malformed:`` line and a hex dump."""

from __future__ import annotations

from ipaddress import IPv6Address

from netsim.wire import icmpv6 as i6
from netsim.wire.describe_l4 import checksum_text, describe_tcp, describe_udp, hexdump, malformed
from netsim.wire.errors import WireError
from netsim.wire.ipv6 import (
    NH_FRAGMENT,
    NH_ICMPV6,
    NH_NAMES,
    NH_ROUTING,
    NH_TCP,
    NH_UDP,
    ExtensionHeader,
    IPv6Packet,
    parse_ipv6,
)
from netsim.wire.nd import (
    LinkLayerOption,
    MTUOption,
    NDOption,
    NeighborAdvertisement,
    NeighborSolicitation,
    PrefixInformation,
    RouterAdvertisement,
    RouterSolicitation,
    parse_nd,
)

_ECN_NAMES = ("Not-ECT", "ECT(1)", "ECT(0)", "CE")
_OPTION_NAMES = {0: "Pad1", 1: "PadN", 5: "Router Alert", 0xC2: "Jumbo Payload"}
# RFC 4443 §3.1, §3.3, §3.4: the codes of the error messages
_CODE_NAMES: dict[int, dict[int, str]] = {
    i6.DEST_UNREACHABLE: {0: "no route to destination",
                          1: "communication with destination administratively prohibited",
                          2: "beyond scope of source address", 3: "address unreachable",
                          4: "port unreachable",
                          5: "source address failed ingress/egress policy",
                          6: "reject route to destination"},
    i6.TIME_EXCEEDED: {0: "hop limit exceeded in transit",
                       1: "fragment reassembly time exceeded"},
    i6.PARAMETER_PROBLEM: {0: "erroneous header field encountered",
                           1: "unrecognized Next Header type encountered",
                           2: "unrecognized IPv6 option encountered"},
}
_LLA_NAMES = {1: "source link-layer address", 2: "target link-layer address"}


def describe_ipv6(data: bytes, lines: list[str]) -> None:
    lines.append(f"IPv6, {len(data)} bytes")
    try:
        pkt = parse_ipv6(data)
    except WireError as exc:
        malformed(lines, exc, data)
        return
    tc = pkt.traffic_class
    lines.append(f"  version 6  traffic class 0x{tc:02x} (dscp {tc >> 2}  ecn {tc & 3} "
                 f"({_ECN_NAMES[tc & 3]}))  flow label 0x{pkt.flow_label:05x}")
    lines.append(f"  payload length {pkt.payload_length}  next header {pkt.first_header} "
                 f"({NH_NAMES.get(pkt.first_header, 'unknown')})  hop limit {pkt.hop_limit}")
    lines.append(f"  src {pkt.src}  dst {pkt.dst}")
    if len(data) > 40 + pkt.payload_length:
        lines.append(f"  link padding {len(data) - 40 - pkt.payload_length} bytes")
    for h in pkt.extensions:
        _describe_extension(h, lines)
    frag = pkt.fragment
    if frag is not None and frag.fragment_offset:
        lines.append(f"Fragment data, {len(pkt.payload)} bytes (next header "
                     f"{pkt.next_header}, no upper-layer header in a later fragment)")
        return
    fragmented = frag is not None and frag.more_fragments
    if pkt.next_header == NH_TCP:
        describe_tcp(pkt, fragmented, lines)
    elif pkt.next_header == NH_UDP:
        describe_udp(pkt, fragmented, lines)
    elif pkt.next_header == NH_ICMPV6:
        _describe_icmpv6(pkt, fragmented, lines)
    elif pkt.payload:
        lines.append(f"Payload, {len(pkt.payload)} bytes (next header {pkt.next_header}, "
                     "not decoded)")
        lines.extend(hexdump(pkt.payload))


def _describe_extension(h: ExtensionHeader, lines: list[str]) -> None:
    """RFC 8200 §4.3-§4.6: the headers netsim parses, with their fields."""
    lines.append(f"IPv6 {h.name} header, {len(h.raw)} bytes (at offset {h.offset})")
    lines.append(f"  next header {h.next_header} ({NH_NAMES.get(h.next_header, 'unknown')})")
    if h.type == NH_FRAGMENT:
        lines.append(f"  fragment offset {h.fragment_offset}  more fragments "
                     f"{int(h.more_fragments)}  identification 0x{h.identification:08x}")
    elif h.type == NH_ROUTING:
        lines.append(f"  routing type {h.routing_type}  segments left {h.segments_left}")
    for opt in h.options:
        name = _OPTION_NAMES.get(opt.type, "unknown")
        lines.append(f"  option type 0x{opt.type:02x} ({name}, action {opt.action})  "
                     f"length {len(opt.data)}" + (f": 0x{opt.data.hex()}" if opt.data and
                                                    opt.type != 1 else ""))


def _describe_icmpv6(pkt: IPv6Packet, fragmented: bool, lines: list[str]) -> None:
    data = pkt.payload
    lines.append(f"ICMPv6, {len(data)} bytes")
    try:
        msg = i6.parse_icmpv6(data)
    except WireError as exc:
        malformed(lines, exc, data)
        return
    # RFC 4443 §2.3: over the IPv6 pseudo-header too
    checksum = checksum_text(msg.checksum, data, 2, fragmented, pkt, NH_ICMPV6)
    code_name = _CODE_NAMES.get(msg.type, {}).get(msg.code, "")
    lines.append(f"  type {msg.type} ({msg.type_name})  code {msg.code}"
                 + (f" ({code_name})" if code_name else "") + f"  checksum {checksum}")
    t = msg.type
    if t in (i6.ECHO_REQUEST, i6.ECHO_REPLY):
        lines.append(f"  identifier {msg.identifier}  sequence {msg.sequence}")
        lines.append(f"  data {len(msg.payload)} bytes")
    elif t == i6.PACKET_TOO_BIG:
        lines.append(f"  MTU {msg.mtu}")
    elif t == i6.PARAMETER_PROBLEM:
        lines.append(f"  pointer {msg.pointer}")
    elif i6.ROUTER_SOLICITATION <= t <= i6.NEIGHBOR_ADVERTISEMENT:
        _describe_nd(msg, lines)
    else:
        lines.append(f"  rest of header 0x{msg.rest.hex()}")
    if msg.is_error:
        lines.append(f"  quoted packet {len(msg.payload)} bytes: {_quoted_text(msg.payload)}")
    elif t not in (i6.ECHO_REQUEST, i6.ECHO_REPLY) and not \
            i6.ROUTER_SOLICITATION <= t <= i6.NEIGHBOR_ADVERTISEMENT:
        lines.append(f"  data {len(msg.payload)} bytes")


def _describe_nd(msg: i6.ICMPv6Message, lines: list[str]) -> None:
    """RFC 4861 §4.1-§4.4: the message format of RS, RA, NS and NA; §4.6: their options."""
    try:
        nd = parse_nd(msg)
    except WireError as exc:
        malformed(lines, exc, msg.payload)
        return
    if isinstance(nd, RouterAdvertisement):
        lines.append(f"  cur hop limit {nd.cur_hop_limit}  managed {int(nd.managed)}  "
                     f"other {int(nd.other)}  router lifetime {nd.router_lifetime} s")
        lines.append(f"  reachable time {nd.reachable_time} ms  retrans timer "
                     f"{nd.retrans_timer} ms")
    elif isinstance(nd, NeighborAdvertisement):
        lines.append(f"  router {int(nd.router)}  solicited {int(nd.solicited)}  "
                     f"override {int(nd.override)}")
        lines.append(f"  target {nd.target}")
    elif isinstance(nd, NeighborSolicitation):
        lines.append(f"  target {nd.target}")
    assert isinstance(nd, (RouterSolicitation, RouterAdvertisement, NeighborSolicitation,
                           NeighborAdvertisement))
    for opt in nd.options:
        lines.append(f"  option {_nd_option_text(opt)}")


def _nd_option_text(opt: NDOption) -> str:
    if isinstance(opt, LinkLayerOption):
        return f"{opt.type} ({_LLA_NAMES.get(opt.type, 'link-layer address')}) {opt.mac}"
    if isinstance(opt, PrefixInformation):
        return (f"3 (prefix information) {opt.prefix}/{opt.prefix_length}  on-link "
                f"{int(opt.on_link)}  autonomous {int(opt.autonomous)}  valid lifetime "
                f"{opt.valid_lifetime} s  preferred lifetime {opt.preferred_lifetime} s")
    if isinstance(opt, MTUOption):
        return f"5 (MTU) {opt.mtu}"
    return f"{opt.type} (unknown) {len(opt.data) + 2} bytes"


def _quoted_text(quoted: bytes) -> str:
    """A short description of the packet an ICMPv6 error quotes (as much as fitted)."""
    if len(quoted) < 40 or quoted[0] >> 4 != 6:
        return "not an IPv6 header"
    nh, hlim = quoted[6], quoted[7]
    text = (f"IPv6 {IPv6Address(quoted[8:24])} > {IPv6Address(quoted[24:40])}, next header "
            f"{nh} ({NH_NAMES.get(nh, 'unknown')}), hop limit {hlim}")
    if nh in (NH_TCP, NH_UDP) and len(quoted) >= 44:
        text += (f", ports {int.from_bytes(quoted[40:42], 'big')} > "
                 f"{int.from_bytes(quoted[42:44], 'big')}")
    elif nh == NH_ICMPV6 and len(quoted) >= 48:
        text += (f", ICMPv6 type {quoted[40]} id {int.from_bytes(quoted[44:46], 'big')} "
                 f"seq {int.from_bytes(quoted[46:48], 'big')}")
    return text
