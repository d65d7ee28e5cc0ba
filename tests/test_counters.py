"""A stack's eth and ipv4 counters, counted per frame in int fields and folded into the
public counters when read (netsim.stack.counters.FoldedCounter), read the same as counters
counted in place: at any moment of a run, in every way a reader can look."""

from __future__ import annotations

import copy
import json
import pickle
from collections import Counter

from netsim.apps.bulk import bulk_sender, bulk_sink
from netsim.sim.link import LinkConfig
from netsim.sim.loss import Bernoulli
from netsim.sim.topology import chain, two_hosts
from netsim.sim.world import World
from netsim.stack.counters import LayerCounter
from netsim.stack.host import Stack


def _transfer(net, nbytes: int = 200_000) -> None:
    h1, h2 = net.hosts
    net.world.env.process(bulk_sink(h2, 5001))
    net.world.env.process(bulk_sender(h1, h2.ip, 5001, nbytes))


def test_counts_read_during_a_run_match_the_link_at_every_moment() -> None:
    world = World(seed=3)
    net = two_hosts(world, LinkConfig(rate_bps=10e6, delay=0.005, loss=Bernoulli(0.02)))
    _transfer(net)
    h1, h2 = net.hosts
    link = net.links[0]
    seen = []
    for t in range(1, 40):
        world.run(until=t * 0.05)
        eth1, eth2, ip2 = h1.stack.counters["eth"], h2.stack.counters["eth"], \
            h2.stack.counters["ipv4"]
        # what the link handed each host is what that host counted in, at this moment
        assert eth2["rx"] == link.a.stats.delivered
        assert eth1["rx"] == link.b.stats.delivered
        assert eth1["tx"] == link.a.stats.offered
        assert ip2["rx"] == ip2["delivered"] == eth2["rx"] - h2.stack.counters["arp"]["rx"]
        flat = h2.stack.counters.flat()
        assert flat["eth.rx"] == eth2["rx"] and flat["ipv4.tx"] == ip2["tx"]
        assert dict(eth2) == dict(eth2.items()) == {k: eth2[k] for k in eth2}
        seen.append(eth2["rx"])
    assert seen[-1] > seen[0] > 0  # the run was under way while we looked


def test_keys_stay_in_the_order_they_were_first_counted() -> None:
    world = World(seed=1)
    net = two_hosts(world, LinkConfig(delay=0.001))
    _transfer(net, 20_000)
    world.run(until=0.0005)  # each host has sent its gratuitous ARP, nothing has arrived
    assert list(net.hosts[0].stack.counters["eth"]) == ["tx"]
    world.run(until=2)
    # sent first, then received; the datagrams' ipv4 counts in the order a frame moves them
    assert list(net.hosts[0].stack.counters["eth"]) == ["tx", "rx"]
    assert list(net.hosts[1].stack.counters["ipv4"])[:2] in (["rx", "delivered"],
                                                             ["tx", "rx"])


def test_copies_pickles_and_comparisons_see_the_folded_counts() -> None:
    world = World(seed=2)
    net = two_hosts(world, LinkConfig(rate_bps=10e6, delay=0.001))
    _transfer(net)
    world.run(until=0.05)
    eth = net.hosts[1].stack.counters["eth"]
    now = {"rx": eth["rx"], "tx": eth["tx"]}
    world.run(until=0.1)  # more frames since: a stale reading would show
    later = {k: eth[k] for k in now}
    assert later != now
    for c in (eth.copy(), pickle.loads(pickle.dumps(eth)), copy.deepcopy(eth)):
        assert type(c) is LayerCounter and dict(c) == dict(eth)
    assert later == {k: v for k, v in eth.items()} and eth == Counter(later)
    assert dict(later) == eth and json.loads(json.dumps(eth)) == later
    assert eth.total() == sum(later.values()) and eth.most_common(1)[0][1] == max(later.values())
    assert repr(eth).startswith("Counter(")


def test_counting_in_place_adds_to_the_folded_counts() -> None:
    world = World(seed=2)
    net = chain(world, routers=1, config=LinkConfig(rate_bps=10e6, delay=0.001))
    _transfer(net)
    world.run(until=0.05)
    router: Stack = net.routers[0].stack
    ipc = router.counters["ipv4"]
    before = ipc["forwarded"]
    assert before > 0  # forwarded LazyFrames, counted in an int field
    ipc["forwarded"] += 1  # as RIP and OSPF count their own frames, in the counter
    world.run(until=0.1)
    after = ipc["forwarded"]
    assert after > before + 1
    assert after == ipc["rx"] + 1  # every datagram the router took in it forwarded, plus ours
    ipc.clear()
    assert ipc["forwarded"] == 0 and "rx" not in ipc
    world.run(until=0.15)
    assert ipc["forwarded"] == ipc["rx"] > 0  # counting starts again from nothing


def test_views_held_across_new_counts_see_them() -> None:
    # a plain dict's keys(), values() and items() are live views: they show counts made
    # after they were taken
    world = World(seed=2)
    net = two_hosts(world, LinkConfig(rate_bps=10e6, delay=0.001))
    _transfer(net)
    world.run(until=0.05)
    eth = net.hosts[1].stack.counters["eth"]
    keys, values, items = eth.keys(), eth.values(), eth.items()
    world.run(until=0.1)  # more frames since
    assert sum(values) == eth["rx"] + eth["tx"]
    assert dict(items) == {"tx": eth["tx"], "rx": eth["rx"]}
    assert list(keys) == ["tx", "rx"] and "rx" in keys and len(items) == 2
    assert list(reversed(keys)) == ["rx", "tx"]
    assert repr(items) == f"dict_items([('tx', {eth['tx']}), ('rx', {eth['rx']})])"


def test_a_counter_or_a_stack_counter_is_a_counter_of_the_larger_counts() -> None:
    world = World(seed=2)
    net = two_hosts(world, LinkConfig(rate_bps=10e6, delay=0.001))
    _transfer(net)
    world.run(until=0.05)
    eth = net.hosts[1].stack.counters["eth"]
    mine = Counter(rx=10**9, other=1)
    world.run(until=0.1)  # counts not yet folded in
    union = mine | eth
    assert type(union) is Counter
    assert union == Counter(rx=10**9, other=1, tx=eth["tx"])  # (Counter |: the larger)
    world.run(until=0.15)
    assert {} | eth == {"tx": eth["tx"], "rx": eth["rx"]}
