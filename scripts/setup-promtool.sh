#!/usr/bin/env bash
# promtool (Prometheus's linter) at target/tools/promtool, taken from Debian's
# `prometheus` package without installing it (no service, none of its ~96 MB of
# dependencies). Idempotent: an existing promtool is left alone.
set -euo pipefail
cd "$(dirname "$0")/.."

DEST="target/tools"
if [ -x "$DEST/promtool" ]; then
  echo "setup-promtool: $DEST/promtool already there ($("$DEST/promtool" --version 2>&1 | head -1))"
  exit 0
fi
mkdir -p "$DEST"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
# The package lists may be missing or stale on a fresh machine.
(cd "$WORK" && { apt-get download prometheus >/dev/null 2>&1 || { apt-get update -qq && apt-get download prometheus >/dev/null; }; })
dpkg-deb -x "$WORK"/prometheus_*.deb "$WORK/x"
cp "$WORK/x/usr/bin/promtool" "$DEST/promtool"
echo "setup-promtool: installed $("$DEST/promtool" --version 2>&1 | head -1)"
