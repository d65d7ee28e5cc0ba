"""Checking a parsed sweep spec before anything runs, by the code that checks ``netsim sim``'s
flags: ``[scenario]`` as a whole, and each ``[vary]`` value with it."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING

from netsim.errors import UsageError
from netsim.sweep.knobs import _BY_KEY, KNOBS, SpecError, sim_args

if TYPE_CHECKING:
    from netsim.sweep.spec import SweepSpec

__all__ = ["check_scenario", "check_vary"]


def check_scenario(spec: SweepSpec, err: Callable[[str], SpecError]) -> None:
    """Refuse, before anything runs, [scenario] values no run could accept."""
    from netsim.cli.sim import scenario_from_args
    from netsim.sim.scenario import tcp_config_for

    if not spec.fixed:
        return
    try:
        tcp_config_for(scenario_from_args(sim_args(spec.fixed, spec.seeds[0])))
    except UsageError as exc:
        msg = str(exc).removeprefix("--")
        # A [scenario] value checked against a default of a knob that [vary] sets (e.g. mss
        # against the default MTU while [vary] sets the MTU) is left to the runs.
        name = msg.partition(":")[0].strip()
        knob = _BY_KEY.get(name)
        if knob is not None and knob.column in spec.fixed:
            if not (knob.column == "mss" and "mtu" in spec.vary):
                raise err(f"[scenario] {msg}") from None


#: Knobs whose values are checked against each other (the MSS must fit the MTU): when both
#: are varied, a combination that does not fit is left to its run (its error column).
_COUPLED = frozenset({"mss", "mtu"})


def check_vary(spec: SweepSpec, err: Callable[[str], SpecError]) -> None:
    """Refuse, before anything runs, a [vary] value no run could accept: each value is
    checked with the [scenario] knobs by the code that checks ``netsim sim``'s flags."""
    from netsim.cli.sim import scenario_from_args
    from netsim.sim.scenario import tcp_config_for

    for column, values in spec.vary.items():
        key = next(k.key for k in KNOBS if k.column == column)
        seen: set[str] = set()
        for i, value in enumerate(values):
            token = json.dumps(value)
            if token in seen:
                continue
            seen.add(token)
            try:
                scenario = scenario_from_args(sim_args({**spec.fixed, column: value},
                                                       spec.seeds[0]))
                tcp_config_for(scenario)
            except UsageError as exc:
                msg = str(exc).removeprefix("--")
                name, _, rest = msg.partition(":")
                name = name.strip()
                named = _BY_KEY.get(name)
                other = named.column if named is not None else name
                pair = {column, other} if other != column else {column}
                partner = (_COUPLED - {column}) if column in _COUPLED else set()
                if pair <= _COUPLED and partner and next(iter(partner)) in spec.vary:
                    continue  # checked per run against the other varied value
                if other == column:
                    raise err(f"[vary] {key}[{i}]:{rest}") from None
                raise err(f"[vary] {key}[{i}] = {value!r}: {msg}") from None
