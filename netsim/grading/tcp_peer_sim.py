"""The simulation check of assignment 10-tcp-peer: the student's peer as a real TCP endpoint
in netsim's simulated world (`netsim.sim.peer_transfer.transfer`), exchanging data both ways
at once with netsim's own TCP across a link that loses, reorders and duplicates frames, then
closing. Several seeds, the peer opening passively and actively; points only when every run
delivered both streams intact and both ends closed cleanly (no RST, no error).

The peer is made through the sandbox's proxy (``ctx.target()``); the adapter
(`netsim.stack.tcp.peer_adapter`) checks every value it returns before anything is sent, so a
bad value ends that connection with a one-line error, which the feedback shows.

Run it yourself on your own peer (one seed, any size, a time-sequence graph):
``python -m netsim.labrun peer-sim tcp_peer.py --seed 3 --plot out.png``.
"""

from __future__ import annotations

from netsim.grading.framework import CheckFailed, Context
from netsim.sim.peer_transfer import PeerTransfer, transfer
from netsim.stack.tcp.lab_peer import LabPeer

#: (seed, the peer opens actively): both ways of opening. Each run costs about 1000 calls
#: through the sandbox's pipe (a tick every 10 simulated ms, and every segment), so a few
#: small runs keep the check within its time limit on a busy machine.
RUNS = ((3, False), (4, True), (7, False))
NBYTES = 30_000  # each way, per run
TIME_LIMIT = 15.0  # simulated seconds per run (the reference needs under 5; a peer that
#                    never ends costs a tick every 10 ms until then)
LINK = "10 ms each way, 5% of the frames lost, 5% reordered, 2% duplicated"


def _said(res: PeerTransfer) -> str:
    return (f"to the peer intact={res.to_peer_intact}, from the peer intact="
            f"{res.from_peer_intact}, peer closed={res.peer_closed}, netsim's TCP closed="
            f"{res.netsim_closed}, RST={res.reset}; {res.segments} segments sent, "
            f"{res.retransmissions} retransmitted, {res.seconds:.2f} s")


def check_transfers(ctx: Context) -> None:
    ctx.step(f"for each run: netsim's TCP and p = {ctx.target_name}(isn=<random>, "
             f"initial_rto=0.2, max_payload=1000, capacity=64000) exchange {NBYTES} bytes "
             f"each way at once over a link with {LINK}; each side closes after writing "
             "everything")
    factory = ctx.target()
    for seed, active in RUNS:
        opening = "the peer connects (active open)" if active else \
            "netsim's TCP connects (the peer opens passively)"
        res = transfer(factory, seed, active=active, nbytes=NBYTES, time_limit=TIME_LIMIT)
        ref = transfer(LabPeer, seed, active=active, nbytes=NBYTES, time_limit=TIME_LIMIT)
        ctx.step(f"seed {seed}, {opening}: {_said(res)} (the reference: "
                 f"{ref.retransmissions} retransmitted, {ref.seconds:.2f} s)")
        if res.error and not (res.to_peer_intact and res.from_peer_intact):
            raise CheckFailed("the connection broke before both streams arrived",
                              input=f"seed {seed}, {opening}",
                              expected="both streams intact, both ends closed cleanly",
                              got=res.error, hint=_hint(res))
        if not (res.to_peer_intact and res.from_peer_intact):
            raise CheckFailed(f"the streams did not both arrive intact within {TIME_LIMIT:g} "
                              "simulated seconds", input=f"seed {seed}, {opening}",
                              expected=f"{NBYTES} bytes each way, then each FIN",
                              got=_said(res), hint=_hint(res))
        if not (res.peer_closed and res.netsim_closed) or res.reset or res.error:
            raise CheckFailed("both streams arrived, but the connection did not close cleanly "
                              "(rule 6: both FINs sent and acknowledged, no RST)",
                              input=f"seed {seed}, {opening}",
                              expected="the peer inactive without a RST; netsim's connection "
                                       "closed",
                              got=res.error or _said(res), hint=_hint(res))


def _hint(res: PeerTransfer) -> str | None:
    if "raised" in res.error:
        return "your peer raised an exception: run the same seed with python -m " \
               "netsim.labrun peer-sim tcp_peer.py --seed N to see it in full"
    if res.reset and not res.error:
        return ("a RST went one way or the other: did your peer give up too early, or "
                "accept a RST or answer one it should not have?")
    if res.to_peer_intact and res.from_peer_intact and not res.peer_closed:
        return ("the peer never became inactive: a passive close ends once our FIN is "
                "acknowledged, an active close 10 x initial_rto after the last segment")
    return None
