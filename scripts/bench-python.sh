#!/usr/bin/env bash
# Benchmarks the release wheel of the Python package beside pybreaker,
# circuitbreaker, aiobreaker and purgatory, and its resilience service beside
# tenacity + pybreaker (one run, one process per figure set); then the fleet store
# (bench/fleet.py: a redis-server of its own, beside pybreaker's CircuitRedisStorage
# through the pinned redis client).
# Uses its own venv (scripts/install-python-bench.sh) so the test venv keeps its dev build.
# Pass --quick for a short smoke run.
set -euo pipefail
cd "$(dirname "$0")/.."

PY="$(bash scripts/install-python-bench.sh)"

cd bindings-python/bench
"$PY" bench.py "$@"
command -v redis-server >/dev/null || bash ../../scripts/setup-redis.sh
"$PY" fleet.py "$@"
