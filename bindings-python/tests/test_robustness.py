"""No input reaches a Rust panic: odd option values give TypeError/ValueError, and
random sequences of operations (on the debug build, with overflow checks) never
raise anything but the documented errors."""

from __future__ import annotations

import json
import math
import random
from fractions import Fraction
from typing import Any, Dict, List

import pytest

from tripwire import CircuitBreaker, CircuitBreakerOpenError, ManualClock, Permit

OPTIONS = [
    "failure_threshold",
    "fail_max",
    "recovery_timeout",
    "reset_timeout",
    "success_threshold",
    "request_timeout",
    "minimum_requests",
    "monitoring_window",
    "slow_call_duration",
    "slow_call_rate_threshold",
    "half_open_max_calls",
    "window_buckets",
    "count_window",
    "backoff_multiplier",
    "max_recovery_timeout",
    "backoff_jitter",
    "seed",
]

VALUES: List[Any] = [
    0, 1, 2, -1, 0.5, 1.5, -0.0, 1e-12, 1e300, -1e300, math.inf, -math.inf, math.nan,
    2**31, 2**32, 2**53 + 1, 2**63, 2**64, 10**400, -(10**400), True, False, None,
    "1", b"1", [1], {}, object(), Fraction(1, 2), 1 + 0j,
]


@pytest.mark.parametrize("name", OPTIONS)
def test_odd_values_give_type_or_value_errors(name: str) -> None:
    for value in VALUES:
        try:
            breaker = CircuitBreaker("odd", **{name: value})
        except (TypeError, ValueError) as e:
            assert f"`{name}`" in str(e) or "slow_call" in str(e) or "minimum_requests" in str(e), (name, value, e)
        else:
            breaker.call(lambda: None)


def test_random_operations_never_panic() -> None:
    rng = random.Random(1234)
    for round_ in range(40):
        clock = ManualClock()
        options: Dict[str, Any] = {
            "failure_threshold": rng.choice([1, 2, 3, 0.5, 0.9]),
            "recovery_timeout": rng.choice([0.001, 0.01, 1.0]),
            "success_threshold": rng.choice([1, 2, 3]),
            "half_open_max_calls": rng.choice([1, 2, 4]),
            "minimum_requests": rng.choice([1, 2, 5]),
            "request_timeout": rng.choice([None, 0.005]),
            "slow_call_duration": rng.choice([None, 0.002]),
        }
        if rng.random() < 0.5:
            options["count_window"] = rng.choice([5, 20])
        else:
            options["monitoring_window"] = rng.choice([0.05, 1.0])
        if rng.random() < 0.3:
            options["backoff_multiplier"] = 2
            options["backoff_jitter"] = 0.5
            options["seed"] = rng.randrange(2**53)
        breaker = CircuitBreaker(f"random-{round_}", clock=clock, **options)
        held: List[Permit] = []
        for _ in range(500):
            op = rng.random()
            if op < 0.35:
                try:
                    held.append(breaker.acquire())
                except CircuitBreakerOpenError as e:
                    assert e.retry_after is None or e.retry_after >= 0
            elif op < 0.7 and held:
                permit = held.pop(rng.randrange(len(held)))
                getattr(permit, rng.choice(["success", "failure", "timeout", "ignore", "cancel"]))()
            elif op < 0.8:
                clock.advance(rng.choice([0.0005, 0.003, 0.02, 0.5, 2.0]))
            elif op < 0.85:
                getattr(breaker, rng.choice(["open", "close", "reset", "disable", "enable"]))()
            elif op < 0.88:
                snapshot = json.loads(json.dumps(breaker.snapshot()))
                breaker = CircuitBreaker(f"random-{round_}", clock=clock, **options)
                breaker.restore(snapshot)
                held.clear()
            elif op < 0.9:
                del held[: rng.randrange(len(held) + 1)]  # dropped permits: cancelled
            else:
                stats = breaker.stats
                assert 0.0 <= stats.failure_rate <= 1.0
                assert stats.total_requests == stats.success_count + stats.failure_count
                assert stats.timeout_count <= stats.failure_count
