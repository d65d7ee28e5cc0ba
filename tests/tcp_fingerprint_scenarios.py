"""Seeded TCP scenarios whose captures and traces must not change under a refactoring.

Each scenario runs two simulated hosts with fixed seeds and reduces the run to sha256
fingerprints: of the pcap captured at h1's side of the link, of every trace record (segments,
states, timers, RTT samples, cwnd, events, drops) and of both stacks' counters. Together they
exercise the paths of netsim/stack/tcp: clean and lossy transfers (random, bursty), reordering,
duplication, corruption, a zero window with a slow reader (persist timer), SACK and timestamps
and window scaling on and off, NewReno and CUBIC, RST and abort, close with unread data,
simultaneous open and close, RSTs in LAST-ACK and CLOSING, a full accept queue, TIME-WAIT to
its end, SYN and SYN-ACK retransmissions, SYN cookies, delayed ACKs and Nagle, path MTU
discovery, and forged segments (RFC 5961 challenge ACKs, RSTs in SYN-SENT and SYN-RECEIVED,
ACKs out of range).

    python tests/tcp_fingerprint_scenarios.py            # compare with the recorded values
    python tests/tcp_fingerprint_scenarios.py --write    # record them (only from code whose
                                                         # behaviour is known to be right)

tests/test_tcp_fingerprints.py runs the comparison. A refactoring that is meant to change no
behaviour must leave every fingerprint as it is; a change that is meant to alter behaviour
re-records them, and says why in its commit.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import sys
import tempfile
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

if __name__ == "__main__":  # run as a script from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from netsim.node import Node
from netsim.sim.link import LinkConfig
from netsim.sim.loss import Bernoulli, GilbertElliott
from netsim.sim.synflood import syn_flood
from netsim.sim.topology import Network, capture, chain, two_hosts
from netsim.sim.world import World
from netsim.stack.events import TraceRecord
from netsim.stack.tcp.config import TcpConfig
from netsim.stack.tcp.errors import TcpError
from netsim.trace.recorder import Recorder
from netsim.wire.ethernet import ETHERTYPE_IPV4, build_ethernet
from netsim.wire.ipv4 import PROTO_TCP, build_ipv4
from netsim.wire.tcp import ACK, FIN, PSH, RST, SYN, MSSOption, build_tcp, encode_options

DATA_FILE = Path(__file__).resolve().parent / "data" / "tcp_split_fingerprints.json"
PORT = 9000

App = Callable[[World, Node, Node], list[Generator[Any, Any, None]]]


def _payload(n: int, seed: int = 0) -> bytes:
    return bytes((i * 7 + seed) % 251 for i in range(n))


# ------------------------------------------------------------------------------- applications
def bulk(nbytes: int, read: int = 65536, read_gap: float = 0.0, client_cfg: TcpConfig | None
         = None) -> App:
    """h1 sends `nbytes` to h2 and closes; h2 reads `read` bytes at a time (every `read_gap`
    seconds when given: a slow reader) until the end, then closes."""
    def apps(world: World, h1: Node, h2: Node) -> list[Generator[Any, Any, None]]:
        env = world.env

        def server() -> Generator[Any, Any, None]:
            lst = h2.listen(PORT)
            s = yield lst.accept()
            try:
                while True:
                    if read_gap:
                        yield env.timeout(read_gap)
                    chunk = yield s.recv(read)
                    if not chunk:
                        break
                yield s.close()
            except TcpError:
                pass  # the peer gave up (scenario "give_up")

        def client() -> Generator[Any, Any, None]:
            try:
                s = yield h1.connect(h2.ip, PORT, client_cfg)
                yield s.sendall(_payload(nbytes))
                yield s.close()
            except TcpError:
                pass
        return [server(), client()]
    return apps


def small_writes(count: int, size: int, gap: float) -> App:
    """Interactive traffic: `count` writes of `size` bytes every `gap` s, echoed back."""
    def apps(world: World, h1: Node, h2: Node) -> list[Generator[Any, Any, None]]:
        env = world.env

        def server() -> Generator[Any, Any, None]:
            lst = h2.listen(PORT)
            s = yield lst.accept()
            while True:
                chunk = yield s.recv(4096)
                if not chunk:
                    break
                s.send(chunk)
            yield s.close()

        def client() -> Generator[Any, Any, None]:
            s = yield h1.connect(h2.ip, PORT)
            for i in range(count):
                s.send(_payload(size, i))
                yield env.timeout(gap)
            echo = yield s.recv_exactly(count * size)
            assert len(echo) == count * size
            yield s.close()
        return [server(), client()]
    return apps


def abort_and_refuse() -> App:
    """A connection to a closed port (refused), one the client resets mid-transfer, and
    one the server closes with unread data (RFC 1122 §4.2.2.13: a RST)."""
    def apps(world: World, h1: Node, h2: Node) -> list[Generator[Any, Any, None]]:
        env = world.env

        def server() -> Generator[Any, Any, None]:
            lst = h2.listen(PORT)
            a = yield lst.accept()
            b = yield lst.accept()
            yield env.timeout(0.3)
            b.close()  # b has unread data: RST
            while True:
                try:
                    chunk = yield a.recv(65536)
                except TcpError:  # the client's reset
                    break
                if not chunk:
                    break

        def client() -> Generator[Any, Any, None]:
            with contextlib.suppress(TcpError):  # refused
                yield h1.connect(h2.ip, PORT + 1)
            a = yield h1.connect(h2.ip, PORT)
            b = yield h1.connect(h2.ip, PORT)
            b.send(_payload(3000))
            a.send(_payload(200_000))
            yield env.timeout(0.05)
            a.abort()
            yield env.timeout(1.0)
        return [server(), client()]
    return apps


def simultaneous() -> App:
    """Simultaneous open (RFC 9293 Figure 8) and simultaneous close (Figure 13)."""
    def apps(world: World, h1: Node, h2: Node) -> list[Generator[Any, Any, None]]:
        env = world.env

        def side(me: Node, peer: Node, lport: int, rport: int) -> Generator[Any, Any, None]:
            s = yield me.connect(peer.ip, rport, None, lport)
            s.send(_payload(5000, lport))
            got = yield s.recv_exactly(5000)
            assert len(got) == 5000
            yield env.timeout(0.1)
            yield s.close()
        return [side(h1, h2, 6000, 7000), side(h2, h1, 7000, 6000)]
    return apps


def idle_then_more() -> App:
    """A burst, an idle time longer than the RTO (RFC 5681 §4.1 restart), a second burst;
    then the server half-closes and reads no more, so the client's close ends in an orphaned
    FIN-WAIT-2 that times out, and data sent to the server after its close resets it."""
    def apps(world: World, h1: Node, h2: Node) -> list[Generator[Any, Any, None]]:
        env = world.env

        def server() -> Generator[Any, Any, None]:
            lst = h2.listen(PORT)
            s = yield lst.accept()
            got = yield s.recv_exactly(120_000)
            assert len(got) == 120_000
            yield env.timeout(0.5)
            b = yield lst.accept()
            chunk = yield b.recv(1000)
            assert chunk
            b.close()  # nothing unread: a FIN; the client's later data gets a RST

        def client() -> Generator[Any, Any, None]:
            s = yield h1.connect(h2.ip, PORT)
            s.send(_payload(60_000))
            yield env.timeout(4.0)
            s.send(_payload(60_000, 1))
            yield env.timeout(1.0)
            s.close()  # the server never closes: FIN-WAIT-2 until fin_wait2_timeout
            b = yield h1.connect(h2.ip, PORT)
            b.send(_payload(1000))
            yield env.timeout(0.3)
            with contextlib.suppress(TcpError):  # reset by then
                b.send(_payload(2000))
        return [server(), client()]
    return apps


def injected() -> App:
    """Segments no honest peer sends, put on the link in h1's name during a slow transfer:
    a RST inside the window but not at RCV.NXT and a SYN (RFC 5961 challenge ACKs, one
    throttled), an ACK of unsent data, an ACK too old, a segment far outside the window, one
    without ACK; then a FIN and a RST to h1 in TIME-WAIT (RFC 1337)."""
    def apps(world: World, h1: Node, h2: Node) -> list[Generator[Any, Any, None]]:
        env = world.env
        link = world_links[id(world)][0]
        mac1 = h1.stack.interfaces["eth0"].mac
        mac2 = h2.stack.interfaces["eth0"].mac
        server_conn: list[Any] = []

        def inject(to_h2: bool, conn: Any, seq: int, ack: int, flags: int,
                   payload: bytes = b"") -> None:
            src, dst = (h1.ip, h2.ip) if to_h2 else (h2.ip, h1.ip)
            seg = build_tcp(src, dst, conn.remote_port, conn.local_port, seq & 0xFFFFFFFF,
                            ack & 0xFFFFFFFF, flags, 1000, payload, b"")
            pkt = build_ipv4(src, dst, PROTO_TCP, seg, identification=4242)
            if to_h2:
                link.a.send(build_ethernet(mac2, mac1, ETHERTYPE_IPV4, pkt))
            else:
                link.b.send(build_ethernet(mac1, mac2, ETHERTYPE_IPV4, pkt))

        def server() -> Generator[Any, Any, None]:
            lst = h2.listen(PORT)
            s = yield lst.accept()
            server_conn.append(s.conn)
            while (yield s.recv(65536)):
                pass
            yield s.close()

        def attacker() -> Generator[Any, Any, None]:
            yield env.timeout(0.3)
            c = server_conn[0]
            inject(True, c, c.rcv_nxt + 10, 0, RST)
            yield env.timeout(0.01)
            inject(True, c, c.rcv_nxt + 5, 0, SYN)  # throttled (RFC 5961 §7)
            yield env.timeout(0.6)
            inject(True, c, c.rcv_nxt + 5, 0, SYN)
            yield env.timeout(0.6)
            inject(True, c, c.rcv_nxt, c.snd_max + 100_000, ACK)
            yield env.timeout(0.6)
            inject(True, c, c.rcv_nxt, c.snd_una - c.max_snd_wnd - 5000, ACK)
            yield env.timeout(0.6)
            inject(True, c, c.rcv_nxt + 50_000_000, c.snd_max, ACK, b"x" * 10)
            yield env.timeout(0.6)
            inject(True, c, c.rcv_nxt, 0, PSH, b"y" * 10)

        def client() -> Generator[Any, Any, None]:
            s = yield h1.connect(h2.ip, PORT)
            for i in range(80):
                s.send(_payload(1000, i))
                yield env.timeout(0.05)
            yield s.close()
            c = s.conn  # TIME-WAIT now
            yield env.timeout(0.2)
            inject(False, c, c.rcv_nxt - 1, c.snd_max, FIN | ACK)  # a retransmitted FIN
            yield env.timeout(0.2)
            inject(False, c, c.rcv_nxt, 0, RST)
        return [server(), client(), attacker()]
    return apps


def handshake_forgeries() -> App:
    """Handshake segments from a host that does not exist (10.0.0.9, whose address never
    resolves): to h2's listener a SYN, the same SYN again (the SYN-ACK is resent), an ACK of
    the wrong number (RFC 9293: a RST), a RST (the half-open entry goes), a second SYN then
    another SYN inside its window (a challenge ACK); to h1, waiting in SYN-SENT for 10.0.0.9,
    a SYN-ACK of the wrong number, an ACK without SYN, then RST-ACK (refused)."""
    def apps(world: World, h1: Node, h2: Node) -> list[Generator[Any, Any, None]]:
        env = world.env
        link = world_links[id(world)][0]
        mac1 = h1.stack.interfaces["eth0"].mac
        mac2 = h2.stack.interfaces["eth0"].mac
        ghost = IPv4Address("10.0.0.9")

        def forge(to_h2: bool, sport: int, dport: int, seq: int, ack: int,
                  flags: int) -> None:
            dst = h2.ip if to_h2 else h1.ip
            seg = build_tcp(ghost, dst, sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF,
                            flags, 4000, b"", encode_options([MSSOption(1000)]))
            pkt = build_ipv4(ghost, dst, PROTO_TCP, seg, identification=77)
            if to_h2:
                link.a.send(build_ethernet(mac2, mac1, ETHERTYPE_IPV4, pkt))
            else:
                link.b.send(build_ethernet(mac1, mac2, ETHERTYPE_IPV4, pkt))

        def half_open(port: int) -> Any:
            return h2.stack.tcp.conns[(h2.ip, PORT, ghost, port)]

        def to_server() -> Generator[Any, Any, None]:
            h2.listen(PORT)
            yield env.timeout(0.1)
            forge(True, 1111, PORT, 1000, 0, SYN)
            yield env.timeout(0.1)
            forge(True, 1111, PORT, 1000, 0, SYN)  # again: the SYN-ACK is sent again
            yield env.timeout(0.1)
            forge(True, 1111, PORT, 1001, half_open(1111).iss + 99, ACK)  # wrong: a RST
            yield env.timeout(0.1)
            forge(True, 1111, PORT, 1001, 0, RST)  # the half-open entry goes
            yield env.timeout(0.1)
            forge(True, 2222, PORT, 5000, 0, SYN)
            yield env.timeout(0.1)
            forge(True, 2222, PORT, 5003, 0, SYN)  # in the window, not the SYN: challenge

        def to_client() -> Generator[Any, Any, None]:
            connecting = h1.connect(ghost, 80)
            yield env.timeout(0.2)
            conn = next(c for c in h1.stack.tcp.conns.values() if c.remote_ip == ghost)
            forge(False, 80, conn.local_port, 7000, conn.iss + 500, SYN | ACK)  # bad ACK
            yield env.timeout(0.1)
            forge(False, 80, conn.local_port, 7000, conn.iss + 1, ACK)  # no SYN: ignored
            yield env.timeout(0.1)
            forge(False, 80, conn.local_port, 0, conn.iss + 1, RST | ACK)  # refused
            with contextlib.suppress(TcpError):
                yield connecting
        return [to_server(), to_client()]
    return apps


def closing_resets_and_backlog() -> App:
    """A listener with backlog 1 and five clients before the first accept (the full accept
    queue: SYNs dropped, the clients' SYN retransmissions get in later); then RSTs with the
    exact sequence number arriving in LAST-ACK and in CLOSING (RFC 9293 §3.10.7.4: the
    connection goes to CLOSED)."""
    def apps(world: World, h1: Node, h2: Node) -> list[Generator[Any, Any, None]]:
        env = world.env
        link = world_links[id(world)][0]
        mac1 = h1.stack.interfaces["eth0"].mac
        mac2 = h2.stack.interfaces["eth0"].mac

        def rst_to_h2(sport: int, dport: int, seq: int) -> None:
            seg = build_tcp(h1.ip, h2.ip, sport, dport, seq & 0xFFFFFFFF, 0, RST, 0, b"", b"")
            pkt = build_ipv4(h1.ip, h2.ip, PROTO_TCP, seg, identification=5151)
            link.a.send(build_ethernet(mac2, mac1, ETHERTYPE_IPV4, pkt))

        def backlog() -> Generator[Any, Any, None]:
            lst = h2.listen(PORT + 2, backlog=1)
            yield env.timeout(1.5)  # five connects meanwhile; one fits in the queue
            for _ in range(5):
                s = yield lst.accept()
                got = yield s.recv_exactly(500)
                assert len(got) == 500
                yield s.close()

        def backlog_client(i: int) -> Generator[Any, Any, None]:
            yield env.timeout(0.01 * i)
            s = yield h1.connect(h2.ip, PORT + 2)
            s.send(_payload(500, i))
            yield s.close()

        def last_ack_server() -> Generator[Any, Any, None]:
            lst = h2.listen(PORT)
            s = yield lst.accept()
            while (yield s.recv(65536)):
                pass
            s.close()  # CLOSE-WAIT -> LAST-ACK; the RST gets there before the client's ACK
            rst_to_h2(s.conn.remote_port, s.conn.local_port, s.conn.rcv_nxt)

        def last_ack_client() -> Generator[Any, Any, None]:
            s = yield h1.connect(h2.ip, PORT)
            s.send(_payload(20_000))
            yield s.close()

        def closing_side(me: Node, peer: Node, lport: int, rport: int
                         ) -> Generator[Any, Any, None]:
            yield env.timeout(3.0)
            s = yield me.connect(peer.ip, rport, None, lport)
            s.send(_payload(3000, lport))
            got = yield s.recv_exactly(3000)
            assert len(got) == 3000
            yield env.timeout(4.0 - env.now)  # both close at the same instant: CLOSING
            s.close()
            if me is h1:
                yield env.timeout(0.001)  # h2 is in CLOSING when this RST arrives
                rst_to_h2(lport, rport, s.conn.snd_max)
        return [backlog(), *(backlog_client(i) for i in range(5)), last_ack_server(),
                last_ack_client(), closing_side(h1, h2, 6100, 7100),
                closing_side(h2, h1, 7100, 6100)]
    return apps


world_links: dict[int, list[Any]] = {}  # World id -> its links, for scenarios that inject


# ------------------------------------------------------------------------------- scenarios
@dataclass
class Scenario:
    name: str
    apps: App
    link: LinkConfig = field(default_factory=lambda: LinkConfig(delay=0.005, rate_bps=20e6))
    reverse: LinkConfig | None = None
    tcp: TcpConfig = field(default_factory=TcpConfig)
    seed: int = 1
    until: float = 30.0
    routers: int = 0  # 0: two hosts on one link; else a chain, its middle link's MTU 1000


def _fast(**kw: Any) -> TcpConfig:
    """Short timers so that TIME-WAIT and retries end within the run."""
    base: dict[str, Any] = {"msl": 1.0}
    base.update(kw)
    return TcpConfig(**base)


def _link(**kw: Any) -> LinkConfig:
    base: dict[str, Any] = {"delay": 0.005, "rate_bps": 20e6}
    base.update(kw)
    return LinkConfig(**base)


SCENARIOS: list[Scenario] = [
    Scenario("clean", bulk(1_000_000), tcp=_fast()),
    Scenario("loss2_newreno_sack", bulk(1_500_000), _link(loss=Bernoulli(0.02)), seed=2),
    Scenario("loss5_newreno_nosack", bulk(1_000_000), _link(loss=Bernoulli(0.05)),
             tcp=TcpConfig(sack=False), seed=3),
    Scenario("loss3_cubic", bulk(1_500_000), _link(loss=Bernoulli(0.03)),
             tcp=TcpConfig(cc="cubic"), seed=4),
    Scenario("bursty", bulk(1_000_000), _link(loss=GilbertElliott(0.01, 0.3)), seed=5),
    Scenario("reorder", bulk(1_000_000), _link(reorder=0.05, loss=Bernoulli(0.01)), seed=6),
    Scenario("duplicate", bulk(600_000), _link(duplicate=0.05), seed=7),
    Scenario("corrupt", bulk(600_000), _link(corrupt=0.03), seed=8),
    Scenario("no_ts_no_ws_loss", bulk(1_000_000), _link(loss=Bernoulli(0.02)),
             tcp=TcpConfig(timestamps=False, window_scaling=False), seed=9),
    Scenario("no_sack_no_ts_reorder", bulk(600_000), _link(reorder=0.03),
             tcp=TcpConfig(timestamps=False, sack=False), seed=10),
    Scenario("zero_window_slow_reader", bulk(60_000, read=1000, read_gap=0.05),
             tcp=TcpConfig(rcvbuf=4096), until=60.0),
    Scenario("small_window_lossy", bulk(40_000, read=700, read_gap=0.02),
             _link(loss=Bernoulli(0.05)), tcp=TcpConfig(rcvbuf=3000), seed=11, until=60.0),
    Scenario("linux_like_iw10", bulk(1_000_000), _link(loss=Bernoulli(0.01)),
             tcp=TcpConfig.linux_like(), seed=12),
    Scenario("nagle_delack", small_writes(40, 100, 0.003), tcp=_fast()),
    Scenario("nodelay_no_delack", small_writes(40, 100, 0.003),
             tcp=_fast(nodelay=True, delayed_ack=0.0)),
    Scenario("abort_refuse_unread", abort_and_refuse(), tcp=_fast()),
    Scenario("simultaneous_open_close", simultaneous(), tcp=_fast(), until=10.0),
    Scenario("syn_loss_retries", bulk(20_000), _link(loss=Bernoulli(0.35)),
             tcp=_fast(syn_retries=8, synack_retries=8), seed=13, until=120.0),
    Scenario("synack_lost", bulk(20_000), _link(), _link(loss=Bernoulli(0.6)),
             tcp=_fast(syn_retries=8, synack_retries=8), seed=14, until=120.0),
    Scenario("syncookies_always", bulk(100_000), _link(loss=Bernoulli(0.01)),
             tcp=_fast(syncookies=2), seed=15),
    Scenario("pmtu_chain", bulk(600_000), tcp=_fast(), routers=2),
    Scenario("persist_zero_window", bulk(20_000, read=4096, read_gap=4.0),
             tcp=TcpConfig(rcvbuf=4096), until=60.0),
    Scenario("synack_give_up", bulk(1000), _link(), _link(loss=Bernoulli(0.97)),
             tcp=_fast(syn_retries=2, synack_retries=1), seed=17, until=60.0),
    Scenario("idle_fin_wait_2_data_after_close", idle_then_more(),
             tcp=_fast(fin_wait2_timeout=3.0), until=20.0),
    Scenario("injected", injected(), tcp=_fast(), until=15.0),
    Scenario("handshake_forgeries", handshake_forgeries(), tcp=_fast(), until=10.0),
    Scenario("give_up", bulk(50_000), _link(loss=Bernoulli(0.9)),
             tcp=TcpConfig(max_retries=3, syn_retries=3, min_rto=0.2, initial_rto=0.2),
             seed=16, until=60.0),
    Scenario("closing_resets_and_backlog", closing_resets_and_backlog(), tcp=_fast(),
             until=15.0),
    # DupAck counting alone (RFC 6675, no RACK-TLP, no D-SACK), the default until RACK was:
    # the same runs as above with `rack=False, dsack=False` (`netsim sim --no-rack`), whose
    # recorded values are those the scenarios above had before RACK became the default
    Scenario("loss2_newreno_sack_norack", bulk(1_500_000), _link(loss=Bernoulli(0.02)),
             tcp=TcpConfig(rack=False, dsack=False), seed=2),
    Scenario("loss3_cubic_norack", bulk(1_500_000), _link(loss=Bernoulli(0.03)),
             tcp=TcpConfig(cc="cubic", rack=False, dsack=False), seed=4),
    Scenario("reorder_norack", bulk(1_000_000), _link(reorder=0.05, loss=Bernoulli(0.01)),
             tcp=TcpConfig(rack=False, dsack=False), seed=6),
    Scenario("linux_like_iw10_norack", bulk(1_000_000), _link(loss=Bernoulli(0.01)),
             tcp=TcpConfig.linux_like(rack=False, dsack=False), seed=12),
]


# ------------------------------------------------------------------------------- running
def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _record_text(rec: TraceRecord) -> str:
    """A record as text, the same in the pure and the compiled build: a time that SimPy gives
    as the int 0 is 0.0 in the compiled build, so every float field is written as a float."""
    values = []
    for f in dataclasses.fields(rec):
        value = getattr(rec, f.name)
        if isinstance(value, int) and not isinstance(value, bool) and "float" in str(f.type):
            value = float(value)
        values.append(f"{f.name}={value!r}")
    return f"{type(rec).__name__}({', '.join(values)})"


def run_scenario(sc: Scenario) -> dict[str, str]:
    """The fingerprints of one scenario: pcap, trace and counters."""
    world = World(sc.seed)
    rec = Recorder()
    net: Network
    if sc.routers:
        net = chain(world, sc.routers, sc.link, bottleneck=LinkConfig(delay=0.002, mtu=1000),
                    trace=rec, tcp=sc.tcp)
    else:
        net = two_hosts(world, sc.link, sc.reverse, trace=rec, tcp=sc.tcp)
    h1, h2 = net.hosts[0], net.hosts[-1]
    world_links[id(world)] = net.links
    for proc in sc.apps(world, h1, h2):
        world.env.process(proc)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "a.pcap"
        with capture(net.links[0].a, path):
            world.run(sc.until)
        pcap = path.read_bytes()
    del world_links[id(world)]
    trace = "\n".join(_record_text(r) for r in rec.records).encode()
    counters = json.dumps([h.stack.counters.flat() for h in net.hosts], sort_keys=True)
    return {"pcap": _sha(pcap), "trace": _sha(trace), "counters": _sha(counters.encode()),
            "records": str(len(rec.records))}


def run_flood() -> dict[str, str]:
    """The SYN flood of lesson 9, small: SYN cookies answered and returned."""
    out = {}
    for cookies in (0, 1):
        run = syn_flood(cookies, syns=1500, flood_at=0.3, flood_seconds=0.2, duration=1.5,
                        client_every=0.1, give_up=3.0, sample=0.05, max_half_open=64)
        blob = json.dumps([run.times, run.half_open, run.cookies_sent, run.connect_times(),
                           run.counters], sort_keys=True)
        out[f"cookies{cookies}"] = _sha(blob.encode())
    return out


def fingerprints(names: list[str] | None = None) -> dict[str, dict[str, str]]:
    out = {sc.name: run_scenario(sc) for sc in SCENARIOS if names is None or sc.name in names}
    if names is None or "syn_flood" in names:
        out["syn_flood"] = run_flood()
    return out


def main(argv: list[str]) -> int:
    got = fingerprints()
    if "--write" in argv:
        DATA_FILE.write_text(json.dumps(got, indent=1, sort_keys=True) + "\n")
        print(f"wrote {len(got)} scenarios to {DATA_FILE}")
        return 0
    want = json.loads(DATA_FILE.read_text())
    bad = [name for name in want if want[name] != got.get(name)]
    for name in bad:
        print(f"{name}: recorded {want[name]}, now {got.get(name)}")
    print(f"{len(want) - len(bad)}/{len(want)} scenarios unchanged")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
