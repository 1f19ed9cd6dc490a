"""One Python worker of ``make demo-fleet`` (started by bindings-node/demo-fleet.mjs,
which reads its stdout): a breaker named DEMO_NAME shared through a RedisStore at
DEMO_REDIS, guarding HTTP calls to the flaky upstream at DEMO_UPSTREAM every 20 ms until
stdin closes. Prints one JSON line per event: joined, each transition with the mode,
then a summary.
"""

import json
import os
import sys
import threading
import time
import urllib.request

import tripwire


def say(**message: object) -> None:
    print(json.dumps(message), flush=True)


env = os.environ
running = threading.Event()
running.set()


def wait_for_stop() -> None:
    sys.stdin.read()  # stdin closing is the signal to stop
    running.clear()


threading.Thread(target=wait_for_stop, daemon=True).start()

store = tripwire.RedisStore(env["DEMO_REDIS"])


def on_state_change(old: tripwire.CircuitState, new: tripwire.CircuitState) -> None:
    say(event="transition", mode=breaker.stats.mode, **{"from": str(old), "to": str(new)})


# demo-fleet-worker.mjs's trip rules, in seconds (the fleet compares them).
breaker = tripwire.CircuitBreaker(
    env["DEMO_NAME"],
    failure_threshold=3,
    recovery_timeout=1.0,
    success_threshold=1,
    half_open_max_calls=1,
    request_timeout=2.0,
    store=store,
    on_state_change=on_state_change,
)

counts = {"sent": 0, "ok": 0, "failed": 0, "refused": 0, "sentWhileOpen": 0}


def fetch() -> bytes:
    # The state this admitted call runs in, as the upstream's tally sees it.
    state = str(breaker.state)
    counts["sent"] += 1
    if state == "OPEN":
        counts["sentWhileOpen"] += 1
    request = urllib.request.Request(env["DEMO_UPSTREAM"], headers={"x-worker": env["DEMO_LABEL"], "x-state": state})
    with urllib.request.urlopen(request, timeout=2) as response:  # a 503 raises HTTPError
        body: bytes = response.read()
        return body


while breaker.stats.last_sync_age is None:
    time.sleep(0.005)
say(event="joined", mode=breaker.stats.mode)
while running.is_set():
    try:
        breaker.call(fetch)
        counts["ok"] += 1
    except tripwire.CircuitBreakerOpenError:
        counts["refused"] += 1
    except OSError:
        counts["failed"] += 1
    time.sleep(0.02)
say(event="summary", **counts, state=str(breaker.state), mode=breaker.stats.mode)
store.close()
