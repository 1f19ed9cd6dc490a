// The core capabilities opossum's and pybreaker's users need (issue 15), through the
// package: timed open (trip), forced half-open, a start state, the failure streak,
// ignored outcomes as successes, the strict rate threshold, opossum's window
// (rejectsInRate, keepWindow). Manual clocks: no timing.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { CircuitBreaker, CircuitBreakerOpenError, ManualClock, circuitBreakerRegistry } from 'tripwire';

const fail = () => {
  throw new Error('upstream down');
};
const names = (Kind, option, text = '') => (error) => {
  assert.ok(error instanceof Kind, `${error?.constructor?.name}: ${error?.message}`);
  assert.match(error.message, new RegExp(`\`${option}\``));
  assert.ok(error.message.includes(text), error.message);
  return true;
};

describe('start state, trip and forced half-open', () => {
  test("initialState 'OPEN' with openRemaining refuses until then, then admits a trial", async () => {
    const clock = new ManualClock(1000);
    const breaker = new CircuitBreaker({ name: 'start-open', clock, initialState: 'OPEN', openRemaining: 300, successThreshold: 1 });
    assert.equal(breaker.state, 'OPEN');
    const refusal = await breaker.execute(() => 'no').catch((e) => e);
    assert.ok(refusal instanceof CircuitBreakerOpenError);
    assert.equal(refusal.retryAfter, 300);
    clock.advance(300);
    assert.equal(breaker.state, 'HALF_OPEN');
    const seen = [];
    breaker.on('stateChange', (from, to) => seen.push(`${from}->${to}`));
    assert.equal(await breaker.execute(() => 'yes'), 'yes');
    assert.deepEqual(seen, ['OPEN->HALF_OPEN', 'HALF_OPEN->CLOSED']);
  });

  test("initialState spellings: 'half-open', 'half_open', 'HALF_OPEN', 'halfOpen'; 'closed' is the default", () => {
    for (const initialState of ['half-open', 'half_open', 'HALF_OPEN', 'halfOpen']) {
      assert.equal(new CircuitBreaker({ name: 'start-half', initialState }).state, 'HALF_OPEN', initialState);
    }
    assert.equal(new CircuitBreaker({ name: 'start-closed', initialState: 'closed' }).state, 'CLOSED');
  });

  test('bad start options are errors naming the option', () => {
    assert.throws(() => new CircuitBreaker({ initialState: 'OPENED' }), names(RangeError, 'initialState', "'HALF_OPEN'"));
    assert.throws(() => new CircuitBreaker({ initialState: 1 }), names(TypeError, 'initialState', "'HALF_OPEN'"));
    assert.throws(() => new CircuitBreaker({ openRemaining: 5 }), names(RangeError, 'openRemaining', '`initialState` OPEN'));
    assert.throws(() => new CircuitBreaker({ initialState: 'OPEN', openRemaining: -1 }), names(RangeError, 'openRemaining'));
    assert.throws(() => new CircuitBreaker({ initalState: 'OPEN' }), names(TypeError, 'initalState', 'did you mean `initialState`'));
  });

  test('trip() opens for the open duration and emits circuitOpened; open() stays forced', async () => {
    const clock = new ManualClock(0);
    const breaker = new CircuitBreaker({ name: 'trip', clock, recoveryTimeout: 1000 });
    const opened = [];
    breaker.on('circuitOpened', (e) => opened.push(e.nextAttemptTime));
    assert.deepEqual(breaker.trip(), { from: 'CLOSED', to: 'OPEN' });
    assert.deepEqual(opened, [1000]);
    clock.advance(1000);
    assert.equal(breaker.state, 'HALF_OPEN');
    breaker.open();
    clock.advance(1e6);
    assert.equal(breaker.state, 'OPEN', 'a forced open never half-opens');
    assert.equal(breaker.trip().to, 'OPEN');
    clock.advance(1000);
    assert.equal(breaker.state, 'HALF_OPEN', 'trip() made the forced open a timed one');
  });

  test('forceHalfOpen() admits trials now and emits halfOpen', async () => {
    const breaker = new CircuitBreaker({ name: 'half', clock: new ManualClock(0), successThreshold: 1 });
    const events = [];
    breaker.on('halfOpen', (e) => events.push(e.previousState));
    assert.deepEqual(breaker.forceHalfOpen(), { from: 'CLOSED', to: 'HALF_OPEN' });
    assert.deepEqual(events, ['CLOSED']);
    assert.equal(await breaker.execute(() => 1), 1);
    assert.equal(breaker.state, 'CLOSED');
  });
});

describe('the failure streak', () => {
  test('survives the trip and a failed trial, ends on success, close() and reset(); kept by toJSON()', async () => {
    const clock = new ManualClock(0);
    const breaker = new CircuitBreaker({ name: 'streak', clock, failureThreshold: 3, recoveryTimeout: 100 });
    for (let i = 0; i < 3; i++) await breaker.execute(fail).catch(() => {});
    assert.equal(breaker.getStats().failureStreak, 3);
    assert.equal(breaker.getStats().consecutiveFailures, 0, 'the consecutive count starts again when open');
    clock.advance(100);
    await breaker.execute(fail).catch(() => {});
    assert.equal(breaker.getStats().failureStreak, 4);
    const restored = CircuitBreaker.fromJSON(JSON.parse(JSON.stringify(breaker)), { clock });
    assert.equal(restored.getStats().failureStreak, 4);
    restored.close();
    assert.equal(restored.getStats().failureStreak, 0);
  });
});

describe('ignoredAsSuccess', () => {
  test('a filtered error closes a half-open breaker and resets the consecutive failures; still thrown', async () => {
    const filtered = new Error('not found');
    const make = (ignoredAsSuccess) =>
      new CircuitBreaker({ name: `ignored-${ignoredAsSuccess}`, clock: new ManualClock(0), successThreshold: 1, ignoredAsSuccess, errorFilter: (e) => e === filtered });
    const counting = make(true);
    counting.forceHalfOpen();
    await assert.rejects(counting.execute(() => Promise.reject(filtered)), (e) => e === filtered);
    assert.equal(counting.state, 'CLOSED');
    assert.equal(counting.getStats().successCount, 1);
    const ignoring = make(false);
    ignoring.forceHalfOpen();
    await assert.rejects(ignoring.execute(() => Promise.reject(filtered)), (e) => e === filtered);
    assert.equal(ignoring.state, 'HALF_OPEN', 'by default an ignored outcome hands the trial back');
    assert.equal(ignoring.getStats().ignoredCount, 1);
  });

  test('must be a boolean; toJSON() keeps it', () => {
    assert.throws(() => new CircuitBreaker({ ignoredAsSuccess: 'yes' }), names(TypeError, 'ignoredAsSuccess', 'boolean'));
    const breaker = new CircuitBreaker({ name: 'ignored-json', ignoredAsSuccess: true, strictRateThreshold: true });
    const back = CircuitBreaker.fromJSON(JSON.parse(JSON.stringify(breaker)));
    assert.equal(back.getOptions().ignoredAsSuccess, true);
    assert.equal(back.getOptions().strictRateThreshold, true);
  });
});

describe('strictRateThreshold', () => {
  test('a rate trips above the threshold only', async () => {
    const run = async (strictRateThreshold) => {
      const breaker = new CircuitBreaker({ name: `strict-${strictRateThreshold}`, clock: new ManualClock(0), failureThreshold: 0.5, minimumRequests: 4, strictRateThreshold });
      for (const ok of [true, false, true, false]) await breaker.execute(ok ? () => 1 : fail).catch(() => {});
      return breaker.state;
    };
    assert.equal(await run(false), 'OPEN', '2 of 4 reaches 50 %');
    assert.equal(await run(true), 'CLOSED', '2 of 4 is not above 50 %');
    assert.throws(() => new CircuitBreaker({ strictRateThreshold: 1 }), names(TypeError, 'strictRateThreshold', 'boolean'));
  });
});

describe("rejectsInRate and keepWindow (opossum's window)", () => {
  // Trips on one failure (100 %), refuses two calls, closes on a trial, then fails once.
  const recovery = async (options) => {
    const clock = new ManualClock(0);
    const breaker = new CircuitBreaker({
      name: `window-${JSON.stringify(options)}`, clock, failureThreshold: 0.5, minimumRequests: 1,
      strictRateThreshold: true, recoveryTimeout: 1000, successThreshold: 1, ...options,
    });
    await breaker.execute(fail).catch(() => {});
    for (let i = 0; i < 2; i++) assert.ok((await breaker.execute(() => 1).catch((e) => e)) instanceof CircuitBreakerOpenError);
    clock.advance(1000);
    assert.equal(await breaker.execute(() => 'ok'), 'ok');
    await breaker.execute(fail).catch(() => {});
    const { state, windowCalls, windowFailures } = breaker.getStats();
    return { state, windowCalls, windowFailures };
  };

  test('both: refused calls are in the rate after a recovery (2 failures in 5 calls stay closed)', async () => {
    assert.deepEqual(await recovery({ rejectsInRate: true, keepWindow: true }), { state: 'CLOSED', windowCalls: 5, windowFailures: 2 });
  });

  test('keepWindow alone: the failures before the trip count (2 in 3: open)', async () => {
    assert.deepEqual(await recovery({ keepWindow: true }), { state: 'OPEN', windowCalls: 3, windowFailures: 2 });
  });

  test('neither (the default): closing starts a fresh window (1 in 1: open)', async () => {
    assert.deepEqual(await recovery({}), { state: 'OPEN', windowCalls: 1, windowFailures: 1 });
  });

  test('must be booleans; getOptions() and toJSON() keep them', () => {
    assert.throws(() => new CircuitBreaker({ rejectsInRate: 'yes' }), names(TypeError, 'rejectsInRate', 'boolean'));
    assert.throws(() => new CircuitBreaker({ keepWindow: 1 }), names(TypeError, 'keepWindow', 'boolean'));
    const breaker = new CircuitBreaker({ name: 'window-json', rejectsInRate: true, keepWindow: true });
    assert.equal(breaker.getOptions().rejectsInRate, true);
    const back = CircuitBreaker.fromJSON(JSON.parse(JSON.stringify(breaker)));
    assert.equal(back.getOptions().rejectsInRate, true);
    assert.equal(back.getOptions().keepWindow, true);
    assert.equal(new CircuitBreaker({ name: 'window-default' }).getOptions().keepWindow, false);
  });
});

describe('halfOpenTimer', () => {
  test('one timer while open, none while closed; it emits halfOpen when the open duration ends', () => {
    const clock = new ManualClock(0);
    const breaker = new CircuitBreaker({ name: 'timer', clock, failureThreshold: 1, recoveryTimeout: 1000, halfOpenTimer: true });
    const seen = [];
    breaker.on('halfOpen', (e) => seen.push([clock.now(), e.previousState]));
    assert.equal(clock.pendingTimers, 0, 'closed: no timer');
    breaker.execute(fail).catch(() => {});
    assert.equal(breaker.state, 'OPEN');
    assert.equal(clock.pendingTimers, 1);
    breaker.trip();
    assert.equal(clock.pendingTimers, 1, 'a new open duration replaces the timer');
    clock.advance(999);
    assert.deepEqual(seen, []);
    clock.advance(1);
    assert.deepEqual(seen, [[1000, 'OPEN']]);
    assert.equal(clock.pendingTimers, 0, 'half-open: no timer');
    breaker.open();
    assert.equal(clock.pendingTimers, 0, 'forced open: no timer');
    breaker.trip();
    breaker.close();
    assert.equal(clock.pendingTimers, 0, 'closed again: no timer');
    assert.equal(breaker.getOptions().halfOpenTimer, true);
  });

  test('off by default: no timer, the next call reports the transition', () => {
    const clock = new ManualClock(0);
    const breaker = new CircuitBreaker({ name: 'no-timer', clock, failureThreshold: 1, recoveryTimeout: 1000 });
    breaker.trip();
    assert.equal(clock.pendingTimers, 0);
  });

  test('a breaker made open starts its timer; the default clock fires it', async () => {
    const breaker = new CircuitBreaker({ name: 'timer-real', initialState: 'OPEN', openRemaining: 5, halfOpenTimer: true });
    const [event] = await once(breaker, 'halfOpen');
    assert.equal(event.previousState, 'OPEN');
    assert.equal(breaker.state, 'HALF_OPEN');
  });

  test("the timer is unref'd: a process with an open breaker exits", () => {
    const code = `const { CircuitBreaker } = require('tripwire');
      new CircuitBreaker({ name: 'idle', halfOpenTimer: true }).trip(); // 60 s open duration`;
    const child = spawnSync(process.execPath, ['-e', code], { cwd: new URL('../..', import.meta.url), timeout: 20_000 });
    assert.equal(child.signal, null, 'the process had to be killed: the timer held it');
    assert.equal(child.status, 0, String(child.stderr));
  });
});

describe('halfOpenWait', () => {
  const make = (name, halfOpenWait) => {
    const clock = new ManualClock(0);
    const breaker = new CircuitBreaker({ name, clock, recoveryTimeout: 1000, successThreshold: 1, halfOpenWait });
    breaker.forceHalfOpen();
    let end;
    const trial = breaker.execute(() => new Promise((resolve, reject) => { end = { resolve, reject }; }));
    return { breaker, trial, end: () => end };
  };

  test('callers behind the trial run once it closes the circuit, in order', async () => {
    const { breaker, trial, end } = make('wait-close', true);
    const order = [];
    const waiting = [1, 2, 3].map((n) => breaker.execute(() => order.push(n)));
    assert.equal(breaker.getStats().rejectedCount, 0, 'waiting is not a rejection');
    end().resolve('trial');
    assert.equal(await trial, 'trial');
    await Promise.all(waiting);
    assert.deepEqual(order, [1, 2, 3]);
    assert.equal(breaker.state, 'CLOSED');
  });

  test('callers behind a failed trial are refused (OPEN, with the retry-after)', async () => {
    const { breaker, trial, end } = make('wait-fail', true);
    const behind = breaker.execute(() => 'never runs');
    end().reject(new Error('trial failed'));
    await assert.rejects(trial, /trial failed/);
    const refusal = await behind.catch((e) => e);
    assert.ok(refusal instanceof CircuitBreakerOpenError);
    assert.equal(refusal.state, 'OPEN');
    assert.equal(refusal.retryAfter, 1000);
    assert.equal(breaker.getStats().rejectedCount, 1);
  });

  test('off by default: refused at once; tryAcquire() never waits', async () => {
    const { breaker, end } = make('no-wait', false);
    const refusal = await breaker.execute(() => 'no').catch((e) => e);
    assert.equal(refusal.state, 'HALF_OPEN');
    end().resolve();
    const { breaker: waiting } = make('wait-try', true);
    const got = waiting.tryAcquire();
    assert.ok(got instanceof CircuitBreakerOpenError);
    assert.equal(got.state, 'HALF_OPEN');
  });
});

test.after(() => circuitBreakerRegistry.clear());

describe('windowStats', () => {
  test('counts per bucket, fallbacks included; kept across transitions, cleared by reset(); null when off', async () => {
    const clock = new ManualClock(0);
    const breaker = new CircuitBreaker({
      name: 'window-stats', clock, windowStats: true, monitoringWindow: 1000, windowBuckets: 2, failureThreshold: 2, fallback: () => 'fb',
    });
    await breaker.execute(() => 1);
    clock.advance(600);
    assert.equal(await breaker.execute(fail), 'fb');
    assert.equal(await breaker.execute(fail), 'fb');
    assert.equal(breaker.state, 'OPEN');
    assert.equal(await breaker.execute(() => 1), 'fb', 'refused, answered by the fallback');
    const w = breaker.windowStats();
    assert.equal(w.bucketWidth, 500);
    assert.deepEqual(w.buckets, [
      { successes: 1, failures: 0, rejects: 0, timeouts: 0, fallbacks: 0 },
      { successes: 0, failures: 2, rejects: 1, timeouts: 0, fallbacks: 3 },
    ]);
    assert.deepEqual(Object.keys(w.percentiles).map(Number).sort((a, b) => a - b), [0, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.995, 1]);
    breaker.close();
    assert.equal(breaker.windowStats().failures, 2, 'a transition keeps them');
    breaker.reset();
    assert.equal(breaker.windowStats().failures, 0);
    assert.equal(new CircuitBreaker({ name: 'no-window-stats' }).windowStats(), null);
  });

  test('needs a time window', () => {
    assert.throws(() => new CircuitBreaker({ windowStats: true, countWindow: 10 }), names(RangeError, 'windowStats', 'time window'));
  });
});
