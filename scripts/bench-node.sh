#!/usr/bin/env bash
# tripwire vs cockatiel and opossum (devDependencies), each scenario in its own
# process: success, failure (fresh and with 10,000 calls in the window),
# open-circuit rejection, memory per breaker, timers per idle breaker, and the
# cost of the native crossing. Prints ns/op and ratios; writes target/bench-node.json.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup-node.sh
# A release build, loaded from its own copy: a test run rebuilding the debug addon
# in bindings-node/ cannot swap it mid-bench.
TRIPWIRE_NODE_PROFILE=release node bindings-node/build.js
mkdir -p target/bench-node
cp bindings-node/tripwire.node target/bench-node/tripwire.node
TRIPWIRE_NODE_ADDON="$PWD/target/bench-node/tripwire.node" node bindings-node/bench/run.mjs
# Scraping 10,000 breakers: metricsText() beside prom-client + opossum-prometheus.
TRIPWIRE_NODE_ADDON="$PWD/target/bench-node/tripwire.node" node bindings-node/bench/scrape.mjs
