"""A small TCP transfer with a trace, shared by tests/test_trace.py, test_plots.py and
test_cli_demo.py; and `start_transfer`, the sender and receiver processes of one stream, shared
by tests/test_frame_path.py and test_lazy_frames.py."""

from __future__ import annotations

from collections.abc import Collection, Generator
from typing import Any

from netsim.sim.link import LinkConfig
from netsim.sim.loss import Scripted
from netsim.sim.topology import two_hosts
from netsim.sim.world import World
from netsim.stack.tcp.config import TcpConfig
from netsim.trace import Recorder
from netsim.wire.ipv4 import PROTO_TCP

ETH = 14


def start_transfer(world: World, h1: Any, h2: Any, data: bytes,
                   port: int = 7000) -> bytearray:
    """Start h2 reading one connection on `port` to its end and h1 sending `data` to it; the
    bytearray returned fills with what h2 receives as the world runs."""
    got = bytearray()

    def server() -> Generator[Any, Any, None]:
        s = yield h2.listen(port).accept()
        while chunk := (yield s.recv(65536)):
            got.extend(chunk)
        yield s.close()

    def client() -> Generator[Any, Any, None]:
        s = yield h1.connect(h2.ip, port)
        yield s.sendall(data)
        yield s.close()

    world.env.process(server())
    world.env.process(client())
    return got


def tcp_payload_len(frame: bytes) -> int:
    """Payload bytes of a TCP segment in an Ethernet frame (-1 if not TCP)."""
    if frame[12:14] != b"\x08\x00" or frame[ETH + 9] != PROTO_TCP:
        return -1
    ihl = (frame[ETH] & 0x0F) * 4
    total = int.from_bytes(frame[ETH + 2:ETH + 4], "big")
    doff = (frame[ETH + ihl + 12] >> 4) * 4
    return total - ihl - doff


def lose_data_frames(numbers: Collection[int]) -> Scripted:
    """Lose the given 0-based data-carrying TCP frames (counting every data frame offered,
    retransmissions included)."""
    seen = [0]
    wanted = frozenset(numbers)

    def pick(frame: bytes) -> bool:
        if tcp_payload_len(frame) <= 0:
            return False
        n = seen[0]
        seen[0] += 1
        return n in wanted

    return Scripted(predicate=pick)


def transfer(nbytes: int = 60_000, *, recorder: Any = None, lose: Collection[int] = (),
             delay: float = 0.01, rate_bps: float | None = 20e6, seed: int = 1,
             tcp: TcpConfig | None = None, client_cfg: TcpConfig | None = None,
             ports: tuple[int, ...] = (9000,), run_until: float | None = None) -> Recorder:
    """h1 sends `nbytes` to h2 on each port in `ports`; returns the recorder used."""
    rec = recorder if recorder is not None else Recorder()
    world = World(seed)
    fwd = LinkConfig(delay=delay, rate_bps=rate_bps,
                     loss=lose_data_frames(lose) if lose else None)
    back = LinkConfig(delay=delay, rate_bps=rate_bps)
    net = two_hosts(world, fwd, back, trace=rec, tcp=tcp)
    h1, h2 = net.hosts
    received = {p: 0 for p in ports}

    def server(port: int) -> Generator[Any, Any, None]:
        lst = h2.listen(port)
        s = yield lst.accept()
        while True:
            data = yield s.recv(1 << 16)
            if not data:
                break
            received[port] += len(data)
        yield s.close()

    def client(port: int) -> Generator[Any, Any, None]:
        s = yield h1.connect("10.0.0.2", port, client_cfg)
        yield s.sendall(bytes(nbytes))
        yield s.close()

    for port in ports:
        world.env.process(server(port))
        world.env.process(client(port))
    world.run(run_until)
    if run_until is None:
        assert all(n == nbytes for n in received.values()), received
    return rec
