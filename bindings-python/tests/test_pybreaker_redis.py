"""``tripwire.pybreaker.CircuitRedisStorage``: pybreaker's Redis storage over tripwire's
fleet store, against a real redis-server (test_fleet.py's, on a free loopback port,
stopped by pid) and real processes. The ``redis`` package is redis-py, as pybreaker's
users pass it."""

from __future__ import annotations

import contextlib
import gc
import os
import shutil
import signal
import subprocess
import sys
import threading
import traceback
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any, List

import fakeredis
import pytest
import redis as redis_py
from test_fleet import Redis, child, eventually, expect, tell, redis  # noqa: F401 (the fixture)

import tripwire
import tripwire.pybreaker as pybreaker

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server missing (scripts/setup-redis.sh)")


@pytest.fixture
def namespace() -> str:
    return f"pyb-{uuid.uuid4().hex[:8]}"


def connection(server: Redis) -> redis_py.Redis:
    return redis_py.Redis(host="127.0.0.1", port=server.port, db=0)


def shared(b: pybreaker.CircuitBreaker) -> None:
    eventually(lambda: b.stats.last_sync_age is not None and b.stats.mode == "shared", "the join's reply")


def fail(b: pybreaker.CircuitBreaker) -> None:
    with pytest.raises((ZeroDivisionError, pybreaker.CircuitBreakerError)):
        b.call(lambda: 1 / 0)


# Another process's breaker on the same server and namespace; it reports its
# fail_counter once joined, then fails once when told to.
OTHER = """
import os, sys, time, redis
import tripwire.pybreaker as pybreaker
storage = pybreaker.CircuitRedisStorage(
    pybreaker.STATE_CLOSED, redis.Redis(port=int(os.environ["PORT"])), namespace=os.environ["NS"])
b = pybreaker.CircuitBreaker(fail_max=2, reset_timeout=60, state_storage=storage, name="other")
while b.stats.last_sync_age is None:
    time.sleep(0.01)
print("joined", b.fail_counter, b.current_state, flush=True)
if sys.stdin.readline().strip() == "when open":
    while b.current_state != "open":
        time.sleep(0.005)
try:
    b.call(lambda: 1 / 0)
except ZeroDivisionError:
    print("failed", b.current_state, flush=True)
except pybreaker.CircuitBreakerError as e:
    # Refused before the call ran, or the failure tripped it (then the cause is ours).
    print("tripped" if isinstance(e.__cause__, ZeroDivisionError) else "refused", b.current_state, flush=True)
sys.stdin.readline()
"""


def test_a_trip_in_one_process_is_a_refusal_in_another(redis: Redis, namespace: str) -> None:
    storage = pybreaker.CircuitRedisStorage(pybreaker.STATE_CLOSED, connection(redis), namespace=namespace)
    b = pybreaker.CircuitBreaker(fail_max=2, reset_timeout=60, state_storage=storage)
    shared(b)
    other = child(OTHER, PORT=str(redis.port), NS=namespace)
    try:
        assert expect(other, "joined") == "joined 0 closed"
        fail(b)
        fail(b)
        assert b.current_state == "open" and storage.state == "open"
        tell(other, "when open")
        # The other process's call is refused before it runs: the fleet is open.
        assert expect(other, "refused") == "refused open"
    finally:
        other.kill()
        other.wait()


REFUSED = """
import os, time, redis
import tripwire.pybreaker as pybreaker
storage = pybreaker.CircuitRedisStorage("closed", redis.Redis(port=int(os.environ["PORT"])), namespace=os.environ["NS"])
b = pybreaker.CircuitBreaker(fail_max=2, state_storage=storage)
while b.stats.last_sync_age is None:
    time.sleep(0.01)
try:
    b.call(lambda: "ran")
    print("admitted", b.current_state)
except pybreaker.CircuitBreakerError as e:
    print("refused", b.current_state, str(e))
"""


def test_a_joining_process_is_refused_by_an_open_fleet(redis: Redis, namespace: str) -> None:
    b = pybreaker.CircuitBreaker(
        fail_max=2, state_storage=pybreaker.CircuitRedisStorage("closed", connection(redis), namespace=namespace)
    )
    shared(b)
    fail(b)
    fail(b)
    assert b.current_state == "open"
    other = child(REFUSED, PORT=str(redis.port), NS=namespace)
    assert expect(other, "refused") == "refused open Timeout not elapsed yet, circuit breaker still open"
    assert other.wait() == 0


def test_joining_keeps_the_fleets_counts(redis: Redis, namespace: str) -> None:
    storage = pybreaker.CircuitRedisStorage("closed", connection(redis), namespace=namespace)
    b = pybreaker.CircuitBreaker(fail_max=2, reset_timeout=60, state_storage=storage)
    shared(b)
    fail(b)
    assert b.fail_counter == 1 and b.current_state == "closed"
    eventually(lambda: b.stats.fleet_failure_count == 1, "the failure flushed")
    other = child(OTHER, PORT=str(redis.port), NS=namespace)
    try:
        # The newcomer sees the fleet's failure (no reset on join), and its own one
        # failure is the fleet's second: it trips for everyone.
        assert expect(other, "joined") == "joined 1 closed"
        tell(other, "go")
        assert expect(other, "tripped") == "tripped open"
        eventually(lambda: b.current_state == "open", "the trip reaches this process")
        # Once open, fail_counter is the fleet's failures since the last close: fail_max.
        eventually(lambda: b.fail_counter == 2, "the fleet's failure streak")
        assert storage.counter == 2
    finally:
        other.kill()
        other.wait()


def test_breakers_in_one_process_share_one_store(redis: Redis, namespace: str) -> None:
    a = pybreaker.CircuitRedisStorage("closed", connection(redis), namespace=namespace)
    b = pybreaker.CircuitRedisStorage("closed", redis_py.Redis(host="127.0.0.1", port=redis.port), namespace=namespace)
    c = pybreaker.CircuitRedisStorage("closed", connection(redis), namespace=namespace + "-other")
    assert a._store is b._store and a._store is not c._store
    assert a._store.prefix == namespace
    default = pybreaker.CircuitRedisStorage("closed", connection(redis))
    assert default._store.prefix == "tw" and default.name == "redis"


def test_fallback_circuit_state_while_the_store_is_unreachable(namespace: str) -> None:
    server = Redis()
    try:
        storage = pybreaker.CircuitRedisStorage(
            "closed", connection(server), namespace=namespace, fallback_circuit_state="open"
        )
        b = pybreaker.CircuitBreaker(fail_max=5, state_storage=storage)
        shared(b)
        assert b.current_state == "closed" and storage.state == "closed"
        server.signal(signal.SIGSTOP)
        # Deciding alone meanwhile: the call still runs (as pybreaker's does while its
        # Redis is down), and the state reported is the fallback.
        eventually(lambda: b.current_state == "open", "the store down")
        assert storage.state == "open" and b.state.name == "open"
        server.signal(signal.SIGCONT)
        eventually(lambda: b.current_state == "closed", "the store back")
    finally:
        server.signal(signal.SIGCONT)
        server.kill()
        shutil.rmtree(server.dir, ignore_errors=True)


OPENED = """
import os, time, redis
import tripwire.pybreaker as pybreaker
storage = pybreaker.CircuitRedisStorage("closed", redis.Redis(port=int(os.environ["PORT"])), namespace=os.environ["NS"])
b = pybreaker.CircuitBreaker(fail_max=5, reset_timeout=0.2, state_storage=storage)
while b.stats.last_sync_age is None:
    time.sleep(0.01)
print("joined", b.current_state, flush=True)
while b.current_state != "open":
    time.sleep(0.005)
print("saw", b.current_state, flush=True)
while b.current_state != "half-open":
    time.sleep(0.005)
print("saw", b.current_state, b.call(lambda: "trial"), flush=True)
"""


def test_open_is_timed_for_the_fleet(redis: Redis, namespace: str) -> None:
    storage = pybreaker.CircuitRedisStorage("closed", connection(redis), namespace=namespace)
    b = pybreaker.CircuitBreaker(fail_max=5, reset_timeout=0.2, state_storage=storage)
    shared(b)
    other = child(OPENED, PORT=str(redis.port), NS=namespace)
    assert expect(other, "joined") == "joined closed"
    assert b.open() is True and b.current_state == "open"
    # Another process sees the open, then the half-open after reset_timeout; its
    # trial closes the circuit for the fleet.
    assert expect(other, "saw") == "saw open"
    assert expect(other, "saw") == "saw half-open trial"
    assert other.wait() == 0
    eventually(lambda: b.current_state == "closed", "the trial's close reaches this process")
    b.state = "open"  # as open()
    assert b.current_state == "open"
    b.close()
    assert b.current_state == "closed" and b.fail_counter == 0


def test_storage_counters_are_the_fleets(redis: Redis, namespace: str) -> None:
    storage = pybreaker.CircuitRedisStorage("closed", connection(redis), namespace=namespace)
    with pytest.raises(TypeError, match="set it through a breaker"):
        storage.state = "open"
    for op in (storage.increment_counter, storage.reset_counter, storage.increment_success_counter, storage.reset_success_counter):
        with pytest.raises(TypeError, match="the counters are the fleet's"):
            op()


def test_bad_arguments_are_named(redis: Redis) -> None:
    good = connection(redis)
    with pytest.raises(TypeError, match="`redis_object`: must be a redis.Redis"):
        pybreaker.CircuitRedisStorage("closed", object())
    with pytest.raises(ValueError, match="`redis_object`: TLS"):
        pybreaker.CircuitRedisStorage("closed", redis_py.Redis(port=redis.port, ssl=True))
    with pytest.raises(ValueError, match="`state`: 'shut' is not one of"):
        pybreaker.CircuitRedisStorage("shut", good)
    with pytest.raises(TypeError, match="`redis_object`: must be a redis.Redis or a fakeredis.FakeRedis"):
        pybreaker.CircuitRedisStorage("closed", fakeredis.FakeAsyncRedis())
    with pytest.raises(ValueError, match="`fallback_circuit_state`"):
        pybreaker.CircuitRedisStorage("closed", good, fallback_circuit_state="broken")
    with pytest.raises(TypeError, match="`namespace`"):
        pybreaker.CircuitRedisStorage("closed", good, namespace=5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="`cluster_mode`"):
        pybreaker.CircuitRedisStorage("closed", good, cluster_mode="yes")  # type: ignore[arg-type]
    assert pybreaker.CircuitRedisStorage("closed", good, cluster_mode=True).name == "redis"


def test_a_password_and_a_unix_socket_are_read_from_the_connection(namespace: str) -> None:
    # A server of its own that asks for a password and also listens on a Unix socket.
    server = Redis()
    sock = f"{server.dir}/redis.sock"
    try:
        server.kill()  # started again with a password and a socket
        proc = subprocess.Popen(
            ["redis-server", "--port", str(server.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", server.dir, "--unixsocket", sock, "--requirepass", "p@ss:word/1"],
            stdout=subprocess.DEVNULL,
        )
        server.pid, server._proc = proc.pid, proc
        eventually(lambda: os.path.exists(sock), "the socket")
        for conn in (
            redis_py.Redis(host="127.0.0.1", port=server.port, password="p@ss:word/1", db=2),
            redis_py.Redis(unix_socket_path=sock, password="p@ss:word/1", db=3),
        ):
            eventually(lambda: bool(conn.ping()), "the server answers")
            b = pybreaker.CircuitBreaker(state_storage=pybreaker.CircuitRedisStorage("closed", conn, namespace=namespace))
            shared(b)
            # The fleet's keys are in the connection's db.
            assert conn.exists(f"{{{namespace}:pybreaker}}") == 1
    finally:
        server.kill()
        shutil.rmtree(server.dir, ignore_errors=True)


HALF_OPENED = """
import os, time, redis
import tripwire.pybreaker as pybreaker
storage = pybreaker.CircuitRedisStorage("closed", redis.Redis(port=int(os.environ["PORT"])), namespace=os.environ["NS"])
b = pybreaker.CircuitBreaker(fail_max=2, reset_timeout=60, state_storage=storage)
while b.stats.last_sync_age is None:
    time.sleep(0.01)
print("joined", b.current_state, b.fail_counter, flush=True)
while b.current_state != "half-open":
    time.sleep(0.005)
try:
    b.call(lambda: 1 / 0)
except pybreaker.CircuitBreakerError as e:
    print("trial failed", b.current_state, b.fail_counter, flush=True)
"""


def test_half_open_and_fail_counter_are_the_fleets(redis: Redis, namespace: str) -> None:
    storage = pybreaker.CircuitRedisStorage("closed", connection(redis), namespace=namespace)
    b = pybreaker.CircuitBreaker(fail_max=2, reset_timeout=60, state_storage=storage)
    shared(b)
    fail(b)
    fail(b)
    assert (b.current_state, b.fail_counter) == ("open", 2)
    other = child(HALF_OPENED, PORT=str(redis.port), NS=namespace)
    # The newcomer reads the fleet's failures since the last close (fail_max once open).
    assert expect(other, "joined") == "joined open 2"
    # half_open() half-opens the fleet (well before reset_timeout); the other process's
    # trial fails and reopens it: fail_max + 1, in both.
    b.half_open()
    assert b.current_state == "half-open"
    assert expect(other, "trial failed") == "trial failed open 3"
    assert other.wait() == 0
    eventually(lambda: (b.current_state, b.fail_counter) == ("open", 3), "the failed trial")
    b.close()
    assert (b.current_state, b.fail_counter) == ("closed", 0)


STARTED = """
import os, time, redis
import tripwire.pybreaker as pybreaker
storage = pybreaker.CircuitRedisStorage(os.environ["START"], redis.Redis(port=int(os.environ["PORT"])), namespace=os.environ["NS"])
b = pybreaker.CircuitBreaker(fail_max=2, reset_timeout=60, state_storage=storage)
while b.stats.last_sync_age is None:
    time.sleep(0.01)
print("joined", b.current_state, flush=True)
"""


def test_a_start_state_is_the_fleets_when_it_has_none(redis: Redis, namespace: str) -> None:
    # pybreaker's SETNX: the first storage's state makes the fleet's, open for what
    # remains of reset_timeout since opened_at; later ones adopt it as it is.
    storage = pybreaker.CircuitRedisStorage("open", connection(redis), namespace=namespace, fallback_circuit_state="closed")
    opened_at = datetime.now(timezone.utc) - timedelta(seconds=50)
    storage.opened_at = opened_at
    assert (storage.state, storage.opened_at) == ("open", opened_at)
    b = pybreaker.CircuitBreaker(fail_max=2, reset_timeout=60, state_storage=storage)
    shared(b)
    assert b.current_state == "open" and storage.state == "open"
    with pytest.raises(pybreaker.CircuitBreakerError) as refused:
        b.call(lambda: "ran")
    assert refused.value.retry_after is not None and 0 < refused.value.retry_after <= 10  # what remained of 60 s
    with pytest.raises(TypeError, match="opened_at: the fleet's open time is the store's"):
        storage.opened_at = opened_at
    other = child(STARTED, PORT=str(redis.port), NS=namespace, START="half-open")
    assert expect(other, "joined") == "joined open"
    assert other.wait() == 0
    b.close()
    other = child(STARTED, PORT=str(redis.port), NS=namespace, START="open")
    assert expect(other, "joined") == "joined closed"
    assert other.wait() == 0
    # A namespace with no state yet, made half-open: the next call is the trial.
    half = pybreaker.CircuitRedisStorage("half-open", connection(redis), namespace=namespace + "-half")
    h = pybreaker.CircuitBreaker(fail_max=2, reset_timeout=60, state_storage=half)
    shared(h)
    assert h.current_state == "half-open"
    assert h.call(lambda: "trial") == "trial" and h.current_state == "closed"


# pybreaker's own storage-based tests (CircuitBreakerStorageBasedTestCase, which its
# CircuitBreakerRedisTestCase runs on a fakeredis object) as behaviours of a breaker on
# a server-backed CircuitRedisStorage: each scenario gets a fresh namespace (a fleet).
def _err() -> None:
    raise NotImplementedError


def _tripped_at(b: pybreaker.CircuitBreaker, fail_max: int) -> None:
    for _ in range(fail_max - 1):
        with pytest.raises(NotImplementedError):
            b.call(_err)
    with pytest.raises(pybreaker.CircuitBreakerError):
        b.call(_err)
    assert (b.fail_counter, b.current_state) == (fail_max, "open")


def test_pybreakers_storage_behaviours_on_a_fleet(redis: Redis) -> None:
    def breaker(**kwargs: Any) -> pybreaker.CircuitBreaker:
        storage = pybreaker.CircuitRedisStorage("closed", connection(redis), namespace=f"pyb-{uuid.uuid4().hex[:8]}")
        b = pybreaker.CircuitBreaker(state_storage=storage, **kwargs)
        shared(b)
        return b

    # test_successful_call, test_one_failed_call, test_one_successful_call_after_failed_call
    b = breaker()
    assert b.call(lambda: True) and (b.fail_counter, b.current_state) == (0, "closed")
    with pytest.raises(NotImplementedError):
        b.call(_err)
    assert (b.fail_counter, b.current_state) == (1, "closed")
    assert b.call(lambda: True) and (b.fail_counter, b.current_state) == (0, "closed")
    # test_several_failed_calls_setting_absent, test_throw_new_error_on_trip_true,
    # test_traceback_in_circuitbreaker_error, test_close
    b = breaker(fail_max=3)
    for _ in range(2):
        with pytest.raises(NotImplementedError):
            b.call(_err)
    with pytest.raises(pybreaker.CircuitBreakerError):
        try:
            b.call(_err)
        except pybreaker.CircuitBreakerError:
            assert "NotImplementedError" in traceback.format_exc()
            raise
    assert (b.fail_counter, b.current_state) == (3, "open")
    with pytest.raises(pybreaker.CircuitBreakerError):
        b.call(_err)
    assert b.fail_counter == 3
    b.close()
    assert (b.fail_counter, b.current_state) == (0, "closed")
    # test_throw_new_error_on_trip_false
    b = breaker(fail_max=3, throw_new_error_on_trip=False)
    for _ in range(3):
        with pytest.raises(NotImplementedError):
            b.call(_err)
    assert (b.fail_counter, b.current_state) == (3, "open")
    # test_failed_call_after_timeout, test_successful_after_timeout
    b = breaker(fail_max=3, reset_timeout=0.3)
    _tripped_at(b, 3)
    eventually(lambda: b.current_state == "half-open", "reset_timeout")
    with pytest.raises(pybreaker.CircuitBreakerError):
        b.call(_err)
    assert (b.fail_counter, b.current_state) == (4, "open")
    eventually(lambda: b.current_state == "half-open", "reset_timeout")
    calls = []
    assert b.call(lambda: calls.append(1) or True)
    assert (b.fail_counter, b.current_state, len(calls)) == (0, "closed", 1)
    # test_failed_call_when_halfopen, test_successful_call_when_halfopen
    for outcome, after in ((_err, ("open", 1)), (lambda: True, ("closed", 0))):
        b = breaker()
        b.half_open()
        assert (b.fail_counter, b.current_state) == (0, "half-open")
        try:
            b.call(outcome)
        except pybreaker.CircuitBreakerError:
            pass
        assert (b.current_state, b.fail_counter) == after
    # test_transition_events
    seen: List[str] = []

    class Listener(pybreaker.CircuitBreakerListener):
        def state_change(self, cb: Any, old: Any, new: Any) -> None:
            seen.append(f"{old.name}->{new.name}")

    b = breaker(listeners=(Listener(),))
    b.open()
    b.half_open()
    b.close()
    assert seen == ["closed->open", "open->half-open", "half-open->closed"]
    # test_call_events
    out: List[str] = []

    class Calls(pybreaker.CircuitBreakerListener):
        def before_call(self, cb: Any, func: Any, *args: Any, **kwargs: Any) -> None:
            out.append("-")

        def success(self, cb: Any) -> None:
            out.append("success")

        def failure(self, cb: Any, exc: BaseException) -> None:
            out.append("failure")

    b = breaker(listeners=(Calls(),))
    assert b.call(lambda: True)
    with pytest.raises(NotImplementedError):
        b.call(_err)
    assert "".join(out) == "-success-failure"
    # test_contextmanager
    b = breaker()

    @contextlib.contextmanager
    @b
    def wrapper() -> Any:
        try:
            yield
        except NotImplementedError:
            raise ValueError

    with pytest.raises(ValueError):
        with wrapper():
            raise NotImplementedError
    # test_generator
    b = breaker()

    @b
    def gen(value: Any) -> Any:
        x = yield value
        raise NotImplementedError(x)

    g = gen(True)
    next(g)
    with pytest.raises(NotImplementedError):
        g.send(True)
    assert b.fail_counter == 1


# A fakeredis object, as pybreaker's own tests and its users' tests pass it: its data
# lives in this process, served to the fleet store by fakeredis's TcpFakeServer.
def test_a_fakeredis_object_holds_the_fleet(namespace: str) -> None:
    fake = fakeredis.FakeStrictRedis()
    a = pybreaker.CircuitBreaker(fail_max=2, state_storage=pybreaker.CircuitRedisStorage("closed", fake, namespace=namespace))
    b = pybreaker.CircuitBreaker(fail_max=2, state_storage=pybreaker.CircuitRedisStorage("closed", fake, namespace=namespace))
    shared(a)
    shared(b)
    # The store's keys and its subscription are in the object's own FakeServer.
    assert fake.exists(f"{{{namespace}:pybreaker}}") == 1
    # (The subscription is the store's second connection: it may follow the join.)
    channel = f"{{{namespace}:pybreaker}}:events".encode()
    eventually(lambda: channel in fake.pubsub_channels(), "the store's subscription")
    fail(a)
    fail(a)
    assert a.current_state == "open"
    # A trip in one breaker is a refusal in the other.
    eventually(lambda: b.current_state == "open", "the trip reaches the other breaker")
    assert b.fail_counter == 2
    with pytest.raises(pybreaker.CircuitBreakerError):
        b.call(lambda: "ran")
    b.close()
    eventually(lambda: a.current_state == "closed", "the close reaches the first breaker")


def test_each_fake_server_is_its_own_redis(namespace: str) -> None:
    # Objects on one FakeServer share the fleet; another FakeServer (each plain
    # FakeStrictRedis() has its own) is another Redis. The object's db is the store's.
    server = fakeredis.FakeServer()
    one, two = fakeredis.FakeStrictRedis(server=server, db=3), fakeredis.FakeStrictRedis(server=server, db=3)
    apart = fakeredis.FakeStrictRedis(db=3)
    breakers = [
        pybreaker.CircuitBreaker(fail_max=1, state_storage=pybreaker.CircuitRedisStorage("closed", r, namespace=namespace))
        for r in (one, two, apart)
    ]
    for b in breakers:
        shared(b)
    fail(breakers[0])
    eventually(lambda: breakers[1].current_state == "open", "the trip on the shared FakeServer")
    assert breakers[2].current_state == "closed" and breakers[2].call(lambda: "ran") == "ran"
    assert two.exists(f"{{{namespace}:pybreaker}}") == 1
    assert fakeredis.FakeStrictRedis(server=server, db=0).exists(f"{{{namespace}:pybreaker}}") == 0


def test_a_fakeredis_object_without_lua_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "lupa", None)  # as if lupa were not installed
    with pytest.raises(ImportError, match=r"needs fakeredis's Lua scripting .*pip install 'fakeredis\[lua\]'"):
        pybreaker.CircuitRedisStorage("closed", fakeredis.FakeStrictRedis())


def test_a_new_breaker_has_the_fleets_state_when_made(namespace: str) -> None:
    # As pybreaker's breaker reads Redis as it is made: the store's first reply is in
    # before the constructor returns (no fallback_circuit_state while the store is up),
    # so a half_open() right after construction is the fleet's, not undone by the join.
    fake = fakeredis.FakeStrictRedis()
    storage = pybreaker.CircuitRedisStorage("closed", fake, namespace=namespace, fallback_circuit_state="open")
    b = pybreaker.CircuitBreaker(fail_max=1, state_storage=storage)
    assert b.stats.last_sync_age is not None and b.stats.mode == "shared"
    assert b.current_state == "closed"
    b.half_open()
    assert b.current_state == "half-open"
    assert b.call(lambda: "trial") == "trial" and b.current_state == "closed"


def test_a_fake_servers_port_closes_with_its_last_storage(namespace: str) -> None:
    # A test suite makes a FakeServer per test: each one's server thread, connections
    # and store go once no storage (and so no breaker) on it is left.
    def serving() -> int:
        return sum(t.name == "tripwire-fakeredis" for t in threading.enumerate())

    tripwire.registry.remove("pybreaker")  # holds the last pybreaker breaker made
    gc.collect()
    eventually(lambda: serving() == 0, "earlier tests' fake servers stopped")
    fake = fakeredis.FakeStrictRedis()
    breakers = [
        pybreaker.CircuitBreaker(state_storage=pybreaker.CircuitRedisStorage("closed", fake, namespace=namespace))
        for _ in range(2)
    ]
    others = [pybreaker.CircuitBreaker(state_storage=pybreaker.CircuitRedisStorage("closed", fakeredis.FakeStrictRedis()))]
    assert serving() == 2
    del others
    tripwire.registry.remove("pybreaker")
    gc.collect()
    eventually(lambda: serving() == 1, "the other FakeServer's port closed")
    # One storage on a FakeServer keeps it served.
    del breakers[0]
    gc.collect()
    assert all(b.call(lambda: "ran") == "ran" for b in breakers) and serving() == 1
    assert breakers[0].stats.mode == "shared"
    del breakers
    gc.collect()
    eventually(lambda: serving() == 0, "the last FakeServer's port closed")
