"""The window field offers the whole capacity: bytes received and not yet read are not counted,
so the other side may send more than the buffer holds.

Category: wrong value
RFC: RFC 9293 §3.8.6 (managing the window)
Observable: returned
Expect: take room
"""

from sender import Sender
from tcp_receiver import TcpReceiver

SPACE = 2**32
MAX_RETX = 8  # connection failures: give up after 8 timeouts in a row (RFC 9293 §3.8.3)
LINGER_RTOS = 10  # TIME-WAIT, shortened to 10 initial RTOs as in CS144


class TcpPeer:
    def __init__(self, isn=0, initial_rto=1.0, max_payload=1000, capacity=64000):
        self.sender = Sender(isn, initial_rto, max_payload)
        self.receiver = TcpReceiver()
        self.isn = isn
        self.capacity = capacity
        self.linger_limit = LINGER_RTOS * initial_rto
        self.unread = bytearray()  # assembled, not yet read by the application
        self.opened = False  # connect() called or a SYN arrived
        self.alive = True
        self.fin_sent = False
        self.lingering = False  # we closed first: wait after the end (TIME-WAIT)
        self.quiet = 0.0  # seconds since the last segment arrived

    # ------------------------------------------------------------------ helpers
    def _window(self):
        return self.receiver.window_field(self.capacity, 0)

    def _stamp(self, messages):
        """The sender's (seqno, syn, payload, fin) with our ackno and window added."""
        ackno = self.receiver.ackno()
        window = self._window()
        out = []
        for seqno, syn, payload, fin in messages:
            if fin:
                self.fin_sent = True
            out.append((seqno, ackno, window, syn, fin, False, payload))
        return out

    def _in_window(self, seqno):
        """RFC 9293 §3.10.7.4: a segment of no length is acceptable when its sequence
        number is in the receive window (exactly the next one expected when it is 0)."""
        expected = self.receiver.ackno()
        if expected is None:
            return True
        offset = (seqno - expected) % SPACE
        window = self._window()
        return offset == 0 if window == 0 else offset < window

    def _finished(self):
        """Both streams over: theirs ended, our FIN sent and everything acknowledged."""
        return self.receiver.reassembler.finished and self.fin_sent and \
            self.sender.in_flight() == 0

    # ------------------------------------------------------------------ the interface
    def connect(self):
        if not self.alive:
            return []
        self.opened = True
        return self._stamp(self.sender.push())

    def receive(self, seg):
        if not self.alive:
            return []
        seqno, ackno, window, syn, fin, rst, payload = seg
        if not self.opened:
            if not syn:
                return []  # LISTEN: only a SYN opens a connection
            self.opened = True
        if rst:
            if self.receiver.ackno() is None:
                # SYN-SENT (RFC 9293 §3.10.7.3): only a RST that acknowledges our SYN counts
                ok = ackno is not None and ackno == (self.isn + 1) % SPACE
            else:
                # reset processing (RFC 9293 §3.5.3): its seqno in the window
                ok = self._in_window(seqno)
            if ok:
                self.alive = False
            return []  # a RST is never answered
        length = len(payload) + int(syn) + int(fin)
        acceptable = length > 0 or self._in_window(seqno)
        was_finished = self.receiver.reassembler.finished
        self.unread += self.receiver.receive(seqno, syn, fin, payload,
                                             self.capacity - len(self.unread))
        if ackno is not None:
            self.sender.receive(ackno, window)
        if self.receiver.reassembler.finished and not was_finished:
            self.lingering = self.fin_sent  # we closed first: an active close
        self.quiet = 0.0
        out = self._stamp(self.sender.push())
        if not out and (length > 0 or not acceptable):
            out = self._stamp([self.sender.make_empty_message()])
        if not self.lingering and self._finished():
            self.alive = False  # passive close: our FIN is acknowledged
        return out

    def write(self, data):
        self.sender.write(data)
        if not (self.opened and self.alive):
            return []
        return self._stamp(self.sender.push())

    def close(self):
        self.sender.close()
        if not (self.opened and self.alive):
            return []
        return self._stamp(self.sender.push())

    def read(self):
        data = bytes(self.unread)
        self.unread = bytearray()
        return data

    def tick(self, elapsed):
        if not self.alive:
            return []
        out = self._stamp(self.sender.tick(elapsed))
        if self.sender.consecutive_retransmissions() > MAX_RETX:
            self.alive = False  # give up, and tell the other side
            seqno = self.sender.make_empty_message()[0]
            return [(seqno, self.receiver.ackno(), self._window(), False, False, True, b"")]
        if self.lingering and self._finished():
            self.quiet += elapsed
            if self.quiet >= self.linger_limit:
                self.alive = False
        return out

    def at_eof(self):
        return self.receiver.reassembler.finished and not self.unread

    def active(self):
        return self.alive
