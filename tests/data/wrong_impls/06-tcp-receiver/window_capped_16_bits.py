"""The window handed to the reassembler is capped at 65535 bytes, as if it were the 16-bit
window field: with window scaling (RFC 7323) every byte past 64 KiB ahead of the ACK is
dropped, and a large gap filled in one segment is cut short.

Category: wrong width
RFC: RFC 7323 §2.2-2.3 (the window is the field shifted left by the scale, up to 2**30);
README: window_end = next_index + window
Observable: returned | ackno()
Expect: cut to 16 bits
"""

from netsim.stack.tcp.reassembly import SegmentReassembler

SPACE = 2**32


def wrap(n, isn):
    return (n + isn) % SPACE


def unwrap(seqno, isn, checkpoint):
    offset = (seqno - isn) % SPACE  # the absolute number modulo 2**32
    # candidates are offset + k * 2**32; take the k nearest the checkpoint, then its neighbours
    base = checkpoint - checkpoint % SPACE + offset
    best = None
    for cand in (base - SPACE, base, base + SPACE):
        if cand < 0:
            continue  # absolute sequence numbers start at 0 (the SYN)
        # the lower one on a tie (exactly 2**31 away: never in a real connection)
        if best is None or abs(cand - checkpoint) < abs(best - checkpoint):
            best = cand
    return best


class TcpReceiver:
    def __init__(self):
        self.reassembler = SegmentReassembler()
        self.isn = None  # set by the SYN

    def receive(self, seqno, syn, fin, payload, window):
        if syn and self.isn is None:
            self.isn = seqno
        if self.isn is None:
            return b""  # before the SYN: no ISN to place the data by
        next_abs = self.reassembler.next_index + 1  # absolute number of the next byte
        first = seqno + 1 if syn else seqno  # the SYN's payload starts after the SYN
        index = unwrap(first % SPACE, self.isn, next_abs) - 1
        window_end = self.reassembler.next_index + min(window, 0xFFFF)  # a 16-bit window
        return self.reassembler.insert(index, payload, fin, window_end)

    def ackno(self):
        if self.isn is None:
            return None
        n = 1 + self.reassembler.next_index  # the SYN and every byte assembled
        if self.reassembler.finished:
            n += 1  # and the FIN
        return wrap(n, self.isn)

    def window_field(self, window, shift):
        # RFC 7323 §2.3: the field is RCV.WND shifted right by the scale (rounding down, so
        # it never offers more than the window); a larger window is capped, not cut
        return min(window >> shift, 0xFFFF)
