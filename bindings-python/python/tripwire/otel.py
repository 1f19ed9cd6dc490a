"""tripwire's metrics as OpenTelemetry observable instruments, and the opt-in tracing
of breakers, through the OpenTelemetry API only (extra ``tripwire[otel]``;
``opentelemetry-api`` is imported when first used).

Metrics: one core render per collection feeds every instrument (the API has no batch
callback in Python: the first instrument read in a collection renders, the others
read the same snapshot). Counters become observable counters (named without
``_total``), gauges observable gauges; attributes are the Prometheus labels. The API
has no observable histogram: the call-duration histogram is reported as three
observable counters, ``..._bucket`` (attribute ``le``, cumulative as in Prometheus),
``..._count`` and ``..._sum`` (seconds); the queue-wait summary as ``_count`` and
``_sum``.

Tracing (``CircuitBreaker(..., tracing="events" | "spans")``, off by default: a span
costs more than a whole guarded call): ``"events"`` adds ``tripwire.rejected`` and
``tripwire.transition`` events to the active span; ``"spans"`` also wraps each call
of ``call`` / ``call_async`` in a span ``circuit <name>`` (status ERROR when the call
fails or is refused).
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable, Dict, Iterable, List, Optional, Set, Tuple

from tripwire._metrics import metrics_text, samples as _samples

__all__ = ["Instrumentation", "instrument"]

def _api() -> Any:
    try:
        import opentelemetry
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError(
            "tripwire: tracing and tripwire.otel need opentelemetry-api: pip install 'tripwire[otel]'"
        ) from error
    return opentelemetry


def _instrument_of(kind: str, name: str) -> Tuple[str, str, str]:
    """The instrument a sample goes to: ``(name, "counter" | "gauge", unit)``."""
    if kind == "counter":
        return (name[:-6] if name.endswith("_total") else name), "counter", ""
    if kind in ("histogram", "summary"):
        return name, "counter", ("s" if name.endswith("_sum") and "_seconds" in name else "")
    return name, "gauge", ""


_DEAD_LETTERS = (
    ("tripwire_dead_letter_queue_size", "gauge", "Failed calls kept for a retry."),
    ("tripwire_dead_letter_queue_capacity", "gauge", "Failed calls the dead-letter queue keeps at most."),
    ("tripwire_dead_letter_queue_enqueued_total", "counter", "Failed calls ever queued."),
    ("tripwire_dead_letter_queue_dropped_total", "counter", "Failed calls dropped (the oldest) to make room."),
)


class Instrumentation:
    """What ``instrument(meter)`` made: ``instruments`` by name; ``stop()`` makes
    every callback observe nothing from then on."""

    def __init__(self) -> None:
        self.instruments: Dict[str, Any] = {}
        self._lock = threading.Lock()
        self._scrape: Dict[str, List[Tuple[float, Dict[str, str]]]] = {}
        self._served: Set[str] = set()
        self._at = 0.0
        self._stopped = False

    def stop(self) -> None:
        """No more observations (the OpenTelemetry API cannot remove an instrument)."""
        self._stopped = True

    def _read(self, name: str) -> List[Tuple[float, Dict[str, str]]]:
        """This instrument's observations: from the collection's snapshot, rendered
        by the first instrument read in it (an instrument read twice, or a snapshot
        older than a second, starts a new collection)."""
        with self._lock:
            now = time.monotonic()
            if name in self._served or now - self._at > 1.0:
                scrape: Dict[str, List[Tuple[float, Dict[str, str]]]] = {}
                for _, kind, _, sample, attributes, value in _samples(metrics_text()):
                    if value == value and value not in (float("inf"), float("-inf")):
                        scrape.setdefault(_instrument_of(kind, sample)[0], []).append((value, attributes))
                self._scrape, self._served, self._at = scrape, set(), now
            self._served.add(name)
            return self._scrape.get(name, [])


def instrument(meter: Any) -> Instrumentation:
    """Observable instruments on ``meter`` (an OpenTelemetry ``Meter``) for every
    tripwire family, read from one core snapshot per collection."""
    for method in ("create_observable_counter", "create_observable_gauge"):
        if not callable(getattr(meter, method, None)):
            raise TypeError("instrument() needs an OpenTelemetry Meter (opentelemetry.metrics.get_meter(name))")
    from opentelemetry.metrics import CallbackOptions, Observation

    result = Instrumentation()

    def callback(name: str) -> Callable[[CallbackOptions], Iterable[Observation]]:
        def observe(options: CallbackOptions) -> Iterable[Observation]:
            if result._stopped:
                return []
            return [Observation(value, attributes) for value, attributes in result._read(name)]

        return observe

    known: List[Tuple[str, str, str]] = [(s[3], s[1], s[2]) for s in _samples(metrics_text())]
    known.extend(_DEAD_LETTERS)
    for sample, kind, help in known:
        name, how, unit = _instrument_of(kind, sample)
        if name in result.instruments:
            continue
        create = meter.create_observable_counter if how == "counter" else meter.create_observable_gauge
        result.instruments[name] = create(name, callbacks=[callback(name)], unit=unit, description=help)
    return result


# -- tracing -----------------------------------------------------------------------------

_MODES = ("events", "spans")


def tracing_mode(value: Any) -> Optional[str]:
    """The ``tracing`` option checked: None / False (off), ``"events"`` or ``"spans"``."""
    if value is None or value is False:
        return None
    if not isinstance(value, str):
        raise TypeError(f"invalid option `tracing`: must be 'events' or 'spans', not {type(value).__name__}")
    if value not in _MODES:
        raise ValueError(f"invalid option `tracing`: must be 'events' or 'spans', not {value!r}")
    return value


class Tracer:
    """A breaker's tracing: events on the active span, and spans per call."""

    __slots__ = ("breaker_name", "spans", "_trace", "_tracer", "_status")

    def __init__(self, breaker_name: str, mode: str) -> None:
        _api()
        from opentelemetry import trace
        from opentelemetry.trace import Status, StatusCode

        self.breaker_name = breaker_name
        self.spans = mode == "spans"
        self._trace = trace
        self._tracer = trace.get_tracer("tripwire") if self.spans else None
        self._status = (Status, StatusCode)

    def _event(self, name: str, attributes: Dict[str, Any]) -> None:
        span = self._trace.get_current_span()
        if span.is_recording():
            span.add_event(name, {"tripwire.breaker": self.breaker_name, **attributes})

    def rejected(self, state: str) -> None:
        self._event("tripwire.rejected", {"tripwire.state": state})

    def transition(self, old: str, new: str) -> None:
        self._event("tripwire.transition", {"tripwire.from": old, "tripwire.to": new})

    def span(self) -> Any:
        """A context manager: the call's span (records the error and sets the status)."""
        assert self._tracer is not None
        return self._tracer.start_as_current_span(
            f"circuit {self.breaker_name}", attributes={"tripwire.breaker": self.breaker_name}
        )

    def failed(self, span: Any, error: BaseException) -> None:
        Status, StatusCode = self._status
        span.set_status(Status(StatusCode.ERROR, str(error)))
        from tripwire import CircuitBreakerError

        if isinstance(error, CircuitBreakerError):
            span.set_attribute("tripwire.rejected", True)
