"""The adapter that puts a TcpPeer on a netsim stack (netsim.stack.tcp.peer_adapter): every
value a peer returns is checked, a bad one ends that connection with a one-line error naming
it (and a RST), never a crash or a malformed segment; its connection is traced like netsim's."""

from __future__ import annotations

from typing import Any

import pytest

from netsim.errors import UsageError
from netsim.sim.peer_transfer import transfer
from netsim.sim.topology import two_hosts
from netsim.sim.world import World
from netsim.stack.events import SegmentRecord
from netsim.stack.tcp.lab_peer import LabPeer
from netsim.stack.tcp.layer import AddressInUse
from netsim.stack.tcp.peer_adapter import connect_peer, listen_peer
from netsim.stack.tcp.peer_checks import PeerError, check_segments
from netsim.trace import Recorder
from netsim.trace.plots.timeseq import time_sequence_data
from netsim.wire.tcp import ACK, RST, SYN, MSSOption, TCPSegment

GOOD = (1, 2, 1000, False, False, False, b"ab")


@pytest.mark.parametrize(("value", "message"), [
    ((GOOD,), "receive() returned ((1, 2, 1000,"),
    ([GOOD[:6]], "segment 0: (1, 2, 1000, False, False, False) is not a 7-tuple"),
    ([GOOD, [*GOOD]], "segment 1: [1, 2, 1000, False, False, False, b'ab'] is not a 7-tuple"),
    ([(True, *GOOD[1:])], "seqno True is not an int in [0, 2**32)"),
    ([(1 << 32, *GOOD[1:])], "seqno 4294967296 is not an int"),
    ([(1, -1, *GOOD[2:])], "ackno -1 is neither None nor an int"),
    ([(1, 2, 65536, *GOOD[3:])], "window 65536 is not an int in [0, 65535]"),
    ([(1, 2, 1.5, *GOOD[3:])], "window 1.5 is not an int"),
    ([(1, 2, 3, 1, False, False, b"")], "syn 1 is not a bool"),
    ([(1, 2, 3, False, False, None, b"")], "rst None is not a bool"),
    ([(*GOOD[:6], "ab")], "payload 'ab' is not bytes"),
    ([(*GOOD[:6], bytearray(b"ab"))], "payload bytearray(b'ab') is not bytes"),
    ([(*GOOD[:6], b"x" * 1001)], "1001 bytes of payload; at most max_payload = 1000"),
    ([(1, 2, 3, False, False, True, b"x")], "a RST with SYN, FIN or payload"),
])
def test_a_bad_return_is_a_one_line_error_naming_it(value: Any, message: str) -> None:
    with pytest.raises(PeerError, match=".*") as info:
        check_segments(value, "receive()", 1000)
    text = str(info.value)
    assert message in text and "\n" not in text and text.startswith("receive()")


def test_good_segments_pass_unchanged() -> None:
    segs = [GOOD, (0, None, 0, True, False, False, b""), ((1 << 32) - 1, 0, 65535, False,
                                                          True, False, b"x" * 1000)]
    assert check_segments(segs, "tick()", 1000) == segs
    assert check_segments([], "tick()", 1000) == []


class _Breaks(LabPeer):
    """A LabPeer that answers its `after`-th call of `method` with `bad`."""

    method = "receive"
    after = 50
    bad: Any = [("seqno", None, 0, False, False, False, b"")]

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.calls = 0

    def __getattribute__(self, name: str) -> Any:
        real = super().__getattribute__(name)
        if name != type(self).method:
            return real

        def wrapped(*args: Any) -> Any:
            self.calls += 1
            if self.calls >= type(self).after:
                bad = type(self).bad
                if isinstance(bad, Exception):
                    raise bad
                return bad
            return real(*args)
        return wrapped


def _breaking(method: str, after: int, bad: Any) -> type[_Breaks]:
    return type("Broken", (_Breaks,), {"method": method, "after": after, "bad": bad})


@pytest.mark.parametrize(("method", "bad", "message"), [
    ("receive", [("seqno", None, 0, False, False, False, b"")],
     "receive(), segment 0: seqno 'seqno' is not an int in [0, 2**32)"),
    ("receive", None, "receive() returned None; it must return a list of segments"),
    ("tick", ZeroDivisionError("oops"), "tick() raised ZeroDivisionError: 'oops'"),
    ("active", "yes", "active() returned 'yes'; it must return a bool"),
    ("read", [b"x"], "read() returned [b'x']; it must return bytes"),
    ("at_eof", 1, "at_eof() returned 1; it must return a bool"),
])
@pytest.mark.parametrize("active", [False, True], ids=["peer-passive", "peer-active"])
def test_a_peer_that_breaks_mid_transfer_ends_with_its_error_and_a_rst(
        method: str, bad: Any, message: str, active: bool) -> None:
    res = transfer(_breaking(method, 30, bad), 1, nbytes=100_000, active=active,
                   time_limit=60.0)
    assert res.error == message
    assert not res.peer_closed and not (res.to_peer_intact and res.from_peer_intact)
    # the adapter resets the connection, so netsim's TCP stops too
    assert res.reset and not res.netsim_closed
    assert res.seconds < 30


def test_the_peer_connection_is_traced_for_the_time_sequence_graph() -> None:
    rec = Recorder()
    res = transfer(LabPeer, 3, nbytes=100_000, trace=rec)
    assert res.to_peer_intact and res.from_peer_intact
    segs = [r for r in rec.records if isinstance(r, SegmentRecord) and r.conn == res.conn]
    tx = [s for s in segs if s.direction == "tx"]
    assert len(tx) == res.segments and sum(s.retransmit for s in tx) == res.retransmissions
    assert tx[0].flags == "S." and tx[0].options == "mss 1000" and tx[0].seq_rel == 0
    assert any(s.flags.startswith("F") for s in tx)
    ts = time_sequence_data(rec, res.conn)
    assert ts.data_direction == "tx"
    assert sum(top - bottom for (_, bottom), (_, top) in ts.data) >= 100_000
    assert ts.ack[-1][1] == 100_002  # the SYN, every byte and the FIN acknowledged


def test_a_port_is_given_to_peers_once_and_checked() -> None:
    net = two_hosts(World(1))
    stack = net.hosts[1].stack
    listen_peer(stack, 80, LabPeer, isn=lambda: 0)
    with pytest.raises(AddressInUse, match="TCP port 80 is already in use on h2"):
        listen_peer(stack, 80, LabPeer, isn=lambda: 0)
    stack.tcp.listen(81)
    with pytest.raises(AddressInUse, match="port 81"):
        listen_peer(stack, 81, LabPeer, isn=lambda: 0)
    with pytest.raises(UsageError, match="port: 0 is not in 1..65535"):
        listen_peer(stack, 0, LabPeer, isn=lambda: 0)
    with pytest.raises(UsageError, match="max_payload: 0 is not allowed"):
        listen_peer(stack, 82, LabPeer, isn=lambda: 0, max_payload=0)
    with pytest.raises(UsageError, match="tick_interval: -1 is not allowed"):
        listen_peer(stack, 82, LabPeer, isn=lambda: 0, tick_interval=-1)


def test_a_peer_port_answers_as_a_listener_until_a_syn_opens_a_connection() -> None:
    net = two_hosts(World(1))
    h1, h2 = net.hosts
    stack = h2.stack
    lst = listen_peer(stack, 80, LabPeer, isn=lambda: 7, max_payload=1000)
    counts = stack.counters["tcp"]

    def arrives(flags: int, payload: bytes = b"", mss: int | None = None, seq: int = 100,
                ack: int = 5) -> None:
        options = (MSSOption(mss),) if mss else ()
        stack.tcp.segment_input(h1.ip, h2.ip, TCPSegment(40000, 80, seq, ack, flags, 1000,
                                                         payload, options), 0.0)

    # RFC 9293 §3.10.7.2 (LISTEN): a RST is ignored, an ACK gets a RST, data alone is dropped
    arrives(RST)
    assert counts["tx_rst"] == 0
    arrives(ACK)
    assert counts["tx_rst"] == 1
    arrives(0, b"x")
    assert counts["drop.no_syn_in_listen"] == 1 and not lst.opened
    arrives(SYN, mss=536)  # the other side's MSS caps the peer's max_payload
    (conn,) = lst.opened
    assert conn.max_payload == 536 and conn.segs_in == 1 and conn.segs_out == 1
    assert isinstance(conn.peer, LabPeer) and conn.peer.active()
    arrives(ACK, seq=101, ack=8)  # the connection's now: the handshake's last ACK, no answer
    assert conn.segs_in == 2 and conn.segs_out == 1 and counts["tx_rst"] == 1
    arrives(ACK, seq=100, ack=8)  # an old one (out of the window): answered with an ACK
    assert conn.segs_in == 3 and conn.segs_out == 2 and counts["tx_rst"] == 1


def test_an_active_peers_port_resets_segments_of_other_connections() -> None:
    net = two_hosts(World(1))
    h1, h2 = net.hosts
    stack = h2.stack
    conn = connect_peer(stack, h1.ip, 80, LabPeer(isn=7))
    assert conn.segs_out == 1 and stack.tcp.peer_ports  # the SYN is out, the port taken
    counts = stack.counters["tcp"]

    def stranger(flags: int) -> None:  # from port 81, not the connection's 80
        stack.tcp.segment_input(h1.ip, h2.ip, TCPSegment(81, conn.local_port, 100, 8, flags,
                                                         1000), 0.0)

    # RFC 9293 §3.10.7.1 (CLOSED): a RST to anything but a RST, none to a RST
    for flags, resets in ((ACK, 1), (SYN, 2), (RST, 2)):
        stranger(flags)
        assert counts["tx_rst"] == resets and conn.segs_in == 0
    conn.fail(PeerError("stop"))  # its end gives the port back
    assert not stack.tcp.peer_ports and conn.closed
