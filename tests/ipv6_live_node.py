"""The two sides of the live IPv6 test (tests/test_live_ipv6.py), run inside its namespace:

    node TAP IPV4/PREFIX IPV6/PREFIX   netsim live on TAP with IPv6 enabled; prints
                                       "ipv6 ready LINKLOCAL" once DAD is done, runs until
                                       SIGINT, then prints the counters as one JSON line
    ping6 ADDRESS COUNT [IFNAME]       the kernel's ICMPv6 echo through a raw socket (the
                                       kernel builds the header and the checksum, as for
                                       `ping -6`); prints one RTT (ms) per reply
    tcp TAP IPV4/PREFIX IPV6/PREFIX PORT PEER PEERPORT FILE
                                       netsim live as `node`, with a TCP echo server on PORT
                                       (every address, IPv6 included); once ready it also
                                       connects to [PEER]:PEERPORT over IPv6, sends FILE's
                                       bytes and closes, printing "sent N"; on SIGINT the
                                       counters of ipv6, icmp6 and tcp as one JSON line
    router TAP IPV4/PREFIX PREFIX6     netsim live as a router advertising PREFIX6 on TAP
                                       (RFC 4861 §6.2, every 3-4 s); "ipv6 ready LINKLOCAL"
                                       once it can advertise, counters on SIGINT
"""

from __future__ import annotations

import json
import os
import socket
import struct
import sys
import time
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any


def _serve(tap: str, ip4: str, ip6: tuple[str, ...], layers: tuple[str, ...], *,
           router: bool = False, prefix: str | None = None,
           on_ready: Callable[[Any], None] | None = None) -> None:
    """The run of every netsim side: netsim live on TAP with IPv6 enabled (a router
    advertising `prefix` with `router`), "ipv6 ready LINKLOCAL..." once DAD is done (after
    `on_ready(host)`), then until SIGINT; then the nonzero counters of `layers` as one JSON
    line."""
    from netsim.live.host import LiveConfig, LiveHost

    host = LiveHost(LiveConfig(tap=tap, ip=ip4))
    env = host.env
    layer = host.stack.ipv6
    if router:
        host.stack.forwarding = True
    layer.enable(tap, ip6, now=env.now)
    if prefix is not None:
        layer.routers.advertise(tap, (prefix,), max_interval=4.0, now=env.now)

    def main() -> Generator[Any, Any, None]:
        while any(a.tentative for a in layer.ifaces[tap].addresses):
            yield env.timeout(0.05)
        if on_ready is not None:
            on_ready(host)
        print("ipv6 ready", " ".join(str(a) for a in layer.addresses(tap)), flush=True)
        yield env.stop_requested  # until SIGINT

    try:
        host.run(main())
        counters = {k: v for k, v in host.stack.counters.flat().items()
                    if v and k.split(".")[0] in layers}
        print(json.dumps(counters, sort_keys=True), flush=True)
    finally:
        host.close()


def node(tap: str, ip4: str, ip6: str) -> None:
    _serve(tap, ip4, (ip6,), ("ipv6", "icmp6"))


def tcp(tap: str, ip4: str, ip6: str, port: str, peer: str, peer_port: str,
        path: str) -> None:
    from netsim.apps.echo import echo_server

    data = Path(path).read_bytes()

    def ready(host: Any) -> None:
        def send() -> Generator[Any, Any, None]:
            stream = yield host.node.connect(peer, int(peer_port))
            yield stream.sendall(data)
            yield stream.close()
            print("sent", len(data), stream.local[0], flush=True)

        host.env.process(echo_server(host.node, int(port)))
        host.env.process(send())

    _serve(tap, ip4, (ip6,), ("ipv6", "icmp6", "tcp"), on_ready=ready)


def router(tap: str, ip4: str, prefix: str) -> None:
    _serve(tap, ip4, (), ("ipv6", "icmp6"), router=True, prefix=prefix)


def ping6(address: str, count: int, ifname: str | None) -> list[float]:
    scope = socket.if_nametoindex(ifname) if ifname else 0
    ident = os.getpid() & 0xFFFF
    rtts = []
    with socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6) as s:
        s.settimeout(2.0)
        for seq in range(count):
            payload = struct.pack("!d", time.monotonic()) + bytes(range(48))
            # (the clock is read before sending: sendto can yield the CPU to netsim, which may
            # answer before sendto returns)
            sent = time.monotonic()
            # type 128, code 0, checksum 0: the kernel fills it in on a raw ICMPv6 socket
            s.sendto(struct.pack("!BBHHH", 128, 0, 0, ident, seq) + payload,
                     (address, 0, 0, scope))
            while True:
                try:
                    data, _ = s.recvfrom(2048)
                except TimeoutError:
                    break
                typ, _code, _ck, rid, rseq = struct.unpack("!BBHHH", data[:8])
                if typ == 129 and rid == ident and rseq == seq and data[8:] == payload:
                    rtts.append((time.monotonic() - sent) * 1000)
                    break
            time.sleep(0.02)
    return rtts


if __name__ == "__main__":
    if sys.argv[1] == "node":
        node(*sys.argv[2:5])
    elif sys.argv[1] == "router":
        router(*sys.argv[2:5])
    elif sys.argv[1] == "tcp":
        tcp(*sys.argv[2:9])
    elif sys.argv[1] == "ping6":
        found = ping6(sys.argv[2], int(sys.argv[3]), sys.argv[4] if len(sys.argv) > 4 else None)
        print(" ".join(f"{r:.3f}" for r in found))
    else:
        sys.exit(f"unknown command {sys.argv[1]!r}")
