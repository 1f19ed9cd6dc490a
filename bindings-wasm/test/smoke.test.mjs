// Issue 2 smoke test: the built package loads in real headless Chromium and a
// breaker works through it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withPage } from './harness.mjs';

test('pkg/ loads in Chromium and a breaker opens after failures', async () => {
  await withPage(async (page) => {
    const result = await page.evaluate(async () => {
      const { CircuitBreaker } = window.tripwire;
      const breaker = new CircuitBreaker('smoke', { failureThreshold: 2, recoveryTimeout: 60000 });
      const before = breaker.state;
      const value = await breaker.execute(async () => 42);
      const errors = [];
      for (let i = 0; i < 3; i++) {
        try {
          await breaker.execute(async () => { throw new Error('boom'); });
        } catch (e) {
          errors.push(e.name + ':' + e.message.slice(0, 4));
        }
      }
      return { before, value, errors, after: breaker.state, stats: breaker.stats() };
    });
    assert.equal(result.before, 'CLOSED');
    assert.equal(result.value, 42);
    assert.deepEqual(result.errors, ['Error:boom', 'Error:boom', 'CircuitBreakerOpenError:Circ']);
    assert.equal(result.after, 'OPEN');
    assert.equal(result.stats.totalSuccesses, 1);
    assert.equal(result.stats.totalFailures, 2);
    assert.equal(result.stats.rejectedCount, 1);
  });
});
