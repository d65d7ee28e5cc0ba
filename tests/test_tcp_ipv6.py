"""TCP over IPv6 in simulation: the handshake announces MSS = MTU - 60 (RFC 8200 §8.3),
bulk data arrive intact across a lossy dual-stack chain for several seeds, the capture opens
cleanly in tshark with every TCP checksum verified over the IPv6 pseudo-header, a closed port
answers with a RST (not an ICMPv6 port unreachable), listeners take the family and address
they were given, SYN cookies work over IPv6, and packet too big lowers the MSS."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Generator
from ipaddress import IPv4Address, IPv6Address
from pathlib import Path
from typing import Any

import pytest

from netsim.apps.bulk import bulk_sender, bulk_sink, expected_sha256
from netsim.errors import UsageError
from netsim.link.loss import Bernoulli
from netsim.sim.link import LinkConfig
from netsim.sim.topology import Network, capture, chain
from netsim.sim.topology6 import enable_ipv6_chain
from netsim.sim.world import World
from netsim.sockets import Stream
from netsim.stack.ipv6_input import error_to_transport
from netsim.stack.tcp import syncookies
from netsim.stack.tcp.config import TcpConfig
from netsim.stack.tcp.errors import ConnectionRefused, HostUnreachable
from netsim.stack.tcp.states import State
from netsim.wire import icmpv6 as i6
from netsim.wire.ipv6 import NH_TCP, build_ipv6
from netsim.wire.tcp import SYN, build_tcp

H1, H2 = IPv6Address("2001:db8::1"), IPv6Address("2001:db8:1::2")
START = 3.0  # after duplicate address detection (up to 1 s of delay plus 1 s RetransTimer)


def dual_chain(seed: int, config: LinkConfig | None = None, routers: int = 1,
               bottleneck: LinkConfig | None = None, tcp: TcpConfig | None = None
               ) -> tuple[World, Network]:
    world = World(seed)
    net = chain(world, routers, config or LinkConfig(delay=0.005), bottleneck=bottleneck,
                tcp=tcp)
    enable_ipv6_chain(net)
    return world, net


def far(net: Network) -> IPv6Address:
    return IPv6Address(f"2001:db8:{len(net.routers):x}::2")


def later(world: World, gen: Callable[[], Generator[Any, Any, Any]]) -> Any:
    def run() -> Generator[Any, Any, Any]:
        yield world.env.timeout(START)
        return (yield world.env.process(gen()))
    return world.env.process(run())


def test_handshake_over_ipv6_announces_mtu_minus_60_and_names_the_v6_peers() -> None:
    world, net = dual_chain(1)
    h1, h2 = net.hosts
    lst = h2.listen(80, address="::")
    got: dict[str, Any] = {}

    def server() -> Generator[Any, Any, None]:
        stream: Stream = yield lst.accept()
        got["server"] = stream
        got["data"] = yield stream.recv_exactly(5)
        yield stream.sendall(b"world")
        yield stream.close()

    def client() -> Generator[Any, Any, None]:
        stream: Stream = yield h1.connect(str(H2), 80)
        got["client"] = stream
        yield stream.sendall(b"hello")
        got["reply"] = yield stream.recv_exactly(5)
        yield stream.close()

    world.env.process(server())
    later(world, client)
    world.run(until=10.0)
    client_s, server_s = got["client"], got["server"]
    assert got["data"] == b"hello" and got["reply"] == b"world"
    assert client_s.peer == (H2, 80) and client_s.local[0] == H1
    assert server_s.peer == client_s.local and server_s.local == (H2, 80)
    # RFC 8200 §8.3: over IPv6 the MSS is the MTU less 60 bytes of headers
    assert client_s.conn.mss_local == server_s.conn.mss_local == 1500 - 60
    assert client_s.conn.snd_mss == 1440 - 12  # less the timestamps option
    assert client_s.conn.name == f"[{H1}]:{client_s.local[1]}>[{H2}]:80"
    for node in (h1, h2):
        assert node.stack.counters["ipv4"]["tx"] == 0  # nothing of this went over IPv4
        assert not node.stack.counters.drops().get("tcp.drop.checksum")


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_bulk_over_a_lossy_ipv6_chain_arrives_intact(seed: int) -> None:
    world, net = dual_chain(seed, LinkConfig(delay=0.005, rate_bps=10e6,
                                             loss=Bernoulli(0.03)))
    h1, h2 = net.hosts
    nbytes = 200_000
    sink = world.env.process(bulk_sink(h2, 5001))
    sent = later(world, lambda: bulk_sender(h1, far(net), 5001, nbytes, seed=seed))
    world.run(until=300.0)
    assert sent.value.sha256 == expected_sha256(nbytes, seed)
    assert sink.value.sha256 == sent.value.sha256 and sink.value.bytes_received == nbytes
    assert sink.value.peer[0] == H1
    assert h1.stack.tcp_counts["retransmissions"] > 0  # the loss did reach TCP


def test_ipv6_capture_opens_cleanly_with_tcp_checksums_checked(
        tmp_path: Path, require_tool: Callable[[str], str]) -> None:
    tshark = require_tool("tshark")
    world, net = dual_chain(5, LinkConfig(delay=0.005, rate_bps=10e6, loss=Bernoulli(0.02)))
    h1, h2 = net.hosts
    world.env.process(bulk_sink(h2, 5001))
    sent = later(world, lambda: bulk_sender(h1, far(net), 5001, 100_000, seed=5))
    pcap = tmp_path / "tcp6.pcap"
    with capture(net.links[0].a, pcap):
        world.run(until=100.0)
    assert sent.value.closed_at is not None
    proc = subprocess.run(
        [tshark, "-r", str(pcap), "-o", "tcp.check_checksum:TRUE", "-Y", "tcp",
         "-T", "fields", "-e", "ipv6.nxt", "-e", "tcp.checksum.status", "-e", "_ws.malformed",
         "-e", "_ws.expert.severity"],
        capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    rows = [line.split("\t") for line in proc.stdout.splitlines()]
    assert len(rows) > 100
    assert {r[0] for r in rows} == {"6"}  # TCP right after the IPv6 header
    assert {r[1] for r in rows} == {"1"}, "a TCP checksum tshark did not find good"
    assert not any(r[2] for r in rows)
    # tshark's notes on retransmissions and duplicate ACKs are expected, errors are not
    errors = subprocess.run(
        [tshark, "-r", str(pcap), "-o", "tcp.check_checksum:TRUE", "-Y",
         "_ws.expert.severity == error || _ws.malformed"],
        capture_output=True, text=True, timeout=120, check=False)
    assert errors.stdout.strip() == "", errors.stdout


def test_closed_port_over_ipv6_is_refused_with_a_rst_not_an_icmpv6_error() -> None:
    world, net = dual_chain(1)
    h1, h2 = net.hosts
    outcome: list[BaseException] = []

    def client() -> Generator[Any, Any, None]:
        try:
            yield h1.connect(far(net), 9)
        except ConnectionRefused as exc:
            outcome.append(exc)

    later(world, client)
    world.run(until=10.0)
    assert len(outcome) == 1 and str(far(net)) in str(outcome[0])
    # RFC 9293 §3.10.7.1 answers a SYN to a CLOSED port with a RST; RFC 4443 §3.1's port
    # unreachable is for transports with no such means
    assert h2.stack.tcp_counts["tx_rst"] == 1
    assert h2.stack.counters["icmp6"]["tx_error"] == 0


def test_listeners_take_their_family_and_address() -> None:
    world, net = dual_chain(1, routers=0)
    h1, h2 = net.hosts
    v4_only = h2.listen(7, address="0.0.0.0")
    one = h2.listen(8, address="2001:db8::2")
    both = h2.listen(9)
    h2.listen(11, address="10.0.0.2")
    results: dict[str, Any] = {}

    def attempt(label: str, ip: str, port: int) -> Generator[Any, Any, None]:
        try:
            stream: Stream = yield h1.connect(ip, port)
            results[label] = stream.local[0]
        except ConnectionRefused:
            results[label] = "refused"

    def run() -> Generator[Any, Any, None]:
        for label, ip, port in [("7/v4", "10.0.0.2", 7), ("7/v6", "2001:db8::2", 7),
                                ("8/v6", "2001:db8::2", 8), ("8/v4", "10.0.0.2", 8),
                                ("9/v4", "10.0.0.2", 9), ("9/v6", "2001:db8::2", 9),
                                ("11/v4", "10.0.0.2", 11), ("11/v6", "2001:db8::2", 11)]:
            yield world.env.process(attempt(label, ip, port))

    later(world, run)
    world.run(until=10.0)
    assert results == {"7/v4": IPv4Address("10.0.0.1"), "7/v6": "refused",
                       "8/v6": IPv6Address("2001:db8::1"), "8/v4": "refused",
                       "9/v4": IPv4Address("10.0.0.1"), "9/v6": IPv6Address("2001:db8::1"),
                       "11/v4": IPv4Address("10.0.0.1"), "11/v6": "refused"}
    assert len(v4_only.listener.accept_queue) == 1
    assert len(one.listener.accept_queue) == 1 and len(both.listener.accept_queue) == 2
    with pytest.raises(UsageError, match="listen: 2001:db8::99 is not an address of h2"):
        h2.listen(10, address="2001:db8::99")
    with pytest.raises(UsageError, match="address: 'nope' is not an IPv4 or IPv6 address"):
        h2.listen(10, address="nope")
    with pytest.raises(UsageError, match="connect: 'fe80::zz' is not an IPv6 address"):
        h1.stack.tcp.connect("fe80::zz", 80, 0.0)
    with pytest.raises(UsageError, match="connect: ff02::1 is not a unicast address"):
        h1.stack.tcp.connect("ff02::1", 80, 0.0)


def test_syncookies_over_ipv6_hash_the_v6_addresses_and_use_the_v6_mss_table() -> None:
    cfg = TcpConfig(syncookies=syncookies.ALWAYS)
    world, net = dual_chain(1, tcp=cfg)
    h1, h2 = net.hosts
    lst = h2.listen(80)
    got: dict[str, Any] = {}

    def server() -> Generator[Any, Any, None]:
        stream: Stream = yield lst.accept()
        got["server"] = stream
        got["data"] = yield stream.recv_exactly(3)

    def client() -> Generator[Any, Any, None]:
        stream: Stream = yield h1.connect(far(net), 80)
        got["client"] = stream
        yield stream.sendall(b"abc")

    world.env.process(server())
    later(world, client)
    world.run(until=10.0)
    assert got["data"] == b"abc"
    counts = h2.stack.tcp_counts
    assert counts["syncookies_sent"] == 1 and counts["syncookies_valid"] == 1
    # a cookie made for the IPv6 4-tuple decodes to the client's MSS class of the IPv6 table
    # (1440: MTU 1500 less 60), and to nothing for the same ports over IPv4
    secret = h2.stack.tcp.cookie_secret
    sport = got["client"].local[1]
    idx = syncookies.mss_index(1440, syncookies.MSS_TABLE6)
    cookie = syncookies.make_cookie(secret, H1, far(net), sport, 80, 1000, 5, idx)
    assert syncookies.MSS_TABLE6[syncookies.check_cookie(secret, H1, far(net), sport, 80, 1000,
                                                         cookie, 5) or 0] == 1440
    assert syncookies.check_cookie(secret, IPv4Address("10.0.0.1"), IPv4Address("10.0.1.2"),
                                   sport, 80, 1000, cookie, 5) is None
    # the server kept nothing of the SYN: the MSS it uses came back in the cookie
    assert got["server"].conn.peer_mss == 1440


def test_packet_too_big_from_a_router_lowers_the_mss_and_the_transfer_completes() -> None:
    # h1 — r1 — r2 — h2 with the middle link's MTU 1280, IPv6's minimum (RFC 8200 §5)
    world, net = dual_chain(1, routers=2, bottleneck=LinkConfig(delay=0.005, mtu=1280))
    h1, h2 = net.hosts
    sink = world.env.process(bulk_sink(h2, 5001))
    sent = later(world, lambda: bulk_sender(h1, far(net), 5001, 50_000, seed=9))
    world.run(until=60.0)
    assert sink.value.sha256 == sent.value.sha256 == expected_sha256(50_000, 9)
    r1 = net.routers[0]
    assert r1.stack.counters["icmp6"]["tx_error"] >= 1  # RFC 4443 §3.2 packet too big
    assert h1.stack.tcp_counts["pmtu_reductions"] == 1
    conn = sent.value.stream.conn
    assert conn.snd_mss == 1280 - 60 - 12
    assert conn.state in (State.TIME_WAIT, State.CLOSED)


def test_ipv4_on_the_same_dual_stack_hosts_still_goes_over_ipv4(tmp_path: Path) -> None:
    world, net = dual_chain(1)
    h1, h2 = net.hosts
    sink = world.env.process(bulk_sink(h2, 5001))
    sent = later(world, lambda: bulk_sender(h1, h2.ip, 5001, 20_000, seed=2))
    world.run(until=20.0)
    assert sink.value.sha256 == sent.value.sha256 and sink.value.peer[0] == h1.ip
    assert sent.value.stream.conn.mss_local == 1460
    assert h1.stack.counters["ipv6"]["tx"] < 10  # neighbour discovery only


def test_cli_echo_and_sim_take_dash_6_and_negative_values_stay_values(
        capsys: pytest.CaptureFixture[str]) -> None:
    from netsim.cli import main
    assert main(["echo", "-6", "--delay", "1ms"]) == 0
    out = capsys.readouterr().out
    assert "IP6 2001:db8::1.49152 > 2001:db8::2.7: Flags [S], seq" in out
    assert "options [mss 1440," in out and "got b'hello' back (ok)" in out
    assert main(["sim", "-6", "--bytes", "200kB", "--delay", "5ms", "--rate", "10Mbit",
                 "--loss", "0.01"]) == 0
    out = capsys.readouterr().out
    assert "intact           yes" in out and "mss 1428" in out
    assert main(["echo", "-6", "--mtu", "1000"]) == 2
    assert "--mtu: 1000 is below IPv6's minimum link MTU of 1280" in capsys.readouterr().err
    # with a "-6" option in the parser, "-1" is still a value the validator names
    assert main(["ping", "-6", "--count", "-1"]) == 2
    assert "--count: '-1' is not allowed" in capsys.readouterr().err
    assert main(["sim", "-6", "--delay", "-1ms"]) == 2
    assert "--delay: '-1ms' is negative" in capsys.readouterr().err


def test_icmpv6_errors_reach_the_connection_soft_and_hard() -> None:
    """RFC 1122 §4.2.3.9: address unreachable (RFC 4443 §3.1 code 3, from the router whose
    neighbour discovery gave up) is a soft error kept for the application; port unreachable
    (code 4) aborts a connection still in SYN-SENT."""
    world, net = dual_chain(1)
    h1 = net.hosts[0]
    conns: list[Any] = []

    def opener() -> Generator[Any, Any, None]:
        conns.append(h1.stack.tcp.connect("2001:db8:1::99", 80, world.env.now))
        conns.append(h1.stack.tcp.connect(far(net), 81, world.env.now))
        yield world.env.timeout(0)

    later(world, opener)
    world.run(until=START + 0.001)
    lost, refused = conns
    assert refused.state is State.SYN_SENT
    # the far host's port unreachable about the SYN `refused` sent (quoted as RFC 4443 §3.1
    # says: as much of the invoking packet as fits)
    syn = build_tcp(H1, far(net), refused.local_port, 81, refused.iss, 0, SYN, 65535)
    quoted = build_ipv6(H1, far(net), NH_TCP, syn)
    msg = i6.error(i6.DEST_UNREACHABLE, i6.UNREACH_PORT, quoted)
    error_to_transport(h1.stack.ipv6, msg, far(net), world.env.now)
    assert refused.state is State.CLOSED and isinstance(refused.error, HostUnreachable)
    assert "port unreachable" in str(refused.error)
    world.run(until=START + 8.0)
    assert isinstance(lost.soft_error, HostUnreachable), lost.soft_error
    assert "host unreachable" in str(lost.soft_error)
    assert net.routers[0].stack.counters["icmp6"]["tx_error"] >= 1


def test_a_packet_too_big_below_1280_is_discarded_and_counted() -> None:
    """RFC 8201 §4: a packet too big reporting less than IPv6's minimum link MTU is discarded
    (never taken as 1280); one of 1300 lowers the MSS to 1300 - 60 - 12 (timestamps)."""
    world, net = dual_chain(1)
    h1, h2 = net.hosts
    sink = world.env.process(bulk_sink(h2, 5001))
    later(world, lambda: bulk_sender(h1, far(net), 5001, 300_000, seed=3))
    world.run(until=START + 0.05)  # the handshake is over, the transfer under way
    (conn,) = h1.stack.tcp.conns.values()
    assert conn.state in (State.ESTABLISHED, State.FIN_WAIT_1)  # (all written, FIN queued)
    mss = conn.snd_mss
    seg = build_tcp(H1, far(net), conn.local_port, 5001, conn.snd_una, 0, SYN, 65535)
    quoted = build_ipv6(H1, far(net), NH_TCP, seg + bytes(1200))
    for reported in (1000, 1279):
        msg = i6.error(i6.PACKET_TOO_BIG, 0, quoted, reported)
        error_to_transport(h1.stack.ipv6, msg, IPv6Address("2001:db8::2"), world.env.now)
    assert conn.snd_mss == mss
    assert h1.stack.tcp_counts["pmtu_reductions"] == 0
    assert h1.stack.counters.drops()["icmp6.too_big_below_min_mtu"] == 2
    msg = i6.error(i6.PACKET_TOO_BIG, 0, quoted, 1300)
    error_to_transport(h1.stack.ipv6, msg, IPv6Address("2001:db8::2"), world.env.now)
    assert conn.snd_mss == 1300 - 60 - 12
    world.run(until=START + 30.0)
    assert sink.value.sha256 == expected_sha256(300_000, 3)
