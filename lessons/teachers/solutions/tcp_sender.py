"""Model solution of assignment 07 (the TCP sender): stream indices inside, sequence numbers
only at the edges.

The sender counts the bytes acknowledged so far (`acked`, the stream index of the oldest byte
held). A sequence number from the connection is turned into a stream index by taking its
distance from the oldest byte held as a signed 32-bit number: the connection never asks about
anything more than 2**31 away (RFC 9293 §3.4: comparisons of sequence numbers are modulo
2**32).
"""

from __future__ import annotations

SPACE = 2**32
HALF = 2**31


class TcpSender:
    def __init__(self) -> None:
        self.isn = 0
        self.acked = 0  # bytes acknowledged: the stream index of held[0]
        self.held = bytearray()  # written and not acknowledged

    def _index(self, seqno: int) -> int:
        """The stream index of sequence number `seqno` (may be before the oldest byte held,
        or past the last one)."""
        oldest = (self.isn + 1 + self.acked) % SPACE
        distance = (seqno - oldest) % SPACE
        if distance >= HALF:
            distance -= SPACE  # behind the oldest byte held
        return self.acked + distance

    def start(self, isn: int) -> None:
        self.isn = isn

    def write(self, data: bytes) -> None:
        self.held.extend(data)

    def buffered(self) -> int:
        return len(self.held)

    def data_end(self) -> int:
        return (self.isn + 1 + self.acked + len(self.held)) % SPACE

    def payload(self, seqno: int, n: int) -> bytes:
        start = self._index(seqno) - self.acked
        return bytes(self.held[start:start + n])

    def acknowledge(self, ackno: int) -> int:
        # every byte before ackno is acknowledged; the FIN's number is no byte, so at most
        # the bytes held go
        n = min(max(self._index(ackno) - self.acked, 0), len(self.held))
        del self.held[:n]
        self.acked += n
        return n
