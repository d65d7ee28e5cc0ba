"""The rest of the Python API refuses a bad argument up front, with one line naming it (as
tests/test_bad_api_inputs.py checks for sockets, nodes and topologies): live mode (`LiveHost`,
`TapPort`, `ImpairedPort`, assignment 10's live echo), sweeps, pcap files, and the lookups of
a built network. Before, these were TypeErrors and AttributeErrors from deep inside, a bare
KeyError, a message naming another argument, or silently wrong (``PcapWriter(5)`` wrote the
capture into file descriptor 5, ``read_table(5)`` read it, and ``LiveConfig(gateway=5)`` meant
0.0.0.5).

Nothing here may touch the system: the TAP, a namespace, a subprocess. `no_system` replaces
each such step with one that raises `Reached`, so a check that came too late fails its row
(with `Reached`, not a `UsageError`) instead of opening a device."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

import netsim.live.host
import netsim.live.peer_echo
import netsim.live.tap
import netsim.live.tapdev
from netsim.errors import UsageError
from netsim.live.host import JsonLinesTracer, LiveConfig, LiveHost
from netsim.live.impair import ImpairedPort
from netsim.live.peer_echo import run_live, serve
from netsim.live.tap import TapPort
from netsim.sim.link import Link, LinkConfig
from netsim.sim.switched import lan
from netsim.sim.topology import chain, two_hosts
from netsim.sim.topology6 import enable_ipv6_pair
from netsim.sim.world import World
from netsim.sweep import load_spec, parse_spec, read_table, run_sweep
from netsim.sweep.plot import plot_sweep
from netsim.wire.pcap import PcapReader, PcapWriter, read_pcap, write_pcap

NO_FD = 98765  # an int taken as a path would be this file descriptor (closed: no harm)
SPEC = {"scenario": {"bytes": "10kB", "delay": "1ms"}}


class Reached(Exception):
    """A step that touches the system was reached."""


def _reached(*_args: Any, **_kwargs: Any) -> Any:
    raise Reached


@pytest.fixture
def no_system(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(netsim.live.host, "TapPort", _reached)
    monkeypatch.setattr(netsim.live.tap, "open_tap", _reached)
    monkeypatch.setattr(netsim.live.tapdev, "open_tap", _reached)
    fake = SimpleNamespace(run=_reached, Popen=_reached, PIPE=-1, DEVNULL=-3,
                           TimeoutExpired=Reached, CalledProcessError=Reached)
    monkeypatch.setattr(netsim.live.peer_echo, "subprocess", fake)


@pytest.fixture
def t(tmp_path: Path, no_system: None) -> Iterator[SimpleNamespace]:
    world = World(1)
    yield SimpleNamespace(world=world, net=chain(world, 1), tmp=tmp_path,
                          csv=str(tmp_path / "out.csv"), spec=parse_spec(SPEC))


def live(**fields: Any) -> Any:
    return LiveHost(LiveConfig(**fields))


Call = Callable[[SimpleNamespace], object]

ROWS: list[tuple[str, Call, str]] = [
    # leftovers: a network's lookups, add_route's network, Link's configs
    ("Network.node", lambda t: t.net.node("zz"),
     "name: 'zz' is not a node of this network; use one of h1, h2, r1"),
    ("Switched.switch", lambda t: lan(t.world).switch("zz"),
     "name: 'zz' is not a switch of this network; use one of"),
    ("add_route network", lambda t: t.net.hosts[0].stack.add_route("x", via="10.0.0.1"),
     "network: 'x' is not an IPv4 network"),
    ("add_route network bad prefix", lambda t: t.net.hosts[0].stack.add_route("10.1.0.0/40",
                                                                              via="10.0.0.1"),
     "network: '10.1.0.0/40' is not an IPv4 network"),
    ("add_route interface", lambda t: t.net.hosts[0].stack.add_route("10.9.0.0/16",
                                                                     interface="eth9"),
     "interface: no interface 'eth9' on h1"),
    ("add_route via elsewhere", lambda t: t.net.hosts[0].stack.add_route("10.9.0.0/16",
                                                                         via="10.77.0.1"),
     "via: gateway 10.77.0.1 is not on a connected network"),
    ("ipv6 add_route network", lambda t: _v6(t).add_route("x", "2001:db8::2", "eth0"),
     "network: 'x' is not an IPv6 network"),
    ("ipv6 add_route via", lambda t: _v6(t).add_route("2001:db8:9::/64", "x", "eth0"),
     "via: 'x' is not an IPv6 address"),
    ("ipv6 add_route iface", lambda t: _v6(t).add_route("2001:db8:9::/64", "::1", "eth9"),
     "iface: IPv6 is not enabled on 'eth9'"),
    ("Link a_to_b", lambda t: Link(t.world, 5), "a_to_b: 5 is not a LinkConfig"),
    ("Link b_to_a", lambda t: Link(t.world, LinkConfig(), "x"), "b_to_a: 'x' is not a LinkConfig"),
    # live mode: refused before the TAP is opened
    ("LiveHost config", lambda t: LiveHost(5), "config: 5 is not a LiveConfig"),
    ("LiveConfig tap int", lambda t: live(tap=5), "--tap: 5 is not an interface name"),
    ("LiveConfig mtu str", lambda t: live(mtu="1500"), "--mtu: '1500' is not an MTU"),
    ("LiveConfig mtu float", lambda t: live(mtu=1500.0), "--mtu: 1500.0 is not an MTU"),
    ("LiveConfig gateway int", lambda t: live(gateway=5), "--gateway: 5 is not an IPv4 address"),
    ("LiveConfig seed str", lambda t: live(seed="1"), "--seed: '1' is not an integer seed"),
    ("LiveConfig pcap int", lambda t: live(pcap=NO_FD), f"--pcap: {NO_FD} is not a file path"),
    ("LiveConfig trace int", lambda t: live(trace=NO_FD), f"--trace: {NO_FD} is not a file path"),
    ("LiveConfig impair", lambda t: live(impair=5), "impair: 5 is not a LinkConfig"),
    ("LiveConfig tcp", lambda t: live(tcp=5), "tcp: 5 is not a TcpConfig"),
    ("TapPort name int", lambda t: TapPort(5), "--tap: 5 is not an interface name"),
    ("JsonLinesTracer path int", lambda t: JsonLinesTracer(NO_FD),
     f"path: {NO_FD} is not a file path"),
    ("ImpairedPort to_kernel", lambda t: ImpairedPort(None, None, 5),
     "to_kernel: 5 is not a LinkConfig"),
    ("ImpairedPort from_kernel", lambda t: ImpairedPort(None, None, LinkConfig(), 5),
     "from_kernel: 5 is not a LinkConfig"),
    ("serve factory", lambda t: serve(5), "factory: 5 is not callable"),
    ("serve port", lambda t: serve(dict, port="7"), "port: '7' is not a port number"),
    ("serve initial_rto", lambda t: serve(dict, initial_rto=-1),
     "initial_rto: -1 is not a time in seconds; use a number > 0"),
    ("serve limit", lambda t: serve(dict, limit="60"), "limit: '60' is not a time in seconds"),
    ("run_live spec", lambda t: run_live(5), "spec: 5 is not a file path"),
    ("run_live nbytes", lambda t: run_live("p.py", nbytes=-1), "nbytes: -1 is less than 0"),
    ("run_live nbytes str", lambda t: run_live("p.py", nbytes="1MB"),
     "nbytes: '1MB' is not a number of bytes"),
    ("run_live timeout", lambda t: run_live("p.py", timeout="60"),
     "timeout: '60' is not a time in seconds"),
    ("run_live plot", lambda t: run_live("p.py", plot=5), "plot: 5 is not a file path"),
    # sweeps
    ("parse_spec path", lambda t: parse_spec("x.toml"),
     "doc: 'x.toml' is not a mapping; load_spec(path) reads a file"),
    ("parse_spec None", lambda t: parse_spec(None), "doc: None is not a mapping"),
    ("parse_spec seeds -1", lambda t: parse_spec({**SPEC, "seeds": -1}),
     "<spec>: seeds: -1 is not a seed; use a whole number >= 0"),
    ("load_spec int", lambda t: load_spec(NO_FD), f"path: {NO_FD} is not a file path"),
    ("run_sweep spec dict", lambda t: run_sweep(SPEC, t.csv),
     "spec: {'scenario'"),
    ("run_sweep spec int", lambda t: run_sweep(5, t.csv), "spec: 5 is not a SweepSpec"),
    ("run_sweep out int", lambda t: run_sweep(t.spec, NO_FD), f"out: {NO_FD} is not a file path"),
    ("run_sweep out None", lambda t: run_sweep(t.spec, None), "out: None is not a file path"),
    ("run_sweep workers str", lambda t: run_sweep(t.spec, t.csv, workers="2"),
     "--workers: '2' is not a number of workers"),
    ("run_sweep workers float", lambda t: run_sweep(t.spec, t.csv, workers=1.5),
     "--workers: 1.5 is not a number of workers"),
    ("run_sweep dask int", lambda t: run_sweep(t.spec, t.csv, dask=5),
     "dask: 5 is not a scheduler address"),
    ("run_sweep parquet int", lambda t: run_sweep(t.spec, t.csv, parquet=NO_FD),
     f"parquet: {NO_FD} is not a file path"),
    ("run_sweep on_result", lambda t: run_sweep(t.spec, t.csv, workers=1, on_result=5),
     "on_result: 5 is not callable"),
    ("run_sweep stream", lambda t: run_sweep(t.spec, t.csv, workers=1, stream=5),
     "stream: 5 is not a text stream"),
    ("read_table int", lambda t: read_table(NO_FD), f"path: {NO_FD} is not a file path"),
    ("plot_sweep table int", lambda t: plot_sweep(5, "loss", "goodput_bps"),
     "table: 5 is not a table"),
    # pcap files (the frames written are not checked: write is per frame)
    ("PcapWriter fd", lambda t: PcapWriter(NO_FD), f"file_or_path: {NO_FD} is not a file path"),
    ("PcapWriter None", lambda t: PcapWriter(None), "file_or_path: None is not a file path"),
    ("PcapWriter snaplen str", lambda t: PcapWriter(io.BytesIO(), snaplen="65535"),
     "snaplen: '65535' is not a snapshot length"),
    ("PcapWriter linktype str", lambda t: PcapWriter(io.BytesIO(), linktype="ethernet"),
     "linktype: 'ethernet' is not a link type"),
    ("PcapWriter linktype -1", lambda t: PcapWriter(io.BytesIO(), linktype=-1),
     "linktype: -1 is not in 0..4294967295"),
    ("PcapReader fd", lambda t: PcapReader(NO_FD), f"file_or_path: {NO_FD} is not a file path"),
    ("read_pcap fd", lambda t: read_pcap(NO_FD), f"file_or_path: {NO_FD} is not a file path"),
    ("write_pcap fd", lambda t: write_pcap(NO_FD, []), f"file_or_path: {NO_FD} is not a file"),
]


def _v6(t: SimpleNamespace) -> Any:
    net = two_hosts(t.world)
    enable_ipv6_pair(net)
    return net.hosts[0].stack.ipv6


@pytest.mark.parametrize(("call", "start"), [pytest.param(c, s, id=i) for i, c, s in ROWS])
def test_a_bad_argument_is_one_line_naming_it(t: SimpleNamespace, call: Call,
                                              start: str) -> None:
    with pytest.raises(UsageError) as info:
        call(t)
    message = str(info.value)
    assert message.startswith(start), message
    assert "\n" not in message
    assert not list(t.tmp.iterdir())  # refused before any file was written


def test_an_unknown_node_is_still_a_key_error() -> None:
    """``except KeyError`` around ``net.node(name)`` (as in user code before) still works."""
    net = chain(World(1), 12)
    with pytest.raises(KeyError, match=r"r1, r2, r3, r4, r5, r6 \(and 6 more\)$"):
        net.node("zz")


class Index:
    """A numpy-like integer: not an int, but with __index__."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __index__(self) -> int:
        return self.n


def test_the_right_types_still_pass(tmp_path: Path, no_system: None) -> None:
    """What the checks must not refuse: ipaddress objects, paths as Path or bytes, binary
    files, integers with __index__; a good LiveConfig goes on to open the TAP."""
    for config in (LiveConfig(gateway=IPv4Address("10.0.0.1"), mtu=Index(1400), pcap="", seed=2),
                   LiveConfig(pcap=tmp_path / "x.pcap", trace=str(tmp_path / "t.jsonl"),
                              impair=LinkConfig(delay=0.01), gateway="10.0.0.1")):
        with pytest.raises(Reached):
            LiveHost(config)
    net = chain(World(1), 1)
    h1 = net.node("h1")
    h1.stack.add_route(IPv4Network("10.9.0.0/16"), via=IPv4Address("10.0.0.1"))
    h1.stack.add_route("10.8.0.1/16", via="10.0.0.1")  # host bits masked off, as before
    assert {str(r.network) for r in h1.stack.routes} >= {"10.9.0.0/16", "10.8.0.0/16"}
    assert write_pcap(str(tmp_path / "a.pcap").encode(), [(0.0, bytes(60))]) == 1
    assert len(read_pcap(tmp_path / "a.pcap")) == 1
    buf = io.BytesIO()
    with PcapWriter(buf, snaplen=Index(1500), linktype=Index(1)) as writer:
        writer.write(0.0, bytes(60))
    assert [r.frame for r in PcapReader(io.BytesIO(buf.getvalue()))] == [bytes(60)]
    report = run_sweep(parse_spec(SPEC), tmp_path / "s.csv", workers=Index(1),
                       stream=io.StringIO(), on_result=lambda row: None)
    assert report.ran == 1
    assert [r["bytes"] for r in read_table(tmp_path / "s.csv")] == [10000]
