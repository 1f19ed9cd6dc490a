// Bad input is a clear error, never silence (issue 11, items 5, 6 and 7), through
// the wasm build in Node (pkg-node/): the `clock` option's readings, a call timeout
// longer than setTimeout keeps, and permits recorded wrongly. No timing.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { root } from './harness.mjs';

const { CircuitBreaker } = createRequire(import.meta.url)(join(root, 'pkg-node/tripwire_wasm.js'));

const namesClock = (error) => {
  assert.ok(error instanceof TypeError, `${error?.constructor?.name}: ${error?.message}`);
  assert.match(error.message, /`clock`/);
  return true;
};

describe('the clock option', () => {
  for (const [label, reading] of [['a string', '12'], ['NaN', NaN], ['Infinity', Infinity], ['-Infinity', -Infinity], ['undefined', undefined]]) {
    test(`a clock reading ${label} is a TypeError naming clock, at construction and later`, async () => {
      assert.throws(() => new CircuitBreaker('bad-clock', { clock: () => reading }), namesClock);
      assert.throws(() => new CircuitBreaker('bad-clock', { clock: { now: () => reading } }), namesClock);
      let value = 0;
      const breaker = new CircuitBreaker('late-clock', { failureThreshold: 1, clock: () => value });
      value = reading;
      const pending = breaker.execute(() => 'ran');
      assert.ok(pending instanceof Promise);
      await assert.rejects(pending, namesClock);
      assert.throws(() => breaker.state, namesClock);
      value = 1;
      assert.equal(breaker.state, 'CLOSED', 'a bad reading is not a failure');
      assert.equal(await breaker.execute(() => 'ok'), 'ok');
    });
  }

  test('a clock that throws makes execute() return a rejected promise, not throw', async () => {
    const boom = new Error('clock broke');
    let broken = false;
    const breaker = new CircuitBreaker('throwing-clock', { clock: () => { if (broken) throw boom; return 5; } });
    broken = true;
    let pending;
    assert.doesNotThrow(() => { pending = breaker.execute(() => 'never'); });
    await assert.rejects(pending, (error) => error === boom);
    assert.throws(() => breaker.acquire(), (error) => error === boom);
  });

  test('a clock failing at the end of a half-open trial rejects it and hands the trial back', async () => {
    let now = 0;
    let broken = false;
    const clock = () => { if (broken) throw new Error('clock broke'); return now; };
    const breaker = new CircuitBreaker('trial-clock', { failureThreshold: 1, recoveryTimeout: 10, timeout: false, clock });
    await assert.rejects(breaker.execute(() => { throw new Error('down'); }));
    now = 10;
    let release;
    const trial = breaker.execute(() => new Promise((resolve) => { release = resolve; }));
    broken = true;
    release('late');
    await assert.rejects(trial, /clock broke/);
    broken = false;
    assert.equal(breaker.state, 'HALF_OPEN');
    assert.equal(await breaker.execute(() => 'second trial'), 'second trial');
  });
});

test('timeout above 2^31 - 1 ms (setTimeout\'s limit) is a RangeError naming the option', () => {
  const LIMIT = 2 ** 31 - 1;
  for (const key of ['timeout', 'requestTimeout']) {
    assert.throws(() => new CircuitBreaker('limit', { [key]: LIMIT + 1 }), (error) => {
      assert.ok(error instanceof RangeError, error.message);
      assert.match(error.message, new RegExp(`\`${key}\``));
      assert.equal(error.option, key);
      return true;
    });
    assert.equal(new CircuitBreaker('limit-ok', { [key]: LIMIT }).stats().options.requestTimeout, LIMIT);
  }
  assert.doesNotThrow(() => new CircuitBreaker('limit-open', { recoveryTimeout: 2 ** 40 }));
});

describe('permits', () => {
  test("record(permit, 'sucess') throws and leaves the permit live", () => {
    let now = 0;
    const breaker = new CircuitBreaker('typo', { failureThreshold: 1, recoveryTimeout: 10, clock: () => now });
    breaker.record(breaker.acquire(), 'failure');
    now = 10;
    const trial = breaker.acquire();
    assert.equal(trial.trial, true);
    assert.throws(() => breaker.record(trial, 'sucess'), (error) => error instanceof TypeError && /outcome/.test(error.message));
    assert.deepEqual(breaker.record(trial, 'success'), undefined, 'the same permit still records');
    assert.equal(breaker.stats().successCount, 1);
    assert.throws(() => breaker.record(trial, 'success'), /already recorded/, 'but only once');
  });

  test('a permit of breaker A recorded on breaker B is refused; both keep working', () => {
    let now = 0;
    const a = new CircuitBreaker('A', { failureThreshold: 1, recoveryTimeout: 10, clock: () => now });
    const b = new CircuitBreaker('B', { failureThreshold: 1, recoveryTimeout: 10, clock: () => now });
    a.record(a.acquire(), 'failure');
    now = 10;
    const trial = a.acquire();
    assert.throws(() => b.record(trial, 'success'), (error) => error instanceof TypeError && /'A'/.test(error.message));
    assert.equal(b.stats().totalRequests, 0, 'nothing counted on B');
    assert.equal(a.state, 'HALF_OPEN');
    a.record(trial, 'success');
    assert.equal(a.stats().successCount, 1);
  });
});

describe('guardFetch keeps a bounded number of origins', () => {
  const { guardFetch } = createRequire(import.meta.url)(join(root, 'pkg-node/tripwire_wasm.js'));
  const status = (url) => (url.includes('down') ? 503 : 200);
  const fakeFetch = async (input) => ({ status: status(String(input)) });

  test('maxOrigins defaults to 1,000 and is checked', () => {
    assert.equal(guardFetch({ fetch: fakeFetch }).capacity, 1000);
    assert.equal(guardFetch({ fetch: fakeFetch, maxOrigins: 5 }).capacity, 5);
    assert.throws(() => guardFetch({ maxOrigins: 0 }), (e) => e instanceof RangeError && /maxOrigins/.test(e.message));
    assert.throws(() => guardFetch({ maxOrigins: '5' }), (e) => e instanceof TypeError && /maxOrigins/.test(e.message));
  });

  test('5,000 origins stay within the bound; evictions are counted and emitted', async () => {
    const guarded = guardFetch({ fetch: fakeFetch, maxOrigins: 100, timeout: false });
    const evicted = [];
    guarded.on('evict', ({ name }) => evicted.push(name));
    for (let i = 0; i < 5000; i++) assert.equal((await guarded(`https://h${i}.example/`)).status, 200);
    assert.equal(guarded.size, 100);
    assert.equal(guarded.evictions, 4900);
    assert.equal(evicted.length, 4900);
  });

  test('open and busy origins are never evicted; an evicted breaker keeps working', async () => {
    let release;
    const slowFetch = (input) => (String(input).includes('slow') ? new Promise((resolve) => { release = resolve; }) : fakeFetch(input));
    const guarded = guardFetch({ fetch: slowFetch, maxOrigins: 2, failureThreshold: 1, timeout: false });
    assert.equal((await guarded('https://down.example/')).status, 503);
    assert.equal(guarded.breakerFor('https://down.example').state, 'OPEN');
    const pending = guarded('https://slow.example/');
    const evicted = [];
    guarded.on('evict', ({ name, breaker }) => evicted.push([name, breaker]));
    const held = guarded.breakerFor('https://a.example');
    assert.equal(guarded.size, 3, 'every origin busy: grew past the bound');
    assert.deepEqual(evicted, []);
    release({ status: 200 });
    assert.equal((await pending).status, 200);
    guarded.breakerFor('https://b.example');
    guarded.breakerFor('https://c.example');
    const names = evicted.map(([name]) => name);
    assert.ok(!names.includes('https://down.example'), 'the open origin stays');
    assert.ok(names.includes('https://a.example') || names.includes('https://slow.example'), names.join());
    assert.equal(guarded.breakerFor('https://down.example').state, 'OPEN');
    assert.equal(await held.execute(() => 'still works'), 'still works');
  });
});

describe('found by probing the browser package', () => {
  test('a clock reading outside 0..2^62 ns is a RangeError naming clock (it was cut: a microsecond clock half-opened at once)', async () => {
    let value = 0;
    const breaker = new CircuitBreaker('clock-range', { failureThreshold: 1, clock: () => value });
    for (const reading of [-1, Date.now() * 1000]) {
      value = reading;
      await assert.rejects(breaker.execute(() => 'ran'), (e) => e instanceof RangeError && /`clock`/.test(e.message));
    }
  });

  test('JSON.stringify of a breaker works without snapshots built in', () => {
    const json = JSON.parse(JSON.stringify({ breaker: new CircuitBreaker('to-json', { failureThreshold: 3 }) }));
    assert.equal(json.breaker.name, 'to-json');
    assert.equal(json.breaker.state, 'CLOSED');
  });

  test('a wrong option type says "an object", not "a object"', () => {
    assert.throws(() => new CircuitBreaker('wrong-type', { failureThreshold: {} }), (e) => /not an object/.test(e.message));
  });
});
