"""Seed 000's health checks: a manager that runs checks (sync or async, each with a
timeout), aggregates them in the Rust core (``tripwire._core.check_health``) and
reports every registered breaker; handlers for liveness, readiness and health
(Lambda-style dicts and an ASGI app); ready-made checks.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import os
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Awaitable, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

from tripwire import _core

__all__ = [
    "HealthCheck",
    "HealthCheckHandlers",
    "HealthCheckManager",
    "create_env_var_health_check",
    "create_health_check_handler",
    "create_http_health_check",
    "create_memory_health_check",
]

CheckResult = Union[bool, Tuple[bool, str], Mapping[str, Any]]
CheckFunction = Callable[[], Union[CheckResult, Awaitable[CheckResult]]]


@dataclass(frozen=True)
class HealthCheck:
    """A named check. ``check()`` returns ``(healthy, message)``, a dict with
    ``healthy`` and ``message``, or a bool, and may be async. A critical check failing
    makes the report unhealthy; a non-critical one, degraded. ``timeout`` (seconds)
    overrides the manager's."""

    name: str
    check: CheckFunction
    critical: bool = True
    timeout: Optional[float] = None


def _verdict(result: Any) -> Tuple[bool, str]:
    if isinstance(result, bool):
        return result, "ok" if result else "check failed"
    if isinstance(result, tuple) and len(result) == 2:
        return bool(result[0]), str(result[1])
    if isinstance(result, Mapping):
        healthy = bool(result.get("healthy", False))
        return healthy, str(result.get("message", "ok" if healthy else "check failed"))
    raise TypeError(f"a health check must return (healthy, message), a dict or a bool, not {type(result).__name__}")


class HealthCheckManager:
    """Runs registered checks and reports the service's health (seed 000)."""

    def __init__(
        self,
        *,
        service_name: str,
        version: str = "unknown",
        checks: Iterable[Union[HealthCheck, Mapping[str, Any]]] = (),
        timeout: float = 5.0,
    ) -> None:
        if not (timeout > 0):
            raise ValueError("invalid option `timeout`: must be positive (seconds)")
        self.service_name = service_name
        self.version = version
        self.timeout = timeout
        self._checks: List[HealthCheck] = []
        for check in checks:
            self.register_check(check)

    @property
    def checks(self) -> Tuple[HealthCheck, ...]:
        """The registered checks, in order."""
        return tuple(self._checks)

    def register_check(
        self,
        check: Union[HealthCheck, Mapping[str, Any], CheckFunction, None] = None,
        *,
        name: Optional[str] = None,
        critical: bool = True,
        timeout: Optional[float] = None,
    ) -> HealthCheck:
        """Registers a check: a ``HealthCheck``, a dict with ``name``, ``check`` and
        ``critical``, or ``register_check(name=..., check=fn, critical=...)``. A check
        with the name of an earlier one replaces it."""
        if isinstance(check, HealthCheck):
            hc = check
        elif isinstance(check, Mapping):
            hc = HealthCheck(
                name=check["name"],
                check=check["check"],
                critical=bool(check.get("critical", True)),
                timeout=check.get("timeout"),
            )
        else:
            if name is None or check is None or not callable(check):
                raise TypeError("register_check needs a HealthCheck, or name= and a callable check=")
            hc = HealthCheck(name=name, check=check, critical=critical, timeout=timeout)
        if not callable(hc.check):
            raise TypeError(f"health check {hc.name!r}: `check` must be callable")
        self._checks = [c for c in self._checks if c.name != hc.name] + [hc]
        return hc

    async def _run(self, hc: HealthCheck) -> Tuple[str, Dict[str, Any], bool]:
        start = time.perf_counter()
        timeout = hc.timeout if hc.timeout is not None else self.timeout
        try:
            if inspect.iscoroutinefunction(hc.check):
                result = await asyncio.wait_for(hc.check(), timeout)
            else:
                # A sync check may block (I/O): it runs in a thread, so the timeout holds.
                loop = asyncio.get_running_loop()
                result = await asyncio.wait_for(loop.run_in_executor(None, hc.check), timeout)
                if inspect.isawaitable(result):
                    result = await asyncio.wait_for(result, timeout)
            healthy, message = _verdict(result)
        except asyncio.TimeoutError:
            healthy, message = False, f"timed out after {timeout} s"
        except Exception as e:
            healthy, message = False, f"{type(e).__name__}: {e}"
        elapsed = time.perf_counter() - start
        report = {"status": "healthy" if healthy else "unhealthy", "message": message, "response_time": elapsed}
        return hc.name, report, healthy

    async def execute_health_checks(self) -> Dict[str, Any]:
        """Runs every check concurrently: ``{status, timestamp, service, version,
        checks: {name: {status, message, response_time}}, circuit_breakers: {...}}``.
        A check that raises or exceeds its timeout is a failure, never a crash."""
        results = await asyncio.gather(*(self._run(c) for c in self._checks))
        status = _core.check_health((c.critical, ok) for c, (_, _, ok) in zip(self._checks, results))
        return {
            "status": status,
            "timestamp": datetime.now(timezone.utc).isoformat().replace("+00:00", "Z"),
            "service": self.service_name,
            "version": self.version,
            "checks": {name: report for name, report, _ in results},
            "circuit_breakers": circuit_breaker_report(),
        }


def circuit_breaker_report() -> Dict[str, Dict[str, Any]]:
    """Every registered breaker's state and counts, by name (JSON-ready)."""
    report: Dict[str, Dict[str, Any]] = {}
    for breaker in _core._registry_all():
        s = breaker.stats
        # The registry's key (a tripwire.pybreaker breaker's `name` may be None).
        report[_core.Breaker.name.__get__(breaker)] = {
            "state": s.state.value,
            "failure_count": s.failure_count,
            "success_count": s.success_count,
            "total_requests": s.total_requests,
            "failure_rate": s.failure_rate,
        }
    return report


Response = Dict[str, Any]
_JSON = {"Content-Type": "application/json", "Cache-Control": "no-store"}


@dataclass(frozen=True)
class HealthCheckHandlers:
    """``liveness``, ``readiness``, ``health``: async callables returning
    ``{"status_code", "headers", "body"}`` (body a JSON string); ``asgi``: an ASGI app
    serving them at ``/health/liveness``, ``/health/readiness`` and ``/health``."""

    liveness: Callable[..., Awaitable[Response]]
    readiness: Callable[..., Awaitable[Response]]
    health: Callable[..., Awaitable[Response]]
    asgi: Callable[..., Awaitable[None]]


def create_health_check_handler(manager: HealthCheckManager) -> HealthCheckHandlers:
    """Handlers for a manager: liveness is 200 while the process runs; readiness and
    health are 200 when healthy or degraded, 503 when unhealthy."""

    def respond(status: int, body: Mapping[str, Any]) -> Response:
        return {"status_code": status, "headers": dict(_JSON), "body": json.dumps(body)}

    async def liveness(*_: Any, **__: Any) -> Response:
        return respond(
            200,
            {
                "status": "alive",
                "service": manager.service_name,
                "version": manager.version,
                "timestamp": datetime.now(timezone.utc).isoformat().replace("+00:00", "Z"),
            },
        )

    async def readiness(*_: Any, **__: Any) -> Response:
        report = await manager.execute_health_checks()
        ready = report["status"] != "unhealthy"
        return respond(
            200 if ready else 503,
            {"status": "ready" if ready else "not ready", "health": report["status"], "checks": report["checks"]},
        )

    async def health(*_: Any, **__: Any) -> Response:
        report = await manager.execute_health_checks()
        return respond(503 if report["status"] == "unhealthy" else 200, report)

    routes = {"/health/liveness": liveness, "/health/readiness": readiness, "/health": health}

    async def asgi(scope: Dict[str, Any], receive: Callable[[], Awaitable[Any]], send: Callable[[Any], Awaitable[None]]) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        # Below the mount point: Starlette's Mount (and uvicorn's --root-path) keep the
        # full path in `path` and the mount point in `root_path`.
        path = scope.get("path", "") or ""
        root = scope.get("root_path", "") or ""
        if root and path.startswith(root):
            path = path[len(root) :]
        handler = routes.get(path.rstrip("/") or "/")
        if handler is None:
            response = respond(404, {"error": "not found"})
        elif scope.get("method", "GET") not in ("GET", "HEAD"):
            response = respond(405, {"error": "method not allowed"})
        else:
            response = await handler()
        body = response["body"].encode()
        headers = [(k.lower().encode(), v.encode()) for k, v in response["headers"].items()]
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": response["status_code"], "headers": headers})
        await send({"type": "http.response.body", "body": b"" if scope.get("method") == "HEAD" else body})

    return HealthCheckHandlers(liveness=liveness, readiness=readiness, health=health, asgi=asgi)


# -- ready-made checks ------------------------------------------------------------------


def create_env_var_health_check(
    names: Sequence[str], *, critical: bool = True, name: str = "environment-variables"
) -> HealthCheck:
    """Healthy when every variable in ``names`` is set and non-empty."""
    wanted = list(names)

    def check() -> Tuple[bool, str]:
        missing = [n for n in wanted if not os.environ.get(n)]
        if missing:
            return False, "Missing required variables: " + ", ".join(missing)
        return True, "All required variables present"

    return HealthCheck(name=name, check=check, critical=critical)


def _memory_limit() -> Optional[int]:
    """The process's memory limit in bytes: the cgroup's, RLIMIT_AS, or the machine's RAM."""
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            with open(path) as f:
                text = f.read().strip()
            if text.isdigit() and int(text) < 1 << 60:
                return int(text)
        except OSError:
            pass
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
        if soft != resource.RLIM_INFINITY and soft > 0:
            return int(soft)
    except (ImportError, ValueError, OSError):
        pass
    try:
        return int(os.sysconf("SC_PHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):
        return None


def _memory_used() -> Optional[int]:
    """The process's resident memory in bytes."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * int(os.sysconf("SC_PAGE_SIZE"))
    except (OSError, ValueError, IndexError, AttributeError):
        pass
    try:
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return int(peak) if sys.platform == "darwin" else int(peak) * 1024
    except (ImportError, OSError):
        return None


def create_memory_health_check(
    max_percent: float = 90.0, *, critical: bool = True, name: str = "memory-usage"
) -> HealthCheck:
    """Healthy while the process's resident memory is below ``max_percent`` of its
    limit (the cgroup's memory limit, else RLIMIT_AS, else the machine's RAM) — the
    Python counterpart of Node's heap used / heap limit."""
    if not (0 < max_percent <= 100):
        raise ValueError("invalid option `max_percent`: must be in (0, 100]")

    def check() -> Tuple[bool, str]:
        used, limit = _memory_used(), _memory_limit()
        if used is None or not limit:
            return False, "memory usage unavailable on this platform"
        percent = used * 100.0 / limit
        return percent < max_percent, f"Memory usage at {percent:.2f}%"

    return HealthCheck(name=name, check=check, critical=critical)


def create_http_health_check(
    url: str,
    *,
    timeout: float = 5.0,
    expected_status: Optional[Iterable[int]] = None,
    method: str = "GET",
    headers: Optional[Mapping[str, str]] = None,
    critical: bool = True,
    name: Optional[str] = None,
) -> HealthCheck:
    """Healthy when ``url`` answers with a status in ``expected_status`` (default: any
    2xx) within ``timeout`` seconds."""
    expected = set(expected_status) if expected_status is not None else None

    def ok(status: int) -> bool:
        return status in expected if expected is not None else 200 <= status < 300

    def check() -> Tuple[bool, str]:
        request = urllib.request.Request(url, method=method, headers=dict(headers or {}))
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - the caller's URL
                status = int(response.status)
        except urllib.error.HTTPError as e:
            status = int(e.code)
        except (urllib.error.URLError, OSError) as e:
            reason = getattr(e, "reason", e)
            return False, f"{url} unreachable: {reason}"
        return ok(status), f"HTTP {status}"

    return HealthCheck(name=name or f"http:{url}", check=check, critical=critical, timeout=timeout + 1.0)
