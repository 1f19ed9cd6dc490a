"""Checked by mypy --strict (tests/test_typing.py): the decorator keeps signatures."""

from __future__ import annotations

import asyncio

import tripwire
from tripwire import CircuitBreaker, CircuitState, ManualClock

breaker = CircuitBreaker("example", failure_threshold=3, recovery_timeout=10.0, clock=ManualClock())

# tripwire's own logger and result judging type-check too.
json_logger: tripwire.StructuredLogger = tripwire.create_logger("orders", level="warn")
previous = tripwire.set_logger(json_logger)
judged = CircuitBreaker("judged", is_failure_result=tripwire.http_failure, logger=tripwire.logger)
logged_service = tripwire.CircuitBreakerService(logger=json_logger)


@breaker
def get_user(user_id: int, *, verbose: bool = False) -> dict[str, int]:
    return {"id": user_id}


@breaker
async def fetch(url: str, retries: int = 0) -> bytes:
    await asyncio.sleep(0)
    return url.encode()


async def main() -> None:
    reveal_type(get_user)
    reveal_type(fetch)
    reveal_type(get_user(1, verbose=True))
    reveal_type(await fetch("x"))
    reveal_type(breaker.call(get_user, 2))
    reveal_type(await breaker.call_async(fetch, "y", retries=1))
    reveal_type(breaker.state)
    reveal_type(breaker.stats.failure_rate)
    reveal_type(tripwire.with_circuit_breaker("svc", lambda: 1))
    state: CircuitState = breaker.state
    assert state == "CLOSED"
    with breaker:
        pass
    async with breaker:
        pass
