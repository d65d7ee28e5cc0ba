"""netsim.simpy_fast relies on SimPy internals (the event heap, the event counter, the clock
attribute, pre-triggered events). These tests fail loudly, naming what changed, when the
installed SimPy no longer works that way, and check that pyproject.toml pins the versions the
module was checked against."""

from __future__ import annotations

import itertools
import re
import tomllib
from pathlib import Path

import simpy
from simpy.events import Event

from netsim import simpy_fast as sf

ROOT = Path(__file__).resolve().parent.parent


def test_the_installed_simpy_is_one_the_internals_were_checked_against() -> None:
    version = ".".join(simpy.__version__.split(".")[:2])
    assert version in sf.CHECKED_SIMPY, (
        f"SimPy {simpy.__version__} is installed; netsim/simpy_fast.py was checked against "
        f"{sf.CHECKED_SIMPY}: re-check its internals, then add the version there and to "
        "pyproject.toml")


def test_pyproject_pins_simpy_to_the_checked_versions() -> None:
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    (spec,) = [d for d in deps if re.match(r"simpy\b", d)]
    lo, hi = re.fullmatch(r"simpy>=(\d+\.\d+),<(\d+\.\d+)", spec.replace(" ", "")).groups()
    major, minor = (int(x) for x in lo.split("."))
    assert hi == f"{major}.{minor + 1}", f"pin one minor series, got {spec!r}"
    assert (lo,) == sf.CHECKED_SIMPY, f"{spec!r} does not match {sf.CHECKED_SIMPY}"


def test_the_environment_keeps_a_heap_an_event_counter_and_a_clock_attribute() -> None:
    env = simpy.Environment(initial_time=1.5)
    assert isinstance(env._queue, list), "Environment._queue is no longer a list (heap)"
    assert isinstance(env._eid, itertools.count), "Environment._eid is no longer a count"
    assert sf.now_of(env) == env.now == 1.5, "Environment._now no longer holds the time"
    assert sf.NORMAL == 1
    ev = sf.Triggered(env, lambda _ev: None, "v")
    sf.schedule(env, 4.0, ev)
    (entry,) = env._queue
    assert entry[0] == 4.0 and entry[1] == sf.NORMAL and entry[3] is ev, entry
    assert sf.next_time(env) == env.peek() == 4.0


def test_a_triggered_event_runs_at_its_exact_time_in_scheduling_order() -> None:
    env = simpy.Environment()
    seen: list[tuple[float, str, object]] = []

    def cb(ev: Event) -> None:
        seen.append((env.now, ev.value, sf.value_of(ev)))

    sf.schedule(env, 0.3, sf.Triggered(env, cb, "b"))
    sf.call_at(env, 0.1 + 0.2, lambda ev: seen.append((env.now, "c", None)))
    sf.schedule(env, 0.1, sf.Triggered(env, cb, "a"))
    env.timeout(0.3).callbacks.append(lambda ev: seen.append((env.now, "timeout", None)))
    env.run()
    # 0.1 + 0.2 != 0.3 in floats: call_at keeps the time it is given, exactly
    assert seen == [(0.1, "a", "a"), (0.3, "b", "b"), (0.3, "timeout", None),
                    (0.30000000000000004, "c", None)]


def test_triggered_events_look_triggered_to_simpy_and_can_be_waited_for() -> None:
    env = simpy.Environment()
    ev = sf.Triggered(env, lambda _ev: None, 42)
    assert ev.triggered and ev.ok and ev.value == 42
    sf.schedule(env, 2.0, ev)
    got: list[object] = []

    def waiter() -> object:
        got.append((yield ev))
        got.append(env.now)

    env.process(waiter())
    env.run()
    assert got == [42, 2.0] and ev.processed


def test_set_now_and_a_time_in_the_past_means_now() -> None:
    env = simpy.Environment()
    sf.set_now(env, 5.0)
    assert env.now == 5.0
    times: list[float] = []
    sf.call_at(env, 1.0, lambda _ev: times.append(env.now))
    env.run()
    assert times == [5.0]


def _trace_of(run: object) -> list[object]:
    """What a small model does under `run` (SimPy's Environment.run or simpy_fast.run)."""
    env = simpy.Environment()
    seen: list[object] = []

    def proc(name: str, delay: int) -> object:
        for _ in range(3):
            yield env.timeout(delay)
            seen.append((name, env.now))
        return name

    p = env.process(proc("a", 2))
    env.process(proc("b", 3))
    done = env.timeout(4, value="four")
    done.callbacks.append(lambda ev: seen.append(("second callback", env.now)))
    seen.append(run(env, done))  # type: ignore[operator]
    seen.append(("now", env.now, type(env.now).__name__))  # an int time stays an int
    seen.append(run(env, 7))  # type: ignore[operator]
    seen.append(run(env, p))  # type: ignore[operator]
    seen.append(run(env, p))  # type: ignore[operator]  # (already processed)
    seen.append(run(env, None))  # type: ignore[operator]
    seen.append(("end", env.now))
    failing = env.event()
    failing.fail(KeyError("k"))
    try:
        run(env, None)  # type: ignore[operator]
    except KeyError as exc:
        seen.append(("raised", repr(exc), repr(exc.__cause__)))
    try:
        run(env, env.event())  # type: ignore[operator]
    except RuntimeError as exc:
        seen.append(("stalled", str(exc)[:40]))
    try:
        run(env, env.now)  # type: ignore[operator]
    except ValueError as exc:
        seen.append(("past", str(exc)))
    return seen


def test_run_steps_through_events_as_simpy_run_does() -> None:
    ours = _trace_of(sf.run)
    assert ours == _trace_of(simpy.Environment.run)
    assert ("second callback", 4) in ours and "four" in ours
    assert any(item[0] == "raised" for item in ours if isinstance(item, tuple))


def _fifo_model(run: object, use_fifo: bool) -> list[object]:
    """Deliveries through a `Fifo` (or each pushed at once as a `Triggered`), interleaved
    with SimPy timeouts and `Call`s at the same times, run by `run`."""
    env = simpy.Environment()
    seen: list[object] = []

    def deliver(value: object) -> None:
        seen.append((env.now, "fifo", value))
        if value == "b":  # a push from inside a delivery, at the time of the one after it
            send(0.3, "b2")

    fifo = sf.Fifo(env, deliver)

    def send(when: float, value: str) -> None:
        if use_fifo:
            fifo.push(when, value)
        else:
            sf.schedule(env, when, sf.Triggered(env, lambda ev: deliver(ev.value), value))

    def proc() -> object:
        yield env.timeout(0.1)
        seen.append((env.now, "process"))
        send(0.3, "d")
        sf.post(env, 0.3, lambda call: seen.append((env.now, "call", call.value)), "x")
        yield env.timeout(0.2)
        seen.append((env.now, "process"))

    send(0.1, "a")  # (before the process's first timeout: runs first at 0.1)
    env.process(proc())
    send(0.2, "b")
    send(0.3, "c")
    sf.call_at(env, 0.3, lambda _call: seen.append((env.now, "call_at")))
    send(0.3, "c2")
    run(env)  # type: ignore[operator]
    return seen


def test_a_fifo_runs_its_calls_in_the_order_of_pushing_each_at_once() -> None:
    want = _fifo_model(sf.run, use_fifo=False)
    assert [v[2] for v in want if v[1] == "fifo"] == ["a", "b", "c", "c2", "d", "b2"]
    assert _fifo_model(sf.run, use_fifo=True) == want
    # SimPy's own loop (Environment.step, as a LiveEnvironment's) runs Fifos and Calls too
    assert _fifo_model(simpy.Environment.run, use_fifo=True) == want


def test_a_fifo_keeps_one_heap_entry_and_calls_look_triggered_to_simpy() -> None:
    env = simpy.Environment()
    got: list[object] = []
    fifo = sf.Fifo(env, got.append)
    for i in range(5):
        fifo.push(1.0 + i, i)
    assert len(fifo) == 5 and len(env._queue) == 1 and sf.next_time(env) == 1.0
    call = sf.Call(lambda _call: None, "v")
    for event in (fifo, call):
        assert event._ok and event.callbacks is not None and len(event.callbacks) == 1
    env.run(until=2.5)
    assert got == [0, 1] and len(fifo) == 3 and [e[0] for e in env._queue if e[3] is fifo] == [3.0]
    sf.run(env)
    assert got == [0, 1, 2, 3, 4] and not env._queue
