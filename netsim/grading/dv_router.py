"""Grader for assignment 12-dv-router: the table of a distance-vector router (RIP-like,
RFC 2453).

The student's class has the `netsim.stack.dv.DistanceVector` interface and the constructor
``DvRouter(split_horizon="poisoned_reverse", timeout=180.0, garbage_collection=120.0)``;
``table()`` and ``export()`` return lists (checked here, then compared in any order),
``deadline()`` a time or None. Expected answers come from netsim's `DvTable` fed the same
calls. The scripted checks and the simulation put it in every router of a simulated network
running RIP (``RipProcess.set_table``, netsim/grading/dv_router_sim.py).
"""

from __future__ import annotations

from netsim.grading.differential import check_fn as differential_check
from netsim.grading.dv_router_pair import LAN, N1, N2, N3, P2P, A, B, C, Pair, rows_of
from netsim.grading.dv_router_sim import check_converge, check_count_to_infinity, check_simulation
from netsim.grading.framework import Assignment, Check, Context

NEW = ("a network not in the table is entered with its metric plus the cost of the link it "
       "came over, the neighbour as next hop and the interface it came on, when that is below "
       "16 (RFC 2453 §3.9.2 response messages)")
COST = "add the link's cost (the `cost` argument) to every metric received"
CAP = ("metric + cost is capped at 16, infinity: never above 16, and a new network at 16 is "
       "not entered (RFC 2453 §3.9.2 response messages)")
BETTER = ("a route changes to another neighbour only for a LOWER metric: a worse or equal "
          "one from a neighbour that is not the next hop is ignored (RFC 2453 §3.9.2 response "
          "messages)")
SAME_HOP = ("news from the route's current next hop is always taken, worse too: a higher "
            "metric replaces the route's, and 16 starts the deletion process (metric 16, "
            "garbage collection timer) (RFC 2453 §3.9.2 response messages, §3.8 timers)")
HORIZON = ("split horizon on the interface the vector goes out of: a route learned through it "
           "is left out (simple), sent with metric 16 (poisoned_reverse) or sent as it is "
           "(off); connected networks and a vector for no interface (None) as they are "
           "(RFC 2453 §3.4.3 split horizon)")
TIMEOUT = ("a learned route times out at exactly its last update from its next hop + timeout: "
           "metric 16, then it is removed garbage_collection seconds later, at exactly that "
           "time; an update from another neighbour does not refresh it (RFC 2453 §3.8 timers)")

FIRST_16 = ("the deletion process starts only when a route's metric is FIRST set to 16: a route "
            "already at 16 keeps its garbage-collection timer, whatever arrives at 16 or goes "
            "down (RFC 2453 §3.9.2 response messages)")


# --------------------------------------------------------------------------------- checks
def check_learn_new(ctx: Context) -> None:
    p = Pair(ctx)
    p.rx("eth0", A, [(N1, 1), (N2, 3)], 1, 1.0)
    p.table(NEW, COST if any(r[:2] in ((N1, 1), (N2, 3)) for r in rows_of(p.dv.table()))
            else None)
    p.rx("eth1", C, [(N3, 4)], 2, 2.0)
    p.table(NEW, COST)


def check_infinity(ctx: Context) -> None:
    p = Pair(ctx)
    p.rx("eth0", A, [(N1, 15), (N2, 16)], 1, 1.0)
    p.table(CAP, "15 + 1 is 16: unreachable, so N1 is not entered")
    p.rx("eth0", A, [(N3, 14)], 5, 2.0)
    p.table(CAP, "min(14 + 5, 16) is 16")
    p.rx("eth1", C, [(N1, 3)], 1, 3.0)
    p.rx("eth1", C, [(N1, 15)], 2, 4.0)
    p.table(CAP + "; from the next hop, 16 starts the deletion process", "min(15 + 2, 16)")


def check_better_route(ctx: Context) -> None:
    p = Pair(ctx)
    p.rx("eth0", A, [(N1, 2), (N2, 2)], 1, 1.0)
    p.rx("eth1", C, [(N1, 1)], 1, 2.0)
    p.table(BETTER, "a lower metric from another neighbour replaces the route")
    p.rx("eth0", A, [(N1, 5)], 1, 3.0)
    p.table(BETTER, "A is not N1's next hop any more: its worse metric is ignored")
    p.rx("eth0", B, [(N2, 2)], 1, 4.0)
    p.table(BETTER, "an equal metric from another neighbour changes nothing (until the route "
            "is half-way to its timeout)")


def check_next_hop_worse(ctx: Context) -> None:
    p = Pair(ctx, timeout=6.0, gc=4.0)
    p.rx("eth0", A, [(N1, 1), (N2, 2)], 1, 1.0)
    p.rx("eth0", A, [(N1, 4)], 1, 2.0)
    p.table(SAME_HOP, "A is N1's next hop: when A says worse, the route is worse")
    p.rx("eth0", A, [(N2, 16)], 1, 3.0)
    p.table(SAME_HOP, "A says N2 is unreachable: N2 goes to 16 (kept until garbage collection)")
    p.call("expire", 6.999)
    p.table(SAME_HOP + "; the garbage collection runs from the 16", TIMEOUT)
    p.call("expire", 7.0)
    p.table(SAME_HOP + "; removed garbage_collection seconds after the 16", TIMEOUT)


def check_connected_stays(ctx: Context) -> None:
    p = Pair(ctx, lan_cost=3)
    rule = ("a directly connected network keeps its route: nothing a neighbour says changes "
            "it, a lower metric neither (RIP's response processing: routes learned from "
            "neighbours only)")
    p.rx("eth1", C, [(LAN, 1)], 1, 1.0)
    p.table(rule, "skip an entry for a network whose route has no next hop (connected)")
    p.rx("eth0", A, [(P2P, 16)], 1, 2.0)
    p.table(rule)


def check_split_horizon(ctx: Context) -> None:
    for mode in ("poisoned_reverse", "simple", "off"):
        p = Pair(ctx, split_horizon=mode)
        p.rx("eth0", A, [(N1, 1)], 1, 1.0)
        p.rx("eth1", C, [(N2, 2)], 1, 1.0)
        p.rx("eth0", A, [(N3, 1)], 1, 1.0)
        p.rx("eth0", A, [(N3, 16)], 1, 1.5)
        hint = {"poisoned_reverse": "routes learned on eth0 go out of eth0 with metric 16",
                "simple": "routes learned on eth0 are left out of eth0's vector, those at 16 "
                          "(N3) too",
                "off": "every route as it is, even back where it came from (this is how "
                       "two routers count to infinity)"}[mode]
        p.export("eth0", False, HORIZON, hint)
        p.export("eth1", False, HORIZON, hint)
        p.export(None, False, HORIZON, "None: a querier on no interface, no split horizon")


def check_triggered(ctx: Context) -> None:
    p = Pair(ctx, timeout=6.0, gc=4.0)
    rule = ("export(..., changed_only=True) gives only the routes whose route change flag is "
            "set: set when a route is entered or changes (metric, next hop, 16), cleared for "
            "all by updates_sent() (RFC 2453 §3.10.1 triggered updates)")
    p.rx("eth0", A, [(N1, 1), (N2, 2)], 1, 1.0)
    p.export("eth1", True, rule, "new routes and the connected networks are changes")
    p.export("eth0", True, rule + "; split horizon applies to triggered updates too (RFC 2453 "
             "§3.10.1 triggered updates)", "N1 and N2 were learned on eth0: poisoned (16) in "
             "eth0's triggered update, as in a regular one")
    p.call("updates_sent")
    p.export("eth1", True, rule, "updates_sent() clears every flag")
    p.rx("eth0", A, [(N1, 1), (N2, 3)], 1, 2.0)
    p.export("eth1", True, rule, "N1 was refreshed, unchanged: not flagged; N2 changed")
    p.call("updates_sent")
    p.rx("eth0", A, [(N1, 1)], 1, 5.5)
    p.export("eth1", True, rule, "N1 was refreshed by its next hop, same metric, when half-way "
             "to its timeout: unchanged, not flagged (the half-way heuristic is for another "
             "neighbour)")
    p.call("updates_sent")
    p.call("expire", 8.0)
    p.export("eth1", True, rule, "a route that times out changes (to 16)")


def check_timeout(ctx: Context) -> None:
    p = Pair(ctx, timeout=6.0, gc=4.0)
    p.rx("eth0", A, [(N1, 1), (N2, 1)], 1, 0.0)
    p.rx("eth0", A, [(N1, 1)], 1, 2.0)
    p.rx("eth0", B, [(N2, 1)], 1, 2.5)
    p.call("expire", 5.999)
    p.table(TIMEOUT, "keep when each route was last refreshed; compare with `now`")
    p.call("expire", 6.0)
    p.table(TIMEOUT, "N2 was last refreshed by its next hop A at 0: it times out at 6 (B "
            "is not its next hop)")
    p.call("expire", 8.0)
    p.table(TIMEOUT, "N1, refreshed at 2, times out at exactly 8")
    p.call("expire", 10.0)
    p.table(TIMEOUT, "removed at exactly 6 + garbage_collection")
    p = Pair(ctx, timeout=6.0, gc=4.0)
    p.rx("eth0", A, [(N3, 2)], 1, 0.0)
    p.rx("eth1", C, [(N3, 1)], 1, 2.0)
    p.call("expire", 6.0)
    p.table(TIMEOUT, "N3 moved to C at 2 (a lower metric): C's update starts a new timeout, "
            "to 8; A's timer (6) no longer counts")


def check_deadline(ctx: Context) -> None:
    p = Pair(ctx, timeout=6.0, gc=4.0)
    rule = ("deadline() gives a time no later than the next timeout or garbage collection "
            "(the RIP process calls expire() then), None when no timer runs")
    p.deadline(rule, "connected networks never time out", exact=True)
    p.rx("eth0", A, [(N1, 1)], 1, 1.0)
    p.deadline(rule, "N1 times out at 7", exact=False)
    p.call("expire", 7.0)
    p.deadline(rule, "N1 is at 16 now: it is removed at 11", exact=True)
    p.call("expire", 11.0)
    p.deadline(rule, "nothing is left to time out", exact=True)
    p.rx("eth0", A, [(N2, 1)], 1, 12.0)
    p.rx("eth0", A, [(N2, 16)], 1, 13.0)
    p.deadline(rule, "A said 16 at 13: N2's garbage collection ends at 17, sooner than its "
               "timeout would have (18); a timer started by receive() or interface_down() "
               "counts too, not only those expire() starts", exact=False)


def check_garbage_collection(ctx: Context) -> None:
    p = Pair(ctx, timeout=6.0, gc=4.0)
    rule = ("during garbage collection a route at 16 is replaced by any route below 16 to its "
            "network (from any neighbour), which stops the garbage collection (RFC 2453 "
            "§3.9.2 response messages, §3.8 timers)")
    p.rx("eth0", A, [(N1, 1)], 1, 0.0)
    p.call("expire", 6.0)
    p.rx("eth1", C, [(N1, 3)], 1, 7.0)
    p.table(rule, "N1 at 16 is replaced by C's route, metric 4")
    p.call("expire", 10.0)
    p.table(rule, "the new route is not garbage collected: it times out at 7 + 6")
    p = Pair(ctx, timeout=6.0, gc=4.0)
    p.rx("eth0", A, [(N1, 1)], 1, 0.0)
    p.call("expire", 6.0)
    p.rx("eth0", A, [(N1, 16)], 1, 7.0)
    p.rx("eth0", B, [(N1, 16)], 1, 7.5)
    p.call("expire", 10.0)
    p.table(FIRST_16, "N1 timed out at 6: removed at 10, though its next hop said 16 again at 7 "
            "and B said 16 at 7.5")


def check_interface_down(ctx: Context) -> None:
    p = Pair(ctx)
    rule = ("when an interface goes down, every route through it (its connected network too) "
            "goes to 16 at once, the deletion process (RFC 2453 §3.8 timers); connect() "
            "brings its network back")
    p.rx("eth0", A, [(N1, 1)], 1, 1.0)
    p.rx("eth1", C, [(N2, 1)], 1, 1.0)
    p.call("interface_down", "eth0", 2.0)
    p.table(rule)
    p.call("updates_sent")
    p.call("connect", LAN, "eth0", 1, 3.0)
    p.table(rule)
    p.export("eth1", True, rule + "; the network connected again is a change: its route change "
             "flag is set, for the triggered update", "LAN is back at metric 1: announce it")
    p.call("interface_down", "eth0", 4.0)
    p.call("expire", 124.0)
    p.rx("eth1", C, [(LAN, 1)], 1, 125.0)
    p.table(rule, "eth0's network, garbage collected at 124, is learned from C like any other")
    p.call("connect", LAN, "eth0", 1, 126.0)
    p.table(rule, "eth0 is back: its network is directly connected again, whatever route to "
            "it was learned meanwhile (connect() replaces it)")
    p = Pair(ctx, timeout=6.0, gc=4.0)
    p.rx("eth1", C, [(N2, 1)], 1, 0.0)
    p.call("expire", 6.0)
    p.call("interface_down", "eth1", 8.0)
    p.call("expire", 10.0)
    p.table(rule + "; " + FIRST_16, "N2 timed out at 6: removed at 10, though its interface "
            "went down at 8")


def check_halfway(ctx: Context) -> None:
    p = Pair(ctx, timeout=6.0, gc=4.0)
    rule = ("stretch: an equal metric from another neighbour replaces the route when the "
            "route is at least half-way to its timeout (the heuristic of RFC 2453 §3.9.2 "
            "response messages): timeout - (now - last update) <= timeout / 2")
    p.rx("eth0", A, [(N1, 2)], 1, 0.0)
    p.rx("eth1", C, [(N1, 2)], 1, 2.9)
    p.table(rule, "at 2.9 the route has 3.1 s left of 6: keep it")
    p.rx("eth0", B, [(N1, 3)], 1, 3.0)
    p.table(rule + "; a WORSE metric from another neighbour is ignored, half-way or not",
            "B's metric 4 is worse than 3: the heuristic is for an equal metric only")
    p.rx("eth1", C, [(N1, 2)], 1, 3.0)
    p.table(rule, "at 3.0 it has 3 s left, half of 6: C's equal route replaces it")


ASSIGNMENT = Assignment(
    name="12-dv-router",
    title="A distance-vector router: Bellman-Ford, split horizon, timers (RIP-like)",
    filename="dv_router.py",
    target="DvRouter",
    reference="netsim.stack.dv:DvTable",
    returns={"table()": (list, tuple), "export()": (list, tuple),
             "deadline()": (int, float, None)},
    checks=(
        Check("learn_new", 1, check_learn_new,
              "a new network: metric + link cost, via the neighbour that sent it"),
        Check("infinity", 1, check_infinity, "metric + cost capped at 16, infinity"),
        Check("better_route", 2, check_better_route,
              "only a lower metric moves a route to another neighbour"),
        Check("next_hop_worse", 2, check_next_hop_worse,
              "the current next hop's news is taken, worse and 16 too"),
        Check("connected_stays", 1, check_connected_stays,
              "a directly connected network keeps its route"),
        Check("split_horizon", 2, check_split_horizon,
              "export: poisoned reverse, simple split horizon, or off"),
        Check("triggered", 1, check_triggered,
              "triggered updates: the changed routes only, flags cleared"),
        Check("timeout", 2, check_timeout,
              "routes time out after `timeout`, refreshed by their next hop only"),
        Check("deadline", 1, check_deadline, "deadline() names when expire() is due"),
        Check("garbage_collection", 1, check_garbage_collection,
              "a route at 16 is removed later, or replaced by a route below 16"),
        Check("interface_down", 1, check_interface_down,
              "an interface down: its routes to 16; connect() brings it back"),
        Check("halfway", 1, check_halfway,
              "stretch: an equal metric from another neighbour past half the timeout"),
        Check("random_sequences", 3, differential_check("12-dv-router"),
              "random call sequences: after every call the same table as the reference",
              kind="random"),
        Check("converge", 3, check_converge,
              "random graphs, yours in every router: shortest paths, as netsim's",
              kind="scripted"),
        Check("count_to_infinity", 2, check_count_to_infinity,
              "a failed link: counting to infinity with split horizon off, not with it",
              kind="scripted"),
        Check("simulation", 3, check_simulation,
              "10 routers, scaled timers, a link failure: the same route changes as netsim's",
              kind="simulation"),
    ),
)
