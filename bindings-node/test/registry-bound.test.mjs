// The registry is bounded (issue 11, item 2) and any string is a name (item 3).
// Names often come from request data: past its capacity the registry evicts idle
// entries only (closed, not forced, nothing in flight), counts them, and emits
// `evict`; a breaker someone holds keeps working. Manual clocks, no timing.
import { test, describe, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import {
  CircuitBreaker,
  HealthCheckManager,
  ManualClock,
  circuitBreakerRegistry as registry,
  createCircuitBreaker,
  getAllCircuitBreakerStats,
  withCircuitBreaker,
} from 'tripwire';

const fail = () => Promise.reject(new Error('down'));

beforeEach(() => {
  registry.clear();
  registry.capacity = 10000;
});

describe('capacity', () => {
  test('defaults to 10,000 names; must be a whole number ≥ 1', () => {
    assert.equal(registry.capacity, 10000);
    assert.throws(() => { registry.capacity = 0; }, (e) => e instanceof RangeError && /capacity/.test(e.message));
    assert.throws(() => { registry.capacity = 1.5; }, RangeError);
    assert.throws(() => { registry.capacity = '5'; }, (e) => e instanceof TypeError && /capacity/.test(e.message));
    registry.capacity = 3;
    assert.equal(registry.capacity, 3);
  });

  test('20,000 distinct names through withCircuitBreaker stay within the bound', async () => {
    registry.capacity = 1000;
    const before = registry.evictions;
    for (let i = 0; i < 20000; i++) await withCircuitBreaker(`user-${i}`, () => i);
    assert.equal(registry.size, 1000);
    assert.equal(registry.evictions - before, 19000);
  });
});

describe('only idle closed breakers are evicted', () => {
  test('open, forced open, half-open, disabled and busy breakers stay; idle ones go', async () => {
    const clock = new ManualClock(0);
    registry.capacity = 6;
    const open = createCircuitBreaker('open', { failureThreshold: 1, resetTimeout: 1000, clock });
    await assert.rejects(open.execute(fail));
    const halfOpen = createCircuitBreaker('half-open', { failureThreshold: 1, resetTimeout: 10, clock });
    await assert.rejects(halfOpen.execute(fail));
    const forced = createCircuitBreaker('forced', { clock });
    forced.open();
    const disabled = createCircuitBreaker('disabled', { clock });
    disabled.disable();
    // Calls in flight: a permit-holding call, and an untimed call on a quiet breaker.
    const busy = createCircuitBreaker('busy', { clock, timeout: 100 });
    let releaseBusy;
    const busyCall = busy.execute(() => new Promise((resolve) => { releaseBusy = resolve; }));
    const untimed = createCircuitBreaker('untimed', { clock, timeout: false });
    await untimed.execute(() => 'warm');
    let releaseUntimed;
    const untimedCall = untimed.execute(() => new Promise((resolve) => { releaseUntimed = resolve; }));
    clock.advance(20); // half-open's open duration has passed: it reads HALF_OPEN
    assert.equal(halfOpen.getState(), 'HALF_OPEN');

    const evicted = [];
    const onEvict = ({ name, breaker }) => evicted.push([name, breaker]);
    registry.on('evict', onEvict);
    const idle = createCircuitBreaker('idle', { clock });
    assert.equal(registry.size, 7, 'every entry busy: the registry grew past its capacity');
    assert.deepEqual(evicted, []);

    releaseBusy('done');
    releaseUntimed('done');
    assert.equal(await busyCall, 'done');
    assert.equal(await untimedCall, 'done');
    createCircuitBreaker('newcomer-1', { clock });
    createCircuitBreaker('newcomer-2', { clock });
    registry.off('evict', onEvict);
    const names = evicted.map(([name]) => name).sort();
    for (const name of names) assert.ok(['busy', 'untimed', 'idle', 'newcomer-1'].includes(name), name);
    for (const name of ['open', 'half-open', 'forced', 'disabled']) assert.ok(registry.has(name), `${name} stays`);
    assert.ok(registry.size <= 7);
    assert.ok(evicted.every(([name, breaker]) => breaker.name === name && !registry.has(name) || registry.get(name) !== breaker));
  });

  test('an evicted breaker keeps working for whoever holds it; its name gets a new one', async () => {
    registry.capacity = 1;
    const held = createCircuitBreaker('held', { failureThreshold: 2 });
    await held.execute(() => 1);
    createCircuitBreaker('other');
    createCircuitBreaker('third');
    assert.equal(registry.has('held'), false, 'evicted');
    assert.equal(await held.execute(() => 'still works'), 'still works');
    await assert.rejects(held.execute(fail));
    await assert.rejects(held.execute(fail));
    assert.equal(held.getState(), 'OPEN');
    const fresh = createCircuitBreaker('held');
    assert.notEqual(fresh, held);
    assert.equal(fresh.getState(), 'CLOSED');
  });

  test('replacing and removing names keep the count right', () => {
    registry.capacity = 2;
    new CircuitBreaker({ name: 'a' });
    new CircuitBreaker({ name: 'a' });
    new CircuitBreaker({ name: 'b' });
    const before = registry.evictions;
    assert.equal(registry.size, 2);
    registry.remove('a');
    new CircuitBreaker({ name: 'c' });
    assert.equal(registry.evictions, before, 'room was made by remove()');
    assert.deepEqual(registry.getAll().map((b) => b.name).sort(), ['b', 'c']);
  });
});

describe('any string is a name in reports', () => {
  const NAMES = ['__proto__', 'constructor', '', 'hasOwnProperty', 'toString'];

  test('getAllCircuitBreakerStats lists every name and JSON-serialises it', () => {
    for (const name of NAMES) createCircuitBreaker(name);
    const all = getAllCircuitBreakerStats();
    assert.deepEqual(Object.keys(all).sort(), [...NAMES].sort());
    for (const name of NAMES) assert.equal(Object.getOwnPropertyDescriptor(all, name).value.name, name);
    assert.equal(Object.getPrototypeOf(all), Object.prototype, 'still a plain object');
    const parsed = JSON.parse(JSON.stringify(all));
    assert.deepEqual(Object.keys(parsed).sort(), [...NAMES].sort());
    assert.equal(Object.getOwnPropertyDescriptor(parsed, '__proto__').value.name, '__proto__');
    assert.deepEqual(registry.getAllStats().map((s) => s.name).sort(), [...NAMES].sort());
  });

  test('the health report lists breakers and checks named __proto__ and constructor', async () => {
    for (const name of NAMES) createCircuitBreaker(name);
    const manager = new HealthCheckManager({
      serviceName: 'svc',
      checks: [
        { name: '__proto__', check: async () => ({ healthy: true }) },
        { name: 'constructor', check: async () => ({ healthy: true }) },
      ],
    });
    const report = await manager.executeHealthChecks();
    assert.deepEqual(Object.keys(report.checks).sort(), ['__proto__', 'constructor']);
    assert.deepEqual(Object.keys(report.circuitBreakers).sort(), [...NAMES].sort());
    const parsed = JSON.parse(JSON.stringify(report));
    assert.equal(Object.getOwnPropertyDescriptor(parsed.checks, '__proto__').value.status, 'healthy');
    assert.equal(Object.getOwnPropertyDescriptor(parsed.circuitBreakers, '__proto__').value.state, 'CLOSED');
  });
});
