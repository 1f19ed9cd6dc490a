"""Threads: exact counts under contention, exact half-open admission, and no lock
held while user code runs."""

from __future__ import annotations

import threading
from typing import List

import pytest

from tripwire import CircuitBreaker, CircuitBreakerOpenError, CircuitState, ManualClock

THREADS = 8
CALLS = 50_000


class Boom(Exception):
    pass


def start_all(functions: List["threading.Thread"]) -> None:
    for t in functions:
        t.start()
    for t in functions:
        t.join()


def test_eight_threads_times_fifty_thousand_calls_leave_exact_counts() -> None:
    # A rate that mixed outcomes (1 in 3 failing) never reach: the breaker stays closed.
    breaker = CircuitBreaker("threads", failure_threshold=0.99, exclude=[KeyError])
    guarded = breaker(lambda i: i)
    errors: List[BaseException] = []

    def fail() -> None:
        raise Boom()

    def ignored() -> None:
        raise KeyError()

    def worker(n: int) -> None:
        try:
            barrier.wait()
            for i in range(CALLS):
                kind = (i + n) % 5
                if kind in (0, 1):
                    breaker.call(int)
                elif kind == 2:
                    guarded(i)
                elif kind == 3:
                    try:
                        breaker.call(fail)
                    except Boom:
                        pass
                else:
                    try:
                        with breaker:
                            ignored()
                    except KeyError:
                        pass
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    barrier = threading.Barrier(THREADS)
    start_all([threading.Thread(target=worker, args=(n,)) for n in range(THREADS)])
    assert errors == []
    total = THREADS * CALLS
    stats = breaker.stats
    assert stats.success_count == total * 3 // 5
    assert stats.failure_count == total // 5
    assert stats.ignored_count == total // 5
    assert stats.total_requests == total * 4 // 5
    assert stats.rejected_count == 0
    assert breaker.state is CircuitState.CLOSED


@pytest.mark.parametrize("trials", [1, 3])
def test_half_open_admits_exactly_half_open_max_calls_across_threads(trials: int) -> None:
    clock = ManualClock()
    breaker = CircuitBreaker(
        "trials", failure_threshold=1, recovery_timeout=1, half_open_max_calls=trials, clock=clock
    )
    breaker.acquire().failure()
    clock.advance(1)
    admitted: List[object] = []
    refused: List[CircuitBreakerOpenError] = []
    lock = threading.Lock()
    barrier = threading.Barrier(THREADS)

    def worker() -> None:
        barrier.wait()
        for _ in range(100):
            try:
                permit = breaker.acquire()
            except CircuitBreakerOpenError as e:
                with lock:
                    refused.append(e)
            else:
                with lock:
                    admitted.append(permit)  # held: never ended during the test

    start_all([threading.Thread(target=worker) for _ in range(THREADS)])
    assert len(admitted) == trials
    assert len(refused) == THREADS * 100 - trials
    assert all(e.state is CircuitState.HALF_OPEN for e in refused)


def test_no_lock_is_held_while_the_protected_call_runs() -> None:
    # Both calls must be inside the breaker at once to pass the barrier; a breaker
    # that serialised calls (as pybreaker does) would break it (timeout = deadlock guard).
    breaker = CircuitBreaker("parallel")
    inside = threading.Barrier(2, timeout=30)
    results: List[str] = []

    def protected() -> str:
        inside.wait()
        return "ok"

    def worker() -> None:
        results.append(breaker.call(protected))

    start_all([threading.Thread(target=worker) for _ in range(2)])
    assert results == ["ok", "ok"]
    assert breaker.stats.success_count == 2
