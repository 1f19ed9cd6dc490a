"""tripwire.control (issue 12): seed 004's endpoints over a CircuitBreakerService, the
security defaults (token, Host, Origin, body, rate limit), problem+json errors, the
audit listeners and log; ``serve()`` over real HTTP, the ASGI app mounted in Starlette
and FastAPI (``root_path``), the WSGI app under wsgiref; and the health ASGI app's
``root_path`` fix."""

from __future__ import annotations

import asyncio
import http.client
import io
import json
import logging
import os
import socket
import subprocess
import sys
import threading
import wsgiref.simple_server
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import pytest

import tripwire
from tripwire import CircuitBreakerService
from tripwire.control import ControlEvent, asgi_app, serve, wsgi_app

BASE = "/api/circuit-breaker"


class Reply:
    def __init__(self, status: int, headers: Dict[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body
        self.text = body.decode("utf-8", "replace")

    @property
    def json(self) -> Any:
        return json.loads(self.text)


def request(
    port: int,
    method: str,
    path: str,
    headers: Optional[Dict[str, str]] = None,
    body: Optional[bytes] = None,
    chunked: bool = False,
) -> Reply:
    """One request over a real socket, with any Host (http.client sends what it is given)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        all_headers = {"Host": f"127.0.0.1:{port}", **(headers or {})}
        if chunked:
            conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
            for k, v in all_headers.items():
                conn.putheader(k, v)
            conn.putheader("Transfer-Encoding", "chunked")
            conn.endheaders()
            data = body or b""
            for i in range(0, len(data), 8192):
                part = data[i : i + 8192]
                try:
                    conn.send(b"%x\r\n%s\r\n" % (len(part), part))
                except OSError:
                    break
            else:
                conn.send(b"0\r\n\r\n")
        else:
            conn.request(method, path, body=body, headers=all_headers)
        r = conn.getresponse()
        return Reply(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
    finally:
        conn.close()


def bearer(token: str) -> Dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def busy_service() -> CircuitBreakerService:
    """A service with a breaker, a tripped breaker and a dead letter."""
    svc = CircuitBreakerService()
    svc.update_service_config("db", config={"failure_threshold": 2}, retry_policy={"max_attempts": 1})
    svc.execute_with_circuit_breaker("db", "query", lambda: "ok")
    flaky = [True]

    def write() -> str:
        if flaky[0]:
            raise OSError("disk full")
        return "ok"

    svc.execute_with_circuit_breaker("db", "write", write, fallback_options={"queue": True, "fallback_value": None})
    with pytest.raises(OSError):
        svc.execute_with_circuit_breaker("db", "write", write)
    flaky[0] = False
    return svc


@pytest.fixture
def no_env_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRIPWIRE_CONTROL_TOKEN", raising=False)


def test_the_main_module_loads_no_http_server() -> None:
    code = "import sys, tripwire; print(','.join(m for m in ('http.server', 'socketserver', 'tripwire.control') if m in sys.modules))"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == ""


def test_auth_no_token_wrong_token_right_token_and_audit(no_env_token: None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    svc = busy_service()
    with serve(svc) as server:
        r = request(server.port, "POST", f"{BASE}/reset/db", bearer("anything"))
        assert r.status == 403
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json["status"] == 403
        assert request(server.port, "GET", f"{BASE}/health").status == 200, "reads stay open on loopback"
    with serve(svc, token="s3cret") as server:
        events: List[ControlEvent] = []
        server.on_control(events.append)
        missing = request(server.port, "POST", f"{BASE}/force-open/db/query")
        assert missing.status == 401
        assert missing.headers["www-authenticate"].startswith("Bearer")
        wrong = request(server.port, "POST", f"{BASE}/force-open/db/query", bearer("s3cre"))
        assert wrong.status == 401
        assert svc.get_circuit_breaker("db", "query").state.value == "CLOSED", "refused: nothing changed"
        with caplog.at_level(logging.INFO, logger="tripwire.control"):
            right = request(server.port, "POST", f"{BASE}/force-open/db/query", bearer("s3cret"))
        assert right.status == 200
        assert svc.get_circuit_breaker("db", "query").state.value == "OPEN"
        assert len(events) == 1
        e = events[0]
        assert (e.action, e.service, e.operation, e.item_id, e.status, e.ok) == ("force-open", "db", "query", None, 200, True)
        assert e.remote_address == "127.0.0.1"
        assert any("force-open" in r.getMessage() for r in caplog.records if r.name == "tripwire.control")
    monkeypatch.setenv("TRIPWIRE_CONTROL_TOKEN", "from-env")
    with serve(svc) as server:
        assert request(server.port, "POST", f"{BASE}/reset/db", bearer("from-env")).status == 200


def test_host_origin_body_and_rate_limit() -> None:
    svc = busy_service()
    with serve(svc, token="t") as server:
        port = server.port
        rebound = request(port, "GET", f"{BASE}/health", {"Host": "attacker.example"})
        assert rebound.status == 403, "DNS rebinding: a foreign Host is refused"
        assert request(port, "GET", f"{BASE}/health", {"Host": f"localhost:{port}"}).status == 200

        cross = request(port, "POST", f"{BASE}/reset/db", {**bearer("t"), "Origin": "http://evil.example"})
        assert cross.status == 403
        assert cross.json["title"] == "Cross-origin request"
        same = request(port, "POST", f"{BASE}/reset/db", {**bearer("t"), "Origin": f"http://127.0.0.1:{port}"})
        assert same.status == 200

        big = json.dumps({"config": {"pad": "x" * (70 * 1024)}}).encode()
        declared = request(port, "PUT", f"{BASE}/config/db", {**bearer("t"), "Content-Type": "application/json"}, big)
        assert declared.status == 413
        chunked = request(port, "PUT", f"{BASE}/config/db", {**bearer("t"), "Content-Type": "application/json"}, big, chunked=True)
        assert chunked.status == 413, "a chunked body is counted as it is read"
        form = request(port, "POST", f"{BASE}/reset/db", {**bearer("t"), "Content-Type": "text/plain"}, b"hi")
        assert form.status == 415

        limited = None
        for _ in range(60):
            r = request(port, "POST", f"{BASE}/reset/db", bearer("t"))
            if r.status == 429:
                limited = r
                break
            assert r.status == 200
        assert limited is not None, "the token bucket empties"
        assert limited.headers["retry-after"].isdigit()
        assert limited.headers["content-type"].startswith("application/problem+json")


def test_every_endpoint() -> None:
    svc = busy_service()
    with serve(svc, token="t") as server:
        port = server.port
        assert server.url == f"http://127.0.0.1:{port}{BASE}"
        health = request(port, "GET", f"{BASE}/health")
        assert health.status == 200
        assert health.headers["content-security-policy"] == "default-src 'self'; frame-ancestors 'none'"
        assert health.headers["x-content-type-options"] == "nosniff"
        assert health.json["overall"] == "degraded"

        assert sorted(request(port, "GET", f"{BASE}/state").json) == ["db:query", "db:write"]
        assert list(request(port, "GET", f"{BASE}/state/db/write").json) == ["db:write"]
        assert request(port, "GET", f"{BASE}/state/db/write").json["db:write"]["state"] == "OPEN"
        nobody = request(port, "GET", f"{BASE}/state/nobody")
        assert nobody.status == 404
        assert nobody.headers["content-type"].startswith("application/problem+json")

        assert request(port, "POST", f"{BASE}/reset/db/write", bearer("t")).status == 200
        assert svc.get_circuit_breaker("db", "write").state.value == "CLOSED"
        assert request(port, "POST", f"{BASE}/force-open/db", bearer("t")).status == 200
        assert svc.get_system_health()["services"]["db"]["forced_open"] is True
        assert request(port, "POST", f"{BASE}/reset/db", bearer("t")).status == 200
        assert svc.get_system_health()["services"]["db"]["forced_open"] is False

        dlq = request(port, "GET", f"{BASE}/dead-letter-queue").json
        assert dlq["size"] == 1
        assert dlq["items"][0]["error"] == "disk full"
        retried = request(port, "POST", f"{BASE}/retry/{dlq['items'][0]['id']}", bearer("t"))
        assert retried.status == 200
        assert retried.json["succeeded"] is True
        assert svc.get_dead_letter_queue() == []
        assert request(port, "POST", f"{BASE}/retry/999", bearer("t")).status == 404

        def put(body: bytes) -> Reply:
            return request(port, "PUT", f"{BASE}/config/db", {**bearer("t"), "Content-Type": "application/json"}, body)

        ok = put(json.dumps({"bulkhead": {"max_concurrent": 3}}).encode())
        assert ok.status == 200, ok.text
        assert ok.json["bulkhead"]["max_concurrent"] == 3
        assert svc.get_service_config("db")["bulkhead"]["max_concurrent"] == 3
        camel = put(json.dumps({"bulkhead": {"maxConcurrent": 4}}).encode())
        assert camel.status == 200, "the Node package's spelling too"
        assert svc.get_service_config("db")["bulkhead"]["max_concurrent"] == 4
        bad = put(json.dumps({"config": {"failure_threshold": -1}}).encode())
        assert bad.status == 400
        assert "failure_threshold" in bad.json["detail"], "the core's message names the option"
        unknown = put(json.dumps({"config": {"failure_treshold": 2}}).encode())
        assert unknown.status == 400
        assert "failure_treshold" in unknown.json["detail"]
        assert put(b"{not json").status == 400
        assert put(b"[1]").status == 400

        prom = request(port, "GET", f"{BASE}/metrics")
        assert prom.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
        assert prom.text.startswith("# HELP tripwire_circuitbreaker_state ")
        om = request(port, "GET", f"{BASE}/metrics", {"Accept": "application/openmetrics-text; version=1.0.0"})
        assert om.headers["content-type"] == "application/openmetrics-text; version=1.0.0; charset=utf-8"
        assert om.text.endswith("# EOF\n")

        snap = request(port, "GET", f"{BASE}/snapshot").json
        assert snap["runtime"] == "python"
        assert sorted(b["name"] for b in snap["breakers"]) == ["db:query", "db:write"]

        page = request(port, "GET", f"{BASE}/dashboard")
        assert page.status == 200
        assert page.headers["content-type"].startswith("text/html")
        for name in ("tripwire-dashboard.js", "uPlot.iife.min.js", "uPlot.min.css", "dashboard.css"):
            assert request(port, "GET", f"{BASE}/dashboard/{name}").status == 200, name
        assert request(port, "GET", f"{BASE}/dashboard/../../pyproject.toml").status == 404
        head = request(port, "HEAD", f"{BASE}/health")
        assert head.status == 200 and head.body == b""

        missing = request(port, "GET", f"{BASE}/nope")
        assert missing.status == 404
        assert missing.json["type"] == "about:blank"
        method = request(port, "GET", f"{BASE}/reset/db")
        assert method.status == 405
        assert method.headers["allow"] == "POST"
        assert request(port, "GET", "/elsewhere").status == 404


def test_async_dead_letters_are_retried_with_await() -> None:
    import asyncio

    svc = CircuitBreakerService()
    down = [True]

    async def send() -> str:
        if down[0]:
            raise OSError("smtp down")
        return "sent"

    async def fail_once() -> None:
        await svc.execute_with_circuit_breaker(
            "mail", "send", send, fallback_options={"queue": True, "fallback_value": None}, retry_policy={"max_attempts": 1}
        )

    asyncio.run(fail_once())
    down[0] = False
    item = svc.get_dead_letter_queue()[0]
    with serve(svc, token="t") as server:
        r = request(server.port, "POST", f"{BASE}/retry/{item.id}", bearer("t"))
        assert r.status == 200 and r.json["succeeded"] is True
    assert svc.get_dead_letter_queue() == []


def test_serve_refuses_a_public_host_without_a_token_and_checks_options(no_env_token: None) -> None:
    with pytest.raises(ValueError, match="host"):
        serve(host="0.0.0.0")
    with pytest.raises(TypeError, match="port"):
        serve(port="x")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="port"):
        serve(port=70000)
    with pytest.raises(TypeError, match="service"):
        asgi_app(service=object())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="token"):
        wsgi_app(token=5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="base_path"):
        asgi_app(base_path="ops")
    with pytest.raises(ValueError, match="token"):
        serve(token="")


@pytest.mark.parametrize("token", ["", "secret ", "sec ret", "sécret", "x" * 1025])
def test_a_token_no_client_could_send_is_refused_when_the_app_is_made(token: str) -> None:
    # HTTP servers trim header values and read them as Latin-1; long headers are refused.
    with pytest.raises(ValueError, match="option `token`"):
        wsgi_app(token=token)


def test_a_bad_token_from_the_environment_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRIPWIRE_CONTROL_TOKEN", "from env ")
    with pytest.raises(ValueError, match="TRIPWIRE_CONTROL_TOKEN: must be visible ASCII"):
        asgi_app()
    wsgi_app(token="x" * 1024)


def test_off_loopback_reads_need_the_token() -> None:
    svc = busy_service()
    with serve(svc, host="0.0.0.0", token="t") as server:
        r = request(server.port, "GET", f"{BASE}/health", {"Host": "ops.example:1"})
        assert r.status == 401
        r = request(server.port, "GET", f"{BASE}/health", {**bearer("t"), "Host": "ops.example:1"})
        assert r.status == 200


def _mounted(app: Any) -> Any:
    from starlette.testclient import TestClient

    return TestClient(app, base_url="http://127.0.0.1")


def test_asgi_mounted_in_starlette_honours_root_path() -> None:
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Mount, Route

    svc = busy_service()
    control = asgi_app(svc, token="t")
    audit: List[str] = []
    control.on_control(lambda e: audit.append(e.action))
    app = Starlette(routes=[Route("/ops/other", lambda r: PlainTextResponse("mine")), Mount("/ops", app=control)])
    with _mounted(app) as client:
        health = client.get(f"/ops{BASE}/health")
        assert health.status_code == 200
        assert health.json()["overall"] == "degraded"
        assert client.get("/ops/other").text == "mine"
        r = client.post(f"/ops{BASE}/force-open/db", headers={**bearer("t"), "Origin": "http://127.0.0.1"})
        assert r.status_code == 200, r.text
        assert svc.get_system_health()["services"]["db"]["forced_open"] is True
        assert client.get(f"/ops{BASE}/state/db%3Ax").status_code == 404
        assert client.get(f"{BASE}/health").status_code == 404, "not at the root: below the mount point"
        page = client.get(f"/ops{BASE}/dashboard")
        assert page.status_code == 200 and 'src="dashboard/tripwire-dashboard.js"' in page.text
        assert client.get(f"/ops{BASE}/dashboard/uPlot.min.css").status_code == 200
    assert audit == ["force-open"]
    control.close()


def test_asgi_mounted_in_fastapi() -> None:
    from fastapi import FastAPI

    svc = busy_service()
    app = FastAPI()

    @app.get("/hello")
    def hello() -> Dict[str, str]:
        return {"hello": "world"}

    app.mount("/ops", asgi_app(svc, token="t"))
    with _mounted(app) as client:
        assert client.get("/hello").json() == {"hello": "world"}
        assert client.get(f"/ops{BASE}/state/db/write").json()["db:write"]["state"] == "OPEN"
        assert client.post(f"/ops{BASE}/reset/db/write", headers=bearer("t")).status_code == 200
        assert svc.get_circuit_breaker("db", "write").state.value == "CLOSED"
        assert client.post(f"/ops{BASE}/reset/db/write").status_code == 401
        put = client.put(f"/ops{BASE}/config/db", headers=bearer("t"), json={"retry_policy": {"max_attempts": 4}})
        assert put.status_code == 200, put.text
        assert svc.get_service_config("db")["retry_policy"]["max_attempts"] == 4
        metrics = client.get(f"/ops{BASE}/metrics", headers={"Accept": "application/openmetrics-text"})
        assert metrics.headers["content-type"].startswith("application/openmetrics-text")


def test_wsgi_under_wsgiref() -> None:
    svc = busy_service()
    app = wsgi_app(svc, token="t")
    events: List[ControlEvent] = []
    app.on_control(events.append)

    class Quiet(wsgiref.simple_server.WSGIRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

    server = wsgiref.simple_server.make_server("127.0.0.1", 0, app, handler_class=Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_port
        assert request(port, "GET", f"{BASE}/health").json["overall"] == "degraded"
        assert request(port, "POST", f"{BASE}/force-open/db/query", bearer("t")).status == 200
        assert svc.get_circuit_breaker("db", "query").state.value == "OPEN"
        ok = request(port, "PUT", f"{BASE}/config/db", {**bearer("t"), "Content-Type": "application/json"}, b'{"bulkhead": {"queue_size": 7}}')
        assert ok.status == 200, ok.text
        assert svc.get_service_config("db")["bulkhead"]["queue_size"] == 7
        assert request(port, "GET", f"{BASE}/state/db/query").json["db:query"]["forced_open"] is True
        assert request(port, "GET", f"{BASE}/nope").status == 404
        assert request(port, "GET", f"{BASE}/health", {"Host": "evil.example"}).status == 403
    finally:
        server.shutdown()
        server.server_close()
    assert [e.action for e in events] == ["force-open", "config"]


def test_names_are_percent_decoded_once() -> None:
    svc = CircuitBreakerService()
    svc.get_circuit_breaker("a/b", "c:d")
    with serve(svc, token="t") as server:
        r = request(server.port, "GET", f"{BASE}/state/a%2Fb/c%3Ad")
        assert r.status == 200, r.text
        assert list(r.json) == ["a/b:c%3Ad"]


def test_health_asgi_app_honours_root_path() -> None:
    from starlette.applications import Starlette
    from starlette.routing import Mount

    manager = tripwire.HealthCheckManager(service_name="svc", version="1.0")
    handlers = tripwire.create_health_check_handler(manager)
    app = Starlette(routes=[Mount("/ops", app=handlers.asgi)])
    with _mounted(app) as client:
        assert client.get("/ops/health/liveness").status_code == 200
        assert client.get("/ops/health").status_code == 200
        assert client.get("/ops/nope").status_code == 404


def test_two_servers_on_one_service() -> None:
    """Two servers on one service at once: each has its own rate limit and feed."""
    svc = busy_service()
    with serve(svc, token="t") as a, serve(svc, token="t") as b:
        assert a.port != b.port
        assert request(a.port, "GET", f"{BASE}/snapshot").json["runtime"] == "python"
        assert request(b.port, "GET", f"{BASE}/snapshot").json["runtime"] == "python"
    assert os.getpid() > 0


Send = Callable[[str, str, Dict[str, str], bytes], Reply]


def asgi_send(app: Any) -> Send:
    """Requests straight into an ASGI app, headers as given (a client library would
    refuse some of them)."""

    def send(method: str, path: str, headers: Dict[str, str], body: bytes) -> Reply:
        sent: List[Dict[str, Any]] = []

        async def receive() -> Dict[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        async def out(message: Dict[str, Any]) -> None:
            sent.append(message)

        raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in {"Host": "127.0.0.1", **headers}.items()]
        scope = {"type": "http", "method": method, "path": path, "raw_path": path.encode(), "root_path": "", "headers": raw, "client": ("127.0.0.1", 1)}
        asyncio.run(app(scope, receive, out))
        start, whole = sent
        return Reply(start["status"], {k.decode(): v.decode() for k, v in start["headers"]}, whole["body"])

    return send


def wsgi_send(app: Any) -> Send:
    """Requests straight into a WSGI app, headers as given."""

    def send(method: str, path: str, headers: Dict[str, str], body: bytes) -> Reply:
        environ: Dict[str, Any] = {"REQUEST_METHOD": method, "PATH_INFO": path, "REMOTE_ADDR": "127.0.0.1", "wsgi.input": io.BytesIO(body)}
        for k, v in {"Host": "127.0.0.1", "Content-Length": str(len(body)), **headers}.items():
            key = k.upper().replace("-", "_")
            environ[key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else f"HTTP_{key}"] = v
        started: List[Tuple[str, List[Tuple[str, str]]]] = []
        data = b"".join(app(environ, lambda status, out: started.append((status, out))))
        status, out = started[0]
        return Reply(int(status.split()[0]), {k.lower(): v for k, v in out}, data)

    return send


def serve_send(port: int) -> Send:
    """Requests over a real socket to a ``serve()`` server."""
    return lambda method, path, headers, body: request(port, method, path, headers, body)


@pytest.fixture(params=["serve", "asgi", "wsgi"])
def send(request: pytest.FixtureRequest) -> Iterator[Send]:
    """Each entry point over one service, token "t"."""
    svc = busy_service()
    if request.param == "serve":
        with serve(svc, token="t") as server:
            yield serve_send(server.port)
        return
    app = asgi_app(svc, token="t") if request.param == "asgi" else wsgi_app(svc, token="t")
    yield asgi_send(app) if request.param == "asgi" else wsgi_send(app)
    app.close()


@pytest.mark.parametrize("length", ["\u00b2", "+2", "2_0", "-1", "0x2", "2, 2"])
def test_a_content_length_that_is_not_digits_is_a_400(send: Send, length: str) -> None:
    # "²" passes str.isdigit() but not int(); int() takes "+2" and "2_0".
    for method, path in (("GET", f"{BASE}/health"), ("PUT", f"{BASE}/config/db")):
        headers = {**bearer("t"), "Content-Type": "application/json", "Content-Length": length}
        r = send(method, path, headers, b"{}")
        assert r.status == 400, (method, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert "Content-Length" in r.json["detail"]


@pytest.mark.parametrize("length", ["99999999999999999999999", "1" * 5000])
def test_an_absurd_content_length_is_too_large(send: Send, length: str) -> None:
    # Past 2^64 the core's parameter overflowed; past 4300 digits int() refuses.
    headers = {**bearer("t"), "Content-Type": "application/json", "Content-Length": length}
    r = send("PUT", f"{BASE}/config/db", headers, b"{}")
    assert r.status == 413, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert send("GET", f"{BASE}/health", {"Content-Length": length}, b"").status == 200, "a read has no body to refuse"
    ok = send("PUT", f"{BASE}/config/db", {**headers, "Content-Length": "00002"}, b"{}")
    assert ok.status == 200, ok.text


def test_a_json_body_nested_too_deeply_is_a_400(send: Send) -> None:
    body = b"[" * 20000 + b"]" * 20000
    r = send("PUT", f"{BASE}/config/db", {**bearer("t"), "Content-Type": "application/json"}, body)
    assert r.status == 400, r.text
    assert "nested too deeply" in r.json["detail"]


@pytest.mark.parametrize("size", [b"-1", b"-0", b"zz", b"0x2", b"", b"1" * 17])
def test_serve_answers_a_malformed_chunk_size_with_a_400(size: bytes) -> None:
    # int(_, 16) took "-1" and "0x2"; rfile.read(-1) then read until the client closed,
    # past the 64 KiB limit, and the request ran.
    with serve(busy_service(), token="t") as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as s:
            s.sendall(
                b"PUT " + BASE.encode() + b"/config/db HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer t\r\n"
                b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" + size + b"\r\n"
            )
            s.shutdown(socket.SHUT_WR)
            answer = b""
            while True:
                data = s.recv(65536)
                if not data:
                    break
                answer += data
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 "), answer
    assert b"content-type: application/problem+json" in head.lower()
    assert "chunk size" in json.loads(body)["detail"]
