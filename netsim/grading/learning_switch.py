"""Grader for assignment 11-learning-switch: the MAC table and forwarding decision of an
Ethernet switch.

The student's class has the `netsim.stack.learning.MacLearning` interface and the constructor
``LearningSwitch(ageing_time=300.0)``; ``receive()`` returns the ports a frame leaves by
(checked here, then compared as a set), ``lookup()`` a port or None. Expected answers come from
netsim's `LearningTable` fed the same calls. The scripted check and the simulation install it
in the switches of a simulated LAN (``Bridge.set_learning``, netsim/grading/
learning_switch_sim.py) and compare every frame on every link with a run on netsim's switches.
"""

from __future__ import annotations

from typing import Any

from netsim.grading.differential import check_fn as differential_check
from netsim.grading.differential.switch import GROUPS, STATIONS
from netsim.grading.differential.values import show
from netsim.grading.framework import Assignment, Check, CheckFailed, Context
from netsim.grading.learning_switch_sim import check_lan, check_simulation
from netsim.stack.learning import LearningTable

A, B, C, D = STATIONS
BCAST, MCAST, MCAST6 = GROUPS
NAMES = {A: "A", B: "B", C: "C", D: "D", BCAST: "BROADCAST", MCAST: "MULTICAST",
         MCAST6: "MULTICAST6"}
LEGEND = ("stations A=02:00:00:00:00:41 B=02:00:00:00:00:42 C=02:00:00:00:00:43 "
          "D=02:00:00:00:00:44; BROADCAST=ff:ff:ff:ff:ff:ff MULTICAST=01:00:5e:00:00:fb "
          "MULTICAST6=33:33:00:00:00:02 (6-byte bytes)")
MAX_PORTS = 64


# ----------------------------------------------------------------------------- values
def ports_of(value: Any, nports: int = MAX_PORTS) -> list[int]:
    """What receive() returned, as a sorted list of port numbers: anything else is a
    `CheckFailed` naming it."""
    if not isinstance(value, list | tuple) or len(value) > MAX_PORTS or not all(
            type(p) is int and 1 <= p <= nports for p in value):
        raise CheckFailed(f"receive() must return a list of port numbers (1..{nports}), the "
                          "ports the frame leaves by", expected="a list such as [2, 3]",
                          got=show(value), hint="return [] when the frame is filtered")
    return sorted(value)


def port_or_none(value: Any, nports: int = MAX_PORTS) -> int | None:
    if value is None:
        return None
    if type(value) is not int or not 1 <= value <= nports:
        raise CheckFailed(f"lookup() must return a port number (1..{nports}) or None",
                          expected="an int or None", got=show(value))
    return value


class Checked:
    """The student's switch (through its proxy) as a `MacLearning` for netsim's `Bridge`:
    every answer is checked before the bridge acts on it."""

    def __init__(self, remote: Any) -> None:
        self.remote = remote
        self.ports = 0

    def add_port(self, port: int) -> None:
        self.ports = max(self.ports, port)
        self.remote.add_port(port)

    def receive(self, port: int, src: bytes, dst: bytes, vlan: int, now: float) -> list[int]:
        return ports_of(self.remote.receive(port, bytes(src), bytes(dst), vlan, now),
                        self.ports)

    def lookup(self, mac: bytes, vlan: int, now: float) -> int | None:
        return port_or_none(self.remote.lookup(bytes(mac), vlan, now), self.ports)


# ----------------------------------------------------------------------------- helpers
class Pair:
    """The student's switch and netsim's, fed the same calls; each answer compared."""

    def __init__(self, ctx: Context, ports: int = 4, ageing: float | None = None) -> None:
        self.ctx = ctx
        self.nports = ports
        ctx.step(LEGEND)
        if ageing is None:
            ctx.step(f"sw = {ctx.target_name}()")
            self.sw = ctx.target()()
        else:
            ctx.step(f"sw = {ctx.target_name}(ageing_time={ageing:g})")
            self.sw = ctx.target()(ageing_time=ageing)
        self.ref = LearningTable(300.0 if ageing is None else ageing)
        ctx.step(f"sw.add_port(1) ... sw.add_port({ports})")
        for p in range(1, ports + 1):
            self.sw.add_port(p)
            self.ref.add_port(p)

    def add_port(self, port: int) -> None:
        """A port plugged in later (README: add_port is called again then)."""
        self.ctx.step(f"sw.add_port({port})")
        self.sw.add_port(port)
        self.ref.add_port(port)
        self.nports = max(self.nports, port)

    def rx(self, port: int, src: bytes, dst: bytes, now: float, rule: str,
           hint: str | None = None, vlan: int = 1) -> list[int]:
        got = ports_of(self.sw.receive(port, src, dst, vlan, now), self.nports)
        want = sorted(self.ref.receive(port, src, dst, vlan, now))
        self.ctx.step(f"sw.receive({port}, src={NAMES[src]}, dst={NAMES[dst]}, vlan={vlan}, "
                      f"now={now:g}) -> {got}")
        if got != want:
            if not got and len(want) > 1 and not dst[0] & 1 and \
                    port_or_none(self.sw.lookup(dst, vlan, now), self.nports) == port:
                hint = (f"lookup({NAMES[dst]}) gives {port}: the DESTINATION was learned on "
                        "the port the frame came in on; learn the source (src)")
            raise CheckFailed(rule, expected=str(want), got=str(got),
                              hint=hint or _hint(port, want, got))
        return got

    def lookup(self, mac: bytes, now: float, rule: str, hint: str | None = None,
               vlan: int = 1) -> None:
        got = port_or_none(self.sw.lookup(mac, vlan, now), self.nports)
        want = self.ref.lookup(mac, vlan, now)
        self.ctx.step(f"sw.lookup({NAMES[mac]}, vlan={vlan}, now={now:g}) -> {got}")
        if got != want:
            raise CheckFailed(rule, expected=str(want), got=str(got), hint=hint)


def _hint(port: int, want: list[int], got: list[int]) -> str | None:
    if port in got:
        return "a frame never leaves by the port it came in on"
    if len(want) > 1 and not got:
        return "a frame the switch cannot place is flooded, not dropped"
    return None


FLOOD = ("a frame to an address not in the table is flooded: it leaves by every port but the "
         "one it came in on, never back out of that one (IEEE 802.1D: the forwarding process)")
GROUP = ("a frame to the broadcast or a multicast (group) address is flooded to every port "
         "but the one it came in on, whatever the table holds (IEEE 802.1D: the forwarding "
         "process)")
KNOWN = ("a frame to an address in the table leaves by that address's port only "
         "(IEEE 802.1D: the forwarding process)")
LEARN = ("the SOURCE address of each frame is learned on the port the frame came in on "
         "(IEEE 802.1D: the learning process)")
AGEING = ("an entry not refreshed for ageing_time seconds is gone: alive while now < seen + "
          "ageing_time, gone at exactly now = seen + ageing_time (IEEE 802.1D: ageing); "
          "now is the simulated time given to each call")
AGEING_HINT = ("keep the time each entry was last refreshed and compare it with the `now` "
               "argument (never the computer's clock): gone when now >= seen + ageing_time")


# --------------------------------------------------------------------------------- checks
def check_unknown_flooded(ctx: Context) -> None:
    p = Pair(ctx)
    p.rx(1, A, B, 0.0, FLOOD)
    p.rx(3, C, D, 1.0, FLOOD)
    p.rx(4, D, B, 2.0, FLOOD)  # B has sent nothing yet: still unknown
    p.add_port(5)  # plugged in after frames have flowed: floods reach it too
    p.rx(1, A, B, 3.0, FLOOD, "a port added later (add_port) is one of the ports to flood to")


def check_learn_source(ctx: Context) -> None:
    p = Pair(ctx)
    p.rx(1, A, B, 0.0, FLOOD)
    src_hint = None
    if port_or_none(p.sw.lookup(B, 1, 0.0), p.nports) == 1:
        src_hint = "lookup(B) gives 1: the DESTINATION was learned; learn the source (src)"
    p.lookup(A, 0.0, LEARN, src_hint)
    group_hint = ("the I/G (group) bit is the lowest bit of the FIRST byte (dst[0] & 1): is "
                  "your test for a group address right?")
    p.rx(2, B, A, 1.0, KNOWN, group_hint)
    p.rx(1, A, B, 2.0, KNOWN, group_hint)
    p.lookup(B, 2.0, LEARN)


def check_group_flooded(ctx: Context) -> None:
    p = Pair(ctx, ports=5)
    for now, (port, mac) in enumerate(((1, A), (2, B), (3, C), (4, D))):
        p.rx(port, mac, BCAST, float(now), GROUP)
    ctx.step("(nothing was learned on port 5)")
    p.rx(1, A, BCAST, 5.0, GROUP)
    p.rx(2, B, MCAST, 6.0, GROUP)
    p.rx(3, C, MCAST6, 7.0, GROUP)


def check_filter_same_port(ctx: Context) -> None:
    p = Pair(ctx)
    ctx.step("(A and B are both behind port 1: another switch or a hub)")
    p.rx(1, A, D, 0.0, FLOOD)
    p.rx(1, B, D, 1.0, FLOOD)
    rule = ("a frame to an address whose port is the one it came in on is filtered "
            "(discarded): receive() returns [] (IEEE 802.1D: the forwarding process)")
    p.rx(1, B, A, 2.0, rule, "the destination is already on that segment: send it nowhere")
    p.rx(1, A, B, 3.0, rule, "the destination is already on that segment: send it nowhere")


def check_station_moves(ctx: Context) -> None:
    p = Pair(ctx)
    p.rx(1, A, D, 0.0, FLOOD)
    p.rx(2, B, A, 1.0, KNOWN)
    ctx.step("(A moves from port 1 to port 3)")
    rule = ("a station that moves is learned on its new port: each frame's source updates "
            "its entry's port, not only new addresses (IEEE 802.1D: the learning process)")
    p.rx(3, A, B, 2.0, KNOWN)
    p.lookup(A, 2.0, rule)
    p.rx(2, B, A, 3.0, rule)


def check_ageing(ctx: Context) -> None:
    p = Pair(ctx, ageing=10.0)
    p.rx(1, A, B, 0.0, FLOOD)
    p.lookup(A, 9.999, AGEING, AGEING_HINT)
    p.rx(2, B, A, 9.5, KNOWN)
    p.lookup(A, 10.0, AGEING, AGEING_HINT)
    p.rx(2, B, A, 10.0, AGEING, AGEING_HINT)
    q = Pair(ctx)
    rule = AGEING + "; the default ageing time is 300 s (IEEE 802.1D: ageing)"
    q.rx(1, A, B, 0.0, FLOOD)
    q.lookup(A, 299.5, rule, "ageing_time=300.0 by default")
    q.lookup(A, 300.0, rule, AGEING_HINT)


def check_refresh(ctx: Context) -> None:
    p = Pair(ctx, ageing=10.0)
    rule = ("every frame FROM an address refreshes its entry: it ages ageing_time seconds "
            "after the last frame from it; a frame to it or a lookup() does not refresh it "
            "(IEEE 802.1D: learning, ageing)")
    p.rx(1, A, B, 0.0, FLOOD)
    p.rx(1, A, C, 8.0, FLOOD)
    p.lookup(A, 15.0, rule, "update the entry's time whenever its address is a source")
    p.rx(2, B, A, 17.9, KNOWN)
    p.lookup(A, 18.0, rule)
    ctx.step("(A sends on port 1 at 19, then moves to port 3 and sends at 25)")
    p.rx(1, A, B, 19.0, KNOWN)
    p.rx(3, A, B, 25.0, KNOWN)
    p.lookup(A, 31.0, rule, "a frame from a station on its new port refreshes the entry's "
             "time as well as its port")


def check_vlan_tables(ctx: Context) -> None:
    p = Pair(ctx)
    rule = ("each VLAN has its own table (independent VLAN learning, as netsim's switch; "
            "IEEE 802.1Q also allows shared tables, this assignment asks for independent "
            "ones): an address learned in VLAN 10 is unknown in VLAN 20, and may sit on "
            "another port there")
    hint = "keep one table per VLAN, e.g. a dict keyed by (vlan, mac)"
    p.rx(1, A, B, 0.0, FLOOD, vlan=10)
    p.lookup(A, 0.5, rule, hint, vlan=20)
    p.rx(3, A, B, 1.0, rule, hint, vlan=20)
    p.lookup(A, 2.0, rule, hint, vlan=10)
    p.lookup(A, 2.0, rule, hint, vlan=20)
    p.rx(2, B, A, 3.0, rule, hint, vlan=10)
    p.rx(4, B, A, 3.0, rule, hint, vlan=20)


ASSIGNMENT = Assignment(
    name="11-learning-switch",
    title="A learning switch: the MAC table, ageing, forward, flood or filter",
    filename="learning_switch.py",
    target="LearningSwitch",
    reference="netsim.stack.learning:LearningTable",
    returns={"receive()": (list, tuple), "lookup()": (int, None)},
    checks=(
        Check("unknown_flooded", 1, check_unknown_flooded,
              "a frame to an unknown address is flooded, never back where it came from"),
        Check("learn_source", 2, check_learn_source,
              "the source is learned; a known destination gets its port only"),
        Check("group_flooded", 1, check_group_flooded,
              "broadcast and multicast go to every other port, learned or not"),
        Check("filter_same_port", 1, check_filter_same_port,
              "a destination on the port the frame came in on: filtered"),
        Check("station_moves", 1, check_station_moves,
              "a station that moves is learned on its new port"),
        Check("ageing", 2, check_ageing,
              "entries age after ageing_time (300 s by default), on the given clock"),
        Check("refresh", 1, check_refresh,
              "frames from an address refresh its entry; frames to it and lookups do not"),
        Check("vlan_tables", 1, check_vlan_tables,
              "stretch: one table per VLAN (independent VLAN learning)"),
        Check("random_sequences", 3, differential_check("11-learning-switch"),
              "random call sequences: after every call the same answers as the reference",
              kind="random"),
        Check("lan_ping", 3, check_lan,
              "a tree of three switches, yours on all: pings, and no flooding once learned",
              kind="scripted"),
        Check("simulation_tcp", 3, check_simulation,
              "yours on every switch, lossy links, ageing: the same frames as netsim's",
              kind="simulation"),
    ),
)
