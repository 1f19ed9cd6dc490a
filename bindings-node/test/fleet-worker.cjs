// One fleet member for fleet.test.mjs: a child process with its own RedisStore, driven
// by JSON lines on stdin ({ id, op, ... }) and answering JSON lines on stdout.
'use strict';
const readline = require('node:readline');
const { CircuitBreaker, CircuitBreakerOpenError, CircuitBreakerService, RedisStore, createCircuitBreaker } = require('tripwire');

const useEnv = process.env.FLEET_WORKER_ENV === '1';
const store = useEnv ? null : new RedisStore({ url: process.env.FLEET_WORKER_URL, flushInterval: 10, pollInterval: 200, leaseTtl: Number(process.env.FLEET_WORKER_LEASE_TTL || 30000) });
const breakers = new Map();
const held = [];
const send = (message) => process.stdout.write(`${JSON.stringify(message)}\n`);

function serviceBreaker(name, options) {
  const service = new CircuitBreakerService({ store });
  const breaker = service.getCircuitBreaker(name, 'op', options);
  // The breaker's state and events, its calls through the service.
  return {
    execute: (fn) => service.execute(name, 'op', fn),
    on: (event, listener) => breaker.on(event, listener),
    getState: () => breaker.getState(),
    getStats: () => breaker.getStats(),
  };
}

const ops = {
  async make({ name, options, seed, service }) {
    // seed: the seeds' own code, unchanged (TRIPWIRE_STORE_URL makes it shared).
    // service: the breaker of CircuitBreakerService({ store }) for (name, 'op'), its
    // calls made through the service.
    const breaker = service ? serviceBreaker(name, options)
      : seed ? createCircuitBreaker(name, options) : new CircuitBreaker({ ...options, name, store });
    breaker.on('stateChange', (from, to) => send({ event: 'stateChange', name, from, to }));
    breakers.set(name, breaker);
    // Answered once joined: a new member's outcomes before its join count in the
    // fleet's totals only (README), so a test's first failures would not trip it.
    while (breaker.getStats().lastSyncAge === null) await new Promise((r) => setTimeout(r, 5));
    return breaker.getStats().mode;
  },
  async run({ name, outcome, count }) {
    const breaker = breakers.get(name);
    let ran = 0;
    let refused = 0;
    for (let i = 0; i < count; i++) {
      const result = await breaker.execute(async () => {
        ran += 1;
        if (outcome === 'failure') throw new Error('boom');
      }).catch((e) => e);
      if (result instanceof CircuitBreakerOpenError) refused += 1;
    }
    return { ran, refused };
  },
  // A call that holds its trial until `release` (or the process is killed).
  async trial({ id, name }) {
    const breaker = breakers.get(name);
    let ran = false;
    const result = await breaker.execute(() => {
      ran = true;
      send({ id, started: true });
      return new Promise((resolve) => held.push(resolve));
    }).catch((e) => e);
    return { ran, refused: result instanceof CircuitBreakerOpenError };
  },
  release() {
    for (const resolve of held.splice(0)) resolve('ok');
    return true;
  },
  state({ name }) {
    return breakers.get(name).getState();
  },
  stats({ name }) {
    return breakers.get(name).getStats();
  },
  async close() {
    if (store !== null) await store.close();
    return true;
  },
};

readline.createInterface({ input: process.stdin }).on('line', async (line) => {
  const request = JSON.parse(line);
  try {
    send({ id: request.id, result: await ops[request.op](request) });
  } catch (error) {
    send({ id: request.id, error: String(error && error.stack) });
  }
});
