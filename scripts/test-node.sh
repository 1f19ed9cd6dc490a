#!/usr/bin/env bash
# Every Node test: builds the addon (lean debug build), runs the node:test suites
# through the package, then type-checks the .d.ts and the seeds' snippets.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup-node.sh
# redis-server for the fleet tests (fleet.test.mjs starts its own on a free port).
bash scripts/setup-redis.sh
# Debian's chromium for the dashboard tests (playwright-core drives it).
command -v chromium >/dev/null || { apt-get update && apt-get install -y chromium; }
# `npm run build`, as the README tells contributors (a debug build keeps the tests lean).
TRIPWIRE_NODE_PROFILE=debug npm run build --silent

# A shell glob, not a directory argument: portable to Node 22+ (TOOLCHAIN.md).
# Under moto's local AWS server (a free loopback port, stopped by pid): tripwire/aws's
# tests (aws.test.mjs, seed000-aws.test.mjs) need it; the others ignore it.
bash scripts/with-moto.sh node --test bindings-node/test/*.test.mjs

# index.d.ts, opossum.d.ts and the seeds' snippets (bindings-node/test/types), strict.
node_modules/.bin/tsc --noEmit --strict -p bindings-node/test/types/tsconfig.json
echo "test-node: type tests passed (index.d.ts, opossum.d.ts, seeds 000-004 snippets)"
