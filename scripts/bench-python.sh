#!/usr/bin/env bash
# Benchmarks the release wheel of the Python package beside pybreaker,
# circuitbreaker, aiobreaker and purgatory, and its resilience service beside
# tenacity + pybreaker (one run, one process per figure set); then the fleet store
# (bench/fleet.py: a redis-server of its own, beside pybreaker's CircuitRedisStorage
# through the pinned redis client).
# Uses its own venv (target/venv-python-bench) so the test venv keeps its dev build.
# Pass --quick for a short smoke run.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="$(pwd)/target/venv-python-bench"
PY="$VENV/bin/python"
PYTHON="${PYTHON:-python3}"
PINS=(pybreaker==1.4.1 circuitbreaker==2.1.3 aiobreaker==1.2.0 purgatory==3.0.1 tenacity==9.2.1 redis==8.1.0)

[ -x "$PY" ] || "$PYTHON" -m venv "$VENV"
installed="$("$PY" -m pip freeze --disable-pip-version-check 2>/dev/null || true)"
for pin in "${PINS[@]}"; do
  if ! grep -qix "$pin" <<<"$installed"; then
    "$PY" -m pip install --disable-pip-version-check -q "${PINS[@]}"
    break
  fi
done

# The release wheel that ships (`make dist`'s; cargo reuses its build): what
# `pip install tripwire` gives users.
bash scripts/dist.sh python
"$PY" -m pip install --disable-pip-version-check -q --force-reinstall --no-deps dist/tripwire-*-cp39-abi3-*.whl

cd bindings-python/bench
"$PY" bench.py "$@"
command -v redis-server >/dev/null || bash ../../scripts/setup-redis.sh
"$PY" fleet.py "$@"
