#!/usr/bin/env bash
# redis-server for the fleet store's tests (core/tests/fleet_redis.rs starts its own
# instance on a free loopback port and stops it by pid). Skipped when installed.
set -euo pipefail
if command -v redis-server >/dev/null 2>&1; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
if ! $SUDO apt-get install -y redis-server; then
  $SUDO apt-get update
  $SUDO apt-get install -y redis-server
fi
redis-server --version
