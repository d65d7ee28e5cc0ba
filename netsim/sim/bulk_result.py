"""What `run_bulk` (netsim.sim.scenario) reports: `BulkResult`, and `link_summary`, the
settings of one link direction as its JSON output shows them."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from netsim.apps.bulk import BulkSendResult, Sha256Field, SinkResult
from netsim.sim.link import LinkConfig
from netsim.sim.loss import Bernoulli, GilbertElliott, NoLoss, Periodic

__all__ = ["BulkResult", "link_summary"]


@dataclass(kw_only=True)  # (so that the digests below can have a default among fields without)
class BulkResult:
    """The outcome of `run_bulk`; `to_dict()` is what ``netsim sim --json`` prints."""

    bytes_requested: int
    bytes_sent: int
    bytes_delivered: int
    # SHA-256 (hex) of the bytes sent and received; while they are the seed's stream they are
    # worked out when first read (netsim.apps.bulk.Sha256Field), not during the run
    sha256_sent: Sha256Field = Sha256Field()
    sha256_received: Sha256Field = Sha256Field()
    intact: bool
    completed: bool  # both sides closed normally; says nothing of the bytes (`intact` does)
    error: str | None
    sim_seconds: float  # connect() to the last byte delivered to the sink application
    close_seconds: float  # connect() to both sides closed (or to the stop)
    wall_seconds: float
    goodput_bps: float  # bytes_delivered * 8 / sim_seconds
    data_segments: int
    retransmissions: int
    timeouts: int
    fast_retransmits: int
    sack_recoveries: int
    cc: str
    mss: int  # payload bytes of a full segment actually used
    seed: int
    link: dict[str, Any]
    reverse_link: dict[str, Any] | None
    link_drops: dict[str, int]  # frames the link dropped, both directions, by reason
    flows: int = 1
    # Jain's fairness index of the flows' goodputs, (sum x)^2 / (n sum x^2): 1 when equal
    jain_fairness: float = 1.0
    flow_goodputs_bps: list[float] = field(default_factory=list)
    flow_timeouts: list[int] = field(default_factory=list)  # each flow's RTOs, flow order
    # with ECN asked for: CE marks the link's queues set, and h1's connections that agreed on
    # ECN, window reductions for an ECN-Echo and CWR segments sent (tcp.ecn_* counters)
    ecn: dict[str, int] | None = None
    # with flow_delays: each flow's extra delay and its handshake's round trip (SYN sent to
    # SYN-ACK received: its base RTT), in seconds
    flow_delays: list[float] | None = None
    handshake_rtts: list[float] | None = None
    sender: BulkSendResult | None = field(default=None, repr=False)  # the first flow's
    sink: SinkResult | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: every field except the app results, with the (forward) link settings
        flattened in: ``delay``, ``rate_bps``, ``loss``, ``loss_model``, ``mtu``, ..."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            if (f.name in ("sender", "sink", "link")
                    or f.name in ("ecn", "flow_delays", "handshake_rtts")
                    and getattr(self, f.name) is None):
                continue
            out[f.name] = getattr(self, f.name)
        for key, value in self.link.items():
            out.setdefault(key, value)
        return out


def _loss_rate(cfg: LinkConfig) -> float:
    model = cfg.loss
    if model is None or isinstance(model, NoLoss):
        return 0.0
    if isinstance(model, Bernoulli):
        return model.p
    if isinstance(model, GilbertElliott):
        return model.mean_loss
    if isinstance(model, Periodic):
        return 1.0 / model.every_n
    return float("nan")


def link_summary(cfg: LinkConfig) -> dict[str, Any]:
    """The settings of one link direction, JSON-ready."""
    model = cfg.loss
    loss_model = "none" if model is None or isinstance(model, NoLoss) else repr(model)
    loss = _loss_rate(cfg)
    out: dict[str, Any] = {
        "delay": cfg.delay,
        "jitter": cfg.jitter,
        "rate_bps": cfg.rate_bps,
        "queue_packets": cfg.queue_packets,
        "queue_bytes": cfg.queue_bytes,
        "mtu": cfg.mtu,
        "loss": None if loss != loss else loss,  # NaN: a model without a known mean rate
        "loss_model": loss_model,
        "reorder": cfg.reorder,
        "duplicate": cfg.duplicate,
        "corrupt": cfg.corrupt,
    }
    if cfg.qdisc is not None:  # (absent with the default drop-tail: earlier outputs unchanged)
        describe = getattr(cfg.qdisc, "describe", None)
        out["qdisc"] = (describe() if callable(describe) and not isinstance(cfg.qdisc, type)
                        else getattr(cfg.qdisc, "__name__", repr(cfg.qdisc)))
    return out


