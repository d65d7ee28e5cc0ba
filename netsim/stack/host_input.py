"""The third part of a `Stack` (netsim/stack/host.py; the parts before: netsim/stack/host_arp.py,
netsim/stack/host_forward.py): the input of frames and datagrams. A frame's bytes go through
Ethernet (`receive`) and IPv4 (`_ip_input`) to the protocol above (`_deliver`) or to the
forwarding; a `LazyFrame` from another stack of this process (`receive_lazy`) goes to TCP, or on
to the next hop (`_lazy_hop`, which `Stack.send_tcp` also asks), without its bytes being built.
Another link layer or forwarder (netsim/stack/seams.py) sees every frame or datagram it owns.
"""

from __future__ import annotations

from ipaddress import IPv4Address
from typing import Final

from netsim.stack import seams
from netsim.stack.arp import ArpTable
from netsim.stack.host_arp import LIMITED_BROADCAST
from netsim.stack.host_forward import ForwardingHost
from netsim.stack.interface import Interface
from netsim.stack.ipv6 import Ipv6Layer
from netsim.wire import icmp as icmpw
from netsim.wire.errors import IPv4ChecksumError, WireError
from netsim.wire.ethernet import HEADER_LEN as ETH_HEADER_LEN
from netsim.wire.ipv4 import PROTO_ICMP, PROTO_TCP, PROTO_UDP, IPv4Packet, parse_ipv4
from netsim.wire.lazyframe import LazyFrame
from netsim.wire.mac import BROADCAST, MacAddress

_ETH_IPV4: Final = b"\x08\x00"
_ETH_ARP: Final = b"\x08\x06"
_ETH_IPV6: Final = b"\x86\xdd"


class InputHost(ForwardingHost):
    """The input of frames and datagrams; see `netsim.stack.host.Stack`."""

    ipv6: Ipv6Layer  # made by Stack.__init__, with the Stack

    # ------------------------------------------------------------------ input
    def receive(self, iface: Interface | str, frame: bytes | LazyFrame, now: float) -> None:
        """A frame arrived on `iface`."""
        if isinstance(iface, str):
            iface = self.interfaces[iface]
        if isinstance(frame, LazyFrame):
            self.receive_lazy(iface, frame, now)
            return
        self.now = now
        n = self._eth_rx
        if not n:
            self._touch("eth", "rx")
        self._eth_rx = n + 1
        if iface.netif is not None:
            seams.netif_input(self, iface, frame, now)
            return
        if len(frame) < 14:
            self.drop("eth", "malformed", f"{len(frame)}-byte frame")
            return
        if not iface.up:
            self.drop("eth", "interface_down")
            return
        dst = frame[0:6]
        broadcast = dst == BROADCAST
        if dst != iface.mac and not broadcast:
            if frame[12:14] == _ETH_IPV6 and self.ipv6.accepts(iface, dst):
                self.ipv6.input(iface, frame, now)  # to a multicast group IPv6 joined
                return
            if dst in iface.group_macs and frame[12:14] == _ETH_IPV4:
                self._ip_input(iface, frame, now, True)  # to an IPv4 group joined (RIP)
                return
            self.drop("eth", "not_our_mac", str(MacAddress(dst)))
            return
        ethertype = frame[12:14]
        if ethertype == _ETH_IPV4:
            self._ip_input(iface, frame, now, broadcast)
        elif ethertype == _ETH_ARP:
            self._arp_input(iface, frame[14:], now)
        elif ethertype == _ETH_IPV6 and iface.name in self.ipv6.ifaces:
            self.ipv6.input(iface, frame, now)
        else:
            self.drop("eth", "unknown_ethertype", ethertype.hex())

    def receive_lazy(self, iface: Interface, frame: LazyFrame, now: float) -> None:
        """`receive` of a TCP frame another stack in this process sent (netsim.wire.
        lazyframe), called by the driver directly: to us, it goes to TCP as it is; a router
        sends it on as one, when nothing needs its bytes. Anything else takes the path of the
        frame's bytes."""
        self.now = now
        n = self._eth_rx
        if not n:
            self._touch("eth", "rx")
        self._eth_rx = n + 1
        if iface.netif is not None:
            seams.netif_input(self, iface, frame.raw(), now)
            return
        if not iface.up:
            self.drop("eth", "interface_down")
            return
        if frame.dst_mac != iface.mac:
            self.drop("eth", "not_our_mac", str(MacAddress(frame.dst_mac)))
            return
        dst = frame.ip_dst
        if not self._own_forwarder:
            self._ip_input(iface, frame.raw(), now, False)  # another forwarder decides
            return
        local = dst is self._ours
        if not local and self._routed.get(iface) is not dst:
            if dst in self._by_ip:
                self._ours = dst
                local = True
            elif dst in iface.broadcasts:  # (not to be forwarded: the bytes path decides)
                self._ip_input(iface, frame.raw(), now, False)
                return
            else:
                self._routed[iface] = dst
        if local:
            n = self._lazy_in
            if not n:
                self._touch("ipv4", "rx")
                self._touch("ipv4", "delivered")
            self._lazy_in = n + 1
            self.tcp.segment_input(frame.ip_src, dst, frame.seg, now, frame.ecn)
            return
        if self.forwarding and frame.ttl > 1:
            # (as _forward: RFC 1812 §5.3.1, TTL one less; no fragmentation needed)
            hop = self._lazy_hop(dst, frame.length - ETH_HEADER_LEN, now)
            if hop is not None:
                out, mac = hop
                n = self._lazy_fwd
                if not n:
                    self._touch("ipv4", "rx")
                    self._touch("ipv4", "forwarded")
                    self._touch("eth", "tx")
                self._lazy_fwd = n + 1
                # (frame.forwarded(mac, out.mac), made here: a call less per frame forwarded)
                sent = LazyFrame(mac, out.mac, frame.ip_src, dst, frame.ttl - 1, frame.ident,
                                 frame.seg, frame.opts, frame.ecn)
                send = out.port_send
                if send is not None and self.transmit is self._driver_transmit:
                    send(sent)  # (what _send_out does, without the call)
                else:
                    self._send_out(out, sent)
                return
        self._ip_input(iface, frame.raw(), now, False)

    def _lazy_hop(self, dst: IPv4Address, ip_length: int, now: float
                  ) -> tuple[Interface, MacAddress] | None:
        """Where a LazyFrame of `ip_length` bytes to `dst` goes: the interface and the next
        hop's MAC, when that port takes LazyFrame objects, the packet needs no fragmenting and
        ARP knows the next hop. None: the bytes path (no route, ARP to do, ...) decides."""
        # (RoutingTable.lookup's answers for its last two addresses, read without the call)
        routes = self.routes
        if dst is routes._last:
            route = routes._last_route
        elif dst is routes._prev:
            route = routes._prev_route
        else:
            route = routes.lookup(dst)
        if route is None:
            return None
        out = self.interfaces[route.interface]
        if not out.lazy_frames or ip_length > out.mtu or out.netif is not None:
            return None
        arp = out.arp
        ip = route.gateway or dst
        if type(arp) is ArpTable:
            # The reference table's `lookup` (netsim/stack/arp.py), read without calling it
            # once per frame: an entry not yet expired is the answer; otherwise `lookup`
            # itself (it forgets an expired entry). Exactly that class: a subclass or another
            # ArpCache (a student's, assignment 08) is asked every time.
            entry = arp._cache.get(ip)
            mac = entry[0] if entry is not None and entry[1] > now else arp.lookup(ip, now)
        else:
            mac = arp.lookup(ip, now)
        return None if mac is None else (out, mac)

    def _ip_input(self, iface: Interface, frame: bytes, now: float, broadcast: bool) -> None:
        data = frame[14:]
        try:
            pkt = parse_ipv4(data)
        except WireError as exc:
            self.drop("ipv4", "checksum" if _header_damaged(data, exc) else "malformed",
                      str(exc))
            return
        ipc = self.ipv4_counts
        self._count_ip_rx()
        dst = pkt.dst
        local = dst in self._by_ip
        if local or dst == LIMITED_BROADCAST or dst == iface.broadcast or \
                (broadcast and dst in iface.ip_groups):
            if local and not self._own_forwarder and not broadcast and \
                    not seams.delivers(self, pkt, data, now):
                return  # another forwarder decided for a datagram to the router too
            if pkt.mf or pkt.fragment_offset:
                whole, reason = self.reassembler.add(pkt, now)
                if reason is not None:
                    self.drop("ipv4", reason)
                self._arm_housekeeping()
                if whole is None:
                    return
                ipc["reassembled"] += 1
                pkt = whole
            self._count_ip_delivered()
            self._deliver(pkt, now, broadcast or not local)
        elif self.forwarding and not broadcast:
            self._forward(iface, pkt, data, now)  # (data: frame[14:], sliced above)
        else:
            self.drop("ipv4", "not_for_us", str(dst))

    def _deliver(self, pkt: IPv4Packet, now: float, broadcast: bool = False) -> None:
        proto = pkt.protocol
        if proto == PROTO_TCP:
            if broadcast:
                self.drop("tcp", "broadcast")
                return
            self.tcp.input(pkt, now)
        elif proto == PROTO_UDP:
            self.udp.input(pkt, now, broadcast)
        elif proto == PROTO_ICMP:
            self._icmp_input(pkt, now, broadcast)
        elif proto in self.ip_protocols:
            self.ip_protocols[proto](pkt, now)
        else:
            self.drop("ipv4", "unknown_protocol", str(proto))
            self.icmp_error(pkt, icmpw.DEST_UNREACHABLE, icmpw.UNREACH_PROTOCOL, now,
                            arrived_as_broadcast=broadcast)


def _header_damaged(data: bytes, exc: WireError) -> bool:
    """Whether a header that failed to parse also fails its checksum: a bit flipped in the
    version, IHL or total length is damage the checksum catches, not a malformed sender."""
    if isinstance(exc, IPv4ChecksumError):
        return True
    if len(data) < 20:
        return False  # truncated: nothing to check
    hlen = max(20, min((data[0] & 0x0F) * 4, len(data)))
    return int.from_bytes(data[:hlen], "big") % 0xFFFF != 0
