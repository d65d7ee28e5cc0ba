"""Differential check of assignment 12: the distance-vector router's table against netsim's
`DvTable` (netsim/stack/dv.py).

A router with three interfaces is built (split horizon poisoned reverse, simple or off;
the RFC 2453 timers, or scaled down to 6 s and 4 s) and its three networks connected
(``connect``); then sequences interleave vectors received from four neighbours (two on eth0,
a LAN, one on each other interface) about seven networks, with metrics 1 to 16 and link costs
1, 2 or 5, with ``interface_down`` (and the network connected again; no vector arrives on an
interface while it is down, as the RIP process takes none there), ``export`` of the
vector for an interface or for a querier (``None``), whole or the changed routes only, and
``updates_sent``. Time goes on by nothing, a little, half the timeout, or to exactly when a
route times out or is garbage collected; ``expire(t)`` is called at the end of every timer
that time passes (in order, before the next call), as the RIP process wakes for each one.
After each call it compares the table (its rows in any order), what ``export`` returned (in
any order) and, after ``expire``, ``deadline()``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from netsim.grading.differential.spec import (
    Call,
    Example,
    Mismatch,
    Observation,
    Spec,
    more,
    pick,
)
from netsim.grading.differential.values import plain, show
from netsim.stack.dv import INFINITY, DvTable

#: interface -> (its network, the neighbours on it)
INTERFACES = {"eth0": ("10.0.0.0/24", ("10.0.0.2", "10.0.0.3")),
              "eth1": ("10.0.1.0/24", ("10.0.1.2",)),
              "eth2": ("10.0.2.0/24", ("10.0.2.2",))}
REMOTE = ["10.1.0.0/16", "10.2.0.0/16", "192.168.7.0/24", "172.16.0.0/12"]
NETWORKS = [*REMOTE, *(net for net, _ in INTERFACES.values())]
CONNECTED_COST = 1

RULES = {
    "deadline": "after expire(now), deadline() gives the time the next timer ends (a "
                "timeout or a garbage collection), None when none runs (RFC 2453 §3.8 timers)",
    "returned": "export(interface, changed_only) gives every route (or only those whose "
                "route change flag is set) with its metric, and split horizon on routes "
                "learned through `interface`: left out (simple), metric 16 (poisoned reverse) "
                "or as they are (off) (RFC 2453 §3.10.2 generating response messages, "
                "§3.4.3 split horizon)",
    "table": "table() returns a list of (network, metric, next hop or None, interface) "
             "rows",
    "route": "after each call the table holds the routes of RFC 2453 §3.9.2 response "
             "messages (metric + cost capped at 16; a new network below 16 entered; a lower "
             "metric from anyone, or any change from the current next hop, taken; an equal "
             "one from another neighbour only past half the timeout) and RFC 2453 §3.8 "
             "timers (16 at the timeout or when the next hop says 16 or its interface goes "
             "down; removed garbage_collection seconds later)",
}


def build(factory: Callable[..., Any], params: dict[str, Any]) -> Any:
    """The router with its three networks connected at time 0, as the RIP process starts."""
    router = factory(**params)
    for name, (net, _) in INTERFACES.items():
        router.connect(net, name, CONNECTED_COST, 0.0)
    return router


def _rows(value: Any) -> Any:
    rows = plain(value)
    if isinstance(rows, list | tuple) and all(isinstance(r, list | tuple) for r in rows):
        return sorted((tuple(r) for r in rows), key=repr)
    return rows


_KNOWN = frozenset(NETWORKS)
_CONNECTED = {(net, CONNECTED_COST, None, name) for name, (net, _) in INTERFACES.items()}


def observe(router: Any, call: Call) -> Observation:
    """What export returned, then each route of the table by its network (a connected
    network as it was connected left out: the script shows what changes)."""
    out = getattr(router, call.method)(*call.values())
    obs: Observation = []
    if call.method == "export":
        obs.append(("returned", _rows(out)))
    rows = _rows(router.table())
    if not isinstance(rows, list) or not all(len(r) == 4 and type(r[0]) is str for r in rows):
        return [*obs, ("table", rows)]
    # a label is shown as it is: a network the script never names is escaped and capped
    obs += [(r[0] if r[0] in _KNOWN else show(r[0]), r[1:]) for r in rows
            if r not in _CONNECTED]
    if call.method == "expire":  # (then netsim's answer is exact: the next timer's end)
        obs.append(("deadline", plain(router.deadline())))
    return obs


def _timers(ref: DvTable, now: float) -> list[float]:
    return sorted({t for r in ref.routes.values() for t in (r.expires, r.gc_at)
                   if now < t < float("inf")})


def examples() -> Any:
    from hypothesis import strategies as st

    @st.composite
    def make(draw: Any) -> Example:
        mode = pick(draw, ["poisoned_reverse", "simple", "off"])
        timeout, gc = pick(draw, [(6.0, 4.0), (180.0, 120.0)])
        params = {"split_horizon": mode, "timeout": timeout, "garbage_collection": gc}
        ref = build(DvTable, params)
        now = 0.0
        calls: list[Call] = []
        down: set[str] = set()  # interfaces taken down and not connected again
        while more(draw, len(calls), 18, least=5):
            ends = _timers(ref, now)
            step = pick(draw, [0.0, 1.0, timeout / 2, *(round(t - now, 9) for t in ends[:2]),
                               timeout + gc])
            now = round(now + step, 9)
            # the RIP process wakes at each timer's end (deadline()), never later: expire()
            # at every end that time passes, so no route is timed out or collected late (a
            # late expire(now) would leave open whether garbage collection counts from now
            # or from the timeout's end, which the README does not settle, nor need to)
            due = ref.deadline()
            while due is not None and due <= now:
                ref.expire(due)
                calls.append(Call("expire", (("now", due),)))
                later = ref.deadline()
                if later is not None and later <= due:
                    break  # (the reference's deadline() is exact after expire)
                due = later
            kind = pick(draw, ["receive", "export", "receive", "down", "sent", "receive"])
            iface = pick(draw, list(INTERFACES))
            if kind == "receive" and iface in down:
                # the RIP process takes no message on an interface that is down, and the
                # README says nothing of receive() there: a vector on it means its link is back
                kind = "down"
            if kind == "receive":
                hop = pick(draw, INTERFACES[iface][1])
                vector = []
                for _ in range(pick(draw, [1, 2, 3])):
                    vector.append((pick(draw, NETWORKS), pick(draw, [1, 2, 3, 14, 15, 16, 5])))
                cost = pick(draw, [1, 2, 5])
                args = (("interface", iface), ("neighbour", hop), ("vector", vector),
                        ("cost", cost), ("now", now))
                ref.receive(iface, hop, vector, cost, now)
                calls.append(Call("receive", args))
            elif kind == "export":
                where = pick(draw, [iface, iface, None])
                calls.append(Call("export", (("interface", where),
                                             ("changed_only", pick(draw, [False, True])))))
            elif kind == "sent":
                ref.updates_sent()
                calls.append(Call("updates_sent"))
            elif iface not in down:
                down.add(iface)
                ref.interface_down(iface, now)
                calls.append(Call("interface_down", (("interface", iface), ("now", now))))
            else:  # the interface comes back
                down.discard(iface)
                net = INTERFACES[iface][0]
                ref.connect(net, iface, CONNECTED_COST, now)
                calls.append(Call("connect", (("network", net), ("interface", iface),
                                              ("cost", CONNECTED_COST), ("now", now))))
        return Example(tuple(params.items()), tuple(calls))

    return make()


def diagnose(m: Mismatch) -> str | None:
    """Names the mistakes the random sequences find most often."""
    want, got = dict(m.want), dict(m.got)
    call = m.calls[-1] if m.calls else None
    if call is None or "table" in got or "raised" in got:
        return None
    if call.method == "export" and m.differs == ["returned"] and dict(call.args)["changed_only"]:
        return ("with changed_only=True, only the routes whose change flag is set: set when a "
                "route is entered or changes (metric, next hop, 16 at a timeout or a "
                "deletion), cleared for all by updates_sent()")
    if call.method == "export" and m.differs == ["returned"]:
        mode = dict(m.params).get("split_horizon")
        return (f"split horizon is {mode!r} here: a route learned through the interface the "
                "vector goes out of is left out (simple), sent with 16 (poisoned_reverse) or "
                "sent as it is (off); connected networks are always sent as they are")
    for label in m.differs:
        g = got.get(label)
        if isinstance(g, tuple) and g and type(g[0]) is int and g[0] > INFINITY:
            return "a metric is never above 16: min(metric + cost, 16)"
    if m.differs == ["deadline"]:
        w, g = want.get("deadline"), got.get("deadline")
        if isinstance(w, int | float) and isinstance(g, int | float) and g > w and \
                _refreshed_by_another(m):
            return ("a timeout restarts only when the route's current next hop announces it "
                    "(below 16); the same metric from another neighbour changes nothing")
        return "the earliest end of any route's timer: its timeout, or its garbage collection"
    if call.method == "expire":
        return ("a learned route times out at exactly its last refresh + timeout (metric 16), "
                "and is removed garbage_collection seconds after that")
    if call.method != "receive":
        return None
    args = dict(call.args)
    sent = dict(args["vector"])
    before = dict(m.agreed[-1]) if m.agreed else {}
    for label in m.differs:
        w, g = want.get(label), got.get(label)
        if label not in sent or not isinstance(g, tuple) or len(g) != 3:
            continue
        if g[0] == sent[label] and sent[label] < INFINITY:
            return "add the cost of the link the vector came over to each metric"
        if isinstance(w, tuple) and w[1] != args["neighbour"] and g[1] == args["neighbour"]:
            return ("a route changes to another neighbour only for a LOWER metric (or an "
                    "equal one once the route is half-way to its timeout)")
        p = before.get(label)
        if isinstance(w, tuple) and isinstance(p, tuple) and w[1] == p[1] == \
                args["neighbour"] and w[0] > p[0] and g == p:
            return ("the current next hop reporting a worse metric (or 16) is believed: its "
                    "route is the one in use, so the metric goes up")
    return None


def _refreshed_by_another(m: Mismatch) -> bool:
    """Whether an earlier vector offered a route's metric from a neighbour other than its next
    hop (which must not restart its timeout)."""
    for i, call in enumerate(m.calls[:-1]):
        if call.method != "receive" or i == 0 or i > len(m.agreed):
            continue
        args = dict(call.args)
        table = dict(m.agreed[i - 1])
        for net, metric in args["vector"]:
            row = table.get(net)
            if isinstance(row, tuple) and len(row) == 3 and row[1] is not None and \
                    row[1] != args["neighbour"] and min(metric + args["cost"], INFINITY) == row[0]:
                return True
    return False


def valid_for(params: tuple[tuple[str, Any], ...], calls: Any) -> bool:
    """Whether a sequence (once the final pass dropped some calls) is still one the RIP
    process could make: it never runs past a timer's end without expire() at that end (a
    late expire(), which the README leaves open), and it never gives receive() a vector on an
    interface that is down (RipProcess._on_datagram takes none; the README says nothing of
    it)."""
    ref = build(DvTable, dict(params))
    down: set[str] = set()
    for call in calls:
        args = dict(call.args)
        now = args.get("now")
        due = ref.deadline()
        if now is not None and due is not None and \
                (due < now or due == now and call.method != "expire"):
            return False
        if call.method == "interface_down":
            down.add(args["interface"])
        elif call.method == "connect":
            down.discard(args["interface"])
        elif call.method == "receive" and args["interface"] in down:
            return False
        getattr(ref, call.method)(*call.values())
    return True


RULES.update({net: RULES["route"] for net in NETWORKS})


SPEC = Spec("12-dv-router", "dv", "DvRouter", examples, observe, RULES, construct=build,
            diagnose=diagnose, valid=valid_for, references=[DvTable], max_examples=200,
            seed=12)
