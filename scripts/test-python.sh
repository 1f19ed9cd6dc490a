#!/usr/bin/env bash
# Installs the package from this checkout into the tool venv (install-python.sh), then
# runs pytest and mypy against it.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-python.sh
VENV="$(cd "${TRIPWIRE_PY_VENV:-target/venv-python}" && pwd)"
PY="$VENV/bin/python"
PROFILE="${TRIPWIRE_PY_PROFILE:-dev}"

# Run from outside the checkout so that `import tripwire` can only find the
# installed package, never the source tree.
# Under moto's local AWS server (a free loopback port, stopped by pid): tripwire.aws's
# tests (test_aws.py) need it; the others ignore it.
cd bindings-python/tests
TRIPWIRE_PY_VENV="$VENV" bash ../../scripts/with-moto.sh "$PY" -m pytest -q -p no:cacheprovider .
# The installed package's own annotations and stub, strictly.
"$PY" -m mypy --strict --no-incremental -p tripwire
cd ../..

# The dashboard in headless Chromium against the Python server (playwright-core from
# the npm devDependencies, Debian's chromium), the installed package serving it.
bash scripts/setup-node.sh
command -v chromium >/dev/null || { apt-get update && apt-get install -y chromium; }
TRIPWIRE_PYTHON="$PY" node --test bindings-python/tests/dashboard-browser.test.mjs

# Issue 2's promise, checked every run: `pip install <checkout>` into a fresh venv
# (PEP 517 build isolation: pip fetches maturin itself) builds and installs the
# package. The venv is made anew at a fixed path, so cargo's cache stays valid.
FRESH="$(pwd)/target/venv-python-fresh"
rm -rf "$FRESH"
"${PYTHON:-python3}" -m venv "$FRESH"
"$FRESH/bin/python" -m pip install --disable-pip-version-check -q \
  --config-settings "build-args=--profile $PROFILE" .
(cd / && "$FRESH/bin/python" -c '
import tripwire
b = tripwire.CircuitBreaker("fresh-venv", failure_threshold=1)
assert b.call(lambda: 42) == 42
import tripwire.control, pathlib
d = pathlib.Path(tripwire.control.__file__).parent / "dashboard"
for f in ("index.html", "tripwire-dashboard.js", "dashboard.css", "vendor/uPlot.iife.min.js", "vendor/uPlot.min.css", "vendor/uPlot-LICENSE"):
    assert (d / f).is_file(), f
assert tripwire.__file__.startswith("'"$FRESH"'"), tripwire.__file__
print("fresh venv: pip install <checkout> works, tripwire", tripwire.__version__)
')
