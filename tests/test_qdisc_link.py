"""Queue disciplines inside a link: the generic path agrees with the built-in drop-tail, marks
reach the far side as CE in the IP header, queue records are typed and cost nothing unasked,
and a discipline written by a student plugs in."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from qdisc_helpers import udp_frame

from netsim.cli import main
from netsim.errors import UsageError
from netsim.link.qdisc import DropTail, Packet, QueueDisc, parse_qdisc
from netsim.link.qdisc.ecn import CE, ECT0, NOT_ECT, ecn_of
from netsim.sim.link import Link, LinkConfig
from netsim.sim.topology import dumbbell, two_hosts
from netsim.sim.world import World
from netsim.stack.events import QueueRecord
from netsim.trace import Recorder
from netsim.wire.ipv4 import parse_ipv4


def _run(config: LinkConfig, frames: list[tuple[float, bytes]]
         ) -> tuple[list[tuple[float, bytes]], dict[str, int], list[tuple[float, float, int]]]:
    world = World(3)
    link = Link(world, config)
    got: list[tuple[float, bytes]] = []
    link.b.attach(lambda f: got.append((world.env.now, f)))
    queued: list[tuple[float, float, int]] = []
    link.queue_hooks.append(lambda t, where, soj, qlen, marked: queued.append((t, soj, qlen)))

    def sender():  # type: ignore[no-untyped-def]
        last = 0.0
        for at, frame in frames:
            yield world.env.timeout(at - last)
            last = at
            link.a.send(frame)
    world.env.process(sender())
    world.run()
    return got, dict(link.a.stats.dropped), queued


def _bursty(n: int = 400) -> list[tuple[float, bytes]]:
    rng = random.Random(5)
    t, out = 0.0, []
    for i in range(n):
        t += rng.expovariate(1 / 0.00045) + 1e-7 * (i % 7)  # ~1.3x the rate of the link
        out.append((t, udp_frame(sport=i % 5, size=rng.choice([100, 600, 1514]))))
    return out


def test_the_droptail_discipline_matches_the_built_in_queue() -> None:
    frames = _bursty()
    fast = LinkConfig(delay=0.01, rate_bps=10e6, queue_packets=12)
    generic = LinkConfig(delay=0.01, rate_bps=10e6, qdisc=lambda: DropTail(limit=12))
    got_f, drops_f, q_f = _run(fast, frames)
    got_g, drops_g, q_g = _run(generic, frames)
    assert drops_f["queue"] > 10  # the queue did overflow
    assert drops_g["queue"] == drops_f["queue"] and drops_g["aqm"] == 0
    assert got_g == got_f  # same frames, same arrival times
    assert len(q_f) == len(q_g) == len(got_f)
    for (t1, s1, n1), (t2, s2, n2) in zip(q_f, q_g, strict=True):
        assert t1 == pytest.approx(t2) and s1 == pytest.approx(s2) and n1 == n2


def test_codel_with_ecn_marks_ect_frames_ce_and_drops_not_ect_ones() -> None:
    frames = [(i * 0.0006, udp_frame(sport=1, ecn=ECT0 if i % 2 else NOT_ECT))
              for i in range(4000)]  # twice the rate of the link, for 2.4 s
    cfg = LinkConfig(delay=0.005, rate_bps=10e6, qdisc=parse_qdisc("codel ecn limit 10000"))
    got, drops, _ = _run(cfg, frames)
    ce = [f for _, f in got if ecn_of(f) == CE]
    assert ce, "CoDel in drop state marks the ECT frames"
    for frame in ce:
        assert parse_ipv4(frame[14:]).ecn == CE  # the header checksum still verifies
    assert all(ecn_of(f) in (NOT_ECT, ECT0, CE) for _, f in got)
    assert drops["aqm"] > 0  # the Not-ECT ones it drops
    without = LinkConfig(delay=0.005, rate_bps=10e6, qdisc=parse_qdisc("codel limit 10000"))
    got2, drops2, _ = _run(without, frames)
    assert not [f for _, f in got2 if ecn_of(f) == CE]  # marking is off by default
    assert drops2["aqm"] > drops["aqm"]


def test_queue_records_are_typed_and_only_made_when_asked_for() -> None:
    world = World(1)
    rec = Recorder(kinds={"queue", "drop"})
    net = two_hosts(world, LinkConfig(delay=0.001, rate_bps=1e6), trace=rec)
    h1, h2 = net.hosts
    from netsim.apps.ping import ping
    proc = world.env.process(ping(h1, h2.ip, count=3, interval=0.0, size=1000))
    world.env.run(until=proc)
    queued = rec.of_kind(QueueRecord)
    assert queued and all(isinstance(r.sojourn, float) and r.qlen >= 0 for r in queued)
    assert max(r.sojourn for r in queued) > 0.007  # the 2nd and 3rd requests waited
    assert {r.host for r in queued} == {"link.a", "link.b"}
    world2 = World(1)
    plain = Recorder()
    net2 = two_hosts(world2, LinkConfig(delay=0.001, rate_bps=1e6), trace=plain)
    assert net2.links[0].queue_hooks == []  # nothing computed per frame
    proc2 = world2.env.process(ping(net2.hosts[0], net2.hosts[1].ip, count=3, interval=0.0))
    world2.env.run(until=proc2)
    assert plain.of_kind(QueueRecord) == []


def test_queue_records_survive_jsonl_and_csv(tmp_path: Path) -> None:
    from netsim.trace import read_jsonl

    rec = Recorder(kinds={"queue"})
    rec.record(QueueRecord(1.5, "link.a", 0.0125, 7, True))
    back = read_jsonl(rec.to_jsonl(tmp_path / "q.jsonl"))
    assert back.records == rec.records
    (csv,) = rec.to_csv(tmp_path / "csv")
    assert csv.name == "queue.csv"
    assert csv.read_text().splitlines()[1].startswith("1.5,link.a,0.0125,7,")


class Lifo(QueueDisc):
    """A student's discipline: last in, first out, at most 3 waiting."""

    name = "lifo"

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[Packet] = []

    def enqueue(self, pkt: Packet, now: float) -> None:
        if len(self.stack) >= 3:
            self.drop(pkt, "queue")
        else:
            self.stack.append(pkt)

    def dequeue(self, now: float) -> Packet | None:
        return self.stack.pop() if self.stack else None

    def __len__(self) -> int:
        return len(self.stack)

    @property
    def backlog(self) -> int:
        return sum(p.size for p in self.stack)


def test_a_discipline_written_by_a_student_plugs_in() -> None:
    frames = [(0.0, udp_frame(sport=i, size=1000)) for i in range(6)]
    got, drops, _ = _run(LinkConfig(rate_bps=1e6, qdisc=Lifo), frames)
    # the first goes straight to the transmitter; 1, 2, 3 wait (4 and 5 are refused) and
    # leave last-in first
    ports = [int.from_bytes(f[34:36], "big") for _, f in got]
    assert ports == [0, 3, 2, 1]
    assert drops["queue"] == 2
    assert "lifo" in LinkConfig(rate_bps=1e6, qdisc=Lifo).describe()


STUDENT = """
from netsim.link.qdisc.base import QueueDisc


class Lifo(QueueDisc):
    name = "lifo"

    def __init__(self):
        super().__init__()
        self.stack = []

    def enqueue(self, pkt, now):
        if len(self.stack) >= 50:
            self.drop(pkt, "queue")
        else:
            self.stack.append(pkt)

    def dequeue(self, now):
        return self.stack.pop() if self.stack else None

    def __len__(self):
        return len(self.stack)


class NotOne:
    pass
"""


def test_a_student_discipline_runs_from_the_command_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "mine.py"
    path.write_text(STUDENT)
    assert main(["sim", "--bytes", "300kB", "--rate", "10Mbit", "--qdisc",
                 f"{path}:Lifo", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["intact"] and out["qdisc"] == f"{path}:Lifo"
    with pytest.raises(UsageError, match="class 'NotOne' is not a QueueDisc subclass"):
        parse_qdisc(f"{path}:NotOne")


def test_a_bad_qdisc_is_a_usage_error_naming_the_field() -> None:
    with pytest.raises(UsageError, match="LinkConfig.qdisc: 'codel' is not a queue discipline"):
        LinkConfig(qdisc="codel")  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="LinkConfig.qdisc: .* not a QueueDisc"):
        Link(World(1), LinkConfig(rate_bps=1e6, qdisc=lambda: object()))  # type: ignore[arg-type,return-value]


def test_a_router_port_onto_the_bottleneck_uses_the_discipline() -> None:
    world = World(1)
    net = dumbbell(world, 1, bottleneck=LinkConfig(delay=0.01, rate_bps=10e6,
                                                   qdisc=parse_qdisc("fq_codel")))
    bottleneck = net.links[0]
    assert bottleneck.a.qdisc is not None and bottleneck.a.qdisc.name == "fq_codel"
    assert bottleneck.b.qdisc is not bottleneck.a.qdisc  # each direction its own
    access = net.links[1]
    assert access.a.qdisc is None
