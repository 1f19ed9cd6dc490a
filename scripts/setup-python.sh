#!/usr/bin/env bash
# The Python tool venv (target/venv-python): maturin, pytest, mypy at pinned versions,
# and for the AWS tests (tripwire.aws, tripwire/aws) boto3 and moto's local AWS server.
# Idempotent: a venv whose tools are already at these versions is left alone.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="${TRIPWIRE_PY_VENV:-target/venv-python}"
PYTHON="${PYTHON:-python3}"
# boto3 and moto[server] (tripwire.aws against a local AWS endpoint: scripts/with-moto.sh).
# fastapi and httpx2 (its TestClient): the README's ASGI recipe runs in test_readme.py.
# prometheus-client (TripwireCollector, and its OpenMetrics parser checks the exposition),
# opentelemetry-api and -sdk (tripwire.otel: instruments read by an in-memory reader,
# spans by an in-memory exporter).
# redis (redis-py): tripwire.pybreaker's CircuitRedisStorage reads a redis.Redis object's
# connection parameters (the same pin as the bench venv). fakeredis: pybreaker's own
# Redis tests pass it, and CircuitRedisStorage serves its data to the fleet store
# (test_pybreaker_redis.py); lupa is its Lua (fakeredis[lua]), for the store's scripts.
# ziglang: `maturin build --zig` links the release wheel against glibc 2.17 (manylinux2014)
# from this machine (scripts/dist.sh).
PINS=(maturin==1.16.0 ziglang==0.17.1 pytest==9.2.0 mypy==2.4.1 fastapi==0.163.2 httpx2==2.16.2
  prometheus-client==0.26.0 opentelemetry-api==1.45.2 opentelemetry-sdk==1.45.2
  boto3==1.43.11 "moto[server]==5.2.1" redis==8.1.0 fakeredis==2.40.0 lupa==2.8)

have_pins() {
  [ -x "$VENV/bin/python" ] || return 1
  local installed
  # pip freeze may spell a name with `_` (prometheus_client): compare with `-`.
  installed="$("$VENV/bin/python" -m pip freeze --disable-pip-version-check 2>/dev/null | tr '_' '-')" || return 1
  for pin in "${PINS[@]}"; do
    # `pip freeze` lists `moto==5.2.1`, not `moto[server]==5.2.1`.
    grep -qix "${pin/\[*\]/}" <<<"$installed" || return 1
  done
}

if have_pins; then
  echo "setup-python: $VENV already has ${PINS[*]}"
  exit 0
fi
if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --disable-pip-version-check -q "${PINS[@]}"
echo "setup-python: installed ${PINS[*]} into $VENV"
