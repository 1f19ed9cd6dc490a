"""The fleet store's cost per call (issue 13), in one run, interleaved.

tripwire local, tripwire shared through a RedisStore (healthy, then with the
redis-server stopped by SIGSTOP: local mode), and pybreaker with CircuitRedisStorage
against the same redis-server (its every call reads and writes Redis). Median ns per
call of a closed-circuit success; "overhead" is minus the unguarded loop. The
redis-server is started here on a free loopback port and stopped by pid. Run by
`make bench-python` (scripts/bench-python.sh).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
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
        while shared_breaker.stats.last_sync_age is None:
            time.sleep(0.01)
        client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=0.1, socket_connect_timeout=0.1)
        storage = pybreaker.CircuitRedisStorage(pybreaker.STATE_CLOSED, client, namespace=f"bench-{tag}")
        py = pybreaker.CircuitBreaker(fail_max=10**6, reset_timeout=3600, state_storage=storage)(ok)

        loops: Dict[str, Optional[Callable[[int], None]]] = {
            "none": loop_of(ok),
            "tripwire local": loop_of(local),
            "tripwire shared": loop_of(shared),
        }
        fast = measure(loops, n)
        slow = measure({"none": loop_of(ok), "pybreaker + CircuitRedisStorage": loop_of(py)}, n_pybreaker)

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
    load = os.getloadavg()[0]
    print(f"Python fleet store, closed-path success (median ns per call; load average {load:.1f})")
    print("| contender | per call | overhead |")
    print("|---|---|---|")
    print("\n".join(rows))
    print(f"shared ÷ pybreaker + CircuitRedisStorage overhead: {shared_overhead / py_overhead:.4f}× (goal ≤ 0.01×)")
    print(f"shared − local overhead: {shared_overhead - local_overhead:.0f} ns (healthy), {stopped_shared - stopped_local:.0f} ns (redis SIGSTOPped)")


if __name__ == "__main__":
    main()
