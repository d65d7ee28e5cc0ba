#!/usr/bin/env bash
# Gradescope autograder setup (Ubuntu image): install netsim from the copy of the repository
# that you zip together with this file and run_autograder (see README.md next to this file).
set -euo pipefail
apt-get update >/dev/null && apt-get install -y python3 python3-pip python3-venv >/dev/null
python3 -m venv /autograder/venv
/autograder/venv/bin/pip install --quiet "/autograder/source/netsim[grade]"
