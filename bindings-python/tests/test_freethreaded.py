"""On a free-threaded CPython (3.13t+): importing tripwire keeps the GIL disabled
(the module declares gil_used = false) and counts stay exact with truly parallel
threads. Skipped on GIL builds: none of the project's machines can install a
free-threaded interpreter today."""

from __future__ import annotations

import sys
import sysconfig
import threading

import pytest

FREE_THREADED = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))

pytestmark = pytest.mark.skipif(not FREE_THREADED, reason="needs a free-threaded CPython build")


def test_import_keeps_the_gil_disabled() -> None:
    import tripwire  # noqa: F401

    assert not sys._is_gil_enabled()  # type: ignore[attr-defined]


def test_parallel_threads_keep_exact_counts() -> None:
    from tripwire import CircuitBreaker

    breaker = CircuitBreaker("free-threaded", failure_threshold=0.99)
    barrier = threading.Barrier(8)

    def fail() -> None:
        raise ValueError()

    def worker() -> None:
        barrier.wait()
        for i in range(20_000):
            if i % 4 == 0:
                try:
                    breaker.call(fail)
                except ValueError:
                    pass
            else:
                breaker.call(int)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stats = breaker.stats
    assert (stats.success_count, stats.failure_count) == (8 * 15_000, 8 * 5_000)
