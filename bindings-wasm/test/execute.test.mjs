// execute(), errors, callbacks, options and the low-level API through the wasm
// build in Node (pkg-node/). Orders of events are fixed by the event loop, not by
// how long anything takes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { root } from './harness.mjs';

const { CircuitBreaker, guardFetch } = createRequire(import.meta.url)(join(root, 'pkg-node/tripwire_wasm.js'));

const never = () => new Promise(() => {});
const rejection = async (promise) => {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.fail('expected a rejection');
};

test('results and errors pass through unchanged; sync functions too', async () => {
  const breaker = new CircuitBreaker('pass', { failureThreshold: 10 });
  const mine = new Error('mine');
  assert.equal(await breaker.execute(async () => 'async'), 'async');
  assert.equal(await breaker.execute(() => 'sync'), 'sync');
  assert.equal(await rejection(breaker.execute(async () => { throw mine; })), mine);
  assert.equal(await rejection(breaker.execute(() => { throw mine; })), mine);
  assert.equal((await rejection(breaker.execute('not a function'))).name, 'TypeError');
  const thenable = { then: (resolve) => resolve('thenable') };
  assert.equal(await breaker.execute(() => thenable), 'thenable');
  const s = breaker.stats();
  assert.deepEqual([s.successCount, s.failureCount, s.totalRequests], [3, 2, 5]);
  assert.deepEqual([s.totalCalls, s.totalFailures, s.totalSuccesses], [5, 2, 3], 'a non-function is not a call');
  assert.equal(s.lastError, 'mine');
  assert.equal(s.name, 'pass');
  assert.equal(s.options.failureThreshold, 10);
  assert.equal(s.options.requestTimeout, 30000);
});

test('timeouts: hung calls time out, others settle, one timer serves them all', async () => {
  const breaker = new CircuitBreaker('timeouts', { timeout: 20, failureThreshold: 10 });
  let release;
  const late = new Promise((resolve) => { release = resolve; });
  const calls = [
    breaker.execute(never),
    breaker.execute(async () => 'quick'),
    breaker.execute(() => late),
    breaker.execute(never),
  ];
  const settled = await Promise.allSettled(calls);
  assert.deepEqual(settled.map((r) => r.status), ['rejected', 'fulfilled', 'rejected', 'rejected']);
  assert.equal(settled[1].value, 'quick');
  for (const i of [0, 2, 3]) {
    assert.equal(settled[i].reason.name, 'CircuitBreakerTimeoutError');
    assert.equal(settled[i].reason.timeout, 20);
    assert.equal(settled[i].reason.code, 'ETIMEDOUT');
    assert.equal(settled[i].reason.message, 'Timeout after 20ms');
    assert.equal(settled[i].reason.breakerName, 'timeouts');
  }
  release('too late');
  await late;
  const s = breaker.stats();
  assert.deepEqual([s.totalTimeouts, s.totalFailures, s.totalSuccesses], [3, 3, 1], 'a late result does not count twice');
  assert.equal(s.lastError, 'Timeout after 20ms');
  // The queue still works after it emptied, and for another timeout length.
  const other = new CircuitBreaker('timeouts-2', { timeout: 5 });
  assert.equal((await rejection(other.execute(never))).name, 'CircuitBreakerTimeoutError');
  assert.equal(await breaker.execute(async () => 'again'), 'again');
  assert.equal((await rejection(breaker.execute(never))).name, 'CircuitBreakerTimeoutError');
});

test('open: rejection carries name, code, state and retryAfter; fallback replaces it', async () => {
  let now = 0;
  const breaker = new CircuitBreaker('open', { failureThreshold: 1, recoveryTimeout: 1000, clock: () => now });
  await rejection(breaker.execute(async () => { throw new Error('x'); }));
  now = 250;
  let ran = false;
  const error = await rejection(breaker.execute(async () => { ran = true; }));
  assert.equal(ran, false, 'refused calls never run');
  assert.equal(error.name, 'CircuitBreakerOpenError');
  assert.equal(error.code, 'EOPENBREAKER');
  assert.equal(error.state, 'OPEN');
  assert.equal(error.retryAfter, 750);
  assert.equal(error.breakerName, 'open');
  assert.equal(error.message, "Circuit breaker 'open' is OPEN");
  assert.ok(error instanceof Error);
  breaker.open();
  const forced = await rejection(breaker.execute(async () => 1));
  assert.equal(forced.retryAfter, null);

  const withFallback = new CircuitBreaker('fallback', {
    failureThreshold: 1, fallback: (e) => `fallback after ${e.name}`,
  });
  withFallback.open();
  assert.equal(await withFallback.execute(async () => 'live'), 'fallback after CircuitBreakerOpenError');
  const throwing = new CircuitBreaker('fallback-throws', { fallback: () => { throw new Error('no cache'); } });
  throwing.open();
  assert.equal((await rejection(throwing.execute(async () => 1))).message, 'no cache');
});

test('half-open admits one trial; callbacks see every change and may read the breaker', async () => {
  let now = 0;
  const seen = [];
  let breaker;
  breaker = new CircuitBreaker('callbacks', {
    failureThreshold: 1,
    recoveryTimeout: 100,
    successThreshold: 1,
    clock: () => now,
    onStateChange: (from, to) => seen.push(`${from}->${to} (${breaker.state}, ${breaker.stats().state})`),
    onOpen: () => seen.push('open'),
    onHalfOpen: () => seen.push('half-open'),
    onClose: () => seen.push('close'),
  });
  await rejection(breaker.execute(async () => { throw new Error('x'); }));
  now = 100;
  let release;
  const trial = breaker.execute(() => new Promise((resolve) => { release = resolve; }));
  const busy = await rejection(breaker.execute(async () => 1));
  assert.equal(busy.state, 'HALF_OPEN');
  release('ok');
  assert.equal(await trial, 'ok');
  assert.deepEqual(seen, [
    'CLOSED->OPEN (OPEN, OPEN)', 'open',
    'OPEN->HALF_OPEN (HALF_OPEN, HALF_OPEN)', 'half-open',
    'HALF_OPEN->CLOSED (CLOSED, CLOSED)', 'close',
  ]);
});

test('manual control returns the transition; disable always permits', async () => {
  const breaker = new CircuitBreaker('manual', { failureThreshold: 1 });
  assert.deepEqual({ ...breaker.open() }, { from: 'CLOSED', to: 'OPEN' });
  assert.deepEqual({ ...breaker.close() }, { from: 'OPEN', to: 'CLOSED' });
  assert.deepEqual({ ...breaker.disable() }, { from: 'CLOSED', to: 'CLOSED' });
  await rejection(breaker.execute(async () => { throw new Error('x'); }));
  await rejection(breaker.execute(async () => { throw new Error('x'); }));
  assert.equal(breaker.state, 'CLOSED');
  assert.equal(breaker.stats().disabled, true);
  breaker.enable();
  await rejection(breaker.execute(async () => { throw new Error('x'); }));
  assert.equal(breaker.state, 'OPEN');
  breaker.reset();
  assert.equal(breaker.stats().totalFailures, 0);
  assert.equal(breaker.stats().lastError, undefined);
});

test('acquire/record: outcomes by name, a permit is used once', () => {
  const breaker = new CircuitBreaker('permits', { failureThreshold: 2 });
  const a = breaker.acquire();
  assert.equal(a.trial, false);
  assert.throws(() => breaker.record(breaker.acquire(), 'maybe'), TypeError);
  assert.equal(breaker.record(a, 'failure'), undefined);
  assert.throws(() => breaker.record(a, 'failure'));
  assert.deepEqual({ ...breaker.record(breaker.acquire(), 'timeout') }, { from: 'CLOSED', to: 'OPEN' });
  assert.equal(breaker.stats().totalTimeouts, 1);
});

test('options: errors name the option, as TypeError or RangeError with .option', () => {
  const cases = [
    [{ failureThreshold: 1.5 }, RangeError, 'failureThreshold'],
    [{ minimumRequestCount: true }, TypeError, 'minimumRequestCount'],
    [{ requestTimeout: 0 }, RangeError, 'requestTimeout'],
    [{ countWindow: 5, failureThreshold: 0.5 }, RangeError, 'minimumRequests'],
    [{ onOpen: 'yes' }, TypeError, 'onOpen'],
    [{ clock: 5 }, TypeError, 'clock'],
    [{ sucessThreshold: 2 }, TypeError, 'sucessThreshold'],
  ];
  for (const [options, type, name] of cases) {
    assert.throws(() => new CircuitBreaker('bad', options), (e) => {
      assert.ok(e instanceof type, `${JSON.stringify(options)}: ${e}`);
      assert.ok(e.message.includes(`\`${name}\``), e.message);
      return true;
    });
  }
  const error = (() => { try { new CircuitBreaker('x', { retryDelay: -1 }); } catch (e) { return e; } })();
  assert.equal(error.option, 'retryDelay');
  // Strict, as the Node and Python packages: any unknown name is a TypeError naming it,
  // and another library's name says which tripwire option does that job.
  assert.throws(() => new CircuitBreaker('bad', { somethingElse: 1 }), { name: 'TypeError', message: 'invalid option `somethingElse`: unknown option' });
  assert.throws(() => new CircuitBreaker('bad', { volumeThreshold: 5 }), (e) => e instanceof TypeError && /`minimumRequests`/.test(e.message));
});

test('snapshot/restore through bytes; garbage is refused with an error', async () => {
  let now = 0;
  const options = { failureThreshold: 1, recoveryTimeout: 1000, clock: () => now };
  const breaker = new CircuitBreaker('snap', options);
  await rejection(breaker.execute(async () => { throw new Error('x'); }));
  now = 400;
  const bytes = breaker.snapshot();
  assert.ok(bytes instanceof Uint8Array && bytes.length > 0);
  const restored = CircuitBreaker.restore('snap', options, bytes);
  assert.equal(restored.state, 'OPEN');
  assert.equal((await rejection(restored.execute(async () => 1))).retryAfter, 600);
  assert.throws(() => CircuitBreaker.restore('snap', options, new Uint8Array([1, 2, 3])), TypeError);
  assert.throws(() => CircuitBreaker.restore('snap', options, 'bytes'), TypeError);
});

test('guardFetch with a given fetch: one breaker per origin, relative URLs need a page', async () => {
  const calls = [];
  const fetch = async (input) => {
    calls.push(String(input));
    return { status: String(input).includes('down') ? 503 : 200 };
  };
  const guarded = guardFetch({ fetch, failureThreshold: 1, timeout: false });
  assert.equal((await guarded('https://down.example/a')).status, 503);
  assert.equal((await rejection(guarded('https://down.example/b'))).name, 'CircuitBreakerOpenError');
  assert.equal((await guarded('https://up.example/')).status, 200);
  assert.deepEqual(calls, ['https://down.example/a', 'https://up.example/']);
  assert.equal(guarded.breakerFor('https://down.example').state, 'OPEN');
  assert.equal(guarded.breakerFor(new URL('https://up.example/x')).state, 'CLOSED');
  assert.equal((await rejection(guarded('/relative'))).name, 'TypeError');
  assert.throws(() => guardFetch({ failureThreshold: 0 }), RangeError);
});

test('as in the Node package: the fallback answers failures and timeouts too; filters and failure results', async () => {
  const seen = [];
  const breaker = new CircuitBreaker('node-semantics', {
    failureThreshold: 100,
    timeout: 20,
    fallback: (error) => {
      seen.push(error.name === 'CircuitBreakerTimeoutError' ? 'timeout' : error.message);
      return 'fallback';
    },
    errorFilter: (error) => error.message === 'not their fault',
    isFailureResult: (value) => value === 'bad',
  });
  assert.equal(await breaker.execute(async () => { throw new Error('boom'); }), 'fallback');
  assert.equal(await breaker.execute(never), 'fallback');
  const filtered = new Error('not their fault');
  assert.equal(await rejection(breaker.execute(async () => { throw filtered; })), filtered, 'filtered errors still reject');
  assert.equal(await breaker.execute(async () => 'bad'), 'bad', 'a failure result is still returned');
  assert.deepEqual(seen, ['boom', 'timeout']);
  const s = breaker.stats();
  assert.deepEqual([s.totalFailures, s.totalTimeouts, s.ignoredCount, s.totalSuccesses], [3, 1, 1, 0]);
  assert.equal(s.lastError, 'failure result');
});

test("execute's function gets a signal that the timeout aborts", async () => {
  const breaker = new CircuitBreaker('signal', { timeout: 20 });
  let signal;
  const error = await rejection(breaker.execute(({ signal: s }) => {
    signal = s;
    return never();
  }));
  assert.equal(signal.aborted, true);
  assert.equal(signal.reason, error);
  assert.equal(error.name, 'CircuitBreakerTimeoutError');
  let quiet;
  await breaker.execute(async (ctx) => { quiet = ctx.signal; });
  assert.equal(quiet.aborted, false);
});

test('setLogger(): the browser package logs transitions through any { info, warn } logger', async () => {
  const { setLogger, getLogger } = createRequire(import.meta.url)(join(root, 'pkg-node/tripwire_wasm.js'));
  const lines = [];
  const log = { info: (message, fields) => lines.push(['info', message, fields]), warn: (message, fields) => lines.push(['warn', message, fields]) };
  assert.equal(setLogger(log), null);
  assert.equal(getLogger(), log);
  try {
    const breaker = new CircuitBreaker('logged-wasm', { failureThreshold: 1, timeout: false });
    await rejection(breaker.execute(async () => { throw new Error('down'); }));
    breaker.close();
  } finally {
    setLogger(null);
  }
  assert.deepEqual(lines.map(([level, , f]) => [level, f.event, f.breaker, f.from, f.to, f.cause, f.outcome]), [
    ['warn', 'transition', 'logged-wasm', 'CLOSED', 'OPEN', 'tripped', 'failure'],
    ['info', 'transition', 'logged-wasm', 'OPEN', 'CLOSED', 'closed', undefined],
  ]);
  assert.throws(() => setLogger(42), TypeError);
});

test('a clock set to the end of the open period, at any fractional instant, finds the breaker half-open', async () => {
  // Milliseconds to nanoseconds truncated once: about 2 % of these read "open".
  const stillOpen = [];
  for (let i = 0; i < 500; i++) {
    const opened = 1000 + i * 1.000_037;
    let now = opened;
    const clock = { now: () => now };
    const breaker = new CircuitBreaker({ failureThreshold: 1, recoveryTimeout: 1000, clock });
    await breaker.execute(() => { throw new Error('down'); }).catch(() => {});
    now = opened + 1000;
    if (breaker.getState() !== 'HALF_OPEN') stillOpen.push(opened);
  }
  assert.deepEqual(stillOpen, []);
});
