"""Grader for assignment 09-router: the forwarding table and decision of an IPv4 router.

The student's class has the `netsim.stack.forwarding.Forwarder` interface and takes no
constructor arguments; ``route()`` returns a `netsim.stack.forwarding.Decision` (read here
field by field, each checked). Expected results come from netsim's `Router`. The scripted
check and the simulation install it in routers of a simulated chain
(``Stack.set_forwarder``) and compare what the hosts see with a run on netsim's routers.
"""

from __future__ import annotations

from ipaddress import IPv4Address
from typing import Any

from netsim.grading.differential import check_fn as differential_check
from netsim.grading.differential.router import SOURCE, checksum_feff
from netsim.grading.differential.router import datagram as make_datagram
from netsim.grading.differential.values import show
from netsim.grading.framework import Assignment, Check, CheckFailed, Context
from netsim.grading.router_sim import check_simulation, check_topology
from netsim.stack.forwarding import ACTIONS, DELIVER, DROP, FORWARD, Decision, Router
from netsim.wire.checksum import internet_checksum

A = IPv4Address
GW = A("10.9.9.1")


# ----------------------------------------------------------------------------- decisions
def decision_of(value: Any) -> Decision:
    """The student's answer as a `Decision`: only the fields its action needs are read (one
    call each through the proxy); a value of the wrong type is a `CheckFailed` naming it."""
    def get(name: str) -> Any:
        if isinstance(value, tuple):
            fields = Decision._fields
            i = fields.index(name)
            return value[i] if i < len(value) else Decision._field_defaults.get(name)
        try:
            return getattr(value, name)
        except AttributeError:
            return Decision._field_defaults.get(name)

    def bad(name: str, got: Any, want: str) -> CheckFailed:
        return CheckFailed(f"route() returned a decision whose {name} is {show(got)}: it "
                           f"must be {want}", expected=want, got=show(got),
                           hint="build decisions with deliver(), forward(...) and drop(...) "
                           "from netsim.stack.forwarding")

    action = get("action")
    if action not in ACTIONS:
        raise bad("action", action, "'deliver', 'forward' or 'drop'")
    if action == DELIVER:
        return Decision(DELIVER)
    if action == FORWARD:
        datagram, interface, next_hop = get("datagram"), get("interface"), get("next_hop")
        if not isinstance(datagram, bytes | bytearray) or not 20 <= len(datagram) <= 65535:
            raise bad("datagram", datagram, "the datagram to send (bytes, 20 to 65535)")
        if not isinstance(interface, str) or len(interface) > 100:
            raise bad("interface", interface, "an interface name (str)")
        if not isinstance(next_hop, IPv4Address):
            raise bad("next_hop", next_hop, "an IPv4Address (the gateway, or the "
                      "destination when directly attached)")
        return Decision(FORWARD, bytes(datagram), interface, next_hop)
    icmp, reason = get("icmp"), get("reason")
    if icmp is not None:
        if not isinstance(icmp, tuple | list) or len(icmp) != 2 or \
                not all(type(x) is int and 0 <= x <= 255 for x in icmp):
            raise bad("icmp", icmp, "None or (type, code), two integers 0..255")
        icmp = (icmp[0], icmp[1])
    if not isinstance(reason, str):
        raise bad("reason", reason, "a str")
    return Decision(DROP, icmp=icmp, reason=reason[:40])


class Checked:
    """The student's router (through its proxy) as the stack's forwarder: every decision is
    read and checked by `decision_of` before the stack acts on it."""

    def __init__(self, remote: Any) -> None:
        self.remote = remote

    def add_route(self, prefix: IPv4Address, length: int, interface: str,
                  next_hop: IPv4Address | None = None) -> None:
        self.remote.add_route(prefix, length, interface, next_hop)

    def lookup(self, dst: IPv4Address) -> Any:
        return self.remote.lookup(dst)

    def route(self, datagram: bytes, for_us: bool) -> Decision:
        return decision_of(self.remote.route(datagram, for_us))


def _describe(raw: bytes) -> str:
    proto = {1: "ICMP", 6: "TCP", 17: "UDP"}.get(raw[9], str(raw[9]))
    return (f"<{proto} {A(raw[12:16])} > {A(raw[16:20])} ttl {raw[8]} "
            f"checksum 0x{int.from_bytes(raw[10:12], 'big'):04x}, {len(raw)} bytes>")


def _shown(d: Decision) -> str:
    if d.action == FORWARD:
        return f"forward {_describe(d.datagram)} on {d.interface!r} to {d.next_hop}"
    if d.action == DROP:
        return f"drop (icmp={d.icmp!r})"
    return "deliver"


# ----------------------------------------------------------------------------- helpers
def _new(ctx: Context) -> Any:
    ctx.step(f"router = {ctx.target_name}()")
    return ctx.target()()


def _add(ctx: Context, r: Any, prefix: str, length: int, interface: str,
         next_hop: IPv4Address | None = None) -> None:
    ctx.step(f"router.add_route({prefix}, {length}, {interface!r}, {next_hop})")
    r.add_route(A(prefix), length, interface, next_hop)


def _lookup(ctx: Context, r: Any, dst: str, want: tuple[str, IPv4Address | None] | None,
            rule: str, hint: str | None = None) -> None:
    got = r.lookup(A(dst))
    ctx.step(f"router.lookup({dst}) -> {show(got)}")
    if got != want:
        raise CheckFailed(rule, expected=show(want), got=show(got), hint=hint)


def _route(ctx: Context, r: Any, raw: bytes, for_us: bool = False) -> Decision:
    d = decision_of(r.route(raw, for_us))
    ctx.step(f"router.route({_describe(raw)}, for_us={for_us}) -> {_shown(d)}")
    return d


def _expect(d: Decision, want: Decision, rule: str, hint: str | None = None) -> None:
    """Compare the parts of a decision the rules fix (not the drop's reason)."""
    if d._replace(reason="") != want._replace(reason=""):
        raise CheckFailed(rule, expected=_shown(want), got=_shown(d), hint=hint)


def _dgram(dst: str, ttl: int = 64, kind: int = 0, n: int = 1) -> bytes:
    return make_datagram(ttl, A(dst), kind, n)


def _table(ctx: Context) -> tuple[Any, Router]:
    r, ref = _new(ctx), Router()
    for prefix, length, iface, gw in (("10.1.0.0", 16, "eth1", GW), ("10.1.2.0", 24, "eth2",
                                                                      None),
                                      ("0.0.0.0", 0, "eth0", A("192.0.2.1"))):
        _add(ctx, r, prefix, length, iface, gw)
        ref.add_route(A(prefix), length, iface, gw)
    return r, ref


# --------------------------------------------------------------------------------- checks
def check_add_lookup(ctx: Context) -> None:
    r = _new(ctx)
    _lookup(ctx, r, "10.1.2.3", None, "with no routes, lookup() finds nothing (None)")
    _add(ctx, r, "10.1.0.0", 16, "eth1", GW)
    _lookup(ctx, r, "10.1.0.0", ("eth1", GW), "a route matches its own network address")
    _lookup(ctx, r, "10.1.200.7", ("eth1", GW), "a route matches every address whose first "
            "`length` bits are the prefix's: 10.1.200.7 is in 10.1.0.0/16",
            "compare only the first `length` bits (mask the address), not the whole address")
    _lookup(ctx, r, "10.2.0.1", None, "an address outside every prefix has no route (None)")
    _add(ctx, r, "192.168.5.0", 24, "eth2")
    _lookup(ctx, r, "192.168.5.77", ("eth2", None), "a directly attached network (added "
            "without next_hop) is looked up as (interface, None)")


def check_longest_prefix(ctx: Context) -> None:
    for order in ((8, 16, 24), (24, 16, 8), (16, 24, 8)):
        r = _new(ctx)
        nets = {8: ("10.0.0.0", "eth8"), 16: ("10.1.0.0", "eth16"), 24: ("10.1.2.0", "eth24")}
        for length in order:
            _add(ctx, r, nets[length][0], length, nets[length][1], GW)
        rule = ("of all the routes that match, the one with the longest prefix wins, "
                "whatever the order they were added in (RFC 1812 §5.2.4.3, longest match)")
        hint = "the first route that matches is not the best: keep looking for a longer one"
        _lookup(ctx, r, "10.1.2.3", ("eth24", GW), rule, hint)
        _lookup(ctx, r, "10.1.3.3", ("eth16", GW), rule, hint)
        _lookup(ctx, r, "10.9.0.1", ("eth8", GW), rule, hint)


def check_prefix_masked(ctx: Context) -> None:
    r = _new(ctx)
    _add(ctx, r, "10.1.2.99", 24, "eth1", GW)
    rule = ("the bits of the prefix beyond `length` do not count: 10.1.2.99/24 is the "
            "network 10.1.2.0/24")
    hint = "mask the prefix too (or store prefix & mask), not only the address looked up"
    _lookup(ctx, r, "10.1.2.1", ("eth1", GW), rule, hint)
    _lookup(ctx, r, "10.1.2.99", ("eth1", GW), rule, hint)
    _add(ctx, r, "172.16.255.255", 12, "eth2")
    _lookup(ctx, r, "172.20.0.1", ("eth2", None), rule, hint)
    _lookup(ctx, r, "172.32.0.1", None, "172.32.0.1 is outside 172.16.0.0/12")


def check_default_and_host(ctx: Context) -> None:
    r = _new(ctx)
    _add(ctx, r, "0.0.0.0", 0, "eth0", A("192.0.2.1"))
    for dst in ("8.8.8.8", "0.0.0.0", "255.255.255.255", "10.1.2.3"):
        _lookup(ctx, r, dst, ("eth0", A("192.0.2.1")), "a /0 route (the default route) "
                "matches every address", "a prefix of length 0 has a mask of 0: every "
                "address matches (and it is the longest match when nothing else matches)")
    _add(ctx, r, "10.1.2.3", 32, "eth3")
    _add(ctx, r, "10.1.2.0", 31, "eth2", GW)
    _lookup(ctx, r, "10.1.2.3", ("eth3", None), "a /32 route matches exactly one address, "
            "and beats every shorter one")
    _lookup(ctx, r, "10.1.2.2", ("eth0", A("192.0.2.1")), "10.1.2.2 is outside 10.1.2.0/31 "
            "(10.1.2.0 and 10.1.2.1) and 10.1.2.3/32: only the default matches")
    _lookup(ctx, r, "10.1.2.1", ("eth2", GW), "10.1.2.1 is in 10.1.2.0/31")


def check_ties(ctx: Context) -> None:
    r = _new(ctx)
    _add(ctx, r, "10.1.0.0", 16, "eth1", GW)
    _add(ctx, r, "10.1.0.0", 16, "eth2", A("10.9.9.2"))
    _add(ctx, r, "10.1.7.7", 16, "eth3")
    _lookup(ctx, r, "10.1.2.3", ("eth1", GW), "among routes with the same prefix and "
            "length, the one added first is used (as netsim's table: a later duplicate "
            "does not replace it)", "on equal lengths keep the route found first: compare "
            "with > , not >=")


def check_ttl_decrement(ctx: Context) -> None:
    r, ref = _table(ctx)
    for dst, ttl, kind in (("10.1.7.7", 64, 0), ("10.1.2.3", 2, 1), ("8.8.4.4", 255, 2)):
        raw = _dgram(dst, ttl, kind)
        d = _route(ctx, r, raw)
        want = ref.route(raw, False)
        if d.action != FORWARD:
            raise CheckFailed(f"a datagram with TTL {ttl} to {dst} is forwarded",
                              expected=_shown(want), got=_shown(d))
        _expect(d._replace(datagram=want.datagram), want, "it leaves on the route's "
                "interface, to the route's gateway, or to the destination itself when the "
                "network is directly attached (RFC 1812 §5.2.4.3, next hop address)",
                "the next hop of a directly attached network (no gateway) is the datagram's "
                "destination" if want.next_hop == A(dst) else None)
        if d.datagram[8] != ttl - 1:
            raise CheckFailed("the forwarded datagram carries the TTL one less (RFC 1812 "
                              "§5.3.1, Time to Live)", expected=f"TTL {ttl - 1}",
                              got=f"TTL {d.datagram[8]}")
        if d.datagram[:8] + d.datagram[9:10] + d.datagram[12:] != \
                raw[:8] + raw[9:10] + raw[12:]:
            raise CheckFailed("apart from the TTL and the header checksum, the datagram is "
                              "sent on byte for byte", expected=_describe(want.datagram),
                              got=_describe(d.datagram))


def check_checksum(ctx: Context) -> None:
    r, ref = _table(ctx)
    # the last ones: checksums of 0xff.. (the update carries into the low byte: the one's
    # complement sum's end-around carry) and 0x00..
    wrap = next(raw for n in range(65536) if (raw := _dgram("10.1.7.7", 64, 0, n))[10] == 0xFF)
    zero = next(raw for n in range(65536) if (raw := _dgram("10.1.7.7", 9, 0, n))[10] == 0x00)
    tests = [_dgram("10.1.7.7", ttl, n % 3, n * 4099) for n, ttl in enumerate((64, 2, 200, 17))]
    # IP options: the header is IHL * 4 = 28 bytes; and a checksum of 0xfeff, whose update is
    # 0x0000 (RFC 1141's HC + m + ~m' gives 0xffff, a value no header's checksum computed
    # again has: RFC 1624)
    options = [_dgram("10.1.7.7", ttl, 5, n) for n, ttl in ((3, 64), (8, 2))]
    feff = checksum_feff(SOURCE, A("10.1.7.7"), b"\x00" * 8, 64)
    for raw in [*tests, wrap, zero, *options, feff]:
        d = _route(ctx, r, raw)
        want = ref.route(raw, False)
        if d.action != FORWARD or len(d.datagram) < 20:
            raise CheckFailed("a datagram with TTL > 1 and a route is forwarded",
                              expected=_shown(want), got=_shown(d))
        got_sum = int.from_bytes(d.datagram[10:12], "big")
        want_sum = int.from_bytes(want.datagram[10:12], "big")
        if got_sum != want_sum:
            unchanged = got_sum == int.from_bytes(raw[10:12], "big")
            ihl = (raw[0] & 15) * 4
            first20 = bytearray(want.datagram[:20])
            first20[10:12] = b"\0\0"
            if ihl > 20 and got_sum == internet_checksum(bytes(first20)):
                hint = (f"this header has IP options: it is IHL * 4 = {ihl} bytes, and the "
                        "checksum covers all of them, not only the first 20 (RFC 791 §3.1, "
                        "header format)")
            elif got_sum == 0xFFFF and want_sum == 0:
                hint = ("0xffff is RFC 1141's incremental update, HC + m + ~m': where the "
                        "checksum computed again is 0x0000 it gives -0 instead; RFC 1624's "
                        "~(~HC + ~m + m') (or computing the checksum again) gives 0x0000")
            elif unchanged:
                hint = "the checksum was not updated after the TTL changed"
            else:
                hint = ("the one's complement sum of the new header with the checksum field "
                        "zero, carries folded back in, then complemented (RFC 1071)")
            raise CheckFailed("the header checksum is updated for the new TTL: exactly the "
                              "checksum of the new header, all IHL * 4 bytes of it, options "
                              "included (RFC 1812 §4.2.2.5, header checksum; RFC 1624 shows "
                              "the incremental update)", expected=f"checksum 0x{want_sum:04x}",
                              got=f"checksum 0x{got_sum:04x}" +
                              (" (the old one)" if unchanged else ""), hint=hint)
        if internet_checksum(d.datagram[:(d.datagram[0] & 15) * 4]) != 0:
            raise CheckFailed("the forwarded header's checksum verifies",
                              expected="0", got="non-zero")


def check_ttl_expired(ctx: Context) -> None:
    r, ref = _table(ctx)
    for ttl in (1, 0):
        raw = _dgram("10.1.7.7", ttl, 0)
        d = _route(ctx, r, raw)
        _expect(d, ref.route(raw, False),
                f"a datagram that arrives with TTL {ttl} would leave with TTL 0 or less: it "
                "is dropped and an ICMP time exceeded (type 11, code 0) goes back (RFC 1812 "
                "§5.3.1, Time to Live; RFC 1812 §5.2.7.3, Time Exceeded)",
                "check the TTL before forwarding: a datagram must never leave with TTL 0 "
                "(nor wrap around to 255)" if d.action == FORWARD else
                "ICMP time exceeded is type 11, code 0")
    raw = _dgram("10.1.7.7", 2, 1)
    d = _route(ctx, r, raw)
    _expect(d, ref.route(raw, False), "TTL 2 is forwarded with TTL 1 (only a TTL that "
            "reaches 0 expires)", "compare the TTL with 1 before decrementing, or with 0 "
            "after: not both")


def check_for_us(ctx: Context) -> None:
    r, _ = _table(ctx)
    for ttl in (64, 1, 0):
        raw = _dgram("10.1.2.1", ttl, 2)
        d = _route(ctx, r, raw, for_us=True)
        if d.action != DELIVER:
            raise CheckFailed("a datagram for the router itself is delivered, whatever its "
                              "TTL: the TTL counts hops between routers, and this one "
                              "arrived (RFC 1812 §5.2.3, local delivery decision; RFC 1812 "
                              "§4.2.2.9, Time to Live)", expected="deliver", got=_shown(d),
                              hint="look at for_us before the TTL")


def check_no_route(ctx: Context) -> None:
    r = _new(ctx)
    _add(ctx, r, "10.1.0.0", 16, "eth1", GW)
    raw = _dgram("10.2.0.1", 64, 0)
    d = _route(ctx, r, raw)
    ref = Router()
    ref.add_route(A("10.1.0.0"), 16, "eth1", GW)
    _expect(d, ref.route(raw, False), "a datagram with no route is dropped with an ICMP "
            "destination unreachable, code 0 (net unreachable: RFC 1812 §5.2.7.1, "
            "Destination Unreachable)", "net unreachable is type 3 code 0; code 1 is host "
            "unreachable (ARP failed on the last hop)" if d.icmp == (3, 1) else None)


ASSIGNMENT = Assignment(
    name="09-router",
    title="A router: longest-prefix match, TTL and ICMP errors",
    filename="router.py",
    target="Router",
    reference="netsim.stack.forwarding:Router",
    returns={"lookup()": (tuple, None)},
    checks=(
        Check("add_and_lookup", 1, check_add_lookup,
              "add_route() then lookup(): a prefix matches its addresses, others none"),
        Check("longest_prefix", 2, check_longest_prefix,
              "the longest matching prefix wins, in any order the routes were added"),
        Check("prefix_masked", 1, check_prefix_masked,
              "host bits of a prefix beyond its length are ignored"),
        Check("default_and_host", 2, check_default_and_host,
              "a /0 route matches everything, a /32 one address"),
        Check("ties", 1, check_ties, "equal routes: the one added first is used"),
        Check("ttl_decrement", 2, check_ttl_decrement,
              "forwarded with TTL one less, to the right interface and next hop"),
        Check("checksum", 2, check_checksum, "the header checksum is updated for the new TTL"),
        Check("ttl_expired", 2, check_ttl_expired,
              "TTL 1 and 0: dropped with ICMP time exceeded"),
        Check("for_us", 1, check_for_us,
              "a datagram for the router itself is delivered, whatever its TTL"),
        Check("no_route", 1, check_no_route, "no route: ICMP net unreachable"),
        Check("random_sequences", 3, differential_check("09-router"),
              "random call sequences: after every call the same answers as the reference",
              kind="random"),
        Check("topology_traceroute", 3, check_topology,
              "three routers, yours on two: traceroute and ping as with netsim's",
              kind="scripted"),
        Check("simulation_tcp", 3, check_simulation,
              "yours on every router, lossy links: the same frames as netsim's",
              kind="simulation"),
    ),
)
