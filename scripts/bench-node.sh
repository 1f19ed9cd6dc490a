#!/usr/bin/env bash
# tripwire vs cockatiel and opossum (devDependencies), each scenario in its own
# process: success, failure (fresh and with 10,000 calls in the window),
# open-circuit rejection, memory per breaker, timers per idle breaker, and the
# cost of the native crossing; and one request at a time in the old generation with
# every contender in one process, in CPU time (bench/one-at-a-time.mjs). Prints ns/op
# and ratios; writes target/bench-node.json.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup-node.sh
# The release addon that ships (the one `make dist` packs as @tripwire/linux-x64-gnu:
# cargo reuses that build), loaded from its own copy: neither a test run rebuilding the
# debug addon in bindings-node/ nor a `make dist` can swap it mid-bench.
bash scripts/dist.sh node
mkdir -p target/bench-node
cp target/dist-stage/npm/linux-x64-gnu/tripwire.linux-x64-gnu.node target/bench-node/tripwire.node
TRIPWIRE_NODE_ADDON="$PWD/target/bench-node/tripwire.node" node bindings-node/bench/run.mjs
# tripwire/opossum beside opossum 9 in one process, interleaved, in CPU time.
TRIPWIRE_NODE_ADDON="$PWD/target/bench-node/tripwire.node" node --expose-gc bindings-node/bench/opossum-same.mjs
# Scraping 10,000 breakers: metricsText() beside prom-client + opossum-prometheus.
TRIPWIRE_NODE_ADDON="$PWD/target/bench-node/tripwire.node" node bindings-node/bench/scrape.mjs
