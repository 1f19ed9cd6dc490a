"""Seed 004's ``CircuitBreakerService``: circuit breakers per (service, operation)
with retries, a bulkhead per service, fallbacks, a dead-letter queue, presets, manual
control, system health and alerts.

Every decision (backoff schedule, error classification, bulkhead accounting,
dead-letter bounding, health aggregation, alert conditions and episodes) is made by the Rust core
(``tripwire._core``); this module only waits, queues and calls.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import logging
import threading
import time
import types
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Dict, List, Mapping, Optional, Set, Tuple, cast

from tripwire import _core
from tripwire._core import Bulkhead, DeadLetterQueue, Episodes, ManualClock, RetryPolicy
from tripwire._types import CircuitBreakerStats, CircuitState

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
_REJECTED = Bulkhead.REJECTED
_FunctionType = types.FunctionType
_CO_COROUTINE = inspect.CO_COROUTINE
# Ticket states in a bulkhead's waiter table besides a waiter's waker.
_GRANTED = object()
_CONSUMED = object()


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


def _breaker_class() -> Any:
    # tripwire/__init__.py imports this module: look the facade class up late.
    import tripwire

    return tripwire.CircuitBreaker


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


class _Waiter:
    """A call queued in a bulkhead: a thread's event or a task's future."""

    __slots__ = ("event", "loop", "future")

    def __init__(self) -> None:
        self.event: Optional[threading.Event] = None
        self.loop: Optional[asyncio.AbstractEventLoop] = None
        self.future: Optional[asyncio.Future[None]] = None

    def wake(self) -> None:
        if self.event is not None:
            self.event.set()
        elif self.loop is not None and self.future is not None:
            self.loop.call_soon_threadsafe(_resolve, self.future)


class _Service:
    """One service's configuration, bulkhead and manual state."""

    __slots__ = (
        "name",
        "config",
        "bulkhead",
        "retry",
        "forced",
        "forced_ops",
        "lock",
        "waiters",
        "preset",
        "entries",
        "saturated",
        "all_open",
        "configured",
        "last_bulkhead",
    )

    def __init__(self, name: str, clock: Optional[ManualClock]) -> None:
        self.name = name
        self.config: Dict[str, Any] = {}
        self.bulkhead = Bulkhead(clock=clock)
        self.retry: Optional[RetryPolicy] = None
        self.forced = False
        self.forced_ops: Set[str] = set()
        self.lock = threading.Lock()
        self.waiters: Dict[int, object] = {}
        self.preset: Optional[str] = None
        self.entries: Dict[str, _Entry] = {}
        # Mirrors of the service's alert episodes, so that the hot path skips them.
        self.saturated = False
        self.all_open = False
        self.configured = False
        # The per-call `bulkhead=` options last applied (by identity, as in Node).
        self.last_bulkhead: Optional[Mapping[str, Any]] = None


class _Entry:
    """One (service, operation) breaker and the calls it has in flight."""

    __slots__ = ("breaker", "service", "operation", "busy", "watch", "hot", "options")

    def __init__(self, breaker: Any, service: str, operation: str, options: Mapping[str, Any]) -> None:
        self.breaker = breaker
        # The options it was made with (the service's, then the first call's `config`).
        self.options = options
        self.service = service
        self.operation = operation
        # One item per call in flight: list.append / list.pop are atomic, `+= 1` is not.
        self.busy: List[None] = []
        # True while one of this breaker's alert episodes is going on: successes then
        # re-check the alert conditions (and the hot path skips them otherwise).
        self.watch = False
        # Used since the LRU clock hand last passed (a second chance before eviction).
        self.hot = True


_SEED_003 = {"success_threshold": 1, "half_open_max_calls": 1}
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
    a dead-letter queue (seed 004).

    Breakers use seed 003's settings (one trial call half-open, one success closes)
    over the core defaults, unless configured. At most ``max_breakers`` breakers are
    kept: beyond that the least recently used idle ones are dropped (closed ones
    first; never one with a call in flight; the CLOCK approximation of LRU), and
    counted in ``evictions``.
    ``clock``: a ManualClock for tests; retry delays then advance it instead of sleeping.
    """

    def __init__(
        self,
        *,
        clock: Optional[ManualClock] = None,
        max_breakers: int = _core.DEFAULT_MAX_BREAKERS,
        dead_letter_queue_size: int = _core.DEFAULT_DEAD_LETTER_SIZE,
        on_alert: Optional[AlertListener] = None,
        services: Optional[Mapping[str, str]] = None,
    ) -> None:
        if max_breakers < 1:
            raise ValueError("invalid option `max_breakers`: must be at least 1")
        self._clock = clock
        self._max_breakers = max_breakers
        self._dlq = DeadLetterQueue(dead_letter_queue_size)
        self._dlq_capacity = dead_letter_queue_size
        self._episodes = Episodes()
        self._listeners: List[AlertListener] = [on_alert] if on_alert is not None else []
        self._services: Dict[str, _Service] = {}
        self._breakers: OrderedDict[str, _Entry] = OrderedDict()
        self._lock = threading.RLock()
        self._default_retry = RetryPolicy()
        self._no_retry = RetryPolicy(max_attempts=1)
        self.evictions = 0
        """Breakers dropped by the LRU cap, since construction."""
        for name, preset in (services or {}).items():
            self.apply_preset(name, preset)

    # -- configuration ---------------------------------------------------------------

    def _service(self, name: str) -> _Service:
        service = self._services.get(name)
        if service is None:
            if not isinstance(name, str):
                raise TypeError(f"the service name must be a str, not {type(name).__name__}")
            with self._lock:
                service = self._services.get(name)
                if service is None:
                    service = self._services[name] = _Service(name, self._clock)
        return service

    def update_service_config(
        self,
        service: str,
        *,
        config: Optional[Mapping[str, Any]] = None,
        bulkhead: Optional[Mapping[str, Any]] = None,
        retry_policy: Optional[Mapping[str, Any]] = None,
        preset: Optional[str] = None,
    ) -> None:
        """Changes a service's breaker options, bulkhead limits and retry policy for new
        calls; the breakers keep their state (and running calls their slots).
        ``preset``: a seed 004 preset by name, under the other arguments.

        ``config``: breaker options (``failure_threshold``, ``timeout``, ...);
        ``bulkhead``: ``max_concurrent``, ``queue_size``, ``max_queue_wait``;
        ``retry_policy``: ``max_attempts``, ``base_delay``, ``max_delay``, ``multiplier``,
        ``jitter``, ``retryable_errors``, ``non_retryable_errors``, ``seed``.
        Bad options raise TypeError / ValueError naming the option; nothing changes then.
        """
        if preset is not None:
            p = _core.preset(preset)
            if p is None:
                names = ", ".join(x["name"] for x in _core.presets())
                raise ValueError(f"unknown preset {preset!r} (one of {names})")
            config = {"failure_threshold": p["failure_threshold"], "timeout": p["timeout"], **(config or {})}
            bulkhead = {"max_concurrent": p["max_concurrent"], **(bulkhead or {})}
            retry_policy = {"max_attempts": p["retry_attempts"] + 1, **(retry_policy or {})}
        st = self._service(service)
        with self._lock:
            new_retry = None
            if retry_policy is not None:
                base = st.retry.options() if st.retry is not None else {}
                new_retry = RetryPolicy(**{**base, **retry_policy})
            if bulkhead is not None:
                Bulkhead(**{**st.bulkhead.config, **bulkhead})  # validates: nothing changes on an error
            new_config = st.config
            rebuilt: List[Tuple[_Entry, Any]] = []
            if config is not None:
                new_config = {**st.config, **config}
                _core.Breaker(service, **self._breaker_options(new_config))  # validates, unregistered
                for entry in self._entries(service):
                    rebuilt.append((entry, self._rebuild(entry, {**entry.options, **config})))
            if bulkhead is not None:
                with st.lock:
                    admitted = st.bulkhead.set_config(**bulkhead)
                    for ticket in admitted:
                        self._grant(st, ticket)
            if new_retry is not None:
                st.retry = new_retry
            st.config = new_config
            st.configured = True
            if preset is not None:
                st.preset = preset
            for entry, breaker in rebuilt:
                entry.breaker = breaker
                entry.options = {**entry.options, **(config or {})}

    def apply_preset(self, service: str, preset: str) -> None:
        """Configures ``service`` with a seed 004 preset by name (``llm``, ``cache``,
        ``database``, ``external-api``, ``websocket``)."""
        self.update_service_config(service, preset=preset)

    def _breaker_options(self, config: Mapping[str, Any]) -> Dict[str, Any]:
        options: Dict[str, Any] = dict(_SEED_003)
        options.update(config)
        if self._clock is not None:
            options["clock"] = self._clock
        return options

    def _rebuild(self, entry: _Entry, config: Mapping[str, Any]) -> Any:
        """A breaker with the new options and the old one's state."""
        old = entry.breaker
        snapshot = old.snapshot()
        new = _breaker_class()(f"{entry.service}:{entry.operation}", **self._breaker_options(config))
        try:
            new.restore(snapshot)
        except ValueError:
            _log.warning("tripwire: breaker %s could not keep its state across the new options", new.name)
        if old.stats.forced_open:
            new.open()
        return new

    def _entries(self, service: str) -> List[_Entry]:
        st = self._services.get(service)
        return list(st.entries.values()) if st is not None else []

    def _entry(self, service: str, operation: str, config: Optional[Mapping[str, Any]]) -> _Entry:
        key = f"{service}:{operation}"
        entry = self._breakers.get(key)
        if entry is not None:
            entry.hot = True
            return entry
        if not isinstance(operation, str):
            raise TypeError(f"the operation name must be a str, not {type(operation).__name__}")
        with self._lock:
            entry = self._breakers.get(key)
            if entry is not None:
                return entry
            st = self._service(service)
            options = st.config if not config else {**st.config, **config}
            breaker = _breaker_class()(key, **self._breaker_options(options))
            if st.forced or operation in st.forced_ops:
                breaker.open()
            entry = self._breakers[key] = st.entries[operation] = _Entry(breaker, service, operation, options)
            if len(self._breakers) > self._max_breakers:
                self._evict()
            return entry

    def _evict(self) -> None:
        # The CLOCK algorithm: from the oldest, a breaker used since the hand last
        # passed gets a second chance (moved to the end); the first idle, closed, unused
        # one goes.
        victim = None
        breakers = self._breakers
        for _ in range(2 * len(breakers)):
            key = next(iter(breakers))
            e = breakers[key]
            if not e.busy and not e.hot and e.breaker.state is CircuitState.CLOSED:
                victim = key
                break
            e.hot = False
            breakers.move_to_end(key)
        if victim is None:
            victim = next((k for k, e in self._breakers.items() if not e.busy), None)
        if victim is None:
            return
        entry = self._breakers.pop(victim)
        st = self._services[entry.service]
        st.entries.pop(entry.operation, None)
        if not (st.entries or st.configured or st.forced or st.forced_ops or st.waiters or st.bulkhead.stats["running"]):
            # Service names may be unbounded too: an idle service of defaults goes with
            # its last breaker.
            del self._services[entry.service]
        if _core._registry_get(victim) is entry.breaker:
            _core._registry_remove(victim)
        self.evictions += 1

    # -- bulkhead waiting ---------------------------------------------------------------

    def _grant(self, st: _Service, ticket: int) -> None:
        """Hands a freed slot to a queued call (under ``st.lock``)."""
        waiter = st.waiters.pop(ticket, None)
        if waiter is None:
            st.waiters[ticket] = _GRANTED
        elif waiter is not _CONSUMED and isinstance(waiter, _Waiter):
            waiter.wake()

    def _leave(self, st: _Service, bulkhead: Bulkhead) -> None:
        ticket = bulkhead.leave()
        if ticket is not None:
            with st.lock:
                self._grant(st, ticket)
        elif st.saturated:
            self._observe_bulkhead(st, False)

    def _queued(self, st: _Service, ticket: int, waiter: _Waiter) -> bool:
        """Registers ``waiter`` for ``ticket``; False if the slot was granted already."""
        with st.lock:
            if st.waiters.pop(ticket, None) is _GRANTED:
                return False
            st.waiters[ticket] = waiter
            return True

    def _give_up(self, st: _Service, bulkhead: Bulkhead, ticket: int) -> bool:
        """A queued call stops waiting; True if it was still waiting (then rejected),
        False if it was admitted meanwhile (it holds a slot now)."""
        with st.lock:
            if bulkhead.abandon(ticket):
                st.waiters.pop(ticket, None)
                return True
            # Admitted meanwhile. If the grant is not delivered yet (our waiter is still
            # registered), leave a mark so that the granting call does nothing; if it was
            # delivered, the entry is gone already.
            if st.waiters.pop(ticket, None) is not None:
                st.waiters[ticket] = _CONSUMED
            return False

    def _wait_sync(self, st: _Service, bulkhead: Bulkhead, ticket: int) -> None:
        waiter = _Waiter()
        waiter.event = event = threading.Event()
        if not self._queued(st, ticket, waiter):
            return
        limit = bulkhead.config["max_queue_wait"]
        if not event.wait(limit) and self._give_up(st, bulkhead, ticket):
            raise BulkheadRejectedError(st.name, "queue-timeout")

    async def _wait_async(self, st: _Service, bulkhead: Bulkhead, ticket: int) -> None:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        waiter = _Waiter()
        waiter.loop, waiter.future = loop, future
        if not self._queued(st, ticket, waiter):
            return
        limit = bulkhead.config["max_queue_wait"]
        try:
            if limit is None:
                await future
            else:
                await asyncio.wait_for(asyncio.shield(future), limit)
        except asyncio.TimeoutError:
            if self._give_up(st, bulkhead, ticket):
                raise BulkheadRejectedError(st.name, "queue-timeout") from None
        except BaseException:
            # Cancelled while queued: give the place (or the slot just granted) back.
            if not self._give_up(st, bulkhead, ticket):
                self._leave(st, bulkhead)
            raise

    # -- sleeping ---------------------------------------------------------------------

    def _sleep(self, seconds: float) -> None:
        if self._clock is not None:
            self._clock.advance(seconds)
        else:
            time.sleep(seconds)

    async def _sleep_async(self, seconds: float) -> None:
        if self._clock is not None:
            self._clock.advance(seconds)
            await asyncio.sleep(0)
        else:
            await asyncio.sleep(seconds)

    def _now(self) -> float:
        return self._clock.now() if self._clock is not None else time.time()

    # -- calls ---------------------------------------------------------------------------

    def execute_with_circuit_breaker(
        self,
        service: str,
        operation: str,
        fn: Callable[[], Any],
        *,
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
        overrides the service's policy for this call; ``config`` and ``bulkhead`` are
        used when the breaker / the service's bulkhead is first made (use
        ``update_service_config`` to change them later).
        """
        if fallback_options is not None:
            fallback_options = _fallback_options(fallback_options)
        # inspect.iscoroutinefunction, with a shortcut for plain functions: their code's
        # flag decides, unless their __dict__ may hold 3.12's markcoroutinefunction mark.
        if fn.__class__ is _FunctionType and not fn.__dict__:
            is_async = fn.__code__.co_flags & _CO_COROUTINE
        else:
            is_async = inspect.iscoroutinefunction(fn)
        if is_async:
            return self._execute_async(service, operation, fn, fallback_options, retry_policy, bulkhead, config)
        st, entry, policy = self._begin(service, operation, retry_policy, bulkhead, config)
        bh = st.bulkhead
        ticket = bh.try_enter()
        if ticket >= 0 or ticket == _REJECTED:
            self._observe_bulkhead(st, True)
            if ticket == _REJECTED:
                return self._failed(entry, fn, BulkheadRejectedError(service), 0, fallback_options, retry_policy)
            try:
                self._wait_sync(st, bh, ticket)
            except BulkheadRejectedError as e:
                return self._failed(entry, fn, e, 0, fallback_options, retry_policy)
        entry.busy.append(None)
        attempt = 0
        try:
            breaker = entry.breaker
            while True:
                attempt += 1
                try:
                    result = breaker.call(fn)
                except _core.CircuitBreakerError as e:
                    error: BaseException = e
                    break
                except Exception as e:
                    error = e
                    open_now = breaker.state is CircuitState.OPEN
                    self._after_failure(entry)
                    if attempt >= policy.max_attempts or not policy.retries(e, open_now):
                        break
                    self._sleep(policy.next_delay(attempt))
                    continue
                if result.__class__ is _CoroutineType:
                    result.close()
                    raise TypeError(
                        "execute_with_circuit_breaker: fn returned a coroutine; pass an `async def` function "
                        "(or a functools.partial of one) so that it is awaited"
                    )
                if entry.watch or st.all_open:
                    self._after_success(entry)
                return result
        finally:
            entry.busy.pop()
            self._leave(st, bh)
        return self._failed(entry, fn, error, attempt, fallback_options, retry_policy)

    async def _execute_async(
        self,
        service: str,
        operation: str,
        fn: Callable[[], Awaitable[Any]],
        fallback_options: Optional[Mapping[str, Any]],
        retry_policy: Optional[Mapping[str, Any]],
        bulkhead: Optional[Mapping[str, Any]],
        config: Optional[Mapping[str, Any]],
    ) -> Any:
        st, entry, policy = self._begin(service, operation, retry_policy, bulkhead, config)
        bh = st.bulkhead
        ticket = bh.try_enter()
        if ticket >= 0 or ticket == _REJECTED:
            self._observe_bulkhead(st, True)
            if ticket == _REJECTED:
                return await self._failed_async(entry, fn, BulkheadRejectedError(service), 0, fallback_options, retry_policy)
            try:
                await self._wait_async(st, bh, ticket)
            except BulkheadRejectedError as e:
                return await self._failed_async(entry, fn, e, 0, fallback_options, retry_policy)
        entry.busy.append(None)
        attempt = 0
        try:
            breaker = entry.breaker
            while True:
                attempt += 1
                try:
                    result = await breaker.call_async(fn)
                except _core.CircuitBreakerError as e:
                    error: BaseException = e
                    break
                except Exception as e:
                    error = e
                    open_now = breaker.state is CircuitState.OPEN
                    self._after_failure(entry)
                    if attempt >= policy.max_attempts or not policy.retries(e, open_now):
                        break
                    await self._sleep_async(policy.next_delay(attempt))
                    continue
                if entry.watch or st.all_open:
                    self._after_success(entry)
                return result
        finally:
            entry.busy.pop()
            self._leave(st, bh)
        return await self._failed_async(entry, fn, error, attempt, fallback_options, retry_policy)

    def _begin(
        self,
        service: str,
        operation: str,
        retry_policy: Optional[Mapping[str, Any]],
        bulkhead: Optional[Mapping[str, Any]],
        config: Optional[Mapping[str, Any]],
    ) -> Tuple[_Service, _Entry, RetryPolicy]:
        """The service, the operation's breaker entry and the retry policy of one call."""
        st = self._services.get(service)
        if st is None or (bulkhead is not None and bulkhead is not st.last_bulkhead):
            st = self._prepare(service, bulkhead)
        entry = st.entries.get(operation)
        if entry is None:
            entry = self._entry(service, operation, config)
        else:
            entry.hot = True
        policy = (st.retry or self._default_retry) if retry_policy is None else self._policy(st, retry_policy)
        return st, entry, policy

    def _prepare(self, service: str, bulkhead: Optional[Mapping[str, Any]]) -> _Service:
        """The service, made if new, with a call's `bulkhead=` options applied (when they
        are not the options object applied last)."""
        st = self._service(service)
        if bulkhead is not None and bulkhead is not st.last_bulkhead:
            self.update_service_config(service, bulkhead=bulkhead)
            st.last_bulkhead = bulkhead
        return st

    def _policy(self, st: _Service, overrides: Optional[Mapping[str, Any]]) -> RetryPolicy:
        if isinstance(overrides, RetryPolicy):
            return overrides
        base = st.retry if st.retry is not None else self._default_retry
        if not overrides:
            return base
        return RetryPolicy(**{**base.options(), "seed": None, **overrides})

    def _failed(
        self,
        entry: _Entry,
        fn: Callable[[], Any],
        error: BaseException,
        attempts: int,
        fallback_options: Optional[Mapping[str, Any]],
        retry_policy: Optional[Mapping[str, Any]] = None,
    ) -> Any:
        """A call that failed for good: dead-letter it if asked, then the fallback."""
        options = fallback_options or {}
        if options.get("queue"):
            self._dead_letter(entry, fn, error, attempts, retry_policy)
        function = options.get("fallback_function")
        if function is not None:
            return function(error) if _takes_argument(function) else function()
        if "fallback_value" in options:
            return options["fallback_value"]
        raise error

    async def _failed_async(
        self,
        entry: _Entry,
        fn: Callable[[], Any],
        error: BaseException,
        attempts: int,
        fallback_options: Optional[Mapping[str, Any]],
        retry_policy: Optional[Mapping[str, Any]] = None,
    ) -> Any:
        result = self._failed(entry, fn, error, attempts, fallback_options, retry_policy)
        if inspect.isawaitable(result):
            return await result
        return result

    # -- seed 003's facade -------------------------------------------------------------

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
        bulkhead, if configured, applies."""
        return self.execute_with_circuit_breaker(
            service,
            operation,
            fn,
            fallback_options={"fallback_function": fallback} if fallback is not None else None,
            retry_policy=cast(Any, self._no_retry),
            config=options,
        )

    def get_circuit_breaker_stats(self, service: str, operation: str) -> Optional[CircuitBreakerStats]:
        """The stats of the (service, operation) breaker, or None if it was never used."""
        st = self._services.get(service)
        entry = st.entries.get(operation) if st is not None else None
        return entry.breaker.stats if entry is not None else None

    def get_all_circuit_breaker_stats(self) -> Dict[str, CircuitBreakerStats]:
        """Every breaker's stats keyed ``"service:operation"`` (``get_circuit_breaker_state``)."""
        return self.get_circuit_breaker_state()

    def reset_all(self) -> None:
        """Resets every breaker and ends every forced opening."""
        for name in list(self._services):
            self.reset_circuit_breaker(name)

    # -- seed 004's service-specific helpers ------------------------------------------------

    def _with_preset(self, service: str, preset: str) -> None:
        st = self._services.get(service)
        if st is None or not st.configured:
            self.apply_preset(service, preset)

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

    def _dead_letter(
        self,
        entry: _Entry,
        fn: Callable[[], Any],
        error: BaseException,
        attempts: int,
        retry_policy: Optional[Mapping[str, Any]],
    ) -> None:
        holder: List[DeadLetterItem] = []
        # The id is the core queue's: push a placeholder list, fill it with the item.
        item_id, _evicted = self._dlq.push(holder)
        holder.append(
            DeadLetterItem(item_id, entry.service, entry.operation, error, attempts, self._now(), fn, retry_policy)
        )
        self._observe_dead_letters()

    def get_dead_letter_queue(self) -> List[DeadLetterItem]:
        """The dead-letter items, oldest first."""
        return [holder[0] for _, holder in self._dlq.items() if holder]

    @property
    def dead_letters_dropped(self) -> int:
        """Items dropped from the full dead-letter queue to make room, since construction."""
        return self._dlq.dropped

    def retry_dead_letter_item(self, item_id: int) -> Any:
        """Re-runs a dead-letter item through the service — with the failed call's own
        ``retry_policy``, no fallback — and returns its result (an awaitable for a
        coroutine function); removed on success, kept with the new error and its attempts
        added (and the error raised) on failure. KeyError for an unknown id."""
        holder = self._dlq.get(item_id)
        if not holder:
            raise KeyError(f"no dead-letter item with id {item_id}")
        item: DeadLetterItem = holder[0]
        runs = [0]
        fn = item.fn
        if inspect.iscoroutinefunction(fn):

            async def counted_async() -> Any:
                runs[0] += 1
                return await fn()

            return self._retried_async(holder, item, runs, counted_async)

        def counted() -> Any:
            runs[0] += 1
            return fn()

        try:
            result = self.execute_with_circuit_breaker(
                item.service, item.operation, counted, retry_policy=item.retry_policy
            )
        except BaseException as error:
            self._retry_failed(holder, item, runs[0], error)
            raise
        self._dlq.remove(item.id)
        self._observe_dead_letters()
        return result

    async def _retried_async(
        self, holder: List[DeadLetterItem], item: DeadLetterItem, runs: List[int], fn: Callable[[], Any]
    ) -> Any:
        try:
            result = await self.execute_with_circuit_breaker(
                item.service, item.operation, fn, retry_policy=item.retry_policy
            )
        except BaseException as error:
            self._retry_failed(holder, item, runs[0], error)
            raise
        self._dlq.remove(item.id)
        self._observe_dead_letters()
        return result

    def _retry_failed(self, holder: List[DeadLetterItem], item: DeadLetterItem, runs: int, error: BaseException) -> None:
        """A failed retry: the item stays, with the new error and its attempts added."""
        if isinstance(error, Exception) and holder:
            holder[0] = dataclasses.replace(item, error=error, attempts=item.attempts + runs, timestamp=self._now())

    def clear_dead_letter_queue(self) -> None:
        """Removes every dead-letter item."""
        self._dlq.clear()
        self._observe_dead_letters()

    # -- manual control ----------------------------------------------------------------

    def reset_circuit_breaker(self, service: str, operation: Optional[str] = None) -> None:
        """Resets the (service, operation) breaker, or every breaker of the service
        (ending ``force_circuit_breaker_open(service)``) when no operation is named."""
        st = self._services.get(service)
        if st is None:
            return
        with self._lock:
            if operation is None:
                st.forced = False
                st.forced_ops.clear()
                entries = self._entries(service)
            else:
                st.forced_ops.discard(operation)
                e = self._breakers.get(f"{service}:{operation}")
                entries = [e] if e is not None else []
        for entry in entries:
            entry.breaker.reset()
            self._after_success(entry)

    def force_circuit_breaker_open(self, service: str, operation: Optional[str] = None) -> None:
        """Opens the (service, operation) breaker, or every breaker of the service —
        including operations first used later — until ``reset_circuit_breaker``."""
        st = self._service(service)
        with self._lock:
            if operation is None:
                st.forced = True
                entries = self._entries(service)
            else:
                st.forced_ops.add(operation)
                entries = [self._entry(service, operation, None)]
        for entry in entries:
            entry.breaker.open()
            self._after_failure(entry)

    # -- state and health ------------------------------------------------------------------

    def get_circuit_breaker(self, service: str, operation: str) -> CircuitBreaker:
        """The (service, operation) breaker (made if new)."""
        breaker: CircuitBreaker = self._entry(service, operation, None).breaker
        return breaker

    def get_circuit_breaker_state(self) -> Dict[str, CircuitBreakerStats]:
        """Every breaker's stats, keyed ``"service:operation"``."""
        return {key: e.breaker.stats for key, e in list(self._breakers.items())}

    def get_bulkhead_stats(self, service: str) -> Optional[Dict[str, Any]]:
        """The service's bulkhead counters, or None without a bulkhead."""
        st = self._services.get(service)
        return st.bulkhead.stats if st is not None else None

    def _service_status(self, st: _Service, entries: List[_Entry]) -> str:
        saturated = st.bulkhead.saturated
        return _core.service_health([e.breaker.state for e in entries], saturated)

    def get_system_health(self) -> Dict[str, Any]:
        """``{"overall": "healthy" | "degraded" | "unhealthy", "services": {...},
        "dead_letter_queue", "breakers", "timestamp"}``: degraded when a breaker is open
        or half-open or a bulkhead saturated, unhealthy when every breaker of some
        service is open. Each service: ``status``, ``circuits`` (operation → state),
        ``bulkhead`` (its stats), ``forced_open``."""
        by_service: Dict[str, List[_Entry]] = {name: [] for name in self._services}
        for e in list(self._breakers.values()):
            by_service.setdefault(e.service, []).append(e)
        services: Dict[str, Any] = {}
        for name, entries in by_service.items():
            st = self._service(name)
            services[name] = {
                "status": self._service_status(st, entries),
                "circuits": {e.operation: e.breaker.state.value for e in entries},
                "bulkhead": st.bulkhead.stats,
                "forced_open": st.forced,
            }
        return {
            "overall": _core.worst_health(s["status"] for s in services.values()),
            "services": services,
            "dead_letter_queue": self.get_dead_letter_stats(),
            "breakers": {"count": len(self._breakers), "max": self._max_breakers, "evictions": self.evictions},
            "timestamp": self._now(),
        }

    def get_dead_letter_stats(self) -> Dict[str, int]:
        """``{"size", "capacity", "dropped"}``: dropped counts the oldest items pushed out when full."""
        return {"size": len(self._dlq), "capacity": self._dlq_capacity, "dropped": self._dlq.dropped}

    # -- alerts ---------------------------------------------------------------------------

    def on_alert(self, listener: AlertListener) -> AlertListener:
        """Adds an alert listener (usable as a decorator); returns it."""
        self._listeners.append(listener)
        return listener

    def _fire(self, type: str, service: Optional[str], operation: Optional[str], message: str) -> None:
        alert = Alert(type, service, operation, message, self._now())
        for listener in list(self._listeners):
            try:
                listener(alert)
            except Exception:
                _log.exception("tripwire: alert listener raised")

    def _observe_bulkhead(self, st: _Service, full: bool) -> None:
        if self._episodes.observe(f"bulkhead-full:{st.name}", full):
            self._fire("bulkhead-full", st.name, None, f"bulkhead of {st.name!r} is at capacity")
        st.saturated = full

    def _observe_dead_letters(self) -> None:
        size = len(self._dlq)
        if self._episodes.observe("dead-letter-queue", _core.dead_letter_alert(size)):
            self._fire("dead-letter-queue", None, None, f"dead-letter queue holds {size} items (> {_core.DEAD_LETTER_ALERT})")

    def _observe_entry(self, entry: _Entry) -> None:
        key = f"{entry.service}:{entry.operation}"
        stats = entry.breaker.stats
        closed = stats.state is CircuitState.CLOSED
        # One episode from leaving CLOSED until closed again (a failed trial is the same outage).
        if self._episodes.observe(f"circuit-opened:{key}", not closed):
            self._fire("circuit-opened", entry.service, entry.operation, f"circuit breaker {key!r} opened")
        # At least 10 calls in the window and more than 10 % of them failed (the core's rule).
        high = _core.error_rate_alert(stats.window_calls, stats.window_failures)
        if self._episodes.observe(f"error-rate:{key}", high):
            self._fire(
                "high-error-rate",
                entry.service,
                entry.operation,
                f"error rate of {key!r} is {stats.failure_rate:.1%} over {stats.window_calls} calls"
                f" (alert above {_core.ERROR_RATE_ALERT:.0%} once {_core.ERROR_RATE_ALERT_MIN_CALLS} calls are in the window)",
            )
        st = self._service(entry.service)
        states = [e.breaker.state for e in self._entries(entry.service)]
        # From every breaker open until one closes (the core's rule).
        all_key = f"all-circuits-open:{entry.service}"
        all_open = _core.all_circuits_open_alert(states, self._episodes.is_active(all_key))
        if self._episodes.observe(all_key, all_open):
            self._fire("all-circuits-open", entry.service, None, f"every circuit of {entry.service!r} is open")
        st.all_open = all_open
        entry.watch = high or not closed

    def _after_failure(self, entry: _Entry) -> None:
        self._observe_entry(entry)

    def _after_success(self, entry: _Entry) -> None:
        self._observe_entry(entry)


circuit_breaker_service = CircuitBreakerService()
"""The shared service instance (seed 004's ``circuitBreakerService``)."""
