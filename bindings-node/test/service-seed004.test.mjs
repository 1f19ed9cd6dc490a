// Seed 004's usage examples, as bindings-node/README.md shows them, running through
// require('tripwire') and import against local fakes of the seed's clients (an LLM
// that is down, a Redis that works, a locked SQLite, a Walmart API that answers 503,
// a WebSocket hub that refuses auth).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import * as esm from 'tripwire';

const cjs = createRequire(import.meta.url)('tripwire');

const error = (fields) => Object.assign(new Error(JSON.stringify(fields)), fields);

for (const [label, tripwire] of [['require', cjs], ['import', esm]]) {
  test(`seed 004's examples (${label})`, async () => {
    const clock = new tripwire.ManualClock(1_000);
    // The shared instance in the seed; a private one here so the runs stay independent.
    const circuitBreakerService = new tripwire.CircuitBreakerService({ clock });
    const calls = { ollama: 0, redis: 0, db: 0, walmart: 0, ws: 0 };
    const prompt = 'hello';
    const key = 'k';
    const productId = 'p1';
    const message = 'hi all';
    const ollamaProvider = { generate: async () => { calls.ollama++; throw error({ code: 'ECONNREFUSED' }); } };
    const ollama = ollamaProvider;
    const redis = { get: async () => { calls.redis++; return 'cached'; } };
    const db = { query: async () => { calls.db++; throw error({ code: 'SQLITE_LOCKED' }); } };
    const walmartAPI = { getPrice: async () => { calls.walmart++; throw error({ response: { status: 503 } }); } };
    const ws = { broadcast: async () => { calls.ws++; throw error({ code: 'WS_AUTH_FAILED' }); } };
    const alerts = [];
    circuitBreakerService.on('alert', (alert) => alerts.push(alert.type));

    // Retries wait on the ManualClock: move it while a call is pending.
    const run = async (promise) => {
      let done = false;
      const settled = promise.finally(() => { done = true; });
      while (!done) {
        await new Promise((r) => setImmediate(r));
        clock.advance(50);
      }
      return settled;
    };

    // Basic usage.
    const result = await run(circuitBreakerService.executeWithCircuitBreaker(
      'ollama',
      'generate',
      async () => {
        return await ollamaProvider.generate(prompt);
      },
      {
        fallbackOptions: {
          fallbackValue: 'AI service temporarily unavailable',
        },
      },
    ));
    assert.equal(result, 'AI service temporarily unavailable');
    assert.equal(calls.ollama, 3, 'ECONNREFUSED: three attempts (the default policy)');

    // Service-specific methods.
    const response = await run(circuitBreakerService.executeOllamaRequest('generate', () => ollama.generate(prompt), () => 'Fallback response'));
    assert.equal(response, 'Fallback response');
    const cachedData = await circuitBreakerService.executeRedisOperation('get', () => redis.get(key), null);
    assert.equal(cachedData, 'cached');
    const results = await run(circuitBreakerService.executeDatabaseQuery('getUsers', () => db.query('SELECT * FROM users'), []));
    assert.deepEqual(results, []);
    assert.equal(calls.db, 4, 'SQLITE_LOCKED: the database preset\'s 3 retries');
    const pricing = await run(circuitBreakerService.executeExternalAPI('walmart', 'getPricing', () => walmartAPI.getPrice(productId), { error: 'PRICING_UNAVAILABLE' }));
    assert.deepEqual(pricing, { error: 'PRICING_UNAVAILABLE' });
    assert.equal(calls.walmart, 3, '503 retried until the external-api preset\'s breaker (3 failures) opened');
    await assert.rejects(circuitBreakerService.executeWebSocketOperation('broadcast', () => ws.broadcast(message), true), /WS_AUTH_FAILED/);
    assert.equal(calls.ws, 1, 'WS_AUTH_FAILED is never retried');

    // Configuration management.
    circuitBreakerService.updateServiceConfig('ollama', {
      config: {
        failureThreshold: 5,
        timeout: 180000,
      },
      bulkhead: {
        maxConcurrent: 5,
      },
    });
    assert.equal(circuitBreakerService.getCircuitBreaker('ollama', 'generate').getOptions().requestTimeout, 180000);
    assert.equal(circuitBreakerService.getBulkheadStats('ollama').maxConcurrent, 5);
    circuitBreakerService.resetCircuitBreaker('ollama', 'generate');
    circuitBreakerService.forceCircuitBreakerOpen('ollama');
    await assert.rejects(circuitBreakerService.executeWithCircuitBreaker('ollama', 'generate', async () => 'x'), tripwire.CircuitBreakerOpenError);

    // Monitoring.
    const health = circuitBreakerService.getSystemHealth();
    assert.equal(health.overall, 'unhealthy', 'every ollama circuit is forced open');
    assert.deepEqual(Object.keys(health.services).sort(), ['database', 'ollama', 'redis', 'walmart', 'websocket']);
    const states = circuitBreakerService.getCircuitBreakerState();
    const lines = Object.entries(states).map(([name, stats]) => `${name}: ${stats.state} (${stats.totalRequests} requests)`);
    assert.ok(lines.includes('walmart:getPricing: OPEN (3 requests)'), lines.join('\n'));
    const deadLetters = circuitBreakerService.getDeadLetterQueue();
    assert.equal(deadLetters.length, 1);
    const itemId = deadLetters[0].id;
    ws.broadcast = async () => { calls.ws++; return 'sent'; };
    assert.equal(await circuitBreakerService.retryDeadLetterItem(itemId), 'sent');
    assert.deepEqual(circuitBreakerService.getDeadLetterQueue(), []);
    assert.ok(alerts.includes('circuit-opened') && alerts.includes('all-circuits-open'), alerts.join());
    // Every breaker opened within its first few calls: fewer than 10 calls in a window
    // is no error rate yet (the core's ERROR_RATE_ALERT_MIN_CALLS).
    assert.ok(!alerts.includes('high-error-rate'), alerts.join());
  });
}
