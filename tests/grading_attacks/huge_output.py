"""Prints 30 MB and raises an exception with a 20 MB message."""
import sys

sys.stdout.write("y" * (30 << 20))


class RtoEstimator:
    def __init__(self, *args, **kwargs):
        sys.stderr.write("z" * (10 << 20))
        raise ValueError("x" * (20 << 20))
