"""Seed 004's control API over a ``CircuitBreakerService``: an ASGI app (Starlette,
FastAPI, any ASGI server; ``root_path`` honoured), a WSGI app, and ``serve()``, a
loopback HTTP server of its own on a thread.

Every decision (routes, token, ``Host``, ``Origin``, body, rate limit, the
``application/problem+json`` bodies) is the Rust core's (``tripwire_core::control``
through ``tripwire._core.Control``); this module reads requests, runs routes against
the service and writes responses. Every mutation (reset, force-open, retry, config)
calls the ``on_control`` listeners with a ``ControlEvent`` and is logged on the
``tripwire.control`` logger.

Endpoints under ``base_path`` (default ``/api/circuit-breaker``): ``GET /health``,
``GET /state[/service[/operation]]``, ``POST /reset/service[/operation]``,
``POST /force-open/service[/operation]``, ``GET /dead-letter-queue``,
``POST /retry/<id>``, ``PUT /config/service`` (a JSON object, as
``update_service_config`` takes), ``GET /metrics`` (OpenMetrics when ``Accept`` asks
for it), ``GET /snapshot``, ``GET /dashboard``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import ipaddress
import json
import logging
import os
import pathlib
import re
import socket
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Awaitable, Callable, Dict, Iterable, List, Mapping, Optional, Tuple, Union

from tripwire import _core, _logger as _tw_log
from tripwire._metrics import metrics_content_type, metrics_text
from tripwire.service import Alert, CircuitBreakerService

__all__ = [
    "MAX_BODY",
    "ControlApp",
    "ControlEvent",
    "ControlServer",
    "ControlWSGIApp",
    "asgi_app",
    "serve",
    "wsgi_app",
]

MAX_BODY = 64 * 1024
"""The largest request body accepted (bytes)."""
DEFAULT_BASE_PATH = "/api/circuit-breaker"

_log = logging.getLogger("tripwire.control")
_DASHBOARD = pathlib.Path(__file__).resolve().parent / "dashboard"
_PROBLEM = "application/problem+json"
_JSON = "application/json; charset=utf-8"
_ASSETS: Dict[str, Tuple[str, str]] = {
    "": ("index.html", "text/html; charset=utf-8"),
    "tripwire-dashboard.js": ("tripwire-dashboard.js", "text/javascript; charset=utf-8"),
    "dashboard.css": ("dashboard.css", "text/css; charset=utf-8"),
    "uPlot.iife.min.js": ("vendor/uPlot.iife.min.js", "text/javascript; charset=utf-8"),
    "uPlot.min.css": ("vendor/uPlot.min.css", "text/css; charset=utf-8"),
}
_asset_cache: Dict[str, bytes] = {}

Headers = List[Tuple[str, str]]
Response = Tuple[int, Headers, bytes]
"""``(status, headers, body)``"""


@dataclasses.dataclass(frozen=True)
class ControlEvent:
    """One mutation the control API ran (an audit record): ``action`` is ``reset``,
    ``force-open``, ``retry`` or ``config``; ``status`` the HTTP status answered."""

    action: str
    service: Optional[str]
    operation: Optional[str]
    item_id: Optional[int]
    status: int
    ok: bool
    remote_address: Optional[str]
    timestamp: float


ControlListener = Callable[[ControlEvent], Any]


_MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _asset(name: str) -> bytes:
    body = _asset_cache.get(name)
    if body is None:
        body = (_DASHBOARD / _ASSETS[name][0]).read_bytes()
        _asset_cache[name] = body
    return body


def _settings(service: Optional[CircuitBreakerService], token: Optional[str], base_path: str) -> Tuple[CircuitBreakerService, Optional[str], str]:
    """The options every entry point shares, checked (TypeError / ValueError naming them)."""
    if service is None:
        from tripwire.service import circuit_breaker_service

        service = circuit_breaker_service
    if not isinstance(service, CircuitBreakerService):
        raise TypeError(f"invalid option `service`: must be a CircuitBreakerService, not {type(service).__name__}")
    what = "option `token`"
    if token is None:
        token = os.environ.get("TRIPWIRE_CONTROL_TOKEN") or None
        what = "TRIPWIRE_CONTROL_TOKEN"
    elif not isinstance(token, str):
        raise TypeError(f"invalid option `token`: must be a str, not {type(token).__name__}")
    problem = None if token is None else _core._control_token_problem(token)
    if problem is not None:
        raise ValueError(f"invalid {what}: {problem}")
    if not isinstance(base_path, str):
        raise TypeError(f"invalid option `base_path`: must be a str, not {type(base_path).__name__}")
    if base_path != "" and not base_path.startswith("/"):
        raise ValueError(f"invalid option `base_path`: must start with '/', not {base_path!r}")
    return service, token, base_path


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _stats_dict(name: str, service: str, operation: Optional[str], breaker: Any) -> Dict[str, Any]:
    stats = dataclasses.asdict(breaker.stats)
    stats["state"] = breaker.stats.state.value
    return {"name": name, "service": service, "operation": operation, **stats}


class _BadRequest(Exception):
    """A request whose framing cannot be read (its ``Content-Length``, a chunk size):
    answered 400 with the message."""


def _content_length(value: Optional[str]) -> Optional[int]:
    """A ``Content-Length`` value as the body's readers use it: None when absent, capped
    at ``MAX_BODY + 1`` (too large, however large); ``_BadRequest`` unless digits."""
    if value is None:
        return None
    value = value.strip(" \t")
    # isdigit() alone takes "²", which int() refuses; int() alone takes "+1" and "1_0".
    if not (value.isascii() and value.isdigit()):
        raise _BadRequest("the Content-Length header is not a number of bytes")
    # No int() of an absurd number of digits (Python refuses past 4300).
    if len(value.lstrip("0")) > len(str(MAX_BODY)):
        return MAX_BODY + 1
    return min(int(value), MAX_BODY + 1)


_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,16}")


def _message(error: BaseException) -> str:
    if isinstance(error, KeyError) and error.args:
        return str(error.args[0])
    return str(error)


class _Request:
    """The parts of a request the control API reads (header names lower case)."""

    __slots__ = ("method", "path", "headers", "remote_address")

    def __init__(self, method: str, path: str, headers: Mapping[str, str], remote_address: Optional[str]) -> None:
        self.method = method
        self.path = path
        self.headers = headers
        self.remote_address = remote_address


class _ControlCore:
    """One control API: the core's decisions (a ``_core.Control``), the service, the
    audit listeners."""

    def __init__(
        self,
        service: Optional[CircuitBreakerService],
        token: Optional[str],
        base_path: str,
        loopback: bool,
        logger: Optional[Any] = None,
    ) -> None:
        self.service, token, base_path = _settings(service, token, base_path)
        # Mutations log through it (else tripwire's own: set_logger() / TRIPWIRE_LOG).
        self.logger = _tw_log.check_logger(logger)
        self.control = _core.Control(base_path, token, loopback)
        self.common: Headers = list(self.control.headers())
        self.listeners: List[ControlListener] = []
        # The dashboard's alert feed: the service's alerts from now on.
        self.service.on_alert(self._on_alert)

    def _on_alert(self, alert: Alert) -> None:
        self.control.push_alert(alert.type, alert.service, alert.operation, alert.message, time.time() * 1000)

    def close(self) -> None:
        try:
            self.service._listeners.remove(self._on_alert)
        except ValueError:
            pass

    # -- responses ---------------------------------------------------------------------

    def respond(self, status: int, content_type: str, body: Union[str, bytes], extra: Iterable[Tuple[str, str]] = ()) -> Response:
        data = body.encode("utf-8") if isinstance(body, str) else body
        return status, [("Content-Type", content_type), *self.common, *extra], data

    def problem(self, whole: Tuple[int, List[Tuple[str, str]], str]) -> Response:
        status, headers, body = whole
        return self.respond(status, _PROBLEM, body, headers)

    def json(self, value: Any, status: int = 200) -> Response:
        return self.respond(status, _JSON, json.dumps(value, default=str))

    def not_found(self) -> Response:
        return self.problem(self.control.error(404, "no such control endpoint"))

    # -- requests ----------------------------------------------------------------------

    def decide(self, request: _Request) -> Union[None, Response, Tuple[Any, ...]]:
        """None (outside the base path), a whole response, or a route to run."""
        h = request.headers
        try:
            length = _content_length(h.get("content-length"))
        except _BadRequest as error:
            kind, value = "respond", self.control.error(400, str(error))
        else:
            kind, value = self.control.route(
                request.method,
                request.path,
                h.get("host"),
                h.get("origin"),
                h.get("authorization"),
                h.get("content-type"),
                length,
                h.get("accept"),
            )
        if kind == "not-mine":
            return None
        if kind == "respond":
            if request.method in _MUTATING:
                # A refused mutation (token, Host, Origin, rate limit...) is logged too.
                self.log("refused", {"method": request.method, "path": request.path}, value[0], request)
            return self.problem(value)
        route: Tuple[Any, ...] = value
        return route

    def run(self, route: Tuple[Any, ...], body: Optional[bytes]) -> Union[Response, Awaitable[Response]]:
        """Runs a route; an awaitable when it must await (a retry of an async call)."""
        kind, _, _, service, operation, item_id, open_metrics, asset = route
        svc = self.service
        try:
            if kind == "health":
                return self.json(svc.get_system_health())
            if kind == "state":
                out = {}
                for name, s, op, breaker in svc._core.circuits():
                    if service is not None and s != service:
                        continue
                    if operation is not None and (op or "") != operation:
                        continue
                    out[name] = _stats_dict(name, s, op, breaker)
                if service is not None and not out:
                    what = f"service {service!r}" if operation is None else f"breaker {service!r}/{operation!r}"
                    return self.problem(self.control.error(404, f"no {what}"))
                return self.json(out)
            if kind == "reset":
                svc.reset_circuit_breaker(service, operation)
                return self.json({"action": "reset", "service": service, "operation": operation})
            if kind == "force-open":
                svc.force_circuit_breaker_open(service, operation)
                return self.json({"action": "force-open", "service": service, "operation": operation})
            if kind == "dead-letter-queue":
                stats = svc.get_dead_letter_stats()
                items = [
                    {"id": i, "service": s, "operation": op, "attempts": a, "error": e, "timestamp": t / 1000}
                    for i, s, op, a, e, t in self.letters()
                ]
                return self.json({**stats, "items": items})
            if kind == "retry":
                return self.retry(item_id)
            if kind == "config":
                return self.config(service, body)
            if kind == "metrics":
                fmt = "openmetrics" if open_metrics else "prometheus"
                return self.respond(200, metrics_content_type(fmt), metrics_text(fmt), [("Vary", "Accept")])
            if kind == "snapshot":
                text = self.control.snapshot(svc._core, time.time() * 1000, self.letters(), _core.__version__)
                return self.respond(200, _JSON, text)
            if kind == "dashboard":
                return self.respond(200, _ASSETS[""][1], _asset(""))
            if kind == "asset":
                return self.respond(200, _ASSETS[asset][1], _asset(asset))
        except (TypeError, ValueError) as error:
            return self.problem(self.control.error(400, _message(error)))
        except Exception as error:
            _log.exception("tripwire.control: %s failed", kind)
            return self.problem(self.control.error(500, _message(error)))
        return self.not_found()

    def retry(self, item_id: int) -> Union[Response, Awaitable[Response]]:
        svc = self.service
        item = next((d for d in svc.get_dead_letter_queue() if d.id == item_id), None)
        if item is None:
            return self.problem(self.control.error(404, f"no dead-letter item {item_id}"))
        if inspect.iscoroutinefunction(item.fn):

            async def retried() -> Response:
                try:
                    await svc.retry_dead_letter_item(item_id)
                except BaseException as error:
                    return self.retry_failed(item_id, error)
                return self.json({"id": item_id, "succeeded": True})

            return retried()
        try:
            svc.retry_dead_letter_item(item_id)
        except BaseException as error:
            return self.retry_failed(item_id, error)
        return self.json({"id": item_id, "succeeded": True})

    def retry_failed(self, item_id: int, error: BaseException) -> Response:
        if isinstance(error, KeyError):
            return self.problem(self.control.error(404, f"no dead-letter item {item_id}"))
        if isinstance(error, RuntimeError) and "being retried" in str(error):
            return self.problem(self.control.error(409, str(error)))
        if not isinstance(error, Exception):
            raise error
        return self.json({"id": item_id, "succeeded": False, "error": str(error)})

    def config(self, service: str, body: Optional[bytes]) -> Response:
        update: Any = {}
        if body:
            try:
                update = json.loads(body.decode("utf-8"))
            except (UnicodeDecodeError, ValueError) as error:
                return self.problem(self.control.error(400, f"the body is not JSON: {error}"))
            except RecursionError:
                return self.problem(self.control.error(400, "the body is not acceptable JSON: it is nested too deeply"))
        if not isinstance(update, dict):
            return self.problem(
                self.control.error(
                    400,
                    "the body must be a JSON object (as update_service_config takes), "
                    f"not {'an array' if isinstance(update, list) else type(update).__name__}",
                )
            )
        self.service._core.update(service, update)
        return self.json(self.service.get_service_config(service))

    def letters(self) -> List[Tuple[int, str, str, int, str, float]]:
        """The dead letters as the dashboard lists them (times in epoch ms)."""
        return [
            (d.id, d.service, d.operation or "", d.attempts, str(d.error), d.timestamp * 1000)
            for d in self.service.get_dead_letter_queue()
        ]

    def audit(self, route: Tuple[Any, ...], status: int, request: _Request) -> None:
        event = ControlEvent(
            action=route[1],
            service=route[3],
            operation=route[4],
            item_id=route[5],
            status=status,
            ok=status < 400,
            remote_address=request.remote_address,
            timestamp=time.time(),
        )
        _log.info(
            "tripwire control: %s service=%r operation=%r item=%r -> %d (from %s)",
            event.action,
            event.service,
            event.operation,
            event.item_id,
            status,
            event.remote_address,
        )
        target = {k: v for k, v in (("serviceName", event.service), ("operation", event.operation), ("itemId", event.item_id)) if v is not None}
        self.log(event.action, target, status, request)
        for listener in list(self.listeners):
            try:
                listener(event)
            except Exception:
                _log.exception("tripwire.control: an on_control listener raised")

    def log(self, action: str, target: Dict[str, Any], status: int, request: _Request) -> None:
        """tripwire's line for a mutation: what, on which breaker, the outcome (never the token)."""
        what = target.get("path") or "/".join(str(target[k]) for k in ("serviceName", "operation") if k in target)
        item = f" item {target['itemId']}" if "itemId" in target else ""
        method = f" {target['method']}" if "method" in target else ""
        fields: Dict[str, Any] = {"event": "control", "action": action, **target, "status": status, "ok": status < 400}
        if request.remote_address is not None:
            fields["remoteAddress"] = request.remote_address
        message = f"Control API: {action}{method}{' ' + what if what else ''}{item} answered {status}"
        _tw_log.emit(self.logger, "info" if status < 400 else "warn", message, fields)

    def handle_sync(self, request: _Request, read_body: Callable[[], Optional[bytes]]) -> Optional[Response]:
        """Answers a request on this thread (WSGI, ``serve``); None outside the base path.
        ``read_body`` answers None for a body too large, raises ``_BadRequest`` for one
        it cannot read."""
        decided = self.decide(request)
        if decided is None or not isinstance(decided[0], str):
            return decided
        route = decided
        body = None
        if route[2]:
            try:
                body = read_body()
            except _BadRequest as error:
                return self.problem(self.control.error(400, str(error)))
            if body is None:
                return self.problem(self.control.too_large())
        response = self.run(route, body)
        if inspect.isawaitable(response):
            response = asyncio.run(_awaited(response))
        return self.finish(route, response, request)

    async def handle_async(self, request: _Request, read_body: Callable[[], Awaitable[Optional[bytes]]]) -> Optional[Response]:
        """Answers a request in the event loop (ASGI); None outside the base path."""
        decided = self.decide(request)
        if decided is None or not isinstance(decided[0], str):
            return decided
        route = decided
        body = None
        if route[2]:
            body = await read_body()
            if body is None:
                return self.problem(self.control.too_large())
        response = self.run(route, body)
        if inspect.isawaitable(response):
            response = await response
        return self.finish(route, response, request)

    def finish(self, route: Tuple[Any, ...], response: Response, request: _Request) -> Response:
        if route[2]:
            self.audit(route, response[0], request)
        if request.method == "HEAD":
            response = (response[0], response[1], b"")
        return response


async def _awaited(awaitable: Awaitable[Response]) -> Response:
    return await awaitable


class _Audited:
    """The listener methods the apps and the server share."""

    _core: _ControlCore

    @property
    def base_path(self) -> str:
        """The base path, without a trailing ``/``."""
        return str(self._core.control.base_path)

    def on_control(self, listener: ControlListener) -> ControlListener:
        """Adds an audit listener, called with a ``ControlEvent`` after every mutation
        (usable as a decorator); returns it."""
        if not callable(listener):
            raise TypeError("on_control needs a callable (event) -> None")
        self._core.listeners.append(listener)
        return listener

    def remove_control_listener(self, listener: ControlListener) -> None:
        """Removes a listener added with ``on_control``."""
        self._core.listeners.remove(listener)


# -- ASGI ----------------------------------------------------------------------------------


def _asgi_path(scope: Mapping[str, Any]) -> str:
    """The request's path below the mount point (``root_path``), still percent-encoded."""
    root = scope.get("root_path", "") or ""
    raw = scope.get("raw_path")
    if raw:
        path = raw.decode("latin-1").split("?", 1)[0]
        quoted_root = urllib.parse.quote(root)
        if root and path.startswith(quoted_root):
            path = path[len(quoted_root) :]
        return path or "/"
    path = scope.get("path", "") or ""
    if root and path.startswith(root):
        path = path[len(root) :]
    return urllib.parse.quote(path) or "/"


class ControlApp(_Audited):
    """The control API as an ASGI app (made by ``asgi_app``). Paths outside the base
    path answer 404 (mount it where it belongs). ``close()`` stops feeding the
    dashboard's alert feed."""

    def __init__(
        self, service: Optional[CircuitBreakerService], token: Optional[str], base_path: str, loopback: bool, logger: Optional[Any] = None
    ) -> None:
        self._core = _ControlCore(service, token, base_path, loopback, logger)

    def close(self) -> None:
        """Detaches from the service's alerts."""
        self._core.close()

    async def __call__(self, scope: Dict[str, Any], receive: Callable[[], Awaitable[Any]], send: Callable[[Any], Awaitable[None]]) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", ())}
        client = scope.get("client")
        request = _Request(scope.get("method", "GET"), _asgi_path(scope), headers, client[0] if client else None)

        async def read_body() -> Optional[bytes]:
            chunks: List[bytes] = []
            size = 0
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    break
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > MAX_BODY:
                    return None
                chunks.append(chunk)
                if not message.get("more_body", False):
                    break
            return b"".join(chunks)

        response = await self._core.handle_async(request, read_body)
        if response is None:
            response = self._core.not_found()
        status, out, body = response
        raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in out]
        raw.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": raw})
        await send({"type": "http.response.body", "body": body})


async def _lifespan(receive: Callable[[], Awaitable[Any]], send: Callable[[Any], Awaitable[None]]) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def asgi_app(
    service: Optional[CircuitBreakerService] = None,
    token: Optional[str] = None,
    base_path: str = DEFAULT_BASE_PATH,
    *,
    loopback: bool = True,
    logger: Optional[Any] = None,
) -> ControlApp:
    """The control API as an ASGI app, answering under ``base_path`` below where it is
    mounted (``root_path`` honoured: ``Mount("/ops", app)`` answers at
    ``/ops/api/circuit-breaker/...``).

    ``service``: default ``tripwire.circuit_breaker_service``. ``token``: the bearer
    token mutations need (default ``TRIPWIRE_CONTROL_TOKEN``; none: every mutation is
    refused with 403). ``loopback`` (default True) is for an app reached on loopback
    only: reads need no token and the ``Host`` must be a loopback name; pass False when
    the app is reachable beyond loopback, and reads need the token too. ``logger``: logs
    every mutation, refused ones too (default: tripwire's own, ``set_logger()``)."""
    if not isinstance(loopback, bool):
        raise TypeError(f"invalid option `loopback`: must be a bool, not {type(loopback).__name__}")
    return ControlApp(service, token, base_path, loopback, logger)


# -- WSGI ----------------------------------------------------------------------------------


def _wsgi_path(environ: Mapping[str, Any]) -> str:
    script = environ.get("SCRIPT_NAME", "") or ""
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw:
        path = str(raw).split("?", 1)[0]
        if "://" in path:
            path = "/" + path.split("://", 1)[1].partition("/")[2]
        quoted = urllib.parse.quote(script)
        if script and path.startswith(quoted):
            path = path[len(quoted) :]
        return path or "/"
    # PATH_INFO is decoded (as latin-1 text of the bytes): encoded again for the core.
    info = environ.get("PATH_INFO", "") or ""
    return urllib.parse.quote(info.encode("latin-1"), safe="/") or "/"


class ControlWSGIApp(_Audited):
    """The control API as a WSGI app (made by ``wsgi_app``)."""

    def __init__(
        self, service: Optional[CircuitBreakerService], token: Optional[str], base_path: str, loopback: bool, logger: Optional[Any] = None
    ) -> None:
        self._core = _ControlCore(service, token, base_path, loopback, logger)

    def close(self) -> None:
        """Detaches from the service's alerts."""
        self._core.close()

    def __call__(self, environ: Dict[str, Any], start_response: Callable[..., Any]) -> List[bytes]:
        headers = {k[5:].replace("_", "-").lower(): str(v) for k, v in environ.items() if k.startswith("HTTP_")}
        for key, name in (("CONTENT_TYPE", "content-type"), ("CONTENT_LENGTH", "content-length")):
            if environ.get(key):
                headers[name] = str(environ[key])
        request = _Request(environ.get("REQUEST_METHOD", "GET"), _wsgi_path(environ), headers, environ.get("REMOTE_ADDR"))

        def read_body() -> Optional[bytes]:
            stream = environ.get("wsgi.input")
            if stream is None:
                return b""
            length = _content_length(headers.get("content-length"))
            if length is not None:
                data = stream.read(length)
            else:
                data = stream.read(MAX_BODY + 1) if environ.get("wsgi.input_terminated") else b""
            return None if len(data) > MAX_BODY else data

        response = self._core.handle_sync(request, read_body)
        if response is None:
            response = self._core.not_found()
        status, out, body = response
        reason = _REASONS.get(status, "Status")
        start_response(f"{status} {reason}", [*out, ("Content-Length", str(len(body)))])
        return [body]


_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Payload Too Large",
    415: "Unsupported Media Type",
    429: "Too Many Requests",
    500: "Internal Server Error",
}


def wsgi_app(
    service: Optional[CircuitBreakerService] = None,
    token: Optional[str] = None,
    base_path: str = DEFAULT_BASE_PATH,
    *,
    loopback: bool = True,
    logger: Optional[Any] = None,
) -> ControlWSGIApp:
    """The control API as a WSGI app, answering under ``base_path`` below its
    ``SCRIPT_NAME``. Options as ``asgi_app``."""
    if not isinstance(loopback, bool):
        raise TypeError(f"invalid option `loopback`: must be a bool, not {type(loopback).__name__}")
    return ControlWSGIApp(service, token, base_path, loopback, logger)


# -- serve() -------------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    server_version = "tripwire"
    protocol_version = "HTTP/1.1"
    core: _ControlCore

    def log_message(self, format: str, *args: Any) -> None:
        _log.debug("tripwire.control: " + format, *args)

    def _read_chunked(self) -> Optional[bytes]:
        chunks: List[bytes] = []
        size = 0
        while True:
            field = self.rfile.readline(1024).split(b";", 1)[0].strip()
            # Hex digits only, at most 2^64: int(_, 16) takes "-1", and rfile.read(-1) reads
            # until the client closes, past the body limit.
            if not _CHUNK_SIZE.fullmatch(field):
                self.close_connection = True
                raise _BadRequest("a chunk size of the body is not a hexadecimal number")
            n = int(field, 16)
            if n == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks)
            size += n
            if size > MAX_BODY:
                self.close_connection = True
                return None
            chunks.append(self.rfile.read(n))
            self.rfile.readline(1024)

    def _handle(self) -> None:
        headers = {k.lower(): v for k, v in self.headers.items()}
        request = _Request(self.command, self.path, headers, self.client_address[0] if self.client_address else None)

        def read_body() -> Optional[bytes]:
            if "chunked" in headers.get("transfer-encoding", "").lower():
                return self._read_chunked()
            length = _content_length(headers.get("content-length"))
            if length is None:
                return b""
            if length > MAX_BODY:
                self.close_connection = True
                return None
            return self.rfile.read(length)

        response = self.core.handle_sync(request, read_body)
        if response is None:
            response = self.core.not_found()
        status, out, body = response
        # A body the route did not read (a refusal): the connection cannot be reused.
        if headers.get("content-length", "0") not in ("", "0") or "transfer-encoding" in headers:
            self.close_connection = True
        self.send_response(status)
        for k, v in out:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _handle


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False


class _Server6(_Server):
    address_family = socket.AF_INET6


class ControlServer(_Audited):
    """A running control API (made by ``serve``): ``url`` (the base path's URL),
    ``port``, ``host``; ``close()`` stops it."""

    def __init__(self, core: _ControlCore, host: str, port: int) -> None:
        self._core = core
        handler = type("TripwireControlHandler", (_Handler,), {"core": core})
        cls = _Server6 if ":" in host else _Server
        self._server = cls((host, port), handler)
        self.host: str = str(self._server.server_address[0])
        self.port: int = int(self._server.server_address[1])
        shown = f"[{self.host}]" if ":" in self.host else self.host
        self.url: str = f"http://{shown}:{self.port}{core.control.base_path}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="tripwire-control", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stops serving (waits for the serving thread) and detaches from the service."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
        self._core.close()

    def __enter__(self) -> ControlServer:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<ControlServer {self.url}>"


def serve(
    service: Optional[CircuitBreakerService] = None,
    host: str = "127.0.0.1",
    port: int = 0,
    token: Optional[str] = None,
    *,
    base_path: str = DEFAULT_BASE_PATH,
    logger: Optional[Any] = None,
) -> ControlServer:
    """Serves the control API on a thread of its own (the standard library's HTTP
    server): ``host`` (default 127.0.0.1; a non-loopback host needs a token, from the
    argument or ``TRIPWIRE_CONTROL_TOKEN``, and then reads need it too), ``port``
    (default 0: any free port). Returns a ``ControlServer`` (``url``, ``port``,
    ``close()``; a context manager)."""
    if not isinstance(host, str) or host == "":
        raise TypeError(f"invalid option `host`: must be a host name or address, not {host!r}")
    if isinstance(port, bool) or not isinstance(port, int):
        raise TypeError(f"invalid option `port`: must be an int, not {type(port).__name__}")
    if not 0 <= port <= 65535:
        raise ValueError(f"invalid option `port`: must be in 0..65535, not {port}")
    loopback = _is_loopback(host)
    core = _ControlCore(service, token, base_path, loopback, logger)
    if not loopback and not _has_token(token):
        core.close()
        raise ValueError(
            f"invalid option `host`: {host} is not a loopback address; serving beyond loopback needs a "
            "`token` (or TRIPWIRE_CONTROL_TOKEN)"
        )
    try:
        return ControlServer(core, host, port)
    except BaseException:
        core.close()
        raise


def _has_token(token: Optional[str]) -> bool:
    return bool(token) or bool(os.environ.get("TRIPWIRE_CONTROL_TOKEN"))
