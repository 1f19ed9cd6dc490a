#!/usr/bin/env bash
# Size and speed of the browser package: the release build (opt-level s, LTO,
# wasm-opt -Os from npm binaryen), its gzipped size, then the bench page in
# headless Chromium, with playwright's DevTools connection and without: per-call
# overhead of execute and of fetch beside opossum's browser bundle. ROUNDS, CALLS,
# FETCH_CALLS tune the run; PLAIN=0 skips the run without DevTools.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
bash scripts/build-wasm.sh --release
cd bindings-wasm
# The size as a page loads it (every file gzip -9), by the same test that bounds it.
node --test test/size.test.mjs 2>&1 | grep 'browser package:'
node test/bench.mjs
