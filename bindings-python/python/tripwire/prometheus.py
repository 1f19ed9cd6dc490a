"""tripwire's metrics in a ``prometheus_client`` registry (extra ``tripwire[prometheus]``).

``TripwireCollector`` is a custom collector: each ``collect()`` renders one core
snapshot (``tripwire.metrics_text("openmetrics")``) and yields its families as
``prometheus_client`` metric families, parsed by ``prometheus_client``'s own
OpenMetrics parser, so every value is the core's. Nothing is registered anywhere
unless you register it::

    from prometheus_client import CollectorRegistry
    registry = CollectorRegistry()
    registry.register(TripwireCollector())
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterator, List

from tripwire._metrics import metrics_text

if TYPE_CHECKING:
    from prometheus_client.metrics_core import Metric

__all__ = ["TripwireCollector"]

# The families that appear only once a service has a dead-letter queue (described
# always, so that a registry checks their names when the collector is registered).
_DEAD_LETTER_FAMILIES = (
    ("tripwire_dead_letter_queue_size", "Failed calls kept for a retry.", "gauge"),
    ("tripwire_dead_letter_queue_capacity", "Failed calls the dead-letter queue keeps at most.", "gauge"),
    ("tripwire_dead_letter_queue_enqueued", "Failed calls ever queued.", "counter"),
    ("tripwire_dead_letter_queue_dropped", "Failed calls dropped (the oldest) to make room.", "counter"),
)


def _parse(text: str) -> List[Metric]:
    try:
        from prometheus_client.openmetrics.parser import text_string_to_metric_families
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError(
            "tripwire.prometheus needs prometheus_client: pip install 'tripwire[prometheus]'"
        ) from error
    parse: Any = text_string_to_metric_families
    return list(parse(text))


class TripwireCollector:
    """A ``prometheus_client`` collector of every tripwire family: the breakers of
    ``tripwire.registry`` and of every live ``CircuitBreakerService``, read when
    scraped."""

    def collect(self) -> Iterator[Metric]:
        """The families now, from one core snapshot."""
        yield from _parse(metrics_text("openmetrics"))

    def describe(self) -> Iterator[Metric]:
        """The families (without samples), for the registry's name checks."""
        from prometheus_client.metrics_core import Metric

        seen = set()
        for family in _parse(metrics_text("openmetrics")):
            seen.add(family.name)
            yield Metric(family.name, family.documentation, family.type, family.unit)
        for name, help, kind in _DEAD_LETTER_FAMILIES:
            if name not in seen:
                yield Metric(name, help, kind)
