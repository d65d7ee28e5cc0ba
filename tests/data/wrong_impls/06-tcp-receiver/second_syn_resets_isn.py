"""Every SYN sets the ISN, so a later SYN (another ISN) moves the acknowledgment number and
misplaces every byte after it.

Category: state not reset
RFC: RFC 9293 §3.10.7.4 (a SYN on a synchronized connection is no new start)
Observable: ackno() | returned
Expect: only the first SYN
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
        if syn:
            self.isn = seqno  # the SYN gives the ISN
        if self.isn is None:
            return b""
        first = seqno + 1 if syn else seqno
        index = unwrap(first % SPACE, self.isn, self.reassembler.next_index + 1) - 1
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
