#!/usr/bin/env bash
# The fleet rows (issue 13): closed-path overhead shared vs local (Redis healthy and
# SIGSTOPped), trip propagation between two stores, peak concurrent trials for P
# processes. Starts its own redis-server on a free loopback port (stopped by pid).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup-node.sh
bash scripts/setup-redis.sh
# A release build in its own copy, as bench-node.sh.
TRIPWIRE_NODE_PROFILE=release node bindings-node/build.js
mkdir -p target/bench-node
cp bindings-node/tripwire.node target/bench-node/tripwire.node
TRIPWIRE_NODE_ADDON="$PWD/target/bench-node/tripwire.node" node bindings-node/bench/fleet.mjs
