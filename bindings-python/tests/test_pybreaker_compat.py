"""``tripwire.pybreaker``: pybreaker 1.4.1's API over tripwire's engine, every behaviour
pybreaker's README describes, through the installed package.

Open durations are real seconds here (pybreaker's constructor takes no clock): a test
that waits for one sleeps longer than it, and the open ones are 60 s long.
"""

from __future__ import annotations

import asyncio
import copy
import gc
import pickle
import threading
import time
import traceback
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Generator, Iterator, List

import pytest

import tripwire
import tripwire.pybreaker as pybreaker
from tripwire.pybreaker import (
    STATE_CLOSED,
    STATE_HALF_OPEN,
    STATE_OPEN,
    CircuitBreaker,
    CircuitBreakerError,
    CircuitBreakerListener,
    CircuitMemoryStorage,
)

SHORT = 0.02  # an open duration to wait out: sleep(2 * SHORT)


class Down(Exception):
    pass


class Invalid(ValueError):
    pass


def down() -> None:
    raise Down("upstream down")


def fail(breaker: CircuitBreaker, times: int = 1) -> None:
    for _ in range(times):
        with pytest.raises(Down):
            breaker.call(down)


def tripped(breaker: CircuitBreaker) -> CircuitBreakerError:
    with pytest.raises(CircuitBreakerError) as info:
        breaker.call(down)
    return info.value


class Recorder(CircuitBreakerListener):
    """Every hook, in order."""

    def __init__(self) -> None:
        self.events: List[str] = []

    def before_call(self, cb: CircuitBreaker, func: Any, *args: Any, **kwargs: Any) -> None:
        assert isinstance(cb, CircuitBreaker)
        self.events.append(f"before{args}")

    def success(self, cb: CircuitBreaker) -> None:
        self.events.append("success")

    def failure(self, cb: CircuitBreaker, exc: BaseException) -> None:
        self.events.append(f"failure:{type(exc).__name__}")

    def state_change(self, cb: CircuitBreaker, old_state: Any, new_state: Any) -> None:
        self.events.append(f"{old_state.name}->{new_state.name}")


# -- the README's usage ---------------------------------------------------------


def test_module_names_are_pybreakers() -> None:
    for name in ("CircuitBreaker", "CircuitBreakerListener", "CircuitBreakerError", "CircuitMemoryStorage", "CircuitRedisStorage"):
        assert name in pybreaker.__all__
    assert (STATE_OPEN, STATE_CLOSED, STATE_HALF_OPEN) == ("open", "closed", "half-open")
    breaker = CircuitBreaker()
    assert (breaker.fail_max, breaker.reset_timeout, breaker.success_threshold) == (5, 60, 1)
    assert breaker.current_state == "closed" and breaker.fail_counter == 0 and breaker.success_counter == 0
    assert breaker.excluded_exceptions == () and breaker.listeners == () and breaker.name is None


def test_opens_after_fail_max_consecutive_failures_with_circuit_breaker_error() -> None:
    breaker = CircuitBreaker(fail_max=3, reset_timeout=60)
    fail(breaker, 2)
    assert breaker.current_state == "closed" and breaker.fail_counter == 2
    assert breaker.call(lambda: "ok") == "ok"
    assert breaker.fail_counter == 0, "a success ends the streak"
    fail(breaker, 2)
    error = tripped(breaker)
    assert str(error) == "Failures threshold reached, circuit breaker opened"
    assert isinstance(error.__cause__, Down)
    assert "Down: upstream down" in "".join(traceback.format_exception(type(error), error, error.__traceback__))
    assert breaker.current_state == "open" and breaker.fail_counter == 3


def test_an_open_circuit_refuses_without_calling() -> None:
    breaker = CircuitBreaker(fail_max=1, reset_timeout=60)
    tripped(breaker)
    calls: List[int] = []
    with pytest.raises(CircuitBreakerError) as info:
        breaker.call(lambda: calls.append(1))
    assert calls == []
    assert str(info.value) == "Timeout not elapsed yet, circuit breaker still open"
    # Also tripwire's refusal, with its fields.
    assert isinstance(info.value, tripwire.CircuitBreakerOpenError)
    assert info.value.state is tripwire.CircuitState.OPEN
    assert info.value.retry_after is not None and 0 < info.value.retry_after <= 60
    assert breaker.fail_counter == 1


def test_errors_have_pybreakers_args_and_repr_and_keep_their_fields() -> None:
    breaker = CircuitBreaker(fail_max=1, reset_timeout=60, name="svc")
    trip = tripped(breaker)
    with pytest.raises(CircuitBreakerError) as info:
        breaker.call(lambda: None)
    refused = info.value
    for error, message in [
        (trip, "Failures threshold reached, circuit breaker opened"),
        (refused, "Timeout not elapsed yet, circuit breaker still open"),
    ]:
        assert error.args == (message,)
        assert repr(error) == f"CircuitBreakerError({message!r})"
        for same in (error, pickle.loads(pickle.dumps(error)), copy.copy(error)):
            assert type(same) is CircuitBreakerError and str(same) == message
            assert same.name == "svc" and same.state is tripwire.CircuitState.OPEN
            assert same.retry_after is not None and 0 < same.retry_after <= 60
    by_hand = CircuitBreakerError("message")
    assert by_hand.args == ("message",) and str(by_hand) == "message" and repr(by_hand) == "CircuitBreakerError('message')"
    assert by_hand.name == "" and by_hand.retry_after is None and str(CircuitBreakerError()) == ""


def test_throw_new_error_on_trip_false_raises_the_original_error() -> None:
    breaker = CircuitBreaker(fail_max=2, throw_new_error_on_trip=False)
    fail(breaker, 2)
    assert breaker.current_state == "open"
    with pytest.raises(CircuitBreakerError):
        breaker.call(down)
    assert breaker.fail_counter == 2


def test_after_reset_timeout_a_trial_success_closes() -> None:
    breaker = CircuitBreaker(fail_max=1, reset_timeout=SHORT)
    tripped(breaker)
    time.sleep(2 * SHORT)
    assert breaker.call(lambda: 7) == 7
    assert breaker.current_state == "closed" and breaker.fail_counter == 0


def test_after_reset_timeout_a_trial_failure_opens_again() -> None:
    breaker = CircuitBreaker(fail_max=2, reset_timeout=SHORT)
    fail(breaker)
    tripped(breaker)
    time.sleep(2 * SHORT)
    error = tripped(breaker)
    assert str(error) == "Trial call failed, circuit breaker opened"
    assert breaker.current_state == "open"
    assert breaker.fail_counter == 3, "fail_max + 1 after a failed trial"


def test_success_threshold_needs_that_many_trial_successes() -> None:
    breaker = CircuitBreaker(fail_max=1, reset_timeout=SHORT, success_threshold=3)
    tripped(breaker)
    time.sleep(2 * SHORT)
    for expected in (1, 2):
        assert breaker.call(lambda: True)
        assert breaker.current_state == "half-open" and breaker.success_counter == expected
    assert breaker.call(lambda: True)
    assert breaker.current_state == "closed" and breaker.success_counter == 0
    # A failure while half-open opens again and forgets the successes.
    breaker.half_open()
    assert breaker.call(lambda: True) and breaker.success_counter == 1
    tripped(breaker)
    assert breaker.current_state == "open" and breaker.success_counter == 0


# -- excluded exceptions ------------------------------------------------------


def test_excluded_types_and_their_subclasses_count_as_successes() -> None:
    breaker = CircuitBreaker(exclude=[LookupError])
    fail(breaker)
    assert breaker.fail_counter == 1
    with pytest.raises(KeyError):
        breaker.call(lambda: {}["missing"])
    assert breaker.fail_counter == 0
    breaker.half_open()
    with pytest.raises(LookupError):
        breaker.call(lambda: [][1])
    assert breaker.current_state == "closed", "an excluded error is a successful trial"


def test_excluded_callables_and_types_mix() -> None:
    class HTTPError(Exception):
        def __init__(self, status_code: int) -> None:
            self.status_code = status_code

    def raise_status(code: int) -> None:
        raise HTTPError(code)

    breaker = CircuitBreaker(exclude=[lambda e: type(e) == HTTPError and e.status_code < 500, Invalid])
    with pytest.raises(HTTPError):
        breaker.call(raise_status, 503)
    assert breaker.fail_counter == 1
    with pytest.raises(HTTPError):
        breaker.call(raise_status, 404)
    assert breaker.fail_counter == 0
    fail(breaker)
    with pytest.raises(Invalid):
        breaker.call(lambda: (_ for _ in ()).throw(Invalid()))
    assert breaker.fail_counter == 0
    assert breaker.is_system_error(Down()) and not breaker.is_system_error(Invalid())


def test_exclusions_added_and_removed_later_apply_at_once() -> None:
    breaker = CircuitBreaker()
    breaker.add_excluded_exception(Down)
    breaker.add_excluded_exceptions(Invalid, KeyError)
    assert breaker.excluded_exceptions == (Down, Invalid, KeyError)
    fail(breaker)
    assert breaker.fail_counter == 0
    breaker.remove_excluded_exception(Down)
    fail(breaker)
    assert breaker.fail_counter == 1


def test_exclusions_that_match_nothing_are_kept_as_given() -> None:
    # pybreaker checks types with isinstance and skips what is not callable.
    breaker = CircuitBreaker(exclude=[int, "Down"])
    fail(breaker)
    assert breaker.fail_counter == 1
    breaker.add_excluded_exception(Down)
    assert breaker.excluded_exceptions == (int, "Down", Down)
    fail(breaker)
    assert breaker.fail_counter == 0
    with pytest.raises(ValueError):
        breaker.remove_excluded_exception(Invalid)
    assert breaker.excluded_exceptions == (int, "Down", Down)


# -- listeners ----------------------------------------------------------------


def test_listener_hooks_in_pybreakers_order() -> None:
    rec = Recorder()
    breaker = CircuitBreaker(fail_max=2, reset_timeout=SHORT, listeners=[rec], exclude=[Invalid])
    breaker.call(lambda x: x, 1)
    fail(breaker)
    with pytest.raises(Invalid):
        breaker.call(lambda: (_ for _ in ()).throw(Invalid()))
    assert rec.events == ["before(1,)", "success", "before()", "failure:Down", "before()", "success"]
    rec.events.clear()
    fail(breaker)
    tripped(breaker)
    assert rec.events == ["before()", "failure:Down", "before()", "failure:Down", "closed->open"]
    rec.events.clear()
    with pytest.raises(CircuitBreakerError):
        breaker.call(down)
    assert rec.events == [], "a refused call tells no listener"
    time.sleep(2 * SHORT)
    assert breaker.call(lambda: 1) == 1
    assert rec.events == ["open->half-open", "before()", "half-open->closed", "success"]


def test_a_failure_listener_sees_the_state_before_the_change_it_causes() -> None:
    seen: List[str] = []

    class Watcher(CircuitBreakerListener):
        def failure(self, cb: CircuitBreaker, exc: BaseException) -> None:
            seen.append(f"{cb.current_state}/{cb.state.name}/{cb.fail_counter}")

        def state_change(self, cb: CircuitBreaker, old_state: Any, new_state: Any) -> None:
            seen.append(f"{old_state.name}->{new_state.name}")

    breaker = CircuitBreaker(fail_max=2, reset_timeout=60, listeners=[Watcher()])
    fail(breaker)
    tripped(breaker)
    assert seen == ["closed/closed/1", "closed/closed/2", "closed->open"]
    seen.clear()
    breaker.half_open()
    tripped(breaker)
    assert seen == ["open->half-open", "half-open/half-open/3", "half-open->open"]
    assert breaker.current_state == "open"


def test_manual_transitions_tell_the_listeners() -> None:
    rec = Recorder()
    breaker = CircuitBreaker(listeners=(rec,))
    breaker.open()
    breaker.half_open()
    breaker.close()
    assert rec.events == ["closed->open", "open->half-open", "half-open->closed"]


def test_add_and_remove_listeners() -> None:
    breaker = CircuitBreaker()
    first, second, third = Recorder(), Recorder(), Recorder()
    breaker.add_listener(first)
    breaker.add_listeners(second, third)
    assert breaker.listeners == (first, second, third)
    breaker.remove_listener(second)
    assert breaker.listeners == (first, third)
    breaker.call(lambda: None)
    assert first.events == third.events == ["before()", "success"] and second.events == []


def test_a_listener_that_raises_is_logged_and_the_call_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    class Broken(CircuitBreakerListener):
        def before_call(self, cb: CircuitBreaker, func: Any, *args: Any, **kwargs: Any) -> None:
            raise RuntimeError("listener bug")

    breaker = CircuitBreaker(listeners=[Broken()])
    assert breaker.call(lambda: 5) == 5
    assert "listener before_call raised" in caplog.text


def test_listeners_are_called_one_at_a_time() -> None:
    class Counting(CircuitBreakerListener):
        count = 0

        def success(self, cb: CircuitBreaker) -> None:
            seen = self.count
            time.sleep(0)  # let another thread in, if it could
            self.count = seen + 1

    listener = Counting()
    breaker = CircuitBreaker(listeners=[listener])
    threads = [threading.Thread(target=lambda: [breaker.call(lambda: None) for _ in range(300)]) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert listener.count == 1200


# -- ways to call -------------------------------------------------------------


def test_decorator_keeps_the_function_and_binds_methods() -> None:
    breaker = CircuitBreaker(fail_max=2)

    @breaker
    def update_customer(cust: str) -> str:
        "Docstring"
        return cust.upper()

    class Repo:
        @breaker
        def save(self, value: int) -> int:
            if value < 0:
                raise Down()
            return value

    assert update_customer("ann") == "ANN"
    assert (update_customer.__name__, update_customer.__doc__) == ("update_customer", "Docstring")
    assert Repo().save(3) == 3
    with pytest.raises(Down):
        Repo().save(-1)
    assert breaker.fail_counter == 1


def test_calling_context_manager() -> None:
    breaker = CircuitBreaker(fail_max=2, reset_timeout=SHORT)
    with breaker.calling():
        pass
    with pytest.raises(Down):
        with breaker.calling():
            raise Down()
    with pytest.raises(CircuitBreakerError):
        with breaker.calling():
            raise Down()
    ran: List[int] = []
    with pytest.raises(CircuitBreakerError):
        with breaker.calling():
            ran.append(1)
    assert ran == [] and breaker.current_state == "open"
    time.sleep(2 * SHORT)
    with breaker.calling():
        ran.append(2)
    assert ran == [2] and breaker.current_state == "closed" and breaker.fail_counter == 0


def test_generator_outcome_is_recorded_when_it_finishes() -> None:
    breaker = CircuitBreaker(fail_max=2)

    @breaker
    def rows(n: int) -> Generator[int, str, str]:
        for i in range(n):
            reply = yield i
            if reply == "boom":
                raise Down()
        return "done"

    ok = rows(2)
    assert next(ok) == 0 and breaker.stats.total_requests == 0, "not counted while it runs"
    bad = rows(3)
    next(bad)
    with pytest.raises(Down):
        bad.send("boom")
    assert breaker.fail_counter == 1
    assert ok.send("fine") == 1
    with pytest.raises(StopIteration) as stop:
        next(ok)
    assert stop.value.value == "done"
    assert breaker.fail_counter == 0 and breaker.stats.success_count == 1
    never = breaker.call(rows, 1)
    del never  # never iterated: handed back, not counted
    assert breaker.stats.total_requests == 2


def test_a_generator_that_trips_raises_circuit_breaker_error() -> None:
    breaker = CircuitBreaker(fail_max=1)

    def broken() -> Iterator[int]:
        yield 1
        raise Down()

    it = breaker.call(broken)
    assert next(it) == 1
    with pytest.raises(CircuitBreakerError, match="Failures threshold reached"):
        next(it)


def test_call_async_and_async_def_on_asyncio() -> None:
    breaker = CircuitBreaker(fail_max=2)

    async def fetch(x: int) -> int:
        await asyncio.sleep(0)
        return x * 2

    @breaker
    async def broken() -> None:
        raise Down()

    async def scenario() -> None:
        assert await breaker.call_async(fetch, 21) == 42
        with pytest.raises(Down):
            await broken()
        with pytest.raises(CircuitBreakerError, match="Failures threshold reached"):
            await broken()
        with pytest.raises(CircuitBreakerError, match="Timeout not elapsed"):
            await breaker.call_async(fetch, 1)

    asyncio.run(scenario())
    assert breaker.fail_counter == 2


def test_pybreaker_call_async_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    breaker = CircuitBreaker()

    async def fetch(x: int) -> int:
        return x

    monkeypatch.setattr(pybreaker, "HAS_TORNADO_SUPPORT", False)
    with pytest.raises(ImportError, match="tornado"):
        breaker(fetch, __pybreaker_call_async=True)
    # With Tornado present, the flag awaits what the function returns (a Tornado
    # future or any awaitable) through the breaker.
    monkeypatch.setattr(pybreaker, "HAS_TORNADO_SUPPORT", True)
    guarded = breaker(__pybreaker_call_async=True)(fetch)
    assert guarded.__name__ == "fetch"
    assert asyncio.run(guarded(9)) == 9
    assert breaker.stats.success_count == 1


# -- monitoring and management ------------------------------------------------


def test_open_is_timed_and_returns_throw_new_error_on_trip() -> None:
    breaker = CircuitBreaker(reset_timeout=SHORT, throw_new_error_on_trip=False)
    assert breaker.open() is False
    assert breaker.current_state == "open"
    assert breaker._state_storage.opened_at is not None
    time.sleep(2 * SHORT)
    assert breaker.current_state == "half-open", "a health check that calls open() recovers"
    assert breaker.call(lambda: 1) == 1 and breaker.current_state == "closed"


def test_half_open_and_close_by_hand() -> None:
    breaker = CircuitBreaker(fail_max=1)
    tripped(breaker)
    breaker.half_open()
    assert breaker.current_state == "half-open" and breaker.state.name == "half-open"
    breaker.close()
    assert breaker.current_state == "closed" and breaker.fail_counter == 0
    breaker.state = "open"
    assert isinstance(breaker.state, pybreaker.CircuitOpenState)


def test_setters_reconfigure_in_place() -> None:
    breaker = CircuitBreaker(fail_max=5, reset_timeout=60)
    fail(breaker, 2)
    breaker.fail_max = 3
    assert breaker.fail_max == 3
    tripped(breaker)
    assert breaker.fail_counter == 3, "the failures before the change still count"
    breaker.reset_timeout = SHORT
    breaker.success_threshold = 2
    assert (breaker.reset_timeout, breaker.success_threshold) == (SHORT, 2)
    breaker.open()
    time.sleep(2 * SHORT)
    breaker.call(lambda: None)
    assert breaker.current_state == "half-open" and breaker.success_counter == 1
    breaker.call(lambda: None)
    assert breaker.current_state == "closed"


@pytest.mark.parametrize(
    "kwargs, error, named",
    [
        ({"fail_max": 0}, ValueError, "fail_max"),
        ({"fail_max": 0.5}, TypeError, "fail_max"),
        ({"reset_timeout": "60"}, TypeError, "reset_timeout"),
        ({"reset_timeout": -1}, ValueError, "reset_timeout"),
        ({"success_threshold": 0}, ValueError, "success_threshold"),
    ],
)
def test_bad_arguments_name_the_argument(kwargs: Any, error: type, named: str) -> None:
    with pytest.raises(error, match=f"`{named}`"):
        CircuitBreaker(**kwargs)
    breaker = CircuitBreaker()
    (attr, value), = kwargs.items()
    with pytest.raises(error, match=f"`{named}`"):
        setattr(breaker, attr, value)
    assert (breaker.fail_max, breaker.reset_timeout, breaker.success_threshold) == (5, 60, 1)


def test_name_and_the_registry() -> None:
    named = CircuitBreaker(name="db")
    assert named.name == "db" and tripwire.registry.get("db") is named
    named.name = "database"
    assert named.name == "database"
    unnamed = CircuitBreaker()
    assert unnamed.name is None
    assert unnamed in tripwire.registry.all()
    # Reports key them by their registry names.
    from tripwire.health import circuit_breaker_report

    keys = set(circuit_breaker_report())
    assert "db" in keys and len(keys) == 2 and None not in keys
    assert set(tripwire.registry.stats()) == keys


# -- state storage ------------------------------------------------------------


@pytest.mark.parametrize("state", [STATE_OPEN, STATE_CLOSED, STATE_HALF_OPEN])
def test_start_state_comes_from_the_storage(state: str) -> None:
    storage = CircuitMemoryStorage(state)
    storage.increment_counter()
    breaker = CircuitBreaker(state_storage=storage)
    assert breaker.current_state == state and breaker.state.name == state
    assert breaker.fail_counter == 1
    assert storage.name == "memory" and storage.state == state and storage.counter == 1


def test_failures_counted_in_the_storage_count_towards_fail_max() -> None:
    storage = CircuitMemoryStorage(STATE_CLOSED)
    storage.increment_counter()
    storage.increment_counter()
    breaker = CircuitBreaker(fail_max=3, state_storage=storage)
    assert breaker.current_state == "closed" and breaker.fail_counter == 2
    error = tripped(breaker)
    assert str(error) == "Failures threshold reached, circuit breaker opened"
    assert breaker.current_state == "open" and breaker.fail_counter == 3
    started = CircuitMemoryStorage(STATE_CLOSED)
    started.increment_counter()
    again = CircuitBreaker(fail_max=2, state_storage=started)
    assert again.call(lambda: "ok") == "ok" and again.fail_counter == 0, "a success ends the streak"
    fail(again)
    assert again.current_state == "closed"


def test_an_open_start_keeps_what_remains_of_reset_timeout() -> None:
    storage = CircuitMemoryStorage(STATE_OPEN)
    storage.opened_at = datetime.now(timezone.utc) - timedelta(seconds=50)
    breaker = CircuitBreaker(reset_timeout=60, state_storage=storage)
    with pytest.raises(CircuitBreakerError) as info:
        breaker.call(lambda: None)
    assert info.value.retry_after is not None and info.value.retry_after <= 10
    long_ago = CircuitMemoryStorage(STATE_OPEN)
    long_ago.opened_at = datetime.now(timezone.utc) - timedelta(seconds=61)
    assert CircuitBreaker(reset_timeout=60, state_storage=long_ago).current_state == "half-open"


def test_the_storage_shows_the_breaker_live() -> None:
    storage = CircuitMemoryStorage(STATE_CLOSED)
    breaker = CircuitBreaker(fail_max=1, state_storage=storage)
    tripped(breaker)
    assert storage.state == "open" and storage.counter == 1
    opened_at = storage.opened_at
    assert opened_at is not None and abs((datetime.now(timezone.utc) - opened_at).total_seconds()) < 60
    storage.state = STATE_CLOSED
    assert breaker.current_state == "closed"
    with pytest.raises(TypeError, match="belong to the breaker"):
        storage.increment_counter()
    with pytest.raises(ValueError, match="another breaker"):
        CircuitBreaker(state_storage=storage)


def test_unknown_start_state() -> None:
    with pytest.raises(ValueError, match="Unknown state 'opened'"):
        CircuitBreaker(state_storage=CircuitMemoryStorage("opened"))


# -- thread safety ------------------------------------------------------------


def run_threads(target: Any, n: int) -> None:
    threads = [threading.Thread(target=target) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def test_threads_never_count_past_fail_max() -> None:
    breaker = CircuitBreaker(fail_max=500, reset_timeout=60)

    def hammer() -> None:
        for _ in range(400):
            try:
                breaker.call(down)
            except (Down, CircuitBreakerError):
                pass

    run_threads(hammer, 4)
    assert breaker.current_state == "open" and breaker.fail_counter == 500


def test_half_open_admits_one_trial_and_the_others_wait_for_it() -> None:
    breaker = CircuitBreaker(fail_max=1, reset_timeout=60)
    breaker.half_open()
    started, finish = threading.Event(), threading.Event()
    results: List[str] = []

    def trial() -> str:
        started.set()
        assert finish.wait(30)
        return "trial"

    first = threading.Thread(target=lambda: results.append(breaker.call(trial)))
    first.start()
    assert started.wait(30)
    behind = [threading.Thread(target=lambda: results.append(breaker.call(lambda: "behind"))) for _ in range(3)]
    for t in behind:
        t.start()
    finish.set()
    for t in [first, *behind]:
        t.join(30)
    assert sorted(results) == ["behind", "behind", "behind", "trial"]
    assert breaker.current_state == "closed" and breaker.stats.rejected_count == 0


def test_a_half_open_generator_holds_no_trial_while_nobody_iterates_it() -> None:
    # pybreaker holds its lock only while a generator function is called: the
    # generator's outcome counts when it ends, and no caller waits for it meanwhile.
    breaker = CircuitBreaker(fail_max=1, reset_timeout=60)

    @breaker
    def rows(n: int) -> Iterator[int]:
        yield from range(n)

    try:
        breaker.half_open()
        kept = rows(2)  # called while half-open, not iterated
        assert in_thread(lambda: breaker.call(lambda: "other")) == "other"
        assert breaker.current_state == "closed"
        assert list(kept) == [0, 1] and breaker.current_state == "closed"
        breaker.half_open()
        assert in_thread(lambda: list(zip(rows(3), rows(3)))) == [(0, 0), (1, 1), (2, 2)]
        assert breaker.current_state == "closed"
        breaker.half_open()
        dropped = rows(1)
        del dropped  # never started: handed back, not counted
        gc.collect()
        assert breaker.current_state == "half-open"
        assert in_thread(lambda: list(rows(1))) == [0] and breaker.current_state == "closed"
    finally:
        breaker.close()  # wakes a call that waited, had one


def in_thread(target: Callable[[], Any]) -> Any:
    """``target()`` run in another thread: its result or its error; the test fails,
    instead of hanging, if it has not returned within 10 s."""
    outcome: List[Any] = []

    def run() -> None:
        try:
            outcome.append((True, target()))
        except BaseException as error:
            outcome.append((False, error))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(10)
    assert outcome, "it hung"
    ok, value = outcome[0]
    if not ok:
        raise value
    return value


def test_a_call_inside_a_half_open_trial_runs_as_part_of_it() -> None:
    # pybreaker's lock is re-entrant: a guarded function may call another guarded by
    # the same breaker, and `with calling()` blocks may nest, while half-open too.
    breaker = CircuitBreaker(fail_max=1, reset_timeout=60, success_threshold=2)

    @breaker
    def inner() -> str:
        return "inner"

    @breaker
    def outer() -> str:
        return "outer+" + inner()

    @breaker
    def outer_of_a_failure() -> None:
        down()

    def nested_blocks() -> str:
        with breaker.calling():
            with breaker.calling():
                pass
            assert breaker.current_state == "half-open" and breaker.success_counter == 1
        return breaker.current_state

    try:
        breaker.half_open()
        assert in_thread(outer) == "outer+inner"
        assert breaker.current_state == "closed", "two trial successes: the nested call's and the outer one's"
        breaker.half_open()
        assert in_thread(nested_blocks) == "closed"
        breaker.half_open()
        with pytest.raises(CircuitBreakerError, match="Trial call failed"):
            in_thread(lambda: breaker.call(outer_of_a_failure))
        assert breaker.current_state == "open"
    finally:
        breaker.close()  # wakes a call that waited, had one


# -- types --------------------------------------------------------------------


def test_a_pybreaker_program_type_checks(tmp_path: Any) -> None:
    """mypy --strict over pybreaker-style code, the import changed; misuse is caught."""
    api = pytest.importorskip("mypy.api", reason="mypy is installed by scripts/setup-python.sh")
    program = tmp_path / "uses_pybreaker.py"
    program.write_text(
        "import tripwire.pybreaker as pybreaker\n"
        "class Log(pybreaker.CircuitBreakerListener):\n"
        "    def state_change(self, cb: pybreaker.CircuitBreaker, old_state: pybreaker.CircuitBreakerState | None,\n"
        "                     new_state: pybreaker.CircuitBreakerState) -> None:\n"
        "        print(cb.name, new_state.name)\n"
        "breaker = pybreaker.CircuitBreaker(fail_max=3, reset_timeout=30, exclude=[KeyError], listeners=[Log()])\n"
        "breaker.fail_max = 4\n"
        "state: str = breaker.current_state\n"
        "count: int = breaker.fail_counter + breaker.success_counter\n"
        "tripped: bool = breaker.open()\n"
        "reveal_type(breaker.call(lambda: 1))\n"
        "with breaker.calling():\n"
        "    pass\n"
        "storage = pybreaker.CircuitMemoryStorage(pybreaker.STATE_CLOSED)\n"
        "pybreaker.CircuitBreaker(state_storage=storage, name='db', throw_new_error_on_trip=False)\n"
        "def shared(conn: object) -> pybreaker.CircuitBreaker:\n"
        "    fleet = pybreaker.CircuitRedisStorage(pybreaker.STATE_CLOSED, conn, namespace='db', fallback_circuit_state='open', cluster_mode=False)\n"
        "    return pybreaker.CircuitBreaker(state_storage=fleet)\n"
        "try:\n"
        "    pass\n"
        "except pybreaker.CircuitBreakerError as error:\n"
        "    print(error.retry_after)\n"
    )
    out, err, status = api.run(["--strict", "--no-incremental", "--python-version", "3.10", str(program)])
    assert status == 0 and 'Revealed type is "int"' in out, out + err
    program.write_text("import tripwire.pybreaker as pybreaker\npybreaker.CircuitBreaker(fail_max='3')\n")
    out, err, status = api.run(["--strict", "--no-incremental", "--python-version", "3.10", str(program)])
    assert status == 1 and 'incompatible type "str"; expected "int"' in out, out + err


def test_acall_awaits_and_refuses_generator_functions() -> None:
    breaker = CircuitBreaker(fail_max=1, reset_timeout=SHORT)

    async def add(a: int, b: int) -> int:
        return a + b

    async def broken() -> None:
        raise Down()

    def rows() -> Iterator[int]:
        yield 1

    async def stream() -> Any:
        yield 1

    async def scenario() -> None:
        assert await breaker.acall(add, 40, 2) == 42
        with pytest.raises(TypeError, match="acall does not support generator"):
            await breaker.acall(rows)
        with pytest.raises(TypeError, match="async generators"):
            await breaker.acall(stream)
        with pytest.raises(CircuitBreakerError, match="Failures threshold"):
            await breaker.acall(broken)
        with pytest.raises(CircuitBreakerError, match="Timeout not elapsed"):
            await breaker.acall(add, 1, 1)
        await asyncio.sleep(2 * SHORT)
        with pytest.raises(CircuitBreakerError, match="Trial call failed"):
            await breaker.acall(broken)

    asyncio.run(scenario())
    assert breaker.fail_counter == 2


def test_a_listener_need_not_subclass_nor_define_every_hook() -> None:
    class OnlyStateChanges:
        def __init__(self) -> None:
            self.seen: List[str] = []

        def state_change(self, cb: CircuitBreaker, old_state: Any, new_state: Any) -> None:
            self.seen.append(new_state.name)

    class OnlyFailures:
        def __init__(self) -> None:
            self.seen: List[str] = []

        def failure(self, cb: CircuitBreaker, exc: BaseException) -> None:
            self.seen.append(type(exc).__name__)

    states, failures = OnlyStateChanges(), OnlyFailures()
    breaker = CircuitBreaker(fail_max=1, listeners=[states, failures])  # type: ignore[list-item]
    tripped(breaker)
    assert states.seen == ["open"] and failures.seen == ["Down"]
