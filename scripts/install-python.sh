#!/usr/bin/env bash
# Installs the package from this checkout into the tool venv (target/venv-python, made
# by setup-python.sh when missing) through pip and the maturin PEP 517 backend, as users
# do. cargo's `dev` profile by default: the LTO release build is for benchmarks.
# Used by test-python.sh and `make demo-fleet`.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="${TRIPWIRE_PY_VENV:-target/venv-python}"
[ -x "$VENV/bin/python" ] || TRIPWIRE_PY_VENV="$VENV" bash scripts/setup-python.sh
VENV="$(cd "$VENV" && pwd)"
PY="$VENV/bin/python"
# The maturin backend runs `maturin` by name: the venv's comes first.
export PATH="$VENV/bin:$PATH"

PROFILE="${TRIPWIRE_PY_PROFILE:-dev}"
"$PY" -m pip install --disable-pip-version-check -q --force-reinstall --no-deps --no-build-isolation \
  --config-settings "build-args=--profile $PROFILE -i $PY" .
