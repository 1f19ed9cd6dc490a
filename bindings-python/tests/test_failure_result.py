"""``is_failure_result=``: a value a guarded call returns can count as a failure (and
still returns to the caller), on every call path: ``call``, the decorator (sync and
``async def``), ``call_async``, and the registry helpers; against real HTTP responses
with ``tripwire.http_failure``."""

from __future__ import annotations

import asyncio
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator, List

import pytest

import tripwire

httpx = pytest.importorskip("httpx2", reason="httpx2 is pinned in scripts/setup-python.sh")


def _bad(value: Any) -> bool:
    return value == "bad"


def _stats(breaker: tripwire.CircuitBreaker) -> Any:
    return breaker.stats


def test_sync_call_and_decorator_count_the_result_and_return_it() -> None:
    breaker = tripwire.CircuitBreaker("results", failure_threshold=3, is_failure_result=_bad)
    assert breaker.is_failure_result is _bad
    assert breaker.call(lambda: "bad") == "bad"
    assert breaker.call(lambda: "good") == "good"

    @breaker
    def fetch(value: str) -> str:
        return value

    assert fetch("bad") == "bad"
    s = _stats(breaker)
    assert (s.total_requests, s.failure_count, s.success_count) == (3, 2, 1)
    assert fetch("bad") == "bad"  # two failures in a row since the success
    assert breaker.state == tripwire.CircuitState.CLOSED
    assert fetch("bad") == "bad"
    assert breaker.state == tripwire.CircuitState.OPEN
    with pytest.raises(tripwire.CircuitBreakerOpenError):
        fetch("good")


def test_async_paths_count_the_result_too() -> None:
    breaker = tripwire.CircuitBreaker("async-results", failure_threshold=2, is_failure_result=_bad)

    async def answer(value: str) -> str:
        await asyncio.sleep(0)
        return value

    guarded = breaker(answer)

    async def main() -> List[str]:
        return [await breaker.call_async(answer, "bad"), await guarded("bad")]

    assert asyncio.run(main()) == ["bad", "bad"]
    assert breaker.state == tripwire.CircuitState.OPEN
    assert _stats(breaker).failure_count == 2


def test_listeners_hear_the_failure_with_the_result() -> None:
    heard: List[Any] = []

    class Listener(tripwire.CircuitBreakerListener):
        def failure(self, cb: tripwire.CircuitBreaker, exc: Any) -> None:
            heard.append(exc)

    breaker = tripwire.CircuitBreaker("heard", is_failure_result=_bad, listeners=[Listener()])
    breaker.call(lambda: "bad")
    assert heard == ["bad"]


def test_a_predicate_that_raises_counts_a_success(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(value: Any) -> bool:
        raise RuntimeError("predicate bug")

    reported: List[Any] = []
    monkeypatch.setattr(sys, "unraisablehook", reported.append)
    breaker = tripwire.CircuitBreaker("broken-predicate", failure_threshold=1, is_failure_result=broken)
    assert breaker.call(lambda: 7) == 7
    assert [type(r.exc_value) for r in reported] == [RuntimeError]
    assert breaker.state == tripwire.CircuitState.CLOSED
    assert _stats(breaker).success_count == 1


def test_registry_helpers_take_it() -> None:
    made = tripwire.create_circuit_breaker("helper", failure_threshold=1, is_failure_result=_bad)
    assert made.is_failure_result is _bad
    assert tripwire.with_circuit_breaker("via-with", lambda: "bad", {"failure_threshold": 1, "is_failure_result": _bad}) == "bad"
    assert tripwire.registry.get("via-with").state == tripwire.CircuitState.OPEN  # type: ignore[union-attr]


def test_strict_options() -> None:
    with pytest.raises(TypeError, match="`is_failure_result`: must be callable"):
        tripwire.CircuitBreaker("not-callable", is_failure_result=True)
    with pytest.raises(TypeError, match="did you mean `is_failure_result`"):
        tripwire.CircuitBreaker("typo", is_failure_reslt=_bad)
    with pytest.raises(TypeError, match="is_failure_result"):
        tripwire.CircuitBreaker("camel", isFailureResult=_bad)


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802
        self.send_response(503 if self.path == "/down" else 200)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def base() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_http_failure_as_the_predicate_opens_on_503s(base: str) -> None:
    breaker = tripwire.CircuitBreaker("upstream", failure_threshold=2, is_failure_result=tripwire.http_failure)
    with httpx.Client() as client:
        assert breaker.call(client.get, f"{base}/ok").status_code == 200
        assert breaker.call(client.get, f"{base}/down").status_code == 503  # returned, and counted
        assert breaker.state == tripwire.CircuitState.CLOSED
        assert breaker.call(client.get, f"{base}/down").status_code == 503
    assert breaker.state == tripwire.CircuitState.OPEN

    async def main() -> int:
        async with httpx.AsyncClient() as client:
            guarded = tripwire.CircuitBreaker("upstream-async", failure_threshold=1, is_failure_result=tripwire.http_failure)
            response = await guarded.call_async(client.get, f"{base}/down")
            assert guarded.state == tripwire.CircuitState.OPEN
            return int(response.status_code)

    assert asyncio.run(main()) == 503


def test_the_services_config_takes_it_when_it_makes_the_breaker(clock: tripwire.ManualClock) -> None:
    svc = tripwire.CircuitBreakerService(clock=clock)
    config = {"failure_threshold": 2, "is_failure_result": _bad}
    assert svc.execute_with_circuit_breaker("inventory", "stock", lambda: "bad", config=config) == "bad"

    async def answer() -> str:
        return "bad"

    assert asyncio.run(svc.execute_with_circuit_breaker("inventory", "stock", answer, config=config)) == "bad"
    breaker = svc.get_circuit_breaker("inventory", "stock")
    assert breaker.is_failure_result is _bad
    assert breaker.state == tripwire.CircuitState.OPEN
    with pytest.raises(TypeError, match="did you mean `is_failure_result`"):
        svc.execute_with_circuit_breaker("inventory", "other", lambda: 1, config={"is_failure_reslt": _bad})
    with pytest.raises(TypeError, match="`is_failure_result`: must be callable"):
        svc.execute_with_circuit_breaker("inventory", "other", lambda: 1, config={"is_failure_result": 3})
