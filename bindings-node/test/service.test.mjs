// Seed 004's CircuitBreakerService through the package: retries (counted and spaced on
// a ManualClock), classification of every listed code and status, fallbacks, presets,
// configuration, forced open and reset, state, system health, alerts, the LRU cap.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CircuitBreakerService,
  CircuitBreakerOpenError,
  BulkheadRejectedError,
  RetryPolicy,
  SERVICE_PRESETS,
  circuitBreakerService,
  circuitBreakerRegistry,
} from 'tripwire';
import { RecordingClock, drive, failure, settle } from './service-helpers.mjs';

const NO_TIMEOUT = { timeout: false };

function service(extra = {}) {
  const clock = new RecordingClock(0);
  return { clock, svc: new CircuitBreakerService({ clock, ...extra }) };
}

/** Runs one call that always fails with `error`; returns [attempts, outcome]. */
async function attemptsFor(error, retryPolicy = {}, config = {}) {
  const { clock, svc } = service();
  let attempts = 0;
  const run = svc.executeWithCircuitBreaker('s', 'op', async () => {
    attempts++;
    throw error;
  }, { retryPolicy: { baseDelay: 10, jitter: 0, ...retryPolicy }, config: { ...NO_TIMEOUT, failureThreshold: 100, ...config } });
  const outcome = await drive(clock, run, 10);
  return [attempts, outcome, clock, svc];
}

describe('retries', () => {
  test('a retryable failure is tried maxAttempts times, spaced by the core schedule', async () => {
    const { clock, svc } = service();
    const at = [];
    let n = 0;
    const run = svc.executeWithCircuitBreaker('db', 'query', async () => {
      at.push(clock.now());
      if (++n < 4) throw failure({ code: 'SQLITE_BUSY' });
      return 'rows';
    }, { retryPolicy: { maxAttempts: 4, baseDelay: 100, multiplier: 2, jitter: 0 }, config: NO_TIMEOUT });
    const { value } = await drive(clock, run, 50);
    assert.equal(value, 'rows');
    assert.deepEqual(at, [0, 100, 300, 700]);
    assert.deepEqual(clock.requested, [100, 200, 400]);
  });

  test('jittered delays are the core policy\'s, drawn from the seeded stream', async () => {
    const { clock, svc } = service();
    const run = svc.executeWithCircuitBreaker('db', 'query', async () => {
      throw failure({ code: 'ETIMEDOUT' });
    }, { retryPolicy: { maxAttempts: 4, baseDelay: 100, jitter: 0.2, seed: 42 }, config: NO_TIMEOUT });
    const { error } = await drive(clock, run, 1);
    assert.equal(error.code, 'ETIMEDOUT');
    const reference = new RetryPolicy({ baseDelay: 100, jitter: 0.2, seed: 42 });
    assert.deepEqual(clock.requested, [reference.delay(1), reference.delay(2), reference.delay(3)]);
    assert.deepEqual(clock.requested, [114.831297, 206.396415, 422.28809]);
  });

  test('delays stop growing at maxDelay', async () => {
    const [attempts, , clock] = await attemptsFor(failure({ code: 'ECONNRESET' }), { maxAttempts: 5, baseDelay: 10, maxDelay: 30, multiplier: 3 });
    assert.equal(attempts, 5);
    assert.deepEqual(clock.requested, [10, 30, 30, 30]);
  });

  for (const code of ['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'TIMEOUT', 'SQLITE_BUSY', 'SQLITE_LOCKED']) {
    test(`code ${code} is retried`, async () => {
      const [attempts, { error }] = await attemptsFor(failure({ code }));
      assert.equal(attempts, 3);
      assert.equal(error.code, code);
    });
  }

  for (const status of [502, 503, 504]) {
    for (const field of ['status', 'statusCode', 'response']) {
      test(`status ${status} (from ${field}) is retried`, async () => {
        const error = field === 'response' ? failure({ response: { status } }) : failure({ [field]: status });
        const [attempts] = await attemptsFor(error);
        assert.equal(attempts, 3);
      });
    }
  }

  for (const fields of [{ status: 400 }, { status: 401 }, { statusCode: 403 }, { response: { statusCode: 404 } }, { code: 'SQLITE_CONSTRAINT' }, { code: 'WS_AUTH_FAILED' }, { code: 'SQLITE_CONSTRAINT', status: 503 }, { status: 500 }, { code: 'EPIPE' }, {}]) {
    test(`${JSON.stringify(fields)} is not retried`, async () => {
      const [attempts, { error }] = await attemptsFor(failure(fields));
      assert.equal(attempts, 1);
      assert.deepEqual(Object.keys(fields).map((k) => error[k]), Object.values(fields));
    });
  }

  test('fetch\'s "fetch failed" is classified by its cause\'s code (a refused connection on 127.0.0.1)', async () => {
    const { createServer } = await import('node:http');
    const server = createServer();
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address();
    await new Promise((r) => server.close(r));
    const { clock, svc } = service();
    let attempts = 0;
    let seen;
    const run = svc.executeWithCircuitBreaker('api', 'get', async () => {
      attempts++;
      try {
        return await fetch(`http://127.0.0.1:${port}/`);
      } catch (error) {
        seen = error;
        throw error;
      }
    }, { retryPolicy: { baseDelay: 10, jitter: 0 }, config: NO_TIMEOUT });
    // Real I/O between attempts: step the clock only while a retry timer waits.
    let done = false;
    run.then(() => {}, () => {}).finally(() => { done = true; });
    while (!done) {
      await new Promise((r) => setTimeout(r, 1));
      if (clock.pendingTimers > 0) clock.advance(10);
    }
    await assert.rejects(run, (e) => e === seen);
    assert.equal(seen.cause.code, 'ECONNREFUSED');
    assert.equal(attempts, 3);
  });

  test('an error that is not an object is not retried, and propagates unchanged', async () => {
    const [attempts, { error }] = await attemptsFor('plain string');
    assert.equal(attempts, 1);
    assert.equal(error, 'plain string');
  });

  test('a call timeout is a failure (ETIMEDOUT, retried), aborts the signal and frees the slot', async () => {
    const { clock, svc } = service();
    svc.updateServiceConfig('slow', { bulkhead: { maxConcurrent: 1, queueSize: 0 } });
    const signals = [];
    const run = svc.executeWithCircuitBreaker('slow', 'op', ({ signal }) => {
      signals.push(signal);
      return new Promise(() => {});
    }, { config: { timeout: 50, failureThreshold: 100 }, retryPolicy: { baseDelay: 10, jitter: 0 } });
    const { error } = await drive(clock, run, 10);
    assert.equal(error.name, 'CircuitBreakerTimeoutError');
    assert.equal(error.code, 'ETIMEDOUT');
    assert.equal(signals.length, 3);
    assert.ok(signals.every((s) => s.aborted));
    assert.equal(clock.now(), 50 + 10 + 50 + 20 + 50);
    const stats = svc.getCircuitBreakerState()['slow:op'];
    assert.equal(stats.totalTimeouts, 3);
    assert.equal(svc.getBulkheadStats('slow').running, 0);
    assert.equal(await svc.executeWithCircuitBreaker('slow', 'op', () => 'sync value'), 'sync value');
    await assert.rejects(svc.executeWithCircuitBreaker('slow', 'op', () => { throw failure({ status: 404 }); }), /404/);
    assert.equal(svc.getBulkheadStats('slow').running, 0);
  });

  test('a breaker with facade hooks (from config) takes the general path with the same results', async () => {
    const { clock, svc } = service();
    let n = 0;
    const run = svc.executeWithCircuitBreaker('hooked', 'op', async () => {
      n++;
      throw failure({ code: 'ECONNRESET' });
    }, { config: { timeout: false, failureThreshold: 100, fallback: () => 'breaker fallback' }, retryPolicy: { baseDelay: 10, jitter: 0 } });
    const { value } = await drive(clock, run, 10);
    assert.equal(value, 'breaker fallback', "the breaker's own fallback answers the first failure");
    assert.equal(n, 1);
    assert.equal(svc.getBulkheadStats('hooked').running, 0);
  });

  test('retryableErrors adds codes; nonRetryableErrors overrides the defaults', async () => {
    assert.equal((await attemptsFor(failure({ code: 'CUSTOM_TRANSIENT_ERROR' }), { retryableErrors: ['CUSTOM_TRANSIENT_ERROR'] }))[0], 3);
    assert.equal((await attemptsFor(failure({ code: 'ECONNRESET' }), { nonRetryableErrors: ['ECONNRESET'] }))[0], 1);
    const { clock, svc } = service();
    svc.updateServiceConfig('custom-service', {
      retryPolicy: { retryableErrors: ['CUSTOM_TRANSIENT_ERROR'], nonRetryableErrors: ['CUSTOM_PERMANENT_ERROR'], baseDelay: 10, jitter: 0 },
      config: NO_TIMEOUT,
    });
    for (const [code, expected] of [['CUSTOM_TRANSIENT_ERROR', 3], ['CUSTOM_PERMANENT_ERROR', 1]]) {
      let n = 0;
      await drive(clock, svc.executeWithCircuitBreaker('custom-service', 'op', async () => {
        n++;
        throw failure({ code });
      }), 10);
      assert.equal(n, expected, code);
    }
  });

  test('retries stop as soon as the circuit opens', async () => {
    const [attempts, { error }, , svc] = await attemptsFor(failure({ code: 'ECONNRESET' }), { maxAttempts: 10 }, { failureThreshold: 2 });
    assert.equal(attempts, 2);
    assert.equal(error.code, 'ECONNRESET');
    assert.equal(svc.getCircuitBreakerState()['s:op'].state, 'OPEN');
  });

  test('an open circuit is not retried and fn is not called', async () => {
    const { clock, svc } = service();
    svc.forceCircuitBreakerOpen('s', 'op');
    let n = 0;
    const { error } = await drive(clock, svc.executeWithCircuitBreaker('s', 'op', async () => n++), 10);
    assert.ok(error instanceof CircuitBreakerOpenError);
    assert.equal(n, 0);
    assert.deepEqual(clock.requested, []);
  });

  test('bad retry options throw naming the option', () => {
    assert.throws(() => new RetryPolicy({ maxAttempts: 0 }), (e) => e instanceof RangeError && /maxAttempts/.test(e.message));
    assert.throws(() => new RetryPolicy({ jitter: 2 }), (e) => e instanceof RangeError && /jitter/.test(e.message));
    assert.throws(() => new RetryPolicy({ multiplier: 'x' }), (e) => e instanceof TypeError && /multiplier/.test(e.message));
    assert.throws(() => new RetryPolicy({ retryableErrors: 'ECONNRESET' }), (e) => e instanceof TypeError && /retryableErrors/.test(e.message));
    assert.throws(() => new RetryPolicy({ maxAttemps: 2 }), (e) => e instanceof TypeError && /maxAttemps/.test(e.message));
    const { svc } = service();
    assert.throws(() => svc.updateServiceConfig('x', { retryPolicy: { baseDelay: -1 } }), /baseDelay/);
    return assert.rejects(svc.executeWithCircuitBreaker('x', 'y', async () => 1, { retryPolicy: { maxDelay: 1, baseDelay: 5 } }), /max_delay|maxDelay/);
  });
});

describe('fallbacks', () => {
  test('fallbackValue answers failures after retries, refusals of the breaker and of the bulkhead', async () => {
    const { clock, svc } = service();
    const opts = { fallbackOptions: { fallbackValue: 'AI service temporarily unavailable' }, retryPolicy: { baseDelay: 10, jitter: 0 }, config: { ...NO_TIMEOUT, failureThreshold: 100 } };
    const failed = await drive(clock, svc.executeWithCircuitBreaker('ollama', 'generate', async () => { throw failure({ code: 'ECONNRESET' }); }, opts), 10);
    assert.equal(failed.value, 'AI service temporarily unavailable');
    svc.forceCircuitBreakerOpen('ollama', 'generate');
    assert.equal(await svc.executeWithCircuitBreaker('ollama', 'generate', async () => 'no', opts), 'AI service temporarily unavailable');
    svc.updateServiceConfig('busy', { bulkhead: { maxConcurrent: 1, queueSize: 0 } });
    let release;
    const holder = svc.executeWithCircuitBreaker('busy', 'op', () => new Promise((r) => { release = r; }), { config: NO_TIMEOUT });
    assert.equal(await svc.executeWithCircuitBreaker('busy', 'op', async () => 'no', { fallbackOptions: { fallbackValue: null } }), null);
    release('done');
    assert.equal(await holder, 'done');
  });

  test('fallbackFunction receives the error; without a fallback the original error rejects', async () => {
    const { svc } = service();
    const boom = failure({ status: 400 });
    const seen = [];
    const value = await svc.executeWithCircuitBreaker('s', 'op', async () => { throw boom; }, {
      fallbackOptions: { fallbackFunction: (e) => { seen.push(e); return 'fallback'; } },
    });
    assert.equal(value, 'fallback');
    assert.deepEqual(seen, [boom]);
    await assert.rejects(svc.executeWithCircuitBreaker('s', 'op', async () => { throw boom; }), (e) => e === boom);
    await assert.rejects(svc.executeWithCircuitBreaker('s', 'op', async () => { throw boom; }, { fallbackOptions: { queue: true } }), (e) => e === boom);
    assert.equal(svc.getDeadLetterQueue().length, 1);
  });

  test('seed 004\'s helpers use the presets and their fallbacks', async () => {
    const { svc } = service();
    assert.equal(await svc.executeOllamaRequest('generate', async () => { throw failure({ status: 401 }); }, () => 'Fallback response'), 'Fallback response');
    assert.equal(await svc.executeRedisOperation('get', async () => { throw failure({ status: 404 }); }, null), null);
    assert.deepEqual(await svc.executeDatabaseQuery('getUsers', async () => { throw failure({ code: 'SQLITE_CONSTRAINT' }); }, []), []);
    assert.deepEqual(await svc.executeExternalAPI('walmart', 'getPricing', async () => { throw failure({ status: 403 }); }, { error: 'PRICING_UNAVAILABLE' }), { error: 'PRICING_UNAVAILABLE' });
    await assert.rejects(svc.executeWebSocketOperation('broadcast', async () => { throw failure({ code: 'WS_AUTH_FAILED' }); }, true), /WS_AUTH_FAILED/);
    assert.deepEqual(svc.getDeadLetterQueue().map((i) => [i.service, i.operation]), [['websocket', 'broadcast']]);
    assert.equal(await svc.executeRedisOperation('get', async () => 'cached'), 'cached');
    const expect = { ollama: 'llm', redis: 'cache', database: 'database', walmart: 'external-api', websocket: 'websocket' };
    for (const [name, preset] of Object.entries(expect)) {
      const p = SERVICE_PRESETS[preset];
      const c = svc.getServiceConfig(name);
      assert.equal(c.preset, preset);
      assert.equal(c.bulkhead.maxConcurrent, p.maxConcurrent, name);
      assert.equal(c.retryPolicy.maxAttempts, p.retryAttempts + 1, name);
      assert.equal(svc.getCircuitBreaker(name, 'x').getOptions().failureThreshold, p.failureThreshold, name);
      assert.equal(svc.getCircuitBreaker(name, 'x').getOptions().requestTimeout, p.timeout, name);
    }
  });
});

describe('presets and configuration', () => {
  test('seed 004\'s numbers, by name', () => {
    assert.deepEqual(Object.keys(SERVICE_PRESETS), ['llm', 'cache', 'database', 'external-api', 'websocket']);
    assert.deepEqual(
      Object.values(SERVICE_PRESETS).map((p) => [p.failureThreshold, p.timeout, p.maxConcurrent, p.retryAttempts, p.fallback]),
      [[3, 300000, 3, 2, 'cache'], [5, 10000, 50, 3, 'in-memory'], [5, 30000, 20, 3, 'cache'], [3, 60000, 10, 3, 'cache'], [5, 10000, 100, 2, 'queue']],
    );
    const { svc } = service({ services: { ollama: 'llm', sqlite: { preset: 'database', bulkhead: { queueSize: 5 } } } });
    assert.equal(svc.getServiceConfig('ollama').bulkhead.maxConcurrent, 3);
    assert.deepEqual(svc.getServiceConfig('sqlite').bulkhead, { maxConcurrent: 20, queueSize: 5, maxQueueWait: null });
    assert.throws(() => svc.usePreset('x', 'mainframe'), (e) => e instanceof RangeError && /mainframe/.test(e.message));
  });

  test('updateServiceConfig applies to new calls; the breaker keeps its state', async () => {
    const { svc } = service();
    const opts = { config: { ...NO_TIMEOUT, failureThreshold: 3 }, retryPolicy: { maxAttempts: 1 } };
    for (let i = 0; i < 2; i++) await svc.executeWithCircuitBreaker('ollama', 'generate', async () => { throw failure({}); }, opts).catch(() => {});
    svc.updateServiceConfig('ollama', { config: { failureThreshold: 5, timeout: 180000 }, bulkhead: { maxConcurrent: 5 } });
    const breaker = svc.getCircuitBreaker('ollama', 'generate');
    assert.equal(breaker.getOptions().failureThreshold, 5);
    assert.equal(breaker.getOptions().requestTimeout, 180000);
    assert.equal(breaker.getStats().consecutiveFailures, 2);
    assert.equal(breaker.getStats().failureCount, 2);
    assert.equal(svc.getBulkheadStats('ollama').maxConcurrent, 5);
    for (let i = 0; i < 2; i++) await svc.executeWithCircuitBreaker('ollama', 'generate', async () => { throw failure({}); }, opts).catch(() => {});
    assert.equal(svc.getCircuitBreakerState()['ollama:generate'].state, 'CLOSED', 'four failures: below the new threshold');
    await svc.executeWithCircuitBreaker('ollama', 'generate', async () => { throw failure({}); }, opts).catch(() => {});
    assert.equal(svc.getCircuitBreakerState()['ollama:generate'].state, 'OPEN');
  });

  test('a bad update changes nothing', () => {
    const { svc } = service();
    svc.updateServiceConfig('s', { bulkhead: { maxConcurrent: 2 } });
    assert.throws(() => svc.updateServiceConfig('s', { bulkhead: { maxConcurrent: 7 }, config: { failureThreshold: -1 } }), /failureThreshold/);
    assert.throws(() => svc.updateServiceConfig('s', { bulkhead: { maxConcurrent: 0 } }), (e) => e instanceof RangeError && /maxConcurrent/.test(e.message));
    assert.throws(() => svc.updateServiceConfig('s', { bulkhead: { maxConcurent: 3 } }), (e) => e instanceof TypeError && /maxConcurent/.test(e.message));
    assert.equal(svc.getBulkheadStats('s').maxConcurrent, 2);
  });
});

describe('manual control, state and health', () => {
  test('forceCircuitBreakerOpen(service) opens every operation, including later ones, until reset', async () => {
    const { svc } = service();
    await svc.executeWithCircuitBreaker('ollama', 'generate', async () => 1);
    svc.forceCircuitBreakerOpen('ollama');
    await assert.rejects(svc.executeWithCircuitBreaker('ollama', 'generate', async () => 1), CircuitBreakerOpenError);
    await assert.rejects(svc.executeWithCircuitBreaker('ollama', 'embed', async () => 1), CircuitBreakerOpenError);
    assert.equal(await svc.executeWithCircuitBreaker('redis', 'get', async () => 'other services run'), 'other services run');
    assert.equal(svc.getSystemHealth().services.ollama.status, 'unhealthy');
    svc.resetCircuitBreaker('ollama', 'generate');
    assert.equal(await svc.executeWithCircuitBreaker('ollama', 'generate', async () => 'one reset'), 'one reset');
    await assert.rejects(svc.executeWithCircuitBreaker('ollama', 'chat', async () => 1), CircuitBreakerOpenError);
    svc.resetCircuitBreaker('ollama');
    assert.equal(await svc.executeWithCircuitBreaker('ollama', 'chat', async () => 'all reset'), 'all reset');
    assert.equal(await svc.executeWithCircuitBreaker('ollama', 'later', async () => 'later too'), 'later too');
  });

  test('getCircuitBreakerState keys every breaker service:operation', async () => {
    const { svc } = service();
    await svc.executeWithCircuitBreaker('a', 'x', async () => 1);
    await svc.executeWithCircuitBreaker('a', 'y', async () => 1);
    await svc.executeWithCircuitBreaker('b', 'x', async () => 1).catch(() => {});
    const states = svc.getCircuitBreakerState();
    assert.deepEqual(Object.keys(states).sort(), ['a:x', 'a:y', 'b:x']);
    assert.equal(states['a:x'].state, 'CLOSED');
    assert.equal(states['a:x'].totalRequests, 1);
  });

  test('system health: healthy, degraded (open, half-open, saturated), unhealthy (all open), healthy again', async () => {
    const { clock, svc } = service();
    const opts = { config: { ...NO_TIMEOUT, failureThreshold: 1, recoveryTimeout: 1000 }, retryPolicy: { maxAttempts: 1 } };
    await svc.executeWithCircuitBreaker('api', 'a', async () => 1, opts);
    await svc.executeWithCircuitBreaker('api', 'b', async () => 1, opts);
    assert.equal(svc.getSystemHealth().overall, 'healthy');
    await svc.executeWithCircuitBreaker('api', 'a', async () => { throw failure({}); }, opts).catch(() => {});
    let health = svc.getSystemHealth();
    assert.equal(health.overall, 'degraded');
    assert.deepEqual({ ...health.services.api.circuits }, { a: 'OPEN', b: 'CLOSED' }, 'a null-prototype object: any operation name is a key');
    await svc.executeWithCircuitBreaker('api', 'b', async () => { throw failure({}); }, opts).catch(() => {});
    assert.equal(svc.getSystemHealth().overall, 'unhealthy');
    clock.advance(1000);
    assert.equal(svc.getSystemHealth().overall, 'degraded', 'half-open');
    await svc.executeWithCircuitBreaker('api', 'a', async () => 1, opts);
    await svc.executeWithCircuitBreaker('api', 'b', async () => 1, opts);
    assert.equal(svc.getSystemHealth().overall, 'healthy');
    svc.updateServiceConfig('pool', { bulkhead: { maxConcurrent: 1, queueSize: 0 } });
    let release;
    const held = svc.executeWithCircuitBreaker('pool', 'op', () => new Promise((r) => { release = r; }), opts);
    health = svc.getSystemHealth();
    assert.equal(health.services.pool.status, 'degraded');
    assert.equal(health.services.pool.bulkhead.saturated, true);
    assert.equal(health.overall, 'degraded');
    release();
    await held;
    assert.equal(svc.getSystemHealth().overall, 'healthy');
  });
});

describe('alerts', () => {
  test('each fires once per episode', async () => {
    const alerts = [];
    const { clock, svc } = service({ onAlert: (a) => alerts.push(`cb:${a.type}`) });
    svc.on('alert', (a) => alerts.push(a.type));
    const opts = { config: { ...NO_TIMEOUT, failureThreshold: 2, recoveryTimeout: 100 }, retryPolicy: { maxAttempts: 1 }, fallbackOptions: { queue: true, fallbackValue: null } };
    const fail = () => svc.executeWithCircuitBreaker('api', 'op', async () => { throw failure({}); }, opts);
    await fail();
    assert.deepEqual(alerts, [], 'one failure in one call is no error rate yet');
    await fail();
    assert.deepEqual(alerts, ['circuit-opened', 'cb:circuit-opened', 'all-circuits-open', 'cb:all-circuits-open']);
    alerts.length = 0;
    for (let i = 0; i < 5; i++) await fail();
    assert.deepEqual(alerts, [], 'still the same episodes');
    clock.advance(100);
    await fail();
    assert.deepEqual(alerts, [], 'half-open then open again: the same outage');
    clock.advance(100);
    svc.clearDeadLetterQueue();
    // Closing clears the window: successes bring the rate to 0 and end the episode.
    const window = () => svc.getCircuitBreakerState()['api:op'].windowCalls;
    await svc.executeWithCircuitBreaker('api', 'op', async () => 1, opts);
    assert.equal(svc.getCircuitBreakerState()['api:op'].state, 'CLOSED');
    while (window() < 9) await svc.executeWithCircuitBreaker('api', 'op', async () => 1, opts);
    assert.equal(svc.getCircuitBreakerState()['api:op'].failureRate, 0);
    await fail();
    assert.deepEqual(alerts.filter((a) => !a.startsWith('cb:')), [], '1 failure in 10 calls: 10 % is not above 10 %');
    await svc.executeWithCircuitBreaker('api', 'op', async () => 1, opts);
    await svc.executeWithCircuitBreaker('api', 'op', async () => { throw failure({}); }, opts).catch(() => {});
    assert.deepEqual(alerts.filter((a) => !a.startsWith('cb:')), ['high-error-rate'], '2 failures in 12 calls: a new episode');
    await fail();
    assert.deepEqual(alerts.filter((a) => !a.startsWith('cb:')), ['high-error-rate', 'circuit-opened', 'all-circuits-open'], 'a new outage after recovery');
    alerts.length = 0;
    while (svc.getDeadLetterQueue().length < 10) await fail();
    assert.deepEqual(alerts, [], '10 items in the dead-letter queue');
    await fail();
    assert.deepEqual(alerts.filter((a) => !a.startsWith('cb:')), ['dead-letter-queue'], '> 10 items');
    await fail();
    svc.clearDeadLetterQueue();
    alerts.length = 0;
    for (let i = 0; i < 11; i++) await fail();
    assert.deepEqual(alerts.filter((a) => !a.startsWith('cb:')), ['dead-letter-queue'], 'again after it was emptied');
  });

  test('high-error-rate needs 10 calls in the window: 1 failure in 1 call does not fire, 2 in 10 do', async () => {
    const alerts = [];
    const { svc } = service();
    svc.on('alert', (a) => alerts.push(a));
    const opts = { config: { ...NO_TIMEOUT, failureThreshold: 100 }, retryPolicy: { maxAttempts: 1 } };
    const fail = (op) => svc.executeWithCircuitBreaker('api', op, async () => { throw failure({}); }, opts).catch(() => {});
    const succeed = (op) => svc.executeWithCircuitBreaker('api', op, async () => 1, opts);
    await fail('first');
    assert.equal(svc.getCircuitBreakerState()['api:first'].failureRate, 1);
    assert.deepEqual(alerts, [], '1 failure in 1 call: 100 %, but no rate yet');
    for (let i = 0; i < 7; i++) await fail('first');
    assert.deepEqual(alerts, [], '8 failures in 8 calls: still fewer than 10 calls');
    for (let i = 0; i < 8; i++) await succeed('op');
    await fail('op');
    assert.deepEqual(alerts, [], '1 failure in 9 calls');
    await fail('op');
    assert.deepEqual(alerts.map((a) => [a.type, a.operation, a.windowCalls, a.windowFailures]), [['high-error-rate', 'op', 10, 2]]);
    assert.match(alerts[0].message, /20\.0 % over 10 calls/);
    assert.equal(alerts[0].failureRate, 0.2);
    // The episode goes on while successes keep the rate above 10 %, and ends when they bring it down.
    for (let i = 0; i < 8; i++) await succeed('op');
    assert.equal(alerts.length, 1);
    await succeed('op');
    await succeed('op');
    await fail('op');
    assert.deepEqual(alerts.map((a) => a.type), ['high-error-rate', 'high-error-rate'], '3 in 21 calls after the rate fell to 2 in 20: a new episode');
  });

  test('bulkhead at capacity alerts once while it stays full', async () => {
    const alerts = [];
    const { svc } = service();
    svc.on('alert', (a) => alerts.push(a));
    svc.updateServiceConfig('pool', { bulkhead: { maxConcurrent: 1, queueSize: 1 }, config: NO_TIMEOUT });
    const releases = [];
    const hold = () => svc.executeWithCircuitBreaker('pool', 'op', () => new Promise((r) => releases.push(r)));
    const first = hold();
    const second = hold();
    await assert.rejects(hold(), BulkheadRejectedError);
    assert.deepEqual(alerts.map((a) => [a.type, a.service]), [['bulkhead-full', 'pool']]);
    releases.shift()();
    await first;
    await settle();
    releases.shift()();
    await second;
    const third = hold();
    const fourth = hold();
    await settle();
    assert.deepEqual(alerts.map((a) => a.type), ['bulkhead-full', 'bulkhead-full'], 'a second episode');
    releases.shift()();
    await third;
    await settle();
    releases.shift()();
    await fourth;
  });
});

describe('memory', () => {
  test('an LRU cap on idle breakers: evictions counted, busy and open breakers kept', async () => {
    const { svc } = service({ maxBreakers: 10 });
    let release;
    const busy = svc.executeWithCircuitBreaker('s', 'busy', () => new Promise((r) => { release = r; }), { config: NO_TIMEOUT });
    svc.forceCircuitBreakerOpen('s', 'open');
    for (let i = 0; i < 100; i++) await svc.executeWithCircuitBreaker(`tenant-${i}`, `op-${i}`, async () => i);
    const health = svc.getSystemHealth();
    assert.ok(health.breakers.count <= 10, `${health.breakers.count} breakers`);
    assert.equal(health.breakers.evictions, svc.evictions);
    assert.equal(svc.evictions, 102 - health.breakers.count);
    const keys = Object.keys(svc.getCircuitBreakerState());
    assert.ok(keys.includes('s:busy') && keys.includes('s:open'), keys.join());
    assert.ok(keys.includes('tenant-99:op-99'));
    assert.ok(!keys.includes('tenant-0:op-0'));
    assert.ok(!circuitBreakerRegistry.has('tenant-0:op-0'), 'evicted breakers leave the registry');
    assert.ok(Object.keys(health.services).length <= 12, 'idle unconfigured services go with their breakers');
    release('ok');
    assert.equal(await busy, 'ok');
  });
});

test('an evicted breaker\'s alert episodes end with it', async () => {
  const alerts = [];
  const { svc } = service({ maxBreakers: 3 });
  svc.on('alert', (a) => alerts.push(`${a.type}:${a.service}:${a.operation}`));
  const opts = { config: { ...NO_TIMEOUT, failureThreshold: 100 }, retryPolicy: { maxAttempts: 1 } };
  // 2 failures in 10 calls: a high error rate.
  const highRate = async () => {
    for (let i = 0; i < 8; i++) await svc.executeWithCircuitBreaker('a', 'x', async () => i, opts);
    for (let i = 0; i < 2; i++) await svc.executeWithCircuitBreaker('a', 'x', async () => { throw failure({}); }, opts).catch(() => {});
  };
  await highRate();
  assert.deepEqual(alerts, ['high-error-rate:a:x']);
  for (let i = 0; i < 5; i++) await svc.executeWithCircuitBreaker(`t${i}`, 'op', async () => i);
  assert.ok(!('a:x' in svc.getCircuitBreakerState()), 'evicted');
  await highRate();
  assert.deepEqual(alerts, ['high-error-rate:a:x', 'high-error-rate:a:x'], 'a fresh breaker, a fresh episode');
});

describe('seed 003 keeps working on the extended service', () => {
  test('execute(service, operation, fn, fallback, options) and getCircuitBreakerStats', async () => {
    const svc = new CircuitBreakerService({ clock: new RecordingClock(5000) });
    const opts = { failureThreshold: 1, recoveryTimeout: 30000, timeout: false };
    await assert.rejects(svc.execute('cognito', 'verifyJWT', async () => { throw new Error('down'); }, undefined, opts), /down/);
    const value = await svc.execute('cognito', 'verifyJWT', async () => 'never', async () => 'fallback', opts);
    assert.equal(value, 'fallback');
    const stats = svc.getCircuitBreakerStats('cognito', 'verifyJWT');
    assert.equal(stats.state, 'OPEN');
    assert.ok(stats.lastFailureTime instanceof Date);
    assert.ok(circuitBreakerService instanceof CircuitBreakerService);
    assert.equal(typeof circuitBreakerService.executeWithCircuitBreaker, 'function');
  });
});
