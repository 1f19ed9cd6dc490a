// The seeds' code running, through require('tripwire') and import: seed 002's own
// vitest tests (with a tiny expect/vi shim), and seed 001/003's patterns against a
// local flaky upstream instead of the public URLs in the seeds.
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import * as esm from 'tripwire';

const cjs = createRequire(import.meta.url)('tripwire');
afterEach(() => esm.circuitBreakerRegistry.clear());

// vitest's API as seed 002 uses it.
const vi = {
  fn() {
    let impl = async () => undefined;
    const mock = (...args) => {
      mock.calls++;
      return impl(...args);
    };
    mock.calls = 0;
    mock.mockRejectedValue = (error) => ((impl = async () => { throw error; }), mock);
    mock.mockResolvedValue = (value) => ((impl = async () => value), mock);
    return mock;
  },
};
const expect = (value) => ({
  toBe: (expected) => assert.equal(value, expected),
  toHaveBeenCalledTimes: (n) => assert.equal(value.calls, n),
  rejects: { toThrow: (message) => assert.rejects(value, (e) => e instanceof Error && e.message.includes(message)) },
});
const createMockLogger = () => ({ debug() {}, info() {}, warn() {}, error() {} });

for (const [label, { CircuitBreaker, CircuitState }] of [['require', cjs], ['import', esm]]) {
  // seed 002, "Step 7: Add Tests", unchanged but for describe/it → test.
  const config = {
    name: 'test-breaker',
    failureThreshold: 3,
    successThreshold: 2,
    timeout: 1000,
    retryDelay: 5000,
    monitoringWindow: 60000
  };

  test(`seed 002 (${label}): should start in CLOSED state`, () => {
    const breaker = new CircuitBreaker(config, createMockLogger());
    expect(breaker.getStats().state).toBe(CircuitState.CLOSED);
  });

  test(`seed 002 (${label}): should open after failure threshold`, async () => {
    const breaker = new CircuitBreaker(config, createMockLogger());
    const failingFn = vi.fn().mockRejectedValue(new Error('Test error'));

    // Fail 3 times
    for (let i = 0; i < 3; i++) {
      try {
        await breaker.execute(failingFn);
      } catch (e) {
        // Expected
      }
    }

    expect(breaker.getStats().state).toBe(CircuitState.OPEN);
  });

  test(`seed 002 (${label}): should reject calls when OPEN`, async () => {
    const breaker = new CircuitBreaker(config, createMockLogger());
    const failingFn = vi.fn().mockRejectedValue(new Error('Test error'));

    // Open the circuit
    for (let i = 0; i < 3; i++) {
      try {
        await breaker.execute(failingFn);
      } catch (e) {
        // Expected
      }
    }

    // Should reject without calling function
    await expect(breaker.execute(failingFn)).rejects.toThrow('Circuit breaker');
    expect(failingFn).toHaveBeenCalledTimes(3); // Not 4
  });

  test(`seed 002 (${label}): should move to HALF_OPEN after retry delay`, async () => {
    const breaker = new CircuitBreaker({
      ...config,
      retryDelay: 100 // Short delay for testing
    }, createMockLogger());

    const failingFn = vi.fn().mockRejectedValue(new Error('Test error'));
    const successFn = vi.fn().mockResolvedValue('success');

    // Open the circuit
    for (let i = 0; i < 3; i++) {
      try {
        await breaker.execute(failingFn);
      } catch (e) {
        // Expected
      }
    }

    // Wait for retry delay
    await new Promise(resolve => setTimeout(resolve, 150));

    // Should try again (HALF_OPEN)
    const result = await breaker.execute(successFn);
    expect(result).toBe('success');
  });
}

test('seeds 001 and 003 against a local flaky upstream, through require and import', async () => {
  let failing = false;
  let hits = 0;
  const server = createServer((req, res) => {
    hits++;
    res.writeHead(failing ? 503 : 200).end(failing ? 'down' : '{"ok":true}');
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${server.address().port}`;
  try {
    for (const [label, api] of [['require', cjs], ['import', esm]]) {
      const { withCircuitBreaker, CircuitBreakerError, circuitBreakerRegistry, CircuitBreakerService } = api;
      failing = false;
      // seed 001: withCircuitBreaker around fetch, errors thrown on bad responses.
      const get = () => withCircuitBreaker(`upstream-${label}`, async () => {
        const response = await fetch(`${base}/data`);
        if (!response.ok) throw new Error(`status ${response.status}`);
        return response.json();
      }, { failureThreshold: 3, recoveryTimeout: 60000, requestTimeout: 10000 });
      assert.deepEqual(await get(), { ok: true });
      failing = true;
      for (let i = 0; i < 3; i++) await assert.rejects(get(), /status 503/);
      const before = hits;
      const error = await get().catch((e) => e);
      assert.ok(error instanceof CircuitBreakerError, label);
      assert.equal(error.state, 'OPEN');
      assert.equal(hits, before, 'refused without a request');
      assert.equal(circuitBreakerRegistry.get(`upstream-${label}`).getStats().rejectedCount, 1);

      // seed 003: the service, its fallback answering the refusal.
      const service = new CircuitBreakerService();
      const call = () => service.execute('http', `get-${label}`, async () => {
        const response = await fetch(`${base}/item`);
        if (!response.ok) throw new Error(`status ${response.status}`);
        return 'fresh';
      }, async () => 'fallback', { failureThreshold: 3, recoveryTimeout: 30000, expectedResponseTime: 2000, monitoringWindow: 60000, minimumRequestCount: 5 });
      for (let i = 0; i < 5; i++) assert.equal(await call(), 'fallback');
      assert.equal(service.getCircuitBreakerStats('http', `get-${label}`).state, 'OPEN');
    }
  } finally {
    server.close();
  }
});
