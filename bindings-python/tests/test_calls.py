"""Sync calls: call(), the decorator, with-blocks, fallback, exclude, listeners,
stats, manual control, snapshots, permits."""

from __future__ import annotations

import dataclasses
import inspect
import logging
import sys
import time
from typing import Any, List, Tuple

import pytest

import tripwire
from tripwire import (
    CircuitBreaker,
    CircuitBreakerError,
    CircuitBreakerListener,
    CircuitBreakerOpenError,
    CircuitBreakerTimeoutError,
    CircuitState,
    ManualClock,
    Transition,
)


class Boom(Exception):
    pass


def boom(*args: Any, **kwargs: Any) -> Any:
    raise Boom("boom")


def trip(breaker: CircuitBreaker, n: int = 1) -> Boom:
    """Fails n calls; returns the last error raised."""
    error = None
    for _ in range(n):
        with pytest.raises(Boom) as info:
            breaker.call(boom)
        error = info.value
    assert error is not None
    return error


def test_call_passes_arguments_and_returns_the_result() -> None:
    breaker = CircuitBreaker("call")
    assert breaker.call(lambda a, b=0, *, c: (a, b, c), 1, c=3) == (1, 0, 3)
    assert breaker.stats.success_count == 1


def test_the_caller_s_exception_propagates_unchanged(clock: ManualClock) -> None:
    breaker = CircuitBreaker("propagate", failure_threshold=1, clock=clock)
    error = Boom("mine")

    def fail() -> None:
        raise error

    with pytest.raises(Boom) as info:
        breaker.call(fail)
    # On the trip itself the original exception propagates, not a breaker error.
    assert info.value is error
    assert breaker.state is CircuitState.OPEN


def test_an_open_breaker_refuses_with_the_tripping_failure_as_cause(clock: ManualClock) -> None:
    breaker = CircuitBreaker("refuse", failure_threshold=2, recovery_timeout=30, clock=clock)
    trip(breaker)
    last = trip(breaker)
    ran: List[int] = []
    clock.advance(10)
    with pytest.raises(CircuitBreakerOpenError) as info:
        breaker.call(ran.append, 1)
    assert ran == []
    error = info.value
    assert isinstance(error, CircuitBreakerError) and isinstance(error, Exception)
    assert error.name == "refuse"
    assert error.state is CircuitState.OPEN
    assert error.retry_after == pytest.approx(20.0)
    assert error.__cause__ is last
    assert "refuse" in str(error) and "OPEN" in str(error)
    assert breaker.stats.rejected_count == 1


def test_a_forced_open_breaker_has_no_retry_after() -> None:
    breaker = CircuitBreaker("forced")
    assert breaker.open() == Transition(CircuitState.CLOSED, CircuitState.OPEN)
    with pytest.raises(CircuitBreakerOpenError) as info:
        breaker.call(lambda: None)
    assert info.value.retry_after is None
    assert info.value.state == "OPEN"
    assert breaker.stats.forced_open


def test_half_open_admits_one_trial_then_refuses_with_half_open(clock: ManualClock) -> None:
    breaker = CircuitBreaker("half", failure_threshold=1, recovery_timeout=5, clock=clock)
    trip(breaker)
    clock.advance(5)
    # The effective state is HALF_OPEN before any call.
    assert breaker.state is CircuitState.HALF_OPEN
    trial = breaker.acquire()
    assert trial.is_trial
    assert trial.transition == Transition(CircuitState.OPEN, CircuitState.HALF_OPEN)
    with pytest.raises(CircuitBreakerOpenError) as info:
        breaker.call(lambda: None)
    assert info.value.state is CircuitState.HALF_OPEN
    trial.success()
    breaker.call(lambda: None)  # success_threshold=2 (default): second success closes
    assert breaker.state is CircuitState.CLOSED


def test_a_failed_trial_reopens(clock: ManualClock) -> None:
    breaker = CircuitBreaker("reopen", failure_threshold=1, recovery_timeout=5, clock=clock)
    trip(breaker)
    clock.advance(5)
    trip(breaker)
    assert breaker.state is CircuitState.OPEN


def test_exceptions_hierarchy() -> None:
    assert issubclass(CircuitBreakerOpenError, CircuitBreakerError)
    assert issubclass(CircuitBreakerError, Exception)
    assert issubclass(CircuitBreakerTimeoutError, TimeoutError)
    assert not issubclass(CircuitBreakerTimeoutError, CircuitBreakerError)
    error = CircuitBreakerOpenError("svc", CircuitState.OPEN, 1.5)
    assert (error.name, error.state, error.retry_after) == ("svc", CircuitState.OPEN, 1.5)
    with pytest.raises(CircuitBreakerError):
        raise error
    import pickle

    raised = CircuitBreaker("pickled")
    raised.open()
    with pytest.raises(CircuitBreakerOpenError) as info:
        raised.call(lambda: None)
    for original in (error, info.value, CircuitBreakerTimeoutError("svc", 2.0)):
        copy = pickle.loads(pickle.dumps(original))
        assert type(copy) is type(original) and str(copy) == str(original)
    timeout = CircuitBreakerTimeoutError("svc", 2.0)
    assert (timeout.name, timeout.timeout) == ("svc", 2.0)
    assert "2.0" in str(timeout)


class TestFallback:
    def test_answers_a_refusal_with_the_call_s_arguments(self) -> None:
        seen: List[Tuple[Any, ...]] = []
        breaker = CircuitBreaker("fb", fallback=lambda *a, **k: seen.append((a, k)) or "fallback")
        breaker.open()
        assert breaker.call(lambda x, y: x + y, 1, y=2) == "fallback"
        assert seen == [((1,), {"y": 2})]

    def test_answers_a_failure_which_is_still_counted(self) -> None:
        breaker = CircuitBreaker("fb-fail", fallback=lambda: "fallback")
        assert breaker.call(boom) == "fallback"
        assert breaker.stats.failure_count == 1

    def test_does_not_answer_excluded_errors(self) -> None:
        breaker = CircuitBreaker("fb-excl", fallback=lambda: "fallback", exclude=[Boom])
        with pytest.raises(Boom):
            breaker.call(boom)

    def test_an_exception_in_the_fallback_propagates(self) -> None:
        breaker = CircuitBreaker("fb-raise", fallback=boom)
        breaker.open()
        with pytest.raises(Boom):
            breaker.call(lambda: 1)


class TestExclude:
    def test_excluded_types_propagate_and_are_not_counted(self) -> None:
        breaker = CircuitBreaker("ex", failure_threshold=1, exclude=[KeyError, LookupError])
        with pytest.raises(KeyError):
            breaker.call(lambda: {}["x"])
        with pytest.raises(IndexError):  # a LookupError
            breaker.call(lambda: [][0])
        stats = breaker.stats
        assert (stats.failure_count, stats.success_count, stats.total_requests) == (0, 0, 0)
        assert stats.ignored_count == 2
        assert breaker.state is CircuitState.CLOSED

    def test_a_single_type_is_accepted(self) -> None:
        breaker = CircuitBreaker("ex1", failure_threshold=1, exclude=Boom)
        with pytest.raises(Boom):
            breaker.call(boom)
        assert breaker.state is CircuitState.CLOSED

    def test_predicates_see_the_exception(self) -> None:
        breaker = CircuitBreaker(
            "ex-pred", failure_threshold=1, exclude=[lambda e: isinstance(e, Boom) and "ok" in str(e)]
        )

        def fail(message: str) -> None:
            raise Boom(message)

        with pytest.raises(Boom):
            breaker.call(fail, "ok")
        assert breaker.state is CircuitState.CLOSED
        with pytest.raises(Boom):
            breaker.call(fail, "bad")
        assert breaker.state is CircuitState.OPEN

    def test_a_raising_predicate_does_not_exclude(self, monkeypatch: pytest.MonkeyPatch) -> None:
        reported: List[Any] = []
        monkeypatch.setattr(sys, "unraisablehook", reported.append)

        def predicate(exc: BaseException) -> bool:
            raise RuntimeError("bad predicate")

        breaker = CircuitBreaker("ex-raise", failure_threshold=1, exclude=[predicate])
        with pytest.raises(Boom):
            breaker.call(boom)
        assert breaker.state is CircuitState.OPEN
        assert len(reported) == 1 and isinstance(reported[0].exc_value, RuntimeError)

    @pytest.mark.parametrize("error", [KeyboardInterrupt, SystemExit, GeneratorExit])
    def test_base_exceptions_are_never_failures(self, clock: ManualClock, error: type) -> None:
        breaker = CircuitBreaker("base", failure_threshold=1, recovery_timeout=1, clock=clock)

        def interrupt() -> None:
            raise error()

        with pytest.raises(error):
            breaker.call(interrupt)
        assert breaker.state is CircuitState.CLOSED
        assert breaker.stats.failure_count == 0
        # In half-open, the trial slot is handed back.
        trip(breaker)
        clock.advance(1)
        with pytest.raises(error):
            breaker.call(interrupt)
        assert breaker.call(lambda: "trial") == "trial"


class TestDecorator:
    def test_keeps_name_doc_wrapped_and_signature(self) -> None:
        breaker = CircuitBreaker("deco")

        def add(a: int, b: int = 2) -> int:
            """Adds."""
            return a + b

        guarded = breaker(add)
        assert guarded(1) == 3 and guarded(1, b=5) == 6
        assert guarded.__name__ == "add"
        assert guarded.__doc__ == "Adds."
        assert guarded.__wrapped__ is add  # type: ignore[attr-defined]
        assert inspect.signature(guarded) == inspect.signature(add)
        assert not inspect.iscoroutinefunction(guarded)
        assert breaker.stats.success_count == 2

    def test_counts_failures_and_refuses(self) -> None:
        breaker = CircuitBreaker("deco-fail", failure_threshold=1)

        @breaker
        def fail() -> None:
            raise Boom()

        with pytest.raises(Boom):
            fail()
        with pytest.raises(CircuitBreakerOpenError):
            fail()

    def test_decorates_methods(self) -> None:
        breaker = CircuitBreaker("deco-method")

        class Client:
            def __init__(self) -> None:
                self.base = 10

            @breaker
            def get(self, x: int) -> int:
                return self.base + x

        assert Client().get(5) == 15
        assert Client.get.__name__ == "get"
        assert breaker.stats.success_count == 1


class TestWith:
    def test_records_success_and_failure(self, clock: ManualClock) -> None:
        breaker = CircuitBreaker("with", failure_threshold=2, clock=clock)
        with breaker:
            pass
        with pytest.raises(Boom):
            with breaker:
                raise Boom()
        stats = breaker.stats
        assert (stats.success_count, stats.failure_count) == (1, 1)

    def test_refuses_when_open_without_running_the_block(self) -> None:
        breaker = CircuitBreaker("with-open")
        breaker.open()
        ran = False
        with pytest.raises(CircuitBreakerOpenError):
            with breaker:
                ran = True
        assert not ran

    def test_nests_and_excludes(self) -> None:
        breaker = CircuitBreaker("with-nest", exclude=[KeyError])
        with breaker:
            with pytest.raises(KeyError):
                with breaker:
                    raise KeyError("x")
        stats = breaker.stats
        assert (stats.success_count, stats.ignored_count) == (1, 1)

    def test_two_breakers_nest(self) -> None:
        outer, inner = CircuitBreaker("outer"), CircuitBreaker("inner")
        with pytest.raises(Boom):
            with outer:
                with inner:
                    pass
                raise Boom()
        assert (outer.stats.failure_count, inner.stats.success_count) == (1, 1)

    def test_exit_without_enter_is_an_error(self) -> None:
        breaker = CircuitBreaker("with-exit")
        with pytest.raises(RuntimeError):
            breaker.__exit__(None, None, None)


def test_a_sync_call_that_overruns_the_timeout_is_a_timeout_but_returns(clock: ManualClock) -> None:
    breaker = CircuitBreaker("sync-timeout", request_timeout=1.0, failure_threshold=1, clock=clock)

    def slow() -> str:
        clock.advance(1.5)
        return "late"

    assert breaker.call(slow) == "late"
    stats = breaker.stats
    assert (stats.timeout_count, stats.failure_count, stats.success_count) == (1, 1, 0)
    assert breaker.state is CircuitState.OPEN


def test_slow_calls_count_as_failures_and_as_slow(clock: ManualClock) -> None:
    breaker = CircuitBreaker("slow", slow_call_duration=0.5, failure_threshold=2, clock=clock)

    def slow() -> str:
        clock.advance(0.6)
        return "ok"

    assert breaker.call(slow) == "ok"
    assert breaker.call(slow) == "ok"
    stats = breaker.stats
    assert stats.slow_call_count == 2
    assert breaker.state is CircuitState.OPEN


class TestListeners:
    def test_on_state_change_gets_circuit_states(self, clock: ManualClock) -> None:
        changes: List[Tuple[CircuitState, CircuitState]] = []
        breaker = CircuitBreaker(
            "osc",
            failure_threshold=1,
            recovery_timeout=1,
            success_threshold=1,
            clock=clock,
            on_state_change=lambda old, new: changes.append((old, new)),
        )
        trip(breaker)
        clock.advance(1)
        breaker.call(lambda: None)
        breaker.reset()  # CLOSED -> CLOSED: not a change
        breaker.open()
        assert changes == [
            (CircuitState.CLOSED, CircuitState.OPEN),
            (CircuitState.OPEN, CircuitState.HALF_OPEN),
            (CircuitState.HALF_OPEN, CircuitState.CLOSED),
            (CircuitState.CLOSED, CircuitState.OPEN),
        ]
        assert all(isinstance(s, CircuitState) for pair in changes for s in pair)

    def test_listener_objects_in_pybreaker_s_shape(self) -> None:
        events: List[Any] = []

        class Recorder(CircuitBreakerListener):
            def before_call(self, cb: CircuitBreaker, func: Any, *args: Any, **kwargs: Any) -> None:
                events.append(("before", cb.name, args, kwargs))

            def success(self, cb: CircuitBreaker) -> None:
                events.append(("success",))

            def failure(self, cb: CircuitBreaker, exc: BaseException) -> None:
                events.append(("failure", type(exc).__name__))

            def state_change(self, cb: CircuitBreaker, old: CircuitState, new: CircuitState) -> None:
                events.append(("state", old.value, new.value))

        breaker = CircuitBreaker("lst", failure_threshold=1, listeners=[Recorder()])
        breaker.call(lambda x, k=None: x, 1, k=2)
        with pytest.raises(Boom):
            breaker.call(boom)
        assert events == [
            ("before", "lst", (1,), {"k": 2}),
            ("success",),
            ("before", "lst", (), {}),
            ("state", "CLOSED", "OPEN"),
            ("failure", "Boom"),
        ]

    def test_a_raising_listener_is_logged_and_never_breaks_the_call(self, caplog: pytest.LogCaptureFixture) -> None:
        class Broken:
            def before_call(self, *args: Any, **kwargs: Any) -> None:
                raise RuntimeError("before")

            def success(self, cb: CircuitBreaker) -> None:
                raise RuntimeError("success")

            def state_change(self, *args: Any) -> None:
                raise RuntimeError("state")

        def broken_callback(old: CircuitState, new: CircuitState) -> None:
            raise RuntimeError("callback")

        breaker = CircuitBreaker("broken", listeners=[Broken()], on_state_change=broken_callback)
        with caplog.at_level(logging.ERROR, logger="tripwire"):
            assert breaker.call(lambda: 7) == 7
            breaker.open()
        messages = [r.getMessage() for r in caplog.records]
        assert len(messages) == 4, messages
        assert all(r.exc_info is not None for r in caplog.records)

    def test_add_and_remove_listener(self) -> None:
        calls: List[str] = []

        class Counter:
            def success(self, cb: CircuitBreaker) -> None:
                calls.append(cb.name)

        breaker = CircuitBreaker("addrm")
        listener = Counter()
        breaker.call(lambda: None)
        breaker.add_listener(listener)
        assert breaker.listeners == (listener,)
        breaker.call(lambda: None)
        breaker.remove_listener(listener)
        breaker.call(lambda: None)
        assert calls == ["addrm"]


class TestStats:
    def test_fields_and_frozen(self, clock: ManualClock) -> None:
        clock.set(100.0)
        breaker = CircuitBreaker("stats", failure_threshold=2, recovery_timeout=10, exclude=[KeyError], clock=clock)

        def work() -> None:
            clock.advance(0.5)

        breaker.call(work)
        with pytest.raises(KeyError):
            breaker.call(lambda: {}["x"])
        clock.advance(1)
        trip(breaker)
        assert breaker.stats.consecutive_failures == 1
        assert breaker.stats.failure_rate == pytest.approx(0.5)
        trip(breaker)
        with pytest.raises(CircuitBreakerOpenError):
            breaker.call(work)
        stats = breaker.stats
        assert stats.state is CircuitState.OPEN
        assert (stats.success_count, stats.failure_count, stats.total_requests) == (1, 2, 3)
        assert (stats.rejected_count, stats.ignored_count, stats.timeout_count) == (1, 1, 0)
        assert stats.last_success_time == pytest.approx(100.5)
        assert stats.last_failure_time == pytest.approx(101.5)
        assert stats.next_attempt_time == pytest.approx(111.5)
        assert stats.average_response_time == pytest.approx(0.5 / 3)
        assert stats.latency_p99 is not None and stats.latency_p99 == pytest.approx(0.5, rel=0.13)
        with pytest.raises(dataclasses.FrozenInstanceError):
            stats.failure_count = 0  # type: ignore[misc]

    def test_times_are_epoch_seconds_with_the_real_clock(self) -> None:
        breaker = CircuitBreaker("epoch")
        before = time.time()
        breaker.call(lambda: None)
        after = time.time()
        stamp = breaker.stats.last_success_time
        assert stamp is not None
        assert before - 1 <= stamp <= after + 1
        assert breaker.stats.last_failure_time is None


class TestManualControl:
    def test_close_keeps_totals_and_reset_clears_them(self) -> None:
        breaker = CircuitBreaker("manual", failure_threshold=1)
        trip(breaker)
        assert breaker.close() == Transition(CircuitState.OPEN, CircuitState.CLOSED)
        assert breaker.stats.failure_count == 1
        assert breaker.reset() == Transition(CircuitState.CLOSED, CircuitState.CLOSED)
        assert breaker.stats.failure_count == 0

    def test_disable_permits_and_counts_until_enable(self) -> None:
        breaker = CircuitBreaker("disabled", failure_threshold=1)
        breaker.disable()
        trip(breaker, 3)
        assert breaker.state is CircuitState.CLOSED
        assert breaker.stats.disabled and breaker.stats.failure_count == 3
        breaker.enable()
        trip(breaker)
        assert breaker.state is CircuitState.OPEN


class TestPermits:
    def test_a_permit_ends_once(self) -> None:
        breaker = CircuitBreaker("permit")
        permit = breaker.acquire()
        assert permit.success() is None
        with pytest.raises(RuntimeError):
            permit.failure()
        assert breaker.stats.success_count == 1

    def test_a_dropped_permit_hands_its_trial_back(self, clock: ManualClock) -> None:
        breaker = CircuitBreaker("dropped", failure_threshold=1, recovery_timeout=1, clock=clock)
        trip(breaker)
        clock.advance(1)
        permit = breaker.acquire()
        with pytest.raises(CircuitBreakerOpenError):
            breaker.acquire()
        del permit
        breaker.acquire().success()
        assert breaker.stats.ignored_count == 1


class TestSnapshot:
    def test_round_trip_to_a_new_breaker(self, clock: ManualClock) -> None:
        breaker = CircuitBreaker("snap", failure_threshold=2, recovery_timeout=10, clock=clock)
        trip(breaker, 2)
        snapshot = breaker.snapshot()
        assert isinstance(snapshot, dict)
        clock.advance(4)
        warm = CircuitBreaker("snap-warm", failure_threshold=2, recovery_timeout=10, clock=clock)
        warm.restore(snapshot)
        assert warm.state is CircuitState.OPEN
        assert warm.stats.failure_count == 2
        with pytest.raises(CircuitBreakerOpenError) as info:
            warm.call(lambda: None)
        assert info.value.retry_after == pytest.approx(10.0)

    @pytest.mark.parametrize("garbage", [{}, {"version": 99}, [], "x", {"version": 1, "state": "NOPE"}])
    def test_garbage_is_a_value_error(self, garbage: Any) -> None:
        with pytest.raises(ValueError, match="snapshot"):
            CircuitBreaker("garbage").restore(garbage)


def test_version_matches_the_distribution() -> None:
    import importlib.metadata

    assert tripwire.__version__ == importlib.metadata.version("tripwire")


def test_a_replaced_breaker_is_collected_with_the_failure_it_kept() -> None:
    import gc
    import weakref

    breaker = CircuitBreaker("collected", failure_threshold=1)

    def fail() -> None:
        me = breaker  # the traceback's frame refers back to the breaker
        raise Boom(me.name)

    with pytest.raises(Boom):
        breaker.call(fail)
    ref = weakref.ref(breaker)
    CircuitBreaker("collected")  # replaces it in the registry
    del breaker, fail
    gc.collect()
    assert ref() is None
