"""`LinkConfig`: moved to `netsim.link.config` (both worlds use it); kept here by name."""

from netsim.link.config import LinkConfig

__all__ = ["LinkConfig"]
