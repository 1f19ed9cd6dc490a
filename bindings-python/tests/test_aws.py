"""tripwire.aws against moto's local AWS server (scripts/with-moto.sh starts it on a free
loopback port and sets AWS_ENDPOINT_URL, dummy credentials and TRIPWIRE_MOTO_URL): the
DynamoDB health check, Cloud Map round trips and signals, the locator's cache and
stale-on-error path, the CloudWatch publisher, the JSON logger, the ready-made breakers."""

from __future__ import annotations

import asyncio
import io
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import uuid
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, Iterator, List, Tuple

import pytest

import tripwire
import tripwire.aws as aws

MOTO = os.environ.get("TRIPWIRE_MOTO_URL")
needs_moto = pytest.mark.skipif(not MOTO, reason="needs moto: run through scripts/with-moto.sh (scripts/test-python.sh does)")


def uid() -> str:
    return uuid.uuid4().hex[:8]


def lines_of(stream: io.StringIO) -> List[Dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def run_python(code: str, **env: str) -> "subprocess.CompletedProcess[str]":
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ, **env}, timeout=120)


# -- loading and the main API -------------------------------------------------------------


def test_import_tripwire_loads_no_boto3_and_tripwire_aws_alone_neither() -> None:
    out = run_python(
        "import sys, tripwire; a = 'boto3' in sys.modules\n"
        "import tripwire.aws as aws; b = 'boto3' in sys.modules\n"
        "aws.create_logger(stream=open('/dev/null', 'w')).info('x'); c = 'boto3' in sys.modules\n"
        "print(a, b, c)"
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "False", "False"]


def test_a_missing_boto3_is_an_error_that_names_it() -> None:
    out = run_python(
        "import sys; sys.modules['boto3'] = None\n"
        "import tripwire.aws as aws\n"
        "check = aws.create_dynamodb_health_check('t', client=None)\n"
        "b = aws.CircuitBreaker('one')\n"
        "try:\n    aws.publish_circuit_breaker_metrics('N').publish()\nexcept ImportError as e:\n    print(e)"
    )
    assert out.returncode == 0, out.stderr
    assert "pip install 'tripwire[aws]'" in out.stdout and "boto3" in out.stdout


def test_the_whole_main_api_is_reexported() -> None:
    for name in tripwire.__all__:
        assert getattr(aws, name) is getattr(tripwire, name), name
        assert name in aws.__all__


# -- logger -------------------------------------------------------------------------------


def test_logger_writes_one_json_object_per_line() -> None:
    stream = io.StringIO()
    log = aws.create_logger("payments-svc", level="debug", stream=stream)
    log.debug("d")
    log.info("Service registered with Cloud Map", {"instance_id": "i-1", "level": "not-mine"})
    log.warn("w", 42)
    log.error("Payment processing failed", ValueError("card declined"))
    log.info("odd", {"when": datetime(2024, 1, 1, tzinfo=timezone.utc), "obj": object()})
    d, i, w, e, odd = lines_of(stream)
    assert list(i)[:4] == ["timestamp", "level", "message", "service"]
    assert datetime.fromisoformat(i["timestamp"].replace("Z", "+00:00"))
    assert d["level"] == "debug" and i["level"] == "info" and i["instance_id"] == "i-1"
    assert i["service"] == "payments-svc"
    assert w["data"] == 42
    assert e["error"] == {"name": "ValueError", "message": "card declined"}
    assert odd["when"].startswith("2024-01-01")


def test_logger_levels_env_and_bad_options() -> None:
    stream = io.StringIO()
    log = aws.create_logger(level="WARNING", stream=stream)
    log.info("no")
    log.warning("yes")
    log.child(request_id="r1").error("c")
    assert [x["message"] for x in lines_of(stream)] == ["yes", "c"]
    assert lines_of(stream)[1]["request_id"] == "r1"
    out = run_python(
        "from tripwire.aws import logger\nlogger.debug('hidden'); logger.info('hidden'); logger.error('shown', {'n': 1})",
        LOG_LEVEL="error",
        SERVICE_NAME="svc-x",
    )
    entries = [json.loads(x) for x in out.stdout.splitlines()]
    assert [(x["message"], x["service"], x["n"]) for x in entries] == [("shown", "svc-x", 1)]
    with pytest.raises(ValueError, match="`level`"):
        aws.create_logger(level="loud")
    with pytest.raises(TypeError, match="`service`"):
        aws.create_logger(3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="`stream`"):
        aws.create_logger(stream=object())  # type: ignore[arg-type]


def test_breaker_transitions_log_through_it() -> None:
    stream = io.StringIO()
    breaker = tripwire.CircuitBreaker(f"logged-{uid()}", failure_threshold=1)
    stop = aws.log_breaker_transitions(breaker, aws.create_logger(stream=stream))
    with pytest.raises(ZeroDivisionError):
        breaker.call(lambda: 1 / 0)
    breaker.close()
    stop()
    breaker.open()
    assert [(x["level"], x["to"]) for x in lines_of(stream)] == [("warn", "OPEN"), ("info", "CLOSED")]


# -- ready-made breakers -----------------------------------------------------------------


def test_ready_made_breakers_are_made_on_first_use() -> None:
    out = run_python(
        "import tripwire, tripwire.aws as aws\n"
        "from tripwire.aws import *\n"
        "before = 'stripe' in tripwire.registry, 'weather-api' in tripwire.registry\n"
        "b = aws.stripe_circuit_breaker\n"
        "print(before, b is tripwire.registry.get('stripe'), b is aws.stripe_circuit_breaker, b.call(lambda: 7), 'weather-api' in tripwire.registry)"
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "(False, False) True True 7 False"


def test_weather_answers_none_when_failing_or_open_stripe_refuses() -> None:
    from tripwire.aws import stripe_circuit_breaker, weather_api_circuit_breaker

    def down() -> int:
        raise OSError("down")

    assert weather_api_circuit_breaker.call(down) is None
    weather_api_circuit_breaker.open()
    assert weather_api_circuit_breaker.call(lambda: 1) is None
    assert asyncio.run(weather_api_circuit_breaker.call_async(asyncio.sleep, 0)) is None
    stripe_circuit_breaker.open()
    with pytest.raises(tripwire.CircuitBreakerOpenError):
        stripe_circuit_breaker.call(lambda: 1)
    stripe_circuit_breaker.reset()
    weather_api_circuit_breaker.reset()


# -- DynamoDB -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def table() -> str:
    import boto3

    name = f"orders-{uid()}"
    boto3.client("dynamodb").create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return name


@needs_moto
def test_dynamodb_healthy_for_an_active_table(table: str) -> None:
    check = aws.create_dynamodb_health_check(table)
    assert check.name == f"dynamodb:{table}" and check.critical
    assert check.check() == (True, f"Table {table} is ACTIVE")
    manager = tripwire.HealthCheckManager(service_name="svc", checks=[check])
    assert asyncio.run(manager.execute_health_checks())["status"] == "healthy"


@needs_moto
def test_dynamodb_unhealthy_for_a_missing_table() -> None:
    healthy, message = aws.create_dynamodb_health_check("no-such-table").check()  # type: ignore[misc]
    assert not healthy and "ResourceNotFoundException" in message
    manager = tripwire.HealthCheckManager(service_name="svc", checks=[aws.create_dynamodb_health_check("no-such-table", critical=False)])
    assert asyncio.run(manager.execute_health_checks())["status"] == "degraded"


@needs_moto
def test_dynamodb_unhealthy_for_an_unreachable_endpoint(table: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    healthy, message = aws.create_dynamodb_health_check(table, timeout=2.0).check()  # type: ignore[misc]
    assert not healthy and "Could not connect" in message
    # A server that accepts and never answers: unhealthy at the read timeout.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    try:
        monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{silent.getsockname()[1]}")
        check = aws.create_dynamodb_health_check(table, timeout=0.3)
        assert check.timeout == pytest.approx(1.3)
        healthy, message = check.check()  # type: ignore[misc]
        assert not healthy and "Read timeout" in message
    finally:
        silent.close()


def test_dynamodb_bad_input_names_the_option() -> None:
    with pytest.raises(TypeError, match="`table_name`"):
        aws.create_dynamodb_health_check(None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="`timeout`"):
        aws.create_dynamodb_health_check("t", timeout=0)
    with pytest.raises(TypeError, match="`critical`"):
        aws.create_dynamodb_health_check("t", critical="yes")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="`client`"):
        aws.create_dynamodb_health_check("t", client=object())


# -- Cloud Map ------------------------------------------------------------------------------


def cloud_map(*services: str) -> Tuple[Any, str, Dict[str, str]]:
    import boto3
    from botocore.config import Config

    client = boto3.client("servicediscovery", config=Config(inject_host_prefix=False))
    name = f"ns-{uid()}"
    client.create_http_namespace(Name=name)
    ns = next(n for n in client.list_namespaces()["Namespaces"] if n["Name"] == name)
    ids = {}
    for service in services:
        ids[service] = client.create_service(Name=service, NamespaceId=ns["Id"], HealthCheckCustomConfig={"FailureThreshold": 1})["Service"]["Id"]
    return client, ns["Id"], ids


@needs_moto
def test_register_discover_update_health_deregister() -> None:
    client, namespace_id, ids = cloud_map("payments-svc", "vendor-svc")
    stream = io.StringIO()
    manager = aws.create_service_discovery(
        namespace_id,
        "vendor-svc",
        "vendor-1",
        {"version": "1.0.0"},
        "/health/readiness",
        ipv4="10.0.0.7",
        port=8080,
        handle_signals=False,
        logger=aws.create_logger(stream=stream),
    )
    assert manager.registered and manager.service_id() == ids["vendor-svc"]
    listed = client.list_instances(ServiceId=ids["vendor-svc"])["Instances"]
    assert [(i["Id"], i["Attributes"]) for i in listed] == [
        ("vendor-1", {"AWS_INSTANCE_IPV4": "10.0.0.7", "AWS_INSTANCE_PORT": "8080", "HEALTH_CHECK_URL": "/health/readiness", "version": "1.0.0"})
    ]
    assert lines_of(stream)[0]["message"] == "Registered with Cloud Map"
    second = aws.ServiceDiscoveryManager(namespace_id, "vendor-svc", "vendor-2", ipv4="10.0.0.8", port=8080)
    asyncio.run(second.register_async())

    locator = aws.ServiceLocator(60, breaker_name=f"cm-{uid()}")
    found = locator.get_service_instances("vendor-svc", namespace_id)
    assert sorted((i.instance_id, i.ipv4, i.port, i.health_status) for i in found) == [
        ("vendor-1", "10.0.0.7", 8080, "HEALTHY"),
        ("vendor-2", "10.0.0.8", 8080, "HEALTHY"),
    ]
    picks = {locator.get_service_instance("vendor-svc", namespace_id)["instance_id"] for _ in range(4)}  # type: ignore[index]
    assert picks == {"vendor-1", "vendor-2"}

    manager.update_health_status("UNHEALTHY")
    locator.clear_cache()
    assert [i.instance_id for i in asyncio.run(locator.get_service_instances_async("vendor-svc", namespace_id))] == ["vendor-2"]
    asyncio.run(manager.update_health_status_async("HEALTHY"))
    second.deregister()
    locator.clear_cache("vendor-svc", namespace_id)
    assert [i.instance_id for i in locator.get_service_instances("vendor-svc", namespace_id)] == ["vendor-1"]
    manager.deregister()
    assert not manager.registered
    locator.clear_cache()
    assert locator.get_service_instances("vendor-svc", namespace_id) == []
    assert asyncio.run(locator.get_service_instance_async("vendor-svc", namespace_id)) is None


@needs_moto
def test_cloud_map_errors_and_bad_input() -> None:
    _, namespace_id, _ = cloud_map()
    with pytest.raises(LookupError, match="'ghost'"):
        aws.ServiceDiscoveryManager(namespace_id, "ghost", "i").register()
    with pytest.raises(TypeError, match="`instance_id`"):
        aws.ServiceDiscoveryManager(namespace_id, "x", None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="`port`"):
        aws.ServiceDiscoveryManager(namespace_id, "x", "i", port=0)
    with pytest.raises(TypeError, match="`attributes"):
        aws.ServiceDiscoveryManager(namespace_id, "x", "i", {"a": 1})  # type: ignore[dict-item]
    m = aws.ServiceDiscoveryManager(namespace_id, "x", "i", service_id="srv-1")
    with pytest.raises(ValueError, match="`status`"):
        m.update_health_status("healthy")
    with pytest.raises(ValueError, match="`cache_ttl`"):
        aws.ServiceLocator(0)
    with pytest.raises(TypeError, match="`cache_ttl`"):
        aws.ServiceLocator("60")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="`handle_signals`"):
        aws.create_service_discovery(namespace_id, "x", "i", handle_signals=1)  # type: ignore[arg-type]


class _Serve:
    """A small local HTTP server on 127.0.0.1 (a stand-in), stopped at exit."""

    def __init__(self, handle: Any) -> None:
        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                handle(self)

            do_POST = do_GET

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_the_address_from_ecs_metadata_given_or_none_on_lambda(monkeypatch: pytest.MonkeyPatch) -> None:
    def ecs(h: BaseHTTPRequestHandler) -> None:
        assert h.path == "/v4/abc/task"
        body = json.dumps({"Containers": [{"Networks": [{"IPv4Addresses": ["10.1.2.3"]}]}]}).encode()
        h.send_response(200)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    stand_in = _Serve(ecs)
    try:
        monkeypatch.setenv("ECS_CONTAINER_METADATA_URI_V4", stand_in.url + "/v4/abc")
        monkeypatch.setenv("PORT", "3000")
        m = aws.ServiceDiscoveryManager("ns-1", "s", "i")
        assert m.instance_attributes() == {"AWS_INSTANCE_IPV4": "10.1.2.3", "AWS_INSTANCE_PORT": "3000"}
        monkeypatch.delenv("ECS_CONTAINER_METADATA_URI_V4")
        monkeypatch.delenv("PORT")
        monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "payments-fn")
        monkeypatch.delenv("AWS_LAMBDA_FUNCTION_VERSION", raising=False)
        assert m.instance_attributes() == {"AWS_LAMBDA_FUNCTION_NAME": "payments-fn"}
        given = aws.ServiceDiscoveryManager("ns-1", "s", "i", {"AWS_INSTANCE_PORT": "2"}, ipv4="10.9.9.9", port=1)
        assert given.instance_attributes() == {"AWS_LAMBDA_FUNCTION_NAME": "payments-fn", "AWS_INSTANCE_IPV4": "10.9.9.9", "AWS_INSTANCE_PORT": "2"}
    finally:
        stand_in.close()


@needs_moto
def test_sigterm_deregisters_then_the_process_ends_by_the_signal() -> None:
    client, namespace_id, ids = cloud_map("payments-svc")
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time, tripwire.aws as aws\n"
            f"aws.create_service_discovery({namespace_id!r}, 'payments-svc', 'p-1', ipv4='10.0.0.1', logger=aws.create_logger(stream=sys.stderr))\n"
            "print('registered', flush=True)\n"
            "while True: time.sleep(1)\n",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "registered"
        assert len(client.list_instances(ServiceId=ids["payments-svc"])["Instances"]) == 1
        child.send_signal(signal.SIGTERM)
        assert child.wait(timeout=60) == -signal.SIGTERM
        assert child.stderr is not None and "Deregistered from Cloud Map" in child.stderr.read()
        assert client.list_instances(ServiceId=ids["payments-svc"])["Instances"] == []
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


@pytest.fixture
def stand_in() -> Iterator[Dict[str, Any]]:
    """A stand-in for Cloud Map in front of moto: forwards, or fails with a 500."""
    import urllib.request

    assert MOTO is not None
    state: Dict[str, Any] = {"mode": "up", "calls": 0}

    def handle(h: BaseHTTPRequestHandler) -> None:
        state["calls"] += 1
        body = h.rfile.read(int(h.headers.get("Content-Length") or 0))
        if state["mode"] == "down":
            out = json.dumps({"__type": "InternalServiceError", "message": "stand-in is down"}).encode()
            h.send_response(500)
            h.send_header("Content-Type", "application/x-amz-json-1.1")
            h.send_header("Content-Length", str(len(out)))
            h.end_headers()
            h.wfile.write(out)
            return
        req = urllib.request.Request(MOTO + h.path, data=body, method=h.command, headers={k: v for k, v in h.headers.items() if k.lower() != "host"})
        with urllib.request.urlopen(req) as up:
            data = up.read()
            h.send_response(up.status)
            for k, v in up.headers.items():
                if k.lower() not in ("content-length", "transfer-encoding", "connection", "server", "date"):
                    h.send_header(k, v)
            h.send_header("Content-Length", str(len(data)))
            h.end_headers()
            h.wfile.write(data)

    server = _Serve(handle)
    state["url"] = server.url
    yield state
    server.close()


@needs_moto
def test_locator_cache_refresh_and_stale_on_error(stand_in: Dict[str, Any]) -> None:
    import boto3
    from botocore.config import Config

    _, namespace_id, _ = cloud_map("vendor-svc")
    aws.ServiceDiscoveryManager(namespace_id, "vendor-svc", "v-1", ipv4="10.0.0.1", port=80).register()
    now = [1000.0]
    stream = io.StringIO()
    client = boto3.client(
        "servicediscovery", endpoint_url=stand_in["url"], config=Config(inject_host_prefix=False, retries={"total_max_attempts": 1})
    )
    locator = aws.ServiceLocator(
        60,
        client=client,
        clock=lambda: now[0],
        logger=aws.create_logger(stream=stream),
        breaker_name=f"cm-stale-{uid()}",
        breaker_options={"failure_threshold": 2, "minimum_requests": 1, "recovery_timeout": 1e6},
    )
    assert [i.instance_id for i in locator.get_service_instances("vendor-svc", namespace_id)] == ["v-1"]
    first = stand_in["calls"]
    assert first == 2  # GetNamespace + DiscoverInstances
    locator.get_service_instance("vendor-svc", namespace_id)
    now[0] += 59.9
    locator.get_service_instances("vendor-svc", namespace_id)
    assert stand_in["calls"] == first
    now[0] += 0.1
    aws.ServiceDiscoveryManager(namespace_id, "vendor-svc", "v-2", ipv4="10.0.0.2", port=80).register()
    assert sorted(i.instance_id for i in locator.get_service_instances("vendor-svc", namespace_id)) == ["v-1", "v-2"]
    assert stand_in["calls"] == first + 1
    stand_in["mode"] = "down"
    now[0] += 60
    assert len(locator.get_service_instances("vendor-svc", namespace_id)) == 2
    warning = lines_of(stream)[-1]
    assert warning["level"] == "warn" and warning["serviceName"] == "vendor-svc" and "stand-in is down" in warning["error"]
    assert stand_in["calls"] == first + 2
    locator.get_service_instances("vendor-svc", namespace_id)
    assert stand_in["calls"] == first + 3
    assert locator.breaker.state == tripwire.CircuitState.OPEN
    assert len(locator.get_service_instances("vendor-svc", namespace_id)) == 2
    assert stand_in["calls"] == first + 3
    assert "CircuitBreakerOpenError" in lines_of(stream)[-1]["error"]
    with pytest.raises(tripwire.CircuitBreakerOpenError):
        locator.get_service_instances("other-svc", namespace_id)


# -- CloudWatch -----------------------------------------------------------------------------


@needs_moto
def test_publisher_batches_read_back() -> None:
    import boto3

    cw = boto3.client("cloudwatch")
    for name in ["pay", "ship", "mail", "auth"]:
        tripwire.CircuitBreaker(name, failure_threshold=0.9, minimum_requests=100)
    pay = tripwire.registry.get("pay")
    assert pay is not None
    pay.call(lambda: 1)
    with pytest.raises(ZeroDivisionError):
        pay.call(lambda: 1 / 0)
    auth = tripwire.registry.get("auth")
    assert auth is not None
    auth.open()

    sent: List[int] = []

    class Counting:
        meta = cw.meta

        def put_metric_data(self, **kwargs: Any) -> Any:
            sent.append(len(kwargs["MetricData"]))
            return cw.put_metric_data(**kwargs)

    namespace = f"Roadcall/CB-{uid()}"
    publisher = aws.publish_circuit_breaker_metrics(namespace, client=Counting(), max_batch_size=5, dimensions={"Environment": "test"})
    assert not publisher.running
    assert publisher.publish() == {"metrics": 12, "requests": 3}
    assert sent == [5, 5, 2]
    metrics = cw.get_paginator("list_metrics").paginate(Namespace=namespace).build_full_result()["Metrics"]
    keys = sorted(f"{m['MetricName']} " + ",".join(sorted(f"{d['Name']}={d['Value']}" for d in m["Dimensions"])) for m in metrics)
    assert len(keys) == 12
    assert "FailureRate Environment=test,Service=pay,State=CLOSED" in keys
    assert "FailureRate Environment=test,Service=auth,State=OPEN" in keys
    assert "State Environment=test,Service=auth" in keys
    env = {"Name": "Environment", "Value": "test"}

    def q(id_: str, metric: str, dims: List[Dict[str, str]]) -> Dict[str, Any]:
        return {"Id": id_, "MetricStat": {"Metric": {"Namespace": namespace, "MetricName": metric, "Dimensions": dims}, "Period": 60, "Stat": "Maximum"}}

    now = datetime.now(timezone.utc)
    data = cw.get_metric_data(
        StartTime=now - timedelta(minutes=10),
        EndTime=now + timedelta(minutes=10),
        MetricDataQueries=[
            q("rate", "FailureRate", [{"Name": "Service", "Value": "pay"}, {"Name": "State", "Value": "CLOSED"}, env]),
            q("total", "TotalRequests", [{"Name": "Service", "Value": "pay"}, env]),
            q("state", "State", [{"Name": "Service", "Value": "auth"}, env]),
        ],
    )
    values = {r["Id"]: r["Values"][0] for r in data["MetricDataResults"]}
    assert values == {"rate": 50.0, "total": 2.0, "state": 2.0}
    assert asyncio.run(publisher.publish_async())["requests"] == 3


def test_publisher_start_stop_and_bad_options() -> None:
    p = aws.publish_circuit_breaker_metrics("N", interval=1000)
    assert not p.running
    assert p.start() is p and p.running
    p.stop()
    assert not p.running
    with pytest.raises(TypeError, match="`namespace`"):
        aws.publish_circuit_breaker_metrics(None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="`interval`"):
        aws.publish_circuit_breaker_metrics("N", interval=0)
    with pytest.raises(ValueError, match="`max_batch_size`"):
        aws.publish_circuit_breaker_metrics("N", max_batch_size=1001)
    with pytest.raises(TypeError, match="`client`"):
        aws.publish_circuit_breaker_metrics("N", client=object())


def test_batches_stay_within_the_api_limits() -> None:
    for i in range(700):
        tripwire.CircuitBreaker(f"b{i}-" + "x" * 200)
    sizes: List[int] = []

    class Fake:
        meta = None

        def put_metric_data(self, **kwargs: Any) -> None:
            sizes.append(len(kwargs["MetricData"]))

    p = aws.publish_circuit_breaker_metrics("N", client=Fake())
    # Every breaker of the metrics snapshot: these 700, and those of services other
    # tests left alive.
    sent = p.publish()
    assert sent["metrics"] >= 2100 and sent["metrics"] % 3 == 0 and sent["requests"] == len(sizes)
    assert all(n <= 1000 for n in sizes) and sum(sizes) == sent["metrics"]
