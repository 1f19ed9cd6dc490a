#!/usr/bin/env bash
# `make dist`: the release artifacts, into dist/, installable where no Rust toolchain is.
#   scripts/dist.sh [python] [node] [wasm]     (default: all three)
#
#   python  tripwire-<v>-cp39-abi3-manylinux2014_x86_64.manylinux_2_17_x86_64.whl: one
#           wheel for CPython 3.9+, linked against glibc 2.17 through zig (ziglang from
#           PyPI, scripts/setup-python.sh) and checked by maturin's auditwheel pass;
#           and tripwire-<v>.tar.gz, the sdist (builds with cargo, as any sdist).
#   node    tripwire-<v>.tgz, the main npm package: JavaScript and .d.ts only, no install
#           script, `optionalDependencies` on the platform packages; and
#           tripwire-linux-x64-gnu-<v>.tgz, @tripwire/linux-x64-gnu: the prebuilt addon.
#   wasm    tripwire-wasm-<v>.tgz: the browser package (release build, scripts/build-wasm.sh).
#
# One release build each, shared: bench-node.sh loads this addon, bench-python.sh installs
# this wheel, bench-wasm.sh makes the same wasm build (cargo reuses it); the two native
# cdylibs share the core's release build (same target, profile and features).
# What every artifact holds is checked by tests/dist/artifacts.test.mjs.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

parts=("$@")
[ ${#parts[@]} -gt 0 ] || parts=(python node wasm)
version="$(awk -F'"' '/^version = / { print $2; exit }' Cargo.toml)"
mkdir -p dist
stage="$root/target/dist-stage"

for part in "${parts[@]}"; do
  case "$part" in
  python)
    bash scripts/setup-python.sh
    venv="$root/target/venv-python"
    rm -f dist/tripwire-*.whl dist/tripwire-*.tar.gz
    # Linked by zig against glibc 2.17: scripts/zig-cc.sh is maturin's own `zig cc`
    # wrapper (what `maturin build --zig` generates), named once so that the Node addon
    # links with the same linker: cargo hashes the linker into every unit's fingerprint,
    # and two linkers would rebuild the shared dependencies on each alternate build.
    # maturin's auditwheel check then verifies the manylinux2014 symbols and libraries.
    CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER="$root/scripts/zig-cc.sh" PATH="$venv/bin:$PATH" \
      maturin build --release --target x86_64-unknown-linux-gnu --compatibility manylinux2014 \
      -i "$venv/bin/python" --out dist
    PATH="$venv/bin:$PATH" maturin sdist --out dist
    ;;
  node)
    bash scripts/setup-node.sh
    rm -rf "$stage/npm" dist/tripwire-"$version".tgz dist/tripwire-linux-x64-gnu-*.tgz
    mkdir -p "$stage/npm"
    # The platform package: its committed package.json and README, plus the addon, linked
    # by zig against glibc 2.17 as the wheel is (same linker, same --target: both cdylibs
    # share one release build of their dependencies).
    bash scripts/setup-python.sh
    CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER="$root/scripts/zig-cc.sh" \
      cargo build -p tripwire-node --release --target x86_64-unknown-linux-gnu
    cp -r npm/linux-x64-gnu "$stage/npm/linux-x64-gnu"
    cp target/x86_64-unknown-linux-gnu/release/libtripwire_node.so "$stage/npm/linux-x64-gnu/tripwire.linux-x64-gnu.node"
    npm pack "$stage/npm/linux-x64-gnu" --pack-destination dist --silent >/dev/null
    # The main package: the checkout's `files`, then its package.json as published (the
    # napi-rs way: optionalDependencies added at release, so that `npm install` in a
    # checkout never asks the registry for a platform package).
    npm pack --pack-destination "$stage/npm" --silent >/dev/null
    tar -xzf "$stage/npm/tripwire-$version.tgz" -C "$stage/npm"
    node -e '
      const fs = require("node:fs");
      const [file, version, ...platforms] = process.argv.slice(1);
      const pkg = JSON.parse(fs.readFileSync(file, "utf8"));
      // The scripts and devDependencies are the checkout'"'"'s (build, test, bench).
      delete pkg.scripts;
      delete pkg.devDependencies;
      pkg.optionalDependencies = Object.fromEntries(platforms.map((name) => [name, version]));
      fs.writeFileSync(file, JSON.stringify(pkg, null, 2) + "\n");
    ' "$stage/npm/package/package.json" "$version" \
      "$(node -p 'require("./npm/linux-x64-gnu/package.json").name')"
    npm pack "$stage/npm/package" --pack-destination dist --silent >/dev/null
    ;;
  wasm)
    bash scripts/setup-wasm.sh
    rm -f dist/tripwire-wasm-*.tgz
    bash scripts/build-wasm.sh --release
    npm pack ./bindings-wasm/pkg --pack-destination dist --silent >/dev/null
    ;;
  *)
    echo "dist: unknown part '$part' (python, node or wasm)" >&2
    exit 2
    ;;
  esac
done
ls -l dist
