"""The fleet store's cost per call (issue 13), in one run, interleaved.

tripwire local, tripwire shared through a RedisStore (healthy; 5 ms away through
`tripwire-proxy`, testkit's delay proxy, when `--proxy PATH` is given; then with the
redis-server stopped by SIGSTOP: local mode), and pybreaker with CircuitRedisStorage
against the same redis-server (its every call reads and writes Redis). Median ns per
call of a closed-circuit success; "overhead" is minus the unguarded loop. The
redis-server is started here on a free loopback port and stopped by pid. Run by
`make bench-python` (scripts/bench-python.sh) and `make bench-fleet`
(scripts/bench-fleet.sh, with the proxy).

`fleet.py trial-worker` is a child of bindings-node/bench/fleet.mjs's half-open
exactness row (mixed Node and Python processes); see `trial_worker`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import tempfile
import time
import uuid
from typing import Callable, Dict, List, Optional

from bench import measure, ok

import tripwire


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_redis(port: int, workdir: str) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", workdir],
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    return proc
        except OSError:
            pass
        if time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("redis-server did not start")
        time.sleep(0.02)


def loop_of(func: Callable[[], object]) -> Callable[[int], None]:
    def loop(n: int) -> None:
        for _ in range(n):
            func()

    return loop


def paired(local: Callable[[int], None], shared: Callable[[int], None], n: int, rounds: int = 15) -> float:
    """The median over rounds of (shared − local) ns per call, each round timing one
    right after the other (the order alternating): the load's drift cancels within a
    pair, which the medians of separate rounds do not get on a busy machine."""
    diffs: List[float] = []
    for r in range(rounds):
        first, second = (local, shared) if r % 2 == 0 else (shared, local)
        t0 = time.perf_counter_ns()
        first(n)
        t1 = time.perf_counter_ns()
        second(n)
        t2 = time.perf_counter_ns()
        a, b = (t1 - t0) / n, (t2 - t1) / n
        diffs.append(b - a if r % 2 == 0 else a - b)
    return statistics.median(diffs)


def start_proxy(path: str, upstream: int, delay_ms: float) -> "tuple[subprocess.Popen[str], int]":
    """testkit's delay proxy in front of the redis-server; its port."""
    proc = subprocess.Popen([path, str(upstream), str(delay_ms)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    return proc, int(proc.stdout.readline())


def wait_joined(breaker: tripwire.CircuitBreaker) -> None:
    deadline = time.monotonic() + 20
    while breaker.stats.last_sync_age is None:
        if time.monotonic() > deadline:
            raise RuntimeError("the shared breaker never joined")
        time.sleep(0.01)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--proxy", help="testkit's tripwire-proxy binary: adds the 5 ms-away row")
    args = parser.parse_args()
    n = 20_000 if args.quick else 200_000
    n_pybreaker = 2_000 if args.quick else 20_000

    import pybreaker
    import redis

    port = free_port()
    workdir = tempfile.mkdtemp(prefix="tw-bench-redis-")
    server = start_redis(port, workdir)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        store = tripwire.RedisStore(url)
        tag = uuid.uuid4().hex[:8]
        local = tripwire.CircuitBreaker(f"bench-local-{tag}", failure_threshold=10**6, store=None)(ok)
        shared_breaker = tripwire.CircuitBreaker(f"bench-shared-{tag}", failure_threshold=10**6, store=store)
        shared = shared_breaker(ok)
        wait_joined(shared_breaker)
        client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=0.1, socket_connect_timeout=0.1)
        storage = pybreaker.CircuitRedisStorage(pybreaker.STATE_CLOSED, client, namespace=f"bench-{tag}")
        py = pybreaker.CircuitBreaker(fail_max=10**6, reset_timeout=3600, state_storage=storage)(ok)

        loops: Dict[str, Optional[Callable[[int], None]]] = {
            "none": loop_of(ok),
            "tripwire local": loop_of(local),
            "tripwire shared": loop_of(shared),
        }
        fast = measure(loops, n)
        pairs = {"healthy": paired(loop_of(local), loop_of(shared), n)}
        slow = measure({"none": loop_of(ok), "pybreaker + CircuitRedisStorage": loop_of(py)}, n_pybreaker)

        # Redis 5 ms away (each way, through the delay proxy): a store of its own.
        away: Optional[Dict[str, Optional[float]]] = None
        if args.proxy:
            proxy, proxy_port = start_proxy(args.proxy, port, 5)
            try:
                far_store = tripwire.RedisStore(f"redis://127.0.0.1:{proxy_port}/0")
                far_breaker = tripwire.CircuitBreaker(f"bench-away-{tag}", failure_threshold=10**6, store=far_store)
                far = far_breaker(ok)
                wait_joined(far_breaker)
                away = measure({"none": loop_of(ok), "tripwire local": loop_of(local), "tripwire shared, redis 5 ms away": loop_of(far)}, n)
                pairs["5 ms away"] = paired(loop_of(local), loop_of(far), n)
                assert far_breaker.stats.mode == "shared", "the 5 ms-away breaker went local"
                far_store.close()
            finally:
                proxy.kill()
                proxy.wait()

        # Redis stopped (sockets open, nothing answers): the shared breaker goes local
        # after its store errors; the call path never waited on Redis anyway.
        os.kill(server.pid, signal.SIGSTOP)
        try:
            deadline = time.monotonic() + 20
            while shared_breaker.stats.mode != "local" and time.monotonic() < deadline:
                shared()
                time.sleep(0.01)
            stopped = measure(
                {"none": loop_of(ok), "tripwire local": loop_of(local), "tripwire shared, redis SIGSTOPped": loop_of(shared)}, n
            )
            pairs["SIGSTOPped"] = paired(loop_of(local), loop_of(shared), n)
            assert shared_breaker.stats.mode == "local"
        finally:
            os.kill(server.pid, signal.SIGCONT)
        store.close()
    finally:
        server.kill()
        server.wait()
        shutil.rmtree(workdir, ignore_errors=True)

    rows: List[str] = []

    def row(name: str, figures: Dict[str, Optional[float]]) -> float:
        total = figures[name]
        assert total is not None and figures["none"] is not None
        overhead = total - figures["none"]
        rows.append(f"| {name} | {total:.0f} ns | {overhead:.0f} ns |")
        return overhead

    local_overhead = row("tripwire local", fast)
    shared_overhead = row("tripwire shared", fast)
    py_overhead = row("pybreaker + CircuitRedisStorage", slow)
    stopped_local = row("tripwire local", stopped)
    stopped_shared = row("tripwire shared, redis SIGSTOPped", stopped)
    if away is not None:
        away_local = row("tripwire local", away)
        away_shared = row("tripwire shared, redis 5 ms away", away)
    load = os.getloadavg()[0]
    print(f"Python fleet store, closed-path success (median ns per call; load average {load:.1f})")
    print("| contender | per call | overhead |")
    print("|---|---|---|")
    print("\n".join(rows))
    print(f"shared ÷ pybreaker + CircuitRedisStorage overhead: {shared_overhead / py_overhead:.4f}× (goal ≤ 0.01×)")
    print(f"shared − local overhead: {shared_overhead - local_overhead:.0f} ns (healthy), {stopped_shared - stopped_local:.0f} ns (redis SIGSTOPped)")
    if away is not None:
        print(f"shared − local overhead, redis 5 ms away: {away_shared - away_local:.0f} ns")
    print("shared − local, paired rounds (median): " + ", ".join(f"{k} {v:.0f} ns" for k, v in pairs.items()) + " (goal ≤ 50 ns)")


def trial_worker() -> None:
    """A child of fleet.mjs's half-open exactness row (env BENCH_*): joins the shared
    breaker, waits for the parent's go, trips it, then asks for trials from 4 threads
    for BENCH_MS; each trial INCRs a Redis counter (the trials running fleet-wide),
    holds 5 ms, and DECRs it. Prints {"peak", "trials"} as JSON."""
    import json
    import threading

    import redis

    env = os.environ
    counter = env["BENCH_COUNTER"]
    client = redis.Redis(host="127.0.0.1", port=int(env["BENCH_PORT"]), socket_timeout=5)
    store = tripwire.RedisStore(env["BENCH_URL"], flush_interval=0.005, lease_ttl=5)
    breaker = tripwire.CircuitBreaker(
        env["BENCH_NAME"],
        failure_threshold=1,
        recovery_timeout=0.05,
        half_open_max_calls=int(env["BENCH_N"]),
        success_threshold=10**6,
        store=store,
    )
    wait_joined(breaker)
    client.incr(f"{counter}-ready")
    while client.get(f"{counter}-go") is None:
        time.sleep(0.01)
    try:
        breaker.call(lambda: 1 / 0)
    except (ZeroDivisionError, tripwire.CircuitBreakerError):
        pass
    peak = 0
    trials = 0
    lock = threading.Lock()
    end = time.monotonic() + int(env["BENCH_MS"]) / 1000

    def trial() -> None:
        nonlocal peak, trials
        live = int(client.incr(counter))
        with lock:
            peak = max(peak, live)
            trials += 1
        time.sleep(0.005)
        client.decr(counter)

    def asker() -> None:
        while time.monotonic() < end:
            try:
                breaker.call(trial)
            except tripwire.CircuitBreakerError:
                time.sleep(0.001)

    threads = [threading.Thread(target=asker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    store.close()
    print(json.dumps({"peak": peak, "trials": trials}), flush=True)


if __name__ == "__main__":
    import sys

    if sys.argv[1:2] == ["trial-worker"]:
        trial_worker()
    else:
        main()
