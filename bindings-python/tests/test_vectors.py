"""Replays every conformance vector in tests/vectors/ through the installed package,
with a ManualClock. The format is documented in tests/vectors/README.md."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import pytest

import tripwire
from tripwire import CircuitBreaker, CircuitBreakerOpenError, ManualClock, Permit, Transition

VECTORS = Path(__file__).resolve().parents[2] / "tests" / "vectors"
PATHS = sorted(VECTORS.glob("*.json"))

# Vector stat name -> (CircuitBreakerStats field, whether it is an instant in ms).
STATS: Dict[str, Tuple[str, bool]] = {
    "requests": ("total_requests", False),
    "successes": ("success_count", False),
    "failures": ("failure_count", False),
    "timeouts": ("timeout_count", False),
    "slow_calls": ("slow_call_count", False),
    "rejected": ("rejected_count", False),
    "ignored": ("ignored_count", False),
    "consecutive_failures": ("consecutive_failures", False),
    "consecutive_successes": ("consecutive_successes", False),
    "failure_streak": ("failure_streak", False),
    "window_calls": ("window_calls", False),
    "window_failures": ("window_failures", False),
    "failure_rate": ("failure_rate", False),
    "slow_call_rate": ("slow_call_rate", False),
    "trips": ("trips", False),
    "next_attempt_ms": ("next_attempt_time", True),
    "last_success_ms": ("last_success_time", True),
    "last_failure_ms": ("last_failure_time", True),
}


def options(config: Dict[str, Any]) -> Dict[str, Any]:
    """snake_case names as they are; `*_ms` durations to seconds."""
    out: Dict[str, Any] = {}
    for key, value in config.items():
        if key.endswith("_ms"):
            out[key[: -len("_ms")]] = None if value is None else value / 1000
        else:
            out[key] = value
    return out


def ms(seconds: Optional[float]) -> Optional[float]:
    return None if seconds is None else seconds * 1000


def same(expected: Any, actual: Any) -> bool:
    if isinstance(expected, (int, float)) and not isinstance(expected, bool):
        if actual is None or isinstance(actual, bool):
            return False
        # Rates compare with 1e-9; instants went through seconds (float), so 1e-6 ms.
        return math.isclose(expected, actual, rel_tol=0, abs_tol=1e-6)
    return bool(expected == actual)


def arrow(t: Optional[Transition]) -> Optional[str]:
    return None if t is None else f"{t.old.value}->{t.new.value}"


class Seen:
    def __init__(self) -> None:
        self.permit: Optional[bool] = None
        self.rejected: Optional[CircuitBreakerOpenError] = None
        self.transition: Any = "none reported"


def replay(path: Path) -> None:
    vector = json.loads(path.read_text())
    name = vector["name"]
    config = options(vector["config"])
    clock = ManualClock()
    # What timers (the half-open timer) report while the clock moves to a step.
    timers: List[str] = []
    moving = [False]

    def on_state_change(old: tripwire.CircuitState, new: tripwire.CircuitState) -> None:
        if moving[0]:
            timers.append(f"{old.value}->{new.value}")

    breaker = CircuitBreaker(path.stem, clock=clock, on_state_change=on_state_change, **config)
    permits: Dict[str, Permit] = {}
    for i, step in enumerate(vector["steps"]):
        timers.clear()
        moving[0] = True
        clock.set(step["at"] / 1000)
        moving[0] = False
        assert math.isclose(clock.now() * 1000, step["at"], abs_tol=1e-6), f"{name}: step {i} goes back in time"
        op = step["op"]
        seen = Seen()

        def acquire() -> Optional[Permit]:
            try:
                permit = breaker.acquire()
            except CircuitBreakerOpenError as refusal:
                seen.permit, seen.rejected, seen.transition = False, refusal, None
                return None
            seen.permit, seen.transition = True, permit.transition
            return permit

        if op == "acquire":
            permit = acquire()
            if permit is not None and "id" in step:
                permits[step["id"]] = permit
        elif op in ("success", "failure", "timeout", "ignore", "cancel"):
            permit = permits.pop(step["id"])
            seen.transition = getattr(permit, op)()
        elif op == "call":
            permit = acquire()
            if permit is not None:
                clock.advance(step.get("duration", 0) / 1000)
                record = getattr(permit, step["outcome"])()
                seen.transition = record if record is not None else seen.transition
        elif op == "force_open":
            seen.transition = breaker.open()
        elif op in ("trip", "half_open"):
            seen.transition = getattr(breaker, op)()
        elif op in ("close", "reset", "disable", "enable"):
            seen.transition = getattr(breaker, op)()
        elif op == "snapshot_restore":
            snapshot = json.loads(json.dumps(breaker.snapshot()))
            breaker = CircuitBreaker(path.stem, clock=clock, on_state_change=on_state_change, **config)
            breaker.restore(snapshot)
            # Permits of the old breaker are dropped (and so cancelled there).
            permits.clear()
        elif op != "check":
            pytest.fail(f"{name}: unknown op {op}")

        ctx = f"{name} (step {i}: {op} at {step['at']})"
        for key, want in step.get("expect", {}).items():
            if key == "permit":
                assert seen.permit is not None, f"{ctx}: no acquire"
                got: Any = seen.permit
            elif key == "rejected":
                got = None if seen.rejected is None else seen.rejected.state.value
            elif key == "retry_after_ms":
                got = None if seen.rejected is None else ms(seen.rejected.retry_after)
            elif key == "transition":
                assert seen.transition != "none reported", f"{ctx}: step reports no transition"
                got = arrow(seen.transition)
            elif key == "window_stats":
                w = breaker.window_stats
                if want is None or w is None:
                    assert w is want, f"{ctx}: window_stats expected {want}, got {w}"
                    continue
                got_stats: Dict[str, Any] = {k: w[k] for k in ("successes", "failures", "rejects", "timeouts", "fallbacks")}
                got_stats["buckets"] = [[b["successes"], b["failures"], b["rejects"], b["timeouts"]] for b in w["buckets"]]
                got_stats["percentiles_ms"] = [ms(p) for p in w["percentiles"].values()]
                for name, value in want.items():
                    actual_value = got_stats[name]
                    if isinstance(value, list):
                        assert len(value) == len(actual_value) and all(
                            same(a, b) if not isinstance(a, list) else a == b for a, b in zip(value, actual_value)
                        ), f"{ctx}: window_stats.{name} expected {value}, got {actual_value}"
                    else:
                        assert same(value, actual_value), f"{ctx}: window_stats.{name} expected {value}, got {actual_value}"
                continue
            elif key == "timer":
                got = timers[-1] if timers else None
            elif key == "state":
                got = breaker.state.value
                assert isinstance(breaker.state, tripwire.CircuitState)
            elif key == "stats":
                stats = breaker.stats
                for stat, value in want.items():
                    field, instant = STATS[stat]
                    actual = getattr(stats, field)
                    if instant:
                        actual = ms(actual)
                    assert same(value, actual), f"{ctx}: stats.{stat} expected {value}, got {actual}"
                continue
            else:
                pytest.fail(f"{ctx}: unknown expectation {key}")
            assert same(want, got), f"{ctx}: {key} expected {want!r}, got {got!r}"


def test_the_vectors_directory_is_found() -> None:
    assert VECTORS.is_dir(), VECTORS


@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_vector(path: Path) -> None:
    replay(path)


def test_a_vector_that_expects_the_wrong_state_fails(tmp_path: Path) -> None:
    """The runner itself can fail: a wrong expectation is caught."""
    wrong: List[Dict[str, Any]] = [
        {"at": 0, "op": "call", "outcome": "failure", "expect": {"state": "CLOSED"}},
    ]
    path = tmp_path / "wrong.json"
    path.write_text(json.dumps({"name": "wrong", "config": {"failure_threshold": 1}, "steps": wrong}))
    with pytest.raises(AssertionError, match="state expected 'CLOSED', got 'OPEN'"):
        replay(path)
