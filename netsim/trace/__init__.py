"""Traces of a run: a `Recorder` of the stack's trace records, exports, and (in
`netsim.trace.plots`, which imports matplotlib) plots."""

from __future__ import annotations

from netsim.trace.export import TraceFormatError, read_jsonl
from netsim.trace.recorder import KINDS, Recorder, conn_name, peer_of

__all__ = ["KINDS", "Recorder", "TraceFormatError", "conn_name", "peer_of", "read_jsonl"]
