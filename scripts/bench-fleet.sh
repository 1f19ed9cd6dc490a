#!/usr/bin/env bash
# The fleet rows (issue 13), in Node (bindings-node/bench/fleet.mjs) then Python
# (bindings-python/bench/fleet.py): closed-path overhead shared vs local (Redis healthy,
# 5 ms away through testkit's delay proxy, and SIGSTOPped), trip propagation between two
# stores, peak concurrent trials for P processes (P = 32: Node and Python children), Redis
# CPU per breaker per process; Python beside pybreaker's CircuitRedisStorage. Each part
# starts its own redis-server on a free loopback port (stopped by pid).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup-node.sh
bash scripts/setup-redis.sh
# A release build in its own copy, as bench-node.sh.
TRIPWIRE_NODE_PROFILE=release node bindings-node/build.js
mkdir -p target/bench-node
cp bindings-node/tripwire.node target/bench-node/tripwire.node
# The release wheel in the bench venv (the Python rows and the mixed fleet's children).
PY="$(bash scripts/install-python-bench.sh)"
# testkit's delay proxy (the store's fault tests use the same one).
cargo build -q -p tripwire-testkit --bin tripwire-proxy
PROXY="$PWD/target/debug/tripwire-proxy"

TRIPWIRE_NODE_ADDON="$PWD/target/bench-node/tripwire.node" BENCH_PROXY="$PROXY" BENCH_PYTHON="$PY" \
  node bindings-node/bench/fleet.mjs
(cd bindings-python/bench && "$PY" fleet.py --proxy "$PROXY" "$@")
