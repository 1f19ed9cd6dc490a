"""``tripwire.aws``: seed 000 on AWS, on boto3 (``pip install 'tripwire[aws]'``).

Everything ``tripwire`` exports, plus: ``create_dynamodb_health_check``, Cloud Map
(``ServiceDiscoveryManager``, ``create_service_discovery``, ``ServiceLocator``), a
CloudWatch publisher (``publish_circuit_breaker_metrics``), a structured JSON ``logger``
and the seed's ready-made breakers ``stripe_circuit_breaker`` and
``weather_api_circuit_breaker`` (made on first use).

boto3 is imported when a feature first needs a client, never by ``import tripwire``.
Every blocking call has an ``*_async`` twin that runs it in a worker thread; shared
state (caches, the default clients) is guarded by locks, so threads and tasks may
share one locator or publisher.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import random
import signal
import socket
import threading
import time
import urllib.request
from datetime import datetime, timezone
from types import FrameType
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple, Union

import tripwire as _tw
from tripwire import _logger as _tw_log
from tripwire._metrics import metrics_text, samples
from tripwire import *  # noqa: F401,F403  (the whole main API)
from tripwire import CircuitBreaker, CircuitBreakerListener, CircuitState, HealthCheck, registry

__all__ = [
    *_tw.__all__,
    "CircuitBreakerMetricsPublisher",
    "ServiceDiscoveryManager",
    "ServiceInstance",
    "ServiceLocator",
    "create_dynamodb_health_check",
    "create_service_discovery",
    "log_breaker_transitions",
    "publish_circuit_breaker_metrics",
]
# `stripe_circuit_breaker` and `weather_api_circuit_breaker` are importable by name but
# left out of __all__: a star import would otherwise create (and register) them.

_SERVICES = {"dynamodb", "servicediscovery", "cloudwatch"}


def _boto3() -> Any:
    try:
        return importlib.import_module("boto3")
    except ImportError as error:
        raise ImportError("tripwire.aws needs boto3 for this feature: pip install 'tripwire[aws]' (or boto3)") from error


def _botocore_config(**kwargs: Any) -> Any:
    _boto3()
    return importlib.import_module("botocore.config").Config(**kwargs)


def _custom_endpoint(service: str) -> bool:
    return bool(os.environ.get(f"AWS_ENDPOINT_URL_{service.upper()}") or os.environ.get("AWS_ENDPOINT_URL"))


_clients: Dict[str, Any] = {}
_clients_lock = threading.Lock()


def _make_client(service: str, config: Optional[Any] = None) -> Any:
    boto3 = _boto3()
    if service == "servicediscovery" and _custom_endpoint(service):
        # DiscoverInstances goes to `data-<host>`: right on AWS, wrong for a local
        # endpoint (moto), so the prefix is off when an endpoint is configured.
        extra = _botocore_config(inject_host_prefix=False)
        config = extra if config is None else config.merge(extra)
    return boto3.client(service, config=config)


def _client(service: str, client: Any) -> Any:
    """``client`` if given, else the shared default client of ``service`` (made once)."""
    if client is not None:
        return client
    with _clients_lock:
        existing = _clients.get(service)
        if existing is None:
            existing = _clients[service] = _make_client(service)
        return existing


def _check_client(client: Any) -> Any:
    if client is not None and not hasattr(client, "meta"):
        raise TypeError(f"`client` must be a boto3 client, not {type(client).__name__}")
    return client


def _check_str(value: Any, option: str) -> str:
    if not isinstance(value, str) or not value:
        raise TypeError(f"`{option}` must be a non-empty str, not {type(value).__name__}")
    return value


def _check_seconds(value: Any, option: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"`{option}` must be a number of seconds, not {type(value).__name__}")
    if not (value > 0) or value == float("inf"):
        raise ValueError(f"`{option}` must be a positive, finite number of seconds, not {value!r}")
    return float(value)


def _message_of(error: BaseException) -> str:
    name = type(error).__name__
    text = str(error)
    return f"{name}: {text}" if text else name


# -- logger -------------------------------------------------------------------------------

# The structured JSON logger is the main package's (tripwire._logger): ``logger``,
# ``StructuredLogger`` and ``create_logger`` come with ``from tripwire import *``, and
# TRIPWIRE_LOG=1 makes it the logger of every breaker, service and control API.
_the_logger = _tw_log.default_logger


class _TransitionLogger(CircuitBreakerListener):
    def __init__(self, log: Any) -> None:
        self._log = log

    def state_change(self, cb: CircuitBreaker, old_state: CircuitState, new_state: CircuitState) -> None:
        fields = {"breaker": cb.name, "from": str(old_state), "to": str(new_state)}
        if new_state == CircuitState.OPEN:
            self._log.warn(f"Circuit breaker '{cb.name}' opened", fields)
        else:
            self._log.info(f"Circuit breaker '{cb.name}' is {new_state}", fields)


def log_breaker_transitions(breaker: CircuitBreaker, log: Optional[Any] = None) -> Callable[[], None]:
    """Logs ``breaker``'s transitions through ``log`` (default: ``logger``), OPEN as a
    warning. Returns a function that stops it."""
    if not isinstance(breaker, CircuitBreaker):
        raise TypeError(f"log_breaker_transitions() needs a CircuitBreaker, not {type(breaker).__name__}")
    target = _the_logger() if log is None else log
    if not callable(getattr(target, "info", None)) or not callable(getattr(target, "warn", None)):
        raise TypeError("`log` must have info() and warn() methods")
    listener = _TransitionLogger(target)
    breaker.add_listener(listener)
    return lambda: breaker.remove_listener(listener)


# -- DynamoDB -----------------------------------------------------------------------------


def create_dynamodb_health_check(
    table_name: str,
    *,
    name: Optional[str] = None,
    critical: bool = True,
    timeout: float = 3.0,
    client: Any = None,
) -> HealthCheck:
    """A health check of a DynamoDB table: ``DescribeTable``, healthy when ACTIVE.

    ``timeout`` (seconds) bounds the request (connect and read, one attempt, when the
    client is made here) and the check. The client is made on the first check.
    """
    _check_str(table_name, "table_name")
    check_name = f"dynamodb:{table_name}" if name is None else _check_str(name, "name")
    if not isinstance(critical, bool):
        raise TypeError(f"`critical` must be a bool, not {type(critical).__name__}")
    seconds = _check_seconds(timeout, "timeout")
    _check_client(client)
    made: List[Any] = []
    lock = threading.Lock()

    def ddb() -> Any:
        if client is not None:
            return client
        with lock:
            if not made:
                config = _botocore_config(
                    connect_timeout=seconds, read_timeout=seconds, retries={"total_max_attempts": 1, "mode": "standard"}
                )
                made.append(_make_client("dynamodb", config))
            return made[0]

    def check() -> Tuple[bool, str]:
        try:
            status = ddb().describe_table(TableName=table_name)["Table"].get("TableStatus")
        except Exception as error:
            # botocore's ClientError: the message already names the error code.
            return False, f"Table {table_name}: {_message_of(error)}"
        if status == "ACTIVE":
            return True, f"Table {table_name} is ACTIVE"
        return False, f"Table {table_name} is {status or 'in an unknown state'}"

    # The manager's deadline, a little after the request's: the check answers first.
    return HealthCheck(name=check_name, check=check, critical=critical, timeout=seconds + 1.0)


# -- Cloud Map ---------------------------------------------------------------------------


def _host_ipv4() -> Optional[str]:
    """The address this host reaches the network from (no packet is sent)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("10.255.255.255", 1))
            address: str = s.getsockname()[0]
            return None if address.startswith("127.") else address
    except OSError:
        return None


def _ecs_ipv4(uri: str, timeout: float = 1.0) -> Optional[str]:
    try:
        with urllib.request.urlopen(uri.rstrip("/") + "/task", timeout=timeout) as response:
            task = json.loads(response.read())
        for container in task.get("Containers", []):
            for network in container.get("Networks", []):
                addresses = network.get("IPv4Addresses") or []
                if addresses:
                    return str(addresses[0])
    except Exception:
        return None
    return None


_HEALTH = ("HEALTHY", "UNHEALTHY")


class ServiceDiscoveryManager:
    """Registers this instance in a Cloud Map service and keeps its health status.

    The address is ``ipv4`` if given, else ECS task metadata, else (not on Lambda, which
    is found by function name) the host's address; the port is ``port`` or ``PORT``.
    """

    def __init__(
        self,
        namespace_id: str,
        service_name: str,
        instance_id: str,
        attributes: Optional[Mapping[str, str]] = None,
        health_check_url: Optional[str] = None,
        *,
        service_id: Optional[str] = None,
        ipv4: Optional[str] = None,
        port: Optional[int] = None,
        client: Any = None,
        logger: Optional[Any] = None,
    ) -> None:
        self.namespace_id = _check_str(namespace_id, "namespace_id")
        self.service_name = _check_str(service_name, "service_name")
        self.instance_id = _check_str(instance_id, "instance_id")
        attrs = dict(attributes or {})
        for k, v in attrs.items():
            if not isinstance(v, str):
                raise TypeError(f"`attributes[{k!r}]` must be a str, not {type(v).__name__}")
        self.attributes = attrs
        self.health_check_url = None if health_check_url is None else _check_str(health_check_url, "health_check_url")
        self._service_id = None if service_id is None else _check_str(service_id, "service_id")
        self.ipv4 = None if ipv4 is None else _check_str(ipv4, "ipv4")
        if port is not None and (isinstance(port, bool) or not isinstance(port, int)):
            raise TypeError(f"`port` must be an int, not {type(port).__name__}")
        if port is not None and not 0 < port < 65536:
            raise ValueError(f"`port` must be in 1..65535, not {port}")
        self.port = port
        self._client = _check_client(client)
        self._log: Any = _the_logger() if logger is None else logger
        self._lock = threading.Lock()
        self.registered = False

    @property
    def client(self) -> Any:
        return _client("servicediscovery", self._client)

    def service_id(self) -> str:
        """The Cloud Map service id: given, or found by name in the namespace."""
        with self._lock:
            if self._service_id is not None:
                return self._service_id
        kwargs: Dict[str, Any] = {"Filters": [{"Name": "NAMESPACE_ID", "Values": [self.namespace_id], "Condition": "EQ"}]}
        while True:
            page = self.client.list_services(**kwargs)
            for summary in page.get("Services", []):
                if summary.get("Name") != self.service_name:
                    continue
                # A summary carries no NamespaceId, and a local endpoint may ignore the filter.
                namespace = summary.get("NamespaceId") or self.client.get_service(Id=summary["Id"])["Service"].get("NamespaceId")
                if namespace == self.namespace_id:
                    with self._lock:
                        self._service_id = str(summary["Id"])
                        return self._service_id
            token = page.get("NextToken")
            if not token:
                break
            kwargs["NextToken"] = token
        raise LookupError(f"Cloud Map has no service {self.service_name!r} in namespace {self.namespace_id}")

    def instance_attributes(self) -> Dict[str, str]:
        """The attributes registered: the address (given or found), port, health URL, yours."""
        out: Dict[str, str] = {}
        env = os.environ
        ipv4 = self.ipv4
        if ipv4 is None and env.get("ECS_CONTAINER_METADATA_URI_V4"):
            ipv4 = _ecs_ipv4(env["ECS_CONTAINER_METADATA_URI_V4"])
        if env.get("AWS_LAMBDA_FUNCTION_NAME"):
            out["AWS_LAMBDA_FUNCTION_NAME"] = env["AWS_LAMBDA_FUNCTION_NAME"]
            if env.get("AWS_LAMBDA_FUNCTION_VERSION"):
                out["AWS_LAMBDA_FUNCTION_VERSION"] = env["AWS_LAMBDA_FUNCTION_VERSION"]
        elif ipv4 is None:
            ipv4 = _host_ipv4()
        if ipv4 is not None:
            out["AWS_INSTANCE_IPV4"] = ipv4
        port = self.port
        if port is None and env.get("PORT", "").isdigit():
            port = int(env["PORT"])
        if port is not None:
            out["AWS_INSTANCE_PORT"] = str(port)
        if self.health_check_url is not None:
            out["HEALTH_CHECK_URL"] = self.health_check_url
        out.update(self.attributes)
        return out

    def register(self) -> Optional[str]:
        """``RegisterInstance``; the operation id."""
        service_id = self.service_id()
        out = self.client.register_instance(ServiceId=service_id, InstanceId=self.instance_id, Attributes=self.instance_attributes())
        self.registered = True
        self._log.info("Registered with Cloud Map", {"serviceName": self.service_name, "instanceId": self.instance_id, "serviceId": service_id})
        operation: Optional[str] = out.get("OperationId")
        return operation

    def deregister(self) -> Optional[str]:
        """``DeregisterInstance``; the operation id."""
        service_id = self.service_id()
        out = self.client.deregister_instance(ServiceId=service_id, InstanceId=self.instance_id)
        self.registered = False
        self._log.info("Deregistered from Cloud Map", {"serviceName": self.service_name, "instanceId": self.instance_id, "serviceId": service_id})
        operation: Optional[str] = out.get("OperationId")
        return operation

    def update_health_status(self, status: str) -> None:
        """``UpdateInstanceCustomHealthStatus`` ('HEALTHY' or 'UNHEALTHY'); the service
        needs a custom health check config."""
        if not isinstance(status, str):
            raise TypeError(f"`status` must be 'HEALTHY' or 'UNHEALTHY', not {type(status).__name__}")
        if status not in _HEALTH:
            raise ValueError(f"`status` must be 'HEALTHY' or 'UNHEALTHY', not {status!r}")
        self.client.update_instance_custom_health_status(ServiceId=self.service_id(), InstanceId=self.instance_id, Status=status)

    async def register_async(self) -> Optional[str]:
        return await asyncio.to_thread(self.register)

    async def deregister_async(self) -> Optional[str]:
        return await asyncio.to_thread(self.deregister)

    async def update_health_status_async(self, status: str) -> None:
        await asyncio.to_thread(self.update_health_status, status)


_SignalHandler = Union[Callable[[int, Optional[FrameType]], Any], int, None]


def _deregister_on_signals(manager: ServiceDiscoveryManager) -> None:
    previous: Dict[int, _SignalHandler] = {}

    def handler(signum: int, frame: Optional[FrameType]) -> None:
        for sig, old in previous.items():
            signal.signal(sig, old if old is not None else signal.SIG_DFL)
        try:
            manager.deregister()
        except Exception as error:
            manager._log.error("Failed to deregister from Cloud Map", error)
        old = previous.get(signum)
        if callable(old):
            old(signum, frame)
        elif old == signal.SIG_DFL or old is None:
            os.kill(os.getpid(), signum)

    for sig in (signal.SIGTERM, signal.SIGINT):
        previous[sig] = signal.getsignal(sig)
        signal.signal(sig, handler)


def create_service_discovery(
    namespace_id: str,
    service_name: str,
    instance_id: str,
    attributes: Optional[Mapping[str, str]] = None,
    health_check_url: Optional[str] = None,
    *,
    handle_signals: bool = True,
    **options: Any,
) -> ServiceDiscoveryManager:
    """Registers this instance (see ``ServiceDiscoveryManager``) and, from the main
    thread, deregisters it on SIGTERM or SIGINT, then lets the signal take its previous
    course. ``handle_signals=False`` leaves signals alone. Returns the manager."""
    if not isinstance(handle_signals, bool):
        raise TypeError(f"`handle_signals` must be a bool, not {type(handle_signals).__name__}")
    manager = ServiceDiscoveryManager(namespace_id, service_name, instance_id, attributes, health_check_url, **options)
    manager.register()
    if handle_signals and threading.current_thread() is threading.main_thread():
        _deregister_on_signals(manager)
    return manager


class ServiceInstance(Dict[str, Any]):
    """A discovered instance: a dict with ``instance_id``, ``namespace_name``,
    ``service_name``, ``health_status``, ``attributes``, ``ipv4`` and ``port`` (None
    when not registered), also readable as attributes."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


class ServiceLocator:
    """Finds healthy instances of other services (``DiscoverInstances``), cached for
    ``cache_ttl`` seconds (default 60). When Cloud Map fails, or the breaker guarding
    the lookups is open, the stale list is served with a warning."""

    def __init__(
        self,
        cache_ttl: float = 60.0,
        *,
        client: Any = None,
        logger: Optional[Any] = None,
        breaker_name: str = "cloud-map-discovery",
        breaker_options: Optional[Mapping[str, Any]] = None,
        clock: Optional[Callable[[], float]] = None,
    ) -> None:
        self.cache_ttl = _check_seconds(cache_ttl, "cache_ttl")
        self._client = _check_client(client)
        self._log: Any = _the_logger() if logger is None else logger
        _check_str(breaker_name, "breaker_name")
        if clock is not None and not callable(clock):
            raise TypeError("`clock` must be a callable returning seconds")
        self._clock = clock if clock is not None else time.monotonic
        self._lock = threading.Lock()
        self._cache: Dict[Tuple[str, str], Tuple[float, List[ServiceInstance]]] = {}
        self._namespaces: Dict[str, str] = {}
        self._turn: Dict[Tuple[str, str], int] = {}
        options: Dict[str, Any] = {
            "failure_threshold": 0.5,
            "minimum_requests": 5,
            "request_timeout": 5.0,
            "recovery_timeout": 30.0,
            **(breaker_options or {}),
        }
        if logger is not None:
            # Its transitions log through the locator's logger (else tripwire's own).
            options.setdefault("logger", logger)
        self.breaker: CircuitBreaker = _tw.create_circuit_breaker(breaker_name, **options)

    @property
    def client(self) -> Any:
        return _client("servicediscovery", self._client)

    def _namespace_name(self, namespace_id: str) -> str:
        with self._lock:
            name = self._namespaces.get(namespace_id)
        if name is None:
            name = str(self.client.get_namespace(Id=namespace_id)["Namespace"]["Name"])
            with self._lock:
                self._namespaces[namespace_id] = name
        return name

    def _lookup(self, service_name: str, namespace_id: str) -> List[ServiceInstance]:
        namespace_name = self._namespace_name(namespace_id)
        out = self.client.discover_instances(NamespaceName=namespace_name, ServiceName=service_name, HealthStatus="HEALTHY")
        found = []
        for i in out.get("Instances", []):
            attributes = dict(i.get("Attributes") or {})
            port = attributes.get("AWS_INSTANCE_PORT")
            found.append(
                ServiceInstance(
                    instance_id=i.get("InstanceId"),
                    namespace_name=i.get("NamespaceName", namespace_name),
                    service_name=i.get("ServiceName", service_name),
                    health_status=i.get("HealthStatus", "HEALTHY"),
                    attributes=attributes,
                    ipv4=attributes.get("AWS_INSTANCE_IPV4"),
                    port=int(port) if port is not None and port.isdigit() else None,
                )
            )
        return found

    def get_service_instances(self, service_name: str, namespace_id: str) -> List[ServiceInstance]:
        """Every healthy instance of ``service_name`` in the namespace ``namespace_id``."""
        key = (_check_str(namespace_id, "namespace_id"), _check_str(service_name, "service_name"))
        with self._lock:
            cached = self._cache.get(key)
        if cached is not None and self._clock() - cached[0] < self.cache_ttl:
            return list(cached[1])
        try:
            instances = self.breaker.call(self._lookup, service_name, namespace_id)
        except Exception as error:
            with self._lock:
                stale = self._cache.get(key)
            if stale is None:
                raise
            self._log.warn(
                "Cloud Map lookup failed; serving the cached instances",
                {"serviceName": service_name, "namespaceId": namespace_id, "ageSeconds": self._clock() - stale[0], "error": _message_of(error)},
            )
            return list(stale[1])
        with self._lock:
            self._cache[key] = (self._clock(), instances)
        return list(instances)

    def get_service_instance(self, service_name: str, namespace_id: str) -> Optional[ServiceInstance]:
        """One healthy instance, in turn among them (round robin), or None."""
        instances = self.get_service_instances(service_name, namespace_id)
        if not instances:
            return None
        key = (namespace_id, service_name)
        with self._lock:
            n = self._turn.get(key)
            if n is None:
                n = random.randrange(len(instances))
            self._turn[key] = (n + 1) % 0x7FFFFFFF
        return instances[n % len(instances)]

    async def get_service_instances_async(self, service_name: str, namespace_id: str) -> List[ServiceInstance]:
        return await asyncio.to_thread(self.get_service_instances, service_name, namespace_id)

    async def get_service_instance_async(self, service_name: str, namespace_id: str) -> Optional[ServiceInstance]:
        return await asyncio.to_thread(self.get_service_instance, service_name, namespace_id)

    def clear_cache(self, service_name: Optional[str] = None, namespace_id: Optional[str] = None) -> None:
        """Forgets the cached lists (of one service, or all)."""
        with self._lock:
            if service_name is None:
                self._cache.clear()
            else:
                self._cache.pop((_check_str(namespace_id, "namespace_id"), service_name), None)


# -- CloudWatch ---------------------------------------------------------------------------

_STATE_VALUE = {"CLOSED": 0.0, "HALF_OPEN": 1.0, "OPEN": 2.0}
_MAX_DATA = 1000  # PutMetricData: at most 1000 metric data and 1 MB per request
_MAX_BYTES = 900 * 1024


def _batches(data: List[Dict[str, Any]], max_batch_size: int) -> List[List[Dict[str, Any]]]:
    batches: List[List[Dict[str, Any]]] = []
    batch: List[Dict[str, Any]] = []
    size = 0
    for datum in data:
        # The query encoding is larger than JSON: twice the JSON length is a safe bound.
        n = 2 * len(json.dumps(datum, default=str))
        if batch and (len(batch) >= max_batch_size or size + n > _MAX_BYTES):
            batches.append(batch)
            batch, size = [], 0
        batch.append(datum)
        size += n
    if batch:
        batches.append(batch)
    return batches


# The snapshot's state labels as the three states (forced open is open; disabled lets
# every call through, as closed does).
_SNAPSHOT_STATE = {"closed": "CLOSED", "open": "OPEN", "half_open": "HALF_OPEN", "forced_open": "OPEN", "disabled": "CLOSED"}
# The calls that ran, in the snapshot's calls_total kinds (ignored calls do not count).
_RAN = frozenset({"successful", "failed", "timeout"})
# The families read (every breaker has each; others, such as build info, are not breakers).
_READ = frozenset({"tripwire_circuitbreaker_state", "tripwire_circuitbreaker_failure_ratio", "tripwire_circuitbreaker_calls_total"})


def _snapshot_stats() -> Dict[str, Tuple[str, float, float]]:
    """Each breaker's ``(state, failure rate 0..1, calls that ran)`` from the metrics
    snapshot (the one ``metrics_text()`` renders: the registry's breakers and every live
    service's), by breaker name."""
    stats: Dict[str, List[Any]] = {}
    for _, _, _, metric, labels, value in samples(metrics_text()):
        name = labels.get("name")
        if name is None or metric not in _READ:
            continue
        entry = stats.setdefault(name, ["CLOSED", 0.0, 0.0])
        if metric == "tripwire_circuitbreaker_state":
            if value == 1:
                entry[0] = _SNAPSHOT_STATE.get(labels.get("state", ""), "CLOSED")
        elif metric == "tripwire_circuitbreaker_failure_ratio":
            entry[1] = value
        elif metric == "tripwire_circuitbreaker_calls_total" and labels.get("kind") in _RAN:
            entry[2] += value
    return {name: (e[0], e[1], e[2]) for name, e in stats.items()}


class CircuitBreakerMetricsPublisher:
    """Publishes every breaker's ``State`` (0 closed, 1 half-open, 2 open),
    ``FailureRate`` (Percent, 0..100; dimensions Service and State, as seed 000) and
    ``TotalRequests`` (Count) with ``PutMetricData``. Nothing runs until ``start()``
    (a daemon thread every ``interval`` seconds) or ``publish()``."""

    def __init__(
        self,
        namespace: str,
        *,
        client: Any = None,
        interval: float = 60.0,
        dimensions: Optional[Mapping[str, str]] = None,
        max_batch_size: int = _MAX_DATA,
        logger: Optional[Any] = None,
    ) -> None:
        self.namespace = _check_str(namespace, "namespace")
        self.interval = _check_seconds(interval, "interval")
        self._dimensions: List[Dict[str, str]] = []
        for k, v in (dimensions or {}).items():
            if not isinstance(v, str):
                raise TypeError(f"`dimensions[{k!r}]` must be a str, not {type(v).__name__}")
            self._dimensions.append({"Name": k, "Value": v})
        if len(self._dimensions) > 28:
            raise ValueError("`dimensions` may hold at most 28 entries (CloudWatch allows 30 per metric)")
        if isinstance(max_batch_size, bool) or not isinstance(max_batch_size, int):
            raise TypeError(f"`max_batch_size` must be an int, not {type(max_batch_size).__name__}")
        if not 1 <= max_batch_size <= _MAX_DATA:
            raise ValueError(f"`max_batch_size` must be in 1..{_MAX_DATA}, not {max_batch_size}")
        self.max_batch_size = max_batch_size
        self._client = _check_client(client)
        self._log: Any = _the_logger() if logger is None else logger
        self._lock = threading.Lock()
        self._stop: Optional[threading.Event] = None
        self._thread: Optional[threading.Thread] = None

    @property
    def client(self) -> Any:
        return _client("cloudwatch", self._client)

    @property
    def running(self) -> bool:
        return self._thread is not None

    def collect(self) -> List[Dict[str, Any]]:
        """The metric data of every breaker now, from the metrics snapshot (see ``metrics_text()``)."""
        now = datetime.now(timezone.utc)
        data: List[Dict[str, Any]] = []
        for name, (state, failure_rate, total) in _snapshot_stats().items():
            service = [{"Name": "Service", "Value": name or "(empty)"}, *self._dimensions]
            rate = failure_rate * 100 if failure_rate == failure_rate else 0.0
            data.append({"MetricName": "State", "Value": _STATE_VALUE.get(state, 0.0), "Unit": "None", "Dimensions": service, "Timestamp": now})
            data.append(
                {
                    "MetricName": "FailureRate",
                    "Value": rate,
                    "Unit": "Percent",
                    "Dimensions": [service[0], {"Name": "State", "Value": state}, *self._dimensions],
                    "Timestamp": now,
                }
            )
            data.append({"MetricName": "TotalRequests", "Value": total, "Unit": "Count", "Dimensions": service, "Timestamp": now})
        return data

    def publish(self) -> Dict[str, int]:
        """Sends the metrics once now: ``{"metrics": n, "requests": m}``."""
        batches = _batches(self.collect(), self.max_batch_size)
        for batch in batches:
            self.client.put_metric_data(Namespace=self.namespace, MetricData=batch)
        return {"metrics": sum(len(b) for b in batches), "requests": len(batches)}

    async def publish_async(self) -> Dict[str, int]:
        return await asyncio.to_thread(self.publish)

    def _run(self, stop: threading.Event) -> None:
        while not stop.wait(self.interval):
            try:
                self.publish()
            except Exception as error:
                self._log.error("Failed to publish circuit breaker metrics", error)

    def start(self) -> CircuitBreakerMetricsPublisher:
        """Publishes every ``interval`` seconds from a daemon thread."""
        with self._lock:
            if self._thread is None:
                self._stop = threading.Event()
                self._thread = threading.Thread(target=self._run, args=(self._stop,), name="tripwire-cloudwatch", daemon=True)
                self._thread.start()
        return self

    def stop(self) -> CircuitBreakerMetricsPublisher:
        """Stops the thread started by ``start()`` (and waits for it)."""
        with self._lock:
            thread, stop = self._thread, self._stop
            self._thread = self._stop = None
        if thread is not None and stop is not None:
            stop.set()
            if thread is not threading.current_thread():
                thread.join()
        return self


def publish_circuit_breaker_metrics(
    namespace: str,
    *,
    client: Any = None,
    interval: float = 60.0,
    dimensions: Optional[Mapping[str, str]] = None,
    max_batch_size: int = _MAX_DATA,
    logger: Optional[Any] = None,
) -> CircuitBreakerMetricsPublisher:
    """A CloudWatch publisher of every breaker's stats (not started: ``start()`` or ``publish()``)."""
    return CircuitBreakerMetricsPublisher(
        namespace, client=client, interval=interval, dimensions=dimensions, max_batch_size=max_batch_size, logger=logger
    )


# -- the seed's ready-made breakers -----------------------------------------------------

_ready_lock = threading.Lock()
_ready: Dict[str, CircuitBreaker] = {}


def _none(*_: Any, **__: Any) -> None:
    return None


def _ready_made(name: str, fallback: Optional[Callable[..., Any]]) -> CircuitBreaker:
    with _ready_lock:
        breaker = _ready.get(name)
        if breaker is None:
            breaker = registry.get(name)
            if breaker is None:
                # Seed 000's external-service preset: 50 % over ≥ 10 calls, 30 s timeout, 60 s open.
                breaker = CircuitBreaker(
                    name, failure_threshold=0.5, minimum_requests=10, request_timeout=30.0, recovery_timeout=60.0, fallback=fallback
                )
            _ready[name] = breaker
        return breaker


def __getattr__(name: str) -> Any:
    """The ready-made breakers and the shared logger, made on first use (PEP 562)."""
    if name == "stripe_circuit_breaker":
        return _ready_made("stripe", None)
    if name == "weather_api_circuit_breaker":
        return _ready_made("weather-api", _none)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


stripe_circuit_breaker: CircuitBreaker
weather_api_circuit_breaker: CircuitBreaker
