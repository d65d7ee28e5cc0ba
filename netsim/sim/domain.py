"""What the routing domains of the simulation (`RipDomain`, netsim.sim.rip; `OspfDomain`,
netsim.sim.ospf) do whatever the protocol: their processes by router name, link failures and
recoveries at given times (`events`), when the tables settled after each, summed counters."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from typing import Generic, Protocol, TypeVar

from netsim.errors import UsageError
from netsim.node import call_at
from netsim.sim.topology import Network

__all__ = ["RoutingDomain", "convergence_times"]


class _Process(Protocol):
    last_change: float
    counts: Counter[str]

    @property
    def history(self) -> Sequence[tuple[float, object, object, object]]: ...

    def interface_up(self, name: str, now: float) -> None: ...

    def interface_down(self, name: str, now: float) -> None: ...


P = TypeVar("P", bound=_Process)


def convergence_times(events: Iterable[tuple[float, str]],
                      histories: Iterable[Sequence[tuple[float, object, object, object]]]
                      ) -> list[tuple[str, float, float]]:
    """(event, its time, seconds from it to the last route change before the next event) for
    the start (time 0) and each of `events`; `histories`: each process's (time, ...) changes."""
    marks = [(0.0, "start"), *sorted(events)]
    changes = sorted(t for history in histories for t, *_ in history)
    out = []
    for i, (at, what) in enumerate(marks):
        end = marks[i + 1][0] if i + 1 < len(marks) else float("inf")
        last = max((t for t in changes if at <= t < end), default=at)
        out.append((what, at, last - at))
    return out


class RoutingDomain(Generic[P]):
    """The processes of one routing protocol on a network's routers, by name."""

    protocol = "routing"  # its name in messages: "RIP", "OSPF"

    def __init__(self, net: Network, processes: dict[str, P]) -> None:
        self.net = net
        self.processes = processes
        self.events: list[tuple[float, str]] = []  # (time, "fail r1-r2" / "restore r1-r2")

    def __getitem__(self, name: str) -> P:
        try:
            return self.processes[name]
        except KeyError:
            raise UsageError(f"router: no {self.protocol} process on {name!r}") from None

    def __iter__(self) -> Iterator[P]:
        return iter(self.processes.values())

    def converged_at(self) -> float:
        """When a routing table last changed anywhere (the convergence time, once quiet)."""
        return max(p.last_change for p in self.processes.values())

    def convergence(self) -> list[tuple[str, float, float]]:
        """(event, its time, seconds until the last table change it caused) for the start
        and each failure or recovery: the last change before the next event."""
        return convergence_times(self.events, [p.history for p in self])

    def messages(self) -> dict[str, int]:
        """The protocol's counters summed over every router."""
        total: dict[str, int] = {}
        for p in self.processes.values():
            for key, n in p.counts.items():
                total[key] = total.get(key, 0) + n
        return total

    def fail_link(self, a: str, b: str, at: float | None = None, detect: bool = True) -> None:
        """At time `at` (now if None) the link a-b stops carrying frames. `detect`: both
        routers see their interface go down at once; otherwise the protocol finds out by
        itself (RIP: when the routes through it time out, 180 s; OSPF: when the neighbour's
        Hellos stop for RouterDeadInterval)."""
        self._set(a, b, False, at, detect)

    def restore_link(self, a: str, b: str, at: float | None = None) -> None:
        self._set(a, b, True, at, True)

    def _set(self, a: str, b: str, up: bool, at: float | None, detect: bool) -> None:
        for name in (a, b):
            if name not in self.processes:
                raise UsageError(f"link: no {self.protocol} router named {name!r}")
        if f"to-{b}" not in self.net.node(a).stack.interfaces:
            raise UsageError(f"link: {a} and {b} are not neighbours")
        env = self.net.world.env
        when = env.now if at is None else at
        if when < env.now:
            raise UsageError(f"at: {at} is in the past (now {env.now})")
        ends = ((a, f"to-{b}"), (b, f"to-{a}"))
        self.events.append((when, f"{'restore' if up else 'fail'} {a}-{b}"))

        def act(_ev: object) -> None:
            for router, ifname in ends:
                self.net.node(router).stack.interfaces[ifname].up = up
            if detect:
                for router, ifname in ends:
                    if up:
                        self.processes[router].interface_up(ifname, env.now)
                    else:
                        self.processes[router].interface_down(ifname, env.now)

        call_at(env, when, act)
