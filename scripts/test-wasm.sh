#!/usr/bin/env bash
# Builds the browser package as it ships (--release: optimised wasm, minified JS),
# then runs every wasm test against it: the conformance vectors through pkg-node/ in
# Node, the Chromium tests through pkg/, and pkg/'s gzipped size (size.test.mjs).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
bash scripts/build-wasm.sh --release
cd bindings-wasm
node --test --test-concurrency=1 test/*.test.mjs
