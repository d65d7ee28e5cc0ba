"""The link model (netsim.link.model): timing, queueing, MTU and each impairment."""

from __future__ import annotations

import math
from collections.abc import Generator

import pytest

from netsim.errors import UsageError
from netsim.sim.link import Endpoint, Link, LinkConfig
from netsim.sim.loss import Bernoulli, Periodic
from netsim.sim.world import World

N = 20_000


def numbered(i: int, size: int = 100) -> bytes:
    """A frame of ``size`` bytes whose first 4 bytes are ``i``."""
    return i.to_bytes(4, "big") + bytes(size - 4)


def number(frame: bytes) -> int:
    return int.from_bytes(frame[:4], "big")


def assert_binomial(count: int, n: int, p: float, sigmas: float = 5.0) -> None:
    sd = math.sqrt(n * p * (1 - p))
    assert abs(count - n * p) <= sigmas * sd, f"{count} of {n}, expected {n * p:.0f} +- {sd:.1f}"


class Recorder:
    """Attach to an endpoint; keeps (arrival time, frame) for every frame delivered there."""

    def __init__(self, world: World, endpoint: Endpoint) -> None:
        self.world = world
        self.got: list[tuple[float, bytes]] = []
        endpoint.attach(self)

    def __call__(self, frame: bytes) -> None:
        self.got.append((self.world.now, frame))

    @property
    def frames(self) -> list[bytes]:
        return [f for _, f in self.got]


def send_spaced(world: World, endpoint: Endpoint, frames: list[bytes], gap: float) -> None:
    """Send ``frames`` one every ``gap`` seconds, starting at the current time."""

    def sender() -> Generator[object, None, None]:
        for frame in frames:
            endpoint.send(frame)
            yield world.env.timeout(gap)

    world.env.process(sender())


def run_link(
    config: LinkConfig, n: int = N, seed: int = 1, gap: float = 0.0
) -> tuple[Link, Recorder]:
    world = World(seed=seed)
    link = Link(world, config)
    rec = Recorder(world, link.b)
    frames = [numbered(i) for i in range(n)]
    if gap:
        send_spaced(world, link.a, frames, gap)
    else:
        for frame in frames:
            link.a.send(frame)
    world.run()
    return link, rec


# -- timing ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "rate", "delay"), [(1514, 10e6, 0.01), (64, 1e9, 0.0), (1000, 8e3, 0.2)]
)
def test_frame_arrives_after_serialization_plus_propagation(
    size: int, rate: float, delay: float
) -> None:
    world = World()
    link = Link(world, LinkConfig(delay=delay, rate_bps=rate))
    rec = Recorder(world, link.b)
    link.a.send(bytes(size))
    world.run()
    assert rec.got == [(size * 8 / rate + delay, bytes(size))]


def test_back_to_back_frames_queue_behind_each_other() -> None:
    world = World()
    rate, delay, size = 1e6, 0.005, 1250  # 10 ms per frame
    link = Link(world, LinkConfig(delay=delay, rate_bps=rate))
    rec = Recorder(world, link.b)
    for i in range(5):
        link.a.send(numbered(i, size))
    world.run()
    times = [t for t, _ in rec.got]
    assert times == pytest.approx([(k + 1) * 0.01 + delay for k in range(5)], abs=1e-12)
    assert [number(f) for f in rec.frames] == list(range(5))


def test_transmitter_idles_between_sparse_frames() -> None:
    world = World()
    link = Link(world, LinkConfig(delay=0.001, rate_bps=1e6))
    rec = Recorder(world, link.b)
    send_spaced(world, link.a, [bytes(125)] * 3, gap=0.1)  # 1 ms to serialize, 100 ms apart
    world.run()
    assert [t for t, _ in rec.got] == pytest.approx([0.002, 0.102, 0.202], abs=1e-12)


def test_infinitely_fast_link_delivers_after_delay_only_and_in_send_order() -> None:
    world = World()
    link = Link(world, LinkConfig(delay=0.03))
    rec = Recorder(world, link.b)
    for i in range(1000):
        link.a.send(numbered(i))
    world.run()
    assert {t for t, _ in rec.got} == {0.03}
    assert [number(f) for f in rec.frames] == list(range(1000))  # equal times keep send order


# -- queue and MTU ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("queue", "burst"), [(10, 50), (0, 5), (100, 101), (1000, 3000)])
def test_queue_overflow_drops_exactly_the_excess_of_a_burst(queue: int, burst: int) -> None:
    world = World()
    link = Link(world, LinkConfig(rate_bps=1e6, queue_packets=queue))
    reasons: list[str] = []
    link.drop_hooks.append(lambda t, name, reason, frame: reasons.append(reason))
    rec = Recorder(world, link.b)
    for i in range(burst):
        link.a.send(numbered(i))
    world.run()
    accepted = min(burst, queue + 1)  # one frame being serialized plus a full queue
    assert link.a.stats.dropped["queue"] == burst - accepted
    assert reasons == ["queue"] * (burst - accepted)
    assert [number(f) for f in rec.frames] == list(range(accepted))  # drop-tail: the head survives
    assert link.a.stats.queue_peak == min(queue, burst - 1)


def test_queue_in_bytes_limits_waiting_bytes() -> None:
    world = World()
    link = Link(world, LinkConfig(rate_bps=1e6, queue_packets=None, queue_bytes=900))
    rec = Recorder(world, link.b)
    for size in (300, 400, 400, 200, 100):  # 300 in service; 400+400 wait; 200 no; 100 fits
        link.a.send(bytes(size))
    world.run()
    assert [len(f) for f in rec.frames] == [300, 400, 400, 100]
    assert link.a.stats.dropped["queue"] == 1


def test_queue_accepts_again_once_it_has_drained() -> None:
    world = World()
    link = Link(world, LinkConfig(rate_bps=1e6, queue_packets=2))
    rec = Recorder(world, link.b)
    for _ in range(5):
        link.a.send(bytes(125))  # 1 ms each: 1 in service + 2 waiting, 2 dropped
    assert link.a.queue_length == 2
    world.env.run(until=0.0025)  # frames 1 and 2 done, the third in service
    assert link.a.queue_length == 0
    for _ in range(3):
        link.a.send(bytes(125))  # 2 wait, 1 dropped
    world.run()
    assert len(rec.got) == 5
    assert link.a.stats.dropped["queue"] == 3


def test_frames_longer_than_mtu_plus_ethernet_header_are_dropped() -> None:
    world = World()
    link = Link(world, LinkConfig(mtu=1500))
    hooks: list[tuple[str, str, int]] = []
    link.drop_hooks.append(lambda t, name, reason, frame: hooks.append((name, reason, len(frame))))
    rec = Recorder(world, link.b)
    link.a.send(bytes(1514))
    link.a.send(bytes(1515))
    world.run()
    assert [len(f) for f in rec.frames] == [1514]
    assert link.a.stats.dropped["mtu"] == 1
    assert hooks == [(link.a.name, "mtu", 1515)]


# -- impairments -----------------------------------------------------------------------------------


def test_duplicate_delivers_identical_bytes_twice() -> None:
    link, rec = run_link(LinkConfig(delay=0.01, duplicate=1.0), n=50)
    frames = rec.frames
    assert frames[0::2] == frames[1::2] == [numbered(i) for i in range(50)]
    assert link.a.stats.duplicated == 50
    assert link.a.stats.delivered == 100


def test_duplicate_rate_matches_configuration() -> None:
    link, rec = run_link(LinkConfig(delay=0.01, duplicate=0.02))
    assert_binomial(link.a.stats.duplicated, N, 0.02)
    assert len(rec.got) == N + link.a.stats.duplicated


def test_reorder_makes_later_frames_overtake_held_ones() -> None:
    # 1 ms between frames, held frames wait 10 ms extra: ~9 later frames overtake each.
    link, rec = run_link(LinkConfig(delay=0.02, reorder=0.05, reorder_delay=0.01), gap=0.001)
    order = [number(f) for f in rec.frames]
    assert sorted(order) == list(range(N))
    assert_binomial(link.a.stats.reordered, N, 0.05)
    out_of_order = sum(1 for prev, cur in zip(order, order[1:], strict=False) if cur < prev)
    assert out_of_order > 0.5 * link.a.stats.reordered


def test_jitter_alone_never_reorders_and_stays_within_bounds() -> None:
    delay, jitter, gap = 0.01, 0.005, 0.001  # jitter much larger than the gap between frames
    link, rec = run_link(LinkConfig(delay=delay, jitter=jitter), n=5000, gap=gap)
    order = [number(f) for f in rec.frames]
    assert order == list(range(5000))
    for t, frame in rec.got:
        sent = number(frame) * gap
        assert delay <= t - sent <= delay + jitter + 1e-9


def test_jitter_is_uniform_in_zero_to_jitter() -> None:
    delay, jitter, gap = 0.01, 0.002, 0.01  # gap > jitter: no frame is held by its predecessor
    _, rec = run_link(LinkConfig(delay=delay, jitter=jitter), n=5000, gap=gap)
    extra = [t - number(f) * gap - delay for t, f in rec.got]
    mean = sum(extra) / len(extra)
    sd_mean = jitter / math.sqrt(12 * len(extra))
    assert abs(mean - jitter / 2) <= 5 * sd_mean
    assert min(extra) < 0.05 * jitter and max(extra) > 0.95 * jitter


def test_corrupt_flips_exactly_one_bit_after_the_ethernet_header() -> None:
    link, rec = run_link(LinkConfig(corrupt=1.0), n=2000)
    assert link.a.stats.corrupted == 2000
    positions = set()
    for i, frame in enumerate(rec.frames):
        sent = numbered(i)
        diff = int.from_bytes(frame, "big") ^ int.from_bytes(sent, "big")
        assert diff.bit_count() == 1
        bit_from_start = len(sent) * 8 - diff.bit_length()
        assert bit_from_start >= 14 * 8
        positions.add(bit_from_start)
    assert len(positions) > 400  # spread over the frame, not one fixed bit


def test_corrupt_rate_matches_configuration() -> None:
    link, rec = run_link(LinkConfig(corrupt=0.01))
    changed = sum(1 for i, f in enumerate(rec.frames) if f != numbered(i))
    assert changed == link.a.stats.corrupted
    assert_binomial(changed, N, 0.01)


def test_lost_frames_still_occupy_the_transmitter() -> None:
    world = World()
    link = Link(world, LinkConfig(rate_bps=1e6, loss=Periodic(2)))  # loses frames 1, 3, ...
    rec = Recorder(world, link.b)
    for i in range(4):
        link.a.send(numbered(i, 125))  # 1 ms each
    world.run()
    assert rec.got == [(0.001, numbered(0, 125)), (0.003, numbered(2, 125))]


# -- reproducibility and independence --------------------------------------------------------------

HOSTILE = LinkConfig(
    delay=0.01, jitter=0.004, rate_bps=10e6, loss=Bernoulli(0.05), reorder=0.02,
    duplicate=0.02, corrupt=0.02,
)


def test_same_seed_gives_identical_deliveries_and_another_seed_does_not() -> None:
    _, first = run_link(HOSTILE, n=3000, seed=11, gap=0.0005)
    _, again = run_link(HOSTILE, n=3000, seed=11, gap=0.0005)
    _, other = run_link(HOSTILE, n=3000, seed=12, gap=0.0005)
    assert first.got == again.got
    assert first.got != other.got


def test_directions_are_independent() -> None:
    world = World(seed=4)
    link = Link(world, LinkConfig(delay=0.01, loss=Bernoulli(0.1)), LinkConfig(delay=0.05))
    at_b, at_a = Recorder(world, link.b), Recorder(world, link.a)
    for i in range(2000):
        link.a.send(numbered(i))
        link.b.send(numbered(i))
    world.run()
    assert len(at_a.got) == 2000 and {t for t, _ in at_a.got} == {0.05}
    assert link.b.stats.dropped["loss"] == 0
    assert_binomial(link.a.stats.dropped["loss"], 2000, 0.1)
    assert len(at_b.got) == 2000 - link.a.stats.dropped["loss"]


def test_traffic_the_other_way_does_not_change_which_frames_are_lost() -> None:
    def lost_a_to_b(reverse_traffic: bool) -> list[int]:
        world = World(seed=9)
        link = Link(world, LinkConfig(loss=Bernoulli(0.2), jitter=0.001))
        rec = Recorder(world, link.b)
        link.a.attach(lambda f: None)
        for i in range(500):
            link.a.send(numbered(i))
            if reverse_traffic:
                link.b.send(numbered(i))
        world.run()
        return sorted(set(range(500)) - {number(f) for f in rec.frames})

    assert lost_a_to_b(False) == lost_a_to_b(True)


def test_adding_another_link_does_not_change_this_links_losses() -> None:
    def lost(extra_links: int) -> list[int]:
        world = World(seed=3)
        for _ in range(extra_links):
            Link(world, HOSTILE, name="other")
        link = Link(world, LinkConfig(loss=Bernoulli(0.2)), name="main")
        rec = Recorder(world, link.b)
        for i in range(500):
            link.a.send(numbered(i))
        world.run()
        return [number(f) for f in rec.frames]

    assert lost(0) == lost(1) == lost(5)


def test_links_with_the_same_name_still_get_different_streams() -> None:
    world = World()
    one = Link(world, LinkConfig(loss=Bernoulli(0.5)))
    two = Link(world, LinkConfig(loss=Bernoulli(0.5)))
    assert one.name != two.name
    recs = [Recorder(world, one.b), Recorder(world, two.b)]
    for i in range(200):
        one.a.send(numbered(i))
        two.a.send(numbered(i))
    world.run()
    assert recs[0].frames != recs[1].frames


def test_enabling_duplication_does_not_change_which_frames_are_lost() -> None:
    def lost(duplicate: float) -> set[int]:
        _, rec = run_link(LinkConfig(loss=Bernoulli(0.1), duplicate=duplicate), n=1000, seed=5)
        return set(range(1000)) - {number(f) for f in rec.frames}

    assert lost(0.0) == lost(0.3)


# -- taps, hooks, stats ----------------------------------------------------------------------------


def test_taps_see_tx_at_send_time_and_rx_at_delivery_time() -> None:
    world = World()
    link = Link(world, LinkConfig(delay=0.01, rate_bps=1e6, loss=Periodic(2)))
    at_a: list[tuple[float, str, int]] = []
    at_b: list[tuple[float, str, int]] = []
    link.a.add_tap(lambda t, d, f: at_a.append((t, d, number(f))))
    link.b.add_tap(lambda t, d, f: at_b.append((t, d, number(f))))
    Recorder(world, link.b)
    send_spaced(world, link.a, [numbered(i, 125) for i in range(2)], gap=0.5)
    world.run()
    assert at_a == [(0.0, "tx", 0), (0.5, "tx", 1)]  # the lost frame was still sent
    assert at_b == [(pytest.approx(0.011), "rx", 0)]


def test_frames_arriving_where_nothing_is_attached_are_counted() -> None:
    world = World()
    link = Link(world)
    link.a.send(bytes(60))
    world.run()
    assert link.a.stats.dropped["unattached"] == 1
    assert link.a.stats.delivered == 0


def test_stats_add_up_over_a_hostile_run() -> None:
    config = LinkConfig(
        delay=0.01, jitter=0.002, rate_bps=10e6, queue_packets=20, loss=Bernoulli(0.05),
        reorder=0.05, duplicate=0.05, corrupt=0.05, mtu=1000,
    )
    world = World(seed=8)
    link = Link(world, config)
    rec = Recorder(world, link.b)
    sizes = [60 + (i * 37) % 1000 for i in range(5000)]  # some exceed mtu + 14
    send_spaced(world, link.a, [bytes(s) for s in sizes], gap=0.0004)
    world.run()
    s = link.a.stats
    assert s.offered == 5000
    assert s.bytes_offered == sum(sizes)
    assert s.delivered == len(rec.got)
    assert s.bytes == sum(len(f) for f in rec.frames)
    assert s.offered == s.delivered - s.duplicated + s.dropped_total
    assert all(s.dropped[r] > 0 for r in ("loss", "queue", "mtu"))
    assert s.as_dict()["dropped"] == s.dropped


# -- configuration ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"delay": -0.001}, "delay"),
        ({"delay": float("nan")}, "delay"),
        ({"jitter": -1}, "jitter"),
        ({"rate_bps": 0}, "rate_bps"),
        ({"rate_bps": -5e6}, "rate_bps"),
        ({"queue_packets": -1}, "queue_packets"),
        ({"queue_packets": 1.5}, "queue_packets"),
        ({"queue_bytes": -1}, "queue_bytes"),
        ({"mtu": 67}, "mtu"),
        ({"mtu": 70000}, "mtu"),
        ({"reorder": 1.1}, "reorder"),
        ({"duplicate": -0.1}, "duplicate"),
        ({"corrupt": 2}, "corrupt"),
        ({"reorder_delay": -1}, "reorder_delay"),
        ({"loss": 0.1}, "loss"),
    ],
)
def test_link_config_rejects_bad_values_naming_the_field(
    kwargs: dict[str, object], field: str
) -> None:
    with pytest.raises(UsageError, match=rf"^LinkConfig\.{field}: "):
        LinkConfig(**kwargs)  # type: ignore[arg-type]


def test_reorder_delay_defaults_to_delay_or_one_millisecond() -> None:
    assert LinkConfig(delay=0.05).effective_reorder_delay == 0.05
    assert LinkConfig(delay=0.0).effective_reorder_delay == 0.001
    assert LinkConfig(delay=0.05, reorder_delay=0.2).effective_reorder_delay == 0.2


# -- the world's random streams --------------------------------------------------------------------


def test_world_streams_depend_only_on_seed_and_name() -> None:
    def draw(world: World, name: str) -> list[float]:
        rng = world.rng(name)
        return [rng.random() for _ in range(5)]

    one, two, other_seed = World(seed=1), World(seed=1), World(seed=2)
    draw(two, "something else first")  # asking for other streams changes nothing
    assert draw(one, "loss") == draw(two, "loss")
    assert draw(one, "loss") != draw(one, "jitter")
    assert draw(one, "loss") != draw(other_seed, "loss")


def test_world_unique_name_numbers_repeats() -> None:
    world = World()
    assert [world.unique_name("link") for _ in range(3)] == ["link", "link-2", "link-3"]
    assert world.unique_name("r1-r2") == "r1-r2"
