"""`netsim live ...`: run netsim's stack and applications on a Linux TAP device.

Run it inside the namespace that holds the TAP (see ``scripts/netns_setup.sh``)::

    ip netns exec netsim python -m netsim live echo-server --port 8080
    ip netns exec netsim python -m netsim live sink --port 9000 --loss 0.05
    ip netns exec netsim python -m netsim live send --connect 10.0.0.1:9000 --bytes 10MB
    ip netns exec netsim python -m netsim live echo-server -6 --ip6 fd00::2/64
    ip netns exec netsim python -m netsim live send -6 --connect [fd00::1]:9000 --bytes 1MB

Every command answers ARP and ping while it runs. Ctrl-C (or SIGTERM) closes the open
connections (FIN, not RST) and exits with status 0. Setup problems (not root, no
/dev/net/tun, no such TAP, TAP busy, bad address) are one line on stderr and exit status 2.
With ``-6`` the TAP also speaks IPv6 (a link-local address and ``--ip6``, checked by duplicate
address detection before the command starts; neighbour discovery answers the kernel), and
``--connect`` takes ``[IPV6]:PORT``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Generator
from ipaddress import IPv4Address, IPv6Address
from typing import Any, cast

from simpy.events import Event, Process

from netsim.apps.bulk import BulkSendResult, SinkResult, bulk_sender, bulk_sink
from netsim.apps.echo import EchoServerStats, echo_client, echo_server
from netsim.cli.linkflags import add_link_arguments, link_config_from_args, transfer_bytes
from netsim.errors import UsageError
from netsim.live.host import LiveConfig, LiveHost
from netsim.sockets import Listener, Stream
from netsim.stack.tcp import syncookies
from netsim.stack.tcp.config import TcpConfig
from netsim.tcpspec import check_tcp_mtu
from netsim.units import parse_time

__all__ = ["register", "run"]


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser(
        "live",
        help="run the stack live on a Linux TAP device (root, inside a network namespace)",
        description="Run netsim's stack and applications on a Linux TAP device, talking to the "
        "kernel's TCP. Create the namespace and TAP first with scripts/netns_setup.sh up, then "
        "run this under `ip netns exec NS`. Every command answers ARP and ping.",
    )
    sub = parser.add_subparsers(title="commands", metavar="COMMAND", parser_class=type(parser))

    p = sub.add_parser("up", help="only answer ARP and ping until Ctrl-C")
    _common(p)
    p.set_defaults(func=run, live_cmd="up")

    p = sub.add_parser("echo-server", help="echo every TCP connection's bytes back (RFC 862)")
    _common(p)
    p.add_argument("--port", type=_port_arg, default=8080, help="TCP port (default 8080)")
    p.add_argument("--count", type=_count_arg, default=None, metavar="N",
                   help="exit after serving N connections (default: serve until Ctrl-C)")
    p.set_defaults(func=run, live_cmd="echo-server")

    p = sub.add_parser("echo-client", help="send one message to an echo server, print the reply")
    _common(p)
    p.add_argument("--connect", required=True, metavar="HOST:PORT", help="e.g. 10.0.0.1:8080")
    p.add_argument("--message", default=None, metavar="TEXT",
                   help="what to send (default: everything read from stdin)")
    p.set_defaults(func=run, live_cmd="echo-client")

    p = sub.add_parser("sink", help="accept connections, count and SHA-256 what arrives")
    _common(p)
    p.add_argument("--port", type=_port_arg, default=9000, help="TCP port (default 9000)")
    p.add_argument("--count", type=_count_arg, default=None, metavar="N",
                   help="exit after N connections (default: until Ctrl-C)")
    p.set_defaults(func=run, live_cmd="sink")

    p = sub.add_parser("send", help="connect and send N pseudo-random bytes, print their SHA-256")
    _common(p)
    p.add_argument("--connect", required=True, metavar="HOST:PORT", help="e.g. 10.0.0.1:9000")
    p.add_argument("--bytes", required=True, metavar="N",
                   help="how much to send: 1000000, 10MB, 10MiB")
    p.add_argument("--data-seed", type=int, default=1, metavar="N",
                   help="seed of the pseudo-random bytes (netsim.apps.bulk; default 1)")
    p.set_defaults(func=run, live_cmd="send")

    def usage(_args: argparse.Namespace) -> int:
        parser.print_help()
        return 2

    parser.set_defaults(func=usage)


def _common(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("live")
    g.add_argument("--tap", default="tap0", metavar="NAME", help="TAP device (default tap0)")
    g.add_argument("--ip", default="10.0.0.2/24", metavar="ADDR/PREFIX",
                   help="netsim's address on the TAP (default 10.0.0.2/24)")
    g.add_argument("--mac", default=None, metavar="MAC",
                   help="netsim's MAC address (default 02:00 followed by the IPv4 address)")
    g.add_argument("--gateway", default=None, metavar="ADDR", help="default route via ADDR")
    g.add_argument("--trace", default=None, metavar="FILE",
                   help="write the stack's trace records (segments, cwnd, RTT, states, drops) "
                        "to FILE as JSON lines")
    g.add_argument("--stats", default=None, metavar="FILE",
                   help="on exit, write counters (stack, TAP, impairment) to FILE as JSON")
    g.add_argument("--min-rto", default="200ms", metavar="TIME",
                   help="TCP minimum retransmission timeout (default 200ms, as Linux; "
                        "RFC 6298 says 1s)")
    g.add_argument("--syncookies", default="1", metavar="MODE",
                   help="SYN cookies, as Linux's net.ipv4.tcp_syncookies: 0|off, "
                        "1|on-overflow (when the half-open queue is full; default), 2|always")
    g.add_argument("--ecn", default="2", metavar="MODE",
                   help="ECN (RFC 3168), as Linux's net.ipv4.tcp_ecn: 0 never, 1 ask for it on "
                        "connections netsim opens and agree when asked, 2 agree only when "
                        "asked (default)")
    g.add_argument("--no-offload", dest="offload", action="store_false",
                   help="frames without a virtio-net header: netsim computes and checks every "
                        "checksum and reads MTU-sized frames (default: the kernel does, and "
                        "hands over TCP super-segments, when it can)")
    g.add_argument("--quiet", "-q", action="store_true", help="print only results")
    g.add_argument("-6", dest="ipv6", action="store_true",
                   help="also speak IPv6 on the TAP (TCP servers listen on both families)")
    g.add_argument("--ip6", default="fd00::2/64", metavar="ADDR/PREFIX",
                   help="netsim's IPv6 address with -6 (default fd00::2/64)")
    add_link_arguments(p)
    # Live defaults: no impairment unless asked for; the MTU is the TAP's.
    p.set_defaults(delay="0", rate="none", mtu="auto")
    live_help = {
        "delay": "one-way delay added by netsim in each direction, e.g. 20ms (default 0)",
        "rate": "rate limit in each direction, tc units such as 100Mbit (default none)",
        "mtu": "netsim's interface MTU, 68..65535 (default auto: the TAP's MTU)",
        "pcap": "write every frame on the TAP to a pcap FILE (wall-clock timestamps)",
        "json": "print each result as one JSON object per line instead of text",
    }
    for action in p._actions:
        if action.dest in live_help:
            action.help = live_help[action.dest]


def _port_arg(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port; use 1..65535")
    return int(text)


def _count_arg(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a count; use a whole number >= 1")
    return int(text)


def parse_endpoint(text: str, flag: str = "--connect", ipv6: bool = False
                   ) -> tuple[IPv4Address | IPv6Address, int]:
    """``10.0.0.1:8080`` -> (IPv4Address, port), with `ipv6` also ``[fd00::1]:8080`` ->
    (IPv6Address, port); UsageError naming `flag` otherwise."""
    host, sep, port = str(text).rpartition(":")
    try:
        if not sep or not port.isdigit() or not 1 <= int(port) <= 65535:
            raise ValueError
        if ipv6 and host.startswith("[") and host.endswith("]"):
            return IPv6Address(host[1:-1]), int(port)
        return IPv4Address(host), int(port)
    except ValueError:
        v6 = " or [IPv6]:PORT (e.g. [fd00::1]:8080)" if ipv6 else \
            " ([IPv6]:PORT with -6)"
        raise UsageError(f"{flag}: {text!r} is not HOST:PORT with an IPv4 address and a port "
                         f"1..65535, e.g. 10.0.0.1:8080{v6}") from None


def _config(args: argparse.Namespace) -> LiveConfig:
    mtu: int | None = None
    if str(args.mtu).strip().lower() != "auto":
        mtu_text = str(args.mtu).strip()
        if not mtu_text.isdigit() or not 68 <= int(mtu_text) <= 65535:
            raise UsageError(f"--mtu: {args.mtu!r} is not an MTU; use 68..65535 or auto")
        mtu = int(mtu_text)
        if args.live_cmd != "up":  # the other commands speak TCP
            check_tcp_mtu(mtu, timestamps=True)
    link_args = argparse.Namespace(**vars(args))
    link_args.mtu = str(mtu if mtu is not None else 65535)
    impair = link_config_from_args(link_args)
    min_rto = parse_time(args.min_rto, "--min-rto")
    if not 0 < min_rto <= 60:
        raise UsageError(f"--min-rto: {args.min_rto!r} is not in (0, 60] seconds")
    cookies = syncookies.MODES.get(str(args.syncookies).strip().lower())
    if cookies is None:
        raise UsageError(f"--syncookies: {args.syncookies!r} is not a mode; use 0|off, "
                         "1|on-overflow or 2|always")
    ecn = str(getattr(args, "ecn", "2")).strip()
    if ecn not in ("0", "1", "2"):
        raise UsageError(f"--ecn: {args.ecn!r} is not a mode; use 0 (never), 1 (ask and agree) "
                         "or 2 (agree when asked)")
    return LiveConfig(tap=args.tap, ip=args.ip, mac=args.mac, mtu=mtu, gateway=args.gateway,
                      impair=impair, seed=args.seed, pcap=args.pcap, trace=args.trace,
                      offload=getattr(args, "offload", True),
                      tcp=TcpConfig.linux_like(min_rto=min_rto, syncookies=cookies,
                                               ecn=int(ecn)))


def _say(args: argparse.Namespace, text: str, *, result: bool = False) -> None:
    if result or not args.quiet:
        print(text, flush=True)


def _result(args: argparse.Namespace, text: str, data: dict[str, Any]) -> None:
    """A result line: `text`, or with --json the JSON object `data`."""
    if args.json:
        print(json.dumps(data, sort_keys=True), flush=True)
    else:
        print(text, flush=True)


def run(args: argparse.Namespace) -> int:
    cmd: str = args.live_cmd
    ipv6 = bool(getattr(args, "ipv6", False))
    target = parse_endpoint(args.connect, ipv6=ipv6) if cmd in ("echo-client", "send") \
        else None
    nbytes = transfer_bytes(args.bytes) if cmd == "send" else 0
    message = b""
    if cmd == "echo-client":
        # surrogateescape: bytes that are not UTF-8 in the command line are sent as given
        message = (args.message.encode("utf-8", "surrogateescape") if args.message is not None
                   else sys.stdin.buffer.read())
    config = _config(args)
    host = LiveHost(config)
    status = 0
    try:
        _say(args, host.describe())
        if ipv6:
            _enable_ipv6(host, args)
        if cmd == "up":
            _say(args, "answering ARP and ping; Ctrl-C to stop", result=True)
            host.run(None)
        elif cmd == "echo-server":
            status = _echo_server(host, args)
        elif cmd == "echo-client":
            assert target is not None
            status = _echo_client(host, args, target, message)
        elif cmd == "sink":
            status = _sink(host, args)
        else:
            assert target is not None
            status = _send(host, args, target, nbytes)
    finally:
        summary = host.summary()
        host.close()
        _report(args, summary)
    return status


def _enable_ipv6(host: LiveHost, args: argparse.Namespace) -> None:
    """IPv6 on the TAP: its link-local address and --ip6, each checked by duplicate address
    detection (RFC 4862 §5.4) before the command starts."""
    layer = host.stack.ipv6
    state = layer.enable(args.tap, (args.ip6,), now=host.env.now)
    env = host.env

    def dad() -> Generator[Event, Any, None]:
        while any(a.tentative for a in state.addresses):
            yield env.timeout(0.05)

    host.run(dad())
    if host.interrupted:
        raise KeyboardInterrupt
    bad = [str(a.address) for a in state.addresses if a.duplicate]
    if bad:
        raise UsageError(f"--ip6: {', '.join(bad)} is already used on the link (duplicate "
                         "address detection)")
    _say(args, "ipv6: " + " ".join(str(a) for a in layer.addresses(args.tap)))


def _ep(addr: IPv4Address | IPv6Address, port: int) -> str:
    """An address and port as written on a command line: [IPv6]:PORT for IPv6."""
    return f"[{addr}]:{port}" if isinstance(addr, IPv6Address) else f"{addr}:{port}"


def _listening(host: LiveHost, args: argparse.Namespace) -> str:
    """Where a server listens: the IPv4 address, and with -6 the IPv6 ones."""
    where = f"{host.iface.ip}:{args.port}"
    if getattr(args, "ipv6", False):
        where += "".join(f", {_ep(a, args.port)}" for a in host.stack.ipv6.addresses(args.tap))
    return where


def _report(args: argparse.Namespace, summary: dict[str, Any]) -> None:
    if args.stats:
        with open(args.stats, "w", encoding="utf-8") as f:
            json.dump(summary, f, indent=2, sort_keys=True)
    tap = summary["tap"]
    drops = ", ".join(f"{k} {v}" for k, v in sorted(summary["drops"].items())) or "none"
    if not args.quiet:
        print(f"netsim live: tap rx {tap['rx_frames']} frames / tx {tap['tx_frames']} frames; "
              f"stack drops: {drops}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------- commands
def _echo_server(host: LiveHost, args: argparse.Namespace) -> int:
    stats = EchoServerStats()
    lst = host.node.listen(args.port)
    _say(args, f"echo server listening on {_listening(host, args)}", result=True)
    host.run(echo_server(host.node, args.port, max_connections=args.count, listener=lst,
                         stats=stats))
    _result(args, f"echo server: {stats.connections} connections, {stats.finished} finished, "
                  f"{stats.errors} errors, {stats.bytes_echoed} bytes echoed",
            {"result": "echo-server", "connections": stats.connections,
             "finished": stats.finished, "errors": stats.errors,
             "bytes_echoed": stats.bytes_echoed})
    return 0 if stats.errors == 0 else 1


def _echo_client(host: LiveHost, args: argparse.Namespace,
                 target: tuple[IPv4Address | IPv6Address, int], message: bytes) -> int:
    result = host.run(echo_client(host.node, target[0], target[1], message))
    if result is None:
        return 130
    if not args.json:
        sys.stdout.buffer.write(result.reply)
        sys.stdout.flush()
    _result(args, f"\necho-client: sent {len(result.message)} bytes, got {len(result.reply)} "
                  f"back in {result.rtt * 1000:.3f} ms, {'match' if result.ok else 'MISMATCH'}",
            {"result": "echo-client", "sent": len(result.message),
             "received": len(result.reply), "rtt": result.rtt, "match": result.ok})
    return 0 if result.ok else 1


class _Accepted:
    """A listener that hands out one already-accepted stream (so `bulk_sink` can serve it)."""

    def __init__(self, stream: Stream) -> None:
        self.stream = stream

    def accept(self) -> Event:
        ev = self.stream.env.event()
        ev.succeed(self.stream)
        return ev

    def close(self) -> None:
        pass


def _sink(host: LiveHost, args: argparse.Namespace) -> int:
    env = host.env
    node = host.node
    lst: Listener = node.listen(args.port)
    _say(args, f"sink listening on {_listening(host, args)}", result=True)
    results: list[SinkResult] = []

    def report(res: SinkResult) -> None:
        secs = (res.last_byte_at or 0.0) - (res.accepted_at or 0.0)
        rate = res.bytes_received / secs / 1e6 if secs > 0 else 0.0
        peer = _ep(*res.peer) if res.peer else "?"
        _result(args, f"sink: {peer} {res.bytes_received} bytes in {secs:.3f} s "
                      f"({rate:.1f} MB/s) sha256 {res.sha256 or '(unfinished)'}",
                {"result": "sink", "peer": peer, "bytes": res.bytes_received,
                 "seconds": secs, "sha256": res.sha256 or None,
                 "complete": res.eof_at is not None})

    def serve_one(stream: Stream) -> Generator[Event, Any, None]:
        res = SinkResult()
        results.append(res)
        try:
            yield env.process(bulk_sink(node, listener=cast(Listener, _Accepted(stream)),
                                        into=res))
        finally:
            report(res)

    def server() -> Generator[Event, Any, None]:
        handlers: list[Process] = []
        while args.count is None or len(handlers) < args.count:
            stream: Stream = yield lst.accept()
            handlers.append(env.process(serve_one(stream)))
        lst.close()
        yield env.all_of(handlers)

    host.run(server())
    return 0


def _send(host: LiveHost, args: argparse.Namespace,
          target: tuple[IPv4Address | IPv6Address, int], nbytes: int) -> int:
    res = BulkSendResult()
    _say(args, f"sending {nbytes} bytes to {_ep(*target)}")
    value = host.run(bulk_sender(host.node, target[0], target[1], nbytes, seed=args.data_seed,
                                 into=res))
    start = res.connected_at or 0.0
    end = res.closed_at or res.queued_at or host.env.now
    secs = end - start
    rate = res.bytes_sent / secs / 1e6 if secs > 0 else 0.0
    _result(args, f"send: {res.bytes_sent} bytes to {_ep(*target)} in {secs:.3f} s "
                  f"({rate:.1f} MB/s) sha256 {res.sha256 or '(unfinished)'}",
            {"result": "send", "peer": f"{_ep(*target)}", "bytes": res.bytes_sent,
             "seconds": secs, "sha256": res.sha256 or None, "complete": value is not None})
    return 0 if value is not None else 130
