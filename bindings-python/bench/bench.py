"""tripwire beside pybreaker, circuitbreaker, aiobreaker and purgatory, in one run.

Median ns per call over several rounds; "overhead" is the figure minus the same
loop calling the function without any breaker. Run by `make bench-python`
(scripts/bench-python.sh), which installs the release build and the peers.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from datetime import timedelta
from typing import Any, Callable, Dict, List, Optional, Tuple

import tripwire

ROUNDS = 7


class Boom(Exception):
    pass


def ok() -> int:
    return 1


def fail() -> None:
    raise Boom()


async def aok() -> int:
    return 1


Loop = Callable[[int], None]


def measure(loops: Dict[str, Optional[Loop]], n: int) -> Dict[str, Optional[float]]:
    """Median ns per call of each loop; rounds interleave the contenders so that
    the machine's load drifts over all of them alike."""
    samples: Dict[str, List[float]] = {lib: [] for lib, loop in loops.items() if loop is not None}
    for lib in samples:
        loops[lib](n // 10)  # type: ignore[misc]  # warm up
    for _ in range(ROUNDS):
        for lib in samples:
            loop = loops[lib]
            assert loop is not None
            gc.disable()
            start = time.perf_counter_ns()
            loop(n)
            samples[lib].append((time.perf_counter_ns() - start) / n)
            gc.enable()
    return {lib: (statistics.median(samples[lib]) if lib in samples else None) for lib in loops}


# -- the contenders -----------------------------------------------------------


def make_sync(lib: str, func: Callable[[], Any], *, threshold: int = 10**6) -> Optional[Callable[[], Any]]:
    """`func` guarded by a breaker of `lib` that does not trip below `threshold` failures."""
    if lib == "none":
        return func
    if lib == "tripwire":
        return tripwire.CircuitBreaker(f"bench-{id(func)}-{threshold}", failure_threshold=threshold)(func)
    if lib == "pybreaker":
        import pybreaker

        return pybreaker.CircuitBreaker(fail_max=threshold, reset_timeout=3600)(func)
    if lib == "tripwire.pybreaker":
        from tripwire import pybreaker as tw_pybreaker

        # pybreaker's code, one import changed.
        return tw_pybreaker.CircuitBreaker(fail_max=threshold, reset_timeout=3600)(func)
    if lib == "circuitbreaker":
        import circuitbreaker

        return circuitbreaker.CircuitBreaker(failure_threshold=threshold, recovery_timeout=3600)(func)
    if lib == "aiobreaker":
        import aiobreaker

        breaker = aiobreaker.CircuitBreaker(fail_max=threshold, timeout_duration=timedelta(hours=1))
        return lambda: breaker.call(func)
    if lib == "purgatory":
        import purgatory

        factory = purgatory.SyncCircuitBreakerFactory(default_threshold=threshold, default_ttl=3600)
        return factory(f"bench-{id(func)}")(func)
    raise ValueError(lib)


def make_async(lib: str) -> Optional[Callable[[], Any]]:
    if lib == "none":
        return aok
    if lib == "tripwire":
        return tripwire.CircuitBreaker("bench-async")(aok)
    if lib == "tripwire.pybreaker":
        from tripwire import pybreaker as tw_pybreaker

        return tw_pybreaker.CircuitBreaker(fail_max=10**6)(aok)
    if lib == "circuitbreaker":
        import circuitbreaker

        return circuitbreaker.CircuitBreaker(failure_threshold=10**6, recovery_timeout=3600)(aok)
    if lib == "aiobreaker":
        import aiobreaker

        breaker = aiobreaker.CircuitBreaker(fail_max=10**6, timeout_duration=timedelta(hours=1))
        return lambda: breaker.call_async(aok)
    if lib == "purgatory":
        import purgatory

        factory = purgatory.AsyncCircuitBreakerFactory(default_threshold=10**6, default_ttl=3600)
        return factory("bench-async")(aok)
    return None  # pybreaker's async needs tornado


# tripwire, its pybreaker-compatible module, then the peers.
LIBS = ["tripwire", "tripwire.pybreaker", "pybreaker", "circuitbreaker", "aiobreaker", "purgatory"]
PEERS = LIBS[2:]


def sync_success(lib: str) -> Optional[Loop]:
    f = make_sync(lib, ok)
    assert f is not None

    def loop(k: int) -> None:
        for _ in range(k):
            f()

    return loop


def sync_failure(lib: str) -> Optional[Loop]:
    f = make_sync(lib, fail)
    assert f is not None

    def loop(k: int) -> None:
        for _ in range(k):
            try:
                f()
            except Boom:
                pass

    return loop


def rejection(lib: str) -> Optional[Loop]:
    if lib == "none":

        def refuse() -> None:
            raise Boom()

        f: Callable[[], Any] = refuse
        errors: Any = Boom
    else:
        g = make_sync(lib, fail, threshold=1)
        assert g is not None
        f = g
        try:
            f()  # trips
        except Exception:
            pass
        errors = Exception

    def loop(k: int) -> None:
        for _ in range(k):
            try:
                f()
            except errors:
                pass

    # Check that the call is refused, not run.
    if lib == "tripwire":
        try:
            f()
        except tripwire.CircuitBreakerOpenError:
            pass
    return loop


EVENT_LOOP = asyncio.new_event_loop()


def async_success(lib: str) -> Optional[Loop]:
    f = make_async(lib)
    if f is None:
        return None

    async def run(k: int) -> None:
        for _ in range(k):
            await f()

    return lambda k: EVENT_LOOP.run_until_complete(run(k))


_WORK = range(200)


def work() -> int:
    """About a microsecond of pure-Python work: a stand-in for a real call."""
    return sum(_WORK)


def threads_shared(lib: str, func: Callable[[], Any] = ok) -> Optional[Loop]:
    """8 threads sharing one breaker: wall ns per call."""
    f = make_sync(lib, func)
    assert f is not None

    def loop(k: int) -> None:
        per = k // 8
        barrier = threading.Barrier(8)

        def work() -> None:
            barrier.wait()
            for _ in range(per):
                f()

        threads = [threading.Thread(target=work) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    return loop


# -- issue 6: the resilience service beside tenacity + pybreaker ---------------------


class Transient(Exception):
    code = "ECONNRESET"


def service_success(lib: str) -> Optional[Loop]:
    """A successful call through retry (3 attempts, exponential backoff, jitter), a
    circuit breaker and a bulkhead (10 running): tripwire's
    `execute_with_circuit_breaker`, or tenacity's `Retrying` around a pybreaker call
    inside a `BoundedSemaphore` (pybreaker and tenacity have no bulkhead)."""
    if lib == "none":
        f: Callable[[], Any] = ok
    elif lib == "tripwire":
        service = tripwire.CircuitBreakerService()
        service.update_service_config(
            "bench",
            retry_policy={"max_attempts": 3, "base_delay": 0.1, "max_delay": 30, "jitter": 0.2},
            bulkhead={"max_concurrent": 10, "queue_size": 100},
        )
        run = service.execute_with_circuit_breaker

        def f() -> Any:
            return run("bench", "op", ok)

    elif lib == "tenacity+pybreaker":
        import pybreaker
        import tenacity

        breaker = pybreaker.CircuitBreaker(fail_max=5, reset_timeout=60)
        bulkhead = threading.BoundedSemaphore(10)
        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(3),
            wait=tenacity.wait_exponential(multiplier=0.1, max=30) + tenacity.wait_random(0, 0.02),
            retry=tenacity.retry_if_exception_type(Transient),
            reraise=True,
        )

        def f() -> Any:
            with bulkhead:
                return retrying(breaker.call, ok)

    else:
        return None

    def loop(k: int) -> None:
        for _ in range(k):
            f()

    return loop


def service_async_success(lib: str) -> Optional[Loop]:
    """The same, awaited: tripwire's service with an `async def` function, or
    tenacity's `AsyncRetrying` around an aiobreaker call inside an `asyncio.Semaphore`
    (pybreaker's async needs tornado)."""
    if lib == "none":
        g: Callable[[], Any] = aok
    elif lib == "tripwire":
        service = tripwire.CircuitBreakerService()
        service.update_service_config(
            "bench-async",
            retry_policy={"max_attempts": 3, "base_delay": 0.1, "max_delay": 30, "jitter": 0.2},
            bulkhead={"max_concurrent": 10, "queue_size": 100},
        )
        run = service.execute_with_circuit_breaker

        def g() -> Any:
            return run("bench-async", "op", aok)

    elif lib == "tenacity+aiobreaker":
        import aiobreaker
        import tenacity

        breaker = aiobreaker.CircuitBreaker(fail_max=5, timeout_duration=timedelta(seconds=60))
        semaphore = asyncio.Semaphore(10)
        retrying = tenacity.AsyncRetrying(
            stop=tenacity.stop_after_attempt(3),
            wait=tenacity.wait_exponential(multiplier=0.1, max=30) + tenacity.wait_random(0, 0.02),
            retry=tenacity.retry_if_exception_type(Transient),
            reraise=True,
        )

        async def g() -> Any:
            async with semaphore:
                return await retrying(breaker.call_async, aok)

    else:
        return None

    async def run_all(k: int) -> None:
        for _ in range(k):
            await g()

    return lambda k: EVENT_LOOP.run_until_complete(run_all(k))


MEMORY_CHILD = r"""
import gc, sys
from datetime import timedelta
lib = sys.argv[1]
def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096
def ok(): return 1
def make(i):
    if lib == "tripwire":
        import tripwire
        return tripwire.CircuitBreaker(f"m{i}")
    if lib == "pybreaker":
        import pybreaker
        return pybreaker.CircuitBreaker()
    if lib == "tripwire.pybreaker":
        import tripwire.pybreaker
        return tripwire.pybreaker.CircuitBreaker()
    if lib == "circuitbreaker":
        import circuitbreaker
        return circuitbreaker.CircuitBreaker()
    if lib == "aiobreaker":
        import aiobreaker
        return aiobreaker.CircuitBreaker()
    if lib == "purgatory":
        import purgatory
        return factory.get_breaker(f"m{i}")
if lib == "purgatory":
    import purgatory
    factory = purgatory.SyncCircuitBreakerFactory()
make(-1)
keep = []
gc.collect()
before = rss()
for i in range(10000):
    b = make(i)
    keep.append(b)
gc.collect()
print((rss() - before) / 10000)
"""


SERVICE_NAMES_CHILD = r"""
import gc, sys, time
import tripwire
def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096
n = int(sys.argv[1])
service = tripwire.CircuitBreakerService()
ok = lambda: 1
for i in range(2000):  # warm up: the default max_breakers (1,000) are all made
    service.execute_with_circuit_breaker(f"warm{i}", "op", ok)
gc.collect()
before = rss()
start = time.perf_counter()
for i in range(n):
    service.execute_with_circuit_breaker(f"svc{i}", "op", ok)
elapsed = time.perf_counter() - start
gc.collect()
health = service.get_system_health()["breakers"]
print(rss() - before, elapsed, health["count"], health["evictions"])
"""


def service_names(n: int) -> Tuple[float, float, int, int]:
    """RSS growth (bytes), seconds, live breakers and evictions after `n` distinct
    service names through one service with the default max_breakers."""
    out = subprocess.run([sys.executable, "-c", SERVICE_NAMES_CHILD, str(n)], capture_output=True, text=True, check=True)
    growth, seconds, count, evictions = out.stdout.split()
    return float(growth), float(seconds), int(count), int(evictions)


def memory(lib: str) -> float:
    out = subprocess.run([sys.executable, "-c", MEMORY_CHILD, lib], capture_output=True, text=True, check=True)
    return float(out.stdout.strip())


def pybreaker_ratios(results: Dict[str, Dict[str, Optional[float]]]) -> None:
    """tripwire.pybreaker against pybreaker, per call, in the same run (issue 15)."""
    for case in ["sync success", "sync failure"]:
        row = results[case]
        mine, theirs, base = row["tripwire.pybreaker"], row["pybreaker"], row["none"]
        assert mine is not None and theirs is not None and base is not None
        goal = "[<= 0.1]" if case == "sync success" else ""
        print(
            f"  {case:<15} overhead over no breaker: tripwire.pybreaker {mine - base:5.0f} ns, pybreaker "
            f"{theirs - base:5.0f} ns, ratio {(mine - base) / (theirs - base):.2f} {goal}"
        )
    refused = results["open rejection"]
    mine_r, theirs_r = refused["tripwire.pybreaker"], refused["pybreaker"]
    assert mine_r is not None and theirs_r is not None
    print(
        f"  {'open rejection':<15} refused call, raise and catch: tripwire.pybreaker {mine_r:5.0f} ns, "
        f"pybreaker {theirs_r:5.0f} ns, ratio {mine_r / theirs_r:.2f}"
    )


def service_ratios(rounds: int) -> None:
    """The two service rows as many short interleaved rounds (1,000 tripwire calls, then
    100 of the peer's): on a loaded machine a burst this short mostly runs within one
    time slice, so the median of the per-round ratios holds where whole-run figures
    swing. Prints the median ratio, its quartiles and the ratio of the fastest rounds."""
    for case, make, peer in [
        ("service success", service_success, "tenacity+pybreaker"),
        ("service async success", service_async_success, "tenacity+aiobreaker"),
    ]:
        mine_loop, peer_loop = make("tripwire"), make(peer)
        assert mine_loop is not None and peer_loop is not None
        mine_loop(1000)
        peer_loop(100)
        mine: List[float] = []
        theirs: List[float] = []
        for _ in range(rounds):
            for loop, k, out in ((mine_loop, 1000, mine), (peer_loop, 100, theirs)):
                gc.disable()
                start = time.perf_counter_ns()
                loop(k)
                out.append((time.perf_counter_ns() - start) / k)
                gc.enable()
        ratios = sorted(a / b for a, b in zip(mine, theirs))
        print(
            f"{case:<24}tripwire / {peer}: median {statistics.median(ratios):.4f} "
            f"(quartiles {ratios[len(ratios) // 4]:.4f}-{ratios[3 * len(ratios) // 4]:.4f}), "
            f"fastest rounds {min(mine):.0f} / {min(theirs):.0f} ns = {min(mine) / min(theirs):.4f}",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer iterations (a smoke run)")
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument(
        "--pybreaker", action="store_true", help="only the per-call cases of tripwire.pybreaker, tripwire and pybreaker"
    )
    parser.add_argument(
        "--service-rounds", type=int, metavar="N", help="only the service rows, as N short interleaved rounds"
    )
    args = parser.parse_args()
    if args.service_rounds:
        service_ratios(args.service_rounds)
        return
    libs = ["tripwire", "tripwire.pybreaker", "pybreaker"] if args.pybreaker else LIBS
    n = 20_000 if args.quick else 200_000
    results: Dict[str, Dict[str, Optional[float]]] = {}
    cases: Dict[str, Tuple[Callable[[str], Optional[Loop]], int]] = {
        "sync success": (sync_success, n),
        "sync failure": (sync_failure, n // 2),
        "open rejection": (rejection, n),
        "async success": (async_success, n // 2),
        "8 threads, one breaker": (threads_shared, n),
        "8 threads, ~1 us calls": (lambda lib: threads_shared(lib, work), n // 4),
    }
    print(f"tripwire {tripwire.__version__}, Python {sys.version.split()[0]}, {os.cpu_count()} CPUs; median ns/call")
    header = f"{'case':<24}{'no breaker':>12}" + "".join(f"{lib:>20}" for lib in libs)
    print(header)
    for case, (make, count) in cases.items():
        row = measure({lib: make(lib) for lib in ["none", *libs]}, count)
        results[case] = row
        cells = "".join(f"{row[lib]:>20.0f}" if row[lib] is not None else f"{'n/a':>20}" for lib in libs)
        print(f"{case:<24}{row['none']:>12.0f}{cells}", flush=True)
    if args.pybreaker:
        print("\ntripwire.pybreaker (pybreaker's code, one import changed) against pybreaker:")
        pybreaker_ratios(results)
        return
    service_libs = ["none", "tripwire", "tenacity+pybreaker"]
    service_row = measure({lib: service_success(lib) for lib in service_libs}, n // 4)
    results["service success (retry + breaker + bulkhead)"] = service_row
    print(
        f"{'service success':<24}{service_row['none']:>12.0f}{service_row['tripwire']:>16.0f}"
        f"{service_row['tenacity+pybreaker']:>16.0f}  (tripwire's execute_with_circuit_breaker | tenacity+pybreaker)",
        flush=True,
    )
    async_libs = ["none", "tripwire", "tenacity+aiobreaker"]
    async_row = measure({lib: service_async_success(lib) for lib in async_libs}, n // 8)
    results["service async success (retry + breaker + bulkhead)"] = async_row
    print(
        f"{'service async success':<24}{async_row['none']:>12.0f}{async_row['tripwire']:>16.0f}"
        f"{async_row['tenacity+aiobreaker']:>16.0f}  (tripwire's execute_with_circuit_breaker | tenacity+aiobreaker)",
        flush=True,
    )
    names = 100_000 if args.quick else 1_000_000
    growth, seconds, count, evictions = service_names(names)
    results[f"service, {names:,} distinct service names"] = {
        "rss_growth_bytes": growth,
        "seconds": seconds,
        "breakers": float(count),
        "evictions": float(evictions),
    }
    print(
        f"{'service names':<24}{names:,} distinct names: RSS +{growth / 2**20:.1f} MiB in {seconds:.1f} s, "
        f"{count} breakers live, {evictions:,} evicted",
        flush=True,
    )
    mem = {lib: memory(lib) for lib in LIBS}
    results["bytes per breaker (10,000)"] = {"none": None, **mem}
    print(f"{'bytes per breaker':<24}{'':>12}" + "".join(f"{mem[lib]:>20.0f}" for lib in LIBS))

    def overhead(case: str, lib: str) -> Optional[float]:
        v, base = results[case][lib], results[case]["none"]
        return None if v is None or base is None else v - base

    print("\ntripwire against the best peer (goal in brackets):")
    for case, goal in [("sync success", 0.35), ("sync failure", None), ("async success", 0.5)]:
        peers = {lib: overhead(case, lib) for lib in PEERS}
        known = {k: v for k, v in peers.items() if v is not None}
        best = min(known, key=lambda k: known[k])
        mine = overhead(case, "tripwire")
        assert mine is not None
        target = f"[<= {goal}]" if goal else ""
        print(
            f"  {case:<15} overhead over no breaker: tripwire {mine:5.0f} ns, best peer ({best}) "
            f"{known[best]:5.0f} ns, ratio {mine / known[best]:.2f} {target}"
        )
    # A refusal has no "no breaker" twin: compare the whole refused call.
    refused = {lib: results["open rejection"][lib] for lib in LIBS}
    best = min(PEERS, key=lambda k: refused[k] or float("inf"))
    mine_r, best_r = refused["tripwire"], refused[best]
    assert mine_r is not None and best_r is not None
    print(
        f"  {'open rejection':<15} refused call, raise and catch: tripwire {mine_r:5.0f} ns, best peer ({best}) "
        f"{best_r:5.0f} ns, ratio {mine_r / best_r:.2f} [<= 0.25]"
    )
    pybreaker_ratios(results)
    mine_s, peer_s = service_row["tripwire"], service_row["tenacity+pybreaker"]
    assert mine_s is not None and peer_s is not None
    print(
        f"  {'service success':<15} retry + breaker + bulkhead, whole call: tripwire {mine_s:5.0f} ns, "
        f"tenacity+pybreaker {peer_s:5.0f} ns, ratio {mine_s / peer_s:.2f} [<= 0.5]"
    )
    mine_a, peer_a = async_row["tripwire"], async_row["tenacity+aiobreaker"]
    assert mine_a is not None and peer_a is not None
    print(
        f"  {'service async':<15} the same, awaited: tripwire {mine_a:5.0f} ns, "
        f"tenacity+aiobreaker {peer_a:5.0f} ns, ratio {mine_a / peer_a:.2f}"
    )
    for case in ["8 threads, one breaker", "8 threads, ~1 us calls"]:
        t = results[case]
        assert t["tripwire"] is not None and t["none"] is not None
        print(f"  {case:<24} tripwire / no breaker: {t['tripwire'] / t['none']:.2f}x [<= 1.1]")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
