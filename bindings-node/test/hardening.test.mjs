// Bad input is a clear error, never a crash or silence (issue 11, items 5 and 6):
// the `clock` option's readings, ManualClock's moves, and a call timeout longer than
// JavaScript timers keep. Through the package, with manual clocks: no timing.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { CircuitBreaker, CircuitBreakerService, ManualClock, RetryPolicy, Bulkhead } from 'tripwire';

const namesClock = (Kind) => (error) => {
  assert.ok(error instanceof Kind, `${error?.constructor?.name}: ${error?.message}`);
  assert.match(error.message, /`clock`/);
  return true;
};

describe('the clock option', () => {
  for (const [label, reading] of [
    ['a string', '12'],
    ['NaN', NaN],
    ['Infinity', Infinity],
    ['-Infinity', -Infinity],
    ['undefined', undefined],
    ['an object', {}],
  ]) {
    test(`now() returning ${label} is a TypeError naming clock, at construction`, () => {
      assert.throws(() => new CircuitBreaker({ name: `clock-${label}`, clock: { now: () => reading } }), namesClock(TypeError));
    });

    test(`now() turning to ${label} later rejects execute() with a TypeError naming clock and never opens`, async () => {
      let value = 0;
      const breaker = new CircuitBreaker({ name: `clock-late-${label}`, failureThreshold: 1, clock: { now: () => value } });
      value = reading;
      const pending = breaker.execute(() => 'ran');
      assert.ok(pending instanceof Promise, 'execute() returns a promise, never throws');
      await assert.rejects(pending, namesClock(TypeError));
      value = 1;
      assert.equal(breaker.getState(), 'CLOSED', 'a bad reading is not a failure');
      assert.equal(await breaker.execute(() => 'ok'), 'ok');
    });
  }

  test('a now() that throws makes execute() return a rejected promise, not throw', async () => {
    const boom = new Error('clock broke');
    let broken = false;
    const breaker = new CircuitBreaker({ name: 'clock-throws', clock: { now: () => { if (broken) throw boom; return 5; } } });
    broken = true;
    let pending;
    assert.doesNotThrow(() => { pending = breaker.execute(() => 'never'); });
    await assert.rejects(pending, (error) => error === boom);
  });

  test('a clock whose setTimeout throws fails the call as a rejection, its permit handed back', async () => {
    const boom = new Error('no timers');
    const clock = { now: () => 5, setTimeout() { throw boom; }, clearTimeout() {} };
    const breaker = new CircuitBreaker({ name: 'clock-set-timeout', halfOpenMaxCalls: 1, timeout: 100, clock });
    let pending;
    assert.doesNotThrow(() => { pending = breaker.execute(async () => 'ran'); });
    await assert.rejects(pending, (error) => error === boom);
    assert.equal(breaker.getStats().totalFailures, 1);
    assert.equal(breaker.getStats().lastError, 'no timers');
  });

  test('a clock failing while a half-open trial runs hands the trial back', async () => {
    let now = 0;
    let broken = false;
    const clock = { now: () => { if (broken) throw new Error('clock broke'); return now; } };
    const breaker = new CircuitBreaker({ name: 'clock-trial', failureThreshold: 1, resetTimeout: 10, timeout: false, clock });
    await assert.rejects(breaker.execute(() => { throw new Error('down'); }));
    now = 10;
    let release;
    const trial = breaker.execute(() => new Promise((resolve) => { release = resolve; }));
    broken = true;
    release('late');
    await assert.rejects(trial, /clock broke/);
    broken = false;
    assert.equal(breaker.getState(), 'HALF_OPEN');
    assert.equal(await breaker.execute(() => 'second trial'), 'second trial', 'the slot was handed back');
  });
});

// The service reads the clock at each step of a call: a failing or odd reading ends
// the call with the clock's error, its bulkhead place and permit handed back (an
// end the engine never heard of kept the place forever), and never throws from a timer.
describe("the resilience service's clock", () => {
  /** A ManualClock whose now() can be broken: `clock.reading` replaces it (a value, or an Error thrown). */
  function breakable() {
    const clock = new ManualClock();
    const now = clock.now.bind(clock);
    clock.reading = undefined;
    clock.now = () => {
      if (clock.reading === undefined) return now();
      if (clock.reading instanceof Error) throw clock.reading;
      return clock.reading;
    };
    return clock;
  }

  async function expectHealthy(svc) {
    const b = svc.getBulkheadStats('s');
    assert.equal(b.running, 0, 'no bulkhead place kept');
    assert.equal(b.queued, 0, 'no queue place kept');
    assert.equal(svc.getCircuitBreaker('s', 'op').getState(), 'CLOSED', 'a clock failure is not a call failure');
    assert.equal(await svc.executeWithCircuitBreaker('s', 'op', async () => 'next'), 'next');
  }

  for (const [label, reading] of [['a string', '12'], ['NaN', NaN], ['Infinity', Infinity]]) {
    test(`now() turning to ${label} rejects the call with a TypeError naming clock`, async () => {
      const clock = breakable();
      const svc = new CircuitBreakerService({ clock });
      await svc.executeWithCircuitBreaker('s', 'op', async () => 0);
      clock.reading = reading;
      await assert.rejects(svc.executeWithCircuitBreaker('s', 'op', async () => 'ran'), namesClock(TypeError));
      clock.reading = undefined;
      await expectHealthy(svc);
    });
  }

  for (const timeout of [false, 30000]) {
    for (const quiet of [false, true]) {
      for (const fails of [false, true]) {
        test(`a clock failing as a call ${fails ? 'fails' : 'succeeds'} rejects it with the clock's error (timeout ${timeout}, ${quiet ? 'quiet' : 'first'} call)`, async () => {
          const clock = breakable();
          const svc = new CircuitBreakerService({ clock });
          svc.updateServiceConfig('s', { config: { timeout }, retryPolicy: { maxAttempts: 2, baseDelay: 10, jitter: 0 } });
          if (quiet) await svc.executeWithCircuitBreaker('s', 'op', async () => 0);
          const boom = new Error('clock broke');
          let runs = 0;
          const pending = svc.executeWithCircuitBreaker('s', 'op', async () => {
            runs++;
            clock.reading = boom;
            if (fails) throw new Error('down');
            return 'ran';
          });
          await assert.rejects(pending, (error) => error === boom);
          assert.equal(runs, 1, 'not retried');
          clock.reading = undefined;
          await expectHealthy(svc);
        });
      }
    }
  }

  test("a clock failing as a call's deadline is judged rejects it with the clock's error, from no timer", async () => {
    const clock = breakable();
    const svc = new CircuitBreakerService({ clock });
    svc.updateServiceConfig('s', { config: { timeout: 50 } });
    await svc.executeWithCircuitBreaker('s', 'op', async () => 0);
    const boom = new Error('clock broke');
    const pending = svc.executeWithCircuitBreaker('s', 'op', () => new Promise(() => {}));
    clock.reading = boom;
    assert.doesNotThrow(() => clock.advance(60), 'the timer does not throw');
    await assert.rejects(pending, (error) => error === boom);
    clock.reading = undefined;
    await expectHealthy(svc);
  });

  test("a clock failing while a call waits for a retry or in the bulkhead's queue rejects it with the clock's error", async () => {
    const clock = breakable();
    const svc = new CircuitBreakerService({ clock });
    svc.updateServiceConfig('s', {
      config: { timeout: false },
      retryPolicy: { maxAttempts: 2, baseDelay: 10, jitter: 0 },
      bulkhead: { maxConcurrent: 1, queueSize: 1, maxQueueWait: 100 },
    });
    const boom = new Error('clock broke');
    // A retry waits 10 ms; a second call waits in the queue behind it.
    const retried = svc.executeWithCircuitBreaker('s', 'op', async () => {
      throw Object.assign(new Error('reset'), { code: 'ECONNRESET' });
    });
    await new Promise((resolve) => setImmediate(resolve));
    const queued = svc.executeWithCircuitBreaker('s', 'op', async () => 'queued ran');
    assert.equal(svc.getBulkheadStats('s').queued, 1);
    clock.reading = boom;
    assert.doesNotThrow(() => clock.advance(200), 'no timer throws');
    await assert.rejects(retried, (error) => error === boom);
    await assert.rejects(queued, (error) => error === boom);
    clock.reading = undefined;
    await expectHealthy(svc);
  });
});

describe('ManualClock', () => {
  test('advance() refuses Infinity, NaN and negative steps; non-numbers are TypeErrors', () => {
    const clock = new ManualClock(5);
    for (const step of [Infinity, -Infinity, NaN, -1]) assert.throws(() => clock.advance(step), RangeError, String(step));
    assert.throws(() => clock.advance('1'), TypeError);
    assert.equal(clock.now(), 5, 'nothing moved');
    clock.advance(0);
    clock.advance(2.5);
    assert.equal(clock.now(), 7.5);
  });

  test('set() backwards is a RangeError; the same time or later is fine', () => {
    const clock = new ManualClock(100);
    assert.throws(() => clock.set(99), (error) => error instanceof RangeError && /back/.test(error.message));
    assert.throws(() => clock.set(Infinity), RangeError);
    assert.throws(() => clock.set(NaN), RangeError);
    assert.throws(() => clock.set('200'), TypeError);
    clock.set(100);
    clock.set(150);
    assert.equal(clock.now(), 150);
  });
});

describe('timeout above the JavaScript timer limit', () => {
  const LIMIT = 2 ** 31 - 1;
  for (const key of ['timeout', 'requestTimeout']) {
    test(`${key}: ${LIMIT + 1} is a RangeError naming ${key}; ${LIMIT} and false are accepted`, () => {
      assert.throws(() => new CircuitBreaker({ name: `limit-${key}`, [key]: LIMIT + 1 }), (error) => {
        assert.ok(error instanceof RangeError, error.message);
        assert.match(error.message, new RegExp(`\`${key}\``));
        assert.match(error.message, /2147483647/);
        return true;
      });
      assert.equal(new CircuitBreaker({ name: `limit-ok-${key}`, [key]: LIMIT }).getOptions().requestTimeout, LIMIT);
      assert.equal(new CircuitBreaker({ name: `limit-off-${key}`, [key]: false }).getOptions().requestTimeout, null);
    });
  }

  test('the open duration is not a timer and may be longer', () => {
    assert.doesNotThrow(() => new CircuitBreaker({ name: 'limit-open', resetTimeout: 2 ** 40 }));
  });
});

// Anything may be thrown or returned: the call ends with it, counted once, its places
// handed back; nothing throws in its stead (found by probing the public API).
describe('errors that cannot be read, odd promises, ill-formed names', () => {
  const unreadable = {
    'a code getter that throws': () => Object.defineProperty(new Error('boom'), 'code', { get() { throw new Error('code getter'); } }),
    'a response getter that throws': () => Object.defineProperty(new Error('boom'), 'response', { get() { throw new Error('response getter'); } }),
    'no prototype': () => Object.create(null),
    'a message getter that throws': () => Object.defineProperty(new Error('x'), 'message', { get() { throw new Error('message getter'); } }),
  };
  for (const [label, make] of Object.entries(unreadable)) {
    for (const timeout of [false, 30000]) {
      test(`a service call rejecting with ${label} rejects with it, its slot handed back (timeout ${timeout})`, async () => {
        const svc = new CircuitBreakerService();
        svc.updateServiceConfig('s', { config: { timeout }, retryPolicy: { maxAttempts: 1 }, bulkhead: { maxConcurrent: 1, queueSize: 0 } });
        const error = make();
        await assert.rejects(svc.executeWithCircuitBreaker('s', 'op', async () => { throw error; }), (e) => e === error);
        assert.equal(svc.getBulkheadStats('s').running, 0);
        assert.equal(await svc.executeWithCircuitBreaker('s', 'op', async () => 'next'), 'next');
      });
    }

    test(`a breaker's call throwing ${label} rejects with it, counted, its events emitted`, async () => {
      const breaker = new CircuitBreaker({ name: `unreadable-${label}`, failureThreshold: 1 });
      const events = [];
      breaker.on('failure', () => events.push('failure'));
      breaker.on('circuitOpened', () => events.push('opened'));
      const error = make();
      await assert.rejects(breaker.execute(() => { throw error; }), (e) => e === error);
      assert.equal(breaker.getStats().totalFailures, 1);
      assert.deepEqual(events.sort(), ['failure', 'opened']);
      assert.equal(typeof breaker.getStats().lastError, 'string');
    });
  }

  test('a promise whose constructor or species throws fails the call: execute() never throws', async () => {
    const odd = () => {
      const p = Promise.resolve(1);
      p.constructor = 5;
      return p;
    };
    for (const timeout of [false, 30000]) {
      const breaker = new CircuitBreaker({ name: `odd-promise-${timeout}`, timeout });
      let pending;
      assert.doesNotThrow(() => { pending = breaker.execute(odd); });
      await assert.rejects(pending, TypeError);
      assert.equal(breaker.getStats().totalFailures, 1);
      assert.equal(await breaker.execute(async () => 'ok'), 'ok');
      const svc = new CircuitBreakerService();
      svc.updateServiceConfig('s', { config: { timeout }, retryPolicy: { maxAttempts: 1 } });
      await assert.rejects(svc.executeWithCircuitBreaker('s', 'op', odd), TypeError);
      assert.equal(svc.getBulkheadStats('s').running, 0);
    }
  });

  test('service and operation names holding a lone surrogate are the engine\'s UTF-8 names (U+FFFD), one breaker each', async () => {
    const svc = new CircuitBreakerService();
    const cut = 'user-😀'.slice(0, 6);
    const other = 'user-😀'.slice(0, 5) + '\udc00';
    assert.notEqual(cut, other);
    assert.equal(await svc.executeWithCircuitBreaker(cut, 'op', async () => 1), 1);
    assert.equal(await svc.executeWithCircuitBreaker(other, 'op', async () => 2), 2);
    assert.equal(await svc.executeWithCircuitBreaker('user-\ufffd', 'op', async () => 3), 3);
    assert.equal(svc.getCircuitBreaker(cut, 'op'), svc.getCircuitBreaker('user-\ufffd', 'op'));
    assert.equal(svc.getCircuitBreaker(cut, 'op').getStats().totalSuccesses, 3);
    assert.deepEqual(Object.keys(svc.getSystemHealth().services), ['user-\ufffd']);
  });
});

describe('the standalone RetryPolicy and Bulkhead', () => {
  test('an unknown option is a TypeError with "did you mean", as in the service', () => {
    assert.throws(() => new RetryPolicy({ maxAttempt: 3 }), (e) => e instanceof TypeError && /did you mean `maxAttempts`/.test(e.message));
    assert.throws(() => new Bulkhead({ maxConcurent: 3 }), (e) => e instanceof TypeError && /did you mean `maxConcurrent`/.test(e.message));
  });

  test('delay() past 2^32 attempts stays at maxDelay (it wrapped to the first delay)', () => {
    const policy = new RetryPolicy({ baseDelay: 100, maxDelay: 30000, jitter: 0 });
    assert.equal(policy.delay(1), 100);
    for (const attempt of [2 ** 32 - 1, 2 ** 32, 2 ** 32 + 5, 2 ** 53]) assert.equal(policy.delay(attempt), 30000, String(attempt));
  });

  test('an instant that is not a finite number is a TypeError naming nowMs; a bad ticket one naming ticket', () => {
    const bulkhead = new Bulkhead({ maxConcurrent: 1, queueSize: 1 });
    for (const bad of ['5', null, undefined, {}, NaN, Infinity]) {
      for (const method of ['enter', 'leave', 'expire']) {
        assert.throws(() => bulkhead[method](bad), (e) => e instanceof TypeError && /`nowMs`/.test(e.message) && !/a undefined/.test(e.message), `${method}(${String(bad)})`);
      }
    }
    assert.throws(() => bulkhead.abandon('1'), (e) => e instanceof TypeError && /`ticket`/.test(e.message));
    assert.deepEqual(bulkhead.enter(0), { entry: 'run' });
    assert.equal(bulkhead.stats().running, 1, 'the bad instants admitted nothing');
  });
});

describe('clock readings out of the engine\'s range, an open period past the timer limit', () => {
  for (const reading of [-1, 2 ** 62 / 1e6 + 1, Date.now() * 1000]) {
    test(`now() reading ${reading} is a RangeError naming clock (the engine's range is 0 to 2^62 ns)`, async () => {
      let value = 0;
      const breaker = new CircuitBreaker({ name: `clock-range-${reading}`, failureThreshold: 1, clock: { now: () => value } });
      value = reading;
      await assert.rejects(breaker.execute(() => 'ran'), (e) => e instanceof RangeError && /`clock`/.test(e.message));
      value = 1;
      assert.equal(await breaker.execute(() => 'ok'), 'ok');
    });
  }

  test('a half-open timer past 2^31 - 1 ms waits in steps a JavaScript timer keeps (it fired at once, over and over)', () => {
    const clock = new ManualClock(0);
    const delays = [];
    const setTimeout = clock.setTimeout.bind(clock);
    clock.setTimeout = (fn, ms) => {
      delays.push(ms);
      return setTimeout(fn, ms);
    };
    const breaker = new CircuitBreaker({ name: 'long-open', recoveryTimeout: 3e9, halfOpenTimer: true, clock });
    breaker.trip();
    assert.deepEqual(delays, [2 ** 31 - 1]);
    clock.advance(2 ** 31 - 1);
    assert.equal(breaker.getState(), 'OPEN');
    assert.deepEqual(delays, [2 ** 31 - 1, 3e9 - (2 ** 31 - 1)]);
    clock.advance(3e9 - (2 ** 31 - 1));
    assert.equal(breaker.getState(), 'HALF_OPEN');
  });
});
