"""A segment without the SYN flag that starts at the ISN is dropped whole: its first byte
(the SYN's sequence number) is old, but the bytes after it are new.

Category: boundary value
RFC: RFC 9293 §3.10.7.4 (a segment that straddles old and new: only the new part is processed)
Observable: returned | ackno()
Expect: starts at the ISN
"""

from netsim.stack.tcp.reassembly import SegmentReassembler

SPACE = 2**32


def wrap(n, isn):
    return (n + isn) % SPACE


def unwrap(seqno, isn, checkpoint):
    offset = (seqno - isn) % SPACE
    base = checkpoint - checkpoint % SPACE + offset
    best = None
    for cand in (base - SPACE, base, base + SPACE):
        if cand < 0:
            continue
        if best is None or abs(cand - checkpoint) < abs(best - checkpoint):
            best = cand
    return best


class TcpReceiver:
    def __init__(self):
        self.reassembler = SegmentReassembler()
        self.isn = None

    def receive(self, seqno, syn, fin, payload, window):
        if syn and self.isn is None:
            self.isn = seqno
        if self.isn is None:
            return b""
        first = seqno + 1 if syn else seqno
        index = unwrap(first % SPACE, self.isn, self.reassembler.next_index + 1) - 1
        if index < 0:
            return b""  # "before the stream": but only its first byte is
        window_end = self.reassembler.next_index + window
        return self.reassembler.insert(index, payload, fin, window_end)

    def ackno(self):
        if self.isn is None:
            return None
        n = 1 + self.reassembler.next_index
        if self.reassembler.finished:
            n += 1
        return wrap(n, self.isn)

    def window_field(self, window, shift):
        return min(window >> shift, 0xFFFF)
