"""asyncio: call_async, the async decorator, async with, request_timeout, cancellation."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any, List

import pytest

from tripwire import (
    CircuitBreaker,
    CircuitBreakerError,
    CircuitBreakerOpenError,
    CircuitBreakerTimeoutError,
    CircuitState,
    ManualClock,
)


class Boom(Exception):
    pass


async def ok(x: int, *, y: int = 0) -> int:
    await asyncio.sleep(0)
    return x + y


async def fail() -> None:
    await asyncio.sleep(0)
    raise Boom()


def test_call_async_returns_and_counts() -> None:
    breaker = CircuitBreaker("async")
    assert asyncio.run(breaker.call_async(ok, 1, y=2)) == 3
    with pytest.raises(Boom):
        asyncio.run(breaker.call_async(fail))
    stats = breaker.stats
    assert (stats.success_count, stats.failure_count) == (1, 1)


def test_the_decorator_detects_async_def_and_keeps_its_face() -> None:
    breaker = CircuitBreaker("async-deco", failure_threshold=1)

    @breaker
    async def fetch(url: str) -> str:
        """Fetches."""
        if url == "bad":
            raise Boom(url)
        return url.upper()

    assert inspect.iscoroutinefunction(fetch)
    assert fetch.__name__ == "fetch" and fetch.__doc__ == "Fetches."
    assert inspect.signature(fetch) == inspect.signature(fetch.__wrapped__)  # type: ignore[attr-defined]

    async def main() -> None:
        assert await fetch("a") == "A"
        with pytest.raises(Boom):
            await fetch("bad")
        with pytest.raises(CircuitBreakerOpenError):
            await fetch("a")

    asyncio.run(main())
    assert breaker.state is CircuitState.OPEN


def test_open_refuses_and_fallbacks_answer(clock: ManualClock) -> None:
    async def async_fallback(*args: Any, **kwargs: Any) -> str:
        return f"fallback{args}"

    plain = CircuitBreaker("async-open", clock=clock)
    plain.open()
    with pytest.raises(CircuitBreakerOpenError):
        asyncio.run(plain.call_async(ok, 1))

    with_fallback = CircuitBreaker("async-fb", fallback=async_fallback, failure_threshold=1, clock=clock)
    assert asyncio.run(with_fallback.call_async(fail)) == "fallback()"  # failure, answered
    assert with_fallback.stats.failure_count == 1
    assert asyncio.run(with_fallback.call_async(ok, 5)) == "fallback(5,)"  # refusal, answered

    sync_fallback = CircuitBreaker("async-fb-sync", fallback=lambda *a: "sync", clock=clock)
    sync_fallback.open()
    assert asyncio.run(sync_fallback.call_async(ok, 1)) == "sync"


def test_request_timeout_cancels_and_raises_a_timeout_error() -> None:
    breaker = CircuitBreaker("async-timeout", request_timeout=0.01, failure_threshold=1)
    cancelled: List[bool] = []

    async def hang() -> None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    with pytest.raises(CircuitBreakerTimeoutError) as info:
        asyncio.run(breaker.call_async(hang))
    assert isinstance(info.value, TimeoutError)
    assert not isinstance(info.value, CircuitBreakerError)
    assert info.value.name == "async-timeout" and info.value.timeout == 0.01
    assert cancelled == [True]
    stats = breaker.stats
    assert (stats.timeout_count, stats.failure_count) == (1, 1)
    assert breaker.state is CircuitState.OPEN


def test_a_timeout_is_answered_by_the_fallback() -> None:
    breaker = CircuitBreaker("async-timeout-fb", request_timeout=0.01, fallback=lambda: "late")

    async def hang() -> None:
        await asyncio.sleep(60)

    assert asyncio.run(breaker.call_async(hang)) == "late"
    assert breaker.stats.timeout_count == 1


def test_the_caller_s_own_timeout_error_is_a_plain_failure() -> None:
    breaker = CircuitBreaker("own-timeout", request_timeout=30)

    async def own() -> None:
        raise TimeoutError("mine")

    with pytest.raises(TimeoutError, match="mine") as info:
        asyncio.run(breaker.call_async(own))
    assert not isinstance(info.value, CircuitBreakerTimeoutError)
    stats = breaker.stats
    assert (stats.timeout_count, stats.failure_count) == (0, 1)


def test_a_call_within_the_timeout_succeeds() -> None:
    breaker = CircuitBreaker("in-time", request_timeout=30)
    assert asyncio.run(breaker.call_async(ok, 2)) == 2
    assert breaker.stats.timeout_count == 0


def test_cancellation_is_not_a_failure_and_hands_the_trial_back(clock: ManualClock) -> None:
    breaker = CircuitBreaker("cancel", failure_threshold=1, recovery_timeout=1, clock=clock)
    with pytest.raises(Boom):
        asyncio.run(breaker.call_async(fail))
    clock.advance(1)

    async def main() -> None:
        started = asyncio.Event()

        async def hang() -> None:
            started.set()
            await asyncio.sleep(60)

        task = asyncio.ensure_future(breaker.call_async(hang))
        await started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert breaker.stats.failure_count == 1
    assert breaker.state is CircuitState.HALF_OPEN
    assert asyncio.run(breaker.call_async(ok, 1)) == 1  # the trial slot was handed back


def test_async_with_records_and_refuses() -> None:
    breaker = CircuitBreaker("async-with", failure_threshold=1)

    async def main() -> None:
        async with breaker:
            await asyncio.sleep(0)
        with pytest.raises(Boom):
            async with breaker:
                raise Boom()
        with pytest.raises(CircuitBreakerOpenError):
            async with breaker:
                pytest.fail("the block ran while open")

    asyncio.run(main())
    stats = breaker.stats
    assert (stats.success_count, stats.failure_count, stats.rejected_count) == (1, 1, 1)


def test_concurrent_tasks_keep_their_own_with_permits() -> None:
    breaker = CircuitBreaker("tasks", failure_threshold=1000)

    async def one(i: int) -> None:
        async with breaker:
            await asyncio.sleep(0)
            if i % 2:
                raise Boom()

    async def main() -> None:
        results = await asyncio.gather(*(one(i) for i in range(100)), return_exceptions=True)
        assert sum(isinstance(r, Boom) for r in results) == 50

    asyncio.run(main())
    stats = breaker.stats
    assert (stats.success_count, stats.failure_count) == (50, 50)


def test_listeners_hear_async_calls() -> None:
    events: List[Any] = []

    class Recorder:
        def before_call(self, cb: CircuitBreaker, func: Any, *args: Any, **kwargs: Any) -> None:
            events.append(("before", args, kwargs))

        def success(self, cb: CircuitBreaker) -> None:
            events.append(("success",))

        def failure(self, cb: CircuitBreaker, exc: BaseException) -> None:
            events.append(("failure", type(exc).__name__))

        def state_change(self, cb: CircuitBreaker, old: CircuitState, new: CircuitState) -> None:
            events.append(("state", old.value, new.value))

    breaker = CircuitBreaker("async-listeners", failure_threshold=1, listeners=[Recorder()])

    @breaker
    async def call(x: int) -> int:
        if x < 0:
            raise Boom()
        return x

    async def main() -> None:
        assert await call(1) == 1
        with pytest.raises(Boom):
            await breaker.call_async(call.__wrapped__, -1)  # type: ignore[attr-defined]

    asyncio.run(main())
    assert events == [
        ("before", (1,), {}),
        ("success",),
        ("before", (-1,), {}),
        ("state", "CLOSED", "OPEN"),
        ("failure", "Boom"),
    ]


def test_listeners_hear_async_timeouts() -> None:
    failures: List[BaseException] = []

    class Recorder:
        def failure(self, cb: CircuitBreaker, exc: BaseException) -> None:
            failures.append(exc)

    breaker = CircuitBreaker("async-timeout-listener", request_timeout=0.01, listeners=[Recorder()])

    async def hang() -> None:
        await asyncio.sleep(60)

    with pytest.raises(CircuitBreakerTimeoutError):
        asyncio.run(breaker.call_async(hang))
    assert len(failures) == 1 and isinstance(failures[0], CircuitBreakerTimeoutError)


def test_async_with_enforces_request_timeout() -> None:
    breaker = CircuitBreaker("async-with-timeout", request_timeout=0.01)

    async def main() -> None:
        async with breaker:
            await asyncio.sleep(0)
        with pytest.raises(CircuitBreakerTimeoutError):
            async with breaker:
                await asyncio.sleep(60)
        with pytest.raises(Boom):
            async with breaker:
                raise Boom()

    asyncio.run(main())
    stats = breaker.stats
    assert (stats.success_count, stats.failure_count, stats.timeout_count) == (1, 2, 1)


def test_async_with_hands_the_permit_back_when_its_deadline_cannot_be_set(clock: ManualClock) -> None:
    # A deadline past the clock's 2^62 ns cannot be set: the block does not run.
    clock.set(1e9)
    breaker = CircuitBreaker("aw-no-deadline", request_timeout=4e9, clock=clock, success_threshold=1)
    breaker.half_open()

    async def main() -> None:
        async with breaker:
            pytest.fail("the block ran")

    with pytest.raises(ValueError, match="2\\^62"):
        asyncio.run(main())
    assert breaker.stats.total_requests == 0
    assert breaker.call(lambda: "trial") == "trial", "the trial slot was handed back"
    assert breaker.state is CircuitState.CLOSED


def test_on_a_manual_clock_the_timeout_is_the_clocks_no_sleeping(clock: ManualClock) -> None:
    # The deadline is a timer on the clock (as in Node): the call times out when the test
    # moves the clock past it, and not before, however long it really waits.
    breaker = CircuitBreaker("clock-timeout", request_timeout=10.0, clock=clock)
    cancelled: List[bool] = []

    async def hang() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    async def main() -> None:
        call = asyncio.ensure_future(breaker.call_async(hang))
        await asyncio.sleep(0.02)
        assert not call.done(), "real time does not count"
        clock.advance(9.9)
        await asyncio.sleep(0)
        assert not call.done()
        clock.advance(0.2)
        # At once (wait_for's own TimeoutError is not a CircuitBreakerTimeoutError).
        with pytest.raises(CircuitBreakerTimeoutError):
            await asyncio.wait_for(call, 5)

        async def block() -> None:
            async with breaker:
                clock.advance(11)
                await asyncio.sleep(3600)

        # async with: the same deadline.
        with pytest.raises(CircuitBreakerTimeoutError):
            await asyncio.wait_for(block(), 5)

    asyncio.run(main())
    assert len(cancelled) == 1
    assert breaker.stats.timeout_count == 2


def test_a_call_that_moves_the_clock_past_its_deadline_and_returns_keeps_its_value(clock: ManualClock) -> None:
    # The clock's timer fires inside the call; the call has ended before the loop runs
    # the expiry: it is not cancelled later (a task cancelled after the block has left).
    breaker = CircuitBreaker("clock-overrun", request_timeout=1.0, clock=clock)

    async def slow() -> str:
        clock.advance(2)
        return "slow"

    async def main() -> str:
        value = await breaker.call_async(slow)
        await asyncio.sleep(0.01)
        return value

    assert asyncio.run(main()) == "slow"
    assert breaker.stats.timeout_count == 1, "judged on the clock, as a sync overrun is"
