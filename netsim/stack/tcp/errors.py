"""Errors a TCP connection reports to its application, and the protocol error."""

from __future__ import annotations

from netsim.errors import NetsimError


class TcpError(NetsimError):
    pass


class ConnectionRefused(TcpError):
    """The peer answered our SYN with a RST (nothing listens on that port)."""


class ConnectionReset(TcpError):
    """The peer reset the connection."""


class ConnectionTimedOut(TcpError):
    """Retransmissions went unanswered; the connection gave up."""


class ConnectionClosed(TcpError):
    """The operation is not possible: the connection (or this direction) is closed."""


class HostUnreachable(TcpError):
    """An ICMP error says the peer cannot be reached."""


class TcpProtocolError(TcpError):
    """An event that the state table does not allow in the current state."""
