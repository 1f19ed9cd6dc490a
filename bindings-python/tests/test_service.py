"""CircuitBreakerService (seed 004, issue 6) through the installed package: retries
(counted and spaced with a ManualClock), classification, the breaker per (service,
operation), fallbacks, the dead-letter queue, manual control, presets, system health,
alerts and the LRU cap. Bulkhead concurrency is in test_service_bulkhead.py."""

from __future__ import annotations

import asyncio
import errno
import sqlite3
import urllib.error
from typing import Any, Callable, List, Optional

import pytest

import tripwire
from tripwire import (
    Alert,
    BulkheadRejectedError,
    CircuitBreakerOpenError,
    CircuitBreakerService,
    CircuitState,
    ManualClock,
    circuit_breaker_service,
)


class CodedError(Exception):
    def __init__(self, code: Optional[str] = None, status: Optional[int] = None) -> None:
        super().__init__(code, status)
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status


def failing(error: BaseException, calls: List[float], clock: ManualClock) -> Callable[[], Any]:
    def fn() -> Any:
        calls.append(clock.now())
        raise error

    return fn


@pytest.fixture
def service(clock: ManualClock) -> CircuitBreakerService:
    return CircuitBreakerService(clock=clock)


# -- retries ---------------------------------------------------------------------------


def test_retries_are_counted_and_spaced_by_the_core_schedule(service: CircuitBreakerService, clock: ManualClock) -> None:
    calls: List[float] = []
    with pytest.raises(CodedError):
        service.execute_with_circuit_breaker(
            "db",
            "query",
            failing(CodedError("ECONNRESET"), calls, clock),
            retry_policy={"max_attempts": 5, "base_delay": 1.0, "multiplier": 3, "max_delay": 10, "jitter": 0},
            config={"failure_threshold": 10},
        )
    assert calls == [0.0, 1.0, 4.0, 13.0, 23.0]  # delays 1, 3, 9, then capped at 10


def test_default_policy_is_three_attempts_100ms_doubling(service: CircuitBreakerService, clock: ManualClock) -> None:
    calls: List[float] = []
    with pytest.raises(CodedError):
        service.execute_with_circuit_breaker(
            "db", "q", failing(CodedError("SQLITE_BUSY"), calls, clock), retry_policy={"jitter": 0}
        )
    assert calls == pytest.approx([0.0, 0.1, 0.3])


def test_jitter_stays_within_its_fraction_and_a_seed_reproduces_it(clock: ManualClock) -> None:
    runs = []
    for _ in range(2):
        calls: List[float] = []
        s = CircuitBreakerService(clock=ManualClock())
        s.update_service_config("api", retry_policy={"max_attempts": 4, "jitter": 0.5, "seed": 7})
        c = s._clock
        assert c is not None
        with pytest.raises(CodedError):
            s.execute_with_circuit_breaker("api", "get", failing(CodedError(status=503), calls, c))
        runs.append([b - a for a, b in zip(calls, calls[1:])])
    assert runs[0] == runs[1]
    for delay, base in zip(runs[0], [0.1, 0.2, 0.4]):
        assert base <= delay <= base * 1.5
    assert runs[0] != pytest.approx([0.1, 0.2, 0.4])


def test_a_success_after_retries_returns_its_value(service: CircuitBreakerService, clock: ManualClock) -> None:
    attempts = []

    def flaky() -> str:
        attempts.append(clock.now())
        if len(attempts) < 3:
            raise ConnectionRefusedError(errno.ECONNREFUSED, "refused")
        return "ok"

    assert service.execute_with_circuit_breaker("api", "get", flaky) == "ok"
    assert len(attempts) == 3
    stats = service.get_circuit_breaker_state()["api:get"]
    assert (stats.failure_count, stats.success_count) == (2, 1)


RETRIED_CODES = ["ECONNRESET", "ECONNREFUSED", "ETIMEDOUT", "TIMEOUT", "SQLITE_BUSY", "SQLITE_LOCKED"]
NEVER_RETRIED_CODES = ["SQLITE_CONSTRAINT", "WS_AUTH_FAILED"]


def attempts_for(error: BaseException, **policy: Any) -> int:
    clock = ManualClock()
    s = CircuitBreakerService(clock=clock)
    calls: List[float] = []
    with pytest.raises(type(error)):
        s.execute_with_circuit_breaker(
            "svc", "op", failing(error, calls, clock), retry_policy={"max_attempts": 3, **policy}
        )
    return len(calls)


@pytest.mark.parametrize("code", RETRIED_CODES)
def test_listed_codes_are_retried(code: str) -> None:
    assert attempts_for(CodedError(code)) == 3


@pytest.mark.parametrize("status", [502, 503, 504])
def test_listed_statuses_are_retried(status: int) -> None:
    assert attempts_for(CodedError(status=status)) == 3


@pytest.mark.parametrize("status", [400, 401, 403, 404, 500, 429])
def test_other_statuses_are_not_retried(status: int) -> None:
    assert attempts_for(CodedError(status=status)) == 1


@pytest.mark.parametrize("code", NEVER_RETRIED_CODES)
def test_never_retried_codes_even_with_a_retryable_status(code: str) -> None:
    assert attempts_for(CodedError(code, 503)) == 1


def test_unknown_errors_are_not_retried() -> None:
    assert attempts_for(ValueError("bad input")) == 1
    assert attempts_for(CodedError("EPIPE")) == 1


def test_custom_lists() -> None:
    assert attempts_for(CodedError("CUSTOM_TRANSIENT_ERROR"), retryable_errors=["CUSTOM_TRANSIENT_ERROR"]) == 3
    assert attempts_for(CodedError("ECONNRESET"), non_retryable_errors=["ECONNRESET"]) == 1


class StatusCodeError(Exception):
    def __init__(self, status_code: int) -> None:
        super().__init__(status_code)
        self.status_code = status_code


class Response:
    def __init__(self, status: int) -> None:
        self.status = status


class ResponseError(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.response = Response(status)


@pytest.mark.parametrize(
    "error, code, status",
    [
        (ConnectionResetError(errno.ECONNRESET, "reset"), "ECONNRESET", None),
        (ConnectionResetError(), "ECONNRESET", None),
        (ConnectionRefusedError(), "ECONNREFUSED", None),
        (OSError(errno.ETIMEDOUT, "timed out"), "ETIMEDOUT", None),
        (TimeoutError(), "TIMEOUT", None),
        (StatusCodeError(503), None, 503),
        (ResponseError(502), None, 502),
        (CodedError("SQLITE_BUSY", 404), "SQLITE_BUSY", 404),
        (ValueError("x"), None, None),
    ],
)
def test_error_info_reads_code_errno_and_status(error: BaseException, code: Optional[str], status: Optional[int]) -> None:
    assert tripwire._core.error_info(error) == (code, status)


def test_urllib_url_errors_give_their_reasons_code() -> None:
    error = urllib.error.URLError(ConnectionRefusedError(errno.ECONNREFUSED, "refused"))
    assert tripwire._core.error_info(error) == ("ECONNREFUSED", None)
    assert attempts_for(error) == 3
    assert tripwire._core.error_info(urllib.error.URLError("no host")) == (None, None)


def test_urllib_http_errors_give_their_status() -> None:
    error = urllib.error.HTTPError("http://127.0.0.1/", 503, "unavailable", {}, None)  # type: ignore[arg-type]
    assert tripwire._core.error_info(error) == (None, 503)
    assert attempts_for(error) == 3


def test_sqlite_errors_give_their_primary_code() -> None:
    db = sqlite3.connect(":memory:")
    db.execute("create table t (id integer primary key)")
    db.execute("insert into t values (1)")
    try:
        db.execute("insert into t values (1)")
    except sqlite3.IntegrityError as e:
        if not hasattr(e, "sqlite_errorname"):
            pytest.skip("sqlite_errorname needs Python 3.11")
        assert tripwire._core.error_info(e)[0] == "SQLITE_CONSTRAINT"
        assert attempts_for(e) == 1
    else:
        pytest.fail("no IntegrityError")


def test_retries_stop_as_soon_as_the_circuit_opens(service: CircuitBreakerService, clock: ManualClock) -> None:
    calls: List[float] = []
    with pytest.raises(CodedError):
        service.execute_with_circuit_breaker(
            "db",
            "q",
            failing(CodedError("ECONNRESET"), calls, clock),
            retry_policy={"max_attempts": 10},
            config={"failure_threshold": 2},
        )
    assert len(calls) == 2
    assert service.get_circuit_breaker("db", "q").state is CircuitState.OPEN
    # The next call is refused without running; an open circuit is never retried.
    with pytest.raises(CircuitBreakerOpenError):
        service.execute_with_circuit_breaker("db", "q", failing(CodedError("ECONNRESET"), calls, clock))
    assert len(calls) == 2


def test_async_retries_wait_on_the_manual_clock(service: CircuitBreakerService, clock: ManualClock) -> None:
    # An async retry waits for a timer on the clock (as in Node: other tasks run
    # meanwhile); whoever drives the clock moves it.
    calls: List[float] = []

    async def fn() -> str:
        calls.append(clock.now())
        if len(calls) < 3:
            raise CodedError(status=504)
        return "done"

    async def main() -> Any:
        task = asyncio.ensure_future(service.execute_with_circuit_breaker("api", "get", fn, retry_policy={"jitter": 0}))
        while not task.done():
            for _ in range(5):
                await asyncio.sleep(0)
            wait = clock._next_timer()
            if wait is not None:
                clock.advance(wait)
        return task.result()

    result = asyncio.run(main())
    assert result == "done"
    assert calls == pytest.approx([0.0, 0.1, 0.3])


def test_async_breaker_timeouts_are_retried() -> None:
    s = CircuitBreakerService()
    calls = []

    async def slow() -> str:
        calls.append(1)
        if len(calls) == 1:
            await asyncio.sleep(10)
        return "second"

    result = asyncio.run(
        s.execute_with_circuit_breaker(
            "llm",
            "generate",
            slow,
            config={"timeout": 0.01},
            retry_policy={"base_delay": 0.001, "max_delay": 0.001},
        )
    )
    assert result == "second" and len(calls) == 2
    assert s.get_circuit_breaker_state()["llm:generate"].timeout_count == 1


# -- breakers, fallbacks ---------------------------------------------------------------------


def test_one_breaker_per_service_and_operation_with_seed_003_defaults(service: CircuitBreakerService) -> None:
    service.execute_with_circuit_breaker("a", "x", lambda: 1)
    service.execute_with_circuit_breaker("a", "y", lambda: 1)
    service.execute_with_circuit_breaker("b", "x", lambda: 1)
    assert sorted(service.get_circuit_breaker_state()) == ["a:x", "a:y", "b:x"]
    breaker = service.get_circuit_breaker("a", "x")
    assert breaker.name == "a:x" and tripwire.registry.get("a:x") is breaker
    # Seed 003: five consecutive failures open it (core default), one trial success closes it.
    for _ in range(5):
        with pytest.raises(ValueError):
            service.execute_with_circuit_breaker("a", "x", failing_value_error)
    assert breaker.state is CircuitState.OPEN


def failing_value_error() -> None:
    raise ValueError("no")


def test_fallback_value_and_function(service: CircuitBreakerService) -> None:
    assert (
        service.execute_with_circuit_breaker(
            "ollama", "generate", failing_value_error, fallback_options={"fallback_value": "unavailable"}
        )
        == "unavailable"
    )
    assert (
        service.execute_with_circuit_breaker(
            "ollama", "generate", failing_value_error, fallback_options={"fallback_function": lambda: "cached"}
        )
        == "cached"
    )
    seen: List[BaseException] = []

    def fallback(error: BaseException) -> int:
        seen.append(error)
        return 7

    assert service.execute_with_circuit_breaker(
        "ollama", "generate", failing_value_error, fallback_options={"fallback_function": fallback}
    ) == 7
    assert isinstance(seen[0], ValueError)
    service.force_circuit_breaker_open("ollama")
    assert (
        service.execute_with_circuit_breaker(
            "ollama", "generate", lambda: "ran", fallback_options={"fallback_value": None}
        )
        is None
    )


def test_async_fallback_function_is_awaited(service: CircuitBreakerService) -> None:
    async def fn() -> str:
        raise ValueError("down")

    async def fallback() -> str:
        return "from cache"

    assert (
        asyncio.run(service.execute_with_circuit_breaker("s", "o", fn, fallback_options={"fallback_function": fallback}))
        == "from cache"
    )


# -- dead-letter queue -------------------------------------------------------------------


def test_dead_letter_queue_keeps_retries_and_removes_on_success(service: CircuitBreakerService, clock: ManualClock) -> None:
    healthy = [False]

    def op() -> str:
        if not healthy[0]:
            raise CodedError("ECONNRESET")
        return "sent"

    with pytest.raises(CodedError):
        service.execute_with_circuit_breaker(
            "ws", "broadcast", op, fallback_options={"queue": True}, config={"failure_threshold": 20}
        )
    assert (
        service.execute_with_circuit_breaker(
            "ws", "broadcast", op, fallback_options={"queue": True, "fallback_value": False}
        )
        is False
    )
    items = service.get_dead_letter_queue()
    assert [(i.service, i.operation, i.attempts) for i in items] == [("ws", "broadcast", 3)] * 2
    assert isinstance(items[0].error, CodedError) and items[0].id != items[1].id
    with pytest.raises(CodedError) as failed:
        service.retry_dead_letter_item(items[0].id)
    kept = service.get_dead_letter_queue()
    assert len(kept) == 2  # kept after a failed retry, with the new error and its attempts added
    assert kept[0].error is failed.value and kept[0].attempts == 6
    healthy[0] = True
    assert service.retry_dead_letter_item(items[0].id) == "sent"
    assert [i.id for i in service.get_dead_letter_queue()] == [items[1].id]
    with pytest.raises(KeyError):
        service.retry_dead_letter_item(items[0].id)
    service.clear_dead_letter_queue()
    assert service.get_dead_letter_queue() == []


def test_dead_letter_queue_is_bounded_and_counts_drops(clock: ManualClock) -> None:
    s = CircuitBreakerService(clock=clock, dead_letter_queue_size=3)
    for i in range(5):
        s.execute_with_circuit_breaker(
            "svc", f"op{i}", failing_value_error, fallback_options={"queue": True, "fallback_value": None}
        )
    assert [i.operation for i in s.get_dead_letter_queue()] == ["op2", "op3", "op4"]
    assert s.dead_letters_dropped == 2
    assert s.get_system_health()["dead_letter_queue"] == {"size": 3, "capacity": 3, "dropped": 2}


def test_async_dead_letter_retry(service: CircuitBreakerService) -> None:
    state = {"up": False}

    async def op() -> str:
        if not state["up"]:
            raise ValueError("down")
        return "ok"

    async def main() -> None:
        await service.execute_with_circuit_breaker("q", "push", op, fallback_options={"queue": True, "fallback_value": 0})
        (item,) = service.get_dead_letter_queue()
        state["up"] = True
        assert await service.retry_dead_letter_item(item.id) == "ok"
        assert service.get_dead_letter_queue() == []

    asyncio.run(main())


# -- manual control, config, presets -------------------------------------------------------


def test_force_open_covers_later_operations_until_reset(service: CircuitBreakerService) -> None:
    service.execute_with_circuit_breaker("ollama", "generate", lambda: 1)
    service.force_circuit_breaker_open("ollama")
    ran = []
    for op in ["generate", "embed"]:  # embed is first used after forcing
        with pytest.raises(CircuitBreakerOpenError):
            service.execute_with_circuit_breaker("ollama", op, lambda: ran.append(1))
    assert ran == []
    assert service.get_system_health()["services"]["ollama"]["status"] == "unhealthy"
    service.reset_circuit_breaker("ollama")
    assert service.execute_with_circuit_breaker("ollama", "embed", lambda: "ok") == "ok"
    assert service.execute_with_circuit_breaker("ollama", "later", lambda: "ok") == "ok"


def test_force_and_reset_one_operation(service: CircuitBreakerService) -> None:
    service.force_circuit_breaker_open("db", "write")
    with pytest.raises(CircuitBreakerOpenError):
        service.execute_with_circuit_breaker("db", "write", lambda: 1)
    assert service.execute_with_circuit_breaker("db", "read", lambda: 2) == 2
    service.reset_circuit_breaker("db", "write")
    assert service.execute_with_circuit_breaker("db", "write", lambda: 3) == 3


def test_update_service_config_keeps_the_breaker_state(service: CircuitBreakerService) -> None:
    for _ in range(2):
        with pytest.raises(ValueError):
            service.execute_with_circuit_breaker("api", "get", failing_value_error)
    service.update_service_config("api", config={"failure_threshold": 3})
    assert service.get_circuit_breaker_state()["api:get"].consecutive_failures == 2
    with pytest.raises(ValueError):
        service.execute_with_circuit_breaker("api", "get", failing_value_error)
    assert service.get_circuit_breaker("api", "get").state is CircuitState.OPEN  # 3rd failure, new threshold


def test_bad_options_name_the_option_and_change_nothing(service: CircuitBreakerService) -> None:
    with pytest.raises(ValueError, match="`max_attempts`"):
        service.update_service_config("x", retry_policy={"max_attempts": 0})
    with pytest.raises(ValueError, match="`jitter`"):
        service.update_service_config("x", retry_policy={"jitter": 2})
    with pytest.raises(TypeError, match="`retry_attempts`"):
        service.update_service_config("x", retry_policy={"retry_attempts": 2})
    with pytest.raises(ValueError, match="`max_concurrent`"):
        service.update_service_config("x", bulkhead={"max_concurrent": 0})
    with pytest.raises(ValueError, match="`failure_threshold`"):
        service.update_service_config("x", config={"failure_threshold": 1.5})
    # Nothing changed: a rejected update does not even make the service.
    assert service.get_bulkhead_stats("x") is None
    assert service.get_service_config("x")["bulkhead"]["max_concurrent"] == 10  # the defaults


@pytest.mark.parametrize("services", ["llm", [("a", "llm")]])
def test_services_must_be_a_mapping(services: Any) -> None:
    with pytest.raises(TypeError, match="`services`"):
        CircuitBreakerService(services=services)


def test_presets_by_name(clock: ManualClock) -> None:
    s = CircuitBreakerService(clock=clock, services={"ollama": "llm", "redis": "cache"})
    s.apply_preset("walmart", "external-api")
    assert s.get_bulkhead_stats("ollama")["max_concurrent"] == 3  # type: ignore[index]
    assert s.get_bulkhead_stats("redis")["max_concurrent"] == 50  # type: ignore[index]
    assert s.get_circuit_breaker("ollama", "generate").request_timeout == 300.0
    calls: List[float] = []
    with pytest.raises(CodedError):
        s.execute_with_circuit_breaker("walmart", "price", failing(CodedError("ECONNRESET"), calls, clock))
    assert len(calls) == 3  # external-api: failure threshold 3 opens it on the third attempt
    assert s.get_circuit_breaker("walmart", "price").state is CircuitState.OPEN
    with pytest.raises(ValueError, match="unknown preset"):
        s.apply_preset("x", "mainframe")
    assert [p["name"] for p in tripwire._core.presets()] == ["llm", "cache", "database", "external-api", "websocket"]


# -- health, alerts, LRU ---------------------------------------------------------------------


def test_system_health_transitions(service: CircuitBreakerService, clock: ManualClock) -> None:
    service.update_service_config("db", config={"failure_threshold": 1, "recovery_timeout": 10})
    service.execute_with_circuit_breaker("db", "read", lambda: 1)
    service.execute_with_circuit_breaker("db", "write", lambda: 1)
    assert service.get_system_health()["overall"] == "healthy"
    with pytest.raises(ValueError):
        service.execute_with_circuit_breaker("db", "write", failing_value_error)
    health = service.get_system_health()
    assert health["overall"] == "degraded" and health["services"]["db"]["circuits"] == {"read": "CLOSED", "write": "OPEN"}
    with pytest.raises(ValueError):
        service.execute_with_circuit_breaker("db", "read", failing_value_error)
    assert service.get_system_health()["overall"] == "unhealthy"
    clock.advance(10)
    assert service.get_system_health()["overall"] == "degraded"  # half-open
    service.execute_with_circuit_breaker("db", "read", lambda: 1)
    service.execute_with_circuit_breaker("db", "write", lambda: 1)
    assert service.get_system_health()["overall"] == "healthy"


def test_alerts_fire_once_per_episode(clock: ManualClock) -> None:
    alerts: List[Alert] = []
    s = CircuitBreakerService(clock=clock, on_alert=alerts.append, dead_letter_queue_size=50)
    s.update_service_config("db", config={"failure_threshold": 2, "recovery_timeout": 5}, retry_policy={"max_attempts": 1})
    for _ in range(4):
        with pytest.raises((ValueError, CircuitBreakerOpenError)):
            s.execute_with_circuit_breaker("db", "q", failing_value_error)
    kinds = [a.type for a in alerts]
    assert kinds.count("circuit-opened") == 1
    assert kinds.count("high-error-rate") == 0  # it opened after 2 calls: fewer than 10 is no rate
    assert kinds.count("all-circuits-open") == 1
    clock.advance(5)
    with pytest.raises(ValueError):  # the half-open trial fails: the same outage, no new alert
        s.execute_with_circuit_breaker("db", "q", failing_value_error)
    assert [a.type for a in alerts].count("circuit-opened") == 1
    assert [a.type for a in alerts].count("all-circuits-open") == 1
    clock.advance(5)
    s.execute_with_circuit_breaker("db", "q", lambda: 1)  # trial success closes: episodes can end
    for _ in range(2):
        with pytest.raises(ValueError):
            s.execute_with_circuit_breaker("db", "q", failing_value_error)
    assert [a.type for a in alerts].count("circuit-opened") == 2  # a second episode
    alerts.clear()
    for i in range(12):
        s.execute_with_circuit_breaker("dl", f"op{i}", failing_value_error, fallback_options={"queue": True, "fallback_value": 0})
    assert [a.type for a in alerts if a.type == "dead-letter-queue"] == ["dead-letter-queue"]
    s.clear_dead_letter_queue()
    for i in range(11):
        s.execute_with_circuit_breaker("dl", f"op{i}", failing_value_error, fallback_options={"queue": True, "fallback_value": 0})
    assert [a.type for a in alerts].count("dead-letter-queue") == 2


def test_high_error_rate_needs_ten_calls_in_the_window(clock: ManualClock) -> None:
    alerts: List[Alert] = []
    s = CircuitBreakerService(clock=clock, on_alert=alerts.append)
    s.update_service_config("api", config={"failure_threshold": 100}, retry_policy={"max_attempts": 1})

    def fail(op: str) -> None:
        with pytest.raises(ValueError):
            s.execute_with_circuit_breaker("api", op, failing_value_error)

    fail("first")
    assert s.get_circuit_breaker_state()["api:first"].failure_rate == 1.0
    assert alerts == []  # 1 failure in 1 call: 100 %, but no rate yet
    for _ in range(7):
        fail("first")
    assert alerts == []  # 8 failures in 8 calls: still fewer than 10 calls
    for _ in range(8):
        s.execute_with_circuit_breaker("api", "op", lambda: 1)
    fail("op")
    assert alerts == []  # 1 failure in 9 calls
    fail("op")
    assert [(a.type, a.service, a.operation) for a in alerts] == [("high-error-rate", "api", "op")]
    assert "20.0 % over 10 calls" in alerts[0].message  # the engine's words, the same in Node
    stats = s.get_circuit_breaker_state()["api:op"]
    assert (stats.window_calls, stats.window_failures) == (10, 2)
    # The episode goes on while successes keep the rate above 10 %, and ends when they bring it down.
    for _ in range(10):
        s.execute_with_circuit_breaker("api", "op", lambda: 1)
    fail("op")  # 3 in 21 after the rate fell to 2 in 20: a new episode
    assert [a.type for a in alerts] == ["high-error-rate", "high-error-rate"]


def test_high_error_rate_async(clock: ManualClock) -> None:
    alerts: List[Alert] = []
    s = CircuitBreakerService(clock=clock, on_alert=alerts.append)
    s.update_service_config("api", config={"failure_threshold": 100}, retry_policy={"max_attempts": 1})

    async def ok() -> int:
        return 1

    async def bad() -> None:
        raise ValueError("down")

    async def run() -> None:
        await s.execute_with_circuit_breaker("api", "once", bad, fallback_options={"fallback_value": None})
        assert alerts == []  # 1 failure in 1 call
        for _ in range(8):
            await s.execute_with_circuit_breaker("api", "op", ok)
        for _ in range(2):
            await s.execute_with_circuit_breaker("api", "op", bad, fallback_options={"fallback_value": None})

    asyncio.run(run())
    assert [(a.type, a.operation) for a in alerts] == [("high-error-rate", "op")]  # 2 in 10


def test_a_raising_alert_listener_does_not_break_the_call(service: CircuitBreakerService) -> None:
    def bad(alert: Alert) -> None:
        raise RuntimeError("listener bug")

    service.on_alert(bad)
    assert service.execute_with_circuit_breaker("a", "b", failing_value_error, fallback_options={"fallback_value": 1}) == 1


def test_lru_cap_evicts_idle_closed_breakers_and_counts(clock: ManualClock) -> None:
    s = CircuitBreakerService(clock=clock, max_breakers=3)
    s.force_circuit_breaker_open("svc", "kept-open")
    for i in range(5):
        s.execute_with_circuit_breaker("svc", f"op{i}", lambda: 1)
    state = s.get_circuit_breaker_state()
    assert len(state) == 3 and "svc:kept-open" in state
    assert sorted(state) == ["svc:kept-open", "svc:op3", "svc:op4"]
    assert s.evictions == 3 and s.get_system_health()["breakers"] == {"count": 3, "max": 3, "evictions": 3}
    assert tripwire.registry.get("svc:op0") is None


def test_the_shared_instance_exists() -> None:
    assert isinstance(circuit_breaker_service, CircuitBreakerService)
    assert BulkheadRejectedError("x").service == "x"


def test_a_sync_function_returning_a_coroutine_is_a_type_error(service: CircuitBreakerService) -> None:
    async def op() -> int:
        return 1

    with pytest.raises(TypeError, match="async def"):
        service.execute_with_circuit_breaker("s", "o", lambda: op())


def test_seed_004_helpers_use_the_presets(clock: ManualClock) -> None:
    s = CircuitBreakerService(clock=clock)
    assert s.execute_ollama_request("generate", failing_value_error, lambda: "fallback") == "fallback"
    assert s.execute_redis_operation("get", failing_value_error, None) is None
    assert s.execute_database_query("getUsers", failing_value_error, []) == []
    assert s.execute_external_api("walmart", "getPricing", failing_value_error, {"error": "X"}) == {"error": "X"}
    assert s.execute_websocket_operation("broadcast", failing_value_error) is None
    assert [i.service for i in s.get_dead_letter_queue()] == ["websocket"]
    limits = {name: (s.get_bulkhead_stats(name) or {}).get("max_concurrent") for name in ["ollama", "redis", "database", "walmart", "websocket"]}
    assert limits == {"ollama": 3, "redis": 50, "database": 20, "walmart": 10, "websocket": 100}
    # A service configured first keeps its own settings.
    s2 = CircuitBreakerService(clock=clock)
    s2.update_service_config("redis", bulkhead={"max_concurrent": 7})
    s2.execute_redis_operation("get", lambda: 1)
    assert (s2.get_bulkhead_stats("redis") or {}).get("max_concurrent") == 7


def test_seed_003_facade(clock: ManualClock) -> None:
    s = CircuitBreakerService(clock=clock)
    options = {"failure_threshold": 3, "recovery_timeout": 30, "expected_response_time": 2, "minimum_request_count": 1}
    calls: List[float] = []
    for _ in range(3):
        with pytest.raises(CodedError):
            s.execute("cognito", "verifyJWT", failing(CodedError("ECONNRESET"), calls, clock), None, options)
    assert len(calls) == 3  # no retries in seed 003's execute
    stats = s.get_circuit_breaker_stats("cognito", "verifyJWT")
    assert stats is not None and stats.state is CircuitState.OPEN and stats.total_requests == 3
    assert s.execute("cognito", "verifyJWT", lambda: "token", lambda: "fallback") == "fallback"
    assert s.get_circuit_breaker_stats("cognito", "other") is None
    clock.advance(30)
    assert s.execute("cognito", "verifyJWT", lambda: "token") == "token"  # one trial success closes
    assert s.get_all_circuit_breaker_stats()["cognito:verifyJWT"].state is CircuitState.CLOSED
    s.force_circuit_breaker_open("cognito")
    s.reset_all()
    assert s.execute("cognito", "verifyJWT", lambda: "again") == "again"
    s.reset_circuit_breaker("never-seen")
    assert "never-seen" not in s.get_system_health()["services"]


def test_unbounded_service_names_stay_bounded(clock: ManualClock) -> None:
    s = CircuitBreakerService(clock=clock, max_breakers=10)
    for i in range(100):
        s.execute_with_circuit_breaker(f"tenant-{i}", "get", lambda: 1)
    health = s.get_system_health()
    assert len(health["services"]) == 10 and health["breakers"]["evictions"] == 90
    s.update_service_config("configured", retry_policy={"max_attempts": 2})
    for i in range(20):
        s.execute_with_circuit_breaker(f"other-{i}", "get", lambda: 1)
    assert "configured" in s.get_system_health()["services"]  # configured services stay


def test_update_service_config_with_a_preset(service: CircuitBreakerService) -> None:
    service.update_service_config("ollama", preset="llm", bulkhead={"max_concurrent": 4})
    stats = service.get_bulkhead_stats("ollama")
    assert stats is not None and stats["max_concurrent"] == 4  # explicit options win over the preset
    assert service.get_circuit_breaker("ollama", "generate").request_timeout == 300.0


def test_names_must_be_strings(service: CircuitBreakerService) -> None:
    with pytest.raises(TypeError, match="service name"):
        service.execute_with_circuit_breaker(1, "op", lambda: 1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="operation name"):
        service.execute_with_circuit_breaker("svc", None, lambda: 1)  # type: ignore[arg-type]


def test_names_holding_a_lone_surrogate_are_keyed_with_u_fffd_as_in_node(service: CircuitBreakerService) -> None:
    cut, other = "user-\ud83d", "user-\udc00"  # strs cut inside an emoji
    assert service.execute_with_circuit_breaker(cut, "op\ud83d", lambda: 1) == 1
    assert service.execute_with_circuit_breaker(other, "op\udc00", lambda: 2) == 2
    assert service.execute_with_circuit_breaker("user-\ufffd", "op\ufffd", lambda: 3) == 3
    breaker = service.get_circuit_breaker(cut, "op\ud83d")
    assert breaker is service.get_circuit_breaker("user-\ufffd", "op\ufffd")
    assert breaker.name == "user-\ufffd:op\ufffd" and breaker.stats.success_count == 3
    assert list(service.get_system_health()["services"]) == ["user-\ufffd"]
    service.update_service_config(cut, config={"failure_threshold": 2})
    assert service.get_service_config(other)["config"]["failure_threshold"] == 2
    service.force_circuit_breaker_open(other, "op\ud83d")
    assert service.get_circuit_breaker(cut, "op\ufffd").state is CircuitState.OPEN
    service.reset_circuit_breaker(cut)
    assert service.get_circuit_breaker(other, "op\ud83d").state is CircuitState.CLOSED


def test_a_config_update_keeps_the_first_calls_options(service: CircuitBreakerService) -> None:
    service.execute_with_circuit_breaker("api", "slow", lambda: 1, config={"recovery_timeout": 5})
    service.update_service_config("api", config={"failure_threshold": 2})
    breaker = service.get_circuit_breaker("api", "slow")
    for _ in range(2):
        with pytest.raises(ValueError):
            service.execute_with_circuit_breaker("api", "slow", failing_value_error)
    stats = breaker.stats
    assert stats.state is CircuitState.OPEN and stats.next_attempt_time == pytest.approx(5.0)


def test_fallback_options_are_checked(service: CircuitBreakerService) -> None:
    with pytest.raises(TypeError, match="`fallback_valu`"):
        service.execute_with_circuit_breaker("s", "o", lambda: 1, fallback_options={"fallback_valu": 0})
    assert (
        service.execute_with_circuit_breaker("s", "o", failing_value_error, fallback_options={"fallbackValue": 3})
        == 3
    )
    with pytest.raises(TypeError, match="one spelling"):
        service.execute_with_circuit_breaker(
            "s", "o", lambda: 1, fallback_options={"fallbackValue": 3, "fallback_value": 4}
        )


def test_coroutine_detection_beyond_plain_functions(service: CircuitBreakerService) -> None:
    import functools

    async def fetch(x: int) -> int:
        return x * 2

    @functools.wraps(fetch)
    async def wrapped(x: int) -> int:
        return await fetch(x)

    class Client:
        async def get(self) -> str:
            return "method"

    async def main() -> None:
        assert await service.execute_with_circuit_breaker("s", "partial", functools.partial(fetch, 21)) == 42
        assert await service.execute_with_circuit_breaker("s", "wrapped", functools.partial(wrapped, 1)) == 2
        assert await service.execute_with_circuit_breaker("s", "method", Client().get) == "method"

    asyncio.run(main())
    assert service.execute_with_circuit_breaker("s", "sync-partial", functools.partial(int, "7")) == 7


def test_a_dead_letter_retry_uses_the_failed_calls_retry_policy(service: CircuitBreakerService) -> None:
    def op() -> None:
        raise CodedError("ECONNRESET")

    service.execute_with_circuit_breaker(
        "q", "send", op, retry_policy={"max_attempts": 2}, fallback_options={"queue": True, "fallback_value": None}
    )
    (item,) = service.get_dead_letter_queue()
    assert item.attempts == 2
    with pytest.raises(CodedError):
        service.retry_dead_letter_item(item.id)
    (kept,) = service.get_dead_letter_queue()
    assert kept.attempts == 4  # two more, not the service's default three
