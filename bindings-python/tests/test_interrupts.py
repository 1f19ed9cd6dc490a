"""KeyboardInterrupt and SystemExit raised inside a listener, an ``exclude``
predicate or ``is_failure_result`` reach the caller.

An ordinary exception there is logged or reported and the call goes on (see
test_calls.py, test_failure_result.py); a Ctrl-C or a ``sys.exit()`` must never be
swallowed. The outcome is recorded before the interrupt propagates, so the breaker's
counts stay right.
"""

from __future__ import annotations

import asyncio
from typing import Any, Callable, List, Type

import pytest

from tripwire import CircuitBreaker, CircuitBreakerListener, CircuitState, ManualClock

INTERRUPTS: List[Type[BaseException]] = [KeyboardInterrupt, SystemExit]


def _raiser(kind: Type[BaseException]) -> Callable[..., Any]:
    def raise_it(*_: Any, **__: Any) -> None:
        raise kind("from a listener")

    return raise_it


def _fail() -> None:
    raise OSError("down")


@pytest.mark.parametrize("kind", INTERRUPTS)
def test_state_change_listener(kind: Type[BaseException]) -> None:
    breaker = CircuitBreaker("int-state", failure_threshold=1, on_state_change=_raiser(kind))
    with pytest.raises(kind):
        breaker.call(_fail)
    assert breaker.state is CircuitState.OPEN, "the failure was recorded before the interrupt"
    assert breaker.stats.failure_count == 1


@pytest.mark.parametrize("kind", INTERRUPTS)
@pytest.mark.parametrize("hook", ["before_call", "success", "failure", "state_change"])
def test_listener_objects(kind: Type[BaseException], hook: str) -> None:
    listener = CircuitBreakerListener()
    setattr(listener, hook, _raiser(kind))
    breaker = CircuitBreaker("int-obj", failure_threshold=1, listeners=[listener])
    ran: List[str] = []

    def work() -> str:
        ran.append("ran")
        return "ok"

    if hook in ("failure", "state_change"):
        with pytest.raises(kind):
            breaker.call(_fail)
        assert breaker.stats.failure_count == 1
    else:
        with pytest.raises(kind):
            breaker.call(work)
        if hook == "before_call":
            assert ran == [], "the call does not run"
            assert breaker.stats.total_requests == 0, "the permit was handed back"
        else:
            assert ran == ["ran"]
            assert breaker.stats.success_count == 1


@pytest.mark.parametrize("kind", INTERRUPTS)
def test_fallback(kind: Type[BaseException]) -> None:
    breaker = CircuitBreaker("int-fallback", failure_threshold=1, fallback=_raiser(kind))
    with pytest.raises(kind):
        breaker.call(_fail)
    with pytest.raises(kind):
        breaker.call(lambda: "refused")


@pytest.mark.parametrize("kind", INTERRUPTS)
def test_decorated_and_permits_and_with_blocks(kind: Type[BaseException]) -> None:
    breaker = CircuitBreaker("int-deco", failure_threshold=1, on_state_change=_raiser(kind))

    @breaker
    def guarded() -> None:
        raise OSError("down")

    with pytest.raises(kind):
        guarded()
    other = CircuitBreaker("int-permit", failure_threshold=1, on_state_change=_raiser(kind))
    permit = other.acquire()
    with pytest.raises(kind):
        permit.failure()
    third = CircuitBreaker("int-with", failure_threshold=1, on_state_change=_raiser(kind))
    with pytest.raises(kind):
        with third:
            raise OSError("down")


@pytest.mark.parametrize("kind", INTERRUPTS)
def test_manual_control_and_half_open(kind: Type[BaseException]) -> None:
    clock = ManualClock()
    breaker = CircuitBreaker("int-manual", failure_threshold=1, recovery_timeout=1, clock=clock)
    breaker.call(lambda: None)
    with pytest.raises(OSError):
        breaker.call(_fail)
    breaker.add_listener(type("L", (), {"state_change": staticmethod(_raiser(kind))})())
    clock.advance(1)
    with pytest.raises(kind):
        breaker.call(lambda: "trial")  # OPEN -> HALF_OPEN announced before the call
    # The trial slot was handed back: the next trial is admitted.
    breaker.remove_listener(breaker.listeners[0])
    assert breaker.call(lambda: "trial") == "trial"
    breaker.add_listener(type("L", (), {"state_change": staticmethod(_raiser(kind))})())
    with pytest.raises(kind):
        breaker.open()


@pytest.mark.parametrize("kind", INTERRUPTS)
def test_async_calls(kind: Type[BaseException]) -> None:
    breaker = CircuitBreaker("int-async", failure_threshold=1, on_state_change=_raiser(kind))

    async def fail() -> None:
        raise OSError("down")

    async def main() -> None:
        await breaker.call_async(fail)

    with pytest.raises(kind):
        asyncio.run(main())


CALL_PATHS = ["call", "decorated", "with", "call_async", "async_with"]


def _run(breaker: CircuitBreaker, path: str, body: Callable[[], Any]) -> Any:
    """Runs ``body`` through ``breaker`` the way ``path`` names."""
    if path == "call":
        return breaker.call(body)
    if path == "decorated":

        @breaker
        def guarded() -> object:
            return body()

        return guarded()
    if path == "with":
        with breaker:
            return body()

    async def awaited() -> Any:
        return body()

    async def main() -> Any:
        if path == "call_async":
            return await breaker.call_async(awaited)
        async with breaker:
            return body()

    return asyncio.run(main())


@pytest.mark.parametrize("kind", INTERRUPTS)
@pytest.mark.parametrize("path", CALL_PATHS)
def test_exclude_predicate(kind: Type[BaseException], path: str) -> None:
    breaker = CircuitBreaker("int-exclude", failure_threshold=1, exclude=[_raiser(kind)], fallback=lambda: "fallback")
    with pytest.raises(kind):
        _run(breaker, path, _fail)
    # It did not exclude (as a predicate raising an Exception does not): a failure.
    assert breaker.state is CircuitState.OPEN
    assert breaker.stats.failure_count == 1


@pytest.mark.parametrize("kind", INTERRUPTS)
@pytest.mark.parametrize("path", [p for p in CALL_PATHS if "with" not in p])  # with-blocks have no result
def test_is_failure_result(kind: Type[BaseException], path: str) -> None:
    breaker = CircuitBreaker("int-result", failure_threshold=1, is_failure_result=_raiser(kind))
    with pytest.raises(kind):
        _run(breaker, path, lambda: "value")
    # It did not say failure (as a predicate raising an Exception does not): a success.
    assert breaker.state is CircuitState.CLOSED
    assert breaker.stats.success_count == 1 and breaker.stats.failure_count == 0


@pytest.mark.parametrize("kind", INTERRUPTS)
def test_predicates_of_a_half_open_trial(kind: Type[BaseException]) -> None:
    """The trial's outcome is recorded: the circuit moves on, no slot is left taken."""
    excluding = CircuitBreaker("int-trial-exclude", success_threshold=1, exclude=[_raiser(kind)])
    excluding.half_open()
    with pytest.raises(kind):
        excluding.call(_fail)
    assert excluding.state is CircuitState.OPEN
    judging = CircuitBreaker("int-trial-result", success_threshold=1, is_failure_result=_raiser(kind))
    judging.half_open()
    with pytest.raises(kind):
        judging.call(lambda: "value")
    assert judging.state is CircuitState.CLOSED


def test_ordinary_exceptions_in_listeners_are_still_logged(caplog: pytest.LogCaptureFixture) -> None:
    breaker = CircuitBreaker("int-ordinary", failure_threshold=1, on_state_change=_raiser(RuntimeError))
    with pytest.raises(OSError):
        breaker.call(_fail)
    assert breaker.state is CircuitState.OPEN
    assert "listener on_state_change raised" in caplog.text
