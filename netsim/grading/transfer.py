"""The whole-connection check the TCP labs share: a 400 kB transfer over a lossy, reordering,
duplicating simulated link with the student's part (receiver or sender) on both hosts."""

from __future__ import annotations

from netsim.grading.framework import CheckFailed, Context


def check_hostile_transfer(ctx: Context, part: str, loss: float, seed: int) -> None:
    """Run the transfer with ``TcpConfig(<part>_factory=the student's class)``; fail unless
    every byte arrives intact and both sides close. `part` is "receiver" or "sender"."""
    from netsim.sim.link import LinkConfig
    from netsim.sim.loss import Bernoulli
    from netsim.sim.scenario import BulkScenario, run_bulk
    from netsim.stack.tcp.config import TcpConfig

    cls = ctx.target()
    link = LinkConfig(delay=0.005, jitter=0.0, rate_bps=20e6, loss=Bernoulli(loss),
                      reorder=0.05, duplicate=0.02)
    tcp = TcpConfig(receiver_factory=cls) if part == "receiver" else \
        TcpConfig(sender_factory=cls)
    ctx.step(f"run_bulk(400 kB, 5 ms delay, 20 Mbit/s, {loss:.0%} loss, 5% reordered, "
             f"2% duplicated, seed {seed}) with your Tcp{part.capitalize()} on both hosts")
    res = run_bulk(BulkScenario(bytes=400_000, link=link, seed=seed, time_limit=60.0, tcp=tcp))
    error = f", error: {res.error}" if res.error else ""
    ctx.step(f"-> intact={res.intact}, completed={res.completed}, delivered "
             f"{res.bytes_delivered} bytes, {res.retransmissions} retransmissions{error}")
    if not res.intact or not res.completed:
        same = "equal" if res.sha256_sent == res.sha256_received else "differs"
        raise CheckFailed("the transfer through a lossy, reordering, duplicating link did not "
                          f"arrive intact and close with your {part}",
                          expected="400000 bytes, same SHA-256, both sides closed",
                          got=f"{res.bytes_delivered} bytes delivered, sha256 {same}, "
                          f"closed {res.completed}{error}")
