"""Construction: every option, both spellings, and errors that name the option."""

from __future__ import annotations

import math
from typing import Any, Dict, Type

import pytest

import tripwire
from tripwire import CircuitBreaker, CircuitState, ManualClock


def test_circuit_state_is_a_str_enum() -> None:
    assert [s.value for s in CircuitState] == ["CLOSED", "OPEN", "HALF_OPEN"]
    assert CircuitState.OPEN == "OPEN"
    assert isinstance(CircuitState.HALF_OPEN, str)
    assert str(CircuitState.HALF_OPEN) == "HALF_OPEN"
    assert CircuitState("CLOSED") is CircuitState.CLOSED


def test_defaults() -> None:
    breaker = CircuitBreaker("defaults")
    assert breaker.name == "defaults"
    assert breaker.state is CircuitState.CLOSED
    assert breaker.request_timeout is None
    assert breaker.fallback is None
    # Default count threshold: 5 consecutive failures.
    for _ in range(4):
        breaker.acquire().failure()
    assert breaker.state == "CLOSED"
    breaker.acquire().failure()
    assert breaker.state == "OPEN"
    assert breaker.stats.next_attempt_time is not None


def test_every_documented_option_is_accepted(clock: ManualClock) -> None:
    breaker = CircuitBreaker(
        "all",
        failure_threshold=0.5,
        recovery_timeout=2.5,
        success_threshold=3,
        request_timeout=1.5,
        minimum_requests=4,
        monitoring_window=30.0,
        slow_call_duration=0.2,
        slow_call_rate_threshold=0.8,
        half_open_max_calls=2,
        exclude=(KeyError, lambda e: False),
        fallback=lambda: None,
        on_state_change=lambda old, new: None,
        listeners=(),
        clock=clock,
        window_buckets=6,
        backoff_multiplier=2,
        max_recovery_timeout=60,
        backoff_jitter=0.1,
        seed=7,
    )
    assert breaker.request_timeout == 1.5
    assert breaker.fallback is not None


def test_a_rate_threshold_waits_for_ten_calls_by_default(clock: ManualClock) -> None:
    breaker = CircuitBreaker("rate", failure_threshold=0.5, clock=clock)
    for _ in range(9):
        breaker.acquire().failure()
    assert breaker.state == "CLOSED"
    breaker.acquire().failure()
    assert breaker.state == "OPEN"


def test_minimum_requests_applies_to_a_rate(clock: ManualClock) -> None:
    breaker = CircuitBreaker("rate-min", failure_threshold=0.5, minimum_requests=2, clock=clock)
    breaker.acquire().success()
    assert breaker.state == "CLOSED"
    breaker.acquire().failure()  # 1 of 2 failed: 50 % >= 50 %
    assert breaker.state == "OPEN"


def test_pybreaker_spellings(clock: ManualClock) -> None:
    breaker = CircuitBreaker("pb", fail_max=2, reset_timeout=5, clock=clock)
    breaker.acquire().failure()
    breaker.acquire().failure()
    assert breaker.state == "OPEN"
    clock.advance(4.999)
    assert breaker.state == "OPEN"
    clock.advance(0.001)
    assert breaker.state == "HALF_OPEN"


def test_request_timeout_none_disables_it() -> None:
    assert CircuitBreaker("t0", request_timeout=None).request_timeout is None
    assert CircuitBreaker("t1", timeout=2).request_timeout == 2.0


BAD: Dict[str, Any] = {
    "zero threshold": ({"failure_threshold": 0}, ValueError, "failure_threshold"),
    "fractional count": ({"failure_threshold": 1.5}, ValueError, "failure_threshold"),
    "bool threshold": ({"failure_threshold": True}, TypeError, "failure_threshold"),
    "nan threshold": ({"failure_threshold": math.nan}, ValueError, "failure_threshold"),
    "nan fail_max": ({"fail_max": math.nan}, ValueError, "fail_max"),
    "negative": ({"recovery_timeout": -1}, ValueError, "recovery_timeout"),
    "negative reset_timeout": ({"reset_timeout": -1}, ValueError, "reset_timeout"),
    "infinite": ({"monitoring_window": math.inf}, ValueError, "monitoring_window"),
    "zero window": ({"monitoring_window": 0}, ValueError, "monitoring_window"),
    "string": ({"recovery_timeout": "60"}, TypeError, "recovery_timeout"),
    "list": ({"success_threshold": [2]}, TypeError, "success_threshold"),
    "two spellings": ({"fail_max": 3, "failure_threshold": 3}, TypeError, "fail_max"),
    "two spellings of the open duration": ({"recovery_timeout": 1, "reset_timeout": 1}, TypeError, "reset_timeout"),
    "huge int": ({"minimum_requests": 2**70}, ValueError, "minimum_requests"),
    "int beyond float": ({"recovery_timeout": 10**400}, ValueError, "recovery_timeout"),
    "huge threshold": ({"failure_threshold": 10**30}, ValueError, "failure_threshold"),
    "huge float": ({"request_timeout": 1e300}, ValueError, "request_timeout"),
    "zero success threshold": ({"success_threshold": 0}, ValueError, "success_threshold"),
    "zero half-open calls": ({"half_open_max_calls": 0}, ValueError, "half_open_max_calls"),
    "slow rate without duration": ({"slow_call_rate_threshold": 0.5}, ValueError, "slow_call_rate_threshold"),
    "slow rate above one": ({"slow_call_duration": 1, "slow_call_rate_threshold": 1.5}, ValueError, "slow_call_rate_threshold"),
    "timeout true": ({"request_timeout": True}, TypeError, "request_timeout"),
    "typo": ({"failure_treshold": 3}, TypeError, "failure_threshold"),
    "exclude of ints": ({"exclude": [1]}, TypeError, "exclude"),
    "exclude not iterable": ({"exclude": 3}, TypeError, "exclude"),
    "fallback not callable": ({"fallback": 3}, TypeError, "fallback"),
    "clock": ({"clock": 1.0}, TypeError, "clock"),
    "on_state_change": ({"on_state_change": "print"}, TypeError, "on_state_change"),
    "listeners": ({"listeners": 3}, TypeError, "listeners"),
}


@pytest.mark.parametrize("options,error,named", BAD.values(), ids=list(BAD))
def test_bad_options_raise_naming_the_option(options: Dict[str, Any], error: Type[Exception], named: str) -> None:
    with pytest.raises(error) as info:
        CircuitBreaker("bad", **options)
    assert f"`{named}`" in str(info.value)
    assert tripwire.registry.get("bad") is None


def test_an_unknown_option_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="unexpected keyword argument 'colour'"):
        CircuitBreaker("bad", colour="red")


def test_the_name_must_be_a_string() -> None:
    with pytest.raises(TypeError, match="name"):
        CircuitBreaker(42)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        CircuitBreaker("a", 5)  # type: ignore[misc]


def test_manual_clock_rejects_bad_values() -> None:
    with pytest.raises(ValueError):
        ManualClock(-1)
    clock = ManualClock(1.5)
    assert clock.now() == 1.5
    with pytest.raises(ValueError):
        clock.advance(math.nan)
    with pytest.raises(ValueError):
        clock.advance(1e300)
    with pytest.raises(ValueError, match="back"):
        clock.set(1.0)  # earlier: a clock never goes back
    for step in (math.inf, -math.inf, -1.0):
        with pytest.raises(ValueError):
            clock.advance(step)
    with pytest.raises(ValueError):
        clock.set(math.inf)
    assert clock.now() == 1.5
    clock.set(1.5)  # the same time is fine
    clock.advance(0.25)
    assert clock.now() == 1.75
