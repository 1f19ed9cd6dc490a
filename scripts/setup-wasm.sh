#!/usr/bin/env bash
# Everything the browser package needs to build and test; each step is skipped
# when already in place at the right version.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  rustup target add wasm32-unknown-unknown
fi

# wasm-bindgen-cli must equal the wasm-bindgen crate in Cargo.lock.
want="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)"
if [ -z "$want" ]; then
  echo "setup-wasm: no wasm-bindgen in Cargo.lock" >&2
  exit 1
fi
have="$(wasm-bindgen --version 2>/dev/null | awk '{ print $2 }' || true)"
if [ "$have" != "$want" ]; then
  echo "setup-wasm: installing wasm-bindgen-cli $want (found '${have:-none}'); this takes a few minutes"
  # Not --locked: a locked dependency of the CLI is not served by the registry here.
  cargo install wasm-bindgen-cli --version "$want"
fi

# Debian's chromium, driven by playwright-core in the tests.
command -v chromium >/dev/null || { apt-get update && apt-get install -y chromium; }

# Dev tooling (playwright-core, binaryen's wasm-opt, opossum), reinstalled only
# when the lockfile changed.
cd bindings-wasm
stamp=node_modules/.tripwire-lock-sha
sum="$(sha256sum package-lock.json | awk '{ print $1 }')"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$sum" ]; then
  npm ci --no-audit --no-fund
  echo "$sum" > "$stamp"
fi
