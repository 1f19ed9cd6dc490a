#!/usr/bin/env bash
# Rust pieces every build needs; each step is skipped when already in place.
set -euo pipefail
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  rustup target add wasm32-unknown-unknown
fi
