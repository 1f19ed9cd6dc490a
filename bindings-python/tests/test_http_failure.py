"""tripwire.http_failure: the core's HTTP status rule (>= 500 or 429 fail, other 4xx
do not) for real responses from a local server, and a breaker that opens on 503s."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

import tripwire

httpx = pytest.importorskip("httpx2", reason="httpx2 is pinned in scripts/setup-python.sh")


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802
        status = {"/ok": 200, "/down": 503, "/busy": 429, "/missing": 404}.get(self.path, 500)
        self.send_response(status)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def base():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_the_status_rule_on_real_responses(base: str) -> None:
    with httpx.Client() as client:
        assert tripwire.http_failure(client.get(f"{base}/down"))
        assert tripwire.http_failure(client.get(f"{base}/busy"))
        assert not tripwire.http_failure(client.get(f"{base}/missing"))
        assert not tripwire.http_failure(client.get(f"{base}/ok"))
    with pytest.raises(TypeError, match="status_code"):
        tripwire.http_failure(object())


def test_a_breaker_opens_on_503s(base: str) -> None:
    breaker = tripwire.CircuitBreaker("http-failure-503", failure_threshold=2)

    class Upstream(Exception):
        pass

    @breaker
    def get(path: str) -> int:
        with httpx.Client() as client:
            response = client.get(f"{base}{path}")
        if tripwire.http_failure(response):
            raise Upstream(response.status_code)
        return response.status_code

    assert get("/missing") == 404
    for _ in range(2):
        with pytest.raises(Upstream):
            get("/down")
    with pytest.raises(tripwire.CircuitBreakerOpenError):
        get("/ok")
