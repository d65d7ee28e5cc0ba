"""Grader for assignment 05-arp-cache: the ARP cache with expiry, pending queue and retries.

The student's class has the `netsim.stack.arp.ArpCache` interface and the constructor
``ArpCache(timeout=60.0, retries=3, retry_interval=1.0, max_pending=256)``; it returns
`netsim.stack.arp.Enqueue` values and `netsim.stack.arp.ArpPoll` objects. The scripted check
and the simulation put it in the real stack (``Stack.add_interface(arp=...)``).
"""

from __future__ import annotations

from ipaddress import IPv4Address
from typing import Any

from netsim.grading.codec import Enum_
from netsim.grading.differential import check_fn as differential_check
from netsim.grading.framework import Assignment, Check, CheckFailed, Context
from netsim.stack.arp import ArpPoll, Enqueue
from netsim.wire.lazyframe import as_bytes
from netsim.wire.mac import MacAddress

IP1 = IPv4Address("10.0.0.2")
IP2 = IPv4Address("10.0.0.3")
MAC1 = MacAddress("02:00:00:00:00:02")
MAC2 = MacAddress("02:00:00:00:00:03")


def _new(ctx: Context, **kw: float) -> Any:
    args = ", ".join(f"{k}={v:g}" for k, v in kw.items())
    ctx.step(f"arp = {ctx.target_name}({args})")
    return ctx.target()(**kw)


def _lookup(ctx: Context, arp: Any, ip: IPv4Address, now: float, want: MacAddress | None,
            rule: str, hint: str | None = None) -> None:
    got = arp.lookup(ip, now)
    ctx.step(f"arp.lookup({ip}, now={now:g}) -> {got!r}")
    if got != want:
        raise CheckFailed(rule, expected=repr(want), got=repr(got), hint=hint)


def _update(ctx: Context, arp: Any, ip: IPv4Address, mac: MacAddress, now: float,
            create: bool = True) -> list[bytes]:
    got = arp.update(ip, mac, now, create=create)
    extra = "" if create else ", create=False"
    ctx.step(f"arp.update({ip}, {mac}, now={now:g}{extra}) -> {got!r}")
    return list(got) if got is not None else []


def _enqueue(ctx: Context, arp: Any, ip: IPv4Address, pkt: bytes, now: float,
             want: Enqueue, rule: str, hint: str | None = None) -> None:
    got = arp.enqueue(ip, pkt, now)
    ctx.step(f"arp.enqueue({ip}, {pkt!r}, now={now:g}) -> {got}")
    if got is not want:
        raise CheckFailed(rule, expected=str(want), got=repr(got), hint=hint)


def _poll(ctx: Context, arp: Any, now: float) -> ArpPoll:
    got = arp.poll(now)
    ctx.step(f"arp.poll(now={now:g}) -> requests={list(got.requests)}, "
             f"failed={[(str(ip), list(p)) for ip, p in got.failed]}")
    return got  # type: ignore[no-any-return]


# --------------------------------------------------------------------------------- checks
def check_learn(ctx: Context) -> None:
    arp = _new(ctx)
    _lookup(ctx, arp, IP1, 0.0, None, "an address never seen is unknown (None)")
    _update(ctx, arp, IP1, MAC1, 0.0)
    _lookup(ctx, arp, IP1, 0.0, MAC1, "update() teaches the cache a mapping (RFC 826)")
    _lookup(ctx, arp, IP2, 0.0, None, "other addresses stay unknown")
    _update(ctx, arp, IP1, MAC2, 1.0)
    _lookup(ctx, arp, IP1, 1.0, MAC2, "a new MAC for a known address replaces the old one "
            "(RFC 826: the merge updates the entry)")


def check_expiry(ctx: Context) -> None:
    arp = _new(ctx, timeout=60)
    _update(ctx, arp, IP1, MAC1, 0.0)
    _lookup(ctx, arp, IP1, 59.9, MAC1, "an entry lives `timeout` seconds")
    _lookup(ctx, arp, IP1, 60.1, None, "an entry older than `timeout` has expired: lookup "
            "returns None so that it is resolved again (RFC 1122 §2.3.2.1: entries time "
            "out)", "entries never expire, or lookup() moved the expiry: an entry lives `timeout` "
            "seconds from its last update(); a lookup does not refresh it")
    ents = arp.entries(60.1)
    ctx.step(f"arp.entries(now=60.1) -> {ents!r}")
    if ents:
        raise CheckFailed("entries(now) lists only entries that have not expired",
                          expected="{}", got=repr(ents))


def check_refresh(ctx: Context) -> None:
    arp = _new(ctx, timeout=60)
    _update(ctx, arp, IP1, MAC1, 0.0)
    _update(ctx, arp, IP1, MAC1, 50.0)
    _lookup(ctx, arp, IP1, 100.0, MAC1, "a new ARP message from the host refreshes the "
            "entry: it lives `timeout` seconds from the LAST update",
            "the expiry time was not moved by the second update")
    _lookup(ctx, arp, IP1, 110.1, None, "and expires `timeout` after that last update")


def check_pending(ctx: Context) -> None:
    arp = _new(ctx)
    _enqueue(ctx, arp, IP1, b"p1", 0.0, Enqueue.SEND_REQUEST, "the first packet for an "
             "unresolved address is held and a request must go out: SEND_REQUEST")
    _enqueue(ctx, arp, IP1, b"p2", 0.1, Enqueue.QUEUED, "while a request is outstanding, "
             "further packets are held without a new request: QUEUED",
             "one request per address: do not send a request for every packet")
    _enqueue(ctx, arp, IP1, b"p3", 0.2, Enqueue.QUEUED, "further packets: QUEUED")
    got = _update(ctx, arp, IP1, MAC1, 0.3)
    if got != [b"p1", b"p2", b"p3"]:
        raise CheckFailed("the reply releases every held packet, in the order they came",
                          expected="[b'p1', b'p2', b'p3']", got=repr(got))
    _lookup(ctx, arp, IP1, 0.3, MAC1, "after the reply the address is resolved")
    got = _update(ctx, arp, IP1, MAC1, 0.4)
    if got:
        raise CheckFailed("held packets are released once: a second reply returns nothing",
                          expected="[]", got=repr(got), hint="clear the queue on release")


def check_pending_bounded(ctx: Context) -> None:
    arp = _new(ctx, max_pending=4)
    _enqueue(ctx, arp, IP1, b"p0", 0.0, Enqueue.SEND_REQUEST, "first packet: SEND_REQUEST")
    for i in range(1, 4):
        _enqueue(ctx, arp, IP1, f"p{i}".encode(), 0.0, Enqueue.QUEUED, "up to max_pending "
                 "packets are held")
    for i in range(4, 7):
        _enqueue(ctx, arp, IP1, f"p{i}".encode(), 0.0, Enqueue.DROPPED,
                 "the pending queue is bounded: beyond max_pending packets per address, "
                 "the oldest held packet is dropped to make room and enqueue says DROPPED "
                 "(RFC 1122 §2.3.2.2: SHOULD save at least one, the latest)",
                 "with max_pending packets held the next one is DROPPED (the oldest "
                 "goes): a bound off by one, or none at all, lets the queue grow")
    got = _update(ctx, arp, IP1, MAC1, 0.1)
    want = [b"p3", b"p4", b"p5", b"p6"]
    if got != want:
        raise CheckFailed("the reply releases the packets that were kept, oldest first: the "
                          "latest max_pending (RFC 1122 §2.3.2.2 keeps the latest packet; a "
                          "full queue drops its oldest)", expected=repr(want), got=repr(got))


def check_retries(ctx: Context) -> None:
    arp = _new(ctx, retries=3, retry_interval=1.0)
    _enqueue(ctx, arp, IP1, b"p", 0.0, Enqueue.SEND_REQUEST, "first packet: SEND_REQUEST")
    nd = arp.next_deadline()
    ctx.step(f"arp.next_deadline() -> {nd!r}")
    if nd is None or abs(nd - 1.0) > 1e-9:
        raise CheckFailed("next_deadline() is when the next retry is due (the stack polls "
                          "then)", expected="1.0", got=repr(nd))
    p = _poll(ctx, arp, 0.5)
    if p.requests or p.failed:
        raise CheckFailed("no retry before retry_interval has passed",
                          expected="requests=[], failed=[]",
                          got=f"requests={p.requests}, failed={p.failed}")
    for t in (1.0, 2.0):
        p = _poll(ctx, arp, t)
        if list(p.requests) != [IP1] or p.failed:
            raise CheckFailed("an unanswered request is retried every retry_interval, "
                              "`retries` requests in all (RFC 1122 §2.3.2.1: retransmit, "
                              "rate-limited)", expected=f"requests=[{IP1!r}], failed=[]",
                              got=f"requests={p.requests}, failed={p.failed}",
                              hint="retries counts every request, the first one included")
    p = _poll(ctx, arp, 3.0)
    failed = [(ip, list(pk)) for ip, pk in p.failed]
    if failed != [(IP1, [b"p"])] or p.requests:
        raise CheckFailed("after `retries` requests without an answer the resolution fails: "
                          "poll() returns the address and its held packets in `failed` (the "
                          "stack then reports host unreachable)",
                          expected=f"requests=[], failed=[({IP1!r}, [b'p'])]",
                          got=f"requests={p.requests}, failed={failed}",
                          hint="too many requests: give up after `retries` in all"
                          if p.requests else None)
    p = _poll(ctx, arp, 4.0)
    if p.requests or p.failed:
        raise CheckFailed("a failed resolution is forgotten: no more requests",
                          expected="nothing", got=f"requests={p.requests}, failed={p.failed}")
    _enqueue(ctx, arp, IP1, b"q", 5.0, Enqueue.SEND_REQUEST, "a new packet after a failure "
             "starts a new resolution")
    p = _poll(ctx, arp, 6.0)
    if list(p.requests) != [IP1] or p.failed:
        raise CheckFailed("each resolution has its own `retries` requests: the new one is "
                          "retried as the first was (RFC 1122 §2.3.2.1)",
                          expected=f"requests=[{IP1!r}], failed=[]",
                          got=f"requests={p.requests}, failed={p.failed}",
                          hint="the count of requests was kept from the earlier resolution: "
                          "each resolution starts counting again" if p.failed else None)


def check_merge_flag(ctx: Context) -> None:
    arp = _new(ctx)
    got = _update(ctx, arp, IP1, MAC1, 0.0, create=False)
    _lookup(ctx, arp, IP1, 0.0, None, "update(create=False) (a request not for us) must not "
            "add a new entry (RFC 826: only merge into an existing entry)")
    if got:
        raise CheckFailed("nothing was waiting", expected="[]", got=repr(got))
    _update(ctx, arp, IP2, MAC2, 0.0)
    _update(ctx, arp, IP2, MAC1, 1.0, create=False)
    _lookup(ctx, arp, IP2, 1.0, MAC1, "update(create=False) does update an existing entry "
            "(RFC 826 merge flag)")
    arp2 = _new(ctx)
    _enqueue(ctx, arp2, IP1, b"w", 0.0, Enqueue.SEND_REQUEST, "first packet: SEND_REQUEST")
    got = _update(ctx, arp2, IP1, MAC1, 0.5, create=False)
    if got != [b"w"]:
        raise CheckFailed("a pending resolution counts as known: update(create=False) "
                          "resolves it and releases its packets", expected="[b'w']",
                          got=repr(got))


def check_per_address(ctx: Context) -> None:
    arp = _new(ctx)
    _enqueue(ctx, arp, IP1, b"a1", 0.0, Enqueue.SEND_REQUEST, "first packet for 10.0.0.2")
    _enqueue(ctx, arp, IP2, b"b1", 0.0, Enqueue.SEND_REQUEST, "each address has its own "
             "resolution: the first packet for another address sends its own request")
    _enqueue(ctx, arp, IP1, b"a2", 0.0, Enqueue.QUEUED, "second packet for 10.0.0.2")
    got = _update(ctx, arp, IP2, MAC2, 0.1)
    if got != [b"b1"]:
        raise CheckFailed("a reply releases only the packets for that address",
                          expected="[b'b1']", got=repr(got))
    got = _update(ctx, arp, IP1, MAC1, 0.2)
    if got != [b"a1", b"a2"]:
        raise CheckFailed("a reply releases only the packets for that address",
                          expected="[b'a1', b'a2']", got=repr(got))
    nd = arp.next_deadline()
    ctx.step(f"arp.next_deadline() -> {nd!r}")
    if nd is not None and nd < 1.0:
        raise CheckFailed("with nothing pending, no retry is due", expected="None or the "
                          "expiry time of an entry", got=repr(nd))


class _Wire:
    """Two sans-I/O stacks joined by a wire with a fake clock; every frame is logged."""

    def __init__(self, ctx: Context, arp: Any) -> None:
        from netsim.stack.host import Stack
        self.ctx = ctx
        self.now = 0.0
        self.a = Stack("a")
        self.ia = self.a.add_interface("eth0", "02:00:00:00:00:01", "10.0.0.1/24", arp=arp)
        self.b = Stack("b")
        self.ib = self.b.add_interface("eth0", "02:00:00:00:00:02", "10.0.0.2/24")
        self.queue: list[tuple[str, bytes]] = []
        self.a.transmit = lambda iface, frame: self.queue.append(("a", as_bytes(frame)))
        self.b.transmit = lambda iface, frame: self.queue.append(("b", as_bytes(frame)))
        self.got: list[bytes] = []
        self.b.udp.bind(7, lambda payload, addr, *rest: self.got.append(payload))
        self.ep = self.a.udp.bind(5000)
        self.from_a: list[bytes] = []

    def run(self) -> None:
        from netsim.wire.summary import summarize
        while self.queue:
            who, frame = self.queue.pop(0)
            self.ctx.step(f"  {'a > ' if who == 'a' else 'b > '}{summarize(frame)}")
            if who == "a":
                self.from_a.append(frame)
                self.b.receive(self.ib, frame, self.now)
            else:
                self.a.receive(self.ia, frame, self.now)

    def send(self, dst: str, payload: bytes) -> None:
        self.ctx.step(f"t={self.now:g}: a sends UDP {payload!r} to {dst}:7")
        self.ep.sendto(payload, (dst, 7), self.now)
        self.run()

    def advance(self, t: float) -> None:
        self.ctx.step(f"advance to t={t:g}")
        while True:
            d = self.a.next_deadline()
            if d is None or d > t:
                break
            self.now = max(self.now, d)
            self.a.poll(self.now)
            self.run()
        self.now = t
        self.a.poll(t)
        self.run()

    def requests(self) -> int:
        return int(self.a.counters["arp"]["tx_request"])


def check_stack(ctx: Context) -> None:
    arp = _new(ctx, timeout=30, retries=3, retry_interval=1.0)
    w = _Wire(ctx, arp)
    w.send("10.0.0.2", b"one")
    if w.got != [b"one"] or w.requests() != 1:
        raise CheckFailed("in the real stack, the first datagram to 10.0.0.2 triggers one ARP "
                          "request; the reply releases the held datagram",
                          expected="1 request, b'one' delivered",
                          got=f"{w.requests()} request(s), delivered {w.got!r}")
    w.send("10.0.0.2", b"two")
    if w.got != [b"one", b"two"] or w.requests() != 1:
        raise CheckFailed("a resolved address is sent to at once, without a new request",
                          expected="still 1 request, b'two' delivered",
                          got=f"{w.requests()} request(s), delivered {w.got!r}")
    w.advance(31.0)
    w.send("10.0.0.2", b"three")
    if w.got[-1:] != [b"three"] or w.requests() != 2:
        raise CheckFailed("after the entry expires (30 s here) the address is resolved again",
                          expected="a 2nd request, b'three' delivered",
                          got=f"{w.requests()} request(s), delivered {w.got!r}",
                          hint="entries never expire?" if w.requests() == 1 else None)
    before = w.requests()
    w.send("10.0.0.9", b"lost-1")
    w.send("10.0.0.9", b"lost-2")
    w.advance(5.0 + w.now)
    sent = w.requests() - before
    unresolved = w.a.counters["arp"]["drop.unresolved"]
    ctx.step(f"requests for 10.0.0.9: {sent}; datagrams dropped as unresolved: {unresolved}")
    if sent != 3 or unresolved != 2:
        raise CheckFailed("an address nobody answers: `retries` (3) requests in all, then the "
                          "held datagrams are dropped (and reported unreachable)",
                          expected="3 requests, 2 datagrams dropped as unresolved",
                          got=f"{sent} requests, {unresolved} dropped")


def check_simulation(ctx: Context) -> None:
    from netsim.apps.bulk import BulkSendResult, SinkResult, bulk_sender, bulk_sink
    from netsim.sim.link import LinkConfig
    from netsim.sim.loss import Bernoulli
    from netsim.sim.topology import two_hosts
    from netsim.sim.world import World

    cls = ctx.target()
    world = World(3)
    net = two_hosts(world, LinkConfig(delay=0.005, rate_bps=2e6, loss=Bernoulli(0.01)))
    h1, h2 = net.hosts
    for node in (h1, h2):
        node.stack.interfaces["eth0"].arp = cls(timeout=0.2, retries=3, retry_interval=0.05,
                                                max_pending=64)
    ctx.step("two hosts, 5 ms link, 2 Mbit/s, 1% loss; your ArpCache(timeout=0.2, "
             "retries=3, retry_interval=0.05, max_pending=64) on both")
    sres, kres = BulkSendResult(), SinkResult()
    world.env.process(bulk_sink(h2, 5001, into=kres))
    world.env.process(bulk_sender(h1, h2.ip, 5001, 300_000, seed=3, into=sres))
    world.run(until=60.0)
    reqs = h1.stack.counters["arp"]["tx_request"] + h2.stack.counters["arp"]["tx_request"]
    ctx.step(f"300 kB sent: {kres.bytes_received} bytes received, intact="
             f"{kres.sha256 == sres.sha256 != ''}, {reqs} ARP requests in all")
    if kres.sha256 != sres.sha256 or kres.bytes_received != 300_000:
        raise CheckFailed("a TCP transfer with your ARP cache on both hosts (entries expiring "
                          "every 0.2 s) did not complete intact",
                          expected="300000 bytes, SHA-256 equal",
                          got=f"{kres.bytes_received} bytes")
    if reqs < 4:
        raise CheckFailed("entries of 0.2 s must expire during a transfer of about a second: "
                          "the hosts should resolve each other again and again",
                          expected="several ARP requests", got=f"{reqs}",
                          hint="entries never expire?")


ASSIGNMENT = Assignment(
    name="05-arp-cache",
    title="ARP: the neighbour cache, its pending queue and retries",
    filename="arp_cache.py",
    target="ArpCache",
    reference="netsim.stack.arp:ArpTable",
    returns={
        "lookup()": (MacAddress, None),
        "update()": (list, tuple, None),
        "enqueue()": (Enqueue, Enum_),
        "next_deadline()": (int, float, None),
        "entries()": (dict,),
    },
    checks=(
        Check("learn_and_lookup", 1, check_learn, "update() teaches, lookup() answers"),
        Check("expiry", 2, check_expiry, "entries expire after `timeout` seconds"),
        Check("refresh", 1, check_refresh, "an update refreshes an entry's lifetime"),
        Check("pending_queue", 2, check_pending,
              "packets wait for the reply: one request, released in order, once"),
        Check("pending_bounded", 2, check_pending_bounded,
              "the pending queue holds at most max_pending packets per address"),
        Check("retries", 2, check_retries,
              "requests retried every retry_interval, `retries` in all, then failure"),
        Check("merge_flag", 1, check_merge_flag,
              "create=False updates known or pending entries only (RFC 826)"),
        Check("per_address", 1, check_per_address,
              "each address has its own pending queue"),
        Check("random_sequences", 3, differential_check("05-arp-cache"),
              "random call sequences: after every call the same answers as the reference",
              kind="random"),
        Check("stack_udp", 3, check_stack,
              "in the real stack: resolve, reuse, re-resolve after expiry, give up",
              kind="scripted"),
        Check("simulation_tcp", 3, check_simulation,
              "in a full simulation: a TCP transfer with fast-expiring entries is intact",
              kind="simulation"),
    ),
)
