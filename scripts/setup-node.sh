#!/usr/bin/env bash
# Node pieces the Node tests and bench need: the npm devDependencies.
# Idempotent: runs `npm install` only when node_modules is missing or older than
# package.json / package-lock.json. `--ignore-scripts` keeps npm from running the
# package's own install script (a release build of the addon); test-node.sh builds
# a debug addon instead, bench-node.sh a release one.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v node >/dev/null || { echo "setup-node: node is not installed" >&2; exit 1; }
command -v npm >/dev/null || { echo "setup-node: npm is not installed" >&2; exit 1; }

stamp=node_modules/.package-lock.json
if [[ ! -f $stamp || package.json -nt $stamp || ( -f package-lock.json && package-lock.json -nt $stamp ) ]]; then
  # `npm install`, not `npm ci`: see TOOLCHAIN.md (optional platform packages).
  npm install --ignore-scripts --no-audit --no-fund
  touch "$stamp"
else
  echo "setup-node: node_modules is up to date"
fi
