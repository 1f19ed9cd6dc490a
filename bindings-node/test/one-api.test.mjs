// The API Node shares with the browser package (one JS facade, js/tripwire.js): the
// constructor forms, names, events and callbacks, whole-millisecond retryAfter, HTTP
// responses counted as the browser counts them (a real local server), fetch, and
// argument errors that name the argument.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import {
  CircuitBreaker,
  CircuitBreakerService,
  ManualClock,
  withCircuitBreaker,
  guardFetch,
} from '../index.mjs';

const require = createRequire(import.meta.url);

/** A local HTTP server answering `/ok` 200, `/down` 503, `/busy` 429, `/missing` 404. */
async function withServer(fn) {
  const server = createServer((req, res) => {
    const status = { '/ok': 200, '/down': 503, '/busy': 429, '/missing': 404 }[req.url] ?? 500;
    res.writeHead(status, { 'content-type': 'text/plain', connection: 'close' });
    res.end(String(status));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${server.address().port}`;
  try {
    return await fn(base);
  } finally {
    server.closeAllConnections?.();
    await new Promise((resolve) => server.close(resolve));
  }
}

test('new CircuitBreaker(name, options) and new CircuitBreaker(options) name the same breaker', () => {
  const a = new CircuitBreaker('one-api-a', { failureThreshold: 3 });
  const b = new CircuitBreaker({ name: 'one-api-b', failureThreshold: 3 });
  assert.equal(a.name, 'one-api-a');
  assert.equal(a.breakerName, 'one-api-a');
  assert.equal(b.name, 'one-api-b');
  assert.equal(a.state, 'CLOSED');
  assert.equal(a.getState(), 'CLOSED');
  assert.deepEqual(Object.keys(a.stats()), Object.keys(a.getStats()));
  assert.throws(() => new CircuitBreaker('x', { name: 'y' }), TypeError);
});

test('onHalfOpen is called, retryAfter is whole milliseconds, events are the same', async () => {
  const clock = new ManualClock(0.25);
  const seen = [];
  const breaker = new CircuitBreaker('one-api-half', {
    failureThreshold: 1,
    recoveryTimeout: 60000,
    timeout: false,
    clock,
    onHalfOpen: () => seen.push('onHalfOpen'),
    onStateChange: (from, to, name) => seen.push(`${from}->${to}@${name}`),
  });
  breaker.on('halfOpen', () => seen.push('halfOpen event'));
  await assert.rejects(breaker.execute(() => Promise.reject(new Error('boom'))));
  clock.advance(0.6);
  const refused = await breaker.execute(() => 1).catch((e) => e);
  assert.equal(refused.name, 'CircuitBreakerOpenError');
  assert.ok(Number.isInteger(refused.retryAfter), `retryAfter ${refused.retryAfter}`);
  assert.equal(refused.retryAfter, 60000);
  clock.advance(60000);
  assert.equal(await breaker.execute(() => 'trial'), 'trial');
  assert.deepEqual(seen, ['CLOSED->OPEN@one-api-half', 'OPEN->HALF_OPEN@one-api-half', 'halfOpen event', 'onHalfOpen']);
});

test('withCircuitBreaker(name, () => fetch(url)) opens on 503s from a real server; responses still resolve', async () => {
  await withServer(async (base) => {
    const options = { failureThreshold: 3, timeout: false };
    for (let i = 0; i < 3; i++) {
      const res = await withCircuitBreaker('one-api-http', () => fetch(`${base}/down`), options);
      assert.equal(res.status, 503);
      await res.text();
    }
    const refused = await withCircuitBreaker('one-api-http', () => fetch(`${base}/ok`), options).catch((e) => e);
    assert.equal(refused.name, 'CircuitBreakerOpenError');
    // Whole milliseconds until the 60 s open duration ends (some have passed since it opened).
    assert.ok(Number.isInteger(refused.retryAfter) && refused.retryAfter > 0 && refused.retryAfter <= 60000, `retryAfter ${refused.retryAfter}`);
  });
});

test('429 fails, other 4xx do not; isFailureResult overrides; breaker.fetch and guardFetch count the same', async () => {
  await withServer(async (base) => {
    const busy = new CircuitBreaker('one-api-429', { failureThreshold: 100, timeout: false });
    assert.equal((await busy.execute(() => fetch(`${base}/busy`))).status, 429);
    assert.equal((await busy.execute(() => fetch(`${base}/missing`))).status, 404);
    assert.equal((await busy.execute(() => fetch(`${base}/ok`))).status, 200);
    assert.deepEqual([busy.stats().failureCount, busy.stats().successCount], [1, 2]);
    assert.equal(busy.stats().lastError, 'HTTP 429');

    const lenient = new CircuitBreaker('one-api-override', { failureThreshold: 1, timeout: false, isFailureResult: () => false });
    assert.equal((await lenient.execute(() => fetch(`${base}/down`))).status, 503);
    assert.equal(lenient.state, 'CLOSED');

    const direct = new CircuitBreaker('one-api-fetch', { failureThreshold: 2, timeout: 5000 });
    assert.equal((await direct.fetch(`${base}/down`)).status, 503);
    assert.equal((await direct.fetch(`${base}/down`)).status, 503);
    assert.equal((await direct.fetch(`${base}/ok`).catch((e) => e)).name, 'CircuitBreakerOpenError');

    const guarded = guardFetch({ failureThreshold: 1, timeout: false });
    assert.equal((await guarded(`${base}/down`)).status, 503);
    assert.equal(guarded.breakerFor(base).state, 'OPEN');
  });
});

test('plain objects with a status are values, not responses, outside fetch()', async () => {
  const breaker = new CircuitBreaker('one-api-plain', { failureThreshold: 1, timeout: false });
  assert.deepEqual(await breaker.execute(() => ({ status: 503 })), { status: 503 });
  assert.equal(breaker.state, 'CLOSED');
});

test('low-level permits as in the browser: acquire() and record(permit, outcome)', () => {
  const a = new CircuitBreaker('one-api-permit-a', { failureThreshold: 1 });
  const b = new CircuitBreaker('one-api-permit-b', { failureThreshold: 1 });
  const permit = a.acquire();
  assert.equal(permit.trial, false);
  assert.throws(() => a.record(permit, 'sucess'), TypeError);
  assert.throws(() => b.record(permit, 'success'), /belongs to breaker 'one-api-permit-a'/);
  assert.equal(a.record(permit, 'success'), undefined);
  assert.throws(() => a.record(permit, 'success'), /already recorded/);
});

test('removeDeadLetterItem / retryDeadLetterItem: a non-number is a TypeError naming the argument', async () => {
  const svc = new CircuitBreakerService();
  assert.throws(() => svc.removeDeadLetterItem('abc'), { name: 'TypeError', message: /`itemId` must be a number/ });
  assert.equal(svc.removeDeadLetterItem(-1), false);
  assert.equal(svc.removeDeadLetterItem(1.5), false);
  await assert.rejects(svc.retryDeadLetterItem('abc'), { name: 'TypeError', message: /`itemId`/ });
});

test('guardFetch: a URL starting with / that a browser sends to another host is that host\'s breaker, not the page\'s', () => {
  const previous = Object.getOwnPropertyDescriptor(globalThis, 'location');
  globalThis.location = { href: 'https://app.example/page' };
  try {
    const guarded = guardFetch({ timeout: false });
    assert.equal(guarded.breakerFor('/api/x').name, 'https://app.example');
    for (const url of ['//evil.example/x', '/\\evil.example/x', '/\t/evil.example/x', '/\n/evil.example/x']) {
      assert.equal(guarded.breakerFor(url).name, 'https://evil.example', JSON.stringify(url));
    }
  } finally {
    if (previous === undefined) delete globalThis.location;
    else Object.defineProperty(globalThis, 'location', previous);
  }
});

test('a hook answering a promise says no (and is logged once), a value whose status getter throws is a success', async () => {
  const lines = [];
  const logger = { debug() {}, info() {}, warn: (message) => lines.push(message), error() {} };
  const asyncFilter = new CircuitBreaker('one-api-async-hook', { failureThreshold: 1, timeout: false, logger, isFailureResult: async () => false });
  for (let i = 0; i < 3; i++) assert.equal(await asyncFilter.execute(async () => 'ok'), 'ok');
  assert.equal(asyncFilter.state, 'CLOSED', 'a pending promise is not a yes');
  assert.equal(lines.filter((l) => /`isFailureResult`.*answered a promise/.test(l)).length, 1);
  const hostile = new CircuitBreaker('one-api-status-getter', { failureThreshold: 1, halfOpenMaxCalls: 1, timeout: false });
  const value = Object.defineProperty({}, 'status', { get() { throw new Error('status getter'); } });
  assert.equal(await hostile.execute(async () => value), value);
  assert.equal(hostile.getStats().totalSuccesses, 1, 'recorded');
});

test('guardFetch checks every option when made: a name, a fallback or a clock that cannot work throws there', () => {
  assert.throws(() => guardFetch({ name: 'api' }), (e) => e instanceof TypeError && /`name`.*origin/.test(e.message));
  assert.throws(() => guardFetch({ fallback: 'x' }), (e) => e instanceof TypeError && /`fallback`/.test(e.message));
  assert.throws(() => guardFetch({ clock: 5 }), (e) => e instanceof TypeError && /`clock`/.test(e.message));
  assert.throws(() => guardFetch({ clock: { now: () => 'x' } }), (e) => e instanceof TypeError && /`clock`/.test(e.message));
  assert.throws(() => guardFetch({ logger: 5 }), (e) => e instanceof TypeError && /logger/.test(e.message));
  assert.equal(typeof guardFetch({ fallback: () => 'x' }), 'function');
});

test('a guardFetch that is collected frees its eviction index (a guard per request grew native memory for good)', () => {
  const script = `
    const { guardFetch } = require(${JSON.stringify(require.resolve('../index.js'))});
    const native = require(${JSON.stringify(require.resolve('../native.js'))});
    (async () => {
      for (let i = 0; i < 2000; i++) guardFetch({ timeout: false }).breakerFor('https://api.example/x');
      for (let turn = 0; turn < 5; turn++) {
        globalThis.gc();
        await new Promise((resolve) => setImmediate(resolve));
      }
      process.stdout.write(String(native.evictionNew(1)));
    })();
  `;
  const out = spawnSync(process.execPath, ['--expose-gc', '-e', script], { encoding: 'utf8', env: process.env });
  assert.equal(out.status, 0, out.stderr);
  assert.ok(Number(out.stdout) < 2000, `a freed id is reused: ${out.stdout}`);
});
