"""Metrics at scrape time (issue 12): the golden scenarios of tests/vectors/metrics give
byte-identical text in Python (both formats; each replayed in a fresh interpreter, as
Node replays them in a fresh process, so that no other test's service is live),
promtool accepts Python's Prometheus text, prometheus_client's OpenMetrics parser
accepts its OpenMetrics, label values are escaped and every series is written once."""

from __future__ import annotations

import gc
import json
import pathlib
import subprocess
import sys
from typing import List

import pytest

import tripwire
from tripwire import CircuitBreaker, CircuitBreakerService, ManualClock, metrics_content_type, metrics_text

ROOT = pathlib.Path(__file__).resolve().parents[2]
DIR = ROOT / "tests" / "vectors" / "metrics"
VECTORS = sorted(DIR.glob("*.json"))
TESTS = pathlib.Path(__file__).resolve().parent

GOLDEN = r"""
import asyncio, json, sys
sys.path.insert(0, sys.argv[1])
import tripwire
from test_service_vectors import replay
vector = json.loads(open(sys.argv[2], encoding="utf-8").read())
svc = asyncio.run(replay(vector))
assert "db:query" in tripwire.registry, "the service breakers are in the registry too"
out = {f: tripwire.metrics_text(f) for f in ("prometheus", "openmetrics")}
out["default"] = tripwire.metrics_text()
print(json.dumps(out))
"""


def series(text: str) -> List[str]:
    """Every sample line's series (name and labels), for the uniqueness checks."""
    return [line[: line.rindex(" ")] for line in text.splitlines() if line and not line.startswith("#")]


def promtool() -> str:
    binary = ROOT / "target" / "tools" / "promtool"
    if not binary.exists():
        subprocess.run(["bash", str(ROOT / "scripts" / "setup-promtool.sh")], check=True)
    return str(binary)


def test_there_are_golden_files() -> None:
    assert VECTORS


@pytest.mark.parametrize("path", VECTORS, ids=[p.name for p in VECTORS])
def test_golden_metrics(path: pathlib.Path) -> None:
    run = subprocess.run(
        [sys.executable, "-c", GOLDEN, str(TESTS), str(path)], capture_output=True, text=True, encoding="utf-8"
    )
    assert run.returncode == 0, run.stderr
    got = json.loads(run.stdout)
    base = path.with_suffix("")
    for fmt, ext in (("prometheus", ".prom"), ("openmetrics", ".openmetrics")):
        want = base.with_suffix(ext).read_text(encoding="utf-8").replace('runtime="RUNTIME"', 'runtime="python"')
        assert got[fmt] == want, f"{path.name} as {fmt}"
    assert got["default"] == got["prometheus"], "prometheus is the default"


def busy() -> CircuitBreakerService:
    clock = ManualClock(0)
    b = CircuitBreaker("promtool-standalone", clock=clock, failure_threshold=1)
    with pytest.raises(ValueError):
        b.call(lambda: (_ for _ in ()).throw(ValueError("x")))
    svc = CircuitBreakerService(clock=clock, dead_letter_queue_size=3)
    svc.update_service_config("mdb", config={"failure_threshold": 2}, retry_policy={"max_attempts": 1})

    def fail() -> None:
        raise OSError("down")

    svc.execute_with_circuit_breaker("mdb", "query", lambda: "ok")
    svc.execute_with_circuit_breaker("mdb", "write", fail, fallback_options={"queue": True, "fallback_value": None})
    return svc


def test_promtool_check_metrics_accepts_the_exposition() -> None:
    svc = busy()
    text = metrics_text()
    run = subprocess.run([promtool(), "check", "metrics"], input=text, capture_output=True, text=True)
    assert run.returncode == 0, f"promtool: {run.stdout}{run.stderr}"
    assert "tripwire_dead_letter_queue_size" in text
    assert svc.get_dead_letter_stats()["size"] == 1


def test_prometheus_client_parses_the_openmetrics() -> None:
    from prometheus_client.openmetrics.parser import text_string_to_metric_families

    svc = busy()
    text = metrics_text("openmetrics")
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert families["tripwire_circuitbreaker_calls"].type == "counter"
    assert families["tripwire_circuitbreaker_call_duration_seconds"].type == "histogram"
    assert families["tripwire_circuitbreaker_call_duration_seconds"].unit == "seconds"
    assert families["tripwire_build"].type == "info"
    state = {
        (s.labels["name"], s.labels["state"]): s.value
        for s in families["tripwire_circuitbreaker_state"].samples
    }
    assert state[("mdb:query", "closed")] == 1
    assert state[("promtool-standalone", "open")] == 1
    assert svc is not None


def test_label_values_are_escaped_every_series_once_freed_breakers_vanish() -> None:
    clock = ManualClock(0)
    name = 'we"ird\\name\nλ'
    CircuitBreaker(name, clock=clock)
    svc = CircuitBreakerService(clock=clock)
    svc.get_circuit_breaker("pay", "charge")
    for fmt in ("prometheus", "openmetrics"):
        text = metrics_text(fmt)
        assert 'tripwire_circuitbreaker_state{name="we\\"ird\\\\name\\nλ",service="",operation="",state="closed"} 1' in text
        every = series(text)
        assert len(set(every)) == len(every), f"{fmt}: a series is written once"
        charge = [s for s in every if s.startswith('tripwire_circuitbreaker_state{name="pay:charge",')]
        assert len(charge) == 5, "in the registry and the service: shown once, as the service's"
        assert all('service="pay",operation="charge"' in s for s in charge)
    tripwire.registry.remove(name)
    assert 'we\\"ird\\\\name\\nλ",service=""' not in metrics_text(), "out of the registry: gone"
    del svc
    gc.collect()
    text = metrics_text()
    assert 'service="pay"' not in text, "a collected service vanishes"
    assert 'name="pay:charge",service="",operation=""' in text, "its breaker stays registered, standalone"


def test_the_default_service_adds_nothing_until_used() -> None:
    code = (
        "import tripwire\n"
        "before = tripwire.metrics_text()\n"
        "tripwire.circuit_breaker_service.get_circuit_breaker('a', 'b')\n"
        "after = tripwire.metrics_text()\n"
        "assert 'tripwire_dead_letter_queue_capacity' not in before, before\n"
        "assert 'service=\"a\"' not in before, before\n"
        "assert 'tripwire_dead_letter_queue_capacity' in after, after\n"
        "assert 'name=\"a:b\",service=\"a\",operation=\"b\"' in after, after\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr


def test_format_is_checked_and_content_types_are_the_cores() -> None:
    with pytest.raises(ValueError, match="format"):
        metrics_text("json")
    with pytest.raises(TypeError, match="format"):
        metrics_text(1)  # type: ignore[arg-type]
    assert metrics_text("openmetrics").endswith("# EOF\n")
    assert metrics_content_type() == "text/plain; version=0.0.4; charset=utf-8"
    assert metrics_content_type("openmetrics") == "application/openmetrics-text; version=1.0.0; charset=utf-8"
    assert tripwire.PROMETHEUS_CONTENT_TYPE == metrics_content_type()
    assert tripwire.OPENMETRICS_CONTENT_TYPE == metrics_content_type("openmetrics")
    with pytest.raises(ValueError, match="format"):
        metrics_content_type("text")


def test_threads_scrape_while_calls_run() -> None:
    import threading

    svc = CircuitBreakerService()
    stop = threading.Event()
    errors: List[BaseException] = []

    def work() -> None:
        try:
            i = 0
            while not stop.is_set():
                svc.execute_with_circuit_breaker("t", f"op{i % 7}", lambda: "ok")
                i += 1
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        for _ in range(50):
            text = metrics_text()
            every = series(text)
            assert len(set(every)) == len(every)
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not errors
