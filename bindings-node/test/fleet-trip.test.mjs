// A timed open (trip()) on a shared breaker (issue 15: pybreaker's and opossum's open()
// on a fleet), through the package against a real redis-server on a free loopback
// port (redis-helper.mjs), stopped by pid: two stores in one process, as two members.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { RedisServer, redisAvailable, until } from './redis-helper.mjs';

const require = createRequire(import.meta.url);
const { CircuitBreaker, CircuitBreakerOpenError, RedisStore } = require('tripwire');
const skip = redisAvailable ? false : 'redis-server is not installed (bash scripts/setup-redis.sh)';

let server;
before(async () => {
  if (!skip) server = await RedisServer.start();
});
after(async () => {
  if (server) await server.stop();
});

test('trip() on a shared breaker opens the fleet for resetTimeout; forceHalfOpen() is refused', { skip }, async () => {
  const name = `timed-${process.pid}`;
  // Long enough that the refusal below still falls inside the open time on a loaded machine.
  const options = { failureThreshold: 3, resetTimeout: 2000, successThreshold: 1 };
  const [store, other] = [new RedisStore({ url: server.url, flushInterval: 10 }), new RedisStore({ url: server.url, flushInterval: 10 })];
  try {
    const here = new CircuitBreaker({ name, store, ...options });
    const elsewhere = new CircuitBreaker({ name, store: other, ...options });
    await until(() => here.getStats().lastSyncAge !== null && elsewhere.getStats().lastSyncAge !== null);
    here.trip();
    assert.equal(here.getState(), 'OPEN');
    await until(() => elsewhere.getState() === 'OPEN');
    assert.ok((await elsewhere.execute(async () => 1).catch((e) => e)) instanceof CircuitBreakerOpenError);
    // Timed, not forced: after resetTimeout the other member's trial runs and closes it.
    await until(() => elsewhere.getState() === 'HALF_OPEN');
    assert.equal(await elsewhere.execute(async () => 'trial'), 'trial');
    await until(() => here.getState() === 'CLOSED');
    assert.throws(() => here.forceHalfOpen(), /forceHalfOpen\(\) is not available on a shared breaker/);
  } finally {
    await Promise.all([store.close(), other.close()]);
  }
});
