// The native call budget of a service call, counted through a shim over the native
// module (a test of structure, not of time): each step of a call is one native call
// doing the engine's part and the breaker's together.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const nativePath = require.resolve('../native.js');
const native = require(nativePath);

const calls = [];
/** A copy of `object` whose functions count their calls (and whose hot-path objects do too). */
function counting(object) {
  const out = {};
  for (const [name, value] of Object.entries(object)) {
    out[name] = typeof value !== 'function' ? value : function counted(...args) {
      calls.push(name);
      const result = value.apply(this, args);
      return name.endsWith('HotPath') ? counting(result) : result;
    };
  }
  return out;
}
// Before the package loads: every module of it reads the shim.
require.cache[nativePath].exports = counting(native);
const { CircuitBreakerService, ManualClock } = require('tripwire');

const failure = () => Object.assign(new Error('reset'), { code: 'ECONNRESET' });

async function drive(clock, promise) {
  let done = false;
  const settled = promise.then((value) => ({ value }), (error) => ({ error })).finally(() => { done = true; });
  while (!done) {
    await new Promise((resolve) => setImmediate(resolve));
    clock.advance(10);
  }
  return settled;
}

for (const timeout of [false, 30000]) {
  test(`a failing call with one retry makes at most 4 native calls (timeout ${timeout})`, async () => {
    const clock = new ManualClock();
    const svc = new CircuitBreakerService({ clock });
    svc.updateServiceConfig('s', { retryPolicy: { maxAttempts: 2, baseDelay: 10, jitter: 0 }, config: { timeout } });
    svc.getCircuitBreaker('s', 'op');
    calls.length = 0;
    let runs = 0;
    const { error } = await drive(clock, svc.executeWithCircuitBreaker('s', 'op', async () => {
      runs++;
      throw failure();
    }));
    assert.equal(error.code, 'ECONNRESET');
    assert.equal(runs, 2);
    assert.deepEqual(calls, ['serviceBegin', 'serviceEnd', 'serviceAcquire', 'serviceEnd']);
  });

  test(`a successful call makes 2 native calls (timeout ${timeout})`, async () => {
    const clock = new ManualClock();
    const svc = new CircuitBreakerService({ clock });
    svc.updateServiceConfig('s', { config: { timeout } });
    svc.getCircuitBreaker('s', 'op');
    calls.length = 0;
    assert.equal(await svc.executeWithCircuitBreaker('s', 'op', async () => 'ok'), 'ok');
    assert.deepEqual(calls, ['serviceBegin', 'serviceSucceed']);
  });
}
