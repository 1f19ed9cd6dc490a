"""Fleet-wide breakers through a real redis-server (issue 13), with real processes.

The server is started on a free loopback port with no persistence and stopped by pid
(``scripts/setup-redis.sh`` installs it). Other processes are ``python -c`` children
that share a breaker with the test's process; they report on stdout, one line each.
"""

from __future__ import annotations

import asyncio
import os
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from typing import Any, Callable, Iterator, List

import pytest

import tripwire
from tripwire import CircuitBreaker, CircuitBreakerOpenError, CircuitState, RedisStore

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server missing (scripts/setup-redis.sh)")

# Deadlines for what happens in the background: generous, they only stop a broken test.
PATIENCE = 20.0


def eventually(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + PATIENCE
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        time.sleep(0.01)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Redis:
    """A redis-server of the test's own, stopped by pid."""

    def __init__(self) -> None:
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="tw-redis-")
        self.pid = 0
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        pidfile = os.path.join(self.dir, "redis.pid")
        proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", self.dir],
            stdout=subprocess.DEVNULL,
        )
        self.pid = proc.pid
        self._proc = proc
        del pidfile

        def answers() -> bool:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    s.sendall(b"PING\r\n")
                    return s.recv(16).startswith(b"+PONG")
            except OSError:
                return False

        eventually(answers, "redis-server answers")

    def kill(self) -> None:
        os.kill(self.pid, signal.SIGKILL)
        self._proc.wait()

    def signal(self, sig: int) -> None:
        os.kill(self.pid, sig)


@pytest.fixture(scope="module")
def redis() -> Iterator[Redis]:
    server = Redis()
    try:
        yield server
    finally:
        try:
            server.signal(signal.SIGCONT)
            server.kill()
        except ProcessLookupError:
            pass
        shutil.rmtree(server.dir, ignore_errors=True)


@pytest.fixture
def name() -> str:
    return f"fleet-{uuid.uuid4().hex[:8]}"


def child(code: str, **env: str) -> subprocess.Popen[str]:
    """A Python process running ``code`` (dedented), line-buffered stdout/stdin pipes."""
    return subprocess.Popen(
        [sys.executable, "-u", "-c", textwrap.dedent(code)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, **env},
    )


def expect(proc: subprocess.Popen[str], line: str) -> str:
    assert proc.stdout is not None
    got = proc.stdout.readline().strip()
    assert got.startswith(line), f"expected {line!r}, got {got!r}"
    return got


def tell(proc: subprocess.Popen[str], line: str) -> None:
    assert proc.stdin is not None
    proc.stdin.write(line + "\n")
    proc.stdin.flush()


# The children's common start: a breaker `b` in the fleet, joined.
JOIN = """
import os, sys, time, tripwire
from tripwire import CircuitBreaker, RedisStore
store = RedisStore(sys.argv[1] if len(sys.argv) > 1 else os.environ["URL"], {store_options})
b = CircuitBreaker(os.environ["NAME"], store=store, {options})
while b.stats.last_sync_age is None:
    time.sleep(0.01)
print("joined", flush=True)
"""


def fleet_child(redis: Redis, name: str, body: str, options: str = "failure_threshold=2", store_options: str = "") -> subprocess.Popen[str]:
    code = JOIN.format(options=options, store_options=store_options) + textwrap.dedent(body)
    proc = child(code, URL=redis.url, NAME=name)
    expect(proc, "joined")
    return proc


def joined(b: CircuitBreaker) -> None:
    eventually(lambda: b.stats.last_sync_age is not None, "the join's reply")


def fail(b: CircuitBreaker) -> None:
    with pytest.raises(ZeroDivisionError):
        b.call(lambda: 1 / 0)


def test_a_trip_in_one_process_is_a_refusal_in_another(redis: Redis, name: str) -> None:
    with RedisStore(redis.url) as store:
        b = CircuitBreaker(name, failure_threshold=2, store=store)
        joined(b)
        assert b.stats.mode == "shared"
        other = fleet_child(
            redis,
            name,
            """
            while b.state != "OPEN":
                time.sleep(0.005)
            try:
                b.call(lambda: "ran")
                print("admitted")
            except tripwire.CircuitBreakerOpenError as e:
                print("refused", e.state)
            """,
        )
        fail(b)
        fail(b)
        assert b.state is CircuitState.OPEN
        assert expect(other, "refused") == "refused OPEN"
        assert other.wait() == 0


# The children's options, as the parent's below.
MANUAL = "failure_threshold=2, recovery_timeout=60, success_threshold=1, half_open_max_calls=1"


def test_a_start_state_forced_half_open_and_the_failure_streak_are_the_fleets(redis: Redis, name: str) -> None:
    with RedisStore(redis.url, flush_interval=0.01) as store:
        # Made open, the first member makes the fleet open (the store held no state).
        b = CircuitBreaker(
            name, failure_threshold=2, recovery_timeout=60, success_threshold=1, half_open_max_calls=1,
            store=store, initial_state="OPEN",
        )
        joined(b)
        assert b.state is CircuitState.OPEN
        # A member made closed adopts it (joining resets nothing); after this process's
        # half_open() it runs the fleet's one trial, which fails.
        other = fleet_child(
            redis,
            name,
            """
            print("state", b.state, flush=True)
            while b.state != "HALF_OPEN":
                time.sleep(0.005)
            try:
                b.call(lambda: 1 / 0)
            except ZeroDivisionError:
                pass
            print("trial failed", b.state, b.stats.failure_streak, flush=True)
            while b.state != "CLOSED":
                time.sleep(0.005)
            print("closed", b.stats.failure_streak, flush=True)
            """,
            options=MANUAL,
        )
        assert expect(other, "state") == "state OPEN"
        b.half_open()
        assert b.state is CircuitState.HALF_OPEN
        assert expect(other, "trial failed") == "trial failed OPEN 1"
        # The failure since the last close is the fleet's: this process sees it too.
        eventually(lambda: b.state is CircuitState.OPEN and b.stats.failure_streak == 1, "the failed trial")
        b.close()
        assert expect(other, "closed") == "closed 0"
        assert other.wait() == 0


# A member's half-open part: after "go", it asks for a trial every 10 ms until granted
# (it prints "permit" and holds it) or told to stop; then it prints "end".
ASK_FOR_A_TRIAL = """
import threading
sys.stdin.readline()
stop = threading.Event()
threading.Thread(target=lambda: (sys.stdin.readline(), stop.set()), daemon=True).start()
held = None
while held is None and not stop.is_set():
    p = b._try_acquire()
    if isinstance(p, tripwire.Permit):
        held = p
        print("permit", flush=True)
    time.sleep(0.01)
stop.wait()
print("end", flush=True)
"""


def trials(b: CircuitBreaker, members: List[subprocess.Popen[str]]) -> int:
    """Has `members` (running ASK_FOR_A_TRIAL) and this process ask for a trial of the
    half-open `b` until one holds it, then for 100 rounds more; stops them, and returns
    how many trials were granted."""
    for m in members:
        tell(m, "go")
    granted, held = 0, None
    with selectors.DefaultSelector() as sel:
        for m in members:
            assert m.stdout is not None
            sel.register(m.stdout, selectors.EVENT_READ)
        rounds, deadline = 0, time.monotonic() + PATIENCE
        while rounds < 100:
            if granted:
                rounds += 1
            elif time.monotonic() > deadline:
                raise AssertionError("no process got the trial")
            if held is None:
                p = b._try_acquire()
                if isinstance(p, tripwire.Permit):
                    held = p
                    granted += 1
            for key, _ in sel.select(timeout=0.01):
                line = key.fileobj.readline().strip()  # type: ignore[union-attr]
                assert line == "permit", line
                granted += 1
                sel.unregister(key.fileobj)
    for m in members:
        tell(m, "stop")
        assert m.stdin is not None
        m.stdin.close()  # a Node member's line reader holds its loop until stdin ends
    for m in members:
        assert expect(m, "") == "end"
        assert m.wait(timeout=PATIENCE) == 0
    if held is not None:
        held.cancel()
    return granted


def test_exactly_one_trial_across_processes(redis: Redis, name: str) -> None:
    # Three processes keep asking in half-open with half_open_max_calls=1: one trial.
    options = "failure_threshold=1, recovery_timeout=0.3, half_open_max_calls=1"
    body = (
        textwrap.dedent(
            """
            while b.state == "CLOSED":
                time.sleep(0.005)
            print("open", flush=True)
            """
        )
        + ASK_FOR_A_TRIAL
    )
    with RedisStore(redis.url) as store:
        b = CircuitBreaker(name, failure_threshold=1, recovery_timeout=0.3, half_open_max_calls=1, store=store)
        joined(b)
        kids = [fleet_child(redis, name, body, options) for _ in range(2)]
        fail(b)
        for k in kids:
            expect(k, "open")
        eventually(lambda: b.state is CircuitState.HALF_OPEN, "half-open")
        assert trials(b, kids) == 1


def test_a_holder_killed_mid_trial_frees_its_slot_after_the_lease_ttl(redis: Redis, name: str) -> None:
    options = "failure_threshold=1, recovery_timeout=0.2"
    with RedisStore(redis.url, lease_ttl=1.0) as store:
        b = CircuitBreaker(name, failure_threshold=1, recovery_timeout=0.2, store=store)
        joined(b)
        holder = fleet_child(
            redis,
            name,
            """
            while b.state == "CLOSED":
                time.sleep(0.005)
            while True:
                p = b._try_acquire()
                if isinstance(p, tripwire.Permit):
                    break
                time.sleep(0.01)
            print("trial", flush=True)
            time.sleep(3600)
            """,
            options,
            "lease_ttl=1.0",
        )
        fail(b)
        expect(holder, "trial")
        holder.kill()
        holder.wait()
        # The dead holder's lease is live until its TTL passes; then a trial is granted here.
        first = b._try_acquire()
        assert isinstance(first, CircuitBreakerOpenError)
        assert first.state is CircuitState.HALF_OPEN

        def granted() -> bool:
            p = b._try_acquire()
            if isinstance(p, tripwire.Permit):
                p.success()
                return True
            return False

        eventually(granted, "a trial after the lease TTL")


def test_counts_after_p_processes_times_m_outcomes_are_the_sum(redis: Redis, name: str) -> None:
    processes, outcomes = 3, 150
    options = "failure_threshold=0.99, minimum_requests=100000"
    body = f"""
    for i in range({outcomes}):
        try:
            b.call(lambda: 1 / (i % 3))
        except ZeroDivisionError:
            pass
    store.close()
    print("done", flush=True)
    """
    kids = [fleet_child(redis, name, body, options) for _ in range(processes)]
    for k in kids:
        expect(k, "done")
        assert k.wait() == 0
    with RedisStore(redis.url) as store:
        b = CircuitBreaker(name, failure_threshold=0.99, minimum_requests=100000, store=store)
        joined(b)
        s = b.stats
        failures = processes * len(range(0, outcomes, 3))
        assert s.fleet_failure_count == failures
        assert s.fleet_success_count == processes * outcomes - failures


def test_store_faults_keep_calls_working_and_state_is_readopted(redis: Redis, name: str) -> None:
    events: List[str] = []

    class Listener(tripwire.CircuitBreakerListener):
        def store_down(self, cb: CircuitBreaker, error: Any) -> None:
            events.append("down")

        def store_up(self, cb: CircuitBreaker) -> None:
            events.append("up")

    store = RedisStore(redis.url, timeout=0.05, poll_interval=0.2)
    try:
        b = CircuitBreaker(name, failure_threshold=5, store=store, listeners=[Listener()])
        joined(b)
        # SIGSTOP: sockets stay open, nothing answers. Calls keep working, locally.
        redis.signal(signal.SIGSTOP)
        try:
            for _ in range(4):
                fail(b)
            eventually(lambda: b.stats.mode == "local", "local mode while redis is stopped")
            for _ in range(50):
                assert b.call(lambda: 1) == 1
        finally:
            redis.signal(signal.SIGCONT)
        eventually(lambda: b.stats.mode == "shared", "shared again after SIGCONT")
        # Listeners hear it from the store's thread, after the mode changed.
        eventually(lambda: len(events) >= 2, "the store events")
        assert events == ["down", "up"]
        # The outcomes made while local reached the fleet.
        eventually(lambda: (b.stats.fleet_failure_count or 0) >= 4, "local outcomes flushed")

        # kill -9 and a restart: state and scripts gone. Calls keep working; one episode.
        redis.kill()
        for _ in range(50):
            assert b.call(lambda: 1) == 1
        eventually(lambda: b.stats.mode == "local", "local mode while redis is down")
        redis.start()
        eventually(lambda: b.stats.mode == "shared", "shared after the restart")
        # Listeners hear it from the store's thread, after the mode changed.
        eventually(lambda: len(events) >= 4, "the store events")
        assert events == ["down", "up", "down", "up"]
        # The fleet's state is adopted again: another process trips it, this one refuses.
        other = fleet_child(redis, name, "b.open()\nstore.close()\nprint('opened', flush=True)\n", "failure_threshold=5")
        expect(other, "opened")
        other.wait()
        eventually(lambda: b.state is CircuitState.OPEN, "the fleet's forced open adopted")
        with pytest.raises(CircuitBreakerOpenError):
            b.call(lambda: 1)
    finally:
        store.close()


def test_a_fork_child_shares_the_breaker(redis: Redis, name: str) -> None:
    # gunicorn --preload: the store and breaker are made before fork; the child
    # reconnects lazily and joins the fleet anew.
    with RedisStore(redis.url) as store:
        b = CircuitBreaker(name, failure_threshold=2, store=store)
        joined(b)
        assert b.call(lambda: 1) == 1
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child reports through the pipe
            code = 1
            try:
                # The child joins the fleet anew (a new member); until its join's reply
                # it decides alone, so it waits for it before failing.
                deadline = time.monotonic() + PATIENCE
                while b.stats.last_sync_age is None and time.monotonic() < deadline:
                    time.sleep(0.01)
                fail(b)
                fail(b)
                deadline = time.monotonic() + PATIENCE
                while b.stats.fleet_failure_count != 2 and time.monotonic() < deadline:
                    time.sleep(0.01)
                os.write(write, f"{b.state.value} {b.stats.mode} {b.stats.fleet_failure_count}".encode())
                code = 0
            finally:
                os._exit(code)
        os.close(write)
        _, status = os.waitpid(pid, 0)
        report = os.read(read, 100).decode()
        os.close(read)
        assert os.waitstatus_to_exitcode(status) == 0
        assert report == "OPEN shared 2"
        # The parent learns the child's trip in the background.
        eventually(lambda: b.state is CircuitState.OPEN, "the child's trip reaches the parent")


def test_async_trial_lease_resolves_a_future(redis: Redis, name: str) -> None:
    async def main() -> None:
        with RedisStore(redis.url) as store:
            b = CircuitBreaker(name, failure_threshold=1, recovery_timeout=0.1, success_threshold=1, store=store)
            joined(b)

            async def boom() -> None:
                raise ZeroDivisionError

            async def ok() -> str:
                return "ok"

            with pytest.raises(ZeroDivisionError):
                await b.call_async(boom)
            while b.state is not CircuitState.HALF_OPEN:
                await asyncio.sleep(0.01)
            # The trial's lease is the one awaited round trip; it resolves on this loop.
            assert await b.call_async(ok) == "ok"
            assert b.state is CircuitState.CLOSED
            async with b:
                pass

    asyncio.run(main())


def test_tripwire_store_url_is_adopted_by_every_breaker(redis: Redis, name: str) -> None:
    code = """
    import os, time, tripwire
    b = tripwire.CircuitBreaker(os.environ["NAME"])
    s = tripwire.create_circuit_breaker(os.environ["NAME"] + "-2")
    own = tripwire.CircuitBreaker(os.environ["NAME"] + "-3", store=None)
    assert tripwire.with_circuit_breaker(os.environ["NAME"] + "-4", lambda: 1, {"store": None}) == 1
    w = tripwire.registry.get(os.environ["NAME"] + "-4")
    svc = tripwire.CircuitBreakerService().get_circuit_breaker(os.environ["NAME"], "op")
    local_svc = tripwire.CircuitBreakerService(store=None).get_circuit_breaker(os.environ["NAME"] + "-5", "op")
    shared = (b, s, svc)
    while any(x.stats.last_sync_age is None for x in shared):
        time.sleep(0.01)
    print(*(x.stats.mode for x in (*shared, own, w, local_svc)))
    """
    proc = child(code, NAME=name, TRIPWIRE_STORE_URL=redis.url)
    assert expect(proc, "") == "shared shared shared local local local"
    assert proc.wait() == 0
    bad = child("import tripwire\ntripwire.CircuitBreaker('x')\n", TRIPWIRE_STORE_URL="http://nope")
    assert bad.wait() != 0


def test_a_fingerprint_mismatch_names_the_option(redis: Redis, name: str) -> None:
    with RedisStore(redis.url) as store:
        first = CircuitBreaker(name, failure_threshold=2, store=store)
        joined(first)
        errors: List[BaseException] = []

        class Listener(tripwire.CircuitBreakerListener):
            def store_down(self, cb: CircuitBreaker, error: Any) -> None:
                errors.append(error)

        other_store = RedisStore(redis.url)
        try:
            CircuitBreaker(name, failure_threshold=3, store=other_store, listeners=[Listener()])
            eventually(lambda: bool(errors), "the fingerprint mismatch")
        finally:
            other_store.close()
        assert isinstance(errors[0], ValueError)
        # The core's message, with the option as Python spells it.
        assert str(errors[0]).startswith("option `failure_threshold` differs from the fleet's: this process has 3, the fleet 2;")


def test_check_rules_false_joins_with_different_rules(redis: Redis, name: str) -> None:
    # The opt-out: a breaker whose rules differ joins anyway and applies its own rules to
    # the fleet's counts (pybreaker's CircuitRedisStorage works this way).
    with RedisStore(redis.url) as store, RedisStore(redis.url, check_rules=False) as lenient:
        assert (store.check_rules, lenient.check_rules) == (True, False)
        first = CircuitBreaker(name, failure_threshold=5, store=store)
        joined(first)
        errors: List[BaseException] = []

        class Listener(tripwire.CircuitBreakerListener):
            def store_down(self, cb: CircuitBreaker, error: Any) -> None:
                errors.append(error)

        second = CircuitBreaker(name, failure_threshold=2, store=lenient, listeners=[Listener()])
        joined(second)
        assert second.stats.mode == "shared"
        fail(first)
        eventually(lambda: second.stats.fleet_failure_count == 1, "the first breaker's failure reaches the second")
        # Its own threshold (2) over the fleet's consecutive failures: it trips the fleet.
        fail(second)
        assert second.state is CircuitState.OPEN
        eventually(lambda: first.state is CircuitState.OPEN, "the trip reaches the first breaker")
        assert errors == []


@pytest.mark.parametrize(
    ("kwargs", "error", "text"),
    [
        ({"url": 6379}, TypeError, "`url`"),
        ({"url": "redis://x", "check_rules": 1}, TypeError, "`check_rules`"),
        ({"url": "http://x"}, ValueError, "url"),
        ({"url": "redis://x", "timeout": "1"}, TypeError, "`timeout`"),
        ({"url": "redis://x", "flush_interval": -1}, ValueError, "`flush_interval`"),
        ({"url": "redis://x", "lease_ttl": True}, TypeError, "`lease_ttl`"),
        ({"url": "redis://x", "prefix": 1}, TypeError, "`prefix`"),
        ({"url": "redis://x", "flush_intervall": 1}, TypeError, "did you mean `flush_interval`"),
    ],
)
def test_bad_store_options_name_the_option(kwargs: Any, error: type, text: str) -> None:
    with pytest.raises(error, match=text):
        RedisStore(**kwargs)


def test_bad_store_on_a_breaker(redis: Redis) -> None:
    with pytest.raises(TypeError, match="`store`"):
        CircuitBreaker("x", store="redis://x")  # type: ignore[arg-type]
    with RedisStore(redis.url) as store:
        with pytest.raises(ValueError, match="`clock`"):
            CircuitBreaker("x", store=store, clock=tripwire.ManualClock())
        with pytest.raises(ValueError, match="snapshot"):
            CircuitBreaker("x", store=store).snapshot()


def test_service_breakers_share_too(redis: Redis, name: str) -> None:
    # Two services (two members of the fleet, as two processes) with one (service,
    # operation) breaker: a trip in one is a refusal in the other.
    config = {"failure_threshold": 2}
    with RedisStore(redis.url) as one, RedisStore(redis.url) as two:
        a = tripwire.CircuitBreakerService(store=one)
        b = tripwire.CircuitBreakerService(store=two)
        for service in (a, b):
            assert service.execute(name, "charge", lambda: "ok", options=config) == "ok"
            breaker = service.get_circuit_breaker(name, "charge")
            joined(breaker)
            assert breaker.stats.mode == "shared"

        def boom() -> None:
            raise ZeroDivisionError

        for _ in range(2):
            with pytest.raises(ZeroDivisionError):
                a.execute(name, "charge", boom, options=config)
        other = b.get_circuit_breaker(name, "charge")
        eventually(lambda: other.state is CircuitState.OPEN, "the trip reaches the other service")
        with pytest.raises(CircuitBreakerOpenError):
            b.execute(name, "charge", lambda: "ran")
    with pytest.raises(TypeError, match="`store`"):
        tripwire.CircuitBreakerService(store="redis://x")  # type: ignore[arg-type]


def test_the_store_does_not_keep_breakers_alive(redis: Redis, name: str) -> None:
    import gc
    import weakref

    with RedisStore(redis.url) as store:
        b = CircuitBreaker(name, store=store, on_state_change=lambda old, new: None)
        joined(b)
        tripwire.registry.remove(name)
        ref = weakref.ref(b)
        del b
        gc.collect()
        assert ref() is None


@pytest.mark.parametrize("fault", ["SIGSTOP", "kill"])
@pytest.mark.parametrize("own_logger", [False, True])
def test_one_log_line_per_outage(redis: Redis, name: str, caplog: pytest.LogCaptureFixture, fault: str, own_logger: bool) -> None:
    """One line when the outage begins and one when it ends, per store, however many
    breakers it serves: through the standard library's "tripwire" logger, or through
    tripwire's own logger when one is set (then nothing through the former)."""
    caplog.set_level("INFO", logger="tripwire")
    sink: List[Any] = []

    class Own:
        def info(self, message: str, fields: Any = None) -> None:
            sink.append(("info", message, fields))

        def warn(self, message: str, fields: Any = None) -> None:
            sink.append(("warn", message, fields))

    previous = tripwire.set_logger(Own() if own_logger else None)
    heard: List[str] = []

    class Listener:
        def store_down(self, cb: CircuitBreaker, error: Any) -> None:
            heard.append(cb.name)

    try:
        with RedisStore(redis.url, timeout=0.05) as store:
            breakers = [CircuitBreaker(f"{name}-{i}", store=store, listeners=[Listener()]) for i in range(3)]
            for b in breakers:
                joined(b)
            if fault == "kill":
                redis.kill()
            else:
                redis.signal(signal.SIGSTOP)
            try:
                while not all(b.stats.mode == "local" for b in breakers):
                    for b in breakers:
                        assert b.call(lambda: 1) == 1
                    time.sleep(0.01)
            finally:
                if fault == "kill":
                    redis.start()
                else:
                    redis.signal(signal.SIGCONT)
            eventually(lambda: all(b.stats.mode == "shared" for b in breakers), "shared again")

            def lines() -> List[str]:
                if own_logger:
                    return [message for _, message, _ in sink]
                return [r.getMessage() for r in caplog.records if r.name == "tripwire"]

            # The store's event comes from its thread, after the breakers' own.
            eventually(lambda: any("reachable again" in m for m in lines()), "the recovery's log line")
            eventually(lambda: len(heard) == len(breakers), "every breaker's store_down")
            logged = lines()
            assert len([m for m in logged if "unreachable" in m]) == 1, logged
            assert len([m for m in logged if "reachable again" in m]) == 1, logged
            if own_logger:
                assert [(level, fields["event"]) for level, _, fields in sink] == [("warn", "storeDown"), ("info", "storeUp")]
                assert not [r for r in caplog.records if r.name == "tripwire"]
    finally:
        tripwire.set_logger(previous)


def test_outcomes_before_the_first_reply_reach_the_fleet(redis: Redis, name: str) -> None:
    """Nothing inside the window is lost: failures a process records before its store
    ever answered (the server SIGSTOPped from the start) count in the fleet's totals and
    window once it has joined: another process sees them, and one more failure trips
    the fleet (three in a row)."""
    redis.signal(signal.SIGSTOP)
    try:
        with RedisStore(redis.url, timeout=0.05) as early:
            a = CircuitBreaker(name, failure_threshold=3, store=early)
            fail(a)
            fail(a)
            assert a.stats.last_sync_age is None
            redis.signal(signal.SIGCONT)
            joined(a)
            eventually(lambda: a.stats.fleet_failure_count == 2, "the failures in the fleet's totals")
            with RedisStore(redis.url) as late:
                b = CircuitBreaker(name, failure_threshold=3, store=late)
                joined(b)
                assert b.stats.consecutive_failures == 2
                fail(b)
                assert b.state is CircuitState.OPEN
    finally:
        redis.signal(signal.SIGCONT)


def test_a_task_cancelled_while_awaiting_its_lease_hands_the_trial_back(redis: Redis, name: str) -> None:
    async def main() -> None:
        # The lease outlives this test (31 s by default): a leaked trial would refuse
        # every later one.
        with RedisStore(redis.url) as store:
            b = CircuitBreaker(name, failure_threshold=1, recovery_timeout=0.1, success_threshold=1, store=store)
            joined(b)
            with pytest.raises(ZeroDivisionError):
                b.call(lambda: 1 / 0)
            while b.state is not CircuitState.HALF_OPEN:
                await asyncio.sleep(0.01)

            async def ok() -> str:
                return "ok"

            task = asyncio.ensure_future(b.call_async(ok))
            await asyncio.sleep(0)  # the task asked for its lease and awaits it
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            deadline = time.monotonic() + PATIENCE
            while True:
                try:
                    assert await b.call_async(ok) == "ok"
                    break
                except CircuitBreakerOpenError:
                    assert time.monotonic() < deadline, "the cancelled task's trial was never handed back"
                    await asyncio.sleep(0.01)
            assert b.state is CircuitState.CLOSED

    asyncio.run(main())
