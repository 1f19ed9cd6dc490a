"""tripwire.prometheus (a prometheus_client collector), tripwire.otel (observable
instruments read by the SDK's in-memory reader) and the opt-in tracing of breakers
(spans and events seen by the SDK's in-memory exporter): the values are the core's."""

from __future__ import annotations

import asyncio
import gc
import subprocess
import sys
from typing import Any, Dict, List, Set, Tuple

import pytest

import tripwire
from tripwire import CircuitBreaker, CircuitBreakerError, CircuitBreakerService, ManualClock, metrics_text

Series = Set[Tuple[str, Tuple[Tuple[str, str], ...], float]]


def parsed(text: str, openmetrics: bool) -> Series:
    """Every sample as (name, sorted labels, value)."""
    if openmetrics:
        from prometheus_client.openmetrics.parser import text_string_to_metric_families
    else:
        from prometheus_client.parser import text_string_to_metric_families  # type: ignore[no-redef]
    return {
        (s.name, tuple(sorted(s.labels.items())), float(s.value))
        for f in text_string_to_metric_families(text)
        for s in f.samples
    }


def busy() -> CircuitBreakerService:
    gc.collect()  # the services of earlier tests are gone
    clock = ManualClock(0)
    b = CircuitBreaker('odd"name\\x', clock=clock, failure_threshold=1)
    with pytest.raises(OSError):
        b.call(lambda: (_ for _ in ()).throw(OSError("x")))
    svc = CircuitBreakerService(clock=clock)
    svc.execute_with_circuit_breaker("adb", "query", lambda: "ok")
    svc.execute_with_circuit_breaker(
        "adb", "write", lambda: (_ for _ in ()).throw(OSError("down")), fallback_options={"queue": True, "fallback_value": 0}
    )
    return svc


def test_importing_registers_nothing_and_the_collector_yields_the_cores_values() -> None:
    from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
    from prometheus_client.openmetrics.exposition import generate_latest as openmetrics_latest

    from tripwire.prometheus import TripwireCollector

    assert not any(isinstance(c, TripwireCollector) for c in list(REGISTRY._collector_to_names))
    svc = busy()
    registry = CollectorRegistry()
    registry.register(TripwireCollector())
    assert parsed(generate_latest(registry).decode(), False) == parsed(metrics_text(), False)
    assert parsed(openmetrics_latest(registry).decode(), True) == parsed(metrics_text("openmetrics"), True)
    names = set(registry._collector_to_names[next(iter(registry._collector_to_names))])
    assert "tripwire_dead_letter_queue_size" in names and "tripwire_circuitbreaker_calls_total" in names
    with pytest.raises(ValueError):
        registry.register(TripwireCollector())  # the same names twice: refused by the registry
    assert svc.get_dead_letter_stats()["size"] == 1


def test_the_main_module_does_not_import_prometheus_client_or_opentelemetry() -> None:
    code = "import sys, tripwire; print([m for m in ('prometheus_client', 'opentelemetry', 'tripwire.otel') if m in sys.modules])"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.stdout.strip() == "[]", run.stdout + run.stderr


def _collect(reader: Any) -> Dict[str, List[Tuple[Dict[str, Any], float]]]:
    data = reader.get_metrics_data()
    out: Dict[str, List[Tuple[Dict[str, Any], float]]] = {}
    if data is None:
        return out
    for rm in data.resource_metrics:
        for sm in rm.scope_metrics:
            for m in sm.metrics:
                out[m.name] = [(dict(p.attributes), p.value) for p in m.data.data_points]
    return out


def test_otel_instruments_observe_one_snapshot_per_collection(monkeypatch: pytest.MonkeyPatch) -> None:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    import tripwire.otel as otel

    svc = busy()
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    renders: List[int] = []
    real = otel.metrics_text
    monkeypatch.setattr(otel, "metrics_text", lambda *a: renders.append(1) or real(*a))
    made = otel.instrument(provider.get_meter("test"))
    assert "tripwire_circuitbreaker_calls" in made.instruments
    assert "tripwire_dead_letter_queue_size" in made.instruments
    renders.clear()
    got = _collect(reader)
    assert len(renders) == 1, "one render feeds every instrument"
    calls = {(a["name"], a["kind"]): v for a, v in got["tripwire_circuitbreaker_calls"]}
    assert calls[("adb:query", "successful")] == 1
    assert calls[('odd"name\\x', "failed")] == 1, "label values unescaped"
    state = {(a["name"], a["state"]): v for a, v in got["tripwire_circuitbreaker_state"]}
    assert state[("adb:write", "closed")] == 1
    assert got["tripwire_dead_letter_queue_size"][0][1] >= 1, "summed over the live services"
    buckets = got["tripwire_circuitbreaker_call_duration_seconds_bucket"]
    assert [v for a, v in buckets if a["le"] == "+Inf" and a["name"] == "adb:query"] == [1], "cumulative, as in Prometheus"
    svc.execute_with_circuit_breaker("adb", "query", lambda: "ok")
    renders.clear()
    again = {(a["name"], a["kind"]): v for a, v in _collect(reader)["tripwire_circuitbreaker_calls"]}
    assert again[("adb:query", "successful")] == 2, "the next collection reads a new snapshot"
    assert len(renders) == 1
    made.stop()
    assert not _collect(reader).get("tripwire_circuitbreaker_calls"), "stopped: nothing observed"
    provider.shutdown()
    with pytest.raises(TypeError, match="Meter"):
        otel.instrument(object())


@pytest.fixture
def spans() -> Any:
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    # The global provider can be set once per process: later tests reuse it.
    trace.set_tracer_provider(provider)
    real = trace.get_tracer_provider()
    exporter_of = getattr(real, "_tripwire_exporter", None)
    if exporter_of is None:
        real._tripwire_exporter = exporter  # type: ignore[attr-defined]
        if real is not provider:
            real.add_span_processor(SimpleSpanProcessor(exporter))  # type: ignore[attr-defined]
        exporter_of = exporter
    exporter_of.clear()
    return exporter_of


def test_tracing_spans_wrap_each_call(spans: Any) -> None:
    clock = ManualClock(0)
    b = CircuitBreaker("traced", clock=clock, failure_threshold=1, tracing="spans")
    assert isinstance(b, CircuitBreaker) and tripwire.registry.get("traced") is b
    assert b.call(lambda: 42) == 42
    with pytest.raises(OSError):
        b.call(lambda: (_ for _ in ()).throw(OSError("boom")))
    with pytest.raises(CircuitBreakerError):
        b.call(lambda: 1)

    async def run() -> int:
        return 7

    clock.advance(120)
    assert asyncio.run(b.call_async(run)) == 7

    @b
    def decorated() -> str:
        return "d"

    assert decorated() == "d"
    finished = spans.get_finished_spans()
    assert [s.name for s in finished] == ["circuit traced"] * 5
    assert [s.status.status_code.name for s in finished] == ["UNSET", "ERROR", "ERROR", "UNSET", "UNSET"]
    assert finished[2].attributes["tripwire.rejected"] is True
    events = [e.name for s in finished for e in s.events]
    assert "tripwire.transition" in events and "tripwire.rejected" in events


def test_tracing_events_on_the_active_span(spans: Any) -> None:
    from opentelemetry import trace

    b = CircuitBreaker("evented", failure_threshold=1, tracing="events")
    tracer = trace.get_tracer("test")
    with tracer.start_as_current_span("request"):
        with pytest.raises(OSError):
            b.call(lambda: (_ for _ in ()).throw(OSError("boom")))
        with pytest.raises(CircuitBreakerError):
            b.call(lambda: 1)
    (span,) = spans.get_finished_spans()
    names = [(e.name, dict(e.attributes)) for e in span.events]
    assert ("tripwire.transition", {"tripwire.breaker": "evented", "tripwire.from": "CLOSED", "tripwire.to": "OPEN"}) in names
    assert ("tripwire.rejected", {"tripwire.breaker": "evented", "tripwire.state": "OPEN"}) in names


def test_tracing_option_is_checked_and_off_by_default() -> None:
    with pytest.raises(ValueError, match="tracing"):
        CircuitBreaker("t1", tracing="logs")
    with pytest.raises(TypeError, match="tracing"):
        CircuitBreaker("t2", tracing=1)  # type: ignore[arg-type]
    assert type(CircuitBreaker("t3")) is CircuitBreaker
    assert type(CircuitBreaker("t4", tracing=None)) is CircuitBreaker
