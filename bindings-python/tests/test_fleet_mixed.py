"""A mixed fleet (issue 13): two Node processes and two Python processes share one
breaker through a real redis-server. A trip in one is a refusal in the other three;
with ``half_open_max_calls=1`` and all four asking at once, exactly one trial runs.

The Node processes are ``node -e`` children using this checkout's Node package (its
addon built by ``make test-node``); the test is skipped, saying why, when node, the
built addon or its ``RedisStore`` is missing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import textwrap
from pathlib import Path
from typing import List

import pytest
from test_fleet import ASK_FOR_A_TRIAL, Redis, eventually, expect, fleet_child, joined, trials, redis  # noqa: F401 (the fixture)

import tripwire
from tripwire import CircuitBreaker, CircuitState, RedisStore

ROOT = Path(__file__).resolve().parents[2]


def node_reason() -> str:
    if shutil.which("node") is None:
        return "node is missing"
    if not (ROOT / "bindings-node" / "tripwire.node").exists():
        # Requiring the package would build it (minutes): make test-node does.
        return "the Node addon is not built (make test-node)"
    if shutil.which("redis-server") is None:
        return "redis-server is missing (scripts/setup-redis.sh)"
    probe = subprocess.run(
        ["node", "-e", "process.exit(typeof require(process.argv[1]).RedisStore === 'function' ? 0 : 1)", str(ROOT)],
        capture_output=True,
    )
    if probe.returncode != 0:
        return "this checkout's Node package has no RedisStore (or its addon is not built: make test-node)"
    return ""


SKIP = node_reason()
pytestmark = pytest.mark.skipif(bool(SKIP), reason=SKIP)

# The same rules on both sides (the fleet compares them): seconds here, ms in Node. The
# open time is longer than the background poll (1 s ± 25 %), so that every member sees
# OPEN before HALF_OPEN even if a pub/sub message is lost.
PY_KW = {"failure_threshold": 2, "recovery_timeout": 3.0, "success_threshold": 1, "half_open_max_calls": 1, "request_timeout": 5.0}
PY_OPTIONS = ", ".join(f"{k}={v!r}" for k, v in PY_KW.items())
NODE_OPTIONS = "failureThreshold: 2, resetTimeout: 3000, successThreshold: 1, halfOpenMaxCalls: 1, timeout: 5000"

# Each member reports how its first call after the trip went, then asks for a trial as
# ASK_FOR_A_TRIAL does (test_fleet.py).
NODE_MEMBER = """
const { CircuitBreaker, RedisStore } = require(process.env.TW_ROOT);
const lines = require('readline').createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const next = async () => (await lines.next()).value;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
(async () => {
  const store = new RedisStore({ url: process.env.URL });
  const b = new CircuitBreaker({ name: process.env.NAME, %s, store });
  while (b.getStats().lastSyncAge === null) await sleep(5);
  // The event, not getState(): the store's thread changes the state first, the event
  // loop (which admits calls) from the event on.
  const opened = new Promise((r) => b.once('circuitOpened', r));
  console.log('joined');
  await opened;
  const first = await b.execute(async () => 'ran').catch((e) => e.name);
  console.log(first === 'ran' ? 'admitted' : `refused ${first}`);
  await next();
  let stop = false;
  next().then(() => { stop = true; });
  let release = null;
  while (!stop && !release) {
    await new Promise((asked) => {
      b.execute(() => new Promise((r) => { release = r; console.log('permit'); asked(); }))
        .catch(() => asked());
    });
    await sleep(10);
  }
  while (!stop) await sleep(10);
  if (release) release('done');
  console.log('end');
  await store.close();
})();
""" % NODE_OPTIONS

PY_MEMBER = """
while b.state == "CLOSED":
    time.sleep(0.005)
try:
    b.call(lambda: "ran")
    print("admitted", flush=True)
except tripwire.CircuitBreakerOpenError as e:
    print("refused", type(e).__name__, flush=True)
""" + ASK_FOR_A_TRIAL


def test_two_node_and_two_python_processes_share_one_breaker(redis: Redis) -> None:
    name = f"mixed-{os.getpid()}"
    node: List[subprocess.Popen[str]] = []
    with RedisStore(redis.url) as store:
        b = CircuitBreaker(name, store=store, **PY_KW)
        joined(b)
        py = fleet_child(redis, name, PY_MEMBER, PY_OPTIONS)
        for _ in range(2):
            n = subprocess.Popen(
                ["node", "-e", textwrap.dedent(NODE_MEMBER)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                env={**os.environ, "TW_ROOT": str(ROOT), "URL": redis.url, "NAME": name},
            )
            expect(n, "joined")
            node.append(n)
        try:
            others = [py, *node]
            # A trip here is a refusal in the other three.
            for _ in range(2):
                with pytest.raises(ZeroDivisionError):
                    b.call(lambda: 1 / 0)
            assert b.state is CircuitState.OPEN
            assert expect(py, "refused") == "refused CircuitBreakerOpenError"
            for n in node:
                assert expect(n, "refused") == "refused CircuitBreakerOpenError"
            # Half-open: all four keep asking; one trial runs fleet-wide.
            eventually(lambda: b.state is CircuitState.HALF_OPEN, "half-open")
            assert trials(b, others) == 1
        finally:
            for o in [py, *node]:
                if o.poll() is None:
                    o.kill()
                    o.wait()
