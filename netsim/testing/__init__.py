"""Test harnesses that course graders and the test suite share."""

from __future__ import annotations

from netsim.testing.script import ANY, Sent, TcpScript

__all__ = ["ANY", "Sent", "TcpScript"]
