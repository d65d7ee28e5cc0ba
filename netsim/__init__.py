"""netsim: a TCP/IP stack in Python for teaching and simulation."""

__version__ = "0.1.0"
