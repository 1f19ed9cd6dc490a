"""Metrics at scrape time: one core snapshot of every breaker in ``tripwire.registry``
and of every live ``CircuitBreakerService``, rendered by the core
(``tripwire_core::metrics``) as Prometheus text 0.0.4 or OpenMetrics 1.0. Nothing is
counted per call for this: the core's counters are read when scraped."""

from __future__ import annotations

import re
from typing import Dict, List, Tuple

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


_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
_ESCAPE = re.compile(r"\\(.)")

Sample = Tuple[str, str, str, str, Dict[str, str], float]
"""``(family, type, help, name, attributes, value)``"""


def _unescape(value: str) -> str:
    return _ESCAPE.sub(lambda m: "\n" if m.group(1) == "n" else m.group(1), value)


def samples(text: str) -> List[Sample]:
    """The samples of the core's Prometheus text (the OpenTelemetry and CloudWatch
    adapters read them)."""
    out: List[Sample] = []
    family, kind, help = "", "", ""
    for line in text.split("\n"):
        if line.startswith("# HELP "):
            family, _, help = line[7:].partition(" ")
        elif line.startswith("# TYPE "):
            kind = line[7:].split(" ")[1]
        elif line and not line.startswith("#"):
            m = _SAMPLE.match(line)
            if m is None:
                continue
            attributes = {k: _unescape(v) for k, v in _LABEL.findall(m.group(2) or "")}
            value = float("inf") if m.group(3) == "+Inf" else float(m.group(3))
            out.append((family, kind, help, m.group(1), attributes, value))
    return out
