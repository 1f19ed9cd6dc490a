"""pybreaker 1.4.1's API over tripwire's engine: ``import tripwire.pybreaker as pybreaker``.

The classes, arguments, listener hooks, exceptions and messages are pybreaker's; the
breaking decisions are tripwire's core (a count threshold of ``fail_max`` consecutive
failures, a timed open of ``reset_timeout`` seconds, ``success_threshold`` trial
successes, excluded errors counted as successes). A ``CircuitBreaker`` here is a
``tripwire.CircuitBreaker`` too: it is registered, shows in metrics and the dashboard,
and its calls run on tripwire's hot path. The remaining differences are listed in
the Python README ("Migrating from pybreaker").
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import inspect
import itertools
import threading
import time
import urllib.parse
import weakref
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Awaitable, cast, Callable, Dict, Generator, Iterable, Iterator, List, Optional, Sequence, Tuple, Type, TypeVar, Union

import tripwire
from tripwire import CircuitState, Permit, _core

if TYPE_CHECKING:
    from typing_extensions import Self

# pybreaker's flags: `@breaker(__pybreaker_call_async=True)` is for Tornado coroutines.
HAS_TORNADO_SUPPORT = importlib.util.find_spec("tornado") is not None
HAS_REDIS_SUPPORT = importlib.util.find_spec("redis") is not None

__all__ = (
    "CircuitBreaker",
    "CircuitBreakerListener",
    "CircuitBreakerError",
    "CircuitBreakerState",
    "CircuitBreakerStorage",
    "CircuitMemoryStorage",
    "CircuitRedisStorage",
    "CircuitClosedState",
    "CircuitOpenState",
    "CircuitHalfOpenState",
    "STATE_OPEN",
    "STATE_CLOSED",
    "STATE_HALF_OPEN",
)

STATE_OPEN = "open"
STATE_CLOSED = "closed"
STATE_HALF_OPEN = "half-open"

T = TypeVar("T")
Exclusion = Union[Type[BaseException], Callable[[Any], bool]]

_NAMES = {CircuitState.CLOSED: STATE_CLOSED, CircuitState.OPEN: STATE_OPEN, CircuitState.HALF_OPEN: STATE_HALF_OPEN}
_ENGINE_STATES = {name: state for state, name in _NAMES.items()}
_engine_state = _core.Breaker.state.__get__
_engine_name = _core.Breaker.name.__get__
_unnamed = itertools.count(1)

_REFUSED = "Timeout not elapsed yet, circuit breaker still open"
_TRIPPED = "Failures threshold reached, circuit breaker opened"
_TRIAL_FAILED = "Trial call failed, circuit breaker opened"


class CircuitBreakerError(tripwire.CircuitBreakerOpenError):
    """The breaker refused the call (it did not run), or the failure that opened it.

    As in pybreaker, ``args`` is ``(message,)``. Also a
    ``tripwire.CircuitBreakerOpenError``: ``name``, ``state`` and ``retry_after`` are
    set on the errors the breaker raises. ``CircuitBreakerError("message")`` works as
    in pybreaker.
    """

    __module__ = "tripwire.pybreaker"
    _REFUSED = _REFUSED  # a refusal's message (the engine makes refusals)
    # (name, state, retry_after) on the errors the breaker raises; kept by pickle and copy.
    _fields: Optional[Tuple[str, CircuitState, Optional[float]]] = None

    def __init__(self, *args: Any) -> None:
        Exception.__init__(self, *args)

    @classmethod
    def _raised_by(cls, message: str, name: str, retry_after: Optional[float]) -> CircuitBreakerError:
        """An error the breaker raises, with its fields."""
        error = cls(message)
        error._fields = (name, CircuitState.OPEN, retry_after)
        return error

    @property
    def name(self) -> str:
        """The breaker's registry name ('' on an error made by hand)."""
        return "" if self._fields is None else self._fields[0]

    @property
    def state(self) -> CircuitState:
        """OPEN."""
        return CircuitState.OPEN if self._fields is None else self._fields[1]

    @property
    def retry_after(self) -> Optional[float]:
        """Seconds until a trial may run (None on an error made by hand)."""
        return None if self._fields is None else self._fields[2]

    def __str__(self) -> str:
        return Exception.__str__(self)


class CircuitBreakerState:
    """A state as pybreaker shows it: ``name`` is ``'closed'``, ``'open'`` or
    ``'half-open'``. The engine makes the transitions and tells the listeners; these
    objects only name the state."""

    __slots__ = ("_breaker", "_name")

    def __init__(self, cb: CircuitBreaker, name: str) -> None:
        self._breaker = cb
        self._name = name

    @property
    def name(self) -> str:
        """``'closed'``, ``'open'`` or ``'half-open'``."""
        return self._name

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CircuitBreakerState) and other._breaker is self._breaker and other._name == self._name

    def __hash__(self) -> int:
        return hash((id(self._breaker), self._name))

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._name!r}>"


class CircuitClosedState(CircuitBreakerState):
    """Calls run; ``fail_max`` consecutive failures open the circuit."""

    __slots__ = ()

    def __init__(self, cb: CircuitBreaker, prev_state: Optional[CircuitBreakerState] = None, notify: bool = False) -> None:
        super().__init__(cb, STATE_CLOSED)


class CircuitOpenState(CircuitBreakerState):
    """Calls are refused with ``CircuitBreakerError`` until ``reset_timeout`` has passed."""

    __slots__ = ()

    def __init__(self, cb: CircuitBreaker, prev_state: Optional[CircuitBreakerState] = None, notify: bool = False) -> None:
        super().__init__(cb, STATE_OPEN)


class CircuitHalfOpenState(CircuitBreakerState):
    """Trial calls run: ``success_threshold`` successes close the circuit, a failure opens it."""

    __slots__ = ()

    def __init__(self, cb: CircuitBreaker, prev_state: Optional[CircuitBreakerState] = None, notify: bool = False) -> None:
        super().__init__(cb, STATE_HALF_OPEN)


def _state_classes() -> Dict[str, Callable[..., CircuitBreakerState]]:
    # Looked up when called, as pybreaker does (tests patch the module's classes).
    return {STATE_CLOSED: CircuitClosedState, STATE_OPEN: CircuitOpenState, STATE_HALF_OPEN: CircuitHalfOpenState}


class CircuitBreakerListener:
    """Override what you need; a breaker calls its listeners one at a time, in
    pybreaker's order. A listener that raises is logged (logger ``"tripwire"``) and
    the call goes on."""

    def before_call(self, cb: CircuitBreaker, func: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Called before the breaker runs ``func``."""

    def failure(self, cb: CircuitBreaker, exc: BaseException) -> None:
        """Called when a call fails (before the state change it causes)."""

    def success(self, cb: CircuitBreaker) -> None:
        """Called when a call succeeds, or raises an excluded error (after the state change)."""

    def state_change(self, cb: CircuitBreaker, old_state: Optional[CircuitBreakerState], new_state: CircuitBreakerState) -> None:
        """Called when the state changes."""


class CircuitBreakerStorage:
    """Where a breaker's state lives (pybreaker's base class). tripwire's engine holds
    the state; a storage gives the state a breaker starts in and shows it live once
    the breaker is made (see ``CircuitMemoryStorage``)."""

    __slots__ = ("_name", "__dict__")  # subclasses may keep their own attributes

    def __init__(self, name: str) -> None:
        self._name = name

    @property
    def name(self) -> str:
        """``'memory'`` or ``'redis'``."""
        return self._name

    @property
    def state(self) -> str:
        """``'closed'``, ``'open'`` or ``'half-open'``."""
        raise NotImplementedError

    @property
    def counter(self) -> int:
        """The failure counter."""
        raise NotImplementedError

    @property
    def success_counter(self) -> int:
        """The success counter."""
        raise NotImplementedError

    @property
    def opened_at(self) -> Optional[datetime]:
        """When the circuit last opened."""
        raise NotImplementedError


class CircuitMemoryStorage(CircuitBreakerStorage):
    """The state of one breaker in this process.

    Before a breaker uses it, it holds the state to start in (``state``, ``counter``,
    ``opened_at``: an open start stays open for what remains of ``reset_timeout``
    since ``opened_at``, or all of it). Once a breaker uses it, it reads that breaker's
    state live; setting ``state`` or ``opened_at`` acts on the breaker. One storage
    serves one breaker.
    """

    __slots__ = ("_state", "_fail_counter", "_success_counter", "_opened_at", "_breaker")

    def __init__(self, state: str) -> None:
        super().__init__("memory")
        self._state = state
        self._fail_counter = 0
        self._success_counter = 0
        self._opened_at: Optional[datetime] = None
        self._breaker: Optional[CircuitBreaker] = None

    def _attach(self, breaker: CircuitBreaker) -> None:
        if self._breaker is not None:
            raise ValueError("this CircuitMemoryStorage already holds another breaker's state: give each breaker its own")
        self._breaker = breaker

    def _unattached(self, what: str) -> None:
        if self._breaker is not None:
            raise TypeError(f"CircuitMemoryStorage.{what}(): the counters belong to the breaker once it uses this storage")

    @property
    def state(self) -> str:
        """The breaker's state (``'closed'``, ``'open'``, ``'half-open'``)."""
        return self._state if self._breaker is None else self._breaker.current_state

    @state.setter
    def state(self, state: str) -> None:
        if self._breaker is None:
            self._state = state
            return
        self._breaker.state = state

    def increment_counter(self) -> None:
        """Adds one to the failure counter the breaker starts with."""
        self._unattached("increment_counter")
        self._fail_counter += 1

    def reset_counter(self) -> None:
        """Sets the failure counter the breaker starts with to 0."""
        self._unattached("reset_counter")
        self._fail_counter = 0

    def increment_success_counter(self) -> None:
        """Adds one to the success counter (before a breaker uses this storage)."""
        self._unattached("increment_success_counter")
        self._success_counter += 1

    def reset_success_counter(self) -> None:
        """Sets the success counter to 0 (before a breaker uses this storage)."""
        self._unattached("reset_success_counter")
        self._success_counter = 0

    @property
    def counter(self) -> int:
        """The failure counter (the breaker's ``fail_counter``)."""
        return self._fail_counter if self._breaker is None else self._breaker.fail_counter

    @property
    def success_counter(self) -> int:
        """The success counter (the breaker's ``success_counter``)."""
        return self._success_counter if self._breaker is None else self._breaker.success_counter

    @property
    def opened_at(self) -> Optional[datetime]:
        """When the circuit last opened (UTC), or None."""
        return self._opened_at if self._breaker is None else self._breaker._opened_at

    @opened_at.setter
    def opened_at(self, value: datetime) -> None:
        if self._breaker is None:
            self._opened_at = value
        else:
            self._breaker._opened_at = value


_STORES: Dict[Tuple[str, str], tripwire.RedisStore] = {}
_STORES_LOCK = threading.Lock()


def _redis_url(redis_object: Any) -> str:
    """The fleet store's URL for the server a ``redis.Redis`` object connects to (its
    pool's ``connection_kwargs``: host, port, db, username, password, or a socket path)."""
    pool = getattr(redis_object, "connection_pool", None)
    kwargs = getattr(pool, "connection_kwargs", None)
    connection_class = getattr(pool, "connection_class", None)
    if not isinstance(kwargs, dict):
        raise TypeError(
            "invalid argument `redis_object`: must be a redis.Redis (its connection_pool.connection_kwargs "
            f"names the server), not {type(redis_object).__name__}"
        )
    connection = getattr(connection_class, "__name__", "")
    if "SSL" in connection or kwargs.get("ssl"):
        raise ValueError("invalid argument `redis_object`: TLS connections are not supported by tripwire's store")
    if kwargs.get("credential_provider") is not None:
        raise ValueError("invalid argument `redis_object`: give username/password, not a credential_provider")
    quote = functools.partial(urllib.parse.quote, safe="")
    username, password, db = kwargs.get("username"), kwargs.get("password"), int(kwargs.get("db") or 0)
    path = kwargs.get("path")
    if path:
        query = {"db": str(db), **({"user": username} if username else {}), **({"pass": password} if password else {})}
        return f"unix://{urllib.parse.quote(path)}?{urllib.parse.urlencode(query)}"
    auth = ""
    if username or password:
        auth = f"{quote(username or '')}{':' + quote(password) if password else ''}@"
    host = str(kwargs.get("host") or "localhost")
    if ":" in host:  # IPv6
        host = f"[{host}]"
    return f"redis://{auth}{host}:{int(kwargs.get('port') or 6379)}/{db}"


# One RESP server per fakeredis FakeServer, started with its first storage and stopped
# (with its stores) when the last of its storages is gone: a test suite makes a
# FakeServer per test, each worth a few threads and sockets.
_FAKE_SERVERS: Dict[Any, Any] = {}
_FAKE_USERS: Dict[Any, int] = {}
# The longest a new breaker on a CircuitRedisStorage waits for the store's first reply.
_JOIN_WAIT = 1.0


@functools.lru_cache(maxsize=None)
def _fake_handler() -> Any:
    """fakeredis's TCP request handler, answering a command's error as a reply: its own
    drops the connection on any error reply (the store's first ``EVALSHA`` of a script
    is a ``NOSCRIPT`` error, which a Redis server answers on a connection that stays)."""
    import redis
    from fakeredis._clients._tcp_server import TCPFakeRequestHandler

    class Handler(TCPFakeRequestHandler):
        def setup(self) -> None:
            super().setup()
            read = self.current_client.read_response

            def read_response(*args: Any, **kwargs: Any) -> Any:
                try:
                    return read(*args, **kwargs)
                except redis.ResponseError as error:
                    return error

            self.current_client.read_response = read_response  # type: ignore[method-assign]

    return Handler


def _fake_server(redis_object: Any) -> Any:
    """A fakeredis object's ``FakeServer``, or None for a server-backed ``redis.Redis``."""
    pool = getattr(redis_object, "connection_pool", None)
    if all(
        getattr(c, "__module__", "").split(".")[0] != "fakeredis"
        for c in (type(redis_object), getattr(pool, "connection_class", None))
    ):
        return None
    import redis

    if not isinstance(redis_object, redis.Redis):
        raise TypeError(
            "invalid argument `redis_object`: must be a redis.Redis or a fakeredis.FakeRedis / FakeStrictRedis, "
            f"not {type(redis_object).__name__}"
        )
    pool = redis_object.connection_pool
    server = pool.connection_kwargs.get("server")
    if server is None:
        # fakeredis picks the FakeServer (by host and port) when it makes a connection.
        connection: Any = pool.get_connection()
        try:
            server = connection._server
        finally:
            pool.release(connection)
    return server


def _fake_release(server: Any) -> None:
    """A storage on ``server`` is gone (its breakers too, which hold it). In a thread of
    its own: a finalizer may run while this thread holds ``_STORES_LOCK``, and closing
    waits for a last flush, which a garbage collection should not."""
    threading.Thread(target=_fake_stop, args=(server,), name="tripwire-fakeredis-stop", daemon=True).start()


def _fake_stop(server: Any) -> None:
    """After its last storage: close ``server``'s stores, then stop serving it."""
    with _STORES_LOCK:
        _FAKE_USERS[server] -= 1
        if _FAKE_USERS[server]:
            return
        del _FAKE_USERS[server]
        tcp = _FAKE_SERVERS.pop(server)
        origin = f"redis://127.0.0.1:{tcp.server_address[1]}/"
        stores = [_STORES.pop(key) for key in [key for key in _STORES if key[0].startswith(origin)]]
    for store in stores:
        store.close()  # a last flush, to the server still up
    tcp.shutdown()
    tcp.server_close()


def _fakeredis_url(redis_object: Any, server: Any) -> str:
    """A fakeredis object's data lives in this process: tripwire's store reaches it
    through fakeredis's ``TcpFakeServer`` serving that object's ``FakeServer`` on a free
    loopback port (a daemon thread), so the test's object sees what the store writes."""
    from fakeredis import TcpFakeServer

    if importlib.util.find_spec("lupa") is None:  # fakeredis runs the store's Lua scripts with it
        raise ImportError(
            "CircuitRedisStorage on a fakeredis object needs fakeredis's Lua scripting (the fleet store runs "
            "Lua scripts): pip install 'fakeredis[lua]'"
        )
    pool = redis_object.connection_pool
    with _STORES_LOCK:
        tcp = _FAKE_SERVERS.get(server)
        if tcp is None:
            tcp = TcpFakeServer(("127.0.0.1", 0))
            tcp.fake_server = server
            tcp.RequestHandlerClass = _fake_handler()
            tcp.daemon_threads = True  # its connections must not hold the interpreter's exit
            threading.Thread(target=tcp.serve_forever, args=(0.05,), name="tripwire-fakeredis", daemon=True).start()
            _FAKE_SERVERS[server] = tcp
        _FAKE_USERS[server] = _FAKE_USERS.get(server, 0) + 1
    return f"redis://127.0.0.1:{tcp.server_address[1]}/{int(pool.connection_kwargs.get('db') or 0)}"


def _store_for(url: str, prefix: str, in_process: bool) -> tripwire.RedisStore:
    """One store per server and prefix, made on first use: every breaker on it shares
    its connection and threads. Each breaker applies its own `fail_max`,
    `reset_timeout` and `success_threshold` to the fleet's counts, as pybreaker's do
    (`check_rules=False`)."""
    # A fakeredis server is a thread of this interpreter: it answers only when the GIL
    # lets it run, which a busy caller (or a loaded machine) can delay well past the
    # store's default 0.1 s reply timeout; the store would then decide locally.
    patience = {"timeout": 1.0} if in_process else {}
    with _STORES_LOCK:
        store = _STORES.get((url, prefix))
        if store is None:
            store = _STORES[(url, prefix)] = tripwire.RedisStore(url, prefix=prefix, check_rules=False, **patience)
        return store


class CircuitRedisStorage(CircuitBreakerStorage):
    """A breaker state shared by every process through Redis: tripwire's fleet store
    (``tripwire.RedisStore``) on the server ``redis_object`` connects to.

    Breakers on storages with the same server and ``namespace`` (the store's key
    prefix, ``"tw"`` if None) share one state, exactly counted; joining resets nothing.
    ``state`` is the state the fleet starts in when the store holds none (as pybreaker's
    ``SETNX``): ``'open'`` for ``reset_timeout`` seconds since ``opened_at`` (set it
    before a breaker uses the storage; all of it if unset), or ``'half-open'``; a fleet
    that exists keeps its state. While the breaker does not have the fleet's state (the
    store unreachable, or before its first reply) ``current_state`` reports
    ``fallback_circuit_state`` and calls are decided by this process alone.
    ``cluster_mode`` is accepted: tripwire's keys are hash-tagged already.

    ``redis_object`` may be a fakeredis ``FakeRedis`` / ``FakeStrictRedis`` (as in
    pybreaker's own tests): its ``FakeServer`` is served on a free loopback port by
    fakeredis's ``TcpFakeServer`` (one per ``FakeServer``, for the life of the process),
    so the object sees the fleet's keys. It needs ``pip install 'fakeredis[lua]'``.
    """

    BASE_NAMESPACE = "pybreaker"

    __slots__ = ("_store", "_state", "_opened_at", "_fallback_circuit_state", "_breaker", "__weakref__")

    def __init__(
        self,
        state: str,
        redis_object: Any,
        namespace: Optional[str] = None,
        fallback_circuit_state: str = STATE_CLOSED,
        cluster_mode: bool = False,
    ) -> None:
        super().__init__("redis")
        for arg, value in (("state", state), ("fallback_circuit_state", fallback_circuit_state)):
            if value not in _ENGINE_STATES:
                raise ValueError(f"invalid argument `{arg}`: {value!r} is not one of {', '.join(map(repr, _ENGINE_STATES))}")
        if namespace is not None and (not isinstance(namespace, str) or not namespace):
            raise TypeError(f"invalid argument `namespace`: must be a non-empty str or None, not {namespace!r}")
        if not isinstance(cluster_mode, bool):
            raise TypeError(f"invalid argument `cluster_mode`: must be a bool, not {type(cluster_mode).__name__}")
        fake = _fake_server(redis_object)
        if fake is None:
            url = _redis_url(redis_object)
        else:
            url = _fakeredis_url(redis_object, fake)
            # Not at exit: the daemon threads just end there.
            weakref.finalize(self, _fake_release, fake).atexit = False
        self._store = _store_for(url, namespace or "tw", in_process=fake is not None)
        self._state = state
        self._opened_at: Optional[datetime] = None
        self._fallback_circuit_state = fallback_circuit_state
        self._breaker: Optional[CircuitBreaker] = None

    def _attach(self, breaker: CircuitBreaker) -> None:
        # Every breaker on it shows the same fleet state: the storage reads the latest.
        self._breaker = breaker

    def _await_join(self, breaker: CircuitBreaker) -> None:
        """pybreaker's breaker reads the shared state as it is made: wait for the store's
        first reply (at most ``_JOIN_WAIT`` seconds; an unreachable store ends it sooner
        by switching to local mode), so that what the breaker does next (``half_open()``,
        a call) acts on the fleet's state rather than on ``fallback_circuit_state``."""
        deadline = time.monotonic() + _JOIN_WAIT
        while time.monotonic() < deadline:
            stats = breaker.stats
            if stats.last_sync_age is not None or stats.mode != "shared":
                return
            time.sleep(0.001)

    @property
    def fallback_circuit_state(self) -> str:
        """What ``state`` reports while the fleet's state is not known."""
        return self._fallback_circuit_state

    @property
    def state(self) -> str:
        """The fleet's state, or ``fallback_circuit_state`` while it is not known
        (before a breaker uses the storage: the state to start in)."""
        return self._state if self._breaker is None else self._breaker.current_state

    @state.setter
    def state(self, state: str) -> None:
        if self._breaker is None:
            raise TypeError("CircuitRedisStorage.state: the state is the fleet's; set it through a breaker")
        self._breaker.state = state

    def _counters(self, what: str) -> None:
        raise TypeError(f"CircuitRedisStorage.{what}(): the counters are the fleet's, counted by its breakers")

    def increment_counter(self) -> None:
        """Refused (``TypeError``): the fleet's breakers count."""
        self._counters("increment_counter")

    def reset_counter(self) -> None:
        """Refused (``TypeError``): ``close()`` the breaker instead."""
        self._counters("reset_counter")

    def increment_success_counter(self) -> None:
        """Refused (``TypeError``): the fleet's breakers count."""
        self._counters("increment_success_counter")

    def reset_success_counter(self) -> None:
        """Refused (``TypeError``): ``close()`` the breaker instead."""
        self._counters("reset_success_counter")

    @property
    def counter(self) -> int:
        """The fleet's failure counter (a breaker's ``fail_counter``)."""
        return 0 if self._breaker is None else self._breaker.fail_counter

    @property
    def success_counter(self) -> int:
        """The fleet's success counter (a breaker's ``success_counter``)."""
        return 0 if self._breaker is None else self._breaker.success_counter

    @property
    def opened_at(self) -> Optional[datetime]:
        """When the circuit last opened, as this process saw it (UTC), or None."""
        return self._opened_at if self._breaker is None else self._breaker._opened_at

    @opened_at.setter
    def opened_at(self, value: datetime) -> None:
        if self._breaker is not None:
            raise TypeError("CircuitRedisStorage.opened_at: the fleet's open time is the store's; set it before a breaker uses the storage")
        self._opened_at = value


def _is_excluded(exclusions: List[Exclusion], exc: BaseException) -> bool:
    """pybreaker's rule: an exception of an excluded type (or a subclass), or one for
    which an excluded callable returns true, is not a system error."""
    for exclusion in exclusions:
        if isinstance(exclusion, type):
            if isinstance(exc, exclusion):
                return True
        elif callable(exclusion) and exclusion(exc):
            return True
    return False


def _open_remaining(opened_at: Optional[datetime], reset_timeout: float) -> float:
    """What remains of the open duration since ``opened_at`` (all of it if unknown)."""
    if opened_at is None:
        return float(reset_timeout)
    now = datetime.now(opened_at.tzinfo) if opened_at.tzinfo is not None else datetime.now()
    return max(0.0, float(reset_timeout) - (now - opened_at).total_seconds())


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"invalid option `{name}`: must be an int, not {type(value).__name__}")
    if value < 1:
        raise ValueError(f"invalid option `{name}`: must be at least 1, got {value}")
    return value


def _seconds(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"invalid option `{name}`: must be a number of seconds, not {type(value).__name__}")
    if not value >= 0:
        raise ValueError(f"invalid option `{name}`: must be ≥ 0 seconds, got {value}")
    return value


def _engine_options(
    fail_max: int, reset_timeout: float, success_threshold: int, exclusions: List[Exclusion]
) -> Dict[str, Any]:
    """The engine's options for pybreaker's: a count of consecutive failures, a timed
    open, excluded errors as successes, half-open callers waiting for the trial.
    The engine checks exception types (one ``isinstance``) and calls callables, as
    pybreaker does; another type matches no exception, and pybreaker skips the rest."""
    return {
        "failure_threshold": fail_max,
        "recovery_timeout": reset_timeout,
        "success_threshold": success_threshold,
        "exclude": [e for e in exclusions if (issubclass(e, BaseException) if isinstance(e, type) else callable(e))],
        "ignored_as_success": True,
        "half_open_wait": True,
    }


def _guard(permit: Permit, generator: Generator[Any, Any, T]) -> Generator[Any, Any, T]:
    """A generator function's call: its outcome is recorded when the generator ends."""
    try:
        result = yield from generator
    except BaseException as exc:
        permit.fail(exc)  # raises pybreaker's CircuitBreakerError instead when it trips
        raise
    permit.success()
    return result


class CircuitBreaker(tripwire.CircuitBreaker):
    """pybreaker's ``CircuitBreaker`` on tripwire's engine.

    ``fail_max`` consecutive failures open the circuit for ``reset_timeout`` seconds;
    then trial calls run, one at a time (others wait for it, as behind pybreaker's
    lock), and ``success_threshold`` successes close it. Exceptions matched by
    ``exclude`` (types or callables) count as successes and propagate.
    """

    _excluded_exceptions: List[Exclusion]
    _fail_max: int
    _reset_timeout: float
    _success_threshold: int
    _name: Optional[str]
    _throw_new_error_on_trip: bool
    _state_storage: CircuitBreakerStorage
    _fallback: Optional[str]
    _opened_at: Optional[datetime]
    _lock: threading.RLock
    _state: CircuitBreakerState
    # (thread, state) while that thread's failure listeners run: the state before the
    # failure's transition, the one pybreaker's listeners see.
    _failing_in: Optional[Tuple[int, str]]

    def __new__(
        cls,
        fail_max: int = 5,
        reset_timeout: float = 60,
        success_threshold: int = 1,
        exclude: Optional[Iterable[Exclusion]] = None,
        listeners: Optional[Sequence[CircuitBreakerListener]] = None,
        state_storage: Optional[CircuitBreakerStorage] = None,
        name: Optional[str] = None,
        throw_new_error_on_trip: bool = True,
    ) -> Self:
        storage = state_storage if state_storage is not None else CircuitMemoryStorage(STATE_CLOSED)
        start = storage.state
        if start not in _ENGINE_STATES:
            raise ValueError(f"Unknown state {start!r}, valid states: {', '.join(_ENGINE_STATES)}")
        excluded: List[Exclusion] = list(exclude or [])
        options = _engine_options(
            _positive_int("fail_max", fail_max),
            _seconds("reset_timeout", reset_timeout),
            _positive_int("success_threshold", success_threshold),
            excluded,
        )
        start_at: Dict[str, Any] = {"initial_state": _ENGINE_STATES[start].value}
        if start == STATE_OPEN:
            start_at["open_remaining"] = _open_remaining(storage.opened_at, reset_timeout)
        engine_name = name if name is not None else f"pybreaker-{next(_unnamed)}"
        fallback: Optional[str] = None
        if isinstance(storage, CircuitRedisStorage):
            # pybreaker shares a state by namespace, whatever the breakers' names: one
            # fleet breaker per store prefix.
            start_at["store"] = storage._store
            engine_name = CircuitRedisStorage.BASE_NAMESPACE
            fallback = storage._fallback_circuit_state
        self = cast("Self", super().__new__(cls, engine_name, **options, **start_at))
        self._pybreaker(CircuitBreakerError)
        self._excluded_exceptions = excluded
        self._fail_max = fail_max
        self._reset_timeout = reset_timeout
        self._success_threshold = success_threshold
        self._name = name
        self._throw_new_error_on_trip = throw_new_error_on_trip
        self._state_storage = storage
        self._fallback = fallback
        self._opened_at = storage.opened_at
        self._lock = threading.RLock()
        self._failing_in = None
        return self

    def __init__(
        self,
        fail_max: int = 5,
        reset_timeout: float = 60,
        success_threshold: int = 1,
        exclude: Optional[Iterable[Exclusion]] = None,
        listeners: Optional[Sequence[CircuitBreakerListener]] = None,
        state_storage: Optional[CircuitBreakerStorage] = None,
        name: Optional[str] = None,
        throw_new_error_on_trip: bool = True,
    ) -> None:
        super().__init__(_engine_name(self), listeners=listeners or ())
        storage = self._state_storage
        if storage.counter:
            # A start with failures already counted (pybreaker's storage counter): they
            # count towards fail_max, as the consecutive failures that trip.
            snapshot = self.snapshot()
            snapshot["failure_streak"] = snapshot["consecutive_failures"] = storage.counter
            self.restore(snapshot)
        if isinstance(storage, (CircuitMemoryStorage, CircuitRedisStorage)):
            storage._attach(self)
        if isinstance(storage, CircuitRedisStorage):
            storage._await_join(self)
        self._state = self._create_new_state(self.current_state)

    def __repr__(self) -> str:
        return f"<pybreaker CircuitBreaker {_engine_name(self)!r} {self.current_state}>"

    # -- state ------------------------------------------------------------------

    @property
    def current_state(self) -> str:
        """``'closed'``, ``'open'`` or ``'half-open'`` (half-open as soon as
        ``reset_timeout`` has passed). On a ``CircuitRedisStorage``, its
        ``fallback_circuit_state`` while the fleet's state is not known. In a
        listener's ``failure``, the state before the change that failure causes."""
        failing_in = self._failing_in
        if failing_in is not None and failing_in[0] == threading.get_ident():
            return failing_in[1]
        if self._fallback is not None:
            stats = self.stats  # the fleet's state is known once joined, while shared
            if stats.last_sync_age is None or stats.mode != "shared":
                return self._fallback
        return _NAMES[_engine_state(self)]

    def _create_new_state(
        self, new_state: str, prev_state: Optional[CircuitBreakerState] = None, notify: bool = False
    ) -> CircuitBreakerState:
        """The state object for ``new_state`` (pybreaker's; the engine tells the listeners)."""
        classes = _state_classes()
        if new_state not in classes:
            raise ValueError(f"Unknown state {new_state!r}, valid states: {', '.join(classes)}")
        return classes[new_state](self, prev_state=prev_state, notify=notify)

    @property  # type: ignore[override]
    def state(self) -> CircuitBreakerState:
        """The state as an object with a ``name`` (``current_state``)."""
        current = self.current_state
        if self._state.name != current:
            self._state = self._create_new_state(current, prev_state=self._state)
        return self._state

    @state.setter
    def state(self, state: str) -> None:
        """Moves to ``state`` as ``open()``, ``close()`` or ``half_open()`` do."""
        ops = {STATE_OPEN: self.open, STATE_CLOSED: self.close, STATE_HALF_OPEN: self.half_open}
        new = self._create_new_state(state, prev_state=self._state, notify=True)
        ops[state]()
        self._state = new

    @property
    def fail_counter(self) -> int:
        """Failures since the circuit last closed (a trip keeps them: ``fail_max``
        once open, one more after a failed trial). On a ``CircuitRedisStorage``, the
        fleet's."""
        return self.stats.failure_streak

    @property
    def success_counter(self) -> int:
        """Consecutive successes while half-open (0 otherwise)."""
        stats = self.stats
        return stats.consecutive_successes if stats.state is CircuitState.HALF_OPEN else 0

    def open(self) -> bool:  # type: ignore[override]
        """Opens the circuit for ``reset_timeout`` seconds (then trial calls run).
        Returns ``throw_new_error_on_trip``."""
        self.trip()
        self._opened_at = datetime.now(timezone.utc)
        return self._throw_new_error_on_trip

    def half_open(self) -> None:  # type: ignore[override]
        """Lets the next calls run as trials (on a ``CircuitRedisStorage``, the
        fleet's: one trial at a time across it)."""
        super().half_open()

    def close(self) -> None:  # type: ignore[override]
        """Closes the circuit (the counters start again)."""
        super().close()

    # -- options ----------------------------------------------------------------

    def _reconfigure_or(self, undo: Callable[[], object]) -> None:
        """The engine takes the options as they are now; if it refuses them, ``undo``.
        Under the lock: the last change's options are read after every change before it."""
        with self._lock:
            try:
                self._reconfigure(
                    **_engine_options(self._fail_max, self._reset_timeout, self._success_threshold, self._excluded_exceptions)
                )
            except BaseException:
                undo()
                raise

    @property
    def fail_max(self) -> int:
        """Consecutive failures that open the circuit; setting it reconfigures the breaker."""
        return self._fail_max

    @fail_max.setter
    def fail_max(self, number: int) -> None:
        old, self._fail_max = self._fail_max, _positive_int("fail_max", number)
        self._reconfigure_or(lambda: setattr(self, "_fail_max", old))

    @property
    def reset_timeout(self) -> float:
        """Seconds the circuit stays open before trial calls."""
        return self._reset_timeout

    @reset_timeout.setter
    def reset_timeout(self, timeout: float) -> None:
        old, self._reset_timeout = self._reset_timeout, _seconds("reset_timeout", timeout)
        self._reconfigure_or(lambda: setattr(self, "_reset_timeout", old))

    @property
    def success_threshold(self) -> int:
        """Trial successes that close the circuit."""
        return self._success_threshold

    @success_threshold.setter
    def success_threshold(self, threshold: int) -> None:
        old, self._success_threshold = self._success_threshold, _positive_int("success_threshold", threshold)
        self._reconfigure_or(lambda: setattr(self, "_success_threshold", old))

    @property  # type: ignore[override]
    def name(self) -> Optional[str]:
        """The name given (None if none; the registry knows it as ``pybreaker-N``)."""
        return self._name

    @name.setter
    def name(self, name: str) -> None:
        self._name = name

    @property
    def excluded_exceptions(self) -> Tuple[Exclusion, ...]:
        """The exception types and callables whose errors are not system errors."""
        return tuple(self._excluded_exceptions)

    def add_excluded_exception(self, exception: Exclusion) -> None:
        """Excludes an exception type (or a callable) from now on."""
        with self._lock:
            self._excluded_exceptions.append(exception)
            self._reconfigure_or(self._excluded_exceptions.pop)

    def add_excluded_exceptions(self, *exceptions: Exclusion) -> None:
        """Excludes several."""
        for exc in exceptions:
            self.add_excluded_exception(exc)

    def remove_excluded_exception(self, exception: Exclusion) -> None:
        """Stops excluding one."""
        with self._lock:
            at = self._excluded_exceptions.index(exception)
            del self._excluded_exceptions[at]
            self._reconfigure_or(lambda: self._excluded_exceptions.insert(at, exception))

    def is_system_error(self, exception: BaseException) -> bool:
        """Whether ``exception`` counts as a failure (it is not excluded)."""
        return not _is_excluded(self._excluded_exceptions, exception)

    # -- listeners --------------------------------------------------------------

    def add_listeners(self, *listeners: CircuitBreakerListener) -> None:
        """Adds several listeners."""
        for listener in listeners:
            self.add_listener(listener)

    def _notify_state_change(self, old: CircuitState, new: CircuitState) -> None:
        classes = _state_classes()
        old_state, new_state = classes[_NAMES[old]](self), classes[_NAMES[new]](self)
        with self._lock:
            for listener in self._listeners:
                hook = getattr(listener, "state_change", None)
                if hook is not None:
                    tripwire._notify("state_change", hook, self, old_state, new_state)

    def _hook_state_change(self, old: CircuitState, new: CircuitState, cause: str = "", outcome: Optional[str] = None) -> None:
        if new is CircuitState.OPEN:
            self._opened_at = datetime.now(timezone.utc)
        super()._hook_state_change(old, new, cause, outcome)

    # pybreaker calls its listeners under the breaker's lock: one at a time.
    def _hook_before_call(self, func: Callable[..., Any], args: Tuple[Any, ...], kwargs: Dict[str, Any]) -> None:
        with self._lock:
            super()._hook_before_call(func, args, kwargs)

    def _hook_success(self) -> None:
        with self._lock:
            super()._hook_success()

    def _hook_failure(self, exc: BaseException, before: Optional[CircuitState] = None) -> None:
        # `before`: the state the failure moved from, when it made a transition.
        with self._lock:
            if before is None:
                super()._hook_failure(exc)
                return
            previous, self._failing_in = self._failing_in, (threading.get_ident(), _NAMES[before])
            try:
                super()._hook_failure(exc)
            finally:
                self._failing_in = previous

    def _hook_tripped(self, error: BaseException, old: CircuitState) -> Optional[CircuitBreakerError]:
        """The engine's question when a failure opens the circuit: what to raise instead."""
        if not self._throw_new_error_on_trip:
            return None
        message = _TRIAL_FAILED if old is CircuitState.HALF_OPEN else _TRIPPED
        instead = CircuitBreakerError._raised_by(message, _engine_name(self), float(self._reset_timeout))
        instead.__cause__ = error
        return instead.with_traceback(error.__traceback__)

    def _hook_generator(self, permit: Permit, generator: Generator[Any, Any, Any]) -> Generator[Any, Any, Any]:
        """The engine's call returned a generator: guard it until it ends."""
        return _guard(permit, generator)

    # -- calling ----------------------------------------------------------------

    def __call__(self, *call_args: Any, **call_kwargs: Any) -> Any:
        """``@breaker`` (sync, generator or ``async def`` functions), or
        ``@breaker(__pybreaker_call_async=True)`` for Tornado coroutines."""
        call_async = call_kwargs.pop("__pybreaker_call_async", False)
        if call_async and not HAS_TORNADO_SUPPORT:
            raise ImportError("No module named tornado")

        def outer(func: Callable[..., Any]) -> Callable[..., Any]:
            if not call_async:
                return tripwire.CircuitBreaker.__call__(self, func)

            @functools.wraps(func)
            def inner(*args: Any, **kwargs: Any) -> Any:
                return self.call_async(func, *args, **kwargs)

            return inner

        if call_args:
            return outer(*call_args)
        return outer

    async def acall(self, func: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        """Awaits ``func(*args, **kwargs)`` through the breaker (the native asyncio call
        of pybreaker's later releases); generator functions are refused."""
        if inspect.isasyncgenfunction(func):
            raise TypeError("acall does not support async generators: iterate them yourself")
        if inspect.isgeneratorfunction(func):
            raise TypeError("acall does not support generator functions: use call()")
        return await self.call_async(func, *args, **kwargs)

    @contextlib.contextmanager
    def calling(self) -> Iterator[None]:
        """A context manager: the ``with`` block runs as one call through the breaker."""

        def block() -> Generator[None, None, None]:
            yield

        yield from self.call(block)
