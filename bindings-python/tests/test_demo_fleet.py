"""``make demo-fleet``'s script, run whole (issue 13): its own redis-server, two Node
workers and this interpreter's tripwire as the Python worker, over a flaky upstream.
Every worker shares the breaker, trips and recovers with the fleet, sends nothing while
its breaker is open, and the fleet runs at most one trial at a time.

Skipped, saying why, when node, the built Node addon or redis-server is missing (as
test_fleet_mixed.py; ``make test`` runs test-node first, which builds the addon).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from test_fleet_mixed import ROOT, SKIP

pytestmark = pytest.mark.skipif(bool(SKIP), reason=SKIP)
WORKERS = ("node-1", "node-2", "python-1")


def test_the_fleet_trips_and_recovers_together() -> None:
    run = subprocess.run(
        ["node", str(ROOT / "bindings-node" / "demo-fleet.mjs")],
        env={**os.environ, "TRIPWIRE_PYTHON": sys.executable},
        capture_output=True,
        text=True,
        # The demo's own deadline is 40 s; this one only keeps a hung run from blocking.
        timeout=120,
    )
    out = run.stdout
    assert run.returncode == 0, out + run.stderr
    assert re.search(r"redis-server pid \d+ at redis://127\.0\.0\.1:\d+ \(no persistence\)", out)
    for worker in WORKERS:
        assert re.search(rf"{worker} +joined the fleet \(shared\)", out), out
        assert re.search(rf"{worker} +CLOSED -> OPEN  \(shared\)", out), out
        # Its summary row: sent, ok, failed, refused, sent while OPEN, trials, opened.
        row = re.search(rf"^{worker} +(\d+) +(\d+) +(\d+) +(\d+) +(\d+) +(\d+) +(\d+)  \(shared\)$", out, re.M)
        assert row, out
        sent, ok, failed, refused, sent_while_open, _, opened = map(int, row.groups())
        assert sent == ok + failed and refused > 0 and opened >= 1, row.group(0)
        assert sent_while_open == 0, row.group(0)
    trials = re.search(r"half-open trials fleet-wide: (\d+) in (\d+) half-open periods, at most (\d+) at a time", out)
    assert trials, out
    assert int(trials.group(1)) >= 1 and int(trials.group(3)) == 1, trials.group(0)
    assert "fleet: node-1 CLOSED, node-2 CLOSED, python-1 CLOSED" in out, out
