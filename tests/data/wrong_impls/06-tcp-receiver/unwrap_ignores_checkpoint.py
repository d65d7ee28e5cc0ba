"""unwrap returns the offset from the ISN modulo 2**32, whatever the checkpoint: right only in the
first 4 GiB of a stream.

Category: wrong scope
RFC: README: unwrap returns the number closest to the checkpoint
Observable: unwrap()
Expect: checkpoint was ignored
"""

from netsim.stack.tcp.reassembly import SegmentReassembler

SPACE = 2**32


def wrap(n, isn):
    return (n + isn) % SPACE


def unwrap(seqno, isn, checkpoint):
    return (seqno - isn) % SPACE


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
        window_end = self.reassembler.next_index + window
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
