// Issue 10's five cases, found by trying the service as a new user would: typed keys,
// the eviction cap (the same counts as Python), evicted breakers released at once, and
// any string as a name in every report.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { CircuitBreakerService, CircuitBreaker, CircuitBreakerOpenError, ManualClock, HealthCheckManager } from 'tripwire';

const ok = async () => 'ok';

test('1: (a:b, c) and (a, b:c) are different breakers everywhere', async () => {
  const svc = new CircuitBreakerService({ clock: new ManualClock() });
  const left = svc.getCircuitBreaker('a:b', 'c');
  const right = svc.getCircuitBreaker('a', 'b:c');
  assert.notEqual(left, right);
  assert.equal(left.name, 'a%3Ab:c');
  assert.equal(right.name, 'a:b%3Ac');
  svc.forceCircuitBreakerOpen('a', 'b:c');
  assert.equal(await svc.executeWithCircuitBreaker('a:b', 'c', ok), 'ok');
  await assert.rejects(svc.executeWithCircuitBreaker('a', 'b:c', ok), CircuitBreakerOpenError);
  assert.equal(svc.getCircuitBreakerStats('a:b', 'c').state, 'CLOSED');
  assert.equal(svc.getCircuitBreakerStats('a', 'b:c').state, 'OPEN');
  assert.equal(svc.getCircuitBreakerStats('a:b', 'c').successCount, 1);
  const state = svc.getCircuitBreakerState();
  assert.deepEqual(Object.keys(state).sort(), ['a%3Ab:c', 'a:b%3Ac']);
  assert.deepEqual([state['a%3Ab:c'].service, state['a%3Ab:c'].operation, state['a%3Ab:c'].state], ['a:b', 'c', 'CLOSED']);
  assert.deepEqual([state['a:b%3Ac'].service, state['a:b%3Ac'].operation, state['a:b%3Ac'].state], ['a', 'b:c', 'OPEN']);
  assert.deepEqual(Object.keys(svc.getAllCircuitBreakerStats()).sort(), ['a%3Ab:c', 'a:b%3Ac']);
  const health = svc.getSystemHealth();
  assert.deepEqual(Object.keys(health.services).sort(), ['a', 'a:b']);
  assert.equal(health.services.a.circuits['b:c'], 'OPEN');
  assert.equal(health.services['a:b'].circuits.c, 'CLOSED');
});

test('2: maxBreakers 2, 50 operations of service api:v1: 2 live breakers, 48 evictions', async () => {
  const svc = new CircuitBreakerService({ clock: new ManualClock(), maxBreakers: 2 });
  for (let i = 0; i < 50; i++) await svc.executeWithCircuitBreaker('api:v1', `op${i}`, ok);
  const health = svc.getSystemHealth();
  assert.equal(health.breakers.count, 2);
  assert.equal(health.breakers.evictions, 48);
  assert.equal(svc.evictions, 48);
  assert.equal(Object.keys(svc.getCircuitBreakerState()).length, 2);
  assert.equal(Object.keys(health.services['api:v1'].circuits).length, 2);
});

test('unbounded service names through a helper\'s preset or a call\'s bulkhead: services go with their last breaker', async () => {
  const svc = new CircuitBreakerService({ clock: new ManualClock(), maxBreakers: 5 });
  for (let i = 0; i < 100; i++) {
    await svc.executeExternalAPI(`api-${i}`, 'get', ok);
    await svc.executeWithCircuitBreaker(`pool-${i}`, 'get', ok, { bulkhead: { maxConcurrent: 3 } });
  }
  assert.equal(Object.keys(svc.getSystemHealth().services).length, 5, 'the services of the 5 live breakers');
  assert.equal(svc.getServiceConfig('api-99').preset, 'external-api', 'each call brings its defaults');
  assert.equal(svc.getServiceConfig('pool-99').bulkhead.maxConcurrent, 3);
  // Configured by updateServiceConfig: kept after its breakers go.
  svc.updateServiceConfig('kept', { preset: 'external-api' });
  await svc.executeExternalAPI('kept', 'get', ok);
  for (let i = 0; i < 10; i++) await svc.executeWithCircuitBreaker('other', `op${i}`, ok);
  assert.ok('kept' in svc.getSystemHealth().services);
});

test('3: maxBreakers 10, 11 operations: 10 breakers, 1 eviction (as in Python)', async () => {
  const svc = new CircuitBreakerService({ clock: new ManualClock(), maxBreakers: 10 });
  for (let i = 0; i < 11; i++) await svc.executeWithCircuitBreaker('api', `op${i}`, ok);
  assert.equal(svc.getSystemHealth().breakers.count, 10);
  assert.equal(svc.evictions, 1);
});

test('4: an evicted breaker holds no pending timer and is collected', async () => {
  const clock = new ManualClock();
  const svc = new CircuitBreakerService({ clock, maxBreakers: 2 });
  // A 30 s call timeout: every call arms its breaker's timer.
  svc.updateServiceConfig('tenant', { config: { timeout: 30000 } });
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc');
  let collected = 0;
  const registry = new FinalizationRegistry(() => collected++);
  for (let i = 0; i < 50; i++) {
    await svc.executeWithCircuitBreaker('tenant', `op${i}`, async () => i);
    registry.register(svc.getCircuitBreaker('tenant', `op${i}`), i);
  }
  assert.equal(svc.evictions, 48);
  assert.ok(clock.pendingTimers <= 2, `${clock.pendingTimers} timers pending: only the live breakers' may be`);
  for (let i = 0; i < 10 && collected < 48; i++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
  assert.equal(collected, 48, 'every evicted breaker was collected');
});

test('5: __proto__, constructor and the empty string are names in every report and JSON', async () => {
  const svc = new CircuitBreakerService({ clock: new ManualClock() });
  const names = ['__proto__', 'constructor', ''];
  for (const service of names) {
    for (const operation of names) await svc.executeWithCircuitBreaker(service, operation, ok);
  }
  svc.forceCircuitBreakerOpen('__proto__');
  const health = svc.getSystemHealth();
  assert.deepEqual(Object.keys(health.services).sort(), ['', '__proto__', 'constructor']);
  assert.equal(health.services.__proto__.status, 'unhealthy');
  assert.equal(health.overall, 'unhealthy');
  assert.deepEqual(Object.keys(health.services.__proto__.circuits).sort(), ['', '__proto__', 'constructor']);
  assert.equal(Object.getPrototypeOf(health.services), null);
  const json = JSON.parse(JSON.stringify(health));
  assert.deepEqual(Object.keys(json.services).sort(), ['', '__proto__', 'constructor']);
  assert.equal(json.services.__proto__.circuits.__proto__, 'OPEN');
  const keys = ['', ':', ':__proto__', ':constructor', '__proto__', '__proto__:', '__proto__:__proto__', '__proto__:constructor', 'constructor', 'constructor:', 'constructor:__proto__', 'constructor:constructor'];
  const expected = keys.filter((k) => k.includes(':'));
  for (const report of [svc.getAllCircuitBreakerStats(), svc.getCircuitBreakerState()]) {
    assert.deepEqual(Object.keys(report).sort(), expected);
    assert.deepEqual(Object.keys(JSON.parse(JSON.stringify(report))).sort(), expected);
    assert.equal(report['__proto__:__proto__'].state, 'OPEN');
  }
  assert.equal(svc.getCircuitBreakerState()['__proto__:'].operation, '');
  // The process-wide registry's reports, and the health report built on them.
  const plain = new CircuitBreaker({ name: '__proto__' });
  await plain.execute(ok);
  const { getAllCircuitBreakerStats } = await import('tripwire');
  const all = getAllCircuitBreakerStats();
  assert.ok(Object.hasOwn(all, '__proto__'));
  assert.ok(Object.hasOwn(JSON.parse(JSON.stringify(all)), '__proto__'));
  const report = await new HealthCheckManager({ checks: [] }).executeHealthChecks();
  assert.ok(Object.hasOwn(report.circuitBreakers, '__proto__'));
  assert.ok(Object.hasOwn(JSON.parse(JSON.stringify(report)).circuitBreakers, '__proto__'));
});
