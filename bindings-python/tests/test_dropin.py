"""The core capabilities pybreaker's and opossum's users need (issue 15), through the
installed package: timed open (``trip``), forced ``half_open``, a start state, the
failure streak, excluded errors as successes, the strict rate threshold. Manual clocks."""

from __future__ import annotations

import gc
import subprocess
import sys
import threading
import time
from typing import Any, Callable, Dict, List, Tuple

import pytest

from tripwire import CircuitBreaker, CircuitBreakerOpenError, CircuitState, ManualClock


def boom() -> None:
    raise RuntimeError("upstream down")


def state(breaker: CircuitBreaker) -> CircuitState:
    """The state now (a call, so that mypy does not narrow it between reads)."""
    return breaker.state


def attempt(breaker: CircuitBreaker, func: Callable[[], Any]) -> None:
    try:
        breaker.call(func)
    except RuntimeError:
        pass


def test_start_open_with_time_remaining_then_a_trial() -> None:
    clock = ManualClock(100.0)
    breaker = CircuitBreaker("py-start-open", clock=clock, initial_state="open", open_remaining=0.3, success_threshold=1)
    assert state(breaker) is CircuitState.OPEN
    with pytest.raises(CircuitBreakerOpenError) as refused:
        breaker.call(lambda: None)
    assert refused.value.retry_after == pytest.approx(0.3)
    clock.advance(0.3)
    assert state(breaker) is CircuitState.HALF_OPEN
    assert breaker.call(lambda: 7) == 7
    assert state(breaker) is CircuitState.CLOSED


@pytest.mark.parametrize("spelling", ["HALF_OPEN", "half-open", "half_open", "halfOpen"])
def test_start_half_open_spellings(spelling: str) -> None:
    assert CircuitBreaker("py-start-half", initial_state=spelling).state is CircuitState.HALF_OPEN


@pytest.mark.parametrize(
    "options, error, named, text",
    [
        ({"initial_state": "opened"}, ValueError, "initial_state", "'HALF_OPEN'"),
        ({"initial_state": 1}, TypeError, "initial_state", "'HALF_OPEN'"),
        ({"open_remaining": 5}, ValueError, "open_remaining", "`initial_state` OPEN"),
        ({"initial_state": "open", "open_remaining": "5"}, TypeError, "open_remaining", "not str"),
        ({"ignored_as_success": 1}, TypeError, "ignored_as_success", "boolean"),
        ({"strict_rate_threshold": "yes"}, TypeError, "strict_rate_threshold", "boolean"),
        ({"rejects_in_rate": 1}, TypeError, "rejects_in_rate", "boolean"),
        ({"keep_window": "yes"}, TypeError, "keep_window", "boolean"),
        ({"inital_state": "open"}, TypeError, "inital_state", "did you mean `initial_state`"),
    ],
)
def test_bad_options_name_the_option(options: Dict[str, Any], error: type, named: str, text: str) -> None:
    with pytest.raises(error) as info:
        CircuitBreaker("py-bad", **options)
    assert f"`{named}`" in str(info.value)
    assert text in str(info.value)


def test_trip_is_timed_open_is_forced() -> None:
    clock = ManualClock()
    seen = []
    breaker = CircuitBreaker("py-trip", clock=clock, recovery_timeout=1.0, on_state_change=lambda old, new: seen.append((old, new)))
    transition = breaker.trip()
    assert (transition.old, transition.new) == (CircuitState.CLOSED, CircuitState.OPEN)
    assert seen == [(CircuitState.CLOSED, CircuitState.OPEN)]
    clock.advance(1.0)
    assert state(breaker) is CircuitState.HALF_OPEN
    breaker.open()
    clock.advance(1000.0)
    assert state(breaker) is CircuitState.OPEN, "a forced open never half-opens"


def test_half_open_admits_a_trial_now() -> None:
    breaker = CircuitBreaker("py-half", clock=ManualClock(), success_threshold=1)
    assert breaker.half_open().new is CircuitState.HALF_OPEN
    assert breaker.call(lambda: 1) == 1
    assert state(breaker) is CircuitState.CLOSED


def test_failure_streak_is_pybreakers_fail_counter() -> None:
    clock = ManualClock()
    breaker = CircuitBreaker("py-streak", clock=clock, fail_max=3, reset_timeout=1.0)
    for _ in range(3):
        attempt(breaker, boom)
    assert state(breaker) is CircuitState.OPEN
    assert breaker.stats.failure_streak == 3, "fail_max once open"
    clock.advance(1.0)
    attempt(breaker, boom)
    assert breaker.stats.failure_streak == 4, "fail_max + 1 after a failed trial"
    breaker.close()
    assert breaker.stats.failure_streak == 0


@pytest.mark.parametrize("as_success", [True, False])
def test_an_excluded_error_may_count_as_a_success(as_success: bool) -> None:
    breaker = CircuitBreaker(
        "py-excluded", clock=ManualClock(), success_threshold=1, exclude=[KeyError], ignored_as_success=as_success
    )
    breaker.half_open()

    def missing() -> None:
        raise KeyError("k")

    with pytest.raises(KeyError):
        breaker.call(missing)
    if as_success:
        assert state(breaker) is CircuitState.CLOSED
        assert breaker.stats.success_count == 1
    else:
        assert state(breaker) is CircuitState.HALF_OPEN
        assert breaker.stats.ignored_count == 1


@pytest.mark.parametrize("strict, expected", [(False, CircuitState.OPEN), (True, CircuitState.CLOSED)])
def test_strict_rate_threshold(strict: bool, expected: CircuitState) -> None:
    breaker = CircuitBreaker(
        "py-strict", clock=ManualClock(), failure_threshold=0.5, minimum_requests=4, strict_rate_threshold=strict
    )
    for ok in (True, False, True, False):
        attempt(breaker, (lambda: None) if ok else boom)
    assert state(breaker) is expected


@pytest.mark.parametrize(
    "options, expected",
    [
        ({"rejects_in_rate": True, "keep_window": True}, (CircuitState.CLOSED, 5, 2)),
        ({"keep_window": True}, (CircuitState.OPEN, 3, 2)),
        ({}, (CircuitState.OPEN, 1, 1)),
    ],
)
def test_rejects_in_rate_and_keep_window(options: Dict[str, Any], expected: Tuple[CircuitState, int, int]) -> None:
    """opossum's window: one failure trips, two calls are refused, a trial closes, one
    failure. With both options that is 2 failures in 5 calls (40 %, closed)."""
    clock = ManualClock()
    breaker = CircuitBreaker(
        "py-window",
        clock=clock,
        failure_threshold=0.5,
        minimum_requests=1,
        strict_rate_threshold=True,
        recovery_timeout=1.0,
        success_threshold=1,
        **options,
    )
    attempt(breaker, boom)
    for _ in range(2):
        with pytest.raises(CircuitBreakerOpenError):
            breaker.call(lambda: None)
    clock.advance(1.0)
    breaker.call(lambda: None)
    attempt(breaker, boom)
    stats = breaker.stats
    assert (state(breaker), stats.window_calls, stats.window_failures) == expected


def test_half_open_timer_one_timer_while_open_none_while_closed() -> None:
    clock = ManualClock()
    seen: List[Tuple[float, CircuitState]] = []
    breaker = CircuitBreaker(
        "py-timer",
        clock=clock,
        fail_max=1,
        reset_timeout=1.0,
        half_open_timer=True,
        on_state_change=lambda old, new: seen.append((clock.now(), new)),
    )
    assert clock._next_timer() is None, "closed: no timer"
    attempt(breaker, boom)
    assert clock._next_timer() == pytest.approx(1.0)
    clock.advance(0.5)
    breaker.trip()
    assert clock._next_timer() == pytest.approx(1.0), "a new open duration replaces the timer"
    clock.advance(1.0)
    assert seen[-1][1] is CircuitState.HALF_OPEN
    assert seen[-1][0] == pytest.approx(1.5), "at the end of the open duration"

    assert clock._next_timer() is None, "half-open: no timer"
    breaker.open()
    assert clock._next_timer() is None, "forced open: no timer"
    breaker.trip()
    breaker.close()
    assert clock._next_timer() is None, "closed again: no timer"


def test_no_half_open_timer_by_default() -> None:
    clock = ManualClock()
    breaker = CircuitBreaker("py-no-timer", clock=clock, reset_timeout=1.0)
    breaker.trip()
    assert clock._next_timer() is None


def test_half_open_timer_on_the_real_clock_from_a_start_state() -> None:
    moved = threading.Event()
    breaker = CircuitBreaker(
        "py-timer-real",
        initial_state="OPEN",
        open_remaining=0.005,
        half_open_timer=True,
        on_state_change=lambda old, new: moved.set() if new is CircuitState.HALF_OPEN else None,
    )
    assert moved.wait(30), "the timer thread never half-opened the breaker"
    assert state(breaker) is CircuitState.HALF_OPEN


def test_half_open_timer_thread_does_not_keep_the_process() -> None:
    code = "import tripwire; tripwire.CircuitBreaker('idle', half_open_timer=True).trip()  # 60 s open"
    done = subprocess.run([sys.executable, "-c", code], timeout=30, capture_output=True)
    assert done.returncode == 0, done.stderr


def test_half_open_wait_sync_callers_run_after_the_trial_closes() -> None:
    breaker = CircuitBreaker("py-wait", success_threshold=1, half_open_wait=True)
    breaker.half_open()
    trial_running = threading.Event()
    finish_trial = threading.Event()
    results: List[str] = []

    def trial() -> str:
        trial_running.set()
        assert finish_trial.wait(30)
        return "trial"

    first = threading.Thread(target=lambda: results.append(breaker.call(trial)))
    first.start()
    assert trial_running.wait(30)
    waiters = [threading.Thread(target=lambda: results.append(breaker.call(lambda: "behind"))) for _ in range(3)]
    for t in waiters:
        t.start()
    assert breaker.stats.rejected_count == 0, "nobody was refused"
    finish_trial.set()
    for t in [first, *waiters]:
        t.join(30)
    assert sorted(results) == ["behind", "behind", "behind", "trial"]
    assert breaker.stats.rejected_count == 0
    assert state(breaker) is CircuitState.CLOSED


def test_half_open_wait_async_callers_are_refused_when_the_trial_fails() -> None:
    import asyncio

    async def scenario() -> Tuple[object, int]:
        breaker = CircuitBreaker("py-wait-async", recovery_timeout=10, half_open_wait=True)
        breaker.half_open()
        gate = asyncio.Event()

        async def trial() -> None:
            await gate.wait()
            raise RuntimeError("trial failed")

        async def behind() -> str:
            return "never"

        first = asyncio.ensure_future(breaker.call_async(trial))
        await asyncio.sleep(0)
        waiting = asyncio.ensure_future(breaker.call_async(behind))
        await asyncio.sleep(0.01)
        assert not waiting.done(), "the second caller waits for the trial"
        gate.set()
        with pytest.raises(RuntimeError):
            await first
        refusal = await asyncio.gather(waiting, return_exceptions=True)
        return refusal[0], breaker.stats.rejected_count

    error, rejected = asyncio.run(scenario())
    assert isinstance(error, CircuitBreakerOpenError)
    assert error.state is CircuitState.OPEN
    assert rejected == 1


def test_half_open_wait_a_trial_permit_dropped_unused_wakes_the_waiting_callers() -> None:
    breaker = CircuitBreaker("py-wait-dropped", success_threshold=1, half_open_wait=True)
    breaker.half_open()
    permit = breaker.acquire()
    results: List[str] = []
    behind = threading.Thread(target=lambda: results.append(breaker.call(lambda: "behind")), daemon=True)
    behind.start()
    time.sleep(0.1)  # let it wait for the trial (one that asks later runs at once: the test still passes)
    try:
        del permit  # the trial's slot is handed back: the waiting caller may run
        gc.collect()
        behind.join(30)
        assert results == ["behind"], "the caller waiting for the trial was not woken"
        assert state(breaker) is CircuitState.CLOSED
    finally:
        breaker.reset()  # wakes it, had it not been
        behind.join(30)


def test_half_open_wait_is_off_by_default() -> None:
    breaker = CircuitBreaker("py-no-wait")
    breaker.half_open()
    permit = breaker.acquire()
    with pytest.raises(CircuitBreakerOpenError) as refused:
        breaker.call(lambda: None)
    assert refused.value.state is CircuitState.HALF_OPEN
    permit.cancel()


def test_window_stats_per_bucket_with_fallbacks() -> None:
    clock = ManualClock()
    breaker = CircuitBreaker(
        "py-window-stats",
        clock=clock,
        window_stats=True,
        monitoring_window=1.0,
        window_buckets=2,
        fail_max=2,
        fallback=lambda: "fb",
    )
    assert breaker.call(lambda: 1) == 1
    clock.advance(0.6)
    assert breaker.call(boom) == "fb"
    assert breaker.call(boom) == "fb"
    refused: object = breaker.call(lambda: 1)
    assert refused == "fb", "refused, answered by the fallback"
    w = breaker.window_stats
    assert w is not None
    assert w["bucket_width"] == pytest.approx(0.5)
    assert [(b["successes"], b["failures"], b["rejects"], b["fallbacks"]) for b in w["buckets"]] == [(1, 0, 0, 0), (0, 2, 1, 3)]
    assert list(w["percentiles"]) == [0.0, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.995, 1.0]
    breaker.reset()
    w = breaker.window_stats
    assert w is not None and w["failures"] == 0
    assert CircuitBreaker("py-no-window-stats").window_stats is None


def test_window_stats_async_fallback_is_counted() -> None:
    import asyncio

    breaker = CircuitBreaker("py-window-async", window_stats=True, fallback=lambda: "fb")
    breaker.open()

    async def never() -> str:
        return "no"

    assert asyncio.run(breaker.call_async(never)) == "fb"
    w = breaker.window_stats
    assert w is not None and (w["rejects"], w["fallbacks"]) == (1, 1)


def test_window_stats_needs_a_time_window() -> None:
    with pytest.raises(ValueError, match="`window_stats`"):
        CircuitBreaker("py-window-count", window_stats=True, count_window=10)
