// tripwire/opossum through the package, as opossum 9's README and API docs describe
// each behaviour: the constructor and options, fire/call, fallback, errorFilter, the
// events with their payloads and order, the getters, Status, toJSON and the state
// option, open/close/disable/enable/shutdown/healthCheck, cache and coalescing, and
// opossum's errors. Real timers (short), no assertion on a duration.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import CircuitBreaker from 'tripwire/opossum';

const require = createRequire(import.meta.url);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
// opossum's test helper: resolves x > 0, rejects (with a string) otherwise.
const passFail = (x) => (x > 0 ? Promise.resolve(x) : Promise.reject(`Error: ${x} is < 0`));
const never = () => new Promise(() => {});
const recorder = (breaker, events) => {
  const seen = [];
  for (const event of events) breaker.on(event, (...args) => seen.push([event, ...args]));
  return seen;
};
const ALL = ['fire', 'success', 'failure', 'timeout', 'reject', 'open', 'halfOpen', 'close', 'fallback', 'semaphoreLocked', 'cacheHit', 'cacheMiss', 'coalesceCacheHit', 'coalesceCacheMiss'];
const names = (seen) => seen.map(([event]) => event);
// opossum's timers (resetTimeout's, the snapshots') are unref'd, as tripwire's: hold the
// event loop open while a test waits for one.
const held = async (emitter, event) => {
  const hold = setInterval(() => {}, 1000);
  try {
    return await once(emitter, event);
  } finally {
    clearInterval(hold);
  }
};

describe('the module', () => {
  test('require() and the ESM default export are the same class; opossum\'s statics', () => {
    assert.equal(require('tripwire/opossum'), CircuitBreaker);
    assert.equal(typeof CircuitBreaker.isOurError, 'function');
    assert.ok(CircuitBreaker.newStatus({}) instanceof CircuitBreaker.Status);
  });

  test('the constructor: an action is required; names, groups and defaults', () => {
    assert.throws(() => new CircuitBreaker(), { name: 'TypeError', message: 'No action provided. Cannot construct a CircuitBreaker without an invocable action.' });
    const named = new CircuitBreaker(passFail);
    assert.equal(named.name, 'passFail');
    assert.equal(named.group, 'passFail');
    assert.equal(named.action, passFail);
    assert.match(new CircuitBreaker(() => 1).name, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const grouped = new CircuitBreaker(passFail, { name: 'tacoMachine', group: 'food' });
    assert.deepEqual([grouped.name, grouped.group], ['tacoMachine', 'food']);
    const o = named.options;
    assert.deepEqual(
      [o.timeout, o.resetTimeout, o.errorThresholdPercentage, o.rollingCountTimeout, o.rollingCountBuckets, o.capacity, o.cacheTTL, o.coalesceTTL],
      [10000, 30000, 50, 10000, 10, Number.MAX_SAFE_INTEGER, 0, 10000],
    );
    assert.deepEqual([named.closed, named.opened, named.halfOpen, named.pendingClose, named.enabled, named.warmUp, named.volumeThreshold], [true, false, false, false, true, false, 0]);
    for (const b of [named, grouped]) b.shutdown();
  });

  test('bad cacheTransport and abortController are TypeErrors', () => {
    assert.throws(() => new CircuitBreaker(passFail, { cache: true, cacheTransport: { get() {} } }), /options.cacheTransport should be an object with `get`, `set` and `flush` methods/);
    assert.throws(() => new CircuitBreaker(passFail, { abortController: {} }), /AbortController does not contain `abort\(\)` method/);
  });
});

describe('fire and call', () => {
  test('arguments reach the action; values and non-promises resolve; call() sets `this`; fire() calls it on the action', async () => {
    const b = new CircuitBreaker(passFail);
    assert.equal(await b.fire(34), 34);
    assert.equal(await new CircuitBreaker(() => 'foo').fire(), 'foo');
    assert.equal(await new CircuitBreaker('foobar').fire(), 'foobar');
    function lunch(param) {
      return param ?? this.lunch;
    }
    lunch.lunch = 'tacos';
    const c = new CircuitBreaker(lunch);
    assert.equal(await c.fire(), 'tacos');
    assert.equal(await c.call({ lunch: 'sushi' }), 'sushi');
    assert.equal(await c.call({ lunch: 'sushi' }, 'burgers'), 'burgers');
    for (const x of [b, c]) x.shutdown();
  });

  test("the action's own error reaches the caller unchanged, after a failure event (error, latency, args)", async () => {
    const b = new CircuitBreaker(passFail, { errorThresholdPercentage: 100 });
    const seen = recorder(b, ['failure']);
    await assert.rejects(b.fire(-1), (e) => e === 'Error: -1 is < 0');
    const thrown = new Error('E_TOOMANYCHICKENTACOS');
    const t = new CircuitBreaker(() => {
      throw thrown;
    });
    await assert.rejects(t.fire(), (e) => e === thrown && !CircuitBreaker.isOurError(e));
    assert.equal(seen[0][1], 'Error: -1 is < 0');
    assert.equal(typeof seen[0][2], 'number');
    assert.deepEqual(seen[0][3], [-1]);
    assert.equal(t.stats.failures, 1);
    b.shutdown();
    t.shutdown();
  });
});

describe('opening, half-open and closing', () => {
  test('a failure above the threshold opens; later calls are refused with EOPENBREAKER; events in order', async () => {
    const b = new CircuitBreaker(passFail, { errorThresholdPercentage: 10, resetTimeout: 60000 });
    const seen = recorder(b, ALL);
    const during = [];
    b.on('failure', () => during.push(b.opened));
    b.on('open', () => during.push(b.opened));
    assert.equal(await b.fire(10), 10);
    await b.fire(-1).catch(() => {});
    assert.deepEqual(during, [false, true], 'the state changes with the open event, after failure');
    assert.deepEqual(names(seen), ['fire', 'success', 'fire', 'failure', 'open']);
    assert.ok(b.opened);
    const refusal = await b.fire(100).catch((e) => e);
    assert.equal(refusal.message, 'Breaker is open');
    assert.equal(refusal.code, 'EOPENBREAKER');
    assert.ok(CircuitBreaker.isOurError(refusal));
    assert.deepEqual(names(seen).slice(5), ['fire', 'reject']);
    assert.equal(seen.at(-1)[1], refusal);
    b.shutdown();
  });

  test('the rate must be above errorThresholdPercentage (strict), once volumeThreshold calls were fired', async () => {
    const strict = new CircuitBreaker(passFail, { errorThresholdPercentage: 50 });
    await strict.fire(1);
    await strict.fire(-1).catch(() => {});
    assert.ok(strict.closed, '1 of 2 is 50 %, not above');
    await strict.fire(-1).catch(() => {});
    assert.ok(strict.opened, '2 of 3 is above 50 %');
    const volume = new CircuitBreaker(passFail, { errorThresholdPercentage: 1, volumeThreshold: 3 });
    await volume.fire(-1).catch(() => {});
    await volume.fire(-1).catch(() => {});
    assert.ok(volume.closed, 'two calls, under the volume threshold');
    await volume.fire(-1).catch(() => {});
    assert.ok(volume.opened);
    const never100 = new CircuitBreaker(passFail, { errorThresholdPercentage: 100 });
    for (let i = 0; i < 5; i++) await never100.fire(-1).catch(() => {});
    assert.ok(never100.closed, 'no rate is above 100 %');
    for (const b of [strict, volume, never100]) b.shutdown();
  });

  test('refused fires count in the rate, and the window outlives a recovery (opossum divides by every fire)', async () => {
    const upstream = { up: false };
    const b = new CircuitBreaker(async () => { if (!upstream.up) throw new Error('down'); return 'ok'; }, { errorThresholdPercentage: 50, resetTimeout: 30 });
    await b.fire().catch(() => {}); // opens: 1 failure in 1 fire
    for (let i = 0; i < 3; i++) assert.equal((await b.fire().catch((e) => e)).code, 'EOPENBREAKER');
    await held(b, 'halfOpen');
    upstream.up = true;
    assert.equal(await b.fire(), 'ok'); // the trial closes it
    upstream.up = false;
    await b.fire().catch(() => {});
    await b.fire().catch(() => {});
    assert.ok(b.closed, '3 failures in 7 fires: 43 %');
    await b.fire().catch(() => {});
    assert.ok(b.closed, '4 in 8: 50 % is not above 50 %');
    await b.fire().catch(() => {});
    assert.ok(b.opened, '5 in 9');
    assert.deepEqual([b.stats.fires, b.stats.failures, b.stats.rejects], [9, 5, 3]);
    b.shutdown();
  });

  test('after resetTimeout: halfOpen(resetTimeout) with no call, one trial, others refused, a success closes', async () => {
    const b = new CircuitBreaker((ms) => sleep(ms).then(() => ms), { errorThresholdPercentage: 1, resetTimeout: 30 });
    const seen = recorder(b, ['halfOpen', 'close', 'reject']);
    b.open();
    const [payload] = await held(b, 'halfOpen');
    assert.equal(payload, 30);
    assert.ok(b.halfOpen);
    assert.ok(b.pendingClose);
    const trial = b.fire(20);
    assert.equal(b.pendingClose, false, 'the trial is in flight');
    const refusal = await b.fire(1).catch((e) => e);
    assert.equal(refusal.code, 'EOPENBREAKER');
    assert.equal(await trial, 20);
    assert.ok(b.closed);
    assert.deepEqual(names(seen), ['halfOpen', 'reject', 'close']);
    b.shutdown();
  });

  test('opened from outside (the registry, the control API) before any event: the next fire is refused as opossum refuses', async () => {
    const { circuitBreakerRegistry } = require('tripwire');
    const b = new CircuitBreaker(passFail, { name: 'opened-from-outside', capacity: 1 });
    b.fallback((x, e) => `${x}:${e.code}`);
    const seen = recorder(b, ALL);
    circuitBreakerRegistry.get('opened-from-outside').open();
    // Not yet seen here (the open event comes a turn later): the engine refuses.
    assert.equal(await b.fire(7), '7:EOPENBREAKER');
    assert.deepEqual(names(seen), ['fire', 'reject', 'fallback']);
    assert.equal(b.semaphore.count, 1, 'the capacity is back');
    await held(b, 'open');
    assert.ok(b.opened);
    b.shutdown();
  });

  test('every opened breaker half-opens after resetTimeout (300 breakers, each opened at an instant of its own)', async () => {
    // The end of each open period falls on a different instant; the engine counts in
    // nanoseconds and the timer in milliseconds, and no instant may leave one open.
    const breakers = Array.from({ length: 300 }, () => new CircuitBreaker(passFail, { resetTimeout: 30 }));
    const halfOpened = breakers.map((b) => new Promise((resolve) => b.once('halfOpen', resolve)));
    // A millisecond apart: each at an instant of its own.
    for (const b of breakers) {
      b.open();
      await sleep(1);
    }
    let guard;
    const late = new Promise((resolve) => {
      guard = setTimeout(resolve, 10_000);
    });
    const outcome = await Promise.race([Promise.all(halfOpened).then(() => 'all'), late.then(() => 'some stayed open')]);
    clearTimeout(guard);
    assert.equal(outcome, 'all', `${breakers.filter((b) => b.opened).length} of 300 stayed open`);
    for (const b of breakers) b.shutdown();
  });

  test('a successful trial closes before the success listeners run, as opossum (its own success listener closes first)', async () => {
    const b = new CircuitBreaker(passFail, { errorThresholdPercentage: 1, resetTimeout: 20, state: { halfOpen: true } });
    const seen = [];
    b.on('close', () => seen.push('close'));
    b.on('success', () => seen.push(`success closed=${b.closed}`));
    assert.equal(await b.fire(1), 1);
    assert.deepEqual(seen, ['close', 'success closed=true']);
    b.shutdown();
  });

  test('a resolved fetch Response is a success whatever its status, as opossum', async () => {
    const b = new CircuitBreaker(async (status) => new Response('', { status }), { errorThresholdPercentage: 1 });
    for (const status of [503, 429, 500]) assert.equal((await b.fire(status)).status, status);
    assert.ok(b.closed);
    assert.equal(b.stats.failures, 0);
    assert.equal(b.stats.successes, 3);
    b.shutdown();
  });

  test('a failed trial opens again', async () => {
    const b = new CircuitBreaker(passFail, { errorThresholdPercentage: 1, resetTimeout: 20, state: { halfOpen: true } });
    assert.ok(b.halfOpen);
    assert.ok(b.pendingClose);
    const seen = recorder(b, ['failure', 'open']);
    await b.fire(-1).catch(() => {});
    assert.deepEqual(names(seen), ['failure', 'open']);
    assert.ok(b.opened);
    assert.equal(b.pendingClose, false);
    b.shutdown();
  });

  test('open() is timed (half-opens after resetTimeout) and a no-op when open; close() closes; each emits once', async () => {
    const b = new CircuitBreaker(passFail, { resetTimeout: 20 });
    const seen = recorder(b, ['open', 'close', 'halfOpen']);
    b.open();
    b.open();
    assert.ok(b.opened);
    await held(b, 'halfOpen');
    b.close();
    b.close();
    assert.deepEqual(names(seen), ['open', 'halfOpen', 'close']);
    assert.equal(await b.fire(3), 3);
    b.shutdown();
  });
});

describe('timeouts', () => {
  test('ETIMEDOUT, the timeout then failure events, the abortController aborted', async () => {
    const abortController = new AbortController();
    const b = new CircuitBreaker(never, { timeout: 10, abortController, errorThresholdPercentage: 100 });
    const seen = recorder(b, ALL);
    const error = await b.fire('x').catch((e) => e);
    assert.equal(error.message, 'Timed out after 10ms');
    assert.equal(error.code, 'ETIMEDOUT');
    assert.ok(CircuitBreaker.isOurError(error));
    assert.deepEqual(names(seen), ['fire', 'timeout', 'failure']);
    assert.equal(seen[1][1], error);
    assert.deepEqual(seen[1][3], ['x']);
    assert.ok(abortController.signal.aborted);
    assert.equal(b.getSignal(), abortController.signal);
    assert.equal(b.stats.timeouts, 1);
    assert.equal(b.stats.failures, 1);
    b.shutdown();
  });

  test('autoRenewAbortController: a new controller once the breaker half-opens or closes', async () => {
    const b = new CircuitBreaker(never, { timeout: 5, resetTimeout: 10, autoRenewAbortController: true, errorThresholdPercentage: 1 });
    const first = b.getAbortController();
    assert.ok(first instanceof AbortController);
    await b.fire().catch(() => {});
    assert.ok(first.signal.aborted);
    await held(b, 'halfOpen');
    assert.notEqual(b.getAbortController(), first);
    assert.equal(b.getSignal().aborted, false);
    b.shutdown();
  });

  test('the timeout hands the capacity back before the timeout event', async () => {
    const b = new CircuitBreaker(never, { timeout: 5, capacity: 2 });
    const counts = [];
    b.on('timeout', () => counts.push(b.semaphore.count));
    await b.fire().catch(() => {});
    assert.deepEqual(counts, [2]);
    assert.equal(b.getSignal(), undefined, 'no abortController given');
    b.shutdown();
  });

  test('a timeout listener that throws rejects that call with its error (nothing thrown from the timer)', async () => {
    const boom = new Error('listener failed');
    const b = new CircuitBreaker(never, { timeout: 5, capacity: 1 });
    b.on('timeout', () => {
      throw boom;
    });
    await assert.rejects(b.fire(), (e) => e === boom);
    assert.equal(b.semaphore.count, 1, 'the capacity is back');
    b.shutdown();
  });

  test('timeout: false never times out', async () => {
    const b = new CircuitBreaker((ms) => sleep(ms).then(() => 'late'), { timeout: false });
    assert.equal(await b.fire(30), 'late');
    b.shutdown();
  });
});

describe('fallback and errorFilter', () => {
  test('the fallback gets the arguments and the error; fallback event (result, error); used for refusals too', async () => {
    const b = new CircuitBreaker(passFail, { errorThresholdPercentage: 1 });
    const seen = recorder(b, ALL);
    assert.equal(b.fallback((x, e) => `${x}:${e}`), b);
    assert.equal(await b.fire(-1), '-1:Error: -1 is < 0');
    assert.deepEqual(names(seen), ['fire', 'failure', 'open', 'fallback']);
    assert.deepEqual(seen.at(-1).slice(1), ['-1:Error: -1 is < 0', 'Error: -1 is < 0']);
    const answered = await b.fire(5);
    assert.equal(answered, '5:Error: Breaker is open');
    assert.deepEqual(names(seen).slice(4), ['fire', 'reject', 'fallback']);
    const stats = b.stats;
    assert.deepEqual([stats.fires, stats.failures, stats.rejects, stats.fallbacks], [2, 1, 1, 2]);
    b.shutdown();
  });

  test('a fallback that throws rejects; a breaker as the fallback is fired', async () => {
    const boom = new Error('fallback failed');
    const b = new CircuitBreaker(passFail).fallback(() => {
      throw boom;
    });
    await assert.rejects(b.fire(-1), (e) => e === boom);
    const backup = new CircuitBreaker((x) => `backup ${x}`);
    const c = new CircuitBreaker(passFail).fallback(backup);
    assert.equal(await c.fire(-2), 'backup -2');
    for (const x of [b, backup, c]) x.shutdown();
  });

  test('errorFilter(err, ...args) true: rejects with the error, a success (closes a half-open breaker), no fallback', async () => {
    const calls = [];
    const failWithCode = (code) => Promise.reject(Object.assign(new Error(`status ${code}`), { statusCode: code }));
    const b = new CircuitBreaker(failWithCode, {
      errorThresholdPercentage: 1,
      errorFilter: (err, code) => {
        calls.push(code);
        return err.statusCode < 500;
      },
    });
    b.fallback(() => assert.fail('no fallback for a filtered error'));
    const seen = recorder(b, ['success', 'failure']);
    const error = await b.fire(404).catch((e) => e);
    assert.equal(error.statusCode, 404);
    assert.deepEqual(calls, [404]);
    assert.deepEqual([b.stats.failures, b.stats.successes, b.closed], [0, 1, true]);
    assert.deepEqual(seen[0].slice(0, 2), ['success', error]);
    const half = new CircuitBreaker(failWithCode, { errorFilter: () => true, state: { halfOpen: true } });
    await half.fire(404).catch(() => {});
    assert.ok(half.closed, 'a filtered error closes a half-open breaker');
    b.fallback(() => 'fb');
    assert.equal(await b.fire(503), 'fb');
    assert.ok(b.opened);
    b.shutdown();
    half.shutdown();
  });
});

describe('capacity, warm-up, enabled', () => {
  test('capacity: calls beyond it get ESEMLOCKED, semaphoreLocked, and count as failures', async () => {
    const b = new CircuitBreaker((ms) => sleep(ms).then(() => ms), { capacity: 1, errorThresholdPercentage: 100 });
    const seen = recorder(b, ['semaphoreLocked', 'failure']);
    assert.equal(b.semaphore.count, 1);
    const first = b.fire(20);
    assert.equal(b.semaphore.count, 0, 'the capacity left');
    const locked = await b.fire(1).catch((e) => e);
    assert.equal(locked.message, 'Semaphore locked');
    assert.equal(locked.code, 'ESEMLOCKED');
    assert.ok(CircuitBreaker.isOurError(locked));
    assert.deepEqual(names(seen), ['semaphoreLocked', 'failure']);
    assert.equal(await first, 20);
    assert.equal(await b.fire(1), 1, 'the slot is free again');
    assert.deepEqual([b.stats.semaphoreRejections, b.stats.failures, b.stats.successes], [1, 1, 2]);
    b.shutdown();
  });

  test('allowWarmUp: failures do not open during the first window; they do after it', async () => {
    const b = new CircuitBreaker(passFail, { allowWarmUp: true, errorThresholdPercentage: 1, rollingCountTimeout: 40, rollingCountBuckets: 2 });
    assert.equal(b.warmUp, true);
    for (let i = 0; i < 3; i++) await b.fire(-1).catch(() => {});
    assert.ok(b.closed);
    assert.equal(b.stats.failures, 3, 'still counted');
    await sleep(60);
    assert.equal(b.warmUp, false);
    await b.fire(-1).catch(() => {});
    assert.ok(b.opened);
    b.shutdown();
  });

  test('enabled: false and disable(): the action alone (fire still emitted); enable() protects again', async () => {
    assert.equal(new CircuitBreaker(passFail, { enabled: false }).enabled, false);
    const b = new CircuitBreaker(passFail, { errorThresholdPercentage: 1, resetTimeout: 1000 });
    const seen = recorder(b, ALL);
    b.disable();
    for (let i = 0; i < 2; i++) await assert.rejects(b.fire(-1), (e) => e === 'Error: -1 is < 0');
    assert.ok(b.closed);
    assert.equal(b.pendingClose, false);
    assert.deepEqual(names(seen), ['fire', 'fire']);
    b.enable();
    await b.fire(-1).catch(() => {});
    assert.ok(b.opened);
    b.shutdown();
  });
});

describe('state, toJSON, shutdown, healthCheck', () => {
  test('toJSON(): state and status; a breaker made from it starts in that state', async () => {
    // resetTimeout long enough that `copy`, made from b's open state, is still open on a loaded machine.
    const b = new CircuitBreaker(passFail, { name: 'exported', errorThresholdPercentage: 1, resetTimeout: 500 });
    await b.fire(-1).catch(() => {});
    const json = b.toJSON();
    assert.deepEqual(Object.keys(json.state), ['name', 'enabled', 'closed', 'open', 'halfOpen', 'warmUp', 'shutdown', 'lastTimerAt']);
    assert.deepEqual([json.state.open, json.state.closed, json.status.failures], [true, false, 1]);
    assert.equal(typeof json.state.lastTimerAt, 'number');
    const copy = new CircuitBreaker(passFail, { resetTimeout: 500, state: json.state });
    assert.ok(copy.opened);
    await held(copy, 'halfOpen');
    assert.equal(await copy.fire(100), 100);
    assert.ok(copy.closed);
    const late = new CircuitBreaker(passFail, { resetTimeout: 30, state: { ...json.state, lastTimerAt: Date.now() - 1000 } });
    assert.ok(late.halfOpen, 'open for longer than resetTimeout: half-open');
    const shut = new CircuitBreaker(passFail, { state: { shutdown: true } });
    assert.ok(shut.isShutdown);
    assert.equal(shut.enabled, false);
    for (const x of [b, copy, late]) x.shutdown();
  });

  test('a call in flight at shutdown that trips the breaker leaves it open (as opossum)', async () => {
    const b = new CircuitBreaker(passFail, { errorThresholdPercentage: 1 });
    const late = b.fire(-1);
    b.shutdown();
    assert.ok(b.isShutdown);
    await late.catch(() => {});
    assert.ok(b.opened, "opossum's fail() opens it with every listener gone");
    assert.ok(!b.isShutdown);
  });

  test('shutdown(): the shutdown event, then every call refused with ESHUTDOWN', async () => {
    const b = new CircuitBreaker(passFail);
    let emitted = 0;
    b.on('shutdown', () => emitted++);
    b.shutdown();
    assert.equal(emitted, 1);
    assert.ok(b.isShutdown);
    const error = await b.fire(1).catch((e) => e);
    assert.equal(error.code, 'ESHUTDOWN');
    assert.equal(error.message, 'The circuit has been shutdown.');
    assert.ok(CircuitBreaker.isOurError(error));
  });

  test('healthCheck: a rejection emits healthCheckFailed and opens; bad arguments are TypeErrors', async () => {
    const b = new CircuitBreaker(passFail, { resetTimeout: 60000 });
    assert.throws(() => b.healthCheck('nope'), { name: 'TypeError', message: 'Health check function must be a function' });
    assert.throws(() => b.healthCheck(async () => {}, 'soon'), { name: 'TypeError', message: 'Health check interval must be a number' });
    const failed = new Error('unhealthy');
    let self;
    b.healthCheck(function () {
      self = this;
      return Promise.reject(failed);
    }, 10000);
    const [error] = await held(b, 'healthCheckFailed');
    assert.equal(error, failed);
    assert.equal(self, b);
    assert.ok(b.opened);
    b.shutdown();
  });
});

describe('cache and coalesce', () => {
  test('cache: the first success is returned after; cacheHit / cacheMiss; clearCache; cacheTTL', async () => {
    let runs = 0;
    const b = new CircuitBreaker((x) => ++runs + x, { cache: true, cacheTTL: 40 });
    const seen = recorder(b, ['cacheHit', 'cacheMiss']);
    assert.equal(await b.fire(10), 11);
    assert.equal(await b.fire(10), 11);
    assert.equal(await b.fire(20), 22, 'another key');
    assert.deepEqual(names(seen), ['cacheMiss', 'cacheHit', 'cacheMiss']);
    assert.deepEqual([b.stats.cacheHits, b.stats.cacheMisses, b.stats.fires], [1, 2, 3]);
    b.clearCache();
    assert.equal(await b.fire(10), 13);
    await sleep(60);
    assert.equal(await b.fire(10), 14, 'expired');
    b.shutdown();
  });

  test('cacheGetKey and a cacheTransport of your own', async () => {
    const store = new Map();
    const cacheTransport = { get: (k) => store.get(k), set: (k, v) => store.set(k, v), flush: () => store.clear() };
    const b = new CircuitBreaker((x) => x * 2, { cache: true, cacheTransport, cacheGetKey: (x) => `k${x}` });
    assert.equal(await b.fire(2), 4);
    assert.deepEqual([...store.keys()], ['k2']);
    assert.equal(await store.get('k2'), 4);
    b.clearCache();
    assert.equal(store.size, 0);
    b.shutdown();
  });

  test('coalesce: concurrent calls with one key share one action call; coalesceResetOn error', async () => {
    let runs = 0;
    const b = new CircuitBreaker((x) => sleep(10).then(() => (++runs, x > 0 ? x : Promise.reject(new Error('no')))), { coalesce: true, coalesceResetOn: ['error'] });
    const seen = recorder(b, ['coalesceCacheHit', 'coalesceCacheMiss']);
    const results = await Promise.all([b.fire(1), b.fire(1), b.fire(2)]);
    assert.deepEqual(results, [1, 1, 2]);
    assert.equal(runs, 2);
    assert.deepEqual(names(seen), ['coalesceCacheMiss', 'coalesceCacheHit', 'coalesceCacheMiss']);
    assert.equal(await b.fire(1), 1, 'within coalesceTTL (the timeout): still shared');
    assert.equal(runs, 2);
    await b.fire(-1).catch(() => {});
    await b.fire(-1).catch(() => {});
    assert.equal(runs, 4, 'an error resets the key');
    assert.deepEqual([b.stats.coalesceCacheHits, b.stats.coalesceCacheMisses], [2, 4]);
    b.shutdown();
  });
});

describe('status', () => {
  test('stats, the window (newest first, isCircuitBreakerOpen) and percentiles', async () => {
    const b = new CircuitBreaker(passFail, { errorThresholdPercentage: 1, rollingCountBuckets: 5, rollingCountTimeout: 10000 });
    await Promise.all([b.fire(10), b.fire(20), b.fire(30)]);
    await b.fire(-1).catch(() => {});
    await b.fire(1).catch(() => {});
    const stats = b.status.stats;
    assert.deepEqual(
      [stats.fires, stats.successes, stats.failures, stats.rejects, stats.timeouts, stats.fallbacks],
      [5, 3, 1, 1, 0, 0],
    );
    assert.deepEqual(Object.keys(stats.percentiles).map(Number).sort((x, y) => x - y), [0, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.995, 1]);
    assert.equal(typeof stats.latencyMean, 'number');
    const window = b.status.window;
    assert.equal(window.length, 5);
    assert.equal(window[0].isCircuitBreakerOpen, true);
    assert.equal(window[0].fires, 5, 'the current bucket is first');
    assert.deepEqual(b.stats, b.status.stats);
    b.shutdown();
  });

  test('rollingPercentilesEnabled: false gives -1; snapshot events carry the stats', async () => {
    const b = new CircuitBreaker(passFail, { rollingPercentilesEnabled: false, rollingCountTimeout: 100, rollingCountBuckets: 5 });
    await b.fire(1);
    assert.equal(b.stats.latencyMean, -1);
    assert.equal(b.stats.percentiles[0.5], -1);
    const [snapshot] = await held(b.status, 'snapshot');
    for (const key of ['successes', 'fires', 'failures', 'fallbacks', 'rejects', 'timeouts']) assert.equal(typeof snapshot[key], 'number', key);
    assert.equal(snapshot.successes, 1);
    b.shutdown();
  });

  test("rotateBucketController: one 'rotate' listener per enabled breaker, removed by disable() and shutdown()", () => {
    const { EventEmitter } = require('node:events');
    const controller = new EventEmitter();
    const a = new CircuitBreaker(passFail, { rotateBucketController: controller });
    const b = new CircuitBreaker(passFail, { rotateBucketController: controller });
    assert.equal(controller.listenerCount('rotate'), 2);
    a.disable();
    assert.equal(controller.listenerCount('rotate'), 1);
    a.enable();
    a.enable();
    assert.equal(controller.listenerCount('rotate'), 2);
    a.shutdown();
    b.shutdown();
    assert.equal(controller.listenerCount('rotate'), 0);
  });

  test('a Status from newStatus (or plain counts) primes the breaker\'s stats', () => {
    const status = CircuitBreaker.newStatus({ rollingCountBuckets: 10, rollingCountTimeout: 10000, stats: { failures: 11, fires: 22 } });
    const b = new CircuitBreaker(passFail, { status });
    assert.equal(b.status, status);
    assert.deepEqual([b.stats.failures, b.stats.fires], [11, 22]);
    const c = new CircuitBreaker(passFail, { status: { successes: 3 } });
    assert.equal(c.stats.successes, 3);
    b.shutdown();
    c.shutdown();
  });
});
