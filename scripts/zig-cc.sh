#!/bin/sh
# The linker of the Node addon's release build (scripts/dist.sh): zig through maturin's
# wrapper, linking against glibc 2.17, as `maturin build --zig` does for the wheel, so
# that @tripwire/linux-x64-gnu loads where the manylinux2014 wheel does (a plain build
# here needs the machine's glibc 2.34).
venv="$(cd "$(dirname "$0")/.." && pwd)/target/venv-python"
export CARGO_ZIGBUILD_ZIG_COMMAND="$venv/bin/python3"
export CARGO_ZIGBUILD_ZIG_COMMAND_ARGS='-m ziglang'
exec "$venv/bin/maturin" zig cc -- -g -fno-sanitize=all -target x86_64-linux-gnu.2.17 "$@"
