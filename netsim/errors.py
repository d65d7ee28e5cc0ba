"""The package's error hierarchy: every error netsim raises derives from NetsimError."""

from __future__ import annotations


class NetsimError(Exception):
    """Base class of every error netsim raises on purpose."""


class UsageError(NetsimError, ValueError):
    """A bad argument from a user: the message names the argument and what is allowed."""


class UnknownNameError(UsageError, KeyError):
    """A name that is not in the collection asked (``net.node("zz")``); still a KeyError, which
    is what such a lookup raised before, so ``except KeyError`` keeps working."""

    __str__ = Exception.__str__  # the one-line message, not KeyError's repr of it
