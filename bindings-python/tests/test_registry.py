"""The registry and the get-or-create helpers."""

from __future__ import annotations

import asyncio
import threading
from typing import List

import pytest

import tripwire
from tripwire import CircuitBreaker, CircuitState, create_circuit_breaker, registry, with_circuit_breaker


def test_every_breaker_registers_under_its_name_and_a_later_one_replaces_it() -> None:
    first = CircuitBreaker("svc")
    assert registry.get("svc") is first
    second = CircuitBreaker("svc")
    assert registry.get("svc") is second
    assert "svc" in registry and "other" not in registry
    assert registry.get("other") is None


def test_a_name_holding_a_lone_surrogate_is_keyed_with_u_fffd_as_in_node() -> None:
    cut = CircuitBreaker("user-\ud83d")  # a str cut inside an emoji
    assert cut.name == "user-\ud83d"
    assert registry.get("user-\ud83d") is cut and registry.get("user-\udc00") is cut
    assert registry.get("user-\ufffd") is cut and "user-\ufffd" in registry
    assert registry.get("user-\ud83d\ude00") is None, "one U+FFFD per lone surrogate"
    same = CircuitBreaker("user-\ufffd")  # the same name: it replaces the entry
    assert registry.get("user-\ud83d") is same
    assert registry.remove("user-\udc00") is same and registry.get("user-\ufffd") is None


def test_all_stats_reset_all_remove_clear() -> None:
    b = CircuitBreaker("b", failure_threshold=1)
    a = CircuitBreaker("a")
    assert registry.all() == [a, b]
    assert list(registry) == [a, b] and len(registry) == 2
    a.call(lambda: None)
    b.open()
    stats = registry.stats()
    assert set(stats) == {"a", "b"}
    assert stats["a"].success_count == 1 and stats["b"].state is CircuitState.OPEN
    registry.reset_all()
    assert b.state is CircuitState.CLOSED and a.stats.success_count == 0
    assert registry.remove("a") is a and registry.remove("a") is None
    registry.clear()
    assert registry.all() == []


def test_create_circuit_breaker_returns_the_registered_one() -> None:
    made = create_circuit_breaker("shared", failure_threshold=1)
    again = create_circuit_breaker("shared", failure_threshold=99)  # options ignored
    assert again is made
    with pytest.raises(Exception):
        made.call(lambda: 1 / 0)
    assert made.state is CircuitState.OPEN


def test_create_circuit_breaker_checks_options() -> None:
    with pytest.raises(ValueError, match="failure_threshold"):
        create_circuit_breaker("bad", failure_threshold=-1)
    assert registry.get("bad") is None


def test_create_circuit_breaker_from_threads_makes_one() -> None:
    got: List[CircuitBreaker] = []
    barrier = threading.Barrier(8)

    def worker() -> None:
        barrier.wait()
        got.append(create_circuit_breaker("race"))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(b) for b in got}) == 1


def test_with_circuit_breaker_sync_and_async() -> None:
    assert with_circuit_breaker("wcb", lambda: 41 + 1, {"failure_threshold": 3}) == 42
    breaker = registry.get("wcb")
    assert breaker is not None and breaker.stats.success_count == 1

    async def fetch() -> str:
        return "async"

    awaitable = with_circuit_breaker("wcb", fetch)
    assert asyncio.run(awaitable) == "async"  # type: ignore[arg-type]
    assert breaker.stats.success_count == 2


def test_with_circuit_breaker_accepts_seed_spellings_in_seconds() -> None:
    with_circuit_breaker("seed-shape", lambda: None, {"failureThreshold": 2, "recoveryTimeout": 30})
    breaker = registry.get("seed-shape")
    assert breaker is not None
    breaker.acquire().failure()
    breaker.acquire().failure()
    stats = breaker.stats
    assert stats.state is CircuitState.OPEN
    assert stats.next_attempt_time is not None and stats.last_failure_time is not None
    assert stats.next_attempt_time - stats.last_failure_time == pytest.approx(30)


def test_the_registry_is_exported() -> None:
    assert tripwire.registry is registry
    assert set(tripwire.__all__) <= set(dir(tripwire))
