"""The service vectors (tests/vectors/service/*.json, format in its README.md) replayed
through the public ``CircuitBreakerService`` API on a ``ManualClock``: the scenarios the
core engine replays in core/tests/service_vectors.rs and Node in
bindings-node/test/service-vectors.test.mjs. Calls are ``async def`` functions run as
asyncio tasks (a ``hang`` attempt waits on a future the vector settles later). An
unknown op, expect key, attempt or fallback fails the vector."""

from __future__ import annotations

import asyncio
import json
import math
import pathlib
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple

import pytest

from tripwire import BulkheadRejectedError, CircuitBreakerError, CircuitBreakerService, ManualClock

DIR = pathlib.Path(__file__).resolve().parents[2] / "tests" / "vectors" / "service"
FILES = sorted(DIR.glob("*.json"))


def key(name: str) -> str:
    """``recovery_timeout_ms`` → ``recovery_timeout`` (the value is divided by 1000)."""
    return name[:-3] if name.endswith("_ms") else name


def options(value: Any) -> Any:
    """Option dicts with their keys turned, ``_ms`` values in seconds (nested too)."""
    if not isinstance(value, dict):
        return value
    out = {}
    for k, v in value.items():
        if k.endswith("_ms") and isinstance(v, (int, float)) and not isinstance(v, bool):
            v = v / 1000
        out[key(k)] = options(v)
    return out


class VectorError(Exception):
    """An attempt's failure (``"fail"``, ``{"code": ...}``, ``{"status": ...}``)."""

    def __init__(self, attempt: Any, script: Script) -> None:
        super().__init__(f"fail {attempt!r}")
        self.script = script
        if isinstance(attempt, dict):
            for k, v in attempt.items():
                if k not in ("code", "status"):
                    raise AssertionError(f"unknown attempt field {k}")
                setattr(self, k, v)
        elif attempt != "fail":
            raise AssertionError(f"unknown attempt {attempt!r}")


@dataclass
class Script:
    """One call's protected function: answers ``attempts`` in order, counting runs."""

    attempts: List[Any]
    hangs: List[Tuple[Script, asyncio.Future[Any]]]
    runs: int = 0

    async def fn(self) -> Any:
        i = self.runs
        self.runs += 1
        if i >= len(self.attempts):
            raise AssertionError(f"the vector's function ran {i + 1} times; it lists {len(self.attempts)} attempts")
        a = self.attempts[i]
        if a == "ok":
            return "ok"
        if a == "hang":
            future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            self.hangs.append((self, future))
            return await future
        raise VectorError(a, self)


@dataclass
class Record:
    script: Script
    started: float
    task: Optional[asyncio.Future[Any]] = None
    ended: Optional[float] = None
    outcome: Optional[Tuple[bool, Any]] = field(default=None)


def split_name(name: str) -> Tuple[str, str]:
    """A breaker's name → (service, operation): parts escaped ``%25`` / ``%3A``."""
    service, sep, operation = name.partition(":")
    assert sep, f"not an operation breaker's name: {name!r}"

    def unescape(part: str) -> str:
        return part.replace("%3A", ":").replace("%25", "%")

    return unescape(service), unescape(operation)


async def settle() -> None:
    """Runs the work that is due (callbacks, woken tasks), the clock standing still."""
    for _ in range(25):
        await asyncio.sleep(0)


async def replay(vector: Dict[str, Any]) -> CircuitBreakerService:
    clock = ManualClock(0)
    svc = CircuitBreakerService(clock=clock, **options(vector.get("settings", {})))
    alerts: List[List[Optional[str]]] = []
    svc.on_alert(lambda a: alerts.append([a.type, a.service, a.operation]))
    calls: Dict[str, Record] = {}
    hangs: List[Tuple[Script, asyncio.Future[Any]]] = []
    last_queued: Dict[Tuple[str, str], Script] = {}

    def start(script: Script, run: Any) -> Record:
        record = Record(script, clock.now())

        async def wrapped() -> None:
            try:
                value = await run
            except BaseException as error:  # noqa: BLE001 - every outcome is checked
                record.outcome = (False, error)
            else:
                record.outcome = (True, value)
            record.ended = clock.now()

        record.task = asyncio.ensure_future(wrapped())
        return record

    async def finish(record: Record) -> None:
        """Runs due work and moves the clock to the next timer until the call ends."""
        for _ in range(100_000):
            await settle()
            if record.outcome is not None:
                return
            wait = clock._next_timer()
            if wait is None:
                raise AssertionError("the call waits on nothing: it would never end")
            clock.advance(wait)
        raise AssertionError("the call did not end")

    def check(record: Record, expect: Dict[str, Any], where: str) -> None:
        assert record.outcome is not None and record.ended is not None
        ok, value = record.outcome
        for k, want in expect.items():
            if k == "result":
                got = "error" if not ok else value if value in ("ok", "fallback") else f"value {value!r}"
                assert got == want, f"{where}: result ({value!r})"
            elif k == "error":
                if isinstance(value, BulkheadRejectedError):
                    got = "bulkhead-full" if value.reason == "full" else value.reason
                elif isinstance(value, CircuitBreakerError):
                    got = "open"
                elif isinstance(value, VectorError):
                    got = "upstream"
                else:
                    got = f"other: {value!r}"
                assert got == want, f"{where}: error"
            elif k == "runs":
                assert record.script.runs == want, f"{where}: runs"
            elif k == "elapsed_ms":
                assert math.floor((record.ended - record.started) * 1000 + 1e-6) == want, f"{where}: elapsed_ms"
            else:
                raise AssertionError(f"{where}: unknown expect key {k}")

    for n, step in enumerate(vector["steps"]):
        op = step["op"]
        where = f"step {n} ({op})"
        if op == "configure":
            update = options(step["update"])
            error = step.get("error")
            if error is not None:
                kinds: Dict[str, type] = {"type": TypeError, "range": ValueError}
                if error["kind"] not in kinds:
                    raise AssertionError(f"{where}: unknown error kind {error['kind']}")
                before = json.dumps(svc.get_service_config(step["service"]), sort_keys=True)
                option = key(error["option"])
                with pytest.raises(kinds[error["kind"]]) as info:
                    svc.update_service_config(step["service"], **update)
                assert option in str(info.value), f"{where}: {info.value} names {option}"
                after = json.dumps(svc.get_service_config(step["service"]), sort_keys=True)
                assert after == before, f"{where}: a bad update changes nothing"
            else:
                svc.update_service_config(step["service"], **update)
        elif op == "call":
            script = Script(step["attempts"], hangs)
            fallback = step.get("fallback")
            if step.get("kind") == "execute":
                if fallback not in (None, "value"):
                    raise AssertionError(f"{where}: execute takes fallback 'value' only")
                fb: Optional[Callable[[], str]] = (lambda: "fallback") if fallback == "value" else None
                run = svc.execute(step["service"], step["operation"], script.fn, fb, options(step.get("config")))
            else:
                if step.get("kind") is not None:
                    raise AssertionError(f"{where}: unknown call kind {step['kind']}")
                kwargs: Dict[str, Any] = {}
                if fallback is not None:
                    fbo = {
                        "value": {"fallback_value": "fallback"},
                        "queue": {"queue": True},
                        "queue+value": {"queue": True, "fallback_value": "fallback"},
                    }.get(fallback)
                    if fbo is None:
                        raise AssertionError(f"{where}: unknown fallback {fallback}")
                    kwargs["fallback_options"] = fbo
                    if fbo.get("queue"):
                        last_queued[(step["service"], step["operation"])] = script
                if "retry_policy" in step:
                    kwargs["retry_policy"] = options(step["retry_policy"])
                if "config" in step:
                    kwargs["config"] = options(step["config"])
                run = svc.execute_with_circuit_breaker(step["service"], step["operation"], script.fn, **kwargs)
            record = start(script, run)
            if "id" in step:
                calls[step["id"]] = record
                await settle()
            else:
                await finish(record)
                check(record, step.get("expect", {}), where)
        elif op == "settle":
            record = calls[step["id"]]
            i = next((i for i, (s, _) in enumerate(hangs) if s is record.script), None)
            if i is None:
                raise AssertionError(f"{where}: call {step['id']} has no attempt waiting")
            script, future = hangs.pop(i)
            if step["outcome"] == "ok":
                future.set_result("ok")
            else:
                future.set_exception(VectorError(step["outcome"], script))
            await settle()
        elif op == "await":
            record = calls[step["id"]]
            await finish(record)
            check(record, step.get("expect", {}), where)
        elif op == "advance":
            clock.advance(step["ms"] / 1000)
            await settle()
        elif op == "get":
            svc.get_circuit_breaker(step["service"], step["operation"])
        elif op == "force_open":
            svc.force_circuit_breaker_open(step["service"], step.get("operation"))
        elif op == "reset":
            svc.reset_circuit_breaker(step["service"], step.get("operation"))
        elif op == "retry_dead_letter":
            item = svc.get_dead_letter_queue()[step["index"]]
            error = item.error
            script = error.script if isinstance(error, VectorError) else last_queued[(item.service, item.operation)]
            script.attempts = step["attempts"]
            script.runs = 0
            record = start(script, svc.retry_dead_letter_item(item.id))
            await finish(record)
            check(record, step.get("expect", {}), where)
        elif op == "remove_dead_letter":
            item = svc.get_dead_letter_queue()[step["index"]]
            assert svc.remove_dead_letter_item(item.id) is True, where
        elif op == "check":
            check_service(svc, step["expect"], alerts, where)
        else:
            raise AssertionError(f"{where}: unknown op {op}")
        await settle()
    for record in calls.values():
        if record.task is not None and not record.task.done():
            record.task.cancel()
    return svc


def check_service(svc: CircuitBreakerService, expect: Dict[str, Any], alerts: List[Any], where: str) -> None:
    for k, want in expect.items():
        at = f"{where}: {k}"
        if k == "breakers":
            got = sorted(
                [*split_name(name), stats.state.value] for name, stats in svc.get_circuit_breaker_state().items()
            )
            assert got == want, at
        elif k == "count":
            assert svc.get_system_health()["breakers"]["count"] == want, at
        elif k == "evictions":
            assert svc.get_system_health()["breakers"]["evictions"] == want, at
        elif k == "names":
            assert sorted(svc.get_circuit_breaker_state()) == sorted(want), at
        elif k == "health":
            h = json.loads(json.dumps(svc.get_system_health()))
            got = {"overall": h["overall"], "services": {n: s["status"] for n, s in h["services"].items()}}
            assert got == want, at
        elif k == "alerts":
            got = alerts[:]
            alerts.clear()
            assert got == want, at
        elif k == "dead_letters":
            assert [[i.service, i.operation, i.attempts] for i in svc.get_dead_letter_queue()] == want, at
        elif k == "dead_letter_stats":
            s = svc.get_dead_letter_stats()
            for name, v in want.items():
                assert s[name] == v, f"{at}.{name}"
        elif k == "bulkhead":
            b = svc.get_bulkhead_stats(want["service"])
            for name, v in want.items():
                if name != "service":
                    assert b is not None and b[name] == v, f"{at}.{name}"
        elif k == "retries":
            stats = svc.get_service_stats(want["service"])
            assert stats is not None, at
            for name, v in want.items():
                if name != "service":
                    assert stats["retries"][name] == v, f"{at}.{name}"
        elif k == "config":
            c = svc.get_service_config(want["service"])
            got = {
                "service": want["service"],
                "preset": c["preset"],
                "max_attempts": c["retry_policy"]["max_attempts"],
                "max_concurrent": c["bulkhead"]["max_concurrent"],
                "failure_threshold": c["config"]["failure_threshold"],
            }
            unknown = set(want) - set(got)
            assert not unknown, f"{at}: unknown config keys {unknown}"
            assert {n: got[n] for n in want} == want, at
        elif k == "stats":
            s = svc.get_circuit_breaker_stats(want["service"], want["operation"])
            assert s is not None, at
            got = {
                "service": want["service"],
                "operation": want["operation"],
                "state": s.state.value,
                "failures": s.failure_count,
                "successes": s.success_count,
                "rejected": s.rejected_count,
            }
            unknown = set(want) - set(got)
            assert not unknown, f"{at}: unknown stats keys {unknown}"
            assert {n: got[n] for n in want} == want, at
        else:
            raise AssertionError(f"{at}: unknown expect key")


def test_there_are_service_vectors() -> None:
    assert len(FILES) >= 30, f"{len(FILES)} vectors"


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_service_vector(path: pathlib.Path) -> None:
    vector = json.loads(path.read_text(encoding="utf-8"))
    asyncio.run(replay(vector))
