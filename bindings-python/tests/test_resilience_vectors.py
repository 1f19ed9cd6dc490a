"""Replays tests/vectors/resilience/*.json (format in its README) through the installed
package: the compiled decisions (tripwire._core) and, where a vector can be driven
through it, the CircuitBreakerService and HealthCheckManager themselves."""

from __future__ import annotations

import asyncio
import json
import math
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import pytest

from tripwire import CircuitBreakerService, HealthCheckManager, ManualClock, _core

VECTORS = Path(__file__).resolve().parents[2] / "tests" / "vectors" / "resilience"
PATHS = sorted(VECTORS.glob("*.json"))


def load(path: Path) -> Dict[str, Any]:
    data: Dict[str, Any] = json.loads(path.read_text())
    return data


def of_kind(kind: str) -> List[Path]:
    return [p for p in PATHS if load(p)["kind"] == kind]


def seconds(options: Dict[str, Any]) -> Dict[str, Any]:
    """A vector's `{key[_ms]: value}` as Python options (seconds)."""
    return {(k[:-3] if k.endswith("_ms") else k): (v / 1000 if k.endswith("_ms") else v) for k, v in options.items()}


def close(want: Any, got: Any) -> bool:
    if isinstance(want, (int, float)) and not isinstance(want, bool) and isinstance(got, (int, float)):
        return math.isclose(want, got, rel_tol=0, abs_tol=1e-6)
    return bool(want == got)


def test_every_kind_is_replayed() -> None:
    kinds = {load(p)["kind"] for p in PATHS}
    assert kinds == {"retry_delays", "classify", "bulkhead", "health_checks", "service_health", "alerts"}
    assert len(PATHS) >= 10


# -- retry delays -------------------------------------------------------------------------


@pytest.mark.parametrize("path", of_kind("retry_delays"), ids=lambda p: p.stem)
def test_retry_delays_from_the_policy(path: Path) -> None:
    v = load(path)
    policy = _core.RetryPolicy(**seconds(v["policy"]), seed=v.get("seed"))
    if "seed" not in v:
        got = [policy.delay(i + 1, 0.0) * 1000 for i in range(len(v["delays_ms"]))]
    else:
        got = [policy.next_delay(i + 1) * 1000 for i in range(len(v["delays_ms"]))]
    for want, g in zip(v["delays_ms"], got):
        assert close(want, g), (v["name"], v["delays_ms"], got)


class Transient(Exception):
    code = "ECONNRESET"


@pytest.mark.parametrize("path", of_kind("retry_delays"), ids=lambda p: p.stem)
def test_retry_delays_through_the_service(path: Path) -> None:
    """The same schedule, as the spacing of the attempts a service makes (ManualClock)."""
    v = load(path)
    clock = ManualClock()
    service = CircuitBreakerService(clock=clock)
    calls: List[float] = []

    def op() -> None:
        calls.append(clock.now())
        raise Transient()

    policy = {**seconds(v["policy"]), "max_attempts": len(v["delays_ms"]) + 1, "seed": v.get("seed")}
    with pytest.raises(Transient):
        service.execute_with_circuit_breaker(
            "svc", "op", op, retry_policy=policy, config={"failure_threshold": 1000}
        )
    spacing = [(b - a) * 1000 for a, b in zip(calls, calls[1:])]
    assert len(spacing) == len(v["delays_ms"])
    for want, got in zip(v["delays_ms"], spacing):
        assert math.isclose(want, got, abs_tol=1e-3), (v["name"], v["delays_ms"], spacing)


# -- classification -------------------------------------------------------------------------


def cases(kind: str) -> List[Tuple[str, Dict[str, Any], Dict[str, Any]]]:
    out = []
    for p in of_kind(kind):
        v = load(p)
        for i, case in enumerate(v["cases"]):
            out.append((f"{p.stem}[{i}]", v, case))
    return out


CLASSIFY = cases("classify")


@pytest.mark.parametrize("vector, case", [(v, c) for _, v, c in CLASSIFY], ids=[i for i, _, _ in CLASSIFY])
def test_classification_by_the_policy(vector: Dict[str, Any], case: Dict[str, Any]) -> None:
    policy = _core.RetryPolicy(
        retryable_errors=vector["retryable_errors"], non_retryable_errors=vector["non_retryable_errors"]
    )
    assert policy.should_retry(case["code"], case["status"], case["circuit_open"]) is case["retry"]


class VectorError(Exception):
    def __init__(self, code: Optional[str], status: Optional[int]) -> None:
        super().__init__(code, status)
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status


@pytest.mark.parametrize("vector, case", [(v, c) for _, v, c in CLASSIFY], ids=[i for i, _, _ in CLASSIFY])
def test_classification_through_the_service(vector: Dict[str, Any], case: Dict[str, Any]) -> None:
    """An exception carrying the case's code and status is retried (2 attempts) or not
    (1); an open circuit is a breaker that the first failure opens."""
    service = CircuitBreakerService(clock=ManualClock())
    attempts = []

    def op() -> None:
        attempts.append(1)
        raise VectorError(case["code"], case["status"])

    with pytest.raises(VectorError):
        service.execute_with_circuit_breaker(
            "svc",
            "op",
            op,
            retry_policy={
                "max_attempts": 2,
                "retryable_errors": vector["retryable_errors"],
                "non_retryable_errors": vector["non_retryable_errors"],
            },
            config={"failure_threshold": 1 if case["circuit_open"] else 100},
        )
    assert len(attempts) == (2 if case["retry"] else 1)


# -- bulkhead -----------------------------------------------------------------------------


@pytest.mark.parametrize("path", of_kind("bulkhead"), ids=lambda p: p.stem)
def test_bulkhead(path: Path) -> None:
    v = load(path)
    clock = ManualClock()
    bulkhead = _core.Bulkhead(clock=clock, **seconds(v["config"]))
    for i, step in enumerate(v["steps"]):
        clock.set(step["at"] / 1000)
        seen: Dict[str, Any] = {}
        op = step["op"]
        if op == "enter":
            entry = bulkhead.try_enter()
            if entry in (_core.Bulkhead.RUN, _core.Bulkhead.RUN_SATURATED):
                seen["entry"] = "run"
                assert (entry == _core.Bulkhead.RUN_SATURATED) is bulkhead.saturated
            elif entry == _core.Bulkhead.REJECTED:
                seen["entry"] = "rejected"
            else:
                seen["entry"], seen["ticket_is"] = "queued", entry
        elif op == "leave":
            seen["admitted"] = bulkhead.leave()
        elif op == "abandon":
            seen["abandoned"] = bulkhead.abandon(step["ticket"])
        elif op == "expire":
            seen["expired"] = bulkhead.expire()
        else:
            pytest.fail(f"unknown op {op}")
        stats = bulkhead.stats
        seen["stats"] = {
            **stats,
            "mean_wait_ms": stats["mean_wait"] * 1000,
            "max_wait_ms": stats["max_wait"] * 1000,
        }
        for key, want in step.get("expect", {}).items():
            ctx = f"{v['name']} (step {i}) {key}"
            if key == "stats":
                for k, w in want.items():
                    assert close(w, seen["stats"][k]), (ctx, k, w, seen["stats"][k])
            else:
                assert key in seen, ctx
                assert close(want, seen[key]), (ctx, want, seen[key])


# -- health -------------------------------------------------------------------------------


HEALTH = cases("health_checks")


@pytest.mark.parametrize("case", [c for _, _, c in HEALTH], ids=[i for i, _, _ in HEALTH])
def test_health_checks(case: Dict[str, Any]) -> None:
    assert _core.check_health([tuple(c) for c in case["checks"]]) == case["expect"]
    # The same checks through a HealthCheckManager.
    manager = HealthCheckManager(service_name="vector")
    for i, (critical, passed) in enumerate(case["checks"]):

        def check(p: bool = passed) -> Tuple[bool, str]:
            return p, "vector"

        manager.register_check(name=f"c{i}", check=check, critical=critical)
    assert asyncio.run(manager.execute_health_checks())["status"] == case["expect"]


SERVICES = cases("service_health")


@pytest.mark.parametrize("case", [c for _, _, c in SERVICES], ids=[i for i, _, _ in SERVICES])
def test_service_health(case: Dict[str, Any]) -> None:
    assert _core.service_health(case["breakers"], case["bulkhead_saturated"]) == case["expect"]


# Through the service: the cases without a saturated bulkhead (holding a slot needs a
# call in flight, whose own breaker would join the service's; saturation through the
# service is tested in test_service_bulkhead.py).
UNSATURATED = [(i, c) for i, _, c in SERVICES if not c["bulkhead_saturated"]]


@pytest.mark.parametrize("case", [c for _, c in UNSATURATED], ids=[i for i, _ in UNSATURATED])
def test_service_health_through_the_service(case: Dict[str, Any]) -> None:
    """Breakers put in each state (CLOSED: a success; OPEN: forced; HALF_OPEN: opened by
    a failure, then the recovery timeout passes)."""
    clock = ManualClock()
    service = CircuitBreakerService(clock=clock)
    service.update_service_config("svc", config={"failure_threshold": 1, "recovery_timeout": 10})

    def fail() -> None:
        raise ValueError("down")

    for i, state in enumerate(case["breakers"]):
        if state == "CLOSED":
            service.execute_with_circuit_breaker("svc", f"op{i}", lambda: None)
        elif state == "OPEN":
            service.force_circuit_breaker_open("svc", f"op{i}")
        else:
            with pytest.raises(ValueError):
                service.execute_with_circuit_breaker("svc", f"op{i}", fail)
    clock.advance(10)
    health = service.get_system_health()
    assert list(health["services"]["svc"]["circuits"].values()) == case["breakers"]
    assert health["services"]["svc"]["status"] == case["expect"]
    assert health["overall"] == case["expect"]


# -- alerts -------------------------------------------------------------------------------


def alert_cases(section: str) -> List[Tuple[str, Dict[str, Any]]]:
    return [(f"{p.stem}.{section}[{i}]", c) for p in of_kind("alerts") for i, c in enumerate(load(p)[section])]


ERROR_RATE = alert_cases("error_rate")
DEAD_LETTER = alert_cases("dead_letter")
ALL_OPEN = alert_cases("all_circuits_open")


@pytest.mark.parametrize("case", [c for _, c in ERROR_RATE], ids=[i for i, _ in ERROR_RATE])
def test_error_rate_alert(case: Dict[str, Any]) -> None:
    assert _core.error_rate_alert(case["window_calls"], case["window_failures"]) is case["expect"]


@pytest.mark.parametrize("case", [c for _, c in DEAD_LETTER], ids=[i for i, _ in DEAD_LETTER])
def test_dead_letter_alert(case: Dict[str, Any]) -> None:
    assert _core.dead_letter_alert(case["size"]) is case["expect"]


@pytest.mark.parametrize("case", [c for _, c in ALL_OPEN], ids=[i for i, _ in ALL_OPEN])
def test_all_circuits_open_alert(case: Dict[str, Any]) -> None:
    assert _core.all_circuits_open_alert(case["breakers"], case["ongoing"]) is case["expect"]


# Through the service: a breaker's window filled with the case's calls (successes first,
# then failures: both parts of the condition only grow, so the alert fires during the
# run iff it holds at the end); a dead-letter queue filled to the case's size.
SMALL_WINDOWS = [(i, c) for i, c in ERROR_RATE if c["window_calls"] <= 100]


@pytest.mark.parametrize("case", [c for _, c in SMALL_WINDOWS], ids=[i for i, _ in SMALL_WINDOWS])
def test_error_rate_alert_through_the_service(case: Dict[str, Any]) -> None:
    alerts: List[str] = []
    service = CircuitBreakerService(clock=ManualClock(), on_alert=lambda a: alerts.append(a.type))
    service.update_service_config("svc", config={"failure_threshold": 1000}, retry_policy={"max_attempts": 1})

    def fail() -> None:
        raise ValueError("down")

    for _ in range(case["window_calls"] - case["window_failures"]):
        service.execute_with_circuit_breaker("svc", "op", lambda: None)
    for _ in range(case["window_failures"]):
        with pytest.raises(ValueError):
            service.execute_with_circuit_breaker("svc", "op", fail)
    stats = service.get_circuit_breaker("svc", "op").stats
    assert (stats.window_calls, stats.window_failures) == (case["window_calls"], case["window_failures"])
    assert alerts.count("high-error-rate") == (1 if case["expect"] else 0)


@pytest.mark.parametrize("case", [c for _, c in DEAD_LETTER], ids=[i for i, _ in DEAD_LETTER])
def test_dead_letter_alert_through_the_service(case: Dict[str, Any]) -> None:
    alerts: List[str] = []
    service = CircuitBreakerService(clock=ManualClock(), on_alert=lambda a: alerts.append(a.type))
    service.update_service_config("svc", config={"failure_threshold": 100_000}, retry_policy={"max_attempts": 1})

    def fail() -> None:
        raise ValueError("down")

    for _ in range(case["size"]):
        service.execute_with_circuit_breaker("svc", "op", fail, fallback_options={"queue": True, "fallback_value": None})
    assert service.get_dead_letter_stats()["size"] == case["size"]
    assert alerts.count("dead-letter-queue") == (1 if case["expect"] else 0)
