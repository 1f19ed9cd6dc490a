"""tripwire's own logging through the public API: the JSON logger as tripwire's logger
(``set_logger()``, ``TRIPWIRE_LOG=1``, the ``logger=`` of a breaker, a service, a control
API), one line per transition (breaker, from, to, cause), per control-API mutation
(never the token) and per store outage (the fleet store's hook, called here as the
store will). Lines are captured and parsed as JSON."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import subprocess
import sys
import urllib.error
import urllib.request
from typing import Any, Dict, Iterator, List

import pytest

import tripwire
import tripwire.aws as aws
from tripwire.control import serve


class Sink:
    """A JSON logger writing into memory; ``entries()`` parses every line."""

    def __init__(self, **options: Any) -> None:
        self.stream = io.StringIO()
        self.log = tripwire.create_logger("test-svc", level="debug", stream=self.stream, **options)

    def entries(self) -> List[Dict[str, Any]]:
        return [json.loads(line) for line in self.stream.getvalue().splitlines()]


@pytest.fixture(autouse=True)
def no_logger() -> Iterator[None]:
    previous = tripwire.set_logger(None)
    yield
    tripwire.set_logger(previous)


def _fail() -> None:
    raise ConnectionError("upstream down")


def test_the_logger_lives_in_the_main_package() -> None:
    assert aws.logger is tripwire.logger
    assert aws.StructuredLogger is tripwire.StructuredLogger
    assert aws.create_logger is tripwire.create_logger
    assert isinstance(tripwire.logger, tripwire.StructuredLogger)
    assert "logger" in dir(tripwire)


def test_set_logger_logs_every_transition_with_its_cause(clock: tripwire.ManualClock) -> None:
    out = Sink()
    assert tripwire.set_logger(out.log) is None
    assert tripwire.get_logger() is out.log
    breaker = tripwire.CircuitBreaker("tx", failure_threshold=2, recovery_timeout=1.0, success_threshold=1, clock=clock)
    breaker.call(lambda: 1)  # a success logs nothing
    with pytest.raises(ConnectionError):
        breaker.call(_fail)
    assert out.entries() == []
    with pytest.raises(ConnectionError):
        breaker.call(_fail)
    clock.advance(1.0)
    breaker.call(lambda: 2)
    breaker.open()
    breaker.reset()
    lines = out.entries()
    assert [(x["level"], x["from"], x["to"], x["cause"], x.get("outcome")) for x in lines] == [
        ("warn", "CLOSED", "OPEN", "tripped", "failure"),
        ("info", "OPEN", "HALF_OPEN", "openElapsed", None),
        ("info", "HALF_OPEN", "CLOSED", "trialsSucceeded", "success"),
        ("warn", "CLOSED", "OPEN", "forcedOpen", None),
        ("info", "OPEN", "CLOSED", "reset", None),
    ]
    for x in lines:
        assert list(x)[:4] == ["timestamp", "level", "message", "service"]
        assert x["service"] == "test-svc" and x["event"] == "transition" and x["breaker"] == "tx"
    assert "opened" in lines[0]["message"]
    assert tripwire.set_logger(None) is out.log
    breaker.open()
    assert len(out.entries()) == 5


def test_async_calls_timeouts_and_failed_trials(clock: tripwire.ManualClock) -> None:
    out = Sink()
    tripwire.set_logger(out.log)
    timed = tripwire.CircuitBreaker("timed", failure_threshold=1, request_timeout=0.01)

    async def hang() -> None:
        await asyncio.sleep(5)

    with pytest.raises(tripwire.CircuitBreakerTimeoutError):
        asyncio.run(timed.call_async(hang))
    trial = tripwire.CircuitBreaker("trial", failure_threshold=1, recovery_timeout=1.0, clock=clock)
    with pytest.raises(ConnectionError):
        trial.call(_fail)
    clock.advance(1.0)
    with pytest.raises(ConnectionError):
        trial.call(_fail)
    assert [(x["breaker"], x["cause"], x.get("outcome")) for x in out.entries()] == [
        ("timed", "tripped", "timeout"),
        ("trial", "tripped", "failure"),
        ("trial", "openElapsed", None),
        ("trial", "trialFailed", "failure"),
    ]


def test_a_breakers_own_logger_wins_and_a_stdlib_logger_works(caplog: pytest.LogCaptureFixture) -> None:
    everything = Sink()
    tripwire.set_logger(everything.log)
    std = logging.getLogger("app.breakers")
    breaker = tripwire.CircuitBreaker("own", failure_threshold=1, logger=std)
    with caplog.at_level(logging.INFO, logger="app.breakers"):
        with pytest.raises(ConnectionError):
            breaker.call(_fail)
    assert everything.entries() == []
    (record,) = [r for r in caplog.records if r.name == "app.breakers"]
    assert record.levelno == logging.WARNING and "opened" in record.getMessage()
    assert (record.breaker, record.cause, record.outcome) == ("own", "tripped", "failure")  # type: ignore[attr-defined]


def test_bad_loggers_are_type_errors_naming_the_option() -> None:
    with pytest.raises(TypeError, match="`logger`"):
        tripwire.set_logger(42)
    with pytest.raises(TypeError, match="`logger`"):
        tripwire.CircuitBreaker("bad", logger="stdout")
    with pytest.raises(TypeError, match="did you mean `logger`"):
        tripwire.CircuitBreaker("typo", loger=tripwire.logger)
    with pytest.raises(TypeError, match="`logger`"):
        tripwire.CircuitBreakerService(logger=object())


def test_a_logger_that_raises_never_breaks_the_call() -> None:
    class Broken:
        def info(self, message: str, fields: Any = None) -> None:
            raise OSError("disk full")

        warn = info

    tripwire.set_logger(Broken())
    breaker = tripwire.CircuitBreaker("broken-log", failure_threshold=1)
    with pytest.raises(ConnectionError):
        breaker.call(_fail)
    assert breaker.state == tripwire.CircuitState.OPEN


def _run(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ, "SERVICE_NAME": "orders", **env}, timeout=60
    )


def test_tripwire_log_env_turns_the_json_logger_on() -> None:
    code = (
        "import tripwire\n"
        "b = tripwire.CircuitBreaker('env-logged', failure_threshold=1)\n"
        "try:\n    b.call(lambda: 1 / 0)\nexcept ZeroDivisionError:\n    pass\n"
        "b.close()\n"
    )
    on = _run(code, TRIPWIRE_LOG="1", LOG_LEVEL="info")
    assert on.returncode == 0, on.stderr
    lines = [json.loads(line) for line in on.stdout.splitlines()]
    assert [(x["level"], x["to"], x["cause"], x["service"], x["breaker"]) for x in lines] == [
        ("warn", "OPEN", "tripped", "orders", "env-logged"),
        ("info", "CLOSED", "closed", "orders", "env-logged"),
    ]
    warn_only = _run(code, TRIPWIRE_LOG="1", LOG_LEVEL="warning")
    assert [json.loads(line)["to"] for line in warn_only.stdout.splitlines()] == ["OPEN"]
    assert _run(code, TRIPWIRE_LOG="0").stdout == ""


def test_a_services_logger_logs_its_breakers(clock: tripwire.ManualClock) -> None:
    out = Sink()
    svc = tripwire.CircuitBreakerService(clock=clock, logger=out.log)
    svc.update_service_config("pay", config={"failure_threshold": 1}, retry_policy={"max_attempts": 1})
    with pytest.raises(ConnectionError):
        svc.execute_with_circuit_breaker("pay", "charge", _fail)
    svc.reset_circuit_breaker("pay", "charge")
    lines = [x for x in out.entries() if x["event"] == "transition"]
    assert [(x["from"], x["to"], x["cause"]) for x in lines] == [("CLOSED", "OPEN", "tripped"), ("OPEN", "CLOSED", "reset")]
    assert "pay" in lines[0]["breaker"]


def _post(url: str, token: str) -> int:
    request = urllib.request.Request(url, method="POST", headers={"Authorization": f"Bearer {token}"}, data=b"")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def test_control_api_mutations_are_logged_without_the_token() -> None:
    out = Sink()
    svc = tripwire.CircuitBreakerService()
    svc.update_service_config("db", config={"failure_threshold": 1})
    svc.execute_with_circuit_breaker("db", "query", lambda: 1)
    token = "tok-secret-123"
    with serve(svc, token=token, logger=out.log) as server:
        assert _post(f"{server.url}/force-open/db/query", token) == 200
        assert _post(f"{server.url}/reset/db", "wrong") == 401
        assert _post(f"{server.url}/reset/db", token) == 200
    control = [x for x in out.entries() if x["event"] == "control"]
    assert [(x["level"], x["action"], x.get("serviceName"), x.get("operation"), x["status"], x["ok"]) for x in control] == [
        ("info", "force-open", "db", "query", 200, True),
        ("warn", "refused", None, None, 401, False),
        ("info", "reset", "db", None, 200, True),
    ]
    assert control[1]["path"].endswith("/reset/db")
    text = out.stream.getvalue()
    assert token not in text and "wrong" not in text


def test_a_breaker_logs_no_store_outage_its_store_does() -> None:
    out = Sink()
    tripwire.set_logger(out.log)
    heard: List[str] = []

    class Listener:
        def store_down(self, cb: Any, error: Any) -> None:
            heard.append("down")

        def store_up(self, cb: Any) -> None:
            heard.append("up")

    breaker = tripwire.CircuitBreaker("shared", listeners=[Listener()])
    breaker._hook_store_event("storeDown", ConnectionRefusedError("127.0.0.1:6379"))
    breaker._hook_store_event("storeUp")
    assert heard == ["down", "up"]
    assert out.entries() == []
    with pytest.raises(ValueError, match="storeDown"):
        breaker._hook_store_event("storeLost")
    # What a store's thread calls, once per outage episode.
    from tripwire import _logger

    _logger.store_outage("storeDown", "timed out after 100 ms")
    _logger.store_outage("storeUp")
    lines = out.entries()
    assert [(x["level"], x["event"], x.get("error")) for x in lines] == [
        ("warn", "storeDown", "timed out after 100 ms"),
        ("info", "storeUp", None),
    ]
    assert "fleet store unreachable (timed out after 100 ms)" in lines[0]["message"]
