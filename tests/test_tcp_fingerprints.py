"""The guard of refactorings of netsim/stack/tcp: every seeded scenario of
tests/tcp_fingerprint_scenarios.py gives the recorded pcap, trace and counters, byte for byte.

A change meant to alter TCP's behaviour re-records the values (``python
tests/tcp_fingerprint_scenarios.py --write``) and says why in its commit; a refactoring never
does."""

from __future__ import annotations

import json

import pytest
from tcp_fingerprint_scenarios import DATA_FILE, SCENARIOS, Scenario, fingerprints, run_scenario

RECORDED = json.loads(DATA_FILE.read_text())


def test_every_scenario_is_recorded() -> None:
    assert sorted(RECORDED) == sorted([sc.name for sc in SCENARIOS] + ["syn_flood"])


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda sc: sc.name)
def test_same_capture_trace_and_counters(scenario: Scenario) -> None:
    got = run_scenario(scenario)
    want = RECORDED[scenario.name]
    assert int(got["records"]) > 10  # the scenario really ran
    assert got == want


def test_syn_flood_with_and_without_cookies() -> None:
    assert fingerprints(["syn_flood"])["syn_flood"] == RECORDED["syn_flood"]
