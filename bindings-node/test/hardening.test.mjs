// Bad input is a clear error, never a crash or silence (issue 11, items 5 and 6):
// the `clock` option's readings, ManualClock's moves, and a call timeout longer than
// JavaScript timers keep. Through the package, with manual clocks: no timing.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { CircuitBreaker, ManualClock } from 'tripwire';

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
