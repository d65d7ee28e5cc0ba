"""The simulated SYN flood of lesson 9 (netsim.sim.synflood): without cookies the half-open
queue fills with spoofed entries and the real client is shut out; with cookies it is served."""

from __future__ import annotations

from netsim.sim.synflood import syn_flood


def test_without_cookies_the_flood_denies_service_and_with_cookies_it_does_not() -> None:
    off = syn_flood(0, syns=3000, duration=3.0, give_up=4.0)
    on = syn_flood(1, syns=3000, duration=3.0, give_up=4.0)
    for run in (off, on):
        assert max(run.half_open) == 256  # the queue is full of spoofed entries
        assert run.served(0.0, 0.9) == (3, 3)  # before the flood, everyone gets in
    assert off.served(0.9, 3.0, within=4.0) == (0, 8)
    # every spoofed SYN past the 256th is dropped (and so are the client's SYNs)
    assert off.counters["tcp.drop.syn_backlog_full"] >= 3000 - 256
    assert on.served(0.9, 3.0) == (8, 8)
    # every SYN past the 256th got a cookie, the client's too: 2744 spoofed + 8
    assert on.counters["tcp.syncookies_sent"] == 3000 - 256 + 8
    assert on.counters["tcp.syncookies_valid"] == 8  # and each client came back with one
    assert on.cookies_sent[-1] == on.counters["tcp.syncookies_sent"]
    assert max(off.cookies_sent) == 0
