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

// Quiet calls (src/service.rs): once a success said the breaker may take one, a call
// while the bulkhead is idle and the breaker quiet makes no native call until it fails;
// the engine hears of it, in order, before anything reads it. With or without a call
// timeout (the default 30 s is what most services run with).
for (const timeout of [false, 30000]) {
  test(`after a success, calls one at a time make no native call, and every count stays exact (timeout ${timeout})`, async () => {
    const clock = new ManualClock();
    const svc = new CircuitBreakerService({ clock });
    svc.updateServiceConfig('s', { config: { timeout }, bulkhead: { maxConcurrent: 2, queueSize: 5 } });
    assert.equal(await svc.executeWithCircuitBreaker('s', 'op', async () => 'first'), 'first');
    calls.length = 0;
    // The clock stands still: the breaker stays quiet (its window's buckets do not turn).
    for (let i = 0; i < 200; i++) {
      assert.equal(await svc.executeWithCircuitBreaker('s', 'op', async () => i), i);
    }
    // Only the flushes of the full ring (P.CELL_RING_CAPACITY successes each).
    const { CELL_RING_CAPACITY } = native.protocol();
    assert.deepEqual(calls, Array(Math.floor(200 / CELL_RING_CAPACITY)).fill('serviceFlush'));
    calls.length = 0;
    const b = svc.getBulkheadStats('s');
    assert.equal(b.admitted, 201);
    assert.equal(b.running, 0);
    assert.equal(b.peakRunning, 1);
    assert.equal(svc.getServiceStats('s').retries.successfulWithoutRetry, 201);
    assert.equal(svc.getCircuitBreaker('s', 'op').getStats().totalSuccesses, 201);
  });

  test(`a quiet call in flight is running for every reader, and a second call meanwhile asks the engine (timeout ${timeout})`, async () => {
    const clock = new ManualClock();
    const svc = new CircuitBreakerService({ clock });
    svc.updateServiceConfig('s', { config: { timeout }, bulkhead: { maxConcurrent: 1, queueSize: 5 } });
    await svc.executeWithCircuitBreaker('s', 'op', async () => 0);
    let release;
    const gate = new Promise((resolve) => { release = resolve; });
    calls.length = 0;
    const first = svc.executeWithCircuitBreaker('s', 'op', () => gate);
    assert.deepEqual(calls, []);
    assert.equal(svc.getBulkheadStats('s').running, 1, 'the quiet call holds its slot');
    // The bulkhead is full: the second call waits in the queue, admitted when the first ends.
    const second = svc.executeWithCircuitBreaker('s', 'op', async () => 'second');
    assert.equal(svc.getBulkheadStats('s').queued, 1);
    release('first');
    assert.equal(await first, 'first');
    assert.equal(await second, 'second');
    const b = svc.getBulkheadStats('s');
    assert.equal(b.admitted, 3);
    assert.equal(b.running, 0);
    assert.equal(b.queued, 0);
    assert.equal(svc.getServiceStats('s').retries.successfulWithoutRetry, 3);
  });

  test(`a failing quiet call with one retry makes 3 native calls and is counted as one (timeout ${timeout})`, async () => {
    const clock = new ManualClock();
    const svc = new CircuitBreakerService({ clock });
    svc.updateServiceConfig('s', { retryPolicy: { maxAttempts: 2, baseDelay: 10, jitter: 0 }, config: { timeout } });
    await svc.executeWithCircuitBreaker('s', 'op', async () => 0);
    calls.length = 0;
    let runs = 0;
    const { error } = await drive(clock, svc.executeWithCircuitBreaker('s', 'op', async () => {
      runs++;
      throw failure();
    }));
    assert.equal(error.code, 'ECONNRESET');
    assert.equal(runs, 2);
    assert.deepEqual(calls, ['serviceEnd', 'serviceAcquire', 'serviceEnd']);
    const stats = svc.getServiceStats('s').retries;
    assert.equal(stats.successfulWithoutRetry, 1);
    assert.equal(stats.failedWithRetry, 1);
    const breaker = svc.getCircuitBreaker('s', 'op').getStats();
    assert.equal(breaker.totalFailures, 2);
    assert.equal(svc.getBulkheadStats('s').admitted, 2);
  });
}

test('a quiet call that outlives its timeout is a timeout: recorded once, then retried', async () => {
  const clock = new ManualClock();
  const svc = new CircuitBreakerService({ clock });
  svc.updateServiceConfig('s', { retryPolicy: { maxAttempts: 2, baseDelay: 10, jitter: 0 }, config: { timeout: 50 } });
  await svc.executeWithCircuitBreaker('s', 'op', async () => 0);
  calls.length = 0;
  let runs = 0;
  const signals = [];
  const promise = svc.executeWithCircuitBreaker('s', 'op', ({ signal }) => {
    runs++;
    signals.push(signal);
    return runs === 1 ? new Promise(() => {}) : Promise.resolve('second');
  });
  assert.deepEqual(calls, [], 'admitted without a native call');
  assert.deepEqual(await drive(clock, promise), { value: 'second' });
  assert.equal(runs, 2);
  assert.equal(signals[0].aborted, true, 'the timed-out attempt is aborted');
  assert.deepEqual(calls, ['serviceEnd', 'serviceAcquire', 'serviceSucceed']);
  const breaker = svc.getCircuitBreaker('s', 'op').getStats();
  assert.equal(breaker.totalTimeouts, 1);
  assert.equal(breaker.totalSuccesses, 2);
  const retries = svc.getServiceStats('s').retries;
  assert.equal(retries.successfulWithoutRetry, 1);
  assert.equal(retries.successfulWithRetry, 1);
  const b = svc.getBulkheadStats('s');
  assert.equal(b.admitted, 2);
  assert.equal(b.running, 0);
});

test('a breaker with a quiet call in flight is never evicted', async () => {
  const clock = new ManualClock();
  const svc = new CircuitBreakerService({ clock, maxBreakers: 2 });
  svc.updateServiceConfig('s', { config: { timeout: false } });
  await svc.executeWithCircuitBreaker('s', 'held', async () => 0);
  const held = svc.getCircuitBreaker('s', 'held');
  let release;
  const call = svc.executeWithCircuitBreaker('s', 'held', () => new Promise((resolve) => { release = resolve; }));
  for (let i = 0; i < 10; i++) await svc.executeWithCircuitBreaker('other', `op${i}`, async () => i);
  assert.equal(svc.getCircuitBreaker('s', 'held'), held, 'still the same breaker');
  release('done');
  assert.equal(await call, 'done');
  assert.equal(held.getStats().totalSuccesses, 2);
  assert.equal(svc.getBulkheadStats('s').running, 0);
});
