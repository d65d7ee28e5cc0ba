"""Several children each take memory until something stops them: the sum matters."""
import os

for _ in range(4):
    if os.fork() == 0:
        hoard = []
        while True:
            hoard.append(bytearray(16 << 20))
while True:
    try:
        os.wait()
    except ChildProcessError:
        break
