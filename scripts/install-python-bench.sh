#!/usr/bin/env bash
# The benchmarks' Python: its own venv (target/venv-python-bench, so the test venv keeps
# its dev build) with the pinned contenders, and the release wheel that ships (`make
# dist`'s; cargo reuses its build): what `pip install tripwire` gives users. Prints the
# venv's python. Used by bench-python.sh and bench-fleet.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="$(pwd)/target/venv-python-bench"
PY="$VENV/bin/python"
PYTHON="${PYTHON:-python3}"
PINS=(pybreaker==1.4.1 circuitbreaker==2.1.3 aiobreaker==1.2.0 purgatory==3.0.1 tenacity==9.2.1 redis==8.1.0)

[ -x "$PY" ] || "$PYTHON" -m venv "$VENV" >&2
installed="$("$PY" -m pip freeze --disable-pip-version-check 2>/dev/null || true)"
for pin in "${PINS[@]}"; do
  if ! grep -qix "$pin" <<<"$installed"; then
    "$PY" -m pip install --disable-pip-version-check -q "${PINS[@]}" >&2
    break
  fi
done

bash scripts/dist.sh python >&2
"$PY" -m pip install --disable-pip-version-check -q --force-reinstall --no-deps dist/tripwire-*-cp39-abi3-*.whl >&2
echo "$PY"
