#!/usr/bin/env bash
# Builds the browser package into bindings-wasm/pkg/ (wasm-bindgen --target web)
# and a Node-loadable copy into bindings-wasm/pkg-node/ (--target nodejs, for the
# vector replay).
#   scripts/build-wasm.sh            lean debug build (panics become JS errors); says loudly
#                                    that it is not what ships
#   scripts/build-wasm.sh --release  what ships: opt-level s, LTO, panic=abort, wasm-opt -Os,
#                                    the JavaScript minified (terser); its size is a test
#                                    (bindings-wasm/test/size.test.mjs)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

profile=dev
dir=debug
if [ "${1:-}" = "--release" ]; then
  profile=release-wasm
  dir=release-wasm
fi

# The browser package leaves out snapshot/restore (feature `snapshot`: a quarter of
# its gzipped size) and windowed statistics (`window-stats`); the Node build has them
# (the vectors use both).
wasm="target/wasm32-unknown-unknown/$dir/tripwire_wasm.wasm"
pkg=bindings-wasm/pkg
pkg_node=bindings-wasm/pkg-node
rm -rf "$pkg" "$pkg_node"
cargo build -p tripwire-wasm --target wasm32-unknown-unknown --profile "$profile"
wasm-bindgen --target web --out-name engine --out-dir "$pkg" "$wasm"
cargo build -p tripwire-wasm --target wasm32-unknown-unknown --profile "$profile" --features snapshot,window-stats
wasm-bindgen --target nodejs --out-name engine --out-dir "$pkg_node" "$wasm"

if [ "$profile" = release-wasm ]; then
  # binaryen from npm: Debian's wasm-opt (v108) breaks wasm-bindgen 0.2.130 output.
  opt=bindings-wasm/node_modules/.bin/wasm-opt
  for out in "$pkg/engine_bg.wasm" "$pkg_node/engine_bg.wasm"; do
    "$opt" -Os --enable-bulk-memory --enable-multivalue --enable-mutable-globals \
      --enable-nontrapping-float-to-int --enable-reference-types --enable-sign-ext \
      -o "$out.opt" "$out"
    mv "$out.opt" "$out"
  done
fi

# The API is the JavaScript facade shared with the Node package (js/tripwire.js),
# over the engine wasm-bindgen made (engine.js): the entry files come from
# bindings-wasm/js/, the facade is copied as it is (ESM; .mjs in the CommonJS pkg-node/).
cp js/tripwire.js "$pkg/tripwire.js"
cp bindings-wasm/js/tripwire_wasm.js "$pkg/tripwire_wasm.js"
cp bindings-wasm/js/tripwire_wasm.d.ts "$pkg/tripwire_wasm.d.ts"
# The facade's types, shared with the Node package (tripwire_wasm.d.ts imports them).
cp js/tripwire-types.d.ts "$pkg/tripwire-types.d.ts"
cp js/tripwire.js "$pkg_node/tripwire.mjs"
cp bindings-wasm/js/tripwire_wasm.cjs "$pkg_node/tripwire_wasm.js"
cp bindings-wasm/js/tripwire_wasm.d.ts "$pkg_node/tripwire_wasm.d.ts"
cp js/tripwire-types.d.ts "$pkg_node/tripwire-types.d.ts"

if [ "$profile" = release-wasm ]; then
  # What ships is minified (terser from npm, a devDependency of bindings-wasm); the
  # readable sources stay in js/ and bindings-wasm/js/. Class names are kept (errors
  # and stack traces name them). unsafe_methods makes `{ m: function () {} }` a method
  # (not constructible: nothing here is `new`ed) and keep_fargs=false drops unused
  # parameters (nothing reads a function's length): ~40 B gzipped. The facade's
  # private properties (`_run`, `_profile`, ...: `_` and a lowercase letter, read by
  # nothing outside tripwire.js in this package) are mangled too: ~300 B gzipped.
  terser=bindings-wasm/node_modules/.bin/terser
  for js in tripwire.js engine.js tripwire_wasm.js; do
    props=()
    [ "$js" = tripwire.js ] && props=(--mangle-props 'regex=/^_[a-z]/')
    "$terser" "$pkg/$js" --module --ecma 2020 --compress passes=2,unsafe_methods=true,keep_fargs=false --mangle "${props[@]}" --keep-classnames -o "$pkg/$js.min"
    mv "$pkg/$js.min" "$pkg/$js"
  done
fi

version="$(awk -F'"' '/^version = / { print $2; exit }' Cargo.toml)"
# A debug pkg/ is private: npm refuses to publish it.
private=""
[ "$profile" = release-wasm ] || private='
  "private": true,'
cat > "$pkg/package.json" <<JSON
{
  "name": "tripwire-wasm",
  "version": "$version",$private
  "description": "tripwire circuit breakers in the browser: WebAssembly engine, guarded fetch",
  "license": "MIT",
  "type": "module",
  "module": "tripwire_wasm.js",
  "main": "tripwire_wasm.js",
  "types": "tripwire_wasm.d.ts",
  "exports": {
    ".": { "types": "./tripwire_wasm.d.ts", "import": "./tripwire_wasm.js" },
    "./engine_bg.wasm": "./engine_bg.wasm"
  },
  "files": ["tripwire_wasm.js", "tripwire_wasm.d.ts", "tripwire-types.d.ts", "tripwire.js", "engine.js", "engine.d.ts", "engine_bg.wasm", "engine_bg.wasm.d.ts"],
  "sideEffects": false
}
JSON
# CommonJS output: no "type": "module" here (TOOLCHAIN.md pitfall 4).
cat > "$pkg_node/package.json" <<JSON
{ "name": "tripwire-wasm-node", "version": "$version", "private": true, "main": "tripwire_wasm.js", "types": "tripwire_wasm.d.ts" }
JSON
js_bytes=$(cat "$pkg/engine.js" "$pkg/tripwire.js" "$pkg/tripwire_wasm.js" | wc -c)
# What a page loads, gzipped, as bindings-wasm/test/size.test.mjs counts it.
gzipped=$(node scripts/browser-size.mjs "$pkg")
echo "build-wasm: $pkg ($profile): $(wc -c < "$pkg/engine_bg.wasm") bytes wasm, $js_bytes bytes JS, $gzipped bytes gzipped"
if [ "$profile" != release-wasm ]; then
  # A newcomer once measured a debug pkg/ (130 KB gzipped) as the shipped size.
  cat >&2 <<MSG

  ************************************************************************************
  build-wasm: this is the DEBUG build ($gzipped bytes gzipped, unoptimised, private).
  It is NOT what ships: the browser package is the release build (at most 40 KB
  gzipped): \`make wasm\` or \`scripts/build-wasm.sh --release\`; \`make dist\` packs it.
  ************************************************************************************

MSG
fi
