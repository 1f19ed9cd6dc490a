"""tripwire's own logging: the structured JSON logger and the logger tripwire's
components use for what they do on their own (never per call).

* ``StructuredLogger`` / ``create_logger`` / ``logger``: one JSON object per line
  (``timestamp``, ``level``, ``message``, ``service``, then the fields).
* ``set_logger(logger)``: tripwire's own logger, for every breaker without a ``logger=``
  of its own, every service and control API: breaker transitions (``event:
  "transition"``, ``breaker``, ``from``, ``to``, ``cause``), control-API mutations
  (``event: "control"``) and store outages (``event: "storeDown"`` / ``"storeUp"``).
  ``TRIPWIRE_LOG=1`` sets the JSON ``logger`` when tripwire is imported. A
  ``logging.Logger`` works too (the fields go in ``extra``), as does any object with
  ``info`` and ``warn`` / ``warning`` taking ``(message, fields)``.
* A fleet store logs each of its outages once (``store_outage``): one line when it
  begins, one when it ends, however many breakers it serves. The breakers' own
  ``store_down`` / ``store_up`` listeners are told, but log nothing.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
from datetime import datetime, timezone
from typing import Any, Dict, Mapping, Optional, TextIO

__all__ = ["StructuredLogger", "create_logger", "get_logger", "set_logger"]


def _check_str(value: Any, option: str) -> str:
    if not isinstance(value, str) or not value:
        raise TypeError(f"`{option}` must be a non-empty str, not {type(value).__name__}")
    return value


_LEVELS = {"debug": 10, "info": 20, "warn": 30, "error": 40, "silent": 100}


def _level_of(value: Any, option: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"`{option}` must be a str, not {type(value).__name__}")
    level = value.lower()
    if level == "warning":
        level = "warn"
    if level not in _LEVELS:
        raise ValueError(f"`{option}` must be one of debug, info, warn, error, silent, not {value!r}")
    return level


def _env_level() -> str:
    try:
        return _level_of(os.environ.get("LOG_LEVEL") or "info", "LOG_LEVEL")
    except ValueError:
        return "info"


def _json_default(value: Any) -> Any:
    if isinstance(value, BaseException):
        return {"name": type(value).__name__, "message": str(value)}
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return repr(value)


class StructuredLogger:
    """One JSON object per line: ``timestamp``, ``level``, ``message``, ``service``, then
    the fields. ``fields`` may be a mapping (merged), an exception (as ``error``) or any
    other value (as ``data``). Thread-safe; a failing stream never breaks the caller."""

    def __init__(
        self,
        service: Optional[str] = None,
        *,
        level: Optional[str] = None,
        fields: Optional[Mapping[str, Any]] = None,
        stream: Optional[TextIO] = None,
    ) -> None:
        if service is None:
            service = os.environ.get("SERVICE_NAME") or os.environ.get("AWS_LAMBDA_FUNCTION_NAME") or "tripwire"
        self.service = _check_str(service, "service")
        self._level = _env_level() if level is None else _level_of(level, "level")
        if fields is not None and not isinstance(fields, Mapping):
            raise TypeError(f"`fields` must be a mapping, not {type(fields).__name__}")
        self._fields: Dict[str, Any] = dict(fields or {})
        if stream is not None and not callable(getattr(stream, "write", None)):
            raise TypeError(f"`stream` must have a write() method, not {type(stream).__name__}")
        self._stream = stream
        self._lock = threading.Lock()

    @property
    def level(self) -> str:
        return self._level

    @level.setter
    def level(self, value: str) -> None:
        self._level = _level_of(value, "level")

    def is_enabled_for(self, level: str) -> bool:
        return self._level != "silent" and _LEVELS[_level_of(level, "level")] >= _LEVELS[self._level]

    def child(self, **fields: Any) -> StructuredLogger:
        """A logger adding ``fields`` to every line (same stream and level)."""
        return StructuredLogger(self.service, level=self._level, fields={**self._fields, **fields}, stream=self._stream)

    def _write(self, level: str, message: Any, fields: Any) -> None:
        if _LEVELS[level] < _LEVELS[self._level]:
            return
        now = datetime.now(timezone.utc)
        entry: Dict[str, Any] = {
            "timestamp": now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z",
            "level": level,
            "message": message if isinstance(message, str) else str(message),
            "service": self.service,
        }

        def add(extra: Mapping[str, Any]) -> None:
            for k, v in extra.items():
                entry.setdefault(str(k), v)  # the base keys win

        add(self._fields)
        if isinstance(fields, BaseException):
            entry["error"] = {"name": type(fields).__name__, "message": str(fields)}
        elif isinstance(fields, Mapping):
            add(fields)
        elif fields is not None:
            entry["data"] = fields
        try:
            line = json.dumps(entry, default=_json_default)
        except (TypeError, ValueError):
            line = json.dumps({k: v if isinstance(v, (str, int, float, bool, type(None))) else repr(v) for k, v in entry.items()})
        stream = self._stream if self._stream is not None else sys.stdout
        try:
            with self._lock:
                stream.write(line + "\n")
                flush = getattr(stream, "flush", None)
                if flush is not None:
                    flush()
        except Exception:
            pass

    def debug(self, message: Any, fields: Any = None) -> None:
        self._write("debug", message, fields)

    def info(self, message: Any, fields: Any = None) -> None:
        self._write("info", message, fields)

    def warn(self, message: Any, fields: Any = None) -> None:
        self._write("warn", message, fields)

    warning = warn

    def error(self, message: Any, fields: Any = None) -> None:
        self._write("error", message, fields)

    exception = error


def create_logger(
    service: Optional[str] = None,
    *,
    level: Optional[str] = None,
    fields: Optional[Mapping[str, Any]] = None,
    stream: Optional[TextIO] = None,
) -> StructuredLogger:
    """A new ``StructuredLogger``."""
    return StructuredLogger(service, level=level, fields=fields, stream=stream)


_default_logger: Optional[StructuredLogger] = None
_logger_lock = threading.Lock()


def default_logger() -> StructuredLogger:
    """The shared JSON logger (``tripwire.logger``), made on first use."""
    global _default_logger
    with _logger_lock:
        if _default_logger is None:
            _default_logger = StructuredLogger()
        return _default_logger


def logging_requested() -> bool:
    """Whether TRIPWIRE_LOG asks tripwire to log (anything but '', '0', 'false')."""
    value = os.environ.get("TRIPWIRE_LOG", "")
    return value not in ("", "0") and value.lower() != "false"


_own: Optional[Any] = None


def check_logger(logger: Any, option: str = "logger") -> Any:
    """``logger`` if it can log tripwire's lines, else a TypeError naming ``option``."""
    if logger is None or isinstance(logger, (logging.Logger, logging.LoggerAdapter)):
        return logger
    if not callable(getattr(logger, "info", None)) or not (
        callable(getattr(logger, "warn", None)) or callable(getattr(logger, "warning", None))
    ):
        raise TypeError(
            f"invalid option `{option}`: must be a logging.Logger or have info() and warn() methods, not {type(logger).__name__}"
        )
    return logger


def set_logger(logger: Optional[Any]) -> Optional[Any]:
    """Makes ``logger`` tripwire's own (None: off); returns the previous one."""
    global _own
    previous = _own
    _own = check_logger(logger)
    return previous


def get_logger() -> Optional[Any]:
    """The logger of ``set_logger()`` (or TRIPWIRE_LOG's), or None."""
    return _own


_STDLIB_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warn": logging.WARNING, "error": logging.ERROR}


def emit(logger: Optional[Any], level: str, message: str, fields: Dict[str, Any]) -> None:
    """One line through ``logger`` (default: tripwire's own); a logger that raises an
    ``Exception`` never breaks the caller."""
    target = _own if logger is None else logger
    if target is None:
        return
    try:
        if isinstance(target, (logging.Logger, logging.LoggerAdapter)):
            target.log(_STDLIB_LEVELS[level], message, extra=fields)
            return
        method = getattr(target, level, None)
        if method is None and level == "warn":
            method = getattr(target, "warning", None)
        if method is not None:
            method(message, fields)
    except Exception:
        logging.getLogger("tripwire").exception("tripwire: the logger raised")


def emit_to_operator(logger: Optional[Any], level: str, message: str, fields: Dict[str, Any]) -> None:
    """As ``emit``, but with no logger set (neither ``logger`` nor tripwire's own) the
    line goes to the standard library's ``"tripwire"`` logger: for what an operator
    must see (a store's outage, a fleet refusing a breaker)."""
    emit(logger if logger is not None or _own is not None else logging.getLogger("tripwire"), level, message, fields)


def store_outage(event: str, error: Optional[str] = None) -> None:
    """A fleet store's outage (called by the store's thread once per episode): one line
    when it begins (``"storeDown"``, with the error that began it) and one when it ends
    (``"storeUp"``), however many breakers the store serves; through tripwire's own
    logger, else the standard library's ``"tripwire"`` logger. Node's stores log the
    same lines."""
    fields: Dict[str, Any] = {"event": event}
    if event == "storeDown":
        cause = "" if error is None else f" ({error})"
        if error is not None:
            fields["error"] = error
        level, message = "warn", f"tripwire: fleet store unreachable{cause}; its breakers decide locally until it answers"
    else:
        level, message = "info", "tripwire: fleet store reachable again; its breakers share their state"
    emit_to_operator(None, level, message, fields)


if logging_requested():
    set_logger(default_logger())
