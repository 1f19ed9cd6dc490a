"""Plain Python types shared by the compiled module and the facade."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, NamedTuple, Optional


class _StoreFromEnv:
    """``store=`` not given: the ``TRIPWIRE_STORE_URL`` store if set, else local."""

    def __repr__(self) -> str:
        return "<TRIPWIRE_STORE_URL if set>"


# The default of `store=` as signatures show it (the compiled constructor reads only the
# keywords given; `store=None` is local).
_STORE_FROM_ENV: Any = _StoreFromEnv()


class CircuitState(str, enum.Enum):
    """The state of a circuit breaker; a ``str``, so ``state == "OPEN"`` holds."""

    CLOSED = "CLOSED"
    OPEN = "OPEN"
    HALF_OPEN = "HALF_OPEN"

    def __str__(self) -> str:
        return self.value


class Transition(NamedTuple):
    """A change of state, or a manual operation (where ``old`` may equal ``new``)."""

    old: CircuitState
    new: CircuitState


@dataclass(frozen=True)
class CircuitBreakerStats:
    """A point-in-time view of a breaker.

    Counts are lifetime totals since construction or ``reset()``. ``total_requests``
    counts calls that ran (successes + failures, timeouts included), not rejected or
    excluded ones. Times are epoch seconds (with a ``ManualClock``: its reading), or
    None; durations are seconds.

    With a store (``store=``), state, window, consecutive counts and rates are the
    fleet's; totals and latencies this process's own. ``mode`` is ``"shared"`` while
    the store answers, ``"local"`` without a store or while it is unreachable;
    ``last_sync_age`` is the seconds since the store's last reply (None: never);
    ``fleet_*_count`` are the whole fleet's lifetime totals at that reply (None
    without a store or before the first reply).
    """

    state: CircuitState
    failure_count: int
    success_count: int
    total_requests: int
    failure_rate: float
    consecutive_failures: int
    consecutive_successes: int
    #: Consecutive failures that a trip does not reset (a success, ``close()`` or
    #: ``reset()`` ends them): pybreaker's ``fail_counter``. The fleet's on a shared
    #: breaker.
    failure_streak: int
    timeout_count: int
    rejected_count: int
    slow_call_count: int
    ignored_count: int
    slow_call_rate: float
    window_calls: int
    window_failures: int
    trips: int
    last_failure_time: Optional[float]
    last_success_time: Optional[float]
    next_attempt_time: Optional[float]
    average_response_time: float
    latency_p50: Optional[float]
    latency_p90: Optional[float]
    latency_p99: Optional[float]
    forced_open: bool
    disabled: bool
    mode: str = "local"
    last_sync_age: Optional[float] = None
    fleet_success_count: Optional[int] = None
    fleet_failure_count: Optional[int] = None
    fleet_rejected_count: Optional[int] = None


class CircuitBreakerError(Exception):
    """The breaker refused the call: it did not run.

    ``args`` is ``(name, state, retry_after)``: the compiled module raises one without
    running any Python (``BaseException.__new__`` stores the arguments), and the
    message is formatted only when someone reads it. Defined here rather than in the
    compiled module: the abi3 wheel (Python 3.9's stable ABI) cannot subclass
    ``Exception`` from Rust.
    """

    __module__ = "tripwire"

    def __init__(self, name: str, state: CircuitState, retry_after: Optional[float] = None) -> None:
        super().__init__(name, state, retry_after)

    @property
    def name(self) -> str:
        """The breaker's name."""
        name: str = self.args[0]
        return name

    @property
    def state(self) -> CircuitState:
        """The state that refused the call: OPEN, or HALF_OPEN with every trial slot taken."""
        state: CircuitState = self.args[1]
        return state

    @property
    def retry_after(self) -> Optional[float]:
        """Seconds until a call may be admitted; ``None`` while forced open."""
        retry_after: Optional[float] = self.args[2]
        return retry_after

    def __str__(self) -> str:
        name, state, retry_after = self.args
        if retry_after is None:
            return f"circuit breaker '{name}' is {state}: call refused"
        return f"circuit breaker '{name}' is {state}: call refused (retry after {retry_after:.3f} s)"


class CircuitBreakerOpenError(CircuitBreakerError):
    """The circuit is open (or half-open with no free trial slot): the call was not made."""

    __module__ = "tripwire"


class CircuitBreakerTimeoutError(TimeoutError):
    """The call ran past ``request_timeout``: it was cancelled and counted as a failure.

    A ``TimeoutError``, not a ``CircuitBreakerError``: the breaker did not refuse the
    call, the call was too slow.
    """

    def __init__(self, name: str, timeout: float) -> None:
        super().__init__(name, timeout)
        self.name = name
        self.timeout = timeout

    def __str__(self) -> str:
        return f"circuit breaker {self.name!r}: call timed out after {self.timeout} s"
