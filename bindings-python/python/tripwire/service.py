"""Seed 004's ``CircuitBreakerService``: circuit breakers per (service, operation)
with retries, a bulkhead per service, fallbacks, a dead-letter queue, presets, manual
control, system health and alerts.

Every decision is the Rust core's service engine (``tripwire._core.Service`` over
``tripwire_core::resilience::Service``): keys, eviction, configuration and presets,
bulkhead admission and queue waits, retry schedules and error classification,
dead-letter bookkeeping, alert episodes and health. This module only runs the user's
functions and fallbacks, sleeps and waits, holds the dead-letter payloads and calls
the alert listeners.

One driver (``_drive``, a generator) takes a call from step to step for both the
sync and the async API; ``_run_sync`` and ``_run_async`` only carry out what it asks:
run an attempt, sleep before a retry, wait for a bulkhead slot, resolve a fallback.
A call whose first attempt succeeds never needs the driver: a sync one runs in the
engine's ``execute``, an async one's first attempt is awaited before the driver is made
(its breaker's permit asked in ``execute`` too when ``call_async`` would only ask and
end it: the success then costs ``execute`` and one ``report_outcome``). ``execute``
starts an async call's ``_run_async`` itself and answers its coroutine.
"""

from __future__ import annotations

import asyncio
import collections.abc
import functools
import inspect
import logging
import threading
import time
import types
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Dict, Generator, List, Mapping, Optional, Tuple

from tripwire import _core
from tripwire._core import ManualClock, Pending, Permit, RedisStore
from tripwire._logger import check_logger
from tripwire._types import _STORE_FROM_ENV, CircuitBreakerStats

if TYPE_CHECKING:
    from tripwire import CircuitBreaker

__all__ = [
    "Alert",
    "BulkheadRejectedError",
    "CircuitBreakerService",
    "DeadLetterItem",
    "circuit_breaker_service",
]

_log = logging.getLogger("tripwire")

_CoroutineType = types.CoroutineType

# The engine's steps (see bindings-python/src/service.rs), and one of the driver's own.
_DONE = _core.STEP_DONE
_RUN = _core.STEP_RUN
# `_run_async`'s first step when it is a RUN: its call and breaker (or permit) are
# `_run_async`'s arguments.
_FIRST_RUN = (_RUN,)
_RETRY = _core.STEP_RETRY
_WAIT = _core.STEP_WAIT
_FAILED = _core.STEP_FAILED
_REFUSED = _core.STEP_REFUSED
_RESOLVE = -1
"""The driver asks its runner for a fallback's value (awaited when it is awaitable)."""

_NO_RETRY: Mapping[str, Any] = types.MappingProxyType({})
# Services whose last per-call bulkhead is remembered (so that one dict passed on every
# call is applied once): bounded, as service names may come from request data.
_LAST_BULKHEADS = 1024
"""``execute``'s retry policy (seed 003: one attempt), told apart by identity."""

Step = Tuple[Any, ...]
Driver = Generator[Step, Any, Any]


class BulkheadRejectedError(Exception):
    """The service's bulkhead refused the call: every slot and queue place was taken,
    or the call waited longer than ``max_queue_wait``. The call did not run."""

    def __init__(self, service: str, reason: str = "full") -> None:
        super().__init__(service, reason)
        self.service = service
        self.reason = reason

    def __str__(self) -> str:
        if self.reason == "queue-timeout":
            return f"bulkhead of service {self.service!r}: call rejected after waiting max_queue_wait"
        return f"bulkhead of service {self.service!r} is full: call rejected"


@dataclass(frozen=True)
class DeadLetterItem:
    """A failed operation kept for a later ``retry_dead_letter_item(id)``."""

    id: int
    service: str
    operation: str
    error: BaseException
    attempts: int
    timestamp: float
    fn: Callable[[], Any] = field(repr=False, compare=False)
    retry_policy: Optional[Mapping[str, Any]] = field(default=None, repr=False, compare=False)
    """The failed call's own ``retry_policy`` (a retry of the item uses it)."""


@dataclass(frozen=True)
class Alert:
    """An alert, fired once per episode (when its condition becomes true); the
    ``type`` names are the Node package's.

    ``type``: ``"circuit-opened"`` (a breaker left CLOSED; the episode lasts until it
    closes again), ``"high-error-rate"`` (a breaker's window holds at least 10 calls
    and more than 10 % of them failed),
    ``"bulkhead-full"`` (a call had to queue or was refused; until a call ends with
    no one waiting), ``"dead-letter-queue"`` (more than 10 items) or
    ``"all-circuits-open"`` (every breaker of a service open; until one closes).
    """

    type: str
    service: Optional[str]
    operation: Optional[str]
    message: str
    timestamp: float


AlertListener = Callable[[Alert], Any]

_live: weakref.WeakSet[CircuitBreakerService] = weakref.WeakSet()
"""Every CircuitBreakerService not yet collected (``tripwire.metrics_text`` reads them)."""


def _live_services() -> List[CircuitBreakerService]:
    """The live services, a copy (another thread may make one meanwhile)."""
    while True:
        try:
            return list(_live)
        except RuntimeError:  # pragma: no cover - the set changed size while copied
            continue


def _breaker_class() -> Any:
    # tripwire/__init__.py imports this module: look the facade class up late.
    import tripwire

    return tripwire.CircuitBreaker


def _make_breaker(clock: Optional[ManualClock], logger: Optional[Any], store: Dict[str, Any], name: str) -> Any:
    """The engine's breaker factory: a registered ``CircuitBreaker`` on the service's
    clock and store, logging through its logger (the engine gives it its options right
    after; a shared one joins its fleet then, with them)."""
    return _breaker_class()(name, clock=clock, logger=logger, _join_later=True, **store)


def _dispatch(listeners: List[AlertListener], clock: Optional[ManualClock], alerts: List[Tuple[Any, ...]]) -> None:
    """Hands the engine's alerts to the listeners; a listener that raises is logged."""
    now = clock.now() if clock is not None else time.time()
    for kind, service, operation, message in alerts:
        alert = Alert(kind, service, operation, message, now)
        for listener in list(listeners):
            try:
                listener(alert)
            except Exception:
                _log.exception("tripwire: alert listener raised")


def _takes_argument(fn: Callable[..., Any]) -> bool:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return True
    return any(
        p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL) for p in params
    )


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _coroutine_returned(result: Any) -> TypeError:
    result.close()
    return TypeError(
        "execute_with_circuit_breaker: fn returned a coroutine; pass an `async def` function "
        "(or a functools.partial of one) so that it is awaited"
    )


@dataclass
class _Payload:
    """What the runtime keeps of a dead letter (the engine keeps its key and attempts)."""

    fn: Callable[[], Any]
    error: BaseException
    timestamp: float
    retry_policy: Optional[Mapping[str, Any]]


_FALLBACK_KEYS = frozenset({"fallback_value", "fallback_function", "queue"})
_FALLBACK_ALIASES = {"fallbackValue": "fallback_value", "fallbackFunction": "fallback_function"}


def _fallback_options(options: Mapping[str, Any]) -> Mapping[str, Any]:
    """``fallback_options`` checked: the snake_case keys, or the Node package's camelCase."""
    try:
        if options.keys() <= _FALLBACK_KEYS:
            return options
    except AttributeError:
        raise TypeError(f"fallback_options must be a dict, not {type(options).__name__}") from None
    checked: Dict[str, Any] = {}
    for key, value in options.items():
        name = _FALLBACK_ALIASES.get(key, key)
        if name not in _FALLBACK_KEYS:
            raise TypeError(
                f"invalid option `{key}` in fallback_options (fallback_value, fallback_function or queue)"
            )
        if name in checked:
            raise TypeError(f"invalid option `{key}` in fallback_options: give one spelling of this option")
        checked[name] = value
    return checked


class CircuitBreakerService:
    """Circuit breakers per (service, operation), with retry, bulkhead, fallbacks and
    a dead-letter queue (seed 004), driven by the core's service engine.

    Breakers use seed 003's settings (one trial call half-open, one success closes)
    over the core defaults, unless configured; each is a registered ``CircuitBreaker``
    named ``service:operation`` with ``%`` and ``:`` inside each part written ``%25`` and
    ``%3A`` (so ``("a:b", "c")`` and ``("a", "b:c")`` are two breakers). At most
    ``max_breakers`` breakers are kept: beyond that idle ones (closed, not forced, no
    call in flight) are dropped by the CLOCK policy and counted in ``evictions``.

    ``clock``: a ManualClock for tests: every wait runs on it. A sync call's retry delay
    advances it (no one else could); an async call's retry delay and any bulkhead queue
    wait end when the clock is moved past their deadline (``advance`` / ``set``).
    ``seed``: the retry jitter's seed (random by default).
    ``logger``: logs its breakers' transitions (default: tripwire's own, ``set_logger()``).
    ``store``: a ``RedisStore``: every breaker of the service is shared with the fleet
    (as ``CircuitBreaker(store=)``: not given, ``TRIPWIRE_STORE_URL`` if set; None,
    never).
    """

    def __init__(
        self,
        *,
        clock: Optional[ManualClock] = None,
        max_breakers: int = _core.DEFAULT_MAX_BREAKERS,
        dead_letter_queue_size: int = _core.DEFAULT_DEAD_LETTER_SIZE,
        on_alert: Optional[AlertListener] = None,
        services: Optional[Mapping[str, str]] = None,
        seed: Optional[int] = None,
        logger: Optional[Any] = None,
        store: Optional[RedisStore] = _STORE_FROM_ENV,
    ) -> None:
        if store is not _STORE_FROM_ENV and store is not None and not isinstance(store, RedisStore):
            raise TypeError(f"invalid option `store`: must be a tripwire.RedisStore or None (local), not {type(store).__name__}")
        if on_alert is not None and not callable(on_alert):
            raise TypeError("invalid option `on_alert`: must be callable (alert) -> None")
        if services is not None and not isinstance(services, collections.abc.Mapping):
            raise TypeError(f"invalid option `services`: must be a mapping of service name to preset name, not {type(services).__name__}")
        check_logger(logger)
        self._clock = clock
        self._listeners: List[AlertListener] = [on_alert] if on_alert is not None else []
        self._core = _core.Service(
            # `store=` given or not, as the service was made.
            functools.partial(_make_breaker, clock, logger, {} if store is _STORE_FROM_ENV else {"store": store}),
            functools.partial(_dispatch, self._listeners, clock),
            clock=clock,
            max_breakers=max_breakers,
            dead_letter_queue_size=dead_letter_queue_size,
            seed=seed,
        )
        self._dead: Dict[int, _Payload] = {}
        # The per-call `bulkhead=` options last applied, by service (by identity, as in Node).
        self._last_bulkhead: Dict[str, Mapping[str, Any]] = {}
        for name, preset in (services or {}).items():
            self.apply_preset(name, preset)
        _live.add(self)

    @property
    def evictions(self) -> int:
        """Breakers dropped by the ``max_breakers`` cap, since construction."""
        return int(self._core.breaker_counts()[2])

    # -- configuration ---------------------------------------------------------------

    def update_service_config(
        self,
        service: str,
        *,
        config: Optional[Mapping[str, Any]] = None,
        bulkhead: Optional[Mapping[str, Any]] = None,
        retry_policy: Optional[Mapping[str, Any]] = None,
        preset: Optional[str] = None,
        **sections: Any,
    ) -> None:
        """Changes a service's breaker options, bulkhead limits and retry policy for new
        calls; the breakers keep their state (reconfigured in place) and running calls
        their slots. ``preset``: a seed 004 preset by name, under the other arguments.

        ``config``: breaker options (``failure_threshold``, ``timeout``, ...);
        ``bulkhead``: ``max_concurrent``, ``queue_size``, ``max_queue_wait``;
        ``retry_policy``: ``max_attempts``, ``base_delay``, ``max_delay``, ``multiplier``,
        ``jitter``, ``retryable_errors``, ``non_retryable_errors``, ``seed``.
        The whole update is checked first: an unknown section or option, or a bad value,
        raises TypeError / ValueError naming it (with "did you mean"), and nothing changes.
        """
        update: Dict[str, Any] = dict(sections)
        for name, value in (("preset", preset), ("config", config), ("bulkhead", bulkhead), ("retry_policy", retry_policy)):
            if value is not None:
                update[name] = value
        self._core.update(service, update)

    def apply_preset(self, service: str, preset: str) -> None:
        """Configures ``service`` with a seed 004 preset by name (``llm``, ``cache``,
        ``database``, ``external-api``, ``websocket``)."""
        self.update_service_config(service, preset=preset)

    def get_service_config(self, service: str) -> Dict[str, Any]:
        """``{"preset", "config", "bulkhead", "retry_policy"}`` of a service as it stands
        (durations in seconds; a service never used reads the defaults)."""
        return self._core.service_config(service)

    def get_service_stats(self, service: str) -> Optional[Dict[str, Any]]:
        """``{"retries": {...}, "bulkhead": {...}}``: the service's retry outcomes since
        construction (``successful_without_retry``, ``successful_with_retry``,
        ``failed_without_retry``, ``failed_with_retry``; never reset) and its bulkhead
        counters; None for an unknown service."""
        stats: Optional[Dict[str, Any]] = self._core.service_stats(service)
        return stats

    # -- calls ---------------------------------------------------------------------------

    def execute_with_circuit_breaker(
        self,
        service: str,
        operation: str,
        fn: Callable[[], Any],
        # Not keyword-only (though usually given by keyword): CPython fills a missing
        # keyword-only argument by a dict lookup in `__kwdefaults__`, four a call
        # (~5 % of an async success), and a positional default from a tuple.
        fallback_options: Optional[Mapping[str, Any]] = None,
        retry_policy: Optional[Mapping[str, Any]] = None,
        bulkhead: Optional[Mapping[str, Any]] = None,
        config: Optional[Mapping[str, Any]] = None,
    ) -> Any:
        """Runs ``fn()`` through the (service, operation) breaker, with retries, the
        service's bulkhead and the fallbacks; returns its result (an awaitable when
        ``fn`` is a coroutine function).

        ``fallback_options``: ``fallback_value`` (returned when the call fails after
        its retries or is refused by the breaker or the bulkhead), ``fallback_function``
        (called with the error, or with nothing if it takes no argument), ``queue``
        (True: the failed call goes to the dead-letter queue). ``retry_policy``
        overrides the service's policy for this call; ``config`` is used when the
        breaker is first made (the breaker's options, and ``is_failure_result``: a
        returned value that counts as a failure, still returned); ``bulkhead`` changes the service's bulkhead (use
        ``update_service_config`` to change the rest later).
        """
        if fallback_options is None and retry_policy is None and bulkhead is None:
            # The common call: no option to check or apply first.
            result = self._core.execute(self, service, operation, fn, config)
        else:
            no_retry = retry_policy is _NO_RETRY
            if no_retry:
                retry_policy = None
            if fallback_options is not None:
                fallback_options = _fallback_options(fallback_options)
                queue = bool(fallback_options.get("queue"))
            else:
                queue = False
            if bulkhead is not None and (
                self._last_bulkhead.get(service) is not bulkhead or not self._core.is_configured(service)
            ):
                # A call's own defaults: the service still goes with its last breaker
                # (then the next call brings them again), whatever names calls bring.
                self._core.update(service, {"bulkhead": bulkhead}, True)
                if len(self._last_bulkhead) >= _LAST_BULKHEADS:
                    self._last_bulkhead.clear()
                self._last_bulkhead[service] = bulkhead
            result = self._core.execute(
                self, service, operation, fn, config, retry_policy, queue, no_retry, fallback_options
            )
        # The first attempt of a sync call runs in the engine's `execute`: a call that
        # succeeds at once answers its value, and never reaches the driver. A coroutine
        # function's call only begins there: `execute` answers the coroutine of
        # `_run_async`, made in that crossing (no answer object to read here).
        if result.__class__ is not Pending:
            return result
        return self._run_sync(self._drive(result.step, service, operation, fn, fallback_options, retry_policy), fn)

    def execute(
        self,
        service: str,
        operation: str,
        fn: Callable[[], Any],
        fallback: Optional[Callable[..., Any]] = None,
        options: Optional[Mapping[str, Any]] = None,
    ) -> Any:
        """Seed 003's ``execute``: ``fn()`` through the (service, operation) breaker —
        made with ``options`` on first use — without retries; ``fallback`` (called with
        the error, or with nothing) answers a failure or a refusal. The service's
        bulkhead applies."""
        fallback_options = {"fallback_function": fallback} if fallback is not None else None
        return self.execute_with_circuit_breaker(
            service, operation, fn, fallback_options=fallback_options, retry_policy=_NO_RETRY, config=options
        )

    def _drive(
        self,
        step: Step,
        service: str,
        operation: str,
        fn: Callable[[], Any],
        fallback_options: Optional[Mapping[str, Any]],
        retry_policy: Optional[Mapping[str, Any]],
    ) -> Driver:
        """The one driver of a call, sync or async: follows the engine's steps, yielding
        to its runner what only the runtime can do — ``(RUN, call, breaker)`` (run an
        attempt; the runner sends the next step), ``(RETRY, call, seconds, breaker)``
        (sleep), ``(WAIT, call, seconds)`` (wait for a bulkhead slot; the runner sends
        the next step), ``(RESOLVE, value)`` (a fallback's value, awaited if need be)."""
        while True:
            kind = step[0]
            if kind == _DONE:
                return step[1]
            if kind == _RUN or kind == _WAIT:
                step = yield step
            elif kind == _RETRY:
                yield step
                step = yield (_RUN, step[1], step[3])
            elif kind == _FAILED:
                error, dead_letter, dropped = step[1], step[3], step[4]
                if dropped is not None:
                    self._dead.pop(dropped, None)
                if dead_letter is not None:
                    self._dead[dead_letter] = _Payload(fn, error, self._now(), retry_policy)
                return (yield (_RESOLVE, self._fallback(error, fallback_options)))
            elif kind == _REFUSED:
                error = BulkheadRejectedError(service, step[1])
                return (yield (_RESOLVE, self._fallback(error, fallback_options)))
            else:
                raise RuntimeError(f"tripwire: unexpected service step {step!r}")

    @staticmethod
    def _fallback(error: BaseException, options: Optional[Mapping[str, Any]]) -> Any:
        """A call that failed for good: the fallback's answer, or the error raised."""
        if options:
            function = options.get("fallback_function")
            if function is not None:
                return function(error) if _takes_argument(function) else function()
            if "fallback_value" in options:
                return options["fallback_value"]
        raise error

    def _run_sync(self, driver: Driver, fn: Callable[[], Any]) -> Any:
        core = self._core
        try:
            op = next(driver)
            while True:
                kind = op[0]
                if kind == _RUN:
                    result = core.attempt(op[1], op[2], fn)
                elif kind == _RETRY:
                    self._sleep(op[1], op[2])
                    result = None
                elif kind == _WAIT:
                    result = self._wait_sync(op[1])
                else:
                    result = op[1]
                op = driver.send(result)
        except StopIteration as stop:
            value = stop.value
            if value.__class__ is _CoroutineType:
                raise _coroutine_returned(value) from None
            return value

    async def _run_async(
        self,
        call: Any,  # Optional[int]: an int once the loop runs an attempt
        via: Any,
        service: str,
        operation: str,
        fn: Callable[[], Any],
        fallback_options: Optional[Mapping[str, Any]],
        retry_policy: Optional[Mapping[str, Any]],
    ) -> Any:
        """Started by the engine's ``execute``: the first step is a RUN of ``call``
        through ``via`` (given as parts, no step tuple), or ``via.start()`` when ``call``
        is None. (A coroutine dropped or cancelled before it starts runs none of this:
        ``via``, a permit or an ``Unstarted``, then releases the call.)"""
        core = self._core
        # A first attempt runs before the driver is made: a call that succeeds at once
        # never needs it (as a sync call, run in the engine's `execute`).
        driver: Optional[Driver] = None
        result: Any
        try:
            if call is None:
                driver = self._drive(via.start(), service, operation, fn, fallback_options, retry_policy)
                op = next(driver)
            else:
                op = _FIRST_RUN
            while True:
                kind = op[0]
                if kind == _RUN:
                    if op is not _FIRST_RUN:
                        call, via = op[1], op[2]
                    try:
                        # `via` is the breaker, or the permit it gave already (a first
                        # attempt admitted in `execute`'s crossing): then the function is
                        # awaited as is, and the permit ended by `report_outcome`.
                        value = await (fn() if via.__class__ is Permit else via.call_async(fn))
                    except BaseException as error:
                        result = core.report_outcome(call, False, error, via)
                        # Over (not retried, no fallback to run) or cancelled: re-raised.
                        if result.__class__ is not Pending:
                            raise
                        result = result.step
                        if result[0] != _FAILED and result[0] != _RETRY:
                            raise
                    else:
                        # The value itself when the call is over (no step to make or
                        # read), else a `Pending` with the next step.
                        result = core.report_outcome(call, True, value, via)
                        if result.__class__ is Pending:
                            result = result.step
                        elif driver is None:
                            return result
                        else:
                            result = (_DONE, result)
                elif kind == _RETRY:
                    await self._sleep_async(op[1], op[2])
                    result = None
                elif kind == _WAIT:
                    result = await self._wait_async(op[1])
                else:
                    result = op[1]
                    if inspect.isawaitable(result):
                        result = await result
                if driver is not None:
                    op = driver.send(result)
                else:
                    # The first attempt's next step (its success returned above).
                    driver = self._drive(result, service, operation, fn, fallback_options, retry_policy)
                    op = next(driver)
        except StopIteration as stop:
            return stop.value

    # -- waiting and sleeping ------------------------------------------------------------

    def _wait_sync(self, call: int) -> Step:
        """Waits in the bulkhead queue until the engine admits or refuses the call."""
        core, clock = self._core, self._clock
        event = threading.Event()
        try:
            while True:
                event.clear()
                step: Step = core.wait(call, event.set)
                if step[0] != _WAIT:
                    return step
                seconds = step[2]
                if clock is None:
                    event.wait(seconds)
                elif seconds is None:
                    event.wait()
                else:
                    timer = clock._call_later(seconds, event.set)
                    event.wait()
                    clock._cancel_timer(timer)
        except BaseException:
            # Interrupted while queued: give the place (or the slot just granted) back.
            if not core.abandon(call):
                core.cancel(call)
            raise

    async def _wait_async(self, call: int) -> Step:
        core, clock = self._core, self._clock
        loop = asyncio.get_running_loop()
        try:
            while True:
                future: asyncio.Future[None] = loop.create_future()
                waker = functools.partial(loop.call_soon_threadsafe, _resolve, future)
                step: Step = core.wait(call, waker)
                if step[0] != _WAIT:
                    return step
                seconds = step[2]
                if clock is not None and seconds is not None:
                    timer = clock._call_later(seconds, waker)
                    try:
                        await future
                    finally:
                        clock._cancel_timer(timer)
                elif seconds is None or clock is not None:
                    await future
                else:
                    try:
                        await asyncio.wait_for(future, seconds)
                    except asyncio.TimeoutError:
                        pass
        except BaseException:
            # Cancelled while queued: give the place (or the slot just granted) back.
            if not core.abandon(call):
                core.cancel(call)
            raise

    def _sleep(self, call: int, seconds: float) -> None:
        """Waits between two attempts of ``call``; interrupted (KeyboardInterrupt, a
        clock that cannot move so far), the call gives its bulkhead slot back."""
        try:
            if self._clock is not None:
                self._clock.advance(seconds)
            else:
                time.sleep(seconds)
        except BaseException:
            self._core.cancel(call)
            raise

    async def _sleep_async(self, call: int, seconds: float) -> None:
        """As ``_sleep``; cancelled (a caller's ``wait_for``), the slot goes back too."""
        clock = self._clock
        try:
            if clock is None:
                await asyncio.sleep(seconds)
                return
            # A timer on the manual clock (fired when it is moved past it), as in Node:
            # other tasks run meanwhile. A sync retry, with no one else to move the
            # clock, moves it.
            loop = asyncio.get_running_loop()
            future: asyncio.Future[None] = loop.create_future()
            timer = clock._call_later(seconds, functools.partial(loop.call_soon_threadsafe, _resolve, future))
            try:
                await future
            finally:
                clock._cancel_timer(timer)
        except BaseException:
            self._core.cancel(call)
            raise

    def _now(self) -> float:
        return self._clock.now() if self._clock is not None else time.time()

    # -- seed 003's facade -------------------------------------------------------------

    def get_circuit_breaker_stats(self, service: str, operation: str) -> Optional[CircuitBreakerStats]:
        """The stats of the (service, operation) breaker, or None if there is none."""
        breaker = self._core.find(service, operation)
        return breaker.stats if breaker is not None else None

    def get_all_circuit_breaker_stats(self) -> Dict[str, CircuitBreakerStats]:
        """Every breaker's stats keyed by its name (``get_circuit_breaker_state``)."""
        return self.get_circuit_breaker_state()

    def reset_all(self) -> None:
        """Resets every breaker and ends every forced opening."""
        for service in {s for _, s, _, _ in self._core.circuits()}:
            self._core.reset(service, None)

    # -- seed 004's service-specific helpers ------------------------------------------------

    def _with_preset(self, service: str, preset: str) -> None:
        if not self._core.is_configured(service):
            # The call's defaults (see execute_with_circuit_breaker's bulkhead).
            self._core.update(service, {"preset": preset}, True)

    def execute_ollama_request(
        self, operation: str, fn: Callable[[], Any], fallback: Optional[Callable[..., Any]] = None
    ) -> Any:
        """An LLM call on service ``ollama`` (the ``llm`` preset unless configured)."""
        self._with_preset("ollama", "llm")
        options = {"fallback_function": fallback} if fallback is not None else None
        return self.execute_with_circuit_breaker("ollama", operation, fn, fallback_options=options)

    def execute_redis_operation(self, operation: str, fn: Callable[[], Any], fallback_value: Any = None) -> Any:
        """A cache call on service ``redis`` (the ``cache`` preset): ``fallback_value`` on failure."""
        self._with_preset("redis", "cache")
        return self.execute_with_circuit_breaker(
            "redis", operation, fn, fallback_options={"fallback_value": fallback_value}
        )

    def execute_database_query(self, operation: str, fn: Callable[[], Any], fallback_value: Any = None) -> Any:
        """A query on service ``database`` (the ``database`` preset): ``fallback_value`` on failure."""
        self._with_preset("database", "database")
        return self.execute_with_circuit_breaker(
            "database", operation, fn, fallback_options={"fallback_value": fallback_value}
        )

    def execute_external_api(
        self, api: str, operation: str, fn: Callable[[], Any], fallback_value: Any = None
    ) -> Any:
        """A call to the external API ``api`` (the ``external-api`` preset): ``fallback_value`` on failure."""
        self._with_preset(api, "external-api")
        return self.execute_with_circuit_breaker(api, operation, fn, fallback_options={"fallback_value": fallback_value})

    def execute_websocket_operation(self, operation: str, fn: Callable[[], Any], queue: bool = True) -> Any:
        """A WebSocket operation on service ``websocket`` (the ``websocket`` preset); with
        ``queue`` a failed one goes to the dead-letter queue and the call returns None."""
        self._with_preset("websocket", "websocket")
        options: Dict[str, Any] = {"queue": True, "fallback_value": None} if queue else {}
        return self.execute_with_circuit_breaker("websocket", operation, fn, fallback_options=options)

    # -- dead-letter queue ---------------------------------------------------------------

    def get_dead_letter_queue(self) -> List[DeadLetterItem]:
        """The dead-letter items, oldest first."""
        items = []
        for item_id, service, operation, attempts in self._core.dead_letters():
            p = self._dead.get(item_id)
            if p is not None:
                items.append(
                    DeadLetterItem(item_id, service, operation or "", p.error, attempts, p.timestamp, p.fn, p.retry_policy)
                )
        return items

    @property
    def dead_letters_dropped(self) -> int:
        """Items dropped from the full dead-letter queue to make room, since construction."""
        return int(self._core.dead_letter_stats()["dropped"])

    def retry_dead_letter_item(self, item_id: int) -> Any:
        """Re-runs a dead-letter item through the service — with the failed call's own
        ``retry_policy``, no fallback — and returns its result (an awaitable for a
        coroutine function); removed on success, kept with the new error and its attempts
        added (and the error raised) on failure. KeyError for an unknown id (any value
        that is no item's id)."""
        payload = self._dead.get(item_id) if isinstance(item_id, int) else None
        service, operation = self._core.retry_dead_letter(item_id)
        if payload is None:
            self._core.dead_letter_retried(item_id, False, 0)
            raise KeyError(item_id)
        runs = [0]
        fn = payload.fn
        if inspect.iscoroutinefunction(fn):

            async def counted_async() -> Any:
                runs[0] += 1
                return await fn()

            return self._retried_async(item_id, payload, runs, service, operation or "", counted_async)

        def counted() -> Any:
            runs[0] += 1
            return fn()

        try:
            result = self.execute_with_circuit_breaker(
                service, operation or "", counted, retry_policy=payload.retry_policy
            )
        except BaseException as error:
            self._retried(item_id, payload, runs[0], error)
            raise
        self._retried(item_id, payload, runs[0], None)
        return result

    async def _retried_async(
        self, item_id: int, payload: _Payload, runs: List[int], service: str, operation: str, fn: Callable[[], Any]
    ) -> Any:
        try:
            result = await self.execute_with_circuit_breaker(service, operation, fn, retry_policy=payload.retry_policy)
        except BaseException as error:
            self._retried(item_id, payload, runs[0], error)
            raise
        self._retried(item_id, payload, runs[0], None)
        return result

    def _retried(self, item_id: int, payload: _Payload, runs: int, error: Optional[BaseException]) -> None:
        """A retry of a dead letter ended: gone on success; kept with the new error on failure."""
        self._core.dead_letter_retried(item_id, error is None, runs)
        if error is None:
            self._dead.pop(item_id, None)
        elif isinstance(error, Exception):
            payload.error = error
            payload.timestamp = self._now()

    def remove_dead_letter_item(self, item_id: int) -> bool:
        """Removes a dead-letter item without running it; whether it was there."""
        removed = bool(self._core.remove_dead_letter(item_id))
        if removed:
            self._dead.pop(item_id, None)
        return removed

    def clear_dead_letter_queue(self) -> None:
        """Removes every dead-letter item."""
        for item_id in self._core.clear_dead_letters():
            self._dead.pop(item_id, None)

    def get_dead_letter_stats(self) -> Dict[str, int]:
        """``{"size", "capacity", "dropped"}``: dropped counts the oldest items pushed
        out when full."""
        stats: Dict[str, int] = self._core.dead_letter_stats()
        return stats

    # -- manual control ----------------------------------------------------------------

    def reset_circuit_breaker(self, service: str, operation: Optional[str] = None) -> None:
        """Resets the (service, operation) breaker, or every breaker of the service
        (ending ``force_circuit_breaker_open(service)``) when no operation is named."""
        self._core.reset(service, operation)

    def force_circuit_breaker_open(self, service: str, operation: Optional[str] = None) -> None:
        """Opens the (service, operation) breaker, or every breaker of the service —
        including operations first used later — until ``reset_circuit_breaker``."""
        self._core.force_open(service, operation)

    # -- state and health ------------------------------------------------------------------

    def get_circuit_breaker(self, service: str, operation: str) -> CircuitBreaker:
        """The (service, operation) breaker (made if new)."""
        breaker: CircuitBreaker = self._core.circuit(service, operation)
        return breaker

    def get_circuit_breaker_state(self) -> Dict[str, CircuitBreakerStats]:
        """Every breaker's stats, keyed by its name (``service:operation``, each part
        with ``%`` and ``:`` escaped)."""
        return {name: breaker.stats for name, _, _, breaker in self._core.circuits()}

    def get_bulkhead_stats(self, service: str) -> Optional[Dict[str, Any]]:
        """The service's bulkhead counters and limits, or None for an unknown service."""
        stats: Optional[Dict[str, Any]] = self._core.bulkhead_stats(service)
        return stats

    def get_system_health(self) -> Dict[str, Any]:
        """``{"overall": "healthy" | "degraded" | "unhealthy", "services": {...},
        "dead_letter_queue", "breakers", "timestamp"}``: degraded when a breaker is open
        or half-open or a bulkhead saturated, unhealthy when every breaker of some
        service is open. Each service: ``status``, ``circuits`` (operation → state),
        ``bulkhead`` (its stats), ``forced_open``."""
        overall, services = self._core.health()
        count, limit, evictions = self._core.breaker_counts()
        return {
            "overall": overall,
            "services": services,
            "dead_letter_queue": self.get_dead_letter_stats(),
            "breakers": {"count": count, "max": limit, "evictions": evictions},
            "timestamp": self._now(),
        }

    # -- alerts ---------------------------------------------------------------------------

    def on_alert(self, listener: AlertListener) -> AlertListener:
        """Adds an alert listener (usable as a decorator); returns it."""
        self._listeners.append(listener)
        return listener


# The runner of an async call, which the engine's `execute` starts (tripwire._core
# imports it by this name).
_run_async = CircuitBreakerService._run_async

circuit_breaker_service = CircuitBreakerService()
"""The shared service instance (seed 004's ``circuitBreakerService``)."""
