// Manual operations, start states and the failure streak on shared breakers (issue 15:
// pybreaker's and opossum's open()/halfOpen/state on a fleet), through the package
// against a real redis-server on a free loopback port (redis-helper.mjs), stopped by
// pid: two stores in one process, as two members.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
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

// No poll within a test (pollInterval 60 s): every change reaches the other member by
// pub/sub, a transition made right after its join included (the subscription's
// confirmation makes it read what was published before it).
const newStore = () => new RedisStore({ url: server.url, flushInterval: 10, pollInterval: 60_000 });

/**
 * Two members of the fleet `name` (one store each, as two processes), joined. `seen`
 * has each member's 'circuitOpened' promise, made before it joins: a refusal is checked
 * after the event (which checks that the event comes too).
 */
async function members(name, options, first = {}) {
  const stores = [newStore(), newStore()];
  const here = new CircuitBreaker({ name, store: stores[0], ...options, ...first });
  await until(() => here.getStats().lastSyncAge !== null);
  const elsewhere = new CircuitBreaker({ name, store: stores[1], ...options });
  const seen = { elsewhere: once(elsewhere, 'circuitOpened') };
  await until(() => elsewhere.getStats().lastSyncAge !== null);
  return { here, elsewhere, seen, close: () => Promise.all(stores.map((s) => s.close())) };
}

const refused = async (breaker) => (await breaker.execute(async () => 1).catch((e) => e)) instanceof CircuitBreakerOpenError;

test('trip() on a shared breaker opens the fleet for resetTimeout', { skip }, async () => {
  const { here, elsewhere, seen, close } = await members(`timed-${process.pid}`, { failureThreshold: 3, resetTimeout: 2000, successThreshold: 1 });
  try {
    here.trip();
    assert.equal(here.getState(), 'OPEN');
    await seen.elsewhere;
    assert.ok(await refused(elsewhere));
    // Timed, not forced: it half-opens by itself (forced here, not to wait 2 s), and the
    // other member's trial closes it for both.
    here.forceHalfOpen();
    await until(() => elsewhere.getState() === 'HALF_OPEN');
    assert.equal(await elsewhere.execute(async () => 'trial'), 'trial');
    await until(() => here.getState() === 'CLOSED');
  } finally {
    await close();
  }
});

test('forceHalfOpen() on a shared breaker half-opens the fleet: one trial fleet-wide, the streak kept', { skip }, async () => {
  const { here, elsewhere, seen, close } = await members(`half-${process.pid}`, {
    failureThreshold: 2, resetTimeout: 60_000, successThreshold: 1, halfOpenMaxCalls: 1,
  });
  try {
    for (const b of [here, elsewhere]) await b.execute(async () => { throw new Error('down'); }).catch(() => {});
    await seen.elsewhere;
    await until(() => here.getState() === 'OPEN');
    // The fleet's failures since the last close: the threshold, in both members.
    await until(() => here.getStats().failureStreak === 2 && elsewhere.getStats().failureStreak === 2);
    const events = [];
    elsewhere.on('stateChange', (from, to) => events.push(`${from}->${to}`));
    assert.equal(here.forceHalfOpen().to, 'HALF_OPEN');
    await until(() => events.length !== 0);
    assert.deepEqual(events, ['OPEN->HALF_OPEN']);
    assert.equal(elsewhere.getState(), 'HALF_OPEN');
    // One trial for the fleet: here's runs (its lease follows its transition), the other
    // member is refused while it runs.
    let release;
    const trial = here.execute(() => new Promise((resolve, reject) => { release = reject; }));
    await until(() => release !== undefined);
    assert.ok(await refused(elsewhere));
    release(new Error('still down'));
    await assert.rejects(trial);
    await until(() => elsewhere.getState() === 'OPEN');
    await until(() => elsewhere.getStats().failureStreak === 3);
    elsewhere.close();
    await until(() => here.getState() === 'CLOSED' && here.getStats().failureStreak === 0);
  } finally {
    await close();
  }
});

test('a start state makes the fleet state when there is none; an existing fleet is adopted', { skip }, async () => {
  const name = `start-${process.pid}`;
  const options = { failureThreshold: 3, resetTimeout: 60_000, successThreshold: 1 };
  // The first member, made open for 60 s, makes the fleet open; a closed joiner adopts it.
  const { here, elsewhere, seen, close } = await members(name, options, { initialState: 'OPEN' });
  const late = newStore();
  try {
    await seen.elsewhere;
    assert.equal(elsewhere.getState(), 'OPEN');
    assert.ok(await refused(elsewhere));
    here.close();
    await until(() => elsewhere.getState() === 'CLOSED');
    // Joining never resets anything: a member made half-open adopts the closed fleet.
    const third = new CircuitBreaker({ name, store: late, ...options, initialState: 'HALF_OPEN' });
    await until(() => third.getStats().lastSyncAge !== null);
    assert.equal(third.getState(), 'CLOSED');
    assert.equal(here.getState(), 'CLOSED');
  } finally {
    await Promise.all([close(), late.close()]);
  }
});
