"""The registry is bounded (issue 11, item 2): past its capacity it evicts idle
entries only (closed, not forced or disabled, nothing in flight), counts them and
tells ``registry.on_evict``; a breaker someone holds keeps working."""

from __future__ import annotations

from typing import Any, Iterator, List, Tuple

import pytest

import tripwire
from tripwire import CircuitBreaker, ManualClock, create_circuit_breaker, registry, with_circuit_breaker


@pytest.fixture(autouse=True)
def default_capacity() -> Iterator[None]:
    yield
    registry.capacity = 10_000
    registry.on_evict = None


def _fail() -> None:
    raise OSError("down")


def test_capacity_defaults_to_10000_and_is_checked() -> None:
    assert registry.capacity == 10_000
    with pytest.raises(ValueError, match="capacity"):
        registry.capacity = 0
    with pytest.raises(TypeError, match="capacity"):
        registry.capacity = 1.5  # type: ignore[assignment]
    registry.capacity = 3
    assert registry.capacity == 3


def test_capacity_takes_any_int_of_at_least_one() -> None:
    for huge in (2**32, 2**33, 2**80):
        registry.capacity = huge
        assert registry.capacity == 2**32 - 1, "held as the most names the registry indexes"
    for bad in (0, -1, -(2**80)):
        with pytest.raises(ValueError, match="`capacity`"):
            registry.capacity = bad
    with pytest.raises(TypeError, match="`capacity`"):
        registry.capacity = True
    assert registry.capacity == 2**32 - 1, "a refused value changes nothing"


def test_many_names_stay_within_the_bound() -> None:
    registry.capacity = 500
    before = registry.evictions
    for i in range(5_000):
        assert with_circuit_breaker(f"user-{i}", lambda: i) == i
    assert len(registry) == 500
    assert registry.evictions - before == 4_500


def test_only_idle_closed_breakers_are_evicted() -> None:
    clock = ManualClock()
    registry.capacity = 5
    opened = create_circuit_breaker("open", failure_threshold=1, recovery_timeout=100, clock=clock)
    with pytest.raises(OSError):
        opened.call(_fail)
    half = create_circuit_breaker("half-open", failure_threshold=1, recovery_timeout=1, clock=clock)
    with pytest.raises(OSError):
        half.call(_fail)
    forced = create_circuit_breaker("forced", clock=clock)
    forced.open()
    disabled = create_circuit_breaker("disabled", clock=clock)
    disabled.disable()
    busy = create_circuit_breaker("busy", clock=clock)
    permit = busy.acquire()  # a call in flight
    clock.advance(2)
    assert half.state.value == "HALF_OPEN"

    evicted: List[Tuple[str, Any]] = []
    registry.on_evict = lambda name, breaker: evicted.append((name, breaker))
    create_circuit_breaker("idle", clock=clock)
    assert len(registry) == 6, "every entry busy: the registry grew past its capacity"
    assert evicted == []

    permit.success()
    create_circuit_breaker("newcomer", clock=clock)
    names = {name for name, _ in evicted}
    assert names and names <= {"busy", "idle"}, names
    for name in ("open", "half-open", "forced", "disabled"):
        assert name in registry, name
    for name, breaker in evicted:
        assert breaker.name == name and registry.get(name) is not breaker


def test_a_call_running_keeps_its_breaker() -> None:
    registry.capacity = 1
    seen: List[int] = []

    def work() -> str:
        create_circuit_breaker("other-1")
        create_circuit_breaker("other-2")
        seen.append(len(registry))
        return "done"

    running = create_circuit_breaker("running")
    assert running.call(work) == "done"
    assert registry.get("running") is running, "not evicted while its call ran"


def test_an_evicted_breaker_keeps_working_for_its_holder() -> None:
    registry.capacity = 1
    held = create_circuit_breaker("held", failure_threshold=2)
    held.call(lambda: 1)
    create_circuit_breaker("other")
    create_circuit_breaker("third")
    assert "held" not in registry
    assert held.call(lambda: "still works") == "still works"
    for _ in range(2):
        with pytest.raises(OSError):
            held.call(_fail)
    assert held.state.value == "OPEN"
    fresh = create_circuit_breaker("held")
    assert fresh is not held and fresh.state.value == "CLOSED"


def test_a_raising_on_evict_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    registry.capacity = 1

    def boom(name: str, breaker: CircuitBreaker) -> None:
        raise RuntimeError("listener bug")

    registry.on_evict = boom
    CircuitBreaker("a")
    CircuitBreaker("b")
    CircuitBreaker("c")
    assert "listener on_evict raised" in caplog.text
    registry.on_evict = lambda name, breaker: (_ for _ in ()).throw(KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        CircuitBreaker("d")
    assert tripwire.registry.get("d") is not None, "registered before the listener ran"
