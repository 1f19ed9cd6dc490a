// CircuitBreaker through the package: options, execute, states, errors, timeouts,
// fallbacks, slow calls, events, stats, manual control, warm starts.
// Time is a ManualClock everywhere a duration matters: no test sleeps.
import { test, describe, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import {
  CircuitBreaker,
  CircuitBreakerError,
  CircuitBreakerOpenError,
  CircuitBreakerTimeoutError,
  CircuitState,
  ManualClock,
  circuitBreakerRegistry,
} from 'tripwire';

const require = createRequire(import.meta.url);

afterEach(() => circuitBreakerRegistry.clear());

const boom = async () => {
  throw new Error('boom');
};
const ok = async () => 'ok';
const never = () => new Promise(() => {});

/** A promise settled by hand: { promise, resolve, reject }. */
function deferred() {
  let resolve;
  let reject;
  const promise = new Promise((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

async function fail(breaker, times) {
  for (let i = 0; i < times; i++) await breaker.execute(boom).catch(() => {});
}

describe('CircuitState', () => {
  test('is the three strings', () => {
    assert.deepEqual({ ...CircuitState }, { CLOSED: 'CLOSED', OPEN: 'OPEN', HALF_OPEN: 'HALF_OPEN' });
    assert.ok(Object.isFrozen(CircuitState));
  });
});

describe('options', () => {
  test("defaults follow seed 001's table", () => {
    const o = new CircuitBreaker({ name: 'defaults' }).getOptions();
    assert.deepEqual(o, {
      name: 'defaults',
      failureThreshold: 5,
      minimumRequests: 1,
      recoveryTimeout: 60000,
      requestTimeout: 30000,
      successThreshold: 2,
      halfOpenMaxCalls: 1,
      monitoringWindow: 60000,
      countWindow: null,
      expectedResponseTime: null,
      slowCallRateThreshold: null,
      ignoredAsSuccess: false,
      strictRateThreshold: false,
      rejectsInRate: false,
      keepWindow: false,
      halfOpenTimer: false,
      halfOpenWait: false,
      windowStats: false,
    });
    assert.equal(new CircuitBreaker({ failureThreshold: 0.5 }).getOptions().minimumRequests, 10);
  });

  test('every spelling of the seeds sets the same option', () => {
    for (const key of ['resetTimeout', 'recoveryTimeout', 'retryDelay']) {
      assert.equal(new CircuitBreaker({ [key]: 1234 }).getOptions().recoveryTimeout, 1234, key);
    }
    for (const key of ['timeout', 'requestTimeout']) {
      assert.equal(new CircuitBreaker({ [key]: 250 }).getOptions().requestTimeout, 250, key);
    }
    for (const key of ['minimumRequests', 'minimumRequestCount']) {
      assert.equal(new CircuitBreaker({ [key]: 7 }).getOptions().minimumRequests, 7, key);
    }
    for (const key of ['expectedResponseTime', 'slowCallDuration']) {
      assert.equal(new CircuitBreaker({ [key]: 500 }).getOptions().expectedResponseTime, 500, key);
    }
    const seed003 = new CircuitBreaker({
      failureThreshold: 3, recoveryTimeout: 30000, expectedResponseTime: 2000, monitoringWindow: 60000, minimumRequestCount: 5,
    }).getOptions();
    assert.deepEqual([seed003.failureThreshold, seed003.minimumRequests, seed003.monitoringWindow], [3, 5, 60000]);
    assert.equal(new CircuitBreaker({ timeout: false }).getOptions().requestTimeout, null);
    assert.equal(new CircuitBreaker({ countWindow: 20 }).getOptions().countWindow, 20);
  });

  const bad = [
    [{ failureThreshold: -1 }, RangeError, 'failureThreshold'],
    [{ failureThreshold: Number.NaN }, RangeError, 'failureThreshold'],
    [{ failureThreshold: 1.5 }, RangeError, 'failureThreshold'],
    [{ failureThreshold: 0 }, RangeError, 'failureThreshold'],
    [{ failureThreshold: '5' }, TypeError, 'failureThreshold'],
    [{ recoveryTimeout: -1 }, RangeError, 'recoveryTimeout'],
    [{ retryDelay: Infinity }, RangeError, 'retryDelay'],
    [{ timeout: true }, TypeError, 'timeout'],
    [{ requestTimeout: {} }, TypeError, 'requestTimeout'],
    [{ minimumRequestCount: 0 }, RangeError, 'minimumRequestCount'],
    [{ successThreshold: 2.5 }, RangeError, 'successThreshold'],
    [{ slowCallRateThreshold: 1.5, expectedResponseTime: 10 }, RangeError, 'slowCallRateThreshold'],
    [{ monitoringWindow: 0 }, RangeError, 'monitoringWindow'],
    [{ resetTimeout: 1, recoveryTimeout: 1 }, TypeError, 'recoveryTimeout'],
    [{ timeout: 1, requestTimeout: 1 }, TypeError, 'requestTimeout'],
    [{ failureTreshold: 3 }, TypeError, 'failureTreshold'],
    [{ fallbak: () => 1 }, TypeError, 'fallbak'],
    [{ fallback: 'cached' }, TypeError, 'fallback'],
    [{ onOpen: 1 }, TypeError, 'onOpen'],
    [{ name: 42 }, TypeError, 'name'],
    [{ clock: {} }, TypeError, 'clock'],
  ];
  for (const [options, Kind, field] of bad) {
    test(`${JSON.stringify(options) ?? String(options)} throws ${Kind.name} naming \`${field}\``, () => {
      assert.throws(() => new CircuitBreaker(options), (error) => {
        assert.ok(error instanceof Kind, `${error.constructor.name}: ${error.message}`);
        assert.match(error.message, new RegExp(`\`${field}\``));
        return true;
      });
    });
  }

  test('strict options: a typo gets a suggestion, any other unknown key is a TypeError naming it', () => {
    assert.throws(() => new CircuitBreaker({ sucessThreshold: 2 }), /did you mean `successThreshold`/);
    assert.throws(() => new CircuitBreaker({ name: 'x', description: 'not an option of ours' }), {
      name: 'TypeError',
      message: 'invalid option `description`: unknown option',
    });
    assert.equal(circuitBreakerRegistry.get('x'), undefined);
  });

  test("opossum's option names name the tripwire option that does that job", () => {
    const cases = {
      errorThresholdPercentage: '`failureThreshold`',
      volumeThreshold: '`minimumRequests`',
      rollingCountTimeout: '`monitoringWindow`',
      rollingCountBuckets: '`windowBuckets`',
      capacity: '`maxConcurrent`',
    };
    for (const [key, hint] of Object.entries(cases)) {
      assert.throws(() => new CircuitBreaker({ [key]: 50 }), (error) => {
        assert.equal(error.name, 'TypeError');
        assert.ok(error.message.startsWith(`invalid option \`${key}\`: is not a tripwire option`), error.message);
        assert.ok(error.message.includes(hint), error.message);
        return true;
      });
    }
  });

  test('options must be an object; a bad options object registers nothing', () => {
    assert.throws(() => new CircuitBreaker(null), TypeError);
    assert.throws(() => new CircuitBreaker(5), TypeError);
    assert.throws(() => new CircuitBreaker({ name: 'bad', failureThreshold: -1 }), RangeError);
    assert.equal(circuitBreakerRegistry.get('bad'), undefined);
  });
});

describe('execute', () => {
  test('returns the result and passes a context with an AbortSignal', async () => {
    const breaker = new CircuitBreaker({ name: 'ctx' });
    let seen;
    const result = await breaker.execute(async (ctx) => {
      seen = ctx.signal;
      return 42;
    });
    assert.equal(result, 42);
    assert.ok(seen instanceof AbortSignal);
    assert.equal(seen.aborted, false);
  });

  test('accepts synchronous functions, values and throws alike', async () => {
    const breaker = new CircuitBreaker({ name: 'sync', failureThreshold: 10 });
    assert.equal(await breaker.execute(() => 7), 7);
    const error = new Error('sync throw');
    await assert.rejects(breaker.execute(() => { throw error; }), (e) => e === error);
    const stats = breaker.getStats();
    assert.deepEqual([stats.successCount, stats.failureCount], [1, 1]);
  });

  test("the caller's own error propagates unchanged", async () => {
    const breaker = new CircuitBreaker({ name: 'own' });
    const error = new TypeError('mine');
    await assert.rejects(breaker.execute(async () => { throw error; }), (e) => e === error);
    const thrownValue = { not: 'an error' };
    await assert.rejects(breaker.execute(async () => { throw thrownValue; }), (e) => e === thrownValue);
  });

  test('a count threshold opens after that many consecutive failures; a success in between resets it', async () => {
    const breaker = new CircuitBreaker({ name: 'count', failureThreshold: 3 });
    await fail(breaker, 2);
    await breaker.execute(ok);
    await fail(breaker, 2);
    assert.equal(breaker.getState(), CircuitState.CLOSED);
    await fail(breaker, 1);
    assert.equal(breaker.getState(), CircuitState.OPEN);
  });

  test('a rate threshold (seed 000) waits for the minimum, then opens at ≥ the rate', async () => {
    const breaker = new CircuitBreaker({ name: 'rate', failureThreshold: 0.5, minimumRequests: 10 });
    for (let i = 0; i < 4; i++) await breaker.execute(ok);
    await fail(breaker, 5);
    assert.equal(breaker.getState(), CircuitState.CLOSED, '9 calls: below the minimum');
    await fail(breaker, 1);
    assert.equal(breaker.getState(), CircuitState.OPEN, '6 of 10 failed');
    assert.equal(breaker.getStats().failureRate, 0.6);
  });

  test('an open circuit refuses without calling fn: CircuitBreakerOpenError with its fields', async () => {
    const clock = new ManualClock(1000);
    const breaker = new CircuitBreaker({ name: 'payments', failureThreshold: 1, resetTimeout: 5000, clock });
    await fail(breaker, 1);
    clock.advance(1500);
    let calls = 0;
    const error = await breaker.execute(async () => { calls++; }).catch((e) => e);
    assert.equal(calls, 0);
    assert.ok(error instanceof CircuitBreakerOpenError);
    assert.ok(error instanceof CircuitBreakerError);
    assert.ok(error instanceof Error);
    assert.equal(error.name, 'CircuitBreakerOpenError');
    assert.equal(error.message, "Circuit breaker 'payments' is OPEN");
    assert.equal(error.code, 'EOPENBREAKER');
    assert.equal(error.state, CircuitState.OPEN);
    assert.equal(error.breakerName, 'payments');
    assert.equal(error.retryAfter, 3500);
    assert.doesNotMatch(String(error.stack), /\n\s+at /, 'no stack frames captured on the reject path');
  });

  test('a forced-open circuit refuses with retryAfter null', async () => {
    const breaker = new CircuitBreaker({ name: 'forced' });
    breaker.open();
    const error = await breaker.execute(ok).catch((e) => e);
    assert.ok(error instanceof CircuitBreakerOpenError);
    assert.equal(error.retryAfter, null);
  });
});

describe('open → half-open → closed', () => {
  test('getState reports HALF_OPEN once the open duration has passed, before any call', async () => {
    const clock = new ManualClock();
    const breaker = new CircuitBreaker({ name: 'lazy', failureThreshold: 1, recoveryTimeout: 1000, clock });
    await fail(breaker, 1);
    clock.advance(999);
    assert.equal(breaker.getState(), CircuitState.OPEN);
    clock.advance(1);
    assert.equal(breaker.getState(), CircuitState.HALF_OPEN);
  });

  test('a clock set to the end of the open period, at any fractional instant, finds the breaker half-open', async () => {
    // Milliseconds to nanoseconds truncated once: about 2 % of these read "open".
    const stillOpen = [];
    for (let i = 0; i < 500; i++) {
      const opened = 1000 + i * 1.000_037;
      const clock = new ManualClock(opened);
      const breaker = new CircuitBreaker({ failureThreshold: 1, recoveryTimeout: 1000, clock });
      await fail(breaker, 1);
      clock.set(opened + 1000);
      if (breaker.getState() !== CircuitState.HALF_OPEN) stillOpen.push(opened);
    }
    assert.deepEqual(stillOpen, []);
  });

  test('successThreshold trial successes close; a trial failure reopens', async () => {
    const clock = new ManualClock();
    const breaker = new CircuitBreaker({ name: 'trials', failureThreshold: 1, recoveryTimeout: 100, successThreshold: 2, clock });
    await fail(breaker, 1);
    clock.advance(100);
    await breaker.execute(ok);
    assert.equal(breaker.getState(), CircuitState.HALF_OPEN);
    await breaker.execute(ok);
    assert.equal(breaker.getState(), CircuitState.CLOSED);
    await fail(breaker, 1);
    clock.advance(100);
    await fail(breaker, 1);
    assert.equal(breaker.getState(), CircuitState.OPEN);
    assert.equal(breaker.getStats().nextAttemptTime, 300);
  });

  test('half-open with every trial slot taken refuses with state HALF_OPEN', async () => {
    const clock = new ManualClock();
    const breaker = new CircuitBreaker({ name: 'busy', failureThreshold: 1, recoveryTimeout: 10, clock });
    await fail(breaker, 1);
    clock.advance(10);
    const trial = deferred();
    const running = breaker.execute(() => trial.promise);
    const error = await breaker.execute(ok).catch((e) => e);
    assert.ok(error instanceof CircuitBreakerOpenError);
    assert.equal(error.state, CircuitState.HALF_OPEN);
    assert.equal(error.message, "Circuit breaker 'busy' is HALF_OPEN");
    assert.equal(error.retryAfter, 0);
    trial.resolve('fine');
    assert.equal(await running, 'fine');
  });
});

describe('a call that ends after outcomes left the window', () => {
  for (const timeout of [30_000, false]) {
    test(`its success trips the rule it now meets, with the events (timeout: ${timeout})`, async () => {
      // 3 successes, a failure 5 s later; a call starts then and ends once the
      // successes have left the 10 s window: 1 failure in 2 calls reaches 50 %.
      const clock = new ManualClock(0);
      const breaker = new CircuitBreaker({ name: `late-${timeout}`, failureThreshold: 0.5, minimumRequests: 2, monitoringWindow: 10_000, timeout, clock });
      const changes = [];
      breaker.on('stateChange', (from, to) => changes.push(`${from}>${to}`));
      for (let i = 0; i < 3; i++) await breaker.execute(ok);
      clock.advance(5000);
      await assert.rejects(breaker.execute(boom), /boom/);
      clock.advance(1);
      let finish;
      const late = breaker.execute(() => new Promise((resolve) => (finish = resolve)));
      clock.set(10_600);
      finish('late');
      assert.equal(await late, 'late');
      assert.deepEqual(changes, ['CLOSED>OPEN']);
      assert.equal(breaker.state, CircuitState.OPEN);
    });
  }
});

describe('timeouts', () => {
  test('rejects with CircuitBreakerTimeoutError, aborts the signal, counts a failure and a timeout', async () => {
    const clock = new ManualClock();
    const breaker = new CircuitBreaker({ name: 'slow-upstream', timeout: 100, failureThreshold: 5, clock });
    let signal;
    const late = deferred();
    const running = breaker.execute((ctx) => {
      signal = ctx.signal;
      return late.promise;
    });
    clock.advance(99);
    assert.equal(signal.aborted, false);
    clock.advance(1);
    const error = await running.catch((e) => e);
    assert.ok(error instanceof CircuitBreakerTimeoutError);
    assert.ok(!(error instanceof CircuitBreakerError), 'a timeout is not a refusal');
    assert.equal(error.name, 'CircuitBreakerTimeoutError');
    assert.equal(error.message, 'Timeout after 100ms');
    assert.equal(error.code, 'ETIMEDOUT');
    assert.equal(signal.aborted, true);
    assert.equal(signal.reason, error);
    late.resolve('too late');
    await new Promise(setImmediate);
    const stats = breaker.getStats();
    assert.deepEqual([stats.failureCount, stats.totalTimeouts, stats.successCount], [1, 1, 0]);
    assert.equal(stats.lastError, 'Timeout after 100ms');
  });

  test('every call in flight times out on its own deadline', async () => {
    const clock = new ManualClock();
    const breaker = new CircuitBreaker({ name: 'deadlines', timeout: 100, failureThreshold: 100, clock });
    const first = breaker.execute(never).catch((e) => e);
    clock.advance(30);
    const second = breaker.execute(never).catch((e) => e);
    const quick = breaker.execute(async () => 'quick');
    clock.advance(70);
    assert.ok((await first) instanceof CircuitBreakerTimeoutError);
    assert.equal(await quick, 'quick');
    assert.equal(breaker.getStats().totalTimeouts, 1);
    clock.advance(29);
    assert.equal(breaker.getStats().totalTimeouts, 1, 'the second call still has 1 ms');
    clock.advance(1);
    assert.ok((await second) instanceof CircuitBreakerTimeoutError);
    assert.equal(breaker.getStats().totalTimeouts, 2);
    assert.equal(clock.pendingTimers, 0, 'no timer once nothing is in flight');
  });

  test('timeout: false runs without a deadline', async () => {
    const clock = new ManualClock();
    const breaker = new CircuitBreaker({ name: 'no-deadline', timeout: false, clock });
    const slow = deferred();
    const running = breaker.execute(() => slow.promise);
    clock.advance(10 * 60 * 1000);
    assert.equal(clock.pendingTimers, 0);
    slow.resolve('done');
    assert.equal(await running, 'done');
  });

  test('untimed calls started at one instant each settle on their own outcome', async () => {
    // Calls admitted at the same instant share their settling functions: each still
    // gets its own value or error, and each is counted once.
    const clock = new ManualClock();
    const breaker = new CircuitBreaker({ name: 'one-instant', failureThreshold: 10, timeout: false, clock });
    const boom = new Error('boom');
    const calls = [
      breaker.execute(async () => 'a'),
      breaker.execute(async () => { throw boom; }),
      breaker.execute(async () => ({ b: 1 })),
    ];
    clock.advance(5);
    const late = breaker.execute(async () => 'c');
    const settled = await Promise.allSettled([...calls, late]);
    assert.deepEqual(settled, [
      { status: 'fulfilled', value: 'a' },
      { status: 'rejected', reason: boom },
      { status: 'fulfilled', value: { b: 1 } },
      { status: 'fulfilled', value: 'c' },
    ]);
    const stats = breaker.getStats();
    assert.equal(stats.totalSuccesses, 3);
    assert.equal(stats.totalFailures, 1);
  });
});

describe('fallback', () => {
  test('answers refusals, failures and timeouts, receiving the error', async () => {
    const clock = new ManualClock();
    const seen = [];
    const breaker = new CircuitBreaker({
      name: 'with-fallback', failureThreshold: 2, timeout: 50, clock,
      fallback: (error) => { seen.push(error); return 'cached'; },
    });
    const fallbacks = [];
    breaker.on('fallback', (e) => fallbacks.push(e));
    assert.equal(await breaker.execute(boom), 'cached');
    assert.equal(seen[0].message, 'boom');
    const timingOut = breaker.execute(never);
    clock.advance(50);
    assert.equal(await timingOut, 'cached');
    assert.ok(seen[1] instanceof CircuitBreakerTimeoutError);
    assert.equal(breaker.getState(), CircuitState.OPEN);
    assert.equal(await breaker.execute(ok), 'cached');
    assert.ok(seen[2] instanceof CircuitBreakerOpenError);
    assert.equal(fallbacks.length, 3);
  });

  test("a fallback's own failure rejects the call", async () => {
    const breaker = new CircuitBreaker({ name: 'bad-fallback', fallback: async () => { throw new Error('no cache'); } });
    await assert.rejects(breaker.execute(boom), /no cache/);
  });
});

describe('what counts', () => {
  test('errorFilter true: not counted (ignored), still thrown, never trips', async () => {
    const breaker = new CircuitBreaker({ name: 'filtered', failureThreshold: 1, errorFilter: (e) => e.status === 404 });
    const notFound = Object.assign(new Error('not found'), { status: 404 });
    await assert.rejects(breaker.execute(async () => { throw notFound; }), (e) => e === notFound);
    assert.equal(breaker.getState(), CircuitState.CLOSED);
    const s = breaker.getStats();
    assert.deepEqual([s.failureCount, s.successCount, s.ignoredCount], [0, 0, 1]);
  });

  test('isFailureResult true: counted as a failure, the value is still returned', async () => {
    const breaker = new CircuitBreaker({ name: 'results', failureThreshold: 1, isFailureResult: (r) => r.status >= 500 });
    const result = await breaker.execute(async () => ({ status: 503 }));
    assert.deepEqual(result, { status: 503 });
    assert.equal(breaker.getState(), CircuitState.OPEN);
  });

  test('a call slower than expectedResponseTime is a failure for the rules and counted as slow', async () => {
    const clock = new ManualClock();
    const breaker = new CircuitBreaker({ name: 'slow', failureThreshold: 2, expectedResponseTime: 100, timeout: false, clock });
    for (let i = 0; i < 2; i++) {
      const d = deferred();
      const running = breaker.execute(() => d.promise);
      clock.advance(101);
      d.resolve('late but fine');
      assert.equal(await running, 'late but fine');
    }
    const s = breaker.getStats();
    assert.equal(s.slowCallCount, 2);
    assert.equal(s.successCount, 2);
    assert.equal(breaker.getState(), CircuitState.OPEN);
  });

  test('slowCallRateThreshold trips on the slow-call rate alone', async () => {
    const clock = new ManualClock();
    const breaker = new CircuitBreaker({
      name: 'slow-rate', failureThreshold: 0.9, minimumRequests: 4, expectedResponseTime: 10, slowCallRateThreshold: 0.5, timeout: false, clock,
    });
    await breaker.execute(ok);
    await breaker.execute(ok);
    for (let i = 0; i < 2; i++) {
      const d = deferred();
      const running = breaker.execute(() => d.promise);
      clock.advance(11);
      d.resolve(1);
      await running;
    }
    assert.equal(breaker.getState(), CircuitState.OPEN);
    assert.equal(breaker.getStats().slowCallRate, 0.5);
  });
});

describe('events and callbacks', () => {
  test("seed 002's events, seed 001's callbacks, in order", async () => {
    const clock = new ManualClock();
    const log = [];
    const breaker = new CircuitBreaker({
      name: 'events', failureThreshold: 1, recoveryTimeout: 10, successThreshold: 1, clock,
      onStateChange: (from, to) => log.push(`onStateChange ${from}->${to}`),
      onOpen: () => log.push('onOpen'),
      onClose: () => log.push('onClose'),
    });
    for (const type of ['success', 'failure', 'callRejected', 'circuitOpened', 'circuitClosed', 'halfOpen', 'reset']) {
      breaker.on(type, (payload) => log.push(type + (payload && payload.state ? ` ${payload.state}` : '')));
    }
    breaker.on('stateChange', (from, to) => log.push(`stateChange ${from}->${to}`));
    await breaker.execute(ok);
    await fail(breaker, 1);
    await breaker.execute(ok).catch(() => {});
    clock.advance(10);
    await breaker.execute(ok);
    breaker.reset();
    assert.deepEqual(log, [
      'success CLOSED',
      'stateChange CLOSED->OPEN', 'onStateChange CLOSED->OPEN', 'circuitOpened', 'onOpen',
      'failure OPEN',
      'callRejected OPEN',
      'stateChange OPEN->HALF_OPEN', 'onStateChange OPEN->HALF_OPEN', 'halfOpen',
      'stateChange HALF_OPEN->CLOSED', 'onStateChange HALF_OPEN->CLOSED', 'circuitClosed', 'onClose',
      'success CLOSED',
      'reset',
    ]);
  });

  test('circuitOpened carries the failure count and the next attempt time', async () => {
    const clock = new ManualClock(500);
    const breaker = new CircuitBreaker({ name: 'opened', failureThreshold: 2, recoveryTimeout: 1000, clock });
    let payload;
    breaker.on('circuitOpened', (p) => { payload = p; });
    await fail(breaker, 2);
    assert.deepEqual(payload, { name: 'opened', previousState: 'CLOSED', failureCount: 2, nextAttemptTime: 1500 });
  });

  test('timeout event', async () => {
    const clock = new ManualClock();
    const breaker = new CircuitBreaker({ name: 'timeout-event', timeout: 5, clock });
    let payload;
    breaker.on('timeout', (p) => { payload = p; });
    const running = breaker.execute(never).catch(() => {});
    clock.advance(5);
    await running;
    assert.ok(payload.error instanceof CircuitBreakerTimeoutError);
    assert.equal(payload.timeout, 5);
  });

  test("listener and callback exceptions never break the call; the logger hears of them", async () => {
    const errors = [];
    const logger = { debug() {}, info() {}, warn() {}, error: (m) => errors.push(m) };
    const breaker = new CircuitBreaker({ name: 'throwing-listeners', failureThreshold: 1, onOpen: () => { throw new Error('cb'); } }, logger);
    breaker.on('success', () => { throw new Error('listener'); });
    breaker.on('circuitOpened', () => { throw new Error('listener 2'); });
    assert.equal(await breaker.execute(ok), 'ok');
    await assert.rejects(breaker.execute(boom), /boom/);
    assert.equal(breaker.getState(), CircuitState.OPEN);
    assert.equal(errors.length, 3);
  });

  test("the logger (seed 002) hears of successes, failures and transitions", async () => {
    const lines = [];
    const logger = {
      debug: (m) => lines.push(`debug ${m}`), info: (m) => lines.push(`info ${m}`),
      warn: (m) => lines.push(`warn ${m}`), error: (m) => lines.push(`error ${m}`),
    };
    const breaker = new CircuitBreaker({ name: 'logged', failureThreshold: 1 }, logger);
    await breaker.execute(ok);
    await fail(breaker, 1);
    breaker.close();
    assert.match(lines[0], /^debug logged call succeeded in [\d.]+ms$/);
    assert.ok(lines.includes("warn Circuit breaker 'logged' opened"));
    assert.ok(lines.includes('warn logged call failed: boom'));
    assert.ok(lines.includes("info Circuit breaker 'logged' closed"));
  });
});

describe('stats', () => {
  test('carry every field the seeds read', async () => {
    const breaker = new CircuitBreaker({ name: 'fields' });
    await breaker.execute(ok);
    const stats = breaker.getStats();
    for (const key of [
      'name', 'state', 'failureCount', 'successCount', 'totalRequests', 'failureRate', 'totalCalls', 'totalFailures',
      'totalSuccesses', 'totalTimeouts', 'averageResponseTime', 'lastError', 'nextAttemptTime', 'options',
      'rejectedCount', 'latencyP50', 'latencyP90', 'latencyP99', 'lastFailureTime', 'lastSuccessTime',
    ]) {
      assert.ok(key in stats, key);
    }
    assert.equal(stats.name, 'fields');
    assert.equal(typeof stats.latencyP50, 'number');
    assert.equal(stats.nextAttemptTime, 0);
    assert.equal(stats.lastFailureTime, null);
  });

  test('totals since construction or reset; refusals counted apart; instants in epoch ms', async () => {
    const before = Date.now();
    const breaker = new CircuitBreaker({ name: 'totals', failureThreshold: 2, resetTimeout: 60000 });
    await breaker.execute(ok);
    await fail(breaker, 2);
    await breaker.execute(ok).catch(() => {});
    await breaker.execute(ok).catch(() => {});
    const s = breaker.getStats();
    assert.deepEqual(
      [s.successCount, s.failureCount, s.totalRequests, s.rejectedCount, s.totalCalls, s.totalSuccesses, s.totalFailures],
      [1, 2, 3, 2, 5, 1, 2],
    );
    assert.equal(s.lastError, 'boom');
    const after = Date.now();
    // Under load the process clock is sampled every millisecond by a native thread
    // (src/ticker.rs): instants may then lag by a tick or two, more on a busy machine.
    // What this checks is the unit: epoch ms, not the monotonic clock.
    const lag = 50;
    assert.ok(s.lastSuccessTime >= before - lag && s.lastSuccessTime <= after + 1, `${s.lastSuccessTime} in [${before}, ${after}]`);
    assert.ok(s.nextAttemptTime >= before + 60000 - lag && s.nextAttemptTime <= after + 60000 + 1);
    breaker.reset();
    const r = breaker.getStats();
    assert.deepEqual([r.successCount, r.failureCount, r.totalRequests, r.rejectedCount, r.lastError], [0, 0, 0, 0, undefined]);
  });
});

describe('manual control', () => {
  test('open, close, reset, disable, enable report their transitions', async () => {
    const breaker = new CircuitBreaker({ name: 'manual', failureThreshold: 1 });
    assert.deepEqual(breaker.open(), { from: 'CLOSED', to: 'OPEN' });
    assert.equal(breaker.getState(), CircuitState.OPEN);
    assert.equal(breaker.getStats().forcedOpen, true);
    assert.deepEqual(breaker.close(), { from: 'OPEN', to: 'CLOSED' });
    assert.deepEqual(breaker.disable(), { from: 'CLOSED', to: 'CLOSED' });
    await fail(breaker, 3);
    assert.equal(breaker.getState(), CircuitState.CLOSED, 'disabled: always permits');
    assert.equal(breaker.getStats().failureCount, 3, 'disabled: still counts');
    breaker.enable();
    await fail(breaker, 1);
    assert.equal(breaker.getState(), CircuitState.OPEN);
    assert.deepEqual(breaker.reset(), { from: 'OPEN', to: 'CLOSED' });
    assert.equal(breaker.getStats().failureCount, 0);
  });
});

describe('warm start', () => {
  test('toJSON and CircuitBreaker.fromJSON carry state, counters and options', async () => {
    const clock = new ManualClock();
    const breaker = new CircuitBreaker({ name: 'warm', failureThreshold: 2, recoveryTimeout: 1000, clock });
    await breaker.execute(ok);
    await fail(breaker, 2);
    clock.advance(400);
    const json = JSON.stringify(breaker);
    const restored = CircuitBreaker.fromJSON(json, { clock });
    assert.equal(restored.name, 'warm');
    assert.equal(restored.getState(), CircuitState.OPEN);
    assert.equal(restored.getOptions().recoveryTimeout, 1000);
    const s = restored.getStats();
    assert.deepEqual([s.successCount, s.failureCount], [1, 2]);
    clock.advance(600);
    assert.equal(restored.getState(), CircuitState.HALF_OPEN);
    assert.equal(circuitBreakerRegistry.get('warm'), restored, 'the restored breaker takes the name');
  });

  test('garbage is an error, not a crash', () => {
    assert.throws(() => CircuitBreaker.fromJSON({ name: 'x', options: {}, snapshot: { version: 99 } }));
    assert.throws(() => CircuitBreaker.fromJSON('{}'), TypeError);
  });
});

describe('permits', () => {
  test('tryAcquire returns a permit, or the refusal as a value', () => {
    const breaker = new CircuitBreaker({ name: 'permits', failureThreshold: 1 });
    const permit = breaker.tryAcquire();
    assert.deepEqual(permit.failure(), { from: 'CLOSED', to: 'OPEN' });
    assert.throws(() => permit.success(), /already ended/);
    const refusal = breaker.tryAcquire();
    assert.ok(refusal instanceof CircuitBreakerOpenError);
  });
});

describe('odd callers', () => {
  test('a non-function is a TypeError and takes no permit', async () => {
    const breaker = new CircuitBreaker({ name: 'not-a-function', failureThreshold: 1 });
    await assert.rejects(breaker.execute('nope'), TypeError);
    assert.equal(breaker.getState(), CircuitState.CLOSED);
    assert.equal(breaker.getStats().totalCalls, 0);
  });

  test('a thenable whose then throws, or a throwing then getter, is a counted failure: no permit leaks', async () => {
    const clock = new ManualClock();
    const breaker = new CircuitBreaker({ name: 'bad-thenables', failureThreshold: 2, recoveryTimeout: 10, halfOpenMaxCalls: 1, clock });
    await assert.rejects(breaker.execute(() => ({ then() { throw new Error('then threw'); } })), /then threw/);
    await assert.rejects(breaker.execute(() => ({ get then() { throw new Error('getter threw'); } })), /getter threw/);
    assert.equal(breaker.getState(), CircuitState.OPEN);
    clock.advance(10);
    // The half-open trial slot is free: the failed calls handed their permits back.
    assert.equal(await breaker.execute(async () => 'trial'), 'trial');
  });

  test('plain thenables work', async () => {
    const breaker = new CircuitBreaker({ name: 'thenable' });
    assert.equal(await breaker.execute(() => ({ then: (resolve) => resolve(5) })), 5);
  });
});

test('a call resolving a plain object does not read globalThis.Response (Node loads its fetch then: tens of ms)', () => {
  const script = `
    let reads = 0;
    const real = Object.getOwnPropertyDescriptor(globalThis, 'Response');
    Object.defineProperty(globalThis, 'Response', { configurable: true, get() { reads++; return real.get ? real.get.call(globalThis) : real.value; } });
    const { CircuitBreaker } = require(${JSON.stringify(require.resolve('tripwire'))});
    const b = new CircuitBreaker({ name: 'plain-object' });
    b.execute(async () => ({ id: 1 })).then(() => b.execute(async () => ({ status: 'ok' }))).then(() => {
      process.stdout.write(String(reads));
    });
  `;
  const out = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', env: process.env });
  assert.equal(out.status, 0, out.stderr);
  assert.equal(out.stdout, '0');
});
