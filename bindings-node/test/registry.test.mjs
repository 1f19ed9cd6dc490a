// The registry and the seeds' helpers: seed 001 (registry, createCircuitBreaker,
// withCircuitBreaker), seed 000 (createExternalServiceCircuitBreaker,
// getAllCircuitBreakerStats), seed 002 (factory, monitor), seed 003 (service).
import { test, describe, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import * as esm from 'tripwire';
import {
  CircuitBreaker,
  CircuitBreakerFactory,
  CircuitBreakerMonitor,
  CircuitBreakerOpenError,
  CircuitBreakerService,
  CircuitBreakerTimeoutError,
  CircuitState,
  ManualClock,
  circuitBreakerRegistry,
  circuitBreakerService,
  createCircuitBreaker,
  createExternalServiceCircuitBreaker,
  getAllCircuitBreakerStats,
  withCircuitBreaker,
} from 'tripwire';

afterEach(() => circuitBreakerRegistry.clear());

const boom = async () => {
  throw new Error('boom');
};

describe('entry points', () => {
  test('require and import give the same objects (one registry)', () => {
    const cjs = createRequire(import.meta.url)('tripwire');
    for (const [key, value] of Object.entries(esm)) {
      if (key !== 'default') assert.equal(cjs[key], value, key);
    }
    assert.deepEqual(Object.keys(cjs).sort(), Object.keys(esm).filter((k) => k !== 'default').sort());
  });
});

describe('seed 001: registry', () => {
  test('every breaker registers under its name; a later one replaces the entry', () => {
    const a = new CircuitBreaker({ name: 'svc' });
    assert.equal(circuitBreakerRegistry.get('svc'), a);
    const b = new CircuitBreaker({ name: 'svc' });
    assert.equal(circuitBreakerRegistry.get('svc'), b);
    assert.equal(circuitBreakerRegistry.getAll().length, 1);
  });

  test('createCircuitBreaker returns the registered breaker for a known name (options then ignored)', () => {
    const first = createCircuitBreaker('my-service', { failureThreshold: 3, recoveryTimeout: 30000 });
    const again = createCircuitBreaker('my-service', { failureThreshold: 9 });
    assert.equal(first, again);
    assert.equal(again.getOptions().failureThreshold, 3);
    assert.equal(first.name, 'my-service');
    assert.equal(createCircuitBreaker('defaults-only').getOptions().failureThreshold, 5);
  });

  test('withCircuitBreaker runs through the registered breaker', async () => {
    const options = { failureThreshold: 2, recoveryTimeout: 60000, successThreshold: 2, requestTimeout: 30000 };
    assert.equal(await withCircuitBreaker('oauth', async () => 'token', options), 'token');
    await withCircuitBreaker('oauth', boom, options).catch(() => {});
    await withCircuitBreaker('oauth', boom, options).catch(() => {});
    const error = await withCircuitBreaker('oauth', async () => 'token').catch((e) => e);
    assert.ok(error instanceof CircuitBreakerOpenError);
    assert.equal(error.state, CircuitState.OPEN);
    assert.equal(circuitBreakerRegistry.get('oauth').getStats().totalRequests, 3);
  });

  test('getAllStats, resetAll, remove, clear', async () => {
    const a = createCircuitBreaker('a', { failureThreshold: 1 });
    createCircuitBreaker('b');
    await a.execute(boom).catch(() => {});
    const stats = circuitBreakerRegistry.getAllStats();
    assert.deepEqual(stats.map((s) => [s.name, s.state]), [['a', 'OPEN'], ['b', 'CLOSED']]);
    circuitBreakerRegistry.resetAll();
    assert.equal(a.getState(), CircuitState.CLOSED);
    assert.equal(a.getStats().failureCount, 0);
    assert.equal(circuitBreakerRegistry.remove('b'), true);
    assert.equal(circuitBreakerRegistry.size, 1);
    circuitBreakerRegistry.clear();
    assert.equal(circuitBreakerRegistry.get('a'), undefined);
    assert.equal(await a.execute(async () => 1), 1, 'a cleared breaker still works for its holder');
  });

  test('a name must be a string', () => {
    assert.throws(() => createCircuitBreaker(42), TypeError);
  });
});

describe('seed 000', () => {
  test('createExternalServiceCircuitBreaker: rate 0.5 over ≥ 10 calls, 30 s timeout, 60 s open, fallback', async () => {
    const breaker = createExternalServiceCircuitBreaker('weather', async () => null);
    const o = breaker.getOptions();
    assert.deepEqual([o.failureThreshold, o.minimumRequests, o.requestTimeout, o.recoveryTimeout], [0.5, 10, 30000, 60000]);
    for (let i = 0; i < 10; i++) assert.equal(await breaker.execute(boom), null, 'the fallback answers failures');
    assert.equal(breaker.getState(), CircuitState.OPEN);
    assert.equal(await breaker.execute(async () => 'fresh'), null, 'and refusals');
    assert.equal(circuitBreakerRegistry.get('weather'), breaker);
  });

  test('always constructs: a second one with the same name replaces the first in the registry', () => {
    const first = createExternalServiceCircuitBreaker('same', async () => 1);
    const second = createExternalServiceCircuitBreaker('same', async () => 2);
    assert.notEqual(first, second);
    assert.equal(circuitBreakerRegistry.get('same'), second);
  });

  test('getAllCircuitBreakerStats is keyed by name', async () => {
    const stripe = new CircuitBreaker({ name: 'stripe' });
    await stripe.execute(async () => 1);
    new CircuitBreaker({ name: 'weather' });
    const all = getAllCircuitBreakerStats();
    assert.deepEqual(Object.keys(all).sort(), ['stripe', 'weather']);
    assert.equal(all.stripe.successCount, 1);
    assert.equal(all.stripe.failureRate, 0);
    assert.equal(all.weather.state, 'CLOSED');
  });
});

describe('seed 002: factory and monitor', () => {
  const config = { name: 'nerdgraph-api', failureThreshold: 5, successThreshold: 2, timeout: 30000, retryDelay: 5000, monitoringWindow: 60000 };

  test('create returns the existing breaker for a known name; get, getAll (a Map copy), reset, resetAll', async () => {
    const factory = new CircuitBreakerFactory();
    const breaker = factory.create(config);
    assert.equal(factory.create({ ...config, failureThreshold: 1 }), breaker);
    assert.equal(factory.get('nerdgraph-api'), breaker);
    assert.equal(factory.get('nope'), undefined);
    const all = factory.getAll();
    assert.ok(all instanceof Map);
    all.delete('nerdgraph-api');
    assert.equal(factory.getAll().size, 1, 'getAll returns a copy');
    breaker.open();
    factory.reset('nerdgraph-api');
    assert.equal(breaker.getState(), CircuitState.CLOSED);
    factory.reset('nope');
    breaker.open();
    factory.resetAll();
    assert.equal(breaker.getState(), CircuitState.CLOSED);
  });

  test('the factory passes its logger to its breakers', async () => {
    const warnings = [];
    const factory = new CircuitBreakerFactory({ debug() {}, info() {}, warn: (m) => warnings.push(m), error() {} });
    const breaker = factory.create({ ...config, name: 'event-api', failureThreshold: 1 });
    await breaker.execute(boom).catch(() => {});
    assert.ok(warnings.includes("Circuit breaker 'event-api' opened"));
  });

  test('reportMetrics streams one CircuitBreakerMetric per breaker, nothing without breakers', async () => {
    const streamed = [];
    const streamer = { streamMetrics: async (metrics) => { streamed.push(metrics); } };
    const factory = new CircuitBreakerFactory();
    const monitor = new CircuitBreakerMonitor(factory, streamer);
    await monitor.reportMetrics();
    assert.equal(streamed.length, 0);
    const breaker = factory.create(config);
    await breaker.execute(async () => 1);
    await breaker.execute(boom).catch(() => {});
    await monitor.reportMetrics();
    assert.equal(streamed.length, 1);
    const [metric] = streamed[0];
    assert.equal(metric.eventType, 'CircuitBreakerMetric');
    assert.equal(metric.breakerName, 'nerdgraph-api');
    assert.equal(metric.state, 'CLOSED');
    assert.deepEqual([metric.totalCalls, metric.totalFailures, metric.totalSuccesses], [2, 1, 1]);
    assert.equal(metric.failureRate, 50);
    assert.equal(metric.successRate, 50);
  });

  test('startMonitoring uses a timer that does not keep the process alive; stopMonitoring ends it', () => {
    const monitor = new CircuitBreakerMonitor(new CircuitBreakerFactory(), { streamMetrics() {} });
    monitor.startMonitoring(60000);
    assert.equal(monitor._interval.hasRef(), false);
    monitor.stopMonitoring();
    assert.equal(monitor._interval, null);
    assert.throws(() => monitor.startMonitoring(-1), RangeError);
  });
});

describe('seed 003: CircuitBreakerService', () => {
  const options = { failureThreshold: 3, recoveryTimeout: 30000, expectedResponseTime: 2000, monitoringWindow: 60000, minimumRequestCount: 5 };

  test('one breaker per (service, operation)', async () => {
    const service = new CircuitBreakerService();
    await service.execute('dynamodb', 'storeUserMessage', async () => 1, undefined, options);
    await service.execute('dynamodb', 'storeBotMessage', async () => 2, undefined, options);
    await service.execute('dynamodb', 'storeUserMessage', async () => 3, undefined, options);
    assert.equal(service.getCircuitBreakerStats('dynamodb', 'storeUserMessage').totalRequests, 2);
    assert.equal(service.getCircuitBreakerStats('dynamodb', 'storeBotMessage').totalRequests, 1);
    assert.equal(service.getCircuitBreakerStats('dynamodb', 'removeConnection'), undefined);
    assert.deepEqual(Object.keys(service.getAllCircuitBreakerStats()).sort(), ['dynamodb:storeBotMessage', 'dynamodb:storeUserMessage']);
  });

  test('opens after the minimum and threshold; the fallback answers refusals; one trial success closes', async () => {
    const clock = new ManualClock(1_000_000);
    const service = new CircuitBreakerService();
    const fallbackErrors = [];
    const fallback = async (error) => {
      fallbackErrors.push(error);
      throw new Error('Authentication service temporarily unavailable');
    };
    const opts = { ...options, clock };
    for (let i = 0; i < 5; i++) {
      await assert.rejects(service.execute('cognito', 'verifyJWT', boom, fallback, opts), /temporarily unavailable/);
    }
    let stats = service.getCircuitBreakerStats('cognito', 'verifyJWT');
    assert.equal(stats.state, CircuitState.OPEN);
    assert.ok(stats.lastFailureTime instanceof Date);
    assert.equal(stats.lastSuccessTime, null);
    assert.equal(stats.nextAttemptTime.getTime(), 1_000_000 + 30000);
    let ran = false;
    await assert.rejects(service.execute('cognito', 'verifyJWT', async () => { ran = true; }, fallback, opts));
    assert.equal(ran, false);
    assert.ok(fallbackErrors.at(-1) instanceof CircuitBreakerOpenError);
    clock.advance(30000);
    assert.equal(await service.execute('cognito', 'verifyJWT', async () => 'claims', fallback, opts), 'claims');
    stats = service.getCircuitBreakerStats('cognito', 'verifyJWT');
    assert.equal(stats.state, CircuitState.CLOSED, 'a single test request closes it');
    assert.equal(stats.nextAttemptTime, null);
    assert.ok(stats.lastSuccessTime instanceof Date);
    assert.deepEqual(Object.keys(stats).sort(), [
      'failureCount', 'failureRate', 'lastFailureTime', 'lastSuccessTime', 'nextAttemptTime', 'state', 'successCount', 'totalRequests',
    ]);
  });

  test('the fallback answers timeouts, and no fallback means the error itself', async () => {
    const clock = new ManualClock();
    const service = new CircuitBreakerService();
    const running = service.execute('apigateway', 'postToConnection', () => new Promise(() => {}), (e) => e, { timeout: 1000, clock });
    clock.advance(1000);
    assert.ok((await running) instanceof CircuitBreakerTimeoutError);
    await assert.rejects(service.execute('apigateway', 'other', boom), /boom/);
  });

  test('a half-open circuit lets a single test request through', async () => {
    const clock = new ManualClock();
    const service = new CircuitBreakerService();
    const opts = { failureThreshold: 1, recoveryTimeout: 10, clock };
    await service.execute('s', 'op', boom, undefined, opts).catch(() => {});
    clock.advance(10);
    let release;
    const trial = service.execute('s', 'op', () => new Promise((r) => { release = r; }), undefined, opts);
    const second = await service.execute('s', 'op', async () => 'second', undefined, opts).catch((e) => e);
    assert.ok(second instanceof CircuitBreakerOpenError);
    assert.equal(second.state, CircuitState.HALF_OPEN);
    release('first');
    assert.equal(await trial, 'first');
  });

  test('a shared circuitBreakerService instance', () => {
    assert.ok(circuitBreakerService instanceof CircuitBreakerService);
  });
});

describe('index.d.ts', () => {
  test('declares every runtime export, and nothing that is not exported', async () => {
    const { readFileSync } = await import('node:fs');
    const dts = readFileSync(new URL('../index.d.ts', import.meta.url), 'utf8');
    const declarations = (text) => [...text.matchAll(/^export declare (?:class|function|const) (\w+)/gm)].map((m) => m[1]);
    const declared = new Set(declarations(dts));
    // The facade's shared declarations (js/tripwire-types.d.ts), re-exported with `export *`.
    for (const [, spec] of dts.matchAll(/^export \* from '([^']+)'/gm)) {
      const shared = readFileSync(new URL(spec.replace(/\.js$/, '.d.ts'), new URL('../index.d.ts', import.meta.url)), 'utf8');
      for (const name of declarations(shared)) declared.add(name);
    }
    const exported = new Set(Object.keys(createRequire(import.meta.url)('tripwire')));
    assert.deepEqual([...exported].filter((k) => !declared.has(k)), [], 'exported but not declared');
    assert.deepEqual([...declared].filter((k) => !exported.has(k)), [], 'declared but not exported');
  });
});
