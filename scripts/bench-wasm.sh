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
pkg=bindings-wasm/pkg
wasm_gz=$(gzip -9c "$pkg/tripwire_wasm_bg.wasm" | wc -c)
js_gz=$(cat "$pkg/tripwire_wasm.js" "$pkg"/snippets/*/src/*.js | gzip -9c | wc -c)
echo "size: tripwire_wasm_bg.wasm $(wc -c < "$pkg/tripwire_wasm_bg.wasm") B ($wasm_gz B gzip -9); JS glue + snippets $(cat "$pkg/tripwire_wasm.js" "$pkg"/snippets/*/src/*.js | wc -c) B ($js_gz B gzip -9); total gzipped $((wasm_gz + js_gz)) B"
cd bindings-wasm
node test/bench.mjs
