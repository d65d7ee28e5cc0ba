"""Grader for assignment 08-network-interface: Ethernet framing and ARP of one interface.

The student's class has the `netsim.stack.netif.NetworkInterface` interface and the
constructor ``NetworkInterface(mac, ip, timeout=60.0, retries=3, retry_interval=1.0,
max_pending=256)``; it keeps assignment 05's cache (netsim's `ArpTable`, or the student's
own). Expected frames come from netsim's `EthernetArp` fed the same calls. The scripted check
and the simulation install it on interfaces of real stacks (``Stack.set_netif``).
"""

from __future__ import annotations

import functools
from collections.abc import Generator
from ipaddress import IPv4Address
from typing import Any

from netsim.grading.differential import check_fn as differential_check
from netsim.grading.differential.netif import (
    IP,
    MAC,
    OTHER_MAC,
    PEER_MACS,
    PEERS,
    fields,
    reference,
)
from netsim.grading.differential.values import show
from netsim.grading.framework import Assignment, Check, CheckFailed, Context
from netsim.grading.proxy import StudentError
from netsim.stack.netif import Received, Ticked
from netsim.wire.arp import OP_REPLY, OP_REQUEST, ArpPacket
from netsim.wire.ethernet import ETHERTYPE_ARP, ETHERTYPE_IPV4, build_ethernet
from netsim.wire.ipv4 import PROTO_UDP, build_ipv4
from netsim.wire.mac import BROADCAST, ZERO, MacAddress

P1, P2 = PEERS[0], PEERS[1]
M1, M2 = PEER_MACS[0], PEER_MACS[1]
BRIDGE = OTHER_MAC  # a bridge or proxy that relays another host's ARP reply
MAX_FRAMES = 10_000


def _frames(value: Any, what: str) -> list[bytes]:
    if not isinstance(value, list | tuple) or len(value) > MAX_FRAMES or \
            not all(isinstance(f, bytes | bytearray) and 14 <= len(f) <= 65535 + 14
                    for f in value):
        raise CheckFailed(f"{what} must be a list of frames (bytes of 14 to 65549 each)",
                          expected="a list of bytes", got=show(value))
    return [bytes(f) for f in value]


def received_of(value: Any) -> Received:
    datagram, frames = fields(value, ("datagram", "frames"))
    if datagram is not None and not isinstance(datagram, bytes | bytearray):
        raise CheckFailed("recv_frame() returns a Received whose datagram is bytes or None",
                          expected="bytes or None", got=show(datagram))
    return Received(None if datagram is None else bytes(datagram),
                    _frames(frames, "recv_frame()'s frames"))


def ticked_of(value: Any) -> Ticked:
    frames, failed = fields(value, ("frames", "failed"))
    if not isinstance(failed, list | tuple) or \
            not all(isinstance(d, bytes | bytearray) for d in failed):
        raise CheckFailed("tick() returns a Ticked whose failed is a list of datagrams",
                          expected="a list of bytes", got=show(failed))
    return Ticked(_frames(frames, "tick()'s frames"), [bytes(d) for d in failed])


class Checked:
    """The student's interface (through its proxy) as a stack's link layer: every answer is
    checked before the stack acts on it."""

    def __init__(self, remote: Any) -> None:
        self.remote = remote

    def send_datagram(self, datagram: bytes, next_hop: IPv4Address, now: float) -> list[bytes]:
        return _frames(self.remote.send_datagram(datagram, next_hop, now),
                       "send_datagram()'s answer")

    def recv_frame(self, frame: bytes, now: float) -> Received:
        return received_of(self.remote.recv_frame(frame, now))

    def tick(self, now: float) -> Ticked:
        return ticked_of(self.remote.tick(now))

    def next_deadline(self) -> float | None:
        value = self.remote.next_deadline()
        if value is not None and not isinstance(value, int | float) or \
                isinstance(value, bool):
            raise CheckFailed("next_deadline() returns a time or None", expected="a float",
                              got=show(value))
        return None if value is None else float(value)


class _Pair:
    """The student's interface and the reference, fed the same calls; every step logged."""

    def __init__(self, ctx: Context, **kw: float) -> None:
        self.ctx = ctx
        args = "".join(f", {k}={v:g}" for k, v in kw.items())
        ctx.step(f"nic = {ctx.target_name}({MAC}, {IP}{args})")
        self.nic = Checked(ctx.target()(MAC, IP, **kw))
        self.ref = reference(MAC, IP, **kw)

    def _same(self, got: list[bytes], want: list[bytes], rule: str, hint: str | None) -> None:
        from netsim.wire.summary import summarize
        if got != want:
            def line(f: bytes) -> str:
                return f"{MacAddress(f[0:6])} > {MacAddress(f[6:12])}, {summarize(f)} " \
                       f"({len(f)} bytes)"

            def lines(frames: list[bytes]) -> str:
                return "\n".join(line(f) for f in frames) or "no frames"
            if len(got) == len(want) and [line(f) for f in got] == [line(f) for f in want]:
                hint = hint or "the frames look right but some byte differs: " + \
                    ", ".join(f"{bytes(g).hex()} != {w.hex()}" for g, w in zip(got, want,
                                                                              strict=True)
                              if g != w)[:300]
            raise CheckFailed(rule, expected=lines(want), got=lines(got), hint=hint)

    def send(self, datagram: bytes, hop: IPv4Address, now: float, rule: str,
             hint: str | None = None) -> list[bytes]:
        got = self.nic.send_datagram(datagram, hop, now)
        want = self.ref.send_datagram(datagram, hop, now)
        self.ctx.step(f"nic.send_datagram({datagram!r}, {hop}, now={now:g}) -> "
                      f"{len(got)} frame(s)")
        self._same(got, want, rule, hint)
        return got

    def recv(self, name: str, frame: bytes, now: float, rule: str,
             hint: str | None = None) -> Received:
        got = self.nic.recv_frame(frame, now)
        want = self.ref.recv_frame(frame, now)
        self.ctx.step(f"nic.recv_frame(<{name}>, now={now:g}) -> datagram "
                      f"{show(got.datagram)}, {len(got.frames)} frame(s)")
        if got.datagram != want.datagram:
            raise CheckFailed(rule, expected=f"datagram {show(want.datagram)}",
                              got=f"datagram {show(got.datagram)}", hint=hint)
        self._same(got.frames, want.frames, rule, hint)
        return got

    def tick(self, now: float, rule: str, hint: str | None = None) -> Ticked:
        got = self.nic.tick(now)
        want = self.ref.tick(now)
        self.ctx.step(f"nic.tick(now={now:g}) -> {len(got.frames)} frame(s), failed "
                      f"{show(got.failed)}")
        self._same(got.frames, want.frames, rule, hint)
        if got.failed != want.failed:
            raise CheckFailed(rule, expected=f"failed {show(want.failed)}",
                              got=f"failed {show(got.failed)}", hint=hint)
        return got


def _request_from(mac: Any, ip: IPv4Address, target: IPv4Address = IP) -> bytes:
    return build_ethernet(BROADCAST, mac, ETHERTYPE_ARP,
                          ArpPacket(OP_REQUEST, mac, ip, ZERO, target).build())


def _reply_from(mac: Any, ip: IPv4Address) -> bytes:
    return build_ethernet(MAC, mac, ETHERTYPE_ARP, ArpPacket(OP_REPLY, mac, ip, MAC, IP).build())


def _ipv4(dst_mac: Any, ethertype: int = ETHERTYPE_IPV4) -> bytes:
    return build_ethernet(dst_mac, M1, ethertype, build_ipv4(P1, IP, PROTO_UDP, b"payload!"))


# --------------------------------------------------------------------------------- checks
def check_frame_format(ctx: Context) -> None:
    p = _Pair(ctx)
    p.recv(f"ARP request from {P1} for us", _request_from(M1, P1), 0.0,
           "an ARP request for our address is answered: a reply to the requester's MAC, "
           "from ours, EtherType 0x0806, op 2, our MAC and address as sender, the "
           "requester as target (RFC 826)")
    p.send(b"hello, P1" * 3, P1, 0.1, "a datagram to a next hop whose MAC is known is "
           "framed at once: destination the next hop's MAC, source ours, EtherType 0x0800 "
           "(RFC 894), the datagram as the payload", "the next hop's MAC was learned from its "
           "request: a request for us teaches the sender's address (RFC 826)")


def check_arp_request(ctx: Context) -> None:
    p = _Pair(ctx)
    p.send(b"first", P1, 0.0, "a datagram to an unknown next hop is held and one ARP "
           "request goes out: broadcast, EtherType 0x0806, op 1, our MAC and address as "
           "sender, the next hop as target, target MAC zero (RFC 826)")
    p.send(b"second", P1, 0.1, "while a request is outstanding, further datagrams are held "
           "without a new request", "one request per resolution, not one per datagram")
    p.send(b"third", P2, 0.2, "another next hop has its own resolution: its own request")


def check_reply_releases(ctx: Context) -> None:
    p = _Pair(ctx)
    for i, hop in enumerate((P1, P1, P2, P1)):
        p.send(b"datagram %d" % i, hop, 0.1 * i, "held while the next hop is resolved")
    p.recv(f"ARP reply from {P1}", _reply_from(M1, P1), 0.5, "the reply releases the "
           "datagrams held for that next hop, in the order they came, framed for the MAC "
           "it gives", "only the replier's datagrams, oldest first")
    p.send(b"after", P1, 0.6, "after the reply the next hop is known: framed at once")
    p.recv(f"ARP reply from {P2} (ARP sender {M2}) relayed by a bridge (Ethernet source "
           f"{BRIDGE})", build_ethernet(MAC, BRIDGE, ETHERTYPE_ARP,
                                        ArpPacket(OP_REPLY, M2, P2, MAC, IP).build()), 0.7,
           "the datagrams go to the MAC the ARP message gives, its sender hardware address "
           "(RFC 826: the mapping is <sender protocol address, sender hardware address>), "
           "not to the frame's Ethernet source: the two differ when a bridge or a proxy "
           "relays the reply", "take the MAC from the ARP message, not from the Ethernet "
           "header")


def check_answer_request(ctx: Context) -> None:
    p = _Pair(ctx)
    p.recv(f"ARP request from {P2} for 10.0.0.9", _request_from(M2, P2, IPv4Address(
        "10.0.0.9")), 0.0, "a request for another address is not answered", "answer only "
        "requests whose target is our address")
    p.send(b"to P2", P2, 0.1, "a request not for us does not teach its sender (RFC 826: "
           "only merge into an entry we have), so the datagram waits for a request of ours",
           "learn from an ARP message only if it is for us, or the sender is known already")
    p.recv(f"ARP request from {P1} for us", _request_from(M1, P1), 0.2, "a request for our "
           "address gets a reply: to the requester's MAC, op 2, our MAC and address as "
           "sender, the requester as target (RFC 826)")
    rule = ("an ARP message that gives our own address as its sender is ignored: our "
            "address is never learned as another host's (RFC 5227 §2.4: another host "
            "claiming our address is a conflict, not a mapping)")
    p.recv(f"ARP reply from {BRIDGE} claiming our address {IP}", build_ethernet(
        BROADCAST, BRIDGE, ETHERTYPE_ARP, ArpPacket(OP_REPLY, BRIDGE, IP, ZERO, IP).build()),
        0.3, rule)
    p.send(b"to our own address", IP, 0.4, rule + ": a datagram for next hop "
           f"{IP} is resolved like any unknown next hop, never framed for the claimer",
           f"ignore an ARP message whose sender address is {IP} (ours)")


def check_receive_ipv4(ctx: Context) -> None:
    p = _Pair(ctx)
    p.recv("IPv4 to our MAC", _ipv4(MAC), 0.0, "an IPv4 frame to our MAC gives its datagram")
    p.recv("IPv4 to broadcast", _ipv4(BROADCAST), 0.0, "an IPv4 frame to the broadcast MAC "
           "gives its datagram")
    p.recv("IPv4 to another MAC", _ipv4(PEER_MACS[2]), 0.0, "a frame to another MAC is "
           "not ours: nothing", "check the destination MAC first")
    p.recv("EtherType 0x86dd", _ipv4(MAC, 0x86DD), 0.0, "an unknown EtherType gives "
           "nothing")
    # a malformed ARP message (cut short, or not Ethernet/IPv4) is dropped, never an
    # exception: the stack does not catch one from recv_frame (house rule: bad input is a
    # counted drop, never a crash)
    reply = ArpPacket(OP_REPLY, M1, P1, MAC, IP).build()
    for name, frame in (("ARP message cut to 20 bytes",
                         build_ethernet(MAC, M1, ETHERTYPE_ARP, reply[:20])),
                        ("ARP message with hardware type 6",
                         build_ethernet(MAC, M1, ETHERTYPE_ARP, b"\x00\x06" + reply[2:]))):
        try:
            p.recv(name, frame, 0.0, "a malformed ARP message gives nothing")
        except StudentError as exc:
            raise CheckFailed("a malformed ARP message is dropped: recv_frame() returns "
                              "nothing for it, it does not raise (the stack would crash on "
                              "a frame from the wire)", input=f"recv_frame(<{name}>)",
                              expected="Received(None, []): no datagram, no frames",
                              got=f"an exception, {show(exc.type_name)}",
                              hint="parse_arp raises an error for a malformed message "
                              "(WireError): catch it and drop the frame") from None


def check_expiry(ctx: Context) -> None:
    p = _Pair(ctx, timeout=30)
    p.recv(f"ARP reply from {P1}", _reply_from(M1, P1), 0.0, "a reply is learned")
    p.send(b"soon", P1, 29.0, "an entry lives `timeout` seconds: framed at once")
    p.send(b"late", P1, 30.5, "after `timeout` seconds the entry has expired: resolve the "
           "next hop again (RFC 1122 §2.3.2.1, ARP cache validation)", "look the MAC up "
           "in the cache at every datagram (and let the cache expire entries)")


def check_retries(ctx: Context) -> None:
    p = _Pair(ctx, retries=3, retry_interval=1.0)
    p.send(b"lost", P1, 0.0, "first request")
    p.tick(0.5, "no retry before retry_interval")
    p.tick(1.0, "an unanswered request is sent again every retry_interval (RFC 1122 "
           "§2.3.2.1)", "at tick(), send a request for every address the cache says is due")
    p.tick(2.0, "and again, `retries` requests in all")
    p.tick(3.0, "after `retries` requests the resolution fails: tick() returns the held "
           "datagrams in `failed` (the stack reports host unreachable)", "return the failed "
           "resolutions' datagrams in failed")


def _wire_run(cls: Any) -> list[str]:
    from netsim.stack.host import Stack
    from netsim.wire.lazyframe import as_bytes
    from netsim.wire.summary import summarize

    a, b = Stack("a"), Stack("b")
    ia = a.add_interface("eth0", MAC, f"{IP}/24")
    ib = b.add_interface("eth0", M1, f"{P1}/24")
    nic = Checked(cls(MAC, IP, timeout=30, retries=3, retry_interval=1.0)) if cls else \
        reference(MAC, IP, timeout=30, retries=3, retry_interval=1.0)
    a.set_netif("eth0", nic)
    queue: list[tuple[str, bytes]] = []
    a.transmit = lambda iface, frame: queue.append(("a", as_bytes(frame)))
    b.transmit = lambda iface, frame: queue.append(("b", as_bytes(frame)))
    got: list[bytes] = []
    b.udp.bind(7, lambda payload, addr, *rest: got.append(payload))
    ep = a.udp.bind(5000)
    log: list[str] = []
    now = [0.0]

    def run() -> None:
        while queue:
            who, frame = queue.pop(0)
            log.append(f"  {who} > {summarize(frame)}")
            if who == "a":
                b.receive(ib, frame, now[0])
            else:
                a.receive(ia, frame, now[0])

    def advance(t: float) -> None:
        while (d := a.next_deadline()) is not None and d <= t:
            now[0] = max(now[0], d)
            a.poll(now[0])
            run()
        now[0] = t
        a.poll(t)
        run()

    for t, dst, payload in ((0.0, str(P1), b"one"), (1.0, str(P1), b"two"),
                            (40.0, str(P1), b"three"), (41.0, "10.0.0.9", b"lost")):
        advance(t)
        log.append(f"t={t:g}: a sends UDP {payload!r} to {dst}:7")
        ep.sendto(payload, (dst, 7), now[0])
        run()
    advance(50.0)
    log.append(f"delivered at b: {got!r}; datagrams a gave up on: "
               f"{a.counters['arp']['drop.unresolved']}")
    return log


@functools.lru_cache(maxsize=1)
def _reference_wire() -> list[str]:
    """The exchange with netsim's interface (the same for every submission)."""
    return _wire_run(None)


@functools.lru_cache(maxsize=1)
def _reference_chain() -> tuple[list[tuple[float, str, bytes]], list[str]]:
    return _chain_frames(None)


def check_stack(ctx: Context) -> None:
    ctx.step("two stacks a (your NetworkInterface on eth0) and b on one wire; a sends UDP to "
             "b: resolve, reuse, resolve again after the 30 s expiry, give up on 10.0.0.9")
    want = _reference_wire()
    got = _wire_run(ctx.target())
    for line in got:
        ctx.step(line)
    if got != want:
        i = next((i for i, (x, y) in enumerate(zip(want, got, strict=False)) if x != y),
                 min(len(want), len(got)))
        raise CheckFailed("in the real stack, the frames on the wire differ from those with "
                          "netsim's interface", expected=want[i] if i < len(want) else
                          "(nothing more)", got=got[i] if i < len(got) else "(nothing more)")


def _chain_frames(cls: Any) -> tuple[list[tuple[float, str, bytes]], list[str]]:
    from netsim.apps.bulk import BulkSendResult, SinkResult, bulk_sender, bulk_sink
    from netsim.apps.ping import ping
    from netsim.sim.link import LinkConfig
    from netsim.sim.loss import Bernoulli
    from netsim.sim.topology import chain
    from netsim.sim.world import World
    from netsim.wire.lazyframe import as_bytes

    world = World(8)
    net = chain(world, 2, LinkConfig(delay=0.002, rate_bps=5e6, loss=Bernoulli(0.02)))
    for node in net.hosts + net.routers:
        for iface in node.stack.interfaces.values():
            kw = {"timeout": 0.3, "retries": 2, "retry_interval": 0.2}
            nic = Checked(cls(iface.mac, iface.ip, **kw)) if cls else \
                reference(iface.mac, iface.ip, **kw)
            node.stack.set_netif(iface.name, nic)
    frames: list[tuple[float, str, bytes]] = []
    for link, end in ((net.links[0], "a"), (net.links[-1], "b")):
        getattr(link, end).add_tap(lambda t, d, f, n=end: frames.append((t, n + d,
                                                                           as_bytes(f))))
    lines: list[str] = []
    h1, h2 = net.hosts

    def probes() -> Generator[Any, Any, None]:
        yield from ping(h1, h2.ip, count=3, interval=0.5, out=lines.append)
        yield from ping(h1, "10.0.0.77", count=2, interval=0.5, out=lines.append)

    world.env.process(probes())
    sres, kres = BulkSendResult(), SinkResult()
    world.env.process(bulk_sink(h2, 5001, into=kres))
    world.env.process(bulk_sender(h1, h2.ip, 5001, 60_000, into=sres))
    world.run(until=30.0)
    lines.append(f"TCP: {kres.bytes_received} of 60000 bytes, intact="
                 f"{kres.sha256 == sres.sha256 != ''}")
    return frames, lines


def check_simulation(ctx: Context) -> None:
    from netsim.wire.summary import summarize

    ctx.step("h1 - r1 - r2 - h2, 2% loss; your NetworkInterface(timeout=0.3, retries=2, "
             "retry_interval=0.2) on all six interfaces; pings (one to an address nobody "
             "has) and a 60 kB TCP transfer; every frame at h1 and h2 compared with netsim's")
    want, want_lines = _reference_chain()
    got, got_lines = _chain_frames(ctx.target())
    ctx.step(got_lines[-1])
    if got == want and got_lines == want_lines:
        return
    i = next((i for i, (x, y) in enumerate(zip(want, got, strict=False)) if x != y),
             min(len(want), len(got)))

    def line(frames: list[tuple[float, str, bytes]]) -> str:
        if i >= len(frames):
            return "(no more frames)"
        t, where, frame = frames[i]
        return f"{t:.6f} at {'h1' if where[0] == 'a' else 'h2'} ({where[1:]}): " \
               f"{summarize(frame)}"

    raise CheckFailed(f"frame {i + 1} seen at the hosts differs from the run with netsim's "
                      "interfaces", expected=line(want), got=line(got))


ASSIGNMENT = Assignment(
    name="08-network-interface",
    title="The network interface: Ethernet framing and ARP",
    filename="network_interface.py",
    target="NetworkInterface",
    reference="netsim.stack.netif:EthernetArp",
    checks=(
        Check("frame_format", 2, check_frame_format,
              "a datagram to a known next hop is framed at once, byte for byte"),
        Check("arp_request", 2, check_arp_request,
              "an unknown next hop: one ARP request, the datagram held"),
        Check("reply_releases", 2, check_reply_releases,
              "the reply releases the held datagrams, in order"),
        Check("answer_request", 2, check_answer_request,
              "requests for our address answered; others neither answered nor learned"),
        Check("receive_ipv4", 1, check_receive_ipv4,
              "IPv4 frames to our MAC or broadcast go up, others not; malformed ARP dropped"),
        Check("expiry", 2, check_expiry, "an expired entry is resolved again"),
        Check("retries", 2, check_retries,
              "requests retried at tick(), then the held datagrams given up"),
        Check("random_sequences", 3, differential_check("08-network-interface"),
              "random call sequences: after every call the same answers as the reference",
              kind="random"),
        Check("stack_udp", 3, check_stack,
              "in the real stack: resolve, reuse, re-resolve after expiry, give up",
              kind="scripted"),
        Check("simulation_tcp", 3, check_simulation,
              "on every interface of a lossy chain: the same frames as netsim's",
              kind="simulation"),
    ),
)
