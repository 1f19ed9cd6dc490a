# The entry points shared by README, CI and contributors.
# `make test` installs what is missing (skipping what is already at the right
# version), then runs every test of every runtime.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
CARGO ?= cargo

.PHONY: all setup setup-core setup-redis setup-node setup-python setup-wasm \
        test lint test-core test-node test-python test-wasm dist test-dist \
        demo demo-ops demo-fleet demo-rust bench bench-core bench-store bench-node bench-fleet bench-python bench-wasm bench-install wasm proptest-long

all: test

setup: setup-core setup-redis setup-node setup-python setup-wasm

setup-core:
	bash scripts/setup-core.sh
# redis-server for the fleet store's tests against real Redis.
setup-redis:
	bash scripts/setup-redis.sh
setup-node:
	bash scripts/setup-node.sh
setup-python:
	bash scripts/setup-python.sh
setup-wasm: setup-core
	bash scripts/setup-wasm.sh

test: setup lint test-core test-node test-python test-wasm test-dist
	@echo "make test: every runtime passed"

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets --all-features -- -D warnings
	$(CARGO) clippy -p tripwire-wasm --target wasm32-unknown-unknown -- -D warnings

test-core: setup-core setup-redis
	$(CARGO) test -p tripwire-core --all-features
	$(CARGO) test -p tripwire-store
	bash scripts/setup-promtool.sh
	for f in tests/vectors/metrics/*.prom; do target/tools/promtool check metrics < "$$f"; done
	target/tools/promtool check rules tripwire-alerts.yml
	target/tools/promtool test rules tests/alerts/tripwire-alerts.test.yml
	$(CARGO) build -p tripwire-core --no-default-features
	$(CARGO) build -p tripwire-core --no-default-features --target wasm32-unknown-unknown

proptest-long:
	PROPTEST_CASES=1000 TRIPWIRE_MODEL_STEPS=1000 $(CARGO) test -p tripwire-core --release --all-features --test model -- --nocapture
	PROPTEST_CASES=1000 TRIPWIRE_MODEL_STEPS=1000 $(CARGO) test -p tripwire-core --release --all-features --test fleet_model -- --nocapture

# The Node tests run under moto (scripts/with-moto.sh), from the Python tool venv.
test-node: setup-node setup-python
	bash scripts/test-node.sh
test-python: setup-python
	bash scripts/test-python.sh
# The browser package as it ships (release build) into bindings-wasm/pkg/;
# `make wasm WASM_PROFILE=debug` builds the larger debug variant and says so.
WASM_PROFILE ?= release
wasm: setup-wasm
	bash scripts/build-wasm.sh $(if $(filter debug,$(WASM_PROFILE)),,--release)
test-wasm: setup-wasm
	bash scripts/test-wasm.sh

# The release artifacts, into dist/: the abi3 manylinux2014 wheel and the sdist, the npm
# packages tripwire, @tripwire/linux-x64-gnu and tripwire-wasm (scripts/dist.sh).
dist: setup-node setup-python setup-wasm
	bash scripts/dist.sh
# Their file lists and versions, and the proof that they install and work with no cargo.
test-dist: dist
	bash scripts/test-dist.sh

# The Node package guarding real fetch calls to a flaky local upstream.
demo: setup-node
	TRIPWIRE_NODE_PROFILE=debug node bindings-node/build.js
	node bindings-node/demo.mjs

# A service with traffic, the control API on loopback with a random token, and the
# dashboard's URL (token in the fragment). Ctrl-C stops it; TRIPWIRE_DEMO_SECONDS=n too.
demo-ops: setup-node
	TRIPWIRE_NODE_PROFILE=debug node bindings-node/build.js
	node bindings-node/demo-ops.mjs

# A fleet sharing one breaker through Redis (issue 13): its own redis-server, two Node
# workers and one Python worker over a flaky upstream, each printing its transitions.
demo-fleet: setup-node setup-python setup-redis
	TRIPWIRE_NODE_PROFILE=debug node bindings-node/build.js
	bash scripts/install-python.sh
	TRIPWIRE_PYTHON=target/venv-python/bin/python node bindings-node/demo-fleet.mjs

# The same job from Rust, with the core's SyncBreaker.
demo-rust: setup-core
	$(CARGO) run -q -p tripwire-core --example demo

bench: bench-core bench-store bench-fleet bench-node bench-python bench-wasm bench-install
bench-core:
	$(CARGO) bench -p tripwire-core --bench acquire_record
# The closed path in shared mode beside the local engine (starts its own redis-server).
bench-store: setup-redis
	$(CARGO) bench -p tripwire-store --bench call_path
bench-node: setup-node
	bash scripts/bench-node.sh
bench-fleet: setup-node setup-redis setup-python
	bash scripts/bench-fleet.sh
bench-python: setup-python
	bash scripts/bench-python.sh
bench-wasm: setup-wasm
	bash scripts/bench-wasm.sh
# Artifact sizes and install times (pip, npm) beside pybreaker's and opossum's.
bench-install: dist
	node scripts/bench-install.mjs
