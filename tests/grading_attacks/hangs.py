"""Ignores SIGTERM, hangs in atexit and __del__, and loops forever in one method."""
import atexit
import signal
import time

signal.signal(signal.SIGTERM, signal.SIG_IGN)
signal.signal(signal.SIGINT, signal.SIG_IGN)
atexit.register(lambda: time.sleep(3600))


class _Sticky:
    def __del__(self):
        time.sleep(3600)


STICKY = _Sticky()


class RtoEstimator:
    def __init__(self, *args, **kwargs):
        self.keep = _Sticky()
        while kwargs == {"min_rto": 0.2, "initial_rto": 1.0}:  # in one check: it times out
            pass

    def __getattr__(self, name):
        raise NotImplementedError("no estimator here")
