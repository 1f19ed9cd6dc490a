#!/usr/bin/env bash
# The release artifacts (dist/, made by scripts/dist.sh): their versions and file lists,
# then the proof that they install and work with no Rust toolchain (tests/dist/).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-node.sh
bash scripts/setup-wasm.sh
# One test file at a time: the install proof and the packing checks both run npm.
node --test --test-concurrency=1 tests/dist/*.test.mjs
