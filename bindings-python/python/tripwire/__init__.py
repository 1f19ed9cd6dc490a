"""tripwire: a circuit breaker whose rules run in Rust (``tripwire._core``).

The compiled module holds the state machine and the sync hot path; this module
adds what is Python's idiom on top: the decorator, ``async``, ``with``, listeners
and the registry helpers. See ``bindings-python/README.md`` for the guide.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
import logging
import sys
import threading
import weakref
from typing import (
    TYPE_CHECKING,
    Any,
    Awaitable,
    Callable,
    Coroutine,
    Dict,
    Iterable,
    Iterator,
    List,
    Optional,
    Tuple,
    Type,
    TypeVar,
    Union,
    overload,
)

from tripwire import _core, _logger as _tw_log
from tripwire._core import (
    ManualClock,
    Permit,
    RedisStore,
    __version__,
)
from tripwire._logger import StructuredLogger, create_logger, get_logger, set_logger
from tripwire._types import (
    _STORE_FROM_ENV,
    CircuitBreakerError,
    CircuitBreakerOpenError,
    CircuitBreakerStats,
    CircuitBreakerTimeoutError,
    CircuitState,
    Transition,
)

if TYPE_CHECKING:
    from types import TracebackType

    from typing_extensions import ParamSpec, Self

    P = ParamSpec("P")

R = TypeVar("R")

__all__ = [
    "Alert",
    "BulkheadRejectedError",
    "CircuitBreaker",
    "CircuitBreakerError",
    "CircuitBreakerListener",
    "http_failure",
    "CircuitBreakerOpenError",
    "CircuitBreakerRegistry",
    "CircuitBreakerService",
    "CircuitBreakerStats",
    "CircuitBreakerTimeoutError",
    "CircuitState",
    "DeadLetterItem",
    "HealthCheck",
    "HealthCheckHandlers",
    "HealthCheckManager",
    "ManualClock",
    "OPENMETRICS_CONTENT_TYPE",
    "PROMETHEUS_CONTENT_TYPE",
    "Permit",
    "RedisStore",
    "StructuredLogger",
    "Transition",
    "__version__",
    "circuit_breaker_service",
    "create_circuit_breaker",
    "create_env_var_health_check",
    "create_health_check_handler",
    "create_http_health_check",
    "create_logger",
    "create_memory_health_check",
    "get_logger",
    "logger",
    "metrics_content_type",
    "metrics_text",
    "registry",
    "set_logger",
    "with_circuit_breaker",
]

_log = logging.getLogger("tripwire")
# A breaker's registry key: its engine's name (a subclass's `name` may differ:
# tripwire.pybreaker's is None when none was given).
_key = _core.Breaker.name.__get__

ExcludeItem = Union[Type[BaseException], Callable[[BaseException], bool]]
StateListener = Callable[[CircuitState, CircuitState], Any]


class CircuitBreakerListener:
    """Base class of listener objects (pybreaker's shape); override what you need.

    A listener that raises is logged (logger ``"tripwire"``) and never breaks the call.
    """

    def before_call(self, cb: CircuitBreaker, func: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Called before the protected function runs."""

    def state_change(self, cb: CircuitBreaker, old_state: CircuitState, new_state: CircuitState) -> None:
        """Called when the state changes."""

    def failure(self, cb: CircuitBreaker, exc: BaseException) -> None:
        """Called when a call fails (and is counted as a failure)."""

    def success(self, cb: CircuitBreaker) -> None:
        """Called when a call succeeds."""

    def store_down(self, cb: CircuitBreaker, error: Optional[BaseException]) -> None:
        """Called when a shared breaker stops reaching its store (it decides locally
        until ``store_up``), or its fleet refused it (``error`` names the option)."""

    def store_up(self, cb: CircuitBreaker) -> None:
        """Called when a shared breaker reaches its store again (and adopts the fleet's state)."""


def _notify(what: str, callback: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    try:
        callback(*args, **kwargs)
    except Exception:
        _log.exception("tripwire: listener %s raised; the call goes on", what)


class _TaskDeadline:
    """Cancels the running task at the deadline, as ``asyncio.timeout`` does, on a
    ``ManualClock``'s timer (fired when the test moves the clock past it: an async call
    times out without sleeping, as in Node) or on the event loop's (Python < 3.11)."""

    __slots__ = ("_delay", "_clock", "_expired", "_inside", "_handle", "_task")

    def __init__(self, delay: float, clock: Optional[ManualClock]) -> None:
        self._delay = delay
        self._clock = clock
        self._expired = False
        self._inside = False
        self._handle: Any = None  # the loop's TimerHandle, or the clock's timer id
        self._task: Optional[asyncio.Task[Any]] = None

    async def __aenter__(self) -> _TaskDeadline:
        self._task = asyncio.current_task()
        loop = asyncio.get_running_loop()
        self._inside = True
        if self._clock is None:
            self._handle = loop.call_later(self._delay, self._expire)
        else:
            # The clock's timers fire in whichever thread moves it.
            self._handle = self._clock._call_later(self._delay, functools.partial(loop.call_soon_threadsafe, self._expire))
        return self

    def _expire(self) -> None:
        # A clock's timer may have fired as the block ended: then nothing is cancelled.
        if self._inside and self._task is not None:
            self._expired = True
            self._task.cancel()

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self._inside = False
        if self._clock is None:
            self._handle.cancel()
        else:
            self._clock._cancel_timer(self._handle)
        if self._expired and exc_type is asyncio.CancelledError:
            raise TimeoutError from None

    def expired(self) -> bool:
        return self._expired


def _deadline(delay: float, clock: Optional[ManualClock]) -> Any:
    """The deadline of an async call or ``async with`` block: ``asyncio.timeout`` on the
    loop's clock where there is one (Python 3.11+), else a ``_TaskDeadline``."""
    if clock is None and sys.version_info >= (3, 11):
        return asyncio.timeout(delay)
    return _TaskDeadline(delay, clock)


async def _resolve(value: Any) -> Any:
    if inspect.isawaitable(value):
        return await value
    return value


# The permits of the with-blocks running in this thread or task, innermost last: one
# variable for every breaker (a context variable per breaker would cost memory).
_ACTIVE: contextvars.ContextVar[Tuple[Tuple[CircuitBreaker, Permit, Any], ...]] = contextvars.ContextVar(
    "tripwire_active", default=()
)


class _HalfOpenTimer:
    """The half-open timer of a breaker made with ``half_open_timer=True``: one timer while
    it is open (the core says until when), none otherwise. On a ``ManualClock`` the timer
    is the clock's; else a daemon ``threading.Timer``, so it never keeps the process
    alive. It holds the breaker weakly."""

    __slots__ = ("_breaker", "_clock", "_lock", "_handle", "_seq")

    def __init__(self, breaker: "CircuitBreaker", clock: Optional[ManualClock]) -> None:
        self._breaker = weakref.ref(breaker)
        self._clock = clock
        self._lock = threading.Lock()
        self._handle: Any = None
        self._seq = 0

    def arm(self) -> None:
        """Sets the timer to when the core says, or none."""
        breaker = self._breaker()
        delay = None if breaker is None else breaker._half_open_delay()
        with self._lock:
            self._cancel()
            if delay is None:
                return
            self._seq += 1
            seq = self._seq
            if self._clock is not None:
                self._handle = self._clock._call_later(delay, lambda: self._fire(seq))
            else:
                timer = threading.Timer(delay, self._fire, (seq,))
                timer.daemon = True
                timer.start()
                self._handle = timer

    def _cancel(self) -> None:
        handle, self._handle = self._handle, None
        if isinstance(handle, threading.Timer):
            handle.cancel()
        elif handle is not None and self._clock is not None:
            self._clock._cancel_timer(handle)

    def _fire(self, seq: int) -> None:
        with self._lock:
            if seq != self._seq or self._handle is None:
                return  # replaced or cancelled meanwhile
            self._handle = None
        breaker = self._breaker()
        # A timer may fire a little early by the breaker's clock: then it is set again.
        if breaker is not None and not breaker._elapse():
            self.arm()


class CircuitBreaker(_core.Breaker):
    """A circuit breaker; every instance is registered under its name.

    ``failure_threshold`` in (0, 1) is a failure rate over ``monitoring_window``
    seconds, a whole number ≥ 1 a count of consecutive failures. Durations are
    seconds. pybreaker's ``fail_max`` / ``reset_timeout`` and the other spellings of
    the options table are accepted too (giving two spellings of one option is an
    error). Bad options raise ``TypeError`` / ``ValueError`` naming the option.

    ``store``: a ``RedisStore`` shares the breaker's state with every process that
    makes a breaker of this name through the same Redis and prefix (not given: the
    ``TRIPWIRE_STORE_URL`` store if that is set; None: never shared).
    """

    __slots__ = (
        "_on_state_change",
        "_listeners",
        "_timeout",
        "_hooked",
        "_slow",
        "_tracer",
        "_logger",
        "_half_open",
        "_clock",
        "__weakref__",
    )

    def __init__(
        self,
        name: str,
        *,
        failure_threshold: float = 5,
        recovery_timeout: float = 60.0,
        success_threshold: int = 2,
        request_timeout: Optional[float] = None,
        minimum_requests: Optional[int] = None,
        monitoring_window: float = 60.0,
        slow_call_duration: Optional[float] = None,
        slow_call_rate_threshold: Optional[float] = None,
        half_open_max_calls: int = 1,
        initial_state: str = "CLOSED",
        open_remaining: Optional[float] = None,
        ignored_as_success: bool = False,
        strict_rate_threshold: bool = False,
        rejects_in_rate: bool = False,
        keep_window: bool = False,
        half_open_timer: bool = False,
        half_open_wait: bool = False,
        window_stats: bool = False,
        exclude: Iterable[ExcludeItem] = (),
        fallback: Optional[Callable[..., Any]] = None,
        is_failure_result: Optional[Callable[[Any], bool]] = None,
        on_state_change: Optional[StateListener] = None,
        listeners: Iterable[Any] = (),
        clock: Optional[ManualClock] = None,
        tracing: Optional[str] = None,
        logger: Optional[Any] = None,
        store: Optional[RedisStore] = _STORE_FROM_ENV,
        **options: Any,
    ) -> None:
        # The options were read and checked by `_core.Breaker.__new__`; only the
        # listeners, tracing and the logger are the facade's.
        if on_state_change is not None and not callable(on_state_change):
            raise TypeError("invalid option `on_state_change`: must be callable (old, new) -> None")
        # Its transitions and store outages log through it (else tripwire's own: set_logger()).
        self._logger = _tw_log.check_logger(logger)
        self._tracer: Any = None
        if tracing is not None:
            # Opt-in (a span costs more than a guarded call): tripwire.otel and the
            # OpenTelemetry API are imported only here.
            from tripwire import otel

            mode = otel.tracing_mode(tracing)
            if mode is not None:
                self._tracer = otel.Tracer(self.name, mode)
                self.__class__ = _traced_class(type(self))
        self._on_state_change = on_state_change
        try:
            self._listeners: Tuple[Any, ...] = tuple(listeners)
        except TypeError:
            raise TypeError("invalid option `listeners`: must be an iterable of listener objects") from None
        self._timeout = self.request_timeout
        # A ManualClock's timers time async calls out too (else the loop's clock does).
        self._clock = clock
        self._update_hooks()
        self._bind_store()
        evicted = _core._register(self)
        if evicted:
            registry._evicted(evicted)
        # Made open (a start state), its half-open timer starts now.
        self._half_open = _HalfOpenTimer(self, clock) if self._has_half_open_timer() else None
        self._arm_half_open()

    def __repr__(self) -> str:
        return f"<CircuitBreaker {self.name!r} {self.state.value}>"

    def _reconfigured(self) -> None:
        """The service engine changed this breaker's options in place (state kept)."""
        self._timeout = self.request_timeout
        self._update_hooks()

    # -- listeners ------------------------------------------------------------

    @property
    def listeners(self) -> Tuple[Any, ...]:
        """The listener objects."""
        return self._listeners

    def add_listener(self, listener: Any) -> None:
        """Adds a listener object (``before_call``, ``success``, ``failure``, ``state_change``)."""
        self._listeners = (*self._listeners, listener)
        self._update_hooks()

    def remove_listener(self, listener: Any) -> None:
        """Removes a listener object added before."""
        listeners = list(self._listeners)
        listeners.remove(listener)
        self._listeners = tuple(listeners)
        self._update_hooks()

    def _update_hooks(self) -> None:
        self._hooked = bool(self._listeners) or self._on_state_change is not None
        # Async calls take the slow path when there is a timeout, a listener or a
        # result to judge.
        self._slow = self._hooked or self._timeout is not None or self.is_failure_result is not None
        self._set_hooks(self._hooked, self._slow)

    def restore(self, snapshot: Dict[str, Any]) -> None:
        """Takes the state of ``snapshot()`` output (a warm start); an open one starts its
        half-open timer."""
        super().restore(snapshot)
        self._arm_half_open()

    def _arm_half_open(self) -> None:
        # getattr: a transition may come before __init__ has set it (never with a timer).
        timer = getattr(self, "_half_open", None)
        if timer is not None:
            timer.arm()

    def _hook_state_change(self, old: CircuitState, new: CircuitState, cause: str = "", outcome: Optional[str] = None) -> None:
        """Every transition: tripwire's log line (the core's ``cause``, and the
        ``outcome`` of the call that made it), then the listeners."""
        name = _key(self)
        fields: Dict[str, Any] = {"event": "transition", "breaker": name, "from": old.value, "to": new.value, "cause": cause}
        if outcome is not None:
            fields["outcome"] = outcome
        if new == CircuitState.OPEN:
            _tw_log.emit(self._logger, "warn", f"Circuit breaker '{name}' opened", fields)
        else:
            _tw_log.emit(self._logger, "info", f"Circuit breaker '{name}' {'closed' if new == CircuitState.CLOSED else 'half-open'}", fields)
        if self._hooked:
            self._notify_state_change(old, new)

    def _notify_state_change(self, old: CircuitState, new: CircuitState) -> None:
        """Tells ``on_state_change`` and the listeners (``tripwire.pybreaker`` tells its
        listeners in its own shapes)."""
        if self._on_state_change is not None:
            _notify("on_state_change", self._on_state_change, old, new)
        for listener in self._listeners:
            hook = getattr(listener, "state_change", None)
            if hook is not None:
                _notify("state_change", hook, self, old, new)

    def _hook_store_event(self, event: str, error: Optional[BaseException] = None) -> None:
        """The fleet store's hook (from its thread): ``"storeDown"`` when this breaker
        stops reaching the store (it then decides locally), ``"storeUp"`` when it shares
        again, ``"storeError"`` when the fleet refused it (``error`` names the option),
        logged. The outages are logged by the store, once each (``_logger.store_outage``);
        the listeners hear every breaker's."""
        if event == "storeError":
            _tw_log.emit_to_operator(self._logger, "error", f"tripwire: breaker {_key(self)!r}: {error}", {"event": event, "breaker": _key(self)})
        elif event not in ("storeDown", "storeUp"):
            raise ValueError(f"a store event is 'storeDown', 'storeUp' or 'storeError', not {event!r}")
        for listener in self._listeners:
            hook = getattr(listener, "store_up" if event == "storeUp" else "store_down", None)
            if hook is not None:
                if event == "storeUp":
                    _notify("store_up", hook, self)
                else:
                    _notify("store_down", hook, self, error)

    def _hook_before_call(self, func: Callable[..., Any], args: Tuple[Any, ...], kwargs: Dict[str, Any]) -> None:
        for listener in self._listeners:
            hook = getattr(listener, "before_call", None)
            if hook is not None:
                _notify("before_call", hook, self, func, *args, **kwargs)

    def _hook_success(self) -> None:
        for listener in self._listeners:
            hook = getattr(listener, "success", None)
            if hook is not None:
                _notify("success", hook, self)

    def _hook_failure(self, exc: BaseException) -> None:
        for listener in self._listeners:
            hook = getattr(listener, "failure", None)
            if hook is not None:
                _notify("failure", hook, self, exc)

    # -- decorator --------------------------------------------------------------

    @overload
    def __call__(self, func: Callable[P, Coroutine[Any, Any, R]]) -> Callable[P, Coroutine[Any, Any, R]]: ...

    @overload
    def __call__(self, func: Callable[P, R]) -> Callable[P, R]: ...

    def __call__(self, func: Callable[..., Any]) -> Callable[..., Any]:
        """Decorates a function (sync or ``async def``) so every call goes through the breaker."""
        if inspect.iscoroutinefunction(func):

            try_acquire = self._try_acquire_async

            # The fast path of call_async, inlined: one coroutine per call.
            @functools.wraps(func)
            async def guarded_async(*args: Any, **kwargs: Any) -> Any:
                permit = try_acquire()
                if permit.__class__ is not Permit or self._slow:
                    return await self._call_async_slow(permit, func, args, kwargs)
                try:
                    result = await func(*args, **kwargs)
                except BaseException as exc:
                    if permit.fail(exc):
                        fallback = self.fallback
                        if fallback is not None:
                            return await self._run_fallback(fallback, args, kwargs)
                    raise
                permit.success()
                return result

            return guarded_async
        guarded = _core.Guarded(self, func)
        functools.update_wrapper(guarded, func)
        return guarded

    # -- async ------------------------------------------------------------------

    async def call_async(self, func: Callable[P, Awaitable[R]], /, *args: P.args, **kwargs: P.kwargs) -> R:
        """Awaits ``func(*args, **kwargs)`` through the breaker.

        With ``request_timeout`` the call is cancelled at the deadline and raises
        ``CircuitBreakerTimeoutError`` (counted as a failure and a timeout).
        """
        permit = self._try_acquire_async()
        if permit.__class__ is not Permit or self._slow:
            result: R = await self._call_async_slow(permit, func, args, kwargs)
            return result
        try:
            result = await func(*args, **kwargs)
        except BaseException as exc:
            if permit.fail(exc):
                fallback = self.fallback
                if fallback is not None:
                    result = await self._run_fallback(fallback, args, kwargs)
                    return result
            raise
        permit.success()
        return result

    async def _call_async_slow(
        self,
        permit: Union[Permit, CircuitBreakerOpenError, asyncio.Future[Union[Permit, CircuitBreakerOpenError]]],
        func: Callable[..., Awaitable[Any]],
        args: Tuple[Any, ...],
        kwargs: Dict[str, Any],
    ) -> Any:
        """call_async with a refusal, a fleet-wide trial lease, a timeout or listeners to handle."""
        if isinstance(permit, asyncio.Future):
            # Half-open in a shared breaker: the fleet-wide trial lease.
            permit = await permit
        if not isinstance(permit, Permit) and permit.state is CircuitState.HALF_OPEN:
            permit = await self._wait_for_trial(permit)
        if not isinstance(permit, Permit):
            fallback = self.fallback
            if fallback is not None:
                return await self._run_fallback(fallback, args, kwargs)
            raise permit
        if self._hooked:
            self._hook_before_call(func, args, kwargs)
        timeout = self._timeout
        deadline = None
        try:
            if timeout is None:
                result = await func(*args, **kwargs)
            else:
                deadline = _deadline(timeout, self._clock)
                async with deadline:
                    result = await func(*args, **kwargs)
        except BaseException as exc:
            if timeout is not None and deadline is not None and isinstance(exc, TimeoutError) and deadline.expired():
                # Our deadline, not the caller's own TimeoutError.
                permit.timeout()
                error = CircuitBreakerTimeoutError(self.name, timeout)
                if self._hooked:
                    self._hook_failure(error)
                fallback = self.fallback
                if fallback is not None:
                    result = await self._run_fallback(fallback, args, kwargs)
                    return result
                raise error from None
            if permit.fail(exc):
                fallback = self.fallback
                if fallback is not None:
                    result = await self._run_fallback(fallback, args, kwargs)
                    return result
            raise
        # A success, or a failure by is_failure_result (the result still returns).
        permit._resolved(result)
        return result

    async def _run_fallback(self, fallback: Callable[..., Any], args: Tuple[Any, ...], kwargs: Dict[str, Any]) -> Any:
        """The fallback's answer (counted in the windowed statistics)."""
        self._record_fallback()
        return await _resolve(fallback(*args, **kwargs))

    async def _wait_for_trial(self, refusal: CircuitBreakerOpenError) -> Union[Permit, CircuitBreakerOpenError]:
        """With ``half_open_wait``: waits (in an executor thread, without the GIL) until a
        call ends, then asks again, until admitted or refused for good."""
        permit: Union[Permit, CircuitBreakerOpenError] = refusal
        while not isinstance(permit, Permit) and permit.state is CircuitState.HALF_OPEN:
            seen = self._trial_epoch()
            if seen is None:
                break  # no half_open_wait: refused
            permit = self._try_acquire()
            if not isinstance(permit, Permit) and permit.state is CircuitState.HALF_OPEN:
                await asyncio.get_running_loop().run_in_executor(None, self._wait_trial, seen)
        return permit

    # -- with / async with ----------------------------------------------------

    def __enter__(self) -> Self:
        permit = self.acquire()
        _ACTIVE.set((*_ACTIVE.get(), (self, permit, None)))
        return self

    def _pop_active(self) -> Tuple[Permit, Any]:
        stack = _ACTIVE.get()
        # With-blocks nest, so this breaker's permit is the innermost one of its own.
        for i in range(len(stack) - 1, -1, -1):
            if stack[i][0] is self:
                _ACTIVE.set(stack[:i] + stack[i + 1 :])
                return stack[i][1], stack[i][2]
        raise RuntimeError("CircuitBreaker.__exit__ without a matching __enter__")

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        permit, _ = self._pop_active()
        if exc is None:
            permit.success()
        else:
            permit.fail(exc)

    async def __aenter__(self) -> Self:
        admitted = self._try_acquire_async()
        if isinstance(admitted, asyncio.Future):
            # Half-open in a shared breaker: the fleet-wide trial lease.
            admitted = await admitted
        if isinstance(admitted, CircuitBreakerOpenError):
            raise admitted
        permit = admitted
        deadline = None
        if self._timeout is not None:
            # The block is cancelled at the deadline, as call_async's call is.
            try:
                deadline = _deadline(self._timeout, self._clock)
                await deadline.__aenter__()
            except BaseException:
                permit.cancel()
                raise
        _ACTIVE.set((*_ACTIVE.get(), (self, permit, deadline)))
        return self

    async def __aexit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        permit, deadline = self._pop_active()
        if deadline is not None:
            try:
                await deadline.__aexit__(exc_type, exc, tb)
            except TimeoutError:
                if not deadline.expired():
                    raise
                permit.timeout()
                assert self._timeout is not None
                error = CircuitBreakerTimeoutError(self.name, self._timeout)
                if self._hooked:
                    self._hook_failure(error)
                raise error from None
        if exc is None:
            permit.success()
        else:
            permit.fail(exc)


class CircuitBreakerRegistry:
    """Every breaker by name. A breaker registers itself when constructed; a later
    breaker with the same name replaces the entry.

    Bounded, because names often come from request data: past ``capacity`` names
    (default 10,000) registering a new one evicts an idle entry (CLOSED, not forced
    open or disabled, no call in flight; open, half-open and busy breakers are never
    evicted). Each eviction is counted in ``evictions`` and reported to
    ``on_evict(name, breaker)`` if set. An evicted breaker keeps working for whoever
    holds it; the registry just forgets it.
    """

    on_evict: Optional[Callable[[str, "CircuitBreaker"], Any]] = None
    """Called with ``(name, breaker)`` for each entry evicted to keep the bound. An
    exception it raises is logged; ``KeyboardInterrupt`` and ``SystemExit`` propagate."""

    @property
    def capacity(self) -> int:
        """Names kept before idle entries are evicted (default 10,000). Any int ≥ 1; one
        past 2**32 - 1 is held as 2**32 - 1 (more names than a process can hold)."""
        return _core._registry_info()[1]

    @capacity.setter
    def capacity(self, value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"`capacity` must be an int, not {type(value).__name__}")
        _core._registry_set_capacity(value)

    @property
    def evictions(self) -> int:
        """Entries evicted to keep the bound, since the process started."""
        return _core._registry_info()[2]

    def _evicted(self, evicted: List[Tuple[str, _core.Breaker]]) -> None:
        hook = self.on_evict
        if hook is None:
            return
        for name, breaker in evicted:
            if isinstance(breaker, CircuitBreaker):
                _notify("on_evict", hook, name, breaker)

    def get(self, name: str) -> Optional[CircuitBreaker]:
        """The breaker registered under ``name``, or None."""
        breaker = _core._registry_get(name)
        return breaker if isinstance(breaker, CircuitBreaker) else None

    def all(self) -> List[CircuitBreaker]:
        """Every registered breaker, sorted by name."""
        return [b for b in _core._registry_all() if isinstance(b, CircuitBreaker)]

    def stats(self) -> Dict[str, CircuitBreakerStats]:
        """Each breaker's stats by name."""
        return {_key(b): b.stats for b in self.all()}

    def reset_all(self) -> None:
        """Resets every registered breaker."""
        for breaker in self.all():
            breaker.reset()

    def remove(self, name: str) -> Optional[CircuitBreaker]:
        """Unregisters the breaker under ``name``; returns it, or None."""
        breaker = _core._registry_remove(name)
        return breaker if isinstance(breaker, CircuitBreaker) else None

    def clear(self) -> None:
        """Unregisters every breaker."""
        _core._registry_clear()

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def __iter__(self) -> Iterator[CircuitBreaker]:
        return iter(self.all())

    def __len__(self) -> int:
        return len(self.all())


registry = CircuitBreakerRegistry()
"""The process-wide registry."""

_create_lock = threading.Lock()


def create_circuit_breaker(name: str, **options: Any) -> CircuitBreaker:
    """The breaker registered under ``name`` (``options`` are then ignored), or a new one."""
    with _create_lock:
        existing = registry.get(name)
        if existing is not None:
            return existing
        return CircuitBreaker(name, **options)


@overload
def with_circuit_breaker(
    name: str, fn: Callable[[], Coroutine[Any, Any, R]], options: Optional[Dict[str, Any]] = None
) -> Coroutine[Any, Any, R]: ...


@overload
def with_circuit_breaker(name: str, fn: Callable[[], R], options: Optional[Dict[str, Any]] = None) -> R: ...


def with_circuit_breaker(name: str, fn: Callable[[], Any], options: Optional[Dict[str, Any]] = None) -> Any:
    """Runs ``fn()`` through the breaker named ``name`` (made with ``options`` if new).

    Returns an awaitable when ``fn`` is a coroutine function.
    """
    breaker = create_circuit_breaker(name, **(options or {}))
    if inspect.iscoroutinefunction(fn):
        return breaker.call_async(fn)
    return breaker.call(fn)


class _Traced:
    """What a breaker made with ``tracing=`` adds (mixed in before its class; no slot
    of its own, so that the class of a breaker can be swapped in ``__init__``)."""

    __slots__ = ()

    def call(self, func: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        tracer = self._tracer  # type: ignore[attr-defined]
        if tracer.spans:
            with tracer.span() as span:
                try:
                    return super().call(func, *args, **kwargs)  # type: ignore[misc]
                except BaseException as error:
                    self._traced_error(tracer, span, error)
                    raise
        try:
            return super().call(func, *args, **kwargs)  # type: ignore[misc]
        except CircuitBreakerError:
            tracer.rejected(self.state.value)  # type: ignore[attr-defined]
            raise

    async def call_async(self, func: Callable[..., Awaitable[Any]], /, *args: Any, **kwargs: Any) -> Any:
        tracer = self._tracer  # type: ignore[attr-defined]
        if tracer.spans:
            with tracer.span() as span:
                try:
                    return await super().call_async(func, *args, **kwargs)  # type: ignore[misc]
                except BaseException as error:
                    self._traced_error(tracer, span, error)
                    raise
        try:
            return await super().call_async(func, *args, **kwargs)  # type: ignore[misc]
        except CircuitBreakerError:
            tracer.rejected(self.state.value)  # type: ignore[attr-defined]
            raise

    def _traced_error(self, tracer: Any, span: Any, error: BaseException) -> None:
        if isinstance(error, CircuitBreakerError):
            tracer.rejected(self.state.value)  # type: ignore[attr-defined]
        tracer.failed(span, error)

    def __call__(self, func: Callable[..., Any]) -> Callable[..., Any]:
        # Every decorated call goes through call / call_async, and so is traced.
        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def traced_async(*args: Any, **kwargs: Any) -> Any:
                return await self.call_async(func, *args, **kwargs)

            return traced_async

        @functools.wraps(func)
        def traced(*args: Any, **kwargs: Any) -> Any:
            return self.call(func, *args, **kwargs)

        return traced

    def _update_hooks(self) -> None:
        super()._update_hooks()  # type: ignore[misc]
        # Transitions are traced: the state-change hook always runs.
        self._hooked = True  # type: ignore[misc]
        self._slow = True  # type: ignore[misc]
        self._set_hooks(True, True)  # type: ignore[attr-defined]

    def _hook_state_change(self, old: CircuitState, new: CircuitState, cause: str = "", outcome: Optional[str] = None) -> None:
        self._tracer.transition(old.value, new.value)  # type: ignore[attr-defined]
        super()._hook_state_change(old, new, cause, outcome)  # type: ignore[misc]


_traced_classes: Dict[type, type] = {}
_traced_lock = threading.Lock()


def _traced_class(cls: type) -> type:
    """``cls`` with tracing mixed in (made once per class)."""
    if issubclass(cls, _Traced):
        return cls
    with _traced_lock:
        traced = _traced_classes.get(cls)
        if traced is None:
            traced = type(f"Traced{cls.__name__}", (_Traced, cls), {"__slots__": (), "__module__": cls.__module__})
            _traced_classes[cls] = traced
        return traced


# Seed 004's resilience service and seed 000's health checks (issue 6). Imported last:
# they build on the breaker above.
from tripwire.health import (  # noqa: E402
    HealthCheck,
    HealthCheckHandlers,
    HealthCheckManager,
    create_env_var_health_check,
    create_health_check_handler,
    create_http_health_check,
    create_memory_health_check,
)
from tripwire.service import (  # noqa: E402
    Alert,
    BulkheadRejectedError,
    CircuitBreakerService,
    DeadLetterItem,
    circuit_breaker_service,
)


def http_failure(response: Any) -> bool:
    """Whether an HTTP response counts as a failure of the upstream, by the rule every
    tripwire runtime uses (the core's): status >= 500 or 429; other statuses, 4xx
    included, do not. Reads ``status_code`` (httpx, requests) or ``status`` (aiohttp).
    Opt-in: raise on it inside a guarded call, e.g. ``if tripwire.http_failure(r):
    r.raise_for_status()``, so that the breaker counts the failure.
    """
    status = getattr(response, "status_code", None)
    if status is None:
        status = getattr(response, "status", None)
    if not isinstance(status, int) or isinstance(status, bool):
        raise TypeError(
            f"http_failure() needs a response with an int `status_code` or `status` (httpx, requests, aiohttp), got {type(response).__name__}"
        )
    return _core._http_status_is_failure(float(status))


# Issue 12: metrics at scrape time (tripwire.prometheus, tripwire.otel and
# tripwire.control are imported on demand: the main module loads no HTTP server).
from tripwire._metrics import (  # noqa: E402
    OPENMETRICS_CONTENT_TYPE,
    PROMETHEUS_CONTENT_TYPE,
    metrics_content_type,
    metrics_text,
)


def __getattr__(name: str) -> Any:
    """``logger``: the shared JSON logger, made on first use (PEP 562)."""
    if name == "logger":
        return _tw_log.default_logger()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> List[str]:
    return sorted([*globals(), "logger"])


logger: StructuredLogger
