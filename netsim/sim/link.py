"""The link model: moved to `netsim.link.model` (both worlds use it); the names are kept here
so that ``from netsim.sim.link import LinkConfig`` keeps working."""

from netsim.link.config import LinkConfig
from netsim.link.model import DROP_REASONS, ETH_HEADER, Endpoint, Link, LinkStats

__all__ = ["DROP_REASONS", "ETH_HEADER", "Endpoint", "Link", "LinkConfig", "LinkStats"]
