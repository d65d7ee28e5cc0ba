"""netsim: a TCP/IP stack in Python for teaching and simulation."""

__version__ = "0.1.0"

from netsim._build import warn_if_stale as _warn_if_stale

_warn_if_stale()
