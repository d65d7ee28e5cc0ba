"""A router topology from a TOML file or a networkx graph: the links, and each link's cost.

    edges, costs = read_topology("ring.toml")
    net = routers_from_edges(world, edges)            # netsim.sim.rip (RIP and OSPF alike)
    ospf = enable_ospf(net, costs=costs)              # netsim.sim.ospf

The file lists one ``[[link]]`` table per link; ``cost`` is optional (1 when left out):

    [[link]]
    a = "r1"
    b = "r2"
    cost = 10

`edges_from_graph` takes any graph with ``.edges(data=True)`` (networkx's), the cost from each
edge's ``cost`` or else ``weight`` attribute. Nothing here imports networkx.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from netsim.errors import UsageError

__all__ = ["Costs", "edges_from_graph", "parse_topology", "read_topology"]

Costs = dict[tuple[str, str], int]  # (a, b) as listed: the cost both ways


def _cost(value: Any, where: str) -> int:
    if type(value) is not int or not 1 <= value <= 0xFFFF:
        raise UsageError(f"{where}: cost {value!r} is not an integer in 1..65535")
    return value


def _add(edges: list[tuple[str, str]], costs: Costs, a: Any, b: Any, cost: Any,
         where: str) -> None:
    if not isinstance(a, str | int) or not isinstance(b, str | int) or str(a) == str(b) \
            or not str(a) or not str(b):
        raise UsageError(f"{where}: {a!r}-{b!r} is not a link between two named routers")
    edges.append((str(a), str(b)))
    if cost is not None:
        costs[(str(a), str(b))] = _cost(cost, where)


def parse_topology(text: str, name: str = "topology") -> tuple[list[tuple[str, str]], Costs]:
    """The links and costs in TOML text (see the module's docstring)."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{name}: not valid TOML: {exc}") from None
    unknown = set(doc) - {"link"}
    if unknown:
        raise UsageError(f"{name}: unknown key(s) {', '.join(sorted(unknown))}; a topology "
                         "lists [[link]] tables")
    links = doc.get("link")
    if not isinstance(links, list) or not links:
        raise UsageError(f"{name}: no [[link]] tables (each with a, b and optionally cost)")
    edges: list[tuple[str, str]] = []
    costs: Costs = {}
    for i, link in enumerate(links, 1):
        where = f"{name}: link {i}"
        extra = set(link) - {"a", "b", "cost"}
        if extra or "a" not in link or "b" not in link:
            raise UsageError(f"{where}: needs a and b (and may have cost); got "
                             f"{', '.join(sorted(link))}")
        _add(edges, costs, link["a"], link["b"], link.get("cost"), where)
    return edges, costs


def read_topology(path: str | Path) -> tuple[list[tuple[str, str]], Costs]:
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as exc:
        raise UsageError(f"topology: cannot read {str(p)!r}: {exc.strerror}") from None
    return parse_topology(text, p.name)


def edges_from_graph(graph: Any) -> tuple[list[tuple[str, str]], Costs]:
    """The links of a networkx graph, with costs from the edges' ``cost`` or ``weight``."""
    edges: list[tuple[str, str]] = []
    costs: Costs = {}
    try:
        items = list(graph.edges(data=True))
    except (AttributeError, TypeError):
        raise UsageError("graph: not a graph with .edges(data=True) (networkx's)") from None
    for a, b, data in items:
        cost = data.get("cost", data.get("weight"))
        _add(edges, costs, a, b, cost, f"graph: edge {a}-{b}")
    return edges, costs
