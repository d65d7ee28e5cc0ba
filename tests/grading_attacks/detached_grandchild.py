"""A grandchild in its own session keeps every pipe open and sleeps."""
import os
import time

if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execv("/bin/sleep", ["/bin/sleep", "3600", "@@MARK@@"])
    os._exit(0)
time.sleep(0.1)
