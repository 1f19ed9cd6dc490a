// Replays every conformance vector (tests/vectors/*.json) through the package,
// with a ManualClock: options in camelCase and milliseconds, calls that succeed or
// fail through execute(), the other permits through tryAcquire(), manual control
// through open()/close()/reset()/disable()/enable(), snapshots through
// toJSON()/CircuitBreaker.fromJSON().
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CircuitBreaker, CircuitBreakerOpenError, ManualClock, Permit, circuitBreakerRegistry } from 'tripwire';

const dir = resolve(fileURLToPath(import.meta.url), '../../../tests/vectors');
const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();

const camel = (snake) => snake.replace(/_([a-z])/g, (_, c) => c.toUpperCase());

function options(config, clock, name) {
  const out = { name, clock };
  for (const [key, value] of Object.entries(config)) out[camel(key.replace(/_ms$/, ''))] = value;
  return out;
}

// Vector stat names to getStats() fields; instants: null in the vector, null (or 0
// for nextAttemptTime) in the stats.
const STATS = {
  requests: 'totalRequests',
  successes: 'successCount',
  failures: 'failureCount',
  timeouts: 'totalTimeouts',
  slow_calls: 'slowCallCount',
  rejected: 'rejectedCount',
  ignored: 'ignoredCount',
  consecutive_failures: 'consecutiveFailures',
  consecutive_successes: 'consecutiveSuccesses',
  window_calls: 'windowCalls',
  window_failures: 'windowFailures',
  failure_rate: 'failureRate',
  slow_call_rate: 'slowCallRate',
  trips: 'trips',
  next_attempt_ms: 'nextAttemptTime',
  last_success_ms: 'lastSuccessTime',
  last_failure_ms: 'lastFailureTime',
};

function same(expected, actual) {
  if (typeof expected === 'number' && typeof actual === 'number') return Math.abs(expected - actual) <= 1e-9;
  return expected === actual;
}

const show = (t) => (t === null ? null : `${t.from}->${t.to}`);

/**
 * A `call` ending in success or failure goes through execute(), the path users take:
 * a quiet breaker admits it and queues its success without a native call. The
 * function runs synchronously, so the outcome is recorded before execute() returns;
 * events report the transitions and the refusal.
 */
function callThroughExecute(breaker, clock, step, seen) {
  const transitions = [];
  const onStateChange = (from, to) => transitions.push(`${from}->${to}`);
  const onRejected = ({ error }) => {
    seen.rejected = error.state;
    seen.retryAfter = error.retryAfter;
  };
  breaker.on('stateChange', onStateChange);
  breaker.on('callRejected', onRejected);
  let ran = false;
  breaker
    .execute(() => {
      ran = true;
      clock.advance(step.duration ?? 0);
      if (step.outcome === 'failure') throw new Error('vector failure');
      return 1;
    })
    .catch(() => {});
  breaker.off('stateChange', onStateChange);
  breaker.off('callRejected', onRejected);
  seen.permit = ran;
  // The record's transition if any, else the acquire's (OPEN -> HALF_OPEN).
  seen.transition = transitions.length === 0 ? null : transitions.at(-1);
}

function replay(vector) {
  const clock = new ManualClock(0);
  const name = `vector: ${vector.name}`;
  let breaker = new CircuitBreaker(options(vector.config, clock, name));
  let permits = new Map();
  vector.steps.forEach((step, i) => {
    const ctx = `${vector.name} (step ${i}: ${step.op} at ${step.at})`;
    assert.ok(step.at >= clock.now(), `${ctx}: goes back in time`);
    clock.set(step.at);
    const seen = {};
    const acquire = () => {
      const got = breaker.tryAcquire();
      if (got instanceof Permit) {
        seen.permit = true;
        seen.transition = show(got.transition);
        return got;
      }
      assert.ok(got instanceof CircuitBreakerOpenError, `${ctx}: tryAcquire returned ${got}`);
      seen.permit = false;
      seen.rejected = got.state;
      seen.retryAfter = got.retryAfter;
      seen.transition = null;
      return null;
    };
    switch (step.op) {
      case 'acquire': {
        const permit = acquire();
        if (permit !== null && step.id !== undefined) permits.set(step.id, permit);
        break;
      }
      case 'success': case 'failure': case 'timeout': case 'ignore': case 'cancel': {
        const permit = permits.get(step.id);
        assert.ok(permit, `${ctx}: no permit ${step.id}`);
        permits.delete(step.id);
        seen.transition = show(permit[step.op]());
        break;
      }
      case 'call': {
        if (step.outcome === 'success' || step.outcome === 'failure') {
          callThroughExecute(breaker, clock, step, seen);
          break;
        }
        const permit = acquire();
        if (permit !== null) {
          clock.advance(step.duration ?? 0);
          const t = permit[step.outcome]();
          seen.transition = t === null ? seen.transition : show(t);
        }
        break;
      }
      case 'force_open': seen.transition = show(breaker.open()); break;
      case 'close': seen.transition = show(breaker.close()); break;
      case 'reset': seen.transition = show(breaker.reset()); break;
      case 'disable': seen.transition = show(breaker.disable()); break;
      case 'enable': seen.transition = show(breaker.enable()); break;
      case 'snapshot_restore': {
        const json = JSON.stringify(breaker);
        breaker = CircuitBreaker.fromJSON(JSON.parse(json), { clock });
        permits = new Map();
        break;
      }
      case 'check': break;
      default: assert.fail(`${ctx}: unknown op ${step.op}`);
    }
    for (const [key, want] of Object.entries(step.expect ?? {})) {
      switch (key) {
        case 'permit':
          assert.ok('permit' in seen, `${ctx}: no acquire`);
          assert.equal(seen.permit, want, `${ctx}: permit`);
          break;
        case 'rejected': assert.equal(seen.rejected ?? null, want, `${ctx}: rejected`); break;
        case 'retry_after_ms': assert.ok(same(want, seen.retryAfter ?? null), `${ctx}: retry_after_ms expected ${want}, got ${seen.retryAfter}`); break;
        case 'transition':
          assert.ok('transition' in seen, `${ctx}: step reports no transition`);
          assert.equal(seen.transition, want, `${ctx}: transition`);
          break;
        case 'state': assert.equal(breaker.getState(), want, `${ctx}: state`); break;
        case 'stats': {
          const stats = breaker.getStats();
          for (const [k, v] of Object.entries(want)) {
            const field = STATS[k];
            assert.ok(field, `${ctx}: unknown stat ${k}`);
            let got = stats[field];
            if (k === 'next_attempt_ms' && got === 0) got = null;
            assert.ok(same(v, got), `${ctx}: stats.${k} expected ${v}, got ${got}`);
          }
          break;
        }
        default: assert.fail(`${ctx}: unknown expectation ${key}`);
      }
    }
  });
}

test('there are vectors to replay', () => {
  assert.ok(files.length > 0, `no vectors in ${dir}`);
});

for (const file of files) {
  const vector = JSON.parse(readFileSync(join(dir, file), 'utf8'));
  test(`vector ${file}: ${vector.name}`, () => {
    try {
      replay(vector);
    } finally {
      circuitBreakerRegistry.clear();
    }
  });
}
