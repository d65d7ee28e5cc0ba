"""Differential check of assignment 05: the ARP cache against netsim's `ArpTable`.

Sequences over three addresses with a short timeout, a small pending bound and few retries:
lookups and updates exactly at an entry's expiry, polls exactly at a retry's deadline, the
merge flag for known, pending and unknown addresses, queues filled to the bound and beyond,
addresses interleaved. After each call it compares what was returned (requests and failed
resolutions as sets of addresses, held packets in order), ``next_deadline()`` and
``entries(now)``. ``next_deadline()`` may leave out the expiry of entries (the README asks
for the next retry; the reference also wakes for an expiry).

A resource probe then queues 300 packets for one address (max_pending=4: about 4 held), and
learns 300 addresses and starts 300 resolutions that nobody answers,
lets everything expire and fail, and checks what the object still holds.
"""

from __future__ import annotations

from collections.abc import Callable
from ipaddress import IPv4Address
from typing import Any

from netsim.grading.differential.spec import (
    Call,
    DiffOutcome,
    Example,
    Mismatch,
    Observation,
    Spec,
    more,
    pick,
)
from netsim.grading.differential.values import held, plain
from netsim.stack.arp import ArpPoll, ArpTable
from netsim.wire.mac import MacAddress

IPS = [IPv4Address("10.0.0.2"), IPv4Address("10.0.0.3"), IPv4Address("10.0.0.4")]
MACS = [MacAddress("02:00:00:00:00:02"), MacAddress("02:00:00:00:00:0b")]

RULES = {
    "returned": "what the call returns (lookup: the MAC or None once expired; update: the "
                "held packets in order; enqueue: SEND_REQUEST / QUEUED / DROPPED per "
                "address; poll: due requests and failed resolutions)",
    "next_deadline()": "next_deadline() is when the next retry is due (or None)",
    "entries(now)": "entries(now) holds exactly the entries that have not expired "
                    "(an entry lives `timeout` seconds from its last update)",
    "held after expiry": "entries and failed resolutions are released, not kept forever",
}


class _RetriesOnly(ArpTable):
    """Also accepted: next_deadline() only for retries, not for expiries."""

    def next_deadline(self) -> float | None:
        times = [p.next_retry for p in self._pending.values()]
        return min(times) if times else None


class _MergeSeesOnlyLive(ArpTable):
    """Also accepted: update(create=False) treats an expired entry as absent even before it
    has been purged (the reference purges at lookup and poll, so it depends on timing)."""

    def update(self, ip: IPv4Address, mac: MacAddress, now: float,
               create: bool = True) -> list[bytes]:
        entry = self._cache.get(ip)
        if entry is not None and entry[1] <= now:
            del self._cache[ip]
        return super().update(ip, mac, now, create)


class _MergeSeesOnlyLiveRetriesOnly(_MergeSeesOnlyLive, _RetriesOnly):
    pass


class _NeverPurges(_RetriesOnly):
    """Also accepted (by the random sequences; the resource probe then looks at memory):
    expired entries are hidden, not deleted, so update(create=False) may revive one."""

    def lookup(self, ip: IPv4Address, now: float) -> MacAddress | None:
        entry = self._cache.get(ip)
        return None if entry is None or entry[1] <= now else entry[0]

    def poll(self, now: float) -> ArpPoll:
        cache = dict(self._cache)
        result = super().poll(now)
        self._cache = cache
        return result


ACCEPTED = [ArpTable, _RetriesOnly, _MergeSeesOnlyLive, _MergeSeesOnlyLiveRetriesOnly,
            _NeverPurges]


def examples() -> Any:
    from hypothesis import strategies as st

    @st.composite
    def build(draw: Any) -> Example:
        params = {"timeout": pick(draw, [1.0, 0.5, 60.0]), "retries": pick(draw, [3, 1, 2]),
                  "retry_interval": pick(draw, [1.0, 0.25]),
                  "max_pending": pick(draw, [2, 1, 3, 256])}
        ref = ArpTable(**params)
        now = 0.0
        calls: list[Call] = []
        packets = 0
        while more(draw, len(calls), 18, least=8):
            due = [t for t in (ref.next_deadline(),) if t is not None]
            due += [exp for _, exp in ref._cache.values()]  # noqa: SLF001 - trusted reference
            later = [t - now for t in due if t >= now]
            # every time a multiple of 1/8 s (timeouts and intervals too): sums and
            # differences of times are exact in binary, so `now >= updated + timeout` and
            # `now - updated >= timeout` agree (at 0.1 s steps, 2.3 - 1.3 < 1.0)
            now += pick(draw, [round(x, 9) for x in later]
                        + [0.0, 0.125, params["timeout"] / 2, params["retry_interval"],
                           params["timeout"]])
            now = round(now, 9)
            ip = pick(draw, [IPS[0], IPS[0], IPS[1], IPS[2]])
            kind = pick(draw, ["enqueue", "update", "lookup", "poll", "enqueue", "update",
                               "lookup", "entries", "next_deadline"])
            if kind == "enqueue":
                packets += 1
                c = Call("enqueue", (("ip", ip), ("packet", b"p%d" % packets), ("now", now)))
            elif kind == "update":
                c = Call("update", (("ip", ip), ("mac", pick(draw, MACS)), ("now", now),
                                    ("create", pick(draw, [True, False]))))
            elif kind in ("lookup",):
                c = Call("lookup", (("ip", ip), ("now", now)))
            elif kind in ("poll", "entries"):
                c = Call(kind, (("now", now),))
            else:
                c = Call("next_deadline")
            getattr(ref, c.method)(*c.values())
            calls.append(c)
        return Example(tuple(params.items()), tuple(calls))

    return build()


def _poll_result(p: Any) -> Any:
    """An ArpPoll (or, from a proxy, a dict with the same fields) as plain values; requests
    and failed resolutions as sets (sorted): the interface promises no order between
    addresses."""
    def get(name: str) -> Any:
        return p.get(name) if isinstance(p, dict) else getattr(p, name, None)

    requests = sorted(str(ip) for ip in get("requests") or [])
    failed = sorted((str(ip), plain(list(pk))) for ip, pk in get("failed") or [])
    return {"requests": requests, "failed": failed}


def _enqueue_result(e: Any) -> Any:
    """An Enqueue member, its value or its name (from a proxy) as the value."""
    value = plain(e)
    return value.rpartition(".")[2].lower() if isinstance(value, str) else value


def observe(arp: Any, call: Call) -> Observation:
    out = getattr(arp, call.method)(*call.values())
    if call.method == "poll":
        out = _poll_result(out)
    elif call.method == "enqueue":
        out = _enqueue_result(out)
    now = dict(call.args).get("now")
    obs = [("returned", plain(out)), ("next_deadline()", plain(arp.next_deadline()))]
    if now is not None:
        obs.append(("entries(now)", {str(k): str(v) for k, v in arp.entries(now).items()}))
    return obs


def diagnose(m: Mismatch) -> str | None:
    """Released packets right as a set but in another order."""
    want, got = dict(m.want).get("returned"), dict(m.got).get("returned")
    if m.calls and m.calls[-1].method == "update" and isinstance(want, list) and \
            isinstance(got, list) and want != got and sorted(want) == sorted(got):
        return "the right packets in another order: release them in the order they came"
    return None


def valid(params: tuple[tuple[str, Any], ...], calls: Any) -> bool:
    times = [dict(c.args).get("now") for c in calls]
    known = [t for t in times if t is not None]
    return known == sorted(known)


def resource_probe(candidate: Callable[..., Any], size: Callable[[Any], int] = held,
                   n: int = 300) -> DiffOutcome | None:
    """Two measures of what the object holds (by `size`, inside the sandbox for a proxy).
    Pending queue growth: `n` packets for one address nobody answers, with max_pending=4,
    must leave about 4 held, not `n`. After expiry: learn `n` addresses and start `n`
    resolutions nobody answers; once every entry has expired and every resolution failed
    (with polls at each deadline), about nothing is held."""
    params = "timeout=1.0, retries=2, retry_interval=0.5, max_pending=4"
    queue = candidate(timeout=1.0, retries=2, retry_interval=0.5, max_pending=4)
    for i in range(n):
        queue.enqueue(IPS[0], b"%99d" % i, 0.0)
    pending = size(queue)
    calls = n + 1
    if pending > 4 * 100 + 64:
        script = "\n".join([
            "the resource probe (after the random sequences all agreed):",
            f"  arp = ArpCache({params})",
            f"  for i in range({n}): arp.enqueue({IPS[0]}, <100 bytes number i>, now=0.0)",
            f"      held while pending: reference about 400 bytes (the 4 latest packets), "
            f"yours {pending}"])
        message = ("differential check: held while pending differs from netsim's reference "
                   f"(the pending queue keeps at most max_pending packets per address: "
                   f"{pending} bytes or items held for 4 packets of 100 bytes; a dropped "
                   "packet must be forgotten, not kept)")
        return DiffOutcome(False, message + "\n\n" + script, 1, calls, 0.0, None, 0, message,
                           "held while pending <= 464", f"held while pending = {pending}",
                           script)
    arp = candidate(timeout=1.0, retries=2, retry_interval=0.5, max_pending=4)
    for i in range(n):
        arp.update(IPv4Address(f"10.1.{i // 250}.{i % 250 + 1}"), MACS[0], 0.0)
        arp.enqueue(IPv4Address(f"10.2.{i // 250}.{i % 250 + 1}"), b"x" * 100, 0.0)
        calls += 2
    for t in (0.5, 1.0, 1.5, 2.0, 5.0):
        arp.poll(t)
        calls += 1
    left = arp.entries(5.0)
    amount = size(arp)
    calls += 2
    if not left and amount <= 64:
        return None
    script = "\n".join([
        "the resource probe (after the random sequences all agreed):",
        f"  arp = ArpCache({params})",
        f"  for i in range({n}): arp.update(<address 10.1.x.y number i>, "
        "02:00:00:00:00:02, now=0.0)",
        f"  for i in range({n}): arp.enqueue(<address 10.2.x.y number i>, <100 bytes>, "
        "now=0.0)",
        "  arp.poll(now=0.5); arp.poll(now=1.0); arp.poll(now=1.5); arp.poll(now=2.0); "
        "arp.poll(now=5.0)",
        f"      held after expiry: reference about 0 entries and packets, yours {amount} "
        f"(entries(now=5.0) has {len(left)})"])
    message = ("differential check: held after expiry differs from netsim's reference "
               f"({RULES['held after expiry']}: {amount} items are still held after every "
               "entry expired and every resolution failed)")
    return DiffOutcome(False, message + "\n\n" + script, 1, calls, 0.0, None, 0, message,
                       "held after expiry = about 0", f"held after expiry = {amount}", script)


SPEC = Spec("05-arp-cache", "arp", "ArpCache", examples, observe, RULES, valid=valid,
            diagnose=diagnose, references=ACCEPTED, max_examples=200, seed=5, probe=resource_probe)
