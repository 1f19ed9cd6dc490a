"""Issue 10's cases for the Python service (now driven by the core's service engine),
and issue 11's item 8 (dead-letter ids)."""

from __future__ import annotations

import asyncio
import json
from typing import Any, List

import pytest

import tripwire
from tripwire import BulkheadRejectedError, CircuitBreakerOpenError, CircuitBreakerService, ManualClock


def test_case_1_keys_are_typed_not_joined() -> None:
    svc = CircuitBreakerService(clock=ManualClock())
    ab_c = svc.get_circuit_breaker("a:b", "c")
    a_bc = svc.get_circuit_breaker("a", "b:c")
    assert ab_c is not a_bc
    assert (ab_c.name, a_bc.name) == ("a%3Ab:c", "a:b%3Ac")
    svc.force_circuit_breaker_open("a", "b:c")
    assert svc.execute_with_circuit_breaker("a:b", "c", lambda: "ran") == "ran"
    with pytest.raises(CircuitBreakerOpenError):
        svc.execute_with_circuit_breaker("a", "b:c", lambda: "ran")
    stats = svc.get_circuit_breaker_stats("a:b", "c")
    assert stats is not None and stats.state.value == "CLOSED"
    assert sorted(svc.get_circuit_breaker_state()) == ["a%3Ab:c", "a:b%3Ac"]
    # The registry holds them under those names too.
    assert tripwire.registry.get("a%3Ab:c") is ab_c
    assert tripwire.registry.get("a:b%3Ac") is a_bc


def test_case_2_eviction_splits_no_key() -> None:
    svc = CircuitBreakerService(clock=ManualClock(), max_breakers=2)
    for i in range(50):
        svc.execute_with_circuit_breaker("api:v1", f"op{i}", lambda: 1)
    health = svc.get_system_health()["breakers"]
    assert (health["count"], health["evictions"]) == (2, 48)
    assert len(svc.get_circuit_breaker_state()) == 2
    assert svc.evictions == 48


def test_case_3_eleven_operations_with_ten_breakers() -> None:
    svc = CircuitBreakerService(clock=ManualClock(), max_breakers=10)
    for i in range(11):
        svc.execute_with_circuit_breaker("svc", f"op{i}", lambda: 1)
    health = svc.get_system_health()["breakers"]
    assert (health["count"], health["evictions"]) == (10, 1)


def test_an_evicted_breaker_keeps_working_for_its_holder() -> None:
    svc = CircuitBreakerService(clock=ManualClock(), max_breakers=1)
    first = svc.get_circuit_breaker("s", "first")
    svc.get_circuit_breaker("s", "second")
    assert svc.get_circuit_breaker_stats("s", "first") is None  # evicted
    assert first.call(lambda: 5) == 5
    assert tripwire.registry.get("s:first") is None


@pytest.mark.parametrize("name", ["__proto__", "", "constructor", "%", "a:b", "hasOwnProperty"])
def test_case_5_any_string_is_a_name_in_every_report(name: str) -> None:
    svc = CircuitBreakerService(clock=ManualClock())
    svc.execute_with_circuit_breaker(name, name, lambda: 1)
    svc.force_circuit_breaker_open(name, "down")
    with pytest.raises(CircuitBreakerOpenError):
        svc.execute_with_circuit_breaker(name, "down", lambda: 1)
    svc.execute_with_circuit_breaker(
        name, name, lambda: 1 / 0, fallback_options={"queue": True, "fallback_value": None}, retry_policy={"max_attempts": 1}
    )
    health = svc.get_system_health()
    assert health["services"][name]["status"] == "degraded"
    assert set(health["services"][name]["circuits"]) == {name, "down"}
    assert health["overall"] == "degraded"
    state = svc.get_circuit_breaker_state()
    assert len(state) == 2 and len(svc.get_all_circuit_breaker_stats()) == 2
    assert svc.get_circuit_breaker_stats(name, name) is not None
    assert [(i.service, i.operation) for i in svc.get_dead_letter_queue()] == [(name, name)]
    assert svc.get_service_stats(name) is not None
    assert svc.get_bulkhead_stats(name) is not None
    assert svc.get_service_config(name)["preset"] is None
    # Every report survives JSON.
    again = json.loads(json.dumps(health))
    assert again["services"][name]["status"] == "degraded"
    json.dumps({k: v.state.value for k, v in state.items()})


def test_issue_11_dead_letter_ids_out_of_range_are_key_errors() -> None:
    svc = CircuitBreakerService(clock=ManualClock())
    for bad in (-1, 2**100, 0, 12345, "1", 1.0, None):
        with pytest.raises(KeyError):
            svc.retry_dead_letter_item(bad)  # type: ignore[arg-type]
        assert svc.remove_dead_letter_item(bad) is False  # type: ignore[arg-type]


def test_update_names_the_bad_key_with_did_you_mean() -> None:
    svc = CircuitBreakerService()
    with pytest.raises(TypeError, match=r"retry_polcy.*did you mean"):
        svc.update_service_config("s", retry_polcy={"max_attempts": 2})
    with pytest.raises(TypeError, match=r"max_attemps.*did you mean `max_attempts`"):
        svc.update_service_config("s", retry_policy={"max_attemps": 2})
    with pytest.raises(TypeError, match=r"failure_treshold.*did you mean"):
        svc.update_service_config("s", config={"failure_treshold": 2})
    with pytest.raises(ValueError, match="preset"):
        svc.update_service_config("s", preset="nope")
    with pytest.raises(TypeError, match="bulkhead"):
        svc.update_service_config("s", bulkhead=3)  # type: ignore[arg-type]
    # The engine's camelCase section names work too.
    svc.update_service_config("s", retryPolicy={"maxAttempts": 2})
    assert svc.get_service_config("s")["retry_policy"]["max_attempts"] == 2


def test_config_updates_reconfigure_the_same_breaker_in_place() -> None:
    svc = CircuitBreakerService(clock=ManualClock())
    breaker = svc.get_circuit_breaker("s", "op")
    svc.update_service_config("s", config={"request_timeout": 2.5})
    assert svc.get_circuit_breaker("s", "op") is breaker
    assert breaker.request_timeout == 2.5
    svc.update_service_config("s", config={"request_timeout": None})
    assert breaker.request_timeout is None


def test_service_stats_count_retry_outcomes() -> None:
    clock = ManualClock()
    svc = CircuitBreakerService(clock=clock, seed=1)
    runs: List[int] = []

    def flaky() -> str:
        runs.append(1)
        if len(runs) == 1:
            raise ConnectionResetError()
        return "ok"

    assert svc.execute_with_circuit_breaker("s", "op", flaky) == "ok"
    assert svc.execute_with_circuit_breaker("s", "op", lambda: "ok") == "ok"
    stats = svc.get_service_stats("s")
    assert stats is not None
    assert stats["retries"] == {
        "successful_without_retry": 1,
        "successful_with_retry": 1,
        "failed_without_retry": 0,
        "failed_with_retry": 0,
    }
    assert stats["bulkhead"]["running"] == 0
    svc.reset_circuit_breaker("s")
    assert svc.get_service_stats("s")["retries"]["successful_with_retry"] == 1  # type: ignore[index]


def test_a_seed_makes_jitter_reproducible() -> None:
    def delays(seed: int) -> List[float]:
        clock = ManualClock()
        svc = CircuitBreakerService(clock=clock, seed=seed)
        times: List[float] = []

        def down() -> None:
            times.append(clock.now())
            raise ConnectionResetError()

        with pytest.raises(ConnectionResetError):
            svc.execute_with_circuit_breaker("s", "op", down)
        return times

    assert delays(7) == delays(7)
    assert len(delays(7)) == 3


def test_queue_waits_run_on_the_manual_clock() -> None:
    clock = ManualClock()
    svc = CircuitBreakerService(clock=clock)
    svc.update_service_config("s", bulkhead={"max_concurrent": 1, "queue_size": 1, "max_queue_wait": 5})

    async def main() -> Any:
        gate = asyncio.get_running_loop().create_future()

        async def hold() -> str:
            await gate
            return "held"

        async def quick() -> str:
            return "quick"

        first = asyncio.ensure_future(svc.execute_with_circuit_breaker("s", "a", hold))
        await asyncio.sleep(0)
        waiting = asyncio.ensure_future(svc.execute_with_circuit_breaker("s", "b", quick))
        for _ in range(10):
            await asyncio.sleep(0)
        assert not waiting.done()  # real time does not expire it
        clock.advance(4.9)
        for _ in range(10):
            await asyncio.sleep(0)
        assert not waiting.done()
        clock.advance(0.2)
        for _ in range(10):
            await asyncio.sleep(0)
        with pytest.raises(BulkheadRejectedError) as info:
            await waiting
        assert info.value.reason == "queue-timeout"
        gate.set_result(None)
        assert await first == "held"

    asyncio.run(main())
    stats = svc.get_bulkhead_stats("s")
    assert stats is not None and (stats["running"], stats["queued"], stats["rejected_queue_timeout"]) == (0, 0, 1)


def test_bad_constructor_options_name_the_option() -> None:
    with pytest.raises(ValueError, match="max_breakers"):
        CircuitBreakerService(max_breakers=0)
    with pytest.raises(TypeError, match="max_breakers"):
        CircuitBreakerService(max_breakers="10")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="dead_letter_queue_size"):
        CircuitBreakerService(dead_letter_queue_size=-1)
    with pytest.raises(ValueError, match="seed"):
        CircuitBreakerService(seed=-1)
    with pytest.raises(TypeError, match="clock"):
        CircuitBreakerService(clock=object())  # type: ignore[arg-type]


def test_the_same_name_objects_after_an_eviction_reach_their_own_breaker() -> None:
    # A call with the same str objects as before is looked up by their identity; an
    # eviction may give the evicted breaker's slot to another key, which the next call
    # with the old names must not reach.
    svc = CircuitBreakerService(clock=ManualClock(), max_breakers=2)
    service, first, second, third = "s", "a", "b", "c"
    for operation in (first, second, third):  # `third` evicts (s, a)
        svc.execute_with_circuit_breaker(service, operation, lambda: 1)
    assert svc.evictions == 1 and svc.get_circuit_breaker_stats(service, first) is None
    svc.force_circuit_breaker_open(service, third)
    # (s, a) again, the same objects: a new breaker, not (s, c) that took its place.
    assert svc.execute_with_circuit_breaker(service, first, lambda: "a ran") == "a ran"
    with pytest.raises(CircuitBreakerOpenError):
        svc.execute_with_circuit_breaker(service, third, lambda: "c ran")
    stats = svc.get_circuit_breaker_stats(service, first)
    assert stats is not None and (stats.total_requests, stats.state.value) == (1, "CLOSED")


@pytest.mark.parametrize("listened", [False, True])
def test_async_attempts_reach_the_breaker_with_or_without_call_async(listened: bool) -> None:
    # Without a listener the first attempt's permit is asked in `execute`'s crossing and
    # ended by the engine's report; with one, the attempt goes through `call_async`.
    # The breaker hears the same either way: the success, the failure that opens it,
    # then the refusal (and the listener hears them).
    svc = CircuitBreakerService(clock=ManualClock())
    svc.update_service_config("s", config={"failure_threshold": 1}, retry_policy={"max_attempts": 1})
    heard: List[str] = []
    if listened:

        class Listener:
            def success(self, breaker: Any) -> None:
                heard.append("success")

            def failure(self, breaker: Any, error: BaseException) -> None:
                heard.append("failure")

        svc.get_circuit_breaker("s", "o").add_listener(Listener())

    async def ok() -> str:
        return "ok"

    async def boom() -> str:
        raise ValueError("boom")

    async def main() -> None:
        assert await svc.execute_with_circuit_breaker("s", "o", ok) == "ok"
        with pytest.raises(ValueError, match="boom"):
            await svc.execute_with_circuit_breaker("s", "o", boom)
        with pytest.raises(CircuitBreakerOpenError):
            await svc.execute_with_circuit_breaker("s", "o", ok)
        assert await svc.execute_with_circuit_breaker("s", "o", ok, fallback_options={"fallback_value": "fb"}) == "fb"

    asyncio.run(main())
    stats = svc.get_circuit_breaker_stats("s", "o")
    assert stats is not None
    assert (stats.success_count, stats.failure_count, stats.rejected_count, stats.state.value) == (1, 1, 2, "OPEN")
    assert heard == (["success", "failure"] if listened else [])
    counts = svc.get_service_stats("s")
    assert counts is not None and counts["retries"]["successful_without_retry"] == 1
    assert counts["bulkhead"]["running"] == 0


def test_a_service_whose_call_failed_is_collected() -> None:
    # The failed call's error holds its traceback, whose frames hold the engine's
    # answer that holds the error: a cycle the garbage collector must see through.
    import gc
    import weakref

    svc = CircuitBreakerService(clock=ManualClock())
    svc.update_service_config("s", retry_policy={"max_attempts": 1})

    def boom() -> None:
        raise ValueError("boom")

    with pytest.raises(ValueError):
        svc.execute_with_circuit_breaker("s", "o", boom)
    ref = weakref.ref(svc)
    del svc
    gc.collect()
    assert ref() is None



def test_a_finished_calls_value_is_answered_as_is() -> None:
    # A sync call that is over answers its value itself (no step): any value, a tuple
    # or the engine's own kind of answer included.
    svc = CircuitBreakerService(clock=ManualClock())
    assert svc.execute_with_circuit_breaker("s", "o", lambda: (0, "x")) == (0, "x")
    pending = tripwire._core.Pending
    assert svc.execute_with_circuit_breaker("s", "o", lambda: pending) is pending
    assert svc.execute_with_circuit_breaker("s", "o", lambda: None) is None


def test_unbounded_service_names_through_a_helper_or_a_calls_bulkhead_go_with_their_last_breaker() -> None:
    svc = CircuitBreakerService(max_breakers=5)
    for i in range(100):
        svc.execute_external_api(f"api-{i}", "get", lambda: 1)
        svc.execute_with_circuit_breaker(f"pool-{i}", "get", lambda: 1, bulkhead={"max_concurrent": 3})
    assert len(svc.get_system_health()["services"]) == 5
    assert svc.get_service_config("api-99")["preset"] == "external-api"
    assert svc.get_service_config("pool-99")["bulkhead"]["max_concurrent"] == 3
    svc.update_service_config("kept", preset="external-api")
    svc.execute_external_api("kept", "get", lambda: 1)
    for i in range(10):
        svc.execute_with_circuit_breaker("other", f"op{i}", lambda: 1)
    assert "kept" in svc.get_system_health()["services"]
