"""The package's error hierarchy: every error netsim raises derives from NetsimError."""

from __future__ import annotations


class NetsimError(Exception):
    """Base class of every error netsim raises on purpose."""


class UsageError(NetsimError, ValueError):
    """A bad argument from a user: the message names the argument and what is allowed."""
