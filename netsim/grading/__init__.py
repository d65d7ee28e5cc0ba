"""Autograders for the classroom assignments (lessons/assignments/).

``netsim grade ASSIGNMENT PATH`` runs one of them on a student's file; each assignment has a
grader module here that defines ``ASSIGNMENT`` (see `netsim.grading.framework`). The student's
code runs in a subprocess with a time limit (`netsim.grading.supervisor`).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from netsim.errors import UsageError

if TYPE_CHECKING:
    from netsim.grading.framework import Assignment

#: Assignment name -> the grader module that defines ASSIGNMENT.
ASSIGNMENTS: dict[str, str] = {
    "01-checksum-tcp-parsing": "netsim.grading.checksum_tcp",
    "02-rto-estimator": "netsim.grading.rto_estimator",
    "03-reassembler": "netsim.grading.reassembler",
    "04-reno": "netsim.grading.reno",
    "05-arp-cache": "netsim.grading.arp_cache",
    "06-tcp-receiver": "netsim.grading.tcp_receiver",
    "07-tcp-sender": "netsim.grading.tcp_sender",
    "07b-sender-timer": "netsim.grading.sender_timer",
    "08-network-interface": "netsim.grading.network_interface",
    "09-router": "netsim.grading.router",
    "10-tcp-peer": "netsim.grading.tcp_peer",
    "11-learning-switch": "netsim.grading.learning_switch",
    "12-dv-router": "netsim.grading.dv_router",
}


def resolve_name(name: str) -> str:
    """``02-rto-estimator``, ``02`` or ``rto-estimator`` -> ``02-rto-estimator``."""
    if name in ASSIGNMENTS:
        return name
    for full in ASSIGNMENTS:
        number, _, slug = full.partition("-")
        if name in (number, slug, number.lstrip("0")):
            return full
    allowed = ", ".join(ASSIGNMENTS)
    raise UsageError(f"ASSIGNMENT: unknown assignment {name!r}; use one of {allowed} "
                     "(or just its number)")


def get_assignment(name: str) -> Assignment:
    module = importlib.import_module(ASSIGNMENTS[resolve_name(name)])
    assignment: Assignment = module.ASSIGNMENT
    return assignment


__all__ = ["ASSIGNMENTS", "get_assignment", "resolve_name"]
