"""The link flags shared by simulating subcommands (``--delay 10ms --rate 100Mbit --loss 0.01``).

Values are kept as strings by argparse and parsed by `link_config_from_args`, so a bad value
raises `UsageError` naming the flag (exit status 2 via `netsim.cli.main`), e.g.
``netsim: error: --delay: '10xs' is not a time; use e.g. 10ms, 1.5s, 200us``.
"""

from __future__ import annotations

import argparse
import math

from netsim.cli.validate import probability
from netsim.errors import UsageError
from netsim.link.qdisc.spec import QDISCS, QdiscSpec, parse_qdisc
from netsim.sim.link import LinkConfig
from netsim.sim.loss import DEFAULT_BURST, LOSS_MODELS, make_loss_model
from netsim.units import parse_rate, parse_size, parse_time

__all__ = ["add_link_arguments", "link_config_from_args", "transfer_bytes"]

DEFAULT_DELAY = "10ms"
DEFAULT_RATE = "100Mbit"
DEFAULT_QUEUE = "1000"
DEFAULT_MTU = "1500"
_UNLIMITED = ("none", "inf", "unlimited", "off")


def add_link_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the shared link flags (and --seed, --pcap, --json) to ``parser``."""
    group = parser.add_argument_group("link")
    group.add_argument(
        "--delay", default=DEFAULT_DELAY, metavar="TIME",
        help="one-way propagation delay with its unit, e.g. 10ms, 1.5s, 200us (a bare number "
        f"is refused: add ms or s) (default {DEFAULT_DELAY})",
    )
    group.add_argument(
        "--jitter", default="0", metavar="TIME",
        help="extra delay with its unit, uniform in [0, TIME]; does not reorder frames "
        "(default 0)",
    )
    group.add_argument(
        "--rate", default=DEFAULT_RATE, metavar="RATE",
        help="link rate with its unit, tc units: bit/kbit/mbit/gbit are bits/s, "
        "bps/kbps/mbps are BYTES/s (a bare number is refused); "
        f"'none' for infinitely fast (default {DEFAULT_RATE})",
    )
    group.add_argument(
        "--queue", default=DEFAULT_QUEUE, metavar="N|SIZE",
        help="drop-tail queue: a number of frames, or bytes with a unit (64kB, 1MiB), "
        f"or 'none' for unbounded (default {DEFAULT_QUEUE})",
    )
    group.add_argument(
        "--qdisc", default="droptail", metavar="QDISC",
        help=f"queue discipline in front of each transmitter, {'|'.join(QDISCS)}, with tc-like "
        "parameters in the same argument, e.g. 'codel target 5ms interval 100ms', "
        "'fq_codel flows 1024 quantum 1514 limit 10240', 'red min 5 max 15 probability 0.02', "
        "'droptail limit 100'; 'ecn' marks ECT packets instead of dropping them. An AQM has "
        "its own 'limit' (--queue is drop-tail's). A QueueDisc of your own: "
        "path/to/file.py:ClassName (default droptail)",
    )
    group.add_argument(
        "--mtu", default=DEFAULT_MTU, metavar="BYTES",
        help="largest IPv4 packet a frame may carry, 68..65535; TCP needs 116 or more "
        f"(default {DEFAULT_MTU})",
    )
    group.add_argument(
        "--loss", default="0", metavar="P",
        help="fraction of frames lost on the wire, 0..1 (default 0)",
    )
    group.add_argument(
        "--loss-model", default="bernoulli", metavar="MODEL",
        help=f"how losses fall: {', '.join(LOSS_MODELS)} "
        "(independent, in bursts, every round(1/P)-th frame; default bernoulli)",
    )
    group.add_argument(
        "--loss-burst", default=f"{DEFAULT_BURST:g}", metavar="FRAMES",
        help=f"mean loss-burst length for --loss-model gilbert (default {DEFAULT_BURST:g})",
    )
    group.add_argument(
        "--reorder", default="0", metavar="P",
        help="fraction of frames held back so that later frames overtake them (default 0)",
    )
    group.add_argument(
        "--duplicate", default="0", metavar="P",
        help="fraction of frames delivered twice (default 0)",
    )
    group.add_argument(
        "--corrupt", default="0", metavar="P",
        help="fraction of frames with one bit flipped after the Ethernet header (default 0)",
    )
    group.add_argument(
        "--seed", type=int, default=1, metavar="N",
        help="seed of every random choice, 0 or more; same seed, same run (default 1)",
    )
    group.add_argument(
        "--pcap", default=None, metavar="FILE", help="write the frames seen to a pcap FILE",
    )
    group.add_argument(
        "--json", action="store_true", help="print results as JSON instead of a table",
    )


_probability = probability
#: Largest --seed (random.Random takes any int; a seed is also written into tables).
MAX_SEED = 2**63 - 1


def transfer_bytes(text: object, flag: str = "--bytes") -> int:
    """How much a transfer sends: a size of at least 1 byte (the same rule for sim, demo,
    live send and sweeps)."""
    nbytes = parse_size(text, flag)  # type: ignore[arg-type]
    if nbytes < 1:
        raise UsageError(f"{flag}: {text!r} is too small; send at least 1 byte, e.g. 10MB")
    return nbytes


def _is_unlimited(text: str) -> bool:
    return isinstance(text, str) and text.strip().lower() in _UNLIMITED


def _queue(text: str) -> tuple[int | None, int | None]:
    """--queue: (packets, bytes). A bare integer is frames; a value with a unit is bytes."""
    if _is_unlimited(text):
        return None, None
    stripped = str(text).strip()
    if stripped.isdigit():
        return int(stripped), None
    try:
        if not any(c.isalpha() for c in stripped):
            raise UsageError("a size needs a unit here")
        return None, parse_size(stripped, "--queue")
    except UsageError:
        raise UsageError(
            f"--queue: {text!r} is not a queue limit; use a number of frames (100), "
            "bytes with a unit (64kB, 1MiB) or 'none'"
        ) from None


def _mtu(text: str) -> int:
    stripped = str(text).strip()
    value = int(stripped) if stripped.isdigit() else -1
    if not 68 <= value <= 65535:
        # RFC 791: every internet module must be able to forward a datagram of 68 octets.
        raise UsageError(f"--mtu: {text!r} is not an MTU; use a whole number of bytes, 68..65535")
    return value


def link_config_from_args(args: argparse.Namespace) -> LinkConfig:
    """The `LinkConfig` (used for both directions) described by the link flags in ``args``
    (and --seed checked)."""
    seed = getattr(args, "seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise UsageError(f"--seed: {seed!r} is not a seed; use a whole number 0..{MAX_SEED}")
    delay = parse_time(args.delay, "--delay")
    jitter = parse_time(args.jitter, "--jitter")
    rate = None if _is_unlimited(args.rate) else parse_rate(args.rate, "--rate")
    queue_packets, queue_bytes = _queue(args.queue)
    spec = parse_qdisc(getattr(args, "qdisc", "droptail"), "--qdisc")
    qdisc: QdiscSpec | None = spec
    if spec.name == "droptail":
        # drop-tail is the link's own fast path: its parameters are --queue's
        params = dict(spec.params)
        if params:
            queue_packets = params.get("limit")
            queue_bytes = params.get("bytes")
        qdisc = None
    mtu = _mtu(args.mtu)
    loss_rate = _probability(args.loss, "--loss")
    try:
        burst = float(getattr(args, "loss_burst", DEFAULT_BURST))
    except (TypeError, ValueError):
        burst = math.nan
    if not (math.isfinite(burst) and burst >= 1):
        raise UsageError(
            f"--loss-burst: {getattr(args, 'loss_burst', None)!r} is not a burst length; "
            "use a number of frames >= 1"
        )
    loss = make_loss_model(args.loss_model, loss_rate, burst=burst)
    return LinkConfig(
        delay=delay,
        jitter=jitter,
        rate_bps=rate,
        queue_packets=queue_packets,
        queue_bytes=queue_bytes,
        mtu=mtu,
        loss=loss,
        reorder=_probability(args.reorder, "--reorder"),
        duplicate=_probability(args.duplicate, "--duplicate"),
        corrupt=_probability(args.corrupt, "--corrupt"),
        qdisc=qdisc,
    )
