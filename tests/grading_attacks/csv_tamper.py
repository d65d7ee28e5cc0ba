"""Leaves a detached process behind that rewrites the grade table after the grader exits."""
import os
import time

if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execv("/bin/sh", ["/bin/sh", "-c", "sleep 1.5; echo 'csv_tamper.py,999' > '@@CSV@@'"
                 " # @@MARK@@"])
    os._exit(0)
time.sleep(0.1)
