"""The lean path of a cookie SYN (netsim.stack.tcp.cookie_fastpath) against the full path:
the same frames go to two identical stacks, one trying the lean path first; every frame sent
and every counter must be the same, and the lean path must take the SYNs it is meant for (a
SYN flood's) and leave everything else to the full path."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from netsim.stack.host import Stack
from netsim.stack.tcp.config import TcpConfig
from netsim.stack.tcp.cookie_fastpath import answer_from_frame
from netsim.wire.ethernet import ETHERTYPE_IPV4, build_ethernet
from netsim.wire.ipv4 import build_ipv4, intern_ip
from netsim.wire.mac import MacAddress
from netsim.wire.tcp import ACK, CWR, ECE, SYN, build_tcp

MAC = MacAddress("02:00:0a:00:00:02")
PEER_MAC = MacAddress("02:00:0a:00:00:01")
LOCAL = intern_ip("10.0.0.2")
PEER = intern_ip("10.0.0.1")
LINUX_OPTS = b"\x02\x04\x05\xb4\x04\x02\x08\x0a" + (777).to_bytes(4, "big") + bytes(4) \
    + b"\x01\x03\x03\x07"


def make_stack(cfg: TcpConfig) -> tuple[Stack, list[bytes]]:
    stack = Stack("netsim", tcp=cfg)
    iface = stack.add_interface("tap0", MAC, "10.0.0.2/24", mtu=1500)
    sent: list[bytes] = []
    stack.transmit = lambda _iface, frame: sent.append(bytes(frame))  # type: ignore[arg-type]
    stack.bring_up(iface, 0.0)
    iface.arp.update(PEER, PEER_MAC, 0.0)  # so SYN-ACKs leave as frames, comparable
    stack.tcp.listen(80)
    return stack, sent


def syn(*, opts: bytes = LINUX_OPTS, flags: int = SYN, dport: int = 80, sport: int = 40000,
        payload: bytes = b"", src: str = "10.0.0.1", dst_mac: bytes = MAC,
        ip_opts: bytes = b"", mf: bool = False,
        damage: Callable[[bytearray], None] | None = None, pad: int = 0) -> bytes:
    s = intern_ip(src)
    seg = build_tcp(s, LOCAL, sport, dport, 5000, 0, flags, 64240, payload, opts)
    packet = build_ipv4(s, LOCAL, 6, seg, identification=7, df=not mf, mf=mf,
                        options=ip_opts)
    frame = bytearray(build_ethernet(dst_mac, PEER_MAC, ETHERTYPE_IPV4, packet)) + bytes(pad)
    if damage is not None:
        damage(frame)
    return bytes(frame)


def flip(offset: int) -> Callable[[bytearray], None]:
    def change(frame: bytearray) -> None:
        frame[offset] ^= 0x40
    return change


def shorten(frame: bytearray) -> None:
    del frame[-4:]


# (frame, whether the lean path takes it)
CASES = {
    "linux syn": (syn(), True),
    "no options": (syn(opts=b""), True),
    "mss only": (syn(opts=b"\x02\x04\x02\x18"), True),
    "ts without wscale": (syn(opts=b"\x01\x01\x08\x0a" + bytes(8)), True),
    "duplicate mss": (syn(opts=b"\x02\x04\x05\xb4\x02\x04\x02\x18"), True),
    "with data": (syn(payload=b"hello"), True),
    "ethernet padding": (syn(opts=b"", pad=6), True),
    "bad tcp checksum": (syn(damage=flip(60)), False),
    "bad ip checksum": (syn(damage=flip(22)), False),
    "truncated": (syn(damage=shorten), False),
    "bad option length": (syn(opts=b"\x02\x01\x05\xb4"), False),
    "option past the header": (syn(opts=b"\x01\x01\x08\x0c"), False),
    "syn-ack": (syn(flags=SYN | ACK), False),
    "ecn setup syn": (syn(flags=SYN | ECE | CWR), False),
    "closed port": (syn(dport=81), False),
    "ip options": (syn(ip_opts=b"\x01\x01\x01\x01"), False),
    "fragment": (syn(mf=True), False),
    "other mac": (syn(dst_mac=MacAddress("02:00:0a:00:00:09")), False),
    "broadcast mac": (syn(dst_mac=b"\xff" * 6), False),
}


def feed(cfg: TcpConfig, frames: list[bytes], now: float = 1.5) -> list[bool]:
    """Each frame through both stacks, checking after each that both sent the same frames
    and count the same; returns which frames the lean path took."""
    lean, lean_sent = make_stack(cfg)
    full, full_sent = make_stack(cfg)
    full.tcp.cookie_secret = lean.tcp.cookie_secret
    taken = []
    for frame in frames:
        iface = lean.interfaces["tap0"]
        took = answer_from_frame(lean, iface, frame, now)
        if not took:
            lean.receive(iface, frame, now)
        full.receive("tap0", frame, now)
        taken.append(took)
        assert lean_sent == full_sent
        assert lean.counters.flat() == full.counters.flat()
        assert lean.tcp.listeners[80].last_overflow == full.tcp.listeners[80].last_overflow
        now += 0.001
    return taken


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_lean_path_answers_as_the_full_path_or_leaves_the_frame(name: str) -> None:
    frame, expected = CASES[name]
    taken = feed(TcpConfig.linux_like(syncookies=2), [frame])
    assert taken == [expected]


def test_with_cookies_on_overflow_only_a_full_queue_takes_the_lean_path() -> None:
    cfg = TcpConfig.linux_like(max_half_open=2)
    frames = [syn(sport=40000 + i) for i in range(4)] + [syn(sport=40001)]
    taken = feed(cfg, frames)
    # two half-open connections first; then cookies; a SYN again for one of those two
    # belongs to its connection
    assert taken == [False, False, True, True, False]


def test_with_cookies_off_the_lean_path_takes_nothing() -> None:
    taken = feed(TcpConfig.linux_like(syncookies=0, max_half_open=1),
                    [syn(sport=40000 + i) for i in range(3)])
    assert taken == [False, False, False]


def test_a_flood_of_many_sources_gets_the_same_answers() -> None:
    frames = [syn(src=f"10.0.0.{3 + i % 200}", sport=1024 + 7 * i) for i in range(300)]
    taken = feed(TcpConfig.linux_like(max_half_open=16), frames)
    assert taken.count(True) == 300 - 16
