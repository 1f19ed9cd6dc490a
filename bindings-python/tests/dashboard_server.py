"""The Python side of the dashboard suite (tests/dashboard/browser.suite.mjs, run by
bindings-python/tests/dashboard-browser.test.mjs): a
CircuitBreakerService served by ``tripwire.control.serve`` with a token, steered by
the Node test through JSON lines on stdin (one reply line on stdout each). Stops at
the end of stdin. Not a pytest module."""

from __future__ import annotations

import json
import sys
import threading
from typing import Any, Dict, List

import tripwire
from tripwire.control import serve

TOKEN = sys.argv[1]
HOST = sys.argv[2] if len(sys.argv) > 2 else "127.0.0.1"


def main() -> None:
    svc = tripwire.CircuitBreakerService()
    svc.update_service_config("db", config={"failure_threshold": 2}, retry_policy={"max_attempts": 1})
    svc.update_service_config("slow", bulkhead={"max_concurrent": 1, "queue_size": 2})
    mail_down = [True]
    held: List[threading.Thread] = []
    release = threading.Event()

    def fail() -> None:
        raise ConnectionError("connection refused")

    def send() -> str:
        if mail_down[0]:
            raise ConnectionError("smtp down")
        return "sent"

    def hold() -> str:
        release.wait()
        return "done"

    def reply(value: Any) -> None:
        sys.stdout.write(json.dumps(value, default=str) + "\n")
        sys.stdout.flush()

    server = serve(svc, token=TOKEN, host=HOST)
    reply({"url": server.url})
    try:
        for line in sys.stdin:
            cmd: Dict[str, Any] = json.loads(line)
            op = cmd["op"]
            if op == "call":
                fn = fail if cmd.get("fail") else (lambda: "ok")
                try:
                    svc.execute_with_circuit_breaker(cmd["service"], cmd["operation"], fn)
                    reply({"ok": True})
                except Exception as error:
                    reply({"ok": False, "error": str(error)})
            elif op == "state":
                stats = svc.get_circuit_breaker(cmd["service"], cmd["operation"]).stats
                reply({"state": stats.state.value, "forced": stats.forced_open})
            elif op == "forced":
                reply({"forced": svc.get_system_health()["services"][cmd["service"]]["forced_open"]})
            elif op == "mail-fail":
                svc.execute_with_circuit_breaker(
                    "mail",
                    "send",
                    send,
                    fallback_options={"queue": True, "fallback_value": None},
                    retry_policy={"max_attempts": 1},
                )
                mail_down[0] = False
                reply({"dead_letters": len(svc.get_dead_letter_queue())})
            elif op == "dead-letters":
                reply({"dead_letters": len(svc.get_dead_letter_queue())})
            elif op == "hold":
                t = threading.Thread(target=svc.execute_with_circuit_breaker, args=("slow", "op", hold), daemon=True)
                t.start()
                held.append(t)
                while (svc.get_bulkhead_stats("slow") or {}).get("running") != 1:
                    t.join(0.005)
                reply({"running": 1})
            elif op == "release":
                release.set()
                for t in held:
                    t.join()
                reply({"released": True})
            else:
                reply({"error": f"unknown op {op}"})
    finally:
        release.set()
        server.close()


if __name__ == "__main__":
    main()
