"""Metrics at scrape time: one core snapshot of every breaker in ``tripwire.registry``
and of every live ``CircuitBreakerService``, rendered by the core
(``tripwire_core::metrics``) as Prometheus text 0.0.4 or OpenMetrics 1.0. Nothing is
counted per call for this: the core's counters are read when scraped."""

from __future__ import annotations

from typing import Tuple

from tripwire import _core
from tripwire.service import _live_services

__all__ = ["OPENMETRICS_CONTENT_TYPE", "PROMETHEUS_CONTENT_TYPE", "metrics_content_type", "metrics_text"]

_FORMATS = ("prometheus", "openmetrics")
_TYPES: Tuple[str, str] = _core._metrics_content_types()
PROMETHEUS_CONTENT_TYPE: str = _TYPES[0]
"""``text/plain; version=0.0.4; charset=utf-8``"""
OPENMETRICS_CONTENT_TYPE: str = _TYPES[1]
"""``application/openmetrics-text; version=1.0.0; charset=utf-8``"""


def _open_metrics(format: object) -> bool:
    if not isinstance(format, str):
        raise TypeError(f"invalid option `format`: must be 'prometheus' or 'openmetrics', not {type(format).__name__}")
    if format not in _FORMATS:
        raise ValueError(f"invalid option `format`: must be 'prometheus' or 'openmetrics', not {format!r}")
    return format == "openmetrics"


def metrics_text(format: str = "prometheus") -> str:
    """Every breaker's and service's metrics now, as Prometheus text 0.0.4
    (``"prometheus"``, the default) or OpenMetrics 1.0 (``"openmetrics"``).

    Covers ``tripwire.registry`` and every live ``CircuitBreakerService`` (an unused
    one adds nothing); a breaker both registered and held by a service appears once,
    with its service's labels."""
    open_metrics = _open_metrics(format)
    services = [s._core for s in _live_services()]
    return _core._metrics_text(open_metrics, services, _core.__version__)


def metrics_content_type(format: str = "prometheus") -> str:
    """The ``Content-Type`` of ``metrics_text(format)``."""
    return OPENMETRICS_CONTENT_TYPE if _open_metrics(format) else PROMETHEUS_CONTENT_TYPE
