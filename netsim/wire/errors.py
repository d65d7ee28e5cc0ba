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


class UDPChecksumError(UDPError, ChecksumError):
    pass


class TCPChecksumError(TCPError, ChecksumError):
    pass
