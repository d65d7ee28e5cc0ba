"""Errors raised by the wire parsers: one base class, one subclass per layer.

Every parser in netsim.wire either returns a value or raises a subclass of
`WireError` whose message says what is wrong and where (never a bare
IndexError, struct.error or ValueError from inside).
"""

from __future__ import annotations

from netsim.errors import NetsimError


class WireError(NetsimError):
    """A byte string that is not a valid packet of the layer being parsed."""


class EthernetError(WireError):
    pass


class ArpError(WireError):
    pass


class IPv4Error(WireError):
    pass


class ICMPError(WireError):
    pass


class IPv6Error(WireError):
    pass


class ICMPv6Error(WireError):
    pass


class NDError(ICMPv6Error):
    """A neighbour discovery message (RFC 4861) that is not valid."""


class UDPError(WireError):
    pass


class TCPError(WireError):
    pass


class PcapError(WireError):
    pass


class ChecksumError(WireError):
    """Mixin-style marker: a checksum did not verify (raised as a layer-specific subclass)."""


class IPv4ChecksumError(IPv4Error, ChecksumError):
    pass


class ICMPChecksumError(ICMPError, ChecksumError):
    pass


class ICMPv6ChecksumError(ICMPv6Error, ChecksumError):
    pass


class UDPChecksumError(UDPError, ChecksumError):
    pass


class TCPChecksumError(TCPError, ChecksumError):
    pass
