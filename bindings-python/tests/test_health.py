"""Health checks (seed 000, issue 6) through the installed package: aggregation,
timeouts and raising checks, handlers (Lambda-style and ASGI), ready-made checks; the
HTTP check against a local http.server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import http.server
import json
import threading
from typing import Any, Dict, Iterator, List, Tuple

import pytest

import tripwire
from tripwire import (
    CircuitBreaker,
    HealthCheck,
    HealthCheckManager,
    create_env_var_health_check,
    create_health_check_handler,
    create_http_health_check,
    create_memory_health_check,
)


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def ok() -> Tuple[bool, str]:
    return True, "fine"


def bad() -> Tuple[bool, str]:
    return False, "broken"


async def async_ok() -> Dict[str, Any]:
    return {"healthy": True, "message": "async fine"}


def raises() -> Tuple[bool, str]:
    raise RuntimeError("check crashed")


async def hangs() -> bool:
    await asyncio.sleep(10)
    return True


def test_all_passing_is_healthy_and_the_report_has_the_seed_shape() -> None:
    manager = HealthCheckManager(
        service_name="payments-svc",
        version="1.0.0",
        checks=[HealthCheck("db", ok), {"name": "cache", "check": async_ok, "critical": False}],
    )
    CircuitBreaker("stripe").call(lambda: 1)
    report = run(manager.execute_health_checks())
    assert report["status"] == "healthy"
    assert (report["service"], report["version"]) == ("payments-svc", "1.0.0")
    assert report["timestamp"].endswith("Z")
    assert report["checks"]["db"]["status"] == "healthy" and report["checks"]["db"]["message"] == "fine"
    assert report["checks"]["cache"]["message"] == "async fine"
    assert report["checks"]["db"]["response_time"] >= 0
    assert report["circuit_breakers"]["stripe"] == {
        "state": "CLOSED",
        "failure_count": 0,
        "success_count": 1,
        "total_requests": 1,
        "failure_rate": 0.0,
    }
    json.dumps(report)  # JSON-ready


@pytest.mark.parametrize(
    "checks, status",
    [
        ([], "healthy"),
        ([(True, ok), (False, bad)], "degraded"),
        ([(True, bad), (False, ok)], "unhealthy"),
        ([(False, raises)], "degraded"),
        ([(True, raises)], "unhealthy"),
        ([(True, hangs)], "unhealthy"),
    ],
)
def test_aggregation(checks: List[Tuple[bool, Any]], status: str) -> None:
    manager = HealthCheckManager(service_name="s", timeout=0.01)
    for i, (critical, fn) in enumerate(checks):
        manager.register_check(name=f"c{i}", check=fn, critical=critical)
    report = run(manager.execute_health_checks())
    assert report["status"] == status


def test_a_raising_or_slow_check_is_a_failure_with_a_message() -> None:
    manager = HealthCheckManager(service_name="s")
    manager.register_check(name="crash", check=raises)
    manager.register_check(name="slow", check=hangs, critical=False, timeout=0.01)
    manager.register_check(name="wrong", check=lambda: 42)  # type: ignore[arg-type, return-value]
    report = run(manager.execute_health_checks())
    assert report["checks"]["crash"] == {**report["checks"]["crash"], "status": "unhealthy"}
    assert "check crashed" in report["checks"]["crash"]["message"]
    assert "timed out" in report["checks"]["slow"]["message"]
    assert "TypeError" in report["checks"]["wrong"]["message"]


def test_a_check_with_the_same_name_replaces_the_earlier_one() -> None:
    manager = HealthCheckManager(service_name="s")
    manager.register_check(name="db", check=bad)
    manager.register_check(name="db", check=ok)
    assert [c.name for c in manager.checks] == ["db"]
    assert run(manager.execute_health_checks())["status"] == "healthy"
    with pytest.raises(TypeError):
        manager.register_check(name="x", check=None)


def test_handlers_status_codes() -> None:
    state = {"db": True, "cache": True}
    manager = HealthCheckManager(service_name="svc", version="2")
    manager.register_check(name="db", check=lambda: (state["db"], "db"))
    manager.register_check(name="cache", check=lambda: (state["cache"], "cache"), critical=False)
    handlers = create_health_check_handler(manager)

    def codes() -> List[int]:
        return [run(h())["status_code"] for h in (handlers.liveness, handlers.readiness, handlers.health)]

    assert codes() == [200, 200, 200]
    state["cache"] = False
    assert codes() == [200, 200, 200]  # degraded is still ready
    assert json.loads(run(handlers.health())["body"])["status"] == "degraded"
    state["db"] = False
    assert codes() == [200, 503, 503]
    response = run(handlers.readiness())
    assert response["headers"]["Content-Type"] == "application/json"
    assert json.loads(response["body"])["status"] == "not ready"


async def asgi_get(app: Any, path: str, method: str = "GET") -> Tuple[int, Dict[str, str], bytes]:
    sent: List[Dict[str, Any]] = []

    async def receive() -> Dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Dict[str, Any]) -> None:
        sent.append(message)

    await app({"type": "http", "path": path, "method": method, "headers": []}, receive, send)
    start, body = sent
    headers = {k.decode(): v.decode() for k, v in start["headers"]}
    return start["status"], headers, body["body"]


def test_asgi_app_routes() -> None:
    healthy = [True]
    manager = HealthCheckManager(service_name="svc", checks=[HealthCheck("db", lambda: (healthy[0], "db"))])
    app = create_health_check_handler(manager).asgi

    async def main() -> None:
        status, headers, body = await asgi_get(app, "/health")
        assert status == 200 and headers["content-type"] == "application/json"
        assert json.loads(body)["checks"]["db"]["status"] == "healthy"
        assert (await asgi_get(app, "/health/liveness"))[0] == 200
        healthy[0] = False
        assert (await asgi_get(app, "/health/readiness"))[0] == 503
        assert (await asgi_get(app, "/health/liveness"))[0] == 200
        assert (await asgi_get(app, "/nope"))[0] == 404
        assert (await asgi_get(app, "/health", "POST"))[0] == 405

        messages = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
        replies: List[str] = []

        async def receive() -> Dict[str, Any]:
            return messages.pop(0)

        async def send(message: Dict[str, Any]) -> None:
            replies.append(message["type"])

        await app({"type": "lifespan"}, receive, send)
        assert replies == ["lifespan.startup.complete", "lifespan.shutdown.complete"]

    run(main())


def test_env_var_check(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRIPWIRE_A", "1")
    monkeypatch.delenv("TRIPWIRE_B", raising=False)
    check = create_env_var_health_check(["TRIPWIRE_A", "TRIPWIRE_B"])
    assert check.critical and check.name == "environment-variables"
    healthy, message = check.check()  # type: ignore[misc]
    assert not healthy and "TRIPWIRE_B" in message and "TRIPWIRE_A" not in message
    monkeypatch.setenv("TRIPWIRE_B", "x")
    assert check.check() == (True, "All required variables present")
    assert not create_env_var_health_check([], critical=False).critical


def test_memory_check() -> None:
    healthy, message = create_memory_health_check(100).check()  # type: ignore[misc]
    assert healthy and message.startswith("Memory usage at ")
    tiny = create_memory_health_check(1e-9)
    assert tiny.check()[0] is False  # type: ignore[index]
    with pytest.raises(ValueError, match="max_percent"):
        create_memory_health_check(0)


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        status = {"/ok": 200, "/down": 503}.get(self.path, 404)
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def local_server() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_http_check_against_a_local_server(local_server: str) -> None:
    manager = HealthCheckManager(
        service_name="svc",
        checks=[
            create_http_health_check(f"{local_server}/ok"),
            create_http_health_check(f"{local_server}/down", critical=False, name="downstream"),
            create_http_health_check(f"{local_server}/missing", expected_status=[404], name="expects-404"),
        ],
    )
    report = run(manager.execute_health_checks())
    assert report["checks"][f"http:{local_server}/ok"] == {
        **report["checks"][f"http:{local_server}/ok"],
        "status": "healthy",
        "message": "HTTP 200",
    }
    assert report["checks"]["downstream"]["status"] == "unhealthy"
    assert report["checks"]["downstream"]["message"] == "HTTP 503"
    assert report["checks"]["expects-404"]["status"] == "healthy"
    assert report["status"] == "degraded"


def test_http_check_of_a_closed_port_is_a_failure() -> None:
    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    port = server.server_address[1]
    server.server_close()  # nothing listens there now
    healthy, message = create_http_health_check(f"http://127.0.0.1:{port}/", timeout=1).check()  # type: ignore[misc]
    assert not healthy and "unreachable" in message


def test_the_service_breakers_appear_in_the_report() -> None:
    service = tripwire.CircuitBreakerService()
    service.execute_with_circuit_breaker("ollama", "generate", lambda: "x")
    report = run(HealthCheckManager(service_name="s").execute_health_checks())
    assert report["circuit_breakers"]["ollama:generate"]["success_count"] == 1
