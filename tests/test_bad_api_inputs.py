"""The Python API refuses a bad argument up front, with one line naming it (as
tests/test_bad_inputs.py checks for the command line): the sockets, `Node`, the topology
builders, `World`, `TcpConfig` and the apps students call from notebooks. Each row is a call
and the start of the `UsageError` it must raise; before, these were TypeErrors,
AttributeErrors, IndexErrors from deep inside, or silently accepted (``send([1, 2])`` sent
bytes 01 02, ``ping(h1, 5)`` pinged 0.0.0.5, ``TcpConfig(cc="nope")`` failed at the first
connect)."""

from __future__ import annotations

from array import array
from collections.abc import Callable, Generator
from ipaddress import IPv4Address
from types import SimpleNamespace
from typing import Any

import pytest

from netsim.apps.echo import echo_client, echo_server
from netsim.apps.ping import ping
from netsim.apps.ping6 import ping6
from netsim.apps.traceroute import traceroute
from netsim.errors import UsageError
from netsim.sim.link import LinkConfig
from netsim.sim.loaded_ping import ping_under_load
from netsim.sim.ospf import enable_ospf
from netsim.sim.rip import add_host, enable_rip, routers_from_edges
from netsim.sim.scenario import BulkScenario, run_bulk
from netsim.sim.synflood import syn_flood
from netsim.sim.topology import capture, chain, dumbbell, fan_in, two_hosts
from netsim.sim.world import World
from netsim.stack.tcp.config import TcpConfig
from netsim.stack.tcp.congestion import NewReno
from netsim.trace.export import read_jsonl
from netsim.trace.pcap import records_from_pcap
from netsim.trace.recorder import Recorder

IP = "10.0.0.2"
RATED = LinkConfig(delay=0.001, rate_bps=1e6)


def connected() -> SimpleNamespace:
    """h1 and h2 on one link, a connected stream each side and a UDP socket on h1."""
    world = World(1)
    net = two_hosts(world, LinkConfig(delay=0.001))
    h1, h2 = net.hosts
    ends: dict[str, Any] = {}

    def server() -> Generator[Any, Any, None]:
        ends["s"] = yield h2.listen(80).accept()

    def client() -> Generator[Any, Any, None]:
        ends["c"] = yield h1.connect(IP, 80)

    world.env.process(server())
    world.env.process(client())
    world.run(1.0)
    return SimpleNamespace(world=world, net=net, h1=h1, h2=h2, c=ends["c"], s=ends["s"],
                           u=h1.udp(5000))


def _rip_net() -> Any:
    return routers_from_edges(World(1), [("a", "b")])


Call = Callable[[SimpleNamespace], object]

ROWS: list[tuple[str, Call, str]] = [
    # Stream.send / sendall: any bytes-like object; str and the rest refused
    ("send str", lambda t: t.c.send("abc"), "data: 'abc' is text, not bytes; pass data.encode()"),
    ("send None", lambda t: t.c.send(None), "data: NoneType is not a bytes-like object"),
    ("send int", lambda t: t.c.send(5), "data: int is not a bytes-like object"),
    ("send list", lambda t: t.c.send([1, 2]), "data: list is not a bytes-like object"),
    ("sendall str", lambda t: t.c.sendall("abc"), "data: 'abc' is text, not bytes"),
    ("sendall None", lambda t: t.c.sendall(None), "data: NoneType is not a bytes-like"),
    ("sendall list", lambda t: t.c.sendall([1, 2]), "data: list is not a bytes-like object"),
    # Stream.recv / recv_exactly
    ("recv str", lambda t: t.c.recv("10"), "max_bytes: '10' is not a size; use an int >= 0"),
    ("recv float", lambda t: t.c.recv(1.5), "max_bytes: 1.5 is not a size"),
    ("recv bool", lambda t: t.c.recv(True), "max_bytes: True is not a size"),
    ("recv min_bytes -1", lambda t: t.c.recv(min_bytes=-1), "recv: min_bytes -1 is negative"),
    ("recv min_bytes str", lambda t: t.c.recv(min_bytes="3"), "min_bytes: '3' is not a size"),
    ("recv_exactly -1", lambda t: t.c.recv_exactly(-1), "n: -1 is less than 0"),
    ("recv_exactly str", lambda t: t.c.recv_exactly("5"), "n: '5' is not a size"),
    # Node.connect / listen / udp
    ("connect port str", lambda t: t.h1.connect(IP, "80"),
     "port: '80' is not a port number; use an int in 1..65535"),
    ("connect ip int", lambda t: t.h1.connect(5, 80), "ip: 5 is not an IPv4 or IPv6 address"),
    ("connect ip nonsense", lambda t: t.h1.connect("nonsense", 80),
     "ip: 'nonsense' is not an IPv4 or IPv6 address"),
    ("connect cfg", lambda t: t.h1.connect(IP, 80, cfg=5), "cfg: 5 is not a TcpConfig"),
    ("connect local_port -5", lambda t: t.h1.connect(IP, 80, local_port=-5),
     "local_port: -5 is not in 0..65535"),
    ("connect local_port 70000", lambda t: t.h1.connect(IP, 80, local_port=70000),
     "local_port: 70000 is not in 0..65535"),
    ("connect local_port str", lambda t: t.h1.connect(IP, 80, local_port="5"),
     "local_port: '5' is not a port number"),
    ("listen port str", lambda t: t.h2.listen("81"), "port: '81' is not a port number"),
    ("listen port float", lambda t: t.h2.listen(81.0), "port: 81.0 is not a port number"),
    ("listen port bool", lambda t: t.h2.listen(True), "port: True is not a port number"),
    ("listen backlog -1", lambda t: t.h2.listen(81, backlog=-1), "backlog: -1 is less than 1"),
    ("listen backlog str", lambda t: t.h2.listen(81, backlog="5"), "backlog: '5' is not a backlog"),
    ("listen cfg", lambda t: t.h2.listen(81, cfg=5), "cfg: 5 is not a TcpConfig"),
    ("listen address int", lambda t: t.h2.listen(81, address=5),
     "address: 5 is not an IPv4 or IPv6 address"),
    ("udp port str", lambda t: t.h1.udp("53"), "port: '53' is not a port number"),
    # DatagramSocket.sendto
    ("sendto 1-tuple", lambda t: t.u.sendto(b"x", (IP,)),
     "addr: ('10.0.0.2',) is not an (address, port) pair"),
    ("sendto str addr", lambda t: t.u.sendto(b"x", IP),
     "addr: '10.0.0.2' is not an (address, port)"),
    ("sendto str", lambda t: t.u.sendto("abc", (IP, 9)), "payload: 'abc' is text, not bytes"),
    ("sendto None", lambda t: t.u.sendto(None, (IP, 9)), "payload: NoneType is not a bytes-like"),
    ("sendto list", lambda t: t.u.sendto([1, 2], (IP, 9)), "payload: list is not a bytes-like"),
    ("sendto port 70000", lambda t: t.u.sendto(b"x", (IP, 70000)),
     "port: 70000 is not in 1..65535"),
    ("sendto port str", lambda t: t.u.sendto(b"x", (IP, "9")), "port: '9' is not a port number"),
    ("sendto ttl 300", lambda t: t.u.sendto(b"x", (IP, 9), ttl=300), "ttl: 300 is not in 1..255"),
    ("sendto ttl 0", lambda t: t.u.sendto(b"x", (IP, 9), ttl=0), "ttl: 0 is not in 1..255"),
    ("sendto ttl str", lambda t: t.u.sendto(b"x", (IP, 9), ttl="5"), "ttl: '5' is not a TTL"),
    ("sendto too big", lambda t: t.u.sendto(bytes(65508), (IP, 9)),
     "payload: 65508 bytes is more than a UDP datagram holds; send at most 65507"),
    # topology builders and World
    ("two_hosts tcp", lambda t: two_hosts(World(1), LinkConfig(), tcp=5),
     "tcp: 5 is not a TcpConfig"),
    ("two_hosts world", lambda t: two_hosts(5), "world: 5 is not a World"),
    ("two_hosts trace", lambda t: two_hosts(World(1), trace=5), "trace: 5 is not a tracer"),
    ("two_hosts prefix", lambda t: two_hosts(World(1), prefix="10.0.0.0"),
     "prefix: '10.0.0.0' is not the first three octets"),
    ("two_hosts config", lambda t: two_hosts(World(1), 5), "config: 5 is not a LinkConfig"),
    ("two_hosts config falsy", lambda t: two_hosts(World(1), 0), "config: 0 is not a LinkConfig"),
    ("two_hosts reverse", lambda t: two_hosts(World(1), None, "x"),
     "reverse: 'x' is not a LinkConfig"),
    ("chain bottleneck", lambda t: chain(World(1), 2, bottleneck=5),
     "bottleneck: 5 is not a LinkConfig"),
    ("dumbbell access", lambda t: dumbbell(World(1), 2, 5), "access: 5 is not a LinkConfig"),
    ("fan_in reverse", lambda t: fan_in(World(1), [0.01], None, 5),
     "reverse: 5 is not a LinkConfig"),
    ("chain routers -1", lambda t: chain(World(1), -1), "routers: -1 is not in 0..255"),
    ("chain routers str", lambda t: chain(World(1), "2"),
     "routers: '2' is not a number of routers"),
    ("dumbbell pairs 0", lambda t: dumbbell(World(1), 0), "pairs: 0 is not in 1..255"),
    ("dumbbell pairs str", lambda t: dumbbell(World(1), "2"),
     "pairs: '2' is not a number of pairs"),
    ("fan_in float", lambda t: fan_in(World(1), 0.01), "access_delays: 0.01 is not a list"),
    ("fan_in empty", lambda t: fan_in(World(1), []), "access_delays: 0 senders is not in 1..250"),
    ("fan_in 251", lambda t: fan_in(World(1), [0.01] * 251), "access_delays: 251 senders"),
    ("World seed str", lambda t: World("1"), "seed: '1' is not an integer seed"),
    ("World seed float", lambda t: World(1.5), "seed: 1.5 is not an integer seed"),
    ("World seed None", lambda t: World(None), "seed: None is not an integer seed"),
    ("World.run str", lambda t: World(1).run("5"), "until: '5' is not a time in seconds"),
    # TcpConfig
    ("TcpConfig cc", lambda t: TcpConfig(cc="nope"), "cc: 'nope' is not a congestion control"),
    ("TcpConfig rcvbuf str", lambda t: TcpConfig(rcvbuf="1M"), "rcvbuf: '1M' is not a count"),
    ("TcpConfig mss str", lambda t: TcpConfig(mss="1000"), "mss: '1000' is not a segment size"),
    ("TcpConfig min_rto str", lambda t: TcpConfig(min_rto="1"), "min_rto: '1' is not a time"),
    ("TcpConfig delayed_ack str", lambda t: TcpConfig(delayed_ack="0.1"),
     "delayed_ack: '0.1' is not a time"),
    ("TcpConfig nodelay 1", lambda t: TcpConfig(nodelay=1), "nodelay: 1 is not True or False"),
    ("TcpConfig sack str", lambda t: TcpConfig(sack="no"), "sack: 'no' is not True or False"),
    ("TcpConfig max_retries", lambda t: TcpConfig(max_retries=-1),
     "max_retries: -1 is not a count"),
    ("TcpConfig backlog", lambda t: TcpConfig(backlog=-1), "backlog: -1 is not a count"),
    ("TcpConfig dupack_threshold", lambda t: TcpConfig(dupack_threshold=0),
     "dupack_threshold: 0 is not a count"),
    ("TcpConfig msl", lambda t: TcpConfig(msl=-1), "msl: -1 is not a time in seconds"),
    ("TcpConfig initial_rto", lambda t: TcpConfig(initial_rto=-1), "initial_rto: -1 is not a time"),
    # apps
    ("ping int", lambda t: ping(t.h1, 5), "destination: 5 is not an IPv4 address"),
    ("ping6 int", lambda t: ping6(t.h1, 5), "destination: 5 is not an IPv6 address"),
    ("traceroute int", lambda t: traceroute(t.h1, 5), "destination: 5 is not an IPv4 address"),
    ("echo_server port str", lambda t: echo_server(t.h2, "7"), "port: '7' is not a port number"),
    ("echo_server max_connections", lambda t: echo_server(t.h2, 7, max_connections="2"),
     "max_connections: '2' is not a number of connections"),
    ("echo_server max_connections -1", lambda t: echo_server(t.h2, 7, max_connections=-1),
     "max_connections: -1 is less than 1"),
    ("echo_client str", lambda t: echo_client(t.h1, IP, 7, "hello"),
     "message: 'hello' is text, not bytes"),
    ("echo_client ip", lambda t: echo_client(t.h1, "nonsense", 7), "ip: 'nonsense' is not an IPv4"),
    # scenarios the lessons run
    ("run_bulk link", lambda t: run_bulk(BulkScenario(bytes=1000, link=5)),
     "link: 5 is not a LinkConfig"),
    ("run_bulk reverse", lambda t: run_bulk(BulkScenario(bytes=1000, reverse=5)),
     "reverse: 5 is not a LinkConfig"),
    ("run_bulk tcp", lambda t: run_bulk(BulkScenario(bytes=1000, tcp=5)),
     "tcp: 5 is not a TcpConfig"),
    ("run_bulk cc", lambda t: run_bulk(BulkScenario(bytes=1000, cc=5)),
     "cc: 5 is not a congestion control's name"),
    ("run_bulk pcap", lambda t: run_bulk(BulkScenario(bytes=1000, pcap=5)),
     "pcap: 5 is not a file path"),
    ("ping_under_load link", lambda t: ping_under_load(5), "link: 5 is not a LinkConfig"),
    ("ping_under_load duration", lambda t: ping_under_load(RATED, duration="5"),
     "duration: '5' is not a time in seconds"),
    ("ping_under_load warmup", lambda t: ping_under_load(RATED, duration=1.0, warmup=2.0),
     "warmup: 2.0 s is not less than duration"),
    ("syn_flood syns", lambda t: syn_flood(1, syns=-1), "syns: -1 is less than 0"),
    # traces
    ("Recorder.to_jsonl path", lambda t: Recorder().to_jsonl(5), "path: 5 is not a file path"),
    ("Recorder.to_csv path", lambda t: Recorder().to_csv(5), "path: 5 is not a file path"),
    ("read_jsonl path", lambda t: read_jsonl(5), "path: 5 is not a file path"),
    ("records_from_pcap path", lambda t: records_from_pcap(5), "path: 5 is not a file path"),
    # routing, RIP/OSPF networks, capture
    ("set_default_route str", lambda t: t.h1.stack.set_default_route("x"),
     "via: 'x' is not an IPv4 address"),
    ("set_default_route int", lambda t: t.h1.stack.set_default_route(5),
     "via: 5 is not an IPv4 address"),
    ("add_route via", lambda t: t.h1.stack.add_route("10.9.0.0/16", via="x"),
     "via: 'x' is not an IPv4 address"),
    ("add_route network int", lambda t: t.h1.stack.add_route(5, via=IP),
     "network: 5 is not an IPv4 network"),
    ("routers_from_edges int", lambda t: routers_from_edges(World(1), 5),
     "edges: 5 is not a list of (router, router) pairs"),
    ("routers_from_edges str edge", lambda t: routers_from_edges(World(1), ["ab"]),
     "edges: 'ab' is not a pair of two router names"),
    ("routers_from_edges config", lambda t: routers_from_edges(World(1), [("a", "b")], 5),
     "config: 5 is not a LinkConfig"),
    ("add_host config", lambda t: add_host(_rip_net(), "a", "h", 5),
     "config: 5 is not a LinkConfig"),
    ("add_host router", lambda t: add_host(_rip_net(), "zz", "h"),
     "router: no 'zz' in this network"),
    ("enable_rip config", lambda t: enable_rip(_rip_net(), 5), "config: 5 is not a RipConfig"),
    ("enable_rip routers str", lambda t: enable_rip(_rip_net(), routers="a"),
     "routers: 'a' is one string; give a list"),
    ("enable_ospf config", lambda t: enable_ospf(_rip_net(), 5), "config: 5 is not an OspfConfig"),
    ("enable_ospf routers str", lambda t: enable_ospf(_rip_net(), routers="a"),
     "routers: 'a' is one string; give a list"),
    ("capture path int", lambda t: capture(t.net.links[0].a, 5).__enter__(),
     "path: 5 is not a file path"),
    ("capture endpoint", lambda t: capture(5, "x.pcap").__enter__(),
     "endpoint: 5 is not a link's endpoint"),
]


@pytest.mark.parametrize(("call", "start"), [pytest.param(c, s, id=i) for i, c, s in ROWS])
def test_a_bad_argument_is_one_line_naming_it(call: Call, start: str) -> None:
    t = connected()
    with pytest.raises(UsageError) as info:
        call(t)
    message = str(info.value)
    assert message.startswith(start), message
    assert "\n" not in message
    assert isinstance(info.value, ValueError)  # (UsageError is one: except ValueError works)


def _transfer(payloads: list[Any], use_sendall: bool) -> tuple[list[int], bytes]:
    """Each payload sent over a fresh connection (send or sendall); the counts returned by
    send (or sendall's process) and the bytes the server read."""
    t = connected()
    env = t.world.env
    counts: list[int] = []
    got = bytearray()

    def write() -> Generator[Any, Any, None]:
        for p in payloads:
            if use_sendall:
                counts.append((yield t.c.sendall(p)))
            else:
                counts.append(t.c.send(p))
        yield t.c.close()

    def read() -> Generator[Any, Any, None]:
        while data := (yield t.s.recv(65536)):
            got.extend(data)

    env.process(write())
    env.process(read())
    t.world.run(t.world.now + 10)
    return counts, bytes(got)


WIDE = array("i", [0x01020304, -1, 7])  # 12 bytes in 3 items


@pytest.mark.parametrize("use_sendall", [False, True], ids=["send", "sendall"])
def test_any_bytes_like_object_is_sent_intact_and_counted_in_bytes(use_sendall: bool) -> None:
    payloads = [bytearray(b"ab"), memoryview(b"cde"), array("H", [1, 0xFFFF]),
                memoryview(WIDE), memoryview(b"0123456789")[2:5]]
    expected = [b"ab", b"cde", array("H", [1, 0xFFFF]).tobytes(), WIDE.tobytes(), b"234"]
    counts, got = _transfer(payloads, use_sendall)
    assert counts == [len(e) for e in expected]  # memoryview(WIDE): 12 bytes, not 3 items
    assert got == b"".join(expected)


def test_a_bytearray_changed_after_send_does_not_change_what_is_sent() -> None:
    buf = bytearray(b"before")
    t = connected()
    got = bytearray()

    def read() -> Generator[Any, Any, None]:
        while data := (yield t.s.recv(65536)):
            got.extend(data)

    def write() -> Generator[Any, Any, None]:
        sending = t.c.sendall(buf)
        buf[:] = b"AFTER!"  # before the process that sends it first runs
        yield sending
        yield t.c.close()

    t.world.env.process(write())
    t.world.env.process(read())
    t.world.run(t.world.now + 10)
    assert bytes(got) == b"before"


def test_sendto_takes_any_bytes_like_object() -> None:
    t = connected()
    sink = t.h2.udp(9)
    t.u.sendto(array("H", [1, 2, 3]), (IP, 9))
    t.u.sendto(memoryview(WIDE), (IP, 9))
    got: list[bytes] = []

    def read() -> Generator[Any, Any, None]:
        for _ in range(2):
            data, _addr = yield sink.recvfrom()
            got.append(data)

    t.world.env.process(read())
    t.world.run(t.world.now + 1)
    assert got == [array("H", [1, 2, 3]).tobytes(), WIDE.tobytes()]


def test_the_right_types_still_pass() -> None:
    """What the checks must not refuse: ipaddress objects, the largest datagram IPv4 carries,
    a TcpConfig whose cc_factory stands in for the name."""
    t = connected()
    assert t.h1.connect(IPv4Address(IP), 80, local_port=0) is not None
    assert t.u.sendto(bytes(65507), (IPv4Address(IP), 9)) is True
    assert TcpConfig(cc="mine", cc_factory=NewReno).new_cc().__class__ is NewReno
    assert t.h2.listen(81, backlog=1).port == 81
