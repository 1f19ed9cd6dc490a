// Throwaway breakers (one per unit of work, one call each) are collected once idle,
// with their native state and their idle timeout timer, even with the default 30 s
// call timeout; a breaker nobody holds still times out the call it has in flight.
// The memory figure (3,000,000 breakers) is a bench row: bench/churn.mjs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createRequire } from 'node:module';
import { CircuitBreaker, CircuitBreakerTimeoutError } from '../index.mjs';

const require = createRequire(import.meta.url);
const native = require('../native.js');
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc');

/** Full collections with turns of the event loop between them (FinalizationRegistry callbacks run on a turn). */
async function collect() {
  for (let i = 0; i < 4; i++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
}

const timeouts = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

test('breakers used once with the default timeout are collected, native state and timers too', async () => {
  await collect();
  const live = native.liveBreakers();
  const timersBefore = timeouts();
  const refs = [];
  for (let i = 0; i < 200; i++) {
    const breaker = new CircuitBreaker(`churn-${i % 3}`);
    assert.equal(await breaker.execute(async () => i), i);
    refs.push(new WeakRef(breaker));
  }
  await collect();
  await collect();
  assert.equal(refs.filter((r) => r.deref() !== undefined).length <= 3, true, 'at most the registry entries live');
  assert.ok(native.liveBreakers() <= live + 3, `native breakers: ${native.liveBreakers()} (before: ${live})`);
  assert.ok(timeouts() <= timersBefore + 3, 'the idle timers of collected breakers are cleared');
});

test('a breaker nobody holds still times out the call it has in flight', async () => {
  const pending = (() => {
    // Neither the breaker nor the never-settling promise is held by anything but the call.
    const breaker = new CircuitBreaker({ timeout: 50 });
    return breaker.execute(() => new Promise(() => {}));
  })();
  new CircuitBreaker('default'); // replaces the registry entry of the one above
  // Handled from now on: on a loaded machine the 50 ms pass while collecting.
  const rejected = assert.rejects(pending, CircuitBreakerTimeoutError);
  await collect();
  await rejected;
});
