"""KeyboardInterrupt and SystemExit raised inside a listener reach the caller.

An ordinary exception in a listener is logged and the call goes on (see
test_calls.py); a Ctrl-C or a ``sys.exit()`` must never be swallowed. The outcome
is recorded before the interrupt propagates, so the breaker's counts stay right.
"""

from __future__ import annotations

import asyncio
from typing import Any, Callable, List, Type

import pytest

from tripwire import CircuitBreaker, CircuitBreakerListener, CircuitState, ManualClock

INTERRUPTS: List[Type[BaseException]] = [KeyboardInterrupt, SystemExit]


def _raiser(kind: Type[BaseException]) -> Callable[..., None]:
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


def test_ordinary_exceptions_in_listeners_are_still_logged(caplog: pytest.LogCaptureFixture) -> None:
    breaker = CircuitBreaker("int-ordinary", failure_threshold=1, on_state_change=_raiser(RuntimeError))
    with pytest.raises(OSError):
        breaker.call(_fail)
    assert breaker.state is CircuitState.OPEN
    assert "listener on_state_change raised" in caplog.text
