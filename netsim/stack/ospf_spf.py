"""The shortest-path tree of an OSPF area and the routes it gives (RFC 2328 §16.1 calculating
the shortest-path tree for an area), for point-to-point links and stub networks: the only
router-LSA links netsim's routers originate.

Dijkstra's algorithm over the routers, from the calculating router. A link from V to W is
used only if W's router-LSA has a link back to V (§16.1, step 2: both ends must agree that
the link is there, so a link one end has lost carries no route). Equal-cost paths are all
kept while the tree grows (RFC 2328 §16.8 equal-cost multipath), then one is chosen, the
same whatever the order of the database: the first hop through the neighbour with the lowest
Router ID, then the lowest next-hop address. Stub networks are attached to the tree
afterwards (§16.1, stage 2), each through the router nearest to it (the same tie-break).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from ipaddress import IPv4Address, IPv4Network
from typing import NamedTuple

from netsim.wire.ospf import LINK_POINT_TO_POINT, LINK_STUB, Lsa


class Hop(NamedTuple):
    """A first hop: the neighbour's Router ID, its interface address (the next hop) and the
    calculating router's own address on the link (which names the outgoing interface)."""

    neighbor: int
    next_hop: IPv4Address
    local: IPv4Address


class SpfRoute(NamedTuple):
    """A route to a network. `hop` None: the network is on one of our own interfaces."""

    network: IPv4Network
    cost: int
    hop: Hop | None


def shortest_paths(root: IPv4Address, lsas: Iterable[Lsa]
                   ) -> tuple[dict[IPv4Address, int], dict[IPv4Network, SpfRoute]]:
    """({router: distance} of every router reached, {network: route}) from `root`, given
    the router-LSAs of the area (at MaxAge already left out)."""
    by_router = {lsa.header.adv_router: lsa for lsa in lsas}
    if root not in by_router:
        return {root: 0}, {}
    # for the two-way check: which routers each router's LSA links to
    links_to: dict[IPv4Address, dict[IPv4Address, IPv4Address]] = {}
    for rid, lsa in by_router.items():
        links_to[rid] = {link.link_id: link.link_data for link in lsa.links
                         if link.type == LINK_POINT_TO_POINT}
    dist: dict[IPv4Address, int] = {root: 0}
    hops: dict[IPv4Address, set[Hop]] = {root: set()}
    done: set[IPv4Address] = set()
    heap = [(0, int(root), root)]
    while heap:
        d, _, v = heapq.heappop(heap)
        if v in done:
            continue
        done.add(v)
        for link in by_router[v].links:
            w = link.link_id
            if link.type != LINK_POINT_TO_POINT or w in done or w not in by_router or \
                    v not in links_to[w]:
                continue
            nd = d + link.metric
            if v == root:
                # §16.1.1 the next hop calculation: the neighbour's address on the link, from
                # its LSA's link back to us
                via = {Hop(int(w), links_to[w][v], link.link_data)}
            else:
                via = hops[v]
            old = dist.get(w)
            if old is None or nd < old:
                dist[w] = nd
                hops[w] = set(via)
                heapq.heappush(heap, (nd, int(w), w))
            elif nd == old:
                hops[w] |= via
    routes: dict[IPv4Network, SpfRoute] = {}
    for v in sorted(done, key=int):
        for link in by_router[v].links:
            if link.type != LINK_STUB:
                continue
            try:
                net = IPv4Network((int(link.link_id), str(link.link_data)))
            except ValueError:
                continue  # a mask that is not a prefix, or bits beyond it: no route
            cost = dist[v] + link.metric
            hop = None if v == root else min(hops[v])
            old_route = routes.get(net)
            if old_route is None or (cost, _rank(hop)) < (old_route.cost, _rank(old_route.hop)):
                routes[net] = SpfRoute(net, cost, hop)
    return {v: dist[v] for v in done}, routes


def _rank(hop: Hop | None) -> tuple[int, int]:
    return (-1, -1) if hop is None else (hop.neighbor, int(hop.next_hop))


__all__ = ["Hop", "SpfRoute", "shortest_paths"]
