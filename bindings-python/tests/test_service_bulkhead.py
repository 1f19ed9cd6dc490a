"""The service's bulkhead: peak concurrency, FIFO queueing, rejection, max_queue_wait,
one slot for a whole retry sequence; with asyncio tasks and with threads."""

from __future__ import annotations

import asyncio
import gc
import threading
import time
from typing import Any, List

import pytest

from tripwire import Alert, BulkheadRejectedError, CircuitBreakerService, ManualClock


class CodedError(Exception):
    code = "ECONNRESET"


def test_async_peak_concurrency_fifo_and_rejection() -> None:
    s = CircuitBreakerService()
    s.update_service_config("llm", bulkhead={"max_concurrent": 2, "queue_size": 3})
    running = 0
    peak = 0
    order: List[int] = []
    release = asyncio.Event

    async def main() -> None:
        nonlocal running, peak
        gate = release()

        def job(i: int) -> Any:
            async def run() -> int:
                nonlocal running, peak
                running += 1
                peak = max(peak, running)
                order.append(i)
                await gate.wait()
                running -= 1
                return i

            return run

        tasks = [asyncio.ensure_future(s.execute_with_circuit_breaker("llm", f"op{i % 2}", job(i))) for i in range(5)]
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        stats = s.get_bulkhead_stats("llm")
        assert stats is not None and (stats["running"], stats["queued"]) == (2, 3)
        with pytest.raises(BulkheadRejectedError, match="bulkhead"):
            await s.execute_with_circuit_breaker("llm", "op0", job(99))
        assert (
            await s.execute_with_circuit_breaker("llm", "op0", job(98), fallback_options={"fallback_value": "busy"})
            == "busy"
        )
        assert s.get_system_health()["services"]["llm"]["status"] == "degraded"  # saturated
        gate.set()
        assert await asyncio.gather(*tasks) == [0, 1, 2, 3, 4]

    asyncio.run(main())
    assert peak == 2
    assert order == [0, 1, 2, 3, 4]  # FIFO
    stats = s.get_bulkhead_stats("llm")
    assert stats is not None
    assert (stats["running"], stats["queued"], stats["rejected"], stats["admitted"], stats["peak_running"]) == (
        0,
        0,
        2,
        5,
        2,
    )
    assert s.get_system_health()["services"]["llm"]["status"] == "healthy"


def test_threads_never_exceed_max_concurrent() -> None:
    s = CircuitBreakerService()
    s.update_service_config("db", bulkhead={"max_concurrent": 3, "queue_size": 100})
    lock = threading.Lock()
    running = 0
    peak = 0
    done = []

    def work() -> str:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        for _ in range(2000):
            pass
        with lock:
            running -= 1
        return "ok"

    def worker() -> None:
        for _ in range(50):
            done.append(s.execute_with_circuit_breaker("db", "q", work))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(done) == 400 and set(done) == {"ok"}
    assert peak <= 3
    stats = s.get_bulkhead_stats("db")
    assert stats is not None and stats["peak_running"] <= 3 and stats["admitted"] == 400
    assert (stats["running"], stats["queued"], stats["rejected"]) == (0, 0, 0)


def test_a_sync_call_waits_in_the_queue_for_a_thread() -> None:
    s = CircuitBreakerService()
    s.update_service_config("api", bulkhead={"max_concurrent": 1, "queue_size": 1})
    inside = threading.Event()
    leave = threading.Event()
    results: List[str] = []

    def holder() -> str:
        inside.set()
        leave.wait()
        return "first"

    t = threading.Thread(target=lambda: results.append(s.execute_with_circuit_breaker("api", "a", holder)))
    t.start()
    inside.wait()
    t2 = threading.Thread(target=lambda: results.append(s.execute_with_circuit_breaker("api", "b", lambda: "second")))
    t2.start()
    while (s.get_bulkhead_stats("api") or {}).get("queued") != 1:
        threading.Event().wait(0.001)
    with pytest.raises(BulkheadRejectedError):
        s.execute_with_circuit_breaker("api", "c", lambda: "third")
    leave.set()
    t.join()
    t2.join()
    assert results == ["first", "second"]


def test_max_queue_wait_rejects_a_waiting_call() -> None:
    s = CircuitBreakerService()
    s.update_service_config("api", bulkhead={"max_concurrent": 1, "queue_size": 5, "max_queue_wait": 0.02})

    async def main() -> None:
        gate = asyncio.Event()

        async def hold() -> str:
            await gate.wait()
            return "held"

        first = asyncio.ensure_future(s.execute_with_circuit_breaker("api", "x", hold))
        await asyncio.sleep(0)

        async def quick() -> str:
            return "quick"

        with pytest.raises(BulkheadRejectedError) as info:
            await s.execute_with_circuit_breaker("api", "y", quick)
        assert info.value.reason == "queue-timeout"
        gate.set()
        assert await first == "held"
        assert await s.execute_with_circuit_breaker("api", "y", quick) == "quick"

    asyncio.run(main())
    stats = s.get_bulkhead_stats("api")
    assert stats is not None and (stats["rejected"], stats["queued"], stats["running"]) == (1, 0, 0)


def test_a_cancelled_waiting_task_gives_its_place_back() -> None:
    s = CircuitBreakerService()
    s.update_service_config("api", bulkhead={"max_concurrent": 1, "queue_size": 5})

    async def main() -> None:
        gate = asyncio.Event()

        async def hold() -> str:
            await gate.wait()
            return "held"

        first = asyncio.ensure_future(s.execute_with_circuit_breaker("api", "x", hold))
        await asyncio.sleep(0)
        waiting = asyncio.ensure_future(s.execute_with_circuit_breaker("api", "x", hold))
        await asyncio.sleep(0)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        gate.set()
        assert await first == "held"

    asyncio.run(main())
    stats = s.get_bulkhead_stats("api")
    assert stats is not None and (stats["running"], stats["queued"]) == (0, 0)


def test_an_async_call_that_never_starts_gives_its_slot_and_place_back() -> None:
    # The slot (or queue place) is taken when the call is made; a coroutine closed,
    # dropped or cancelled before it runs a line must still give it back, or the
    # bulkhead (and a half-open breaker's trial) stays taken for good.
    s = CircuitBreakerService()
    s.update_service_config("api", bulkhead={"max_concurrent": 1, "queue_size": 1})

    async def ok() -> str:
        return "ok"

    def counts() -> Any:
        stats = s.get_bulkhead_stats("api")
        assert stats is not None
        return (stats["running"], stats["queued"])

    async def main() -> None:
        admitted = s.execute_with_circuit_breaker("api", "x", ok)
        queued = s.execute_with_circuit_breaker("api", "x", ok)
        assert counts() == (1, 1)
        queued.close()  # the queued call leaves the queue
        assert counts() == (1, 0)
        admitted.close()  # the running call's slot goes back
        assert counts() == (0, 0)

        # A task cancelled before its first step: its coroutine is never entered.
        task = asyncio.ensure_future(s.execute_with_circuit_breaker("api", "x", ok))
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # The coroutine's frame (holding the call) lives as long as the cancellation's
        # traceback: the task, which the loop's last handle still references.
        del task
        await asyncio.sleep(0)
        gc.collect()
        assert counts() == (0, 0)

        # A breaker that does not take the quick path (a call timeout): the same
        # through the service's step.
        s2 = CircuitBreakerService()
        s2.update_service_config("db", bulkhead={"max_concurrent": 1, "queue_size": 0})
        dropped = s2.execute_with_circuit_breaker("db", "q", ok, config={"timeout": 5.0})
        dropped.close()
        stats = s2.get_bulkhead_stats("db")
        assert stats is not None and stats["running"] == 0
        assert await s2.execute_with_circuit_breaker("db", "q", ok) == "ok"

        assert await s.execute_with_circuit_breaker("api", "x", ok) == "ok"

    asyncio.run(main())
    assert counts() == (0, 0)


def test_one_slot_for_the_whole_retry_sequence() -> None:
    clock = ManualClock()
    s = CircuitBreakerService(clock=clock)
    s.update_service_config("db", bulkhead={"max_concurrent": 1, "queue_size": 0})
    seen: List[Any] = []

    def op() -> None:
        stats = s.get_bulkhead_stats("db")
        assert stats is not None
        seen.append((stats["running"], stats["admitted"]))
        raise CodedError()

    with pytest.raises(CodedError):
        s.execute_with_circuit_breaker("db", "q", op, retry_policy={"max_attempts": 3})
    assert seen == [(1, 1), (1, 1), (1, 1)]  # three attempts, one admission


def test_raising_the_limit_admits_waiting_calls() -> None:
    s = CircuitBreakerService()
    s.update_service_config("api", bulkhead={"max_concurrent": 1, "queue_size": 5})

    async def main() -> None:
        gate = asyncio.Event()

        async def hold() -> str:
            await gate.wait()
            return "held"

        async def quick() -> str:
            return "quick"

        first = asyncio.ensure_future(s.execute_with_circuit_breaker("api", "x", hold))
        await asyncio.sleep(0)
        second = asyncio.ensure_future(s.execute_with_circuit_breaker("api", "y", quick))
        await asyncio.sleep(0)
        assert not second.done()
        s.update_service_config("api", bulkhead={"max_concurrent": 2})
        assert await second == "quick"  # admitted while the first still holds its slot
        gate.set()
        assert await first == "held"

    asyncio.run(main())


def test_bulkhead_alert_once_per_episode() -> None:
    alerts: List[Alert] = []
    s = CircuitBreakerService(on_alert=alerts.append)
    s.update_service_config("api", bulkhead={"max_concurrent": 1, "queue_size": 0})

    async def main() -> None:
        async def quick() -> str:
            return "quick"

        for episode in range(2):
            gate = asyncio.Event()

            async def hold() -> str:
                await gate.wait()
                return "held"

            first = asyncio.ensure_future(s.execute_with_circuit_breaker("api", "x", hold))
            await asyncio.sleep(0)
            assert [a.type for a in alerts] == ["bulkhead-full"] * episode  # running at capacity is no alert
            for _ in range(3):
                assert await s.execute_with_circuit_breaker("api", "y", quick, fallback_options={"fallback_value": 0}) == 0
            assert [a.type for a in alerts] == ["bulkhead-full"] * (episode + 1)
            gate.set()
            await first  # a call ends with no one waiting: the episode ends

    asyncio.run(main())


def test_queue_races_leave_exact_counts_and_no_leftovers() -> None:
    """Threads and tasks queueing with a short max_queue_wait (and tasks cancelled while
    waiting): every call is admitted or rejected exactly once, and no waiter, grant or
    mark is left behind (the engine's table of wakers is white-box checked)."""
    import collections
    import random
    import time

    s = CircuitBreakerService()
    s.update_service_config("t", bulkhead={"max_concurrent": 2, "queue_size": 5, "max_queue_wait": 0.002})
    outcomes: collections.Counter[int] = collections.Counter()
    lock = threading.Lock()

    def work() -> int:
        time.sleep(0.0002)  # releases the GIL: the threads really overlap
        return 1

    def worker() -> None:
        for _ in range(100):
            r = s.execute_with_circuit_breaker("t", "op", work, fallback_options={"fallback_value": 0})
            with lock:
                outcomes[r] += 1

    threads = [threading.Thread(target=worker) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stats = s.get_bulkhead_stats("t")
    assert stats is not None
    assert (stats["running"], stats["queued"]) == (0, 0)
    assert (stats["admitted"], stats["rejected"]) == (outcomes[1], outcomes[0])
    assert sum(outcomes.values()) == 1200
    assert s._core.waker_count() == 0

    s.update_service_config("a", bulkhead={"max_concurrent": 3, "queue_size": 10, "max_queue_wait": 0.002})

    async def main() -> List[Any]:
        async def op() -> int:
            await asyncio.sleep(random.random() * 0.001)
            return 1

        results: List[Any] = []
        for _ in range(20):
            tasks = [
                asyncio.ensure_future(s.execute_with_circuit_breaker("a", "op", op, fallback_options={"fallback_value": 0}))
                for _ in range(20)
            ]
            await asyncio.sleep(0.0005)
            for t in random.sample(tasks, 5):
                t.cancel()
            results += await asyncio.gather(*tasks, return_exceptions=True)
        return results

    results = asyncio.run(main())
    stats = s.get_bulkhead_stats("a")
    assert stats is not None and (stats["running"], stats["queued"]) == (0, 0)
    ran = sum(1 for r in results if r == 1)
    assert stats["admitted"] >= ran  # a task cancelled after admission gave its slot back
    assert stats["admitted"] + stats["rejected"] == 400
    assert s._core.waker_count() == 0


_ONE_RETRY = {"max_attempts": 2, "base_delay": 1.0, "jitter": 0}


def _down() -> None:
    raise CodedError("down")


def _slots(s: CircuitBreakerService) -> Any:
    stats = s.get_bulkhead_stats("svc")
    assert stats is not None
    return (stats["running"], stats["queued"])


@pytest.mark.parametrize("clock", [ManualClock(), None], ids=["ManualClock", "process clock"])
def test_an_async_call_cancelled_between_attempts_gives_its_slot_back(clock: Any) -> None:
    s = CircuitBreakerService(clock=clock)
    s.update_service_config("svc", bulkhead={"max_concurrent": 1, "queue_size": 0})

    async def fail() -> None:
        _down()

    async def main() -> None:
        call = s.execute_with_circuit_breaker("svc", "op", fail, retry_policy=_ONE_RETRY)
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(call, 0.05)

    asyncio.run(main())
    assert _slots(s) == (0, 0)
    assert s.execute_with_circuit_breaker("svc", "op", lambda: "next") == "next"


def test_a_sync_call_interrupted_between_attempts_gives_its_slot_back(monkeypatch: pytest.MonkeyPatch) -> None:
    s = CircuitBreakerService()
    s.update_service_config("svc", bulkhead={"max_concurrent": 1, "queue_size": 0})

    def interrupted(_: float) -> None:
        raise KeyboardInterrupt

    # Ctrl-C during the retry's sleep (raised as the sleep starts).
    monkeypatch.setattr(time, "sleep", interrupted)
    with pytest.raises(KeyboardInterrupt):
        s.execute_with_circuit_breaker("svc", "op", _down, retry_policy=_ONE_RETRY)
    monkeypatch.undo()
    assert _slots(s) == (0, 0)
    assert s.execute_with_circuit_breaker("svc", "op", lambda: "next") == "next"


def test_a_retry_past_the_manual_clocks_last_instant_is_an_error_that_gives_the_slot_back() -> None:
    clock = ManualClock(2**62 / 1e9 - 0.5)
    s = CircuitBreakerService(clock=clock)
    s.update_service_config("svc", bulkhead={"max_concurrent": 1, "queue_size": 1})

    async def fail() -> None:
        _down()

    with pytest.raises(ValueError, match="2\\^62"):
        s.execute_with_circuit_breaker("svc", "op", _down, retry_policy=_ONE_RETRY)
    assert _slots(s) == (0, 0)
    # Async: the retry's timer could never fire (the call hung, holding its slot).
    with pytest.raises(ValueError, match="2\\^62"):
        asyncio.run(s.execute_with_circuit_breaker("svc", "op", fail, retry_policy=_ONE_RETRY))
    assert _slots(s) == (0, 0)
    assert s.execute_with_circuit_breaker("svc", "op", lambda: "next") == "next"


def test_a_call_queued_with_no_max_queue_wait_hears_of_one_set_later() -> None:
    clock = ManualClock()
    s = CircuitBreakerService(clock=clock)
    s.update_service_config("svc", bulkhead={"max_concurrent": 1, "queue_size": 5})

    async def main() -> None:
        gate = asyncio.Event()
        held = asyncio.ensure_future(s.execute_with_circuit_breaker("svc", "op", gate.wait))
        await asyncio.sleep(0)

        async def ran() -> str:
            return "ran"

        waiting = asyncio.ensure_future(s.execute_with_circuit_breaker("svc", "op", ran))
        await asyncio.sleep(0)
        assert _slots(s) == (1, 1)
        clock.advance(0.1)
        s.update_service_config("svc", bulkhead={"max_concurrent": 1, "queue_size": 5, "max_queue_wait": 0.5})
        await asyncio.sleep(0)
        assert not waiting.done()
        # Past 0.5 s of waiting (counted from when it queued): refused.
        clock.advance(0.5)
        with pytest.raises(BulkheadRejectedError, match="max_queue_wait"):
            await asyncio.wait_for(waiting, 5)
        gate.set()
        await held

    asyncio.run(main())
    assert _slots(s) == (0, 0)
    assert s._core.waker_count() == 0
