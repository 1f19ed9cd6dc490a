// Smoke test through the package: `tripwire` resolves to this checkout (see
// scripts/test-node.sh, which also installs it into an empty project).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

test('require("tripwire") gives a breaker that opens after its threshold and refuses calls', async () => {
  const { CircuitBreaker, CircuitBreakerOpenError, CircuitState } = require('tripwire');
  const breaker = new CircuitBreaker({ name: 'smoke', failureThreshold: 2, resetTimeout: 60000 });
  assert.equal(await breaker.execute(async () => 'ok'), 'ok');
  for (let i = 0; i < 2; i++) {
    await assert.rejects(breaker.execute(async () => { throw new Error('boom'); }), /boom/);
  }
  assert.equal(breaker.getState(), CircuitState.OPEN);
  let ran = false;
  const refused = await breaker.execute(async () => { ran = true; }).catch((e) => e);
  assert.ok(refused instanceof CircuitBreakerOpenError);
  assert.equal(ran, false);
  const stats = breaker.getStats();
  assert.deepEqual([stats.successCount, stats.failureCount, stats.rejectedCount], [1, 2, 1]);
});
