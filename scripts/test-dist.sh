#!/usr/bin/env bash
# The release artifacts (dist/, made by scripts/dist.sh): their versions and file lists,
# then the proof that they install and work with no Rust toolchain (tests/dist/).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-node.sh
bash scripts/setup-wasm.sh
# The install proof installs the packed package offline (--offline): npm's cache must
# hold its dependencies' metadata, which installing from the lockfile never fetches (a
# fresh machine's cache has the tarballs only).
node -p "Object.entries(require('./package.json').dependencies).map(([n, v]) => n + '@' + v).join('\n')" |
  while read -r dep; do npm cache add "$dep"; done
# One test file at a time: the install proof and the packing checks both run npm.
node --test --test-concurrency=1 tests/dist/*.test.mjs
