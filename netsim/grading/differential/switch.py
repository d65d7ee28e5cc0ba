"""Differential check of assignment 11: the learning switch's table and forwarding decision
against netsim's `LearningTable` (netsim/stack/learning.py).

A switch of 4 ports and an ageing time of 1, 10 or 300 s is built (``add_port(1)`` ...),
then sequences interleave ``receive`` of frames between four stations (each usually on one
port, sometimes moving), to them, to the broadcast address and to two group addresses, with
``lookup``; time goes on by nothing, a little, half the ageing time or to exactly the
moment an entry ages. After each call it compares what was returned: for ``receive`` the
ports the frame leaves by, as a set (their order is free); for ``lookup`` the port or None.
VLAN 1 only: per-VLAN tables are the assignment's stretch part, graded by its own check.
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
from netsim.grading.differential.values import plain
from netsim.stack.learning import LearningTable

#: four stations, 02:00:00:00:00:41 .. 44 (shown as b'\x02\x00\x00\x00\x00A' .. 'D')
STATIONS = [bytes.fromhex(f"02000000004{i}") for i in (1, 2, 3, 4)]
GROUPS = [b"\xff" * 6, bytes.fromhex("01005e0000fb"), bytes.fromhex("333300000002")]

PORTS = 4

RULES = {
    "returned": "(the switch has ports 1 to 4: add_port(1) ... add_port(4) after it is "
                "made) receive() learns the source on the port the frame came in on and returns "
                "the ports it leaves by: a known individual destination's port only, none "
                "when that is the port it came in on, every other port for an unknown or "
                "group destination (IEEE 802.1D: the forwarding and learning processes); an "
                "entry not refreshed by a frame from its address for ageing_time seconds is "
                "gone (IEEE 802.1D: ageing); "
                "lookup() gives the port of a live entry or None",
}


def build(factory: Callable[..., Any], params: dict[str, Any]) -> Any:
    """The switch with its ports added, as netsim's `Bridge` tells it about them."""
    switch = factory(ageing_time=params["ageing_time"])
    for port in range(1, PORTS + 1):
        switch.add_port(port)
    return switch


def observe(switch: Any, call: Call) -> Observation:
    out = getattr(switch, call.method)(*call.values())
    if call.method == "receive":
        ports = plain(out)
        if isinstance(ports, list | tuple) and all(type(p) is int for p in ports):
            return [("returned", sorted(ports))]
        return [("returned", ports)]
    return [("returned", plain(out))]


def examples() -> Any:
    from hypothesis import strategies as st

    @st.composite
    def make(draw: Any) -> Example:
        ageing = pick(draw, [10.0, 300.0, 1.0])
        ports = PORTS
        home = [1 + (i % ports) for i in range(len(STATIONS))]
        ref = build(LearningTable, {"ageing_time": ageing})
        now = 0.0
        calls: list[Call] = []
        while more(draw, len(calls), 16, least=6):
            ends = sorted({e.seen + ageing for t in ref.tables.values() for e in t.values()
                           if e.seen + ageing > now})
            step = pick(draw, [0.0, 0.5, ageing / 2, *(round(t - now, 9) for t in ends[:2]),
                               ageing * 2])
            now = round(now + step, 9)
            kind = pick(draw, ["receive", "receive", "lookup", "receive"])
            if kind == "lookup":
                calls.append(Call("lookup", (("mac", pick(draw, STATIONS)), ("vlan", 1),
                                             ("now", now))))
                continue
            i = pick(draw, range(len(STATIONS)))
            if pick(draw, [False, False, False, True]):  # the station moves
                home[i] = pick(draw, range(1, ports + 1))
            dst = pick(draw, [*STATIONS, *GROUPS])
            call = Call("receive", (("port", home[i]), ("src", STATIONS[i]), ("dst", dst),
                                    ("vlan", 1), ("now", now)))
            ref.receive(home[i], STATIONS[i], dst, 1, now)
            calls.append(call)
        return Example((("ageing_time", ageing),), tuple(calls))

    return make()


def diagnose(m: Mismatch) -> str | None:
    """Names the mistakes the random sequences find most often."""
    want, got = dict(m.want).get("returned"), dict(m.got).get("returned")
    call = m.calls[-1] if m.calls else None
    if call is None or call.method != "receive" or not isinstance(got, list):
        return None
    port = call.values()[0]
    if port in got:
        return "a frame never leaves by the port it came in on"
    dst = call.values()[2]
    if isinstance(want, list) and len(want) > 1 and len(got) == 1 and isinstance(dst, bytes) \
            and not dst[0] & 1:
        return "the destination is not in the table here (never learned as a source, or aged " \
               "out: gone when now >= seen + ageing_time, with the `now` given): flood it"
    if isinstance(want, list) and len(want) > 1 and len(got) < len(want):
        return "a frame to an unknown, broadcast or multicast address is flooded: it " \
               "leaves by every port but the one it came in on"
    return None


SPEC = Spec("11-learning-switch", "switch", "LearningSwitch", examples, observe, RULES,
            construct=build, diagnose=diagnose,
            references=[LearningTable], max_examples=120, seed=11)
