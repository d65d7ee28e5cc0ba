"""Differential check of assignment 09: the router's forwarding table and decision against
netsim's `Router` (netsim/stack/forwarding.py).

Sequences add routes from a small pool of overlapping prefixes (lengths 0, 1, 8, 16, 24, 25,
31 and 32, host bits sometimes set, the same prefix twice), with or without a gateway, and
interleave ``lookup`` of addresses near the prefixes' edges with ``route`` of datagrams of
TTL 0, 1, 2, 64 and 255, to the router itself or not, some with link padding, IP options or a
header checksum whose update gives 0x0000 (RFC 1141's equation gives 0xffff). After each call
it compares what was returned: lookup's (interface, gateway); route's action, and for a
forward the interface, the next hop, the new TTL, the header checksum and every other byte,
for a drop the ICMP error. Also accepted: the route looked up before the TTL is checked (a
datagram that both expires and has no route may get net unreachable instead of time
exceeded).
"""

from __future__ import annotations

from ipaddress import IPv4Address
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
from netsim.stack.forwarding import DROP, NET_UNREACHABLE, Decision, Router
from netsim.wire.ipv4 import PROTO_ICMP, PROTO_TCP, PROTO_UDP, build_ipv4

A = IPv4Address
PREFIXES = [A("10.1.2.0"), A("10.0.0.0"), A("0.0.0.0"), A("10.1.0.0"), A("10.1.2.3"),
            A("10.1.2.128"), A("192.168.1.0"), A("128.0.0.0"), A("10.1.2.99")]
LENGTHS = [24, 8, 0, 16, 32, 25, 31, 1]
DESTS = [A("10.1.2.3"), A("10.1.2.200"), A("10.1.9.9"), A("10.200.0.1"), A("192.168.1.7"),
         A("11.0.0.1"), A("128.0.0.1"), A("10.1.2.2"), A("10.1.2.128"), A("0.0.0.0"),
         A("255.255.255.254")]
GATEWAYS = [None, A("10.9.9.1"), A("172.16.0.2")]
INTERFACES = ["eth0", "eth1", "eth2", "eth3"]
SOURCE = A("172.16.5.5")

RULES = {
    "returned": "lookup() gives the (interface, gateway) of the longest matching prefix "
                "(RFC 1812 §5.2.4.3, longest match; the route added first among equal "
                "ones), or None; route() forwards on that route to the gateway or, when "
                "directly attached, to the destination itself; drops with time exceeded "
                "(11, 0) when the TTL runs out (RFC 1812 §5.3.1, Time to Live), with net "
                "unreachable (3, 0) without a route; delivers what is for the router",
    "forwarded TTL": "the forwarded datagram carries the TTL one less (RFC 1812 §5.3.1)",
    "forwarded header checksum": "the header checksum is updated for the new TTL "
                                 "(RFC 1812 §4.2.2.5, header checksum; RFC 1624)",
    "forwarded other bytes": "every other byte of the datagram is sent on unchanged (and "
                             "link padding beyond the total length is cut)",
}

FIELDS = ("action", "datagram", "interface", "next_hop", "icmp", "reason")


def fields_of(value: Any) -> dict[str, Any]:
    """The fields of a decision: a `Decision`, a plain tuple in its order, or (through a
    proxy) any object with those attributes; a missing one reads as its default."""
    if isinstance(value, tuple):
        vals = list(value)[:len(FIELDS)]
        defaults = list(Decision("")[len(vals):])
        return dict(zip(FIELDS, vals + defaults, strict=True))
    out = {}
    for name, default in zip(FIELDS, Decision(""), strict=True):
        try:
            out[name] = getattr(value, name)
        except AttributeError:
            out[name] = default
    return out


def _changed(got: bytes, sent: bytes) -> str:
    want = sent[:int.from_bytes(sent[2:4], "big")]
    if len(got) != len(want):
        return f"length {len(got)} (the datagram's total length is {len(want)})"
    for i, (x, y) in enumerate(zip(got, want, strict=True)):
        if i not in (8, 10, 11) and x != y:
            return f"byte {i} changed"
    return "unchanged"


def observe_route(decision: Any, datagram: bytes) -> Observation:
    f = fields_of(decision)
    action = plain(f["action"])
    ret: dict[str, Any] = {"action": action}
    obs: Observation = []
    if action == "forward":
        ret["interface"] = plain(f["interface"])
        ret["next_hop"] = plain(f["next_hop"])
        out = f["datagram"]
        if isinstance(out, bytes) and len(out) >= 20:
            obs = [("forwarded TTL", out[8]),
                   ("forwarded header checksum", f"0x{int.from_bytes(out[10:12], 'big'):04x}"),
                   ("forwarded other bytes", _changed(out, datagram))]
        else:
            obs = [("forwarded TTL", f"not a datagram: {plain(out)!r:.40}")]
    elif action == "drop":
        icmp = plain(f["icmp"])
        ret["icmp"] = list(icmp) if isinstance(icmp, tuple | list) else icmp
    return [("returned", ret), *obs]


def observe(router: Any, call: Call) -> Observation:
    out = getattr(router, call.method)(*call.values())
    if call.method == "route":
        return observe_route(out, call.values()[0])
    return [("returned", plain(out))]


class _RouteFirst(Router):
    """Also accepted: the route looked up before the TTL is checked."""

    def decide(self, datagram: bytes, ttl: int, dst: IPv4Address, total: int) -> Decision:
        if self.table.lookup(dst) is None:
            return Decision(DROP, icmp=NET_UNREACHABLE, reason="no_route")
        return super().decide(datagram, ttl, dst, total)


ACCEPTED = [Router, _RouteFirst]


def datagram(ttl: int, dst: IPv4Address, kind: int, n: int) -> bytes:
    payload = bytes((n * 37 + i) & 0xFF for i in range(8 + n % 5))
    if kind == 0:
        return build_ipv4(SOURCE, dst, PROTO_UDP, payload, ttl=ttl, identification=n * 977 & 0xFFFF)
    if kind == 1:
        return build_ipv4(SOURCE, dst, PROTO_TCP, payload, ttl=ttl, df=True,
                          identification=0xFFFF - n % 0xFFFF)
    if kind == 3:  # a header checksum of 0xff..: decrementing the TTL carries around
        for ident in range(0, 0x10000, 211):
            raw = build_ipv4(SOURCE, dst, PROTO_UDP, payload, ttl=ttl, identification=ident)
            if raw[10] == 0xFF:
                return raw
    if kind == 4:  # a header checksum of 0xfeff: the new one is 0x0000 (RFC 1141's 0xffff)
        return checksum_feff(SOURCE, dst, payload, ttl)
    if kind == 5:  # IP options: the header is IHL * 4 = 28 bytes (RFC 791 §3.1)
        return build_ipv4(SOURCE, dst, PROTO_UDP, payload, ttl=ttl, identification=n * 31,
                          options=OPTIONS)
    return build_ipv4(SOURCE, dst, PROTO_ICMP, b"\x08\x00" + payload, ttl=ttl, dscp=10,
                      identification=n)


#: Router Alert (RFC 2113), then No Operation, No Operation, End of Option List
OPTIONS = b"\x94\x04\x00\x00\x01\x01\x01\x00"


def checksum_feff(src: IPv4Address, dst: IPv4Address, payload: bytes, ttl: int) -> bytes:
    """A UDP datagram whose header checksum is 0xfeff (its identification chosen): with the
    TTL one less the checksum computed again is 0x0000, where RFC 1141's incremental update,
    HC + m + ~m', gives 0xffff (RFC 1624 explains why, and gives the update that does not)."""
    c0 = int.from_bytes(build_ipv4(src, dst, PROTO_UDP, payload, ttl=ttl)[10:12], "big")
    ident = 0x0100 + c0  # the checksum is ~(sum + identification): make it ~0x0100
    ident = (ident & 0xFFFF) + (ident >> 16)
    return build_ipv4(src, dst, PROTO_UDP, payload, ttl=ttl, identification=ident & 0xFFFF)


def examples() -> Any:
    from hypothesis import strategies as st

    @st.composite
    def build(draw: Any) -> Example:
        calls: list[Call] = []
        n = 0
        while more(draw, len(calls), 16, least=6):
            kind = pick(draw, ["add", "lookup", "route", "add", "route"])
            if kind == "add":
                prefix = pick(draw, PREFIXES)
                length = pick(draw, LENGTHS)
                calls.append(Call("add_route", (("prefix", prefix), ("length", length),
                                                ("interface", pick(draw, INTERFACES)),
                                                ("next_hop", pick(draw, GATEWAYS)))))
            elif kind == "lookup":
                calls.append(Call("lookup", (("dst", pick(draw, DESTS)),)))
            else:
                n += 1
                ttl = pick(draw, [64, 1, 2, 0, 255])
                raw = datagram(ttl, pick(draw, DESTS), pick(draw, [0, 1, 2, 3, 4, 5]), n)
                if pick(draw, [False, True]):
                    raw += b"\0" * 6  # link padding
                calls.append(Call("route", (("datagram", raw),
                                            ("for_us", pick(draw, [False, False, True])))))
        return Example((), tuple(calls))

    return build()


def diagnose(m: Mismatch) -> str | None:
    """Names the mistakes the random sequences find most often."""
    want, got = dict(m.want), dict(m.got)
    w, g = want.get("returned"), got.get("returned")
    call = m.calls[-1] if m.calls else None
    if call is not None and call.method == "route" and isinstance(w, dict) and \
            isinstance(g, dict):
        if w.get("action") == "forward" and g.get("action") == "forward":
            if want.get("forwarded header checksum") != got.get("forwarded header checksum") \
                    and want.get("forwarded TTL") == got.get("forwarded TTL"):
                return "the header checksum does not match the new TTL: update it (or " \
                       "compute it again over the new header, checksum field zero)"
            if w.get("next_hop") != g.get("next_hop") and w.get("interface") == \
                    g.get("interface"):
                return "the next hop is the route's gateway, or the destination itself " \
                       "for a directly attached network (no gateway)"
        if w.get("action") == "deliver" and g.get("action") != "deliver":
            return "a datagram for the router itself is delivered, whatever its TTL"
    return None


SPEC = Spec("09-router", "router", "Router", examples, observe, RULES, diagnose=diagnose,
            references=ACCEPTED, max_examples=150, seed=9)
