"""Assignment 05: ARP (RFC 826) — the neighbour cache, the pending queue and retries.

The stack (netsim/stack/host_arp.py) asks this class what to do and does the sending itself:

  - to send an IPv4 packet it calls lookup(); on None it calls enqueue(), and sends an ARP
    request when enqueue() answers Enqueue.SEND_REQUEST;
  - every ARP message received calls update() (create=False when the message was not
    addressed to us: RFC 826's merge flag); it then transmits the packets update() returns;
  - at next_deadline() it calls poll(): requests to send again, and resolutions that failed
    (their packets are dropped and reported "host unreachable").

Fill in the TODOs. Grade your work with

    netsim grade 05-arp-cache arp_cache.py
"""

from __future__ import annotations

from ipaddress import IPv4Address

from netsim.stack.arp import ArpPoll, Enqueue
from netsim.wire.mac import MacAddress


class ArpCache:
    """timeout: how long a learned entry lives (seconds). retries: how many requests are sent
    in all (the first included) before giving up, retry_interval apart. max_pending: how many
    packets are held per unresolved address (beyond it the oldest is dropped, so that the
    latest is kept)."""

    def __init__(self, timeout: float = 60.0, retries: int = 3, retry_interval: float = 1.0,
                 max_pending: int = 256) -> None:
        self.timeout = timeout
        self.retries = retries
        self.retry_interval = retry_interval
        self.max_pending = max_pending
        # TODO: the cache (address -> MAC and expiry) and the pending resolutions
        # (address -> held packets, requests sent so far, when the next one is due)

    def lookup(self, ip: IPv4Address, now: float) -> MacAddress | None:
        """The MAC of `ip`, or None when unknown or expired."""
        raise NotImplementedError("TODO: ArpCache.lookup")

    def update(self, ip: IPv4Address, mac: MacAddress, now: float,
               create: bool = True) -> list[bytes]:
        """Learn or refresh ip -> mac. With create=False only an existing entry or a pending
        resolution is updated. Returns the packets that were waiting for `ip` (in order)."""
        raise NotImplementedError("TODO: ArpCache.update")

    def enqueue(self, ip: IPv4Address, packet: bytes, now: float) -> Enqueue:
        """Hold `packet` until `ip` is resolved. Enqueue.SEND_REQUEST for the first packet
        (the caller sends the first request), QUEUED for later ones, DROPPED when
        max_pending packets were already held: the oldest held packet is dropped to make room
        for this one (RFC 1122 §2.3.2.2 keeps the latest)."""
        raise NotImplementedError("TODO: ArpCache.enqueue")

    def poll(self, now: float) -> ArpPoll:
        """Called at next_deadline(): ArpPoll(requests=[addresses to ask again],
        failed=[(address, held packets)] for resolutions that used up their retries)."""
        raise NotImplementedError("TODO: ArpCache.poll")

    def next_deadline(self) -> float | None:
        """When poll() next has something to do (a retry), or None."""
        raise NotImplementedError("TODO: ArpCache.next_deadline")

    def entries(self, now: float) -> dict[IPv4Address, MacAddress]:
        """The entries that have not expired (for `arp -a`-like displays)."""
        raise NotImplementedError("TODO: ArpCache.entries")
