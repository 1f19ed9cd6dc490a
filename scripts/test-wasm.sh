#!/usr/bin/env bash
# Builds the browser package (lean debug build), then runs every wasm test: the
# conformance vectors through pkg-node/ in Node, and the Chromium tests through pkg/.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
bash scripts/build-wasm.sh
cd bindings-wasm
node --test --test-concurrency=1 test/*.test.mjs
