// Replays every conformance vector (tests/vectors/*.json) through the package, with
// a ManualClock (the loop and the expectations: tests/vectors/replay.mjs, shared with
// the wasm package). Options in camelCase and milliseconds; calls that succeed or
// fail go through execute(), the path users take (a quiet breaker admits them and
// queues their successes without a native call), the other permits through
// tryAcquire(); manual control through open()/close()/reset()/disable()/enable(),
// snapshots through toJSON()/CircuitBreaker.fromJSON().
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CircuitBreaker, CircuitBreakerOpenError, ManualClock, Permit, circuitBreakerRegistry } from 'tripwire';
import { replayVector } from '../../tests/vectors/replay.mjs';

const dir = resolve(fileURLToPath(import.meta.url), '../../../tests/vectors');
const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();

const camel = (snake) => snake.replace(/_([a-z])/g, (_, c) => c.toUpperCase());

// Vector stat names to getStats() fields; nextAttemptTime is 0 when there is none.
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
  failure_streak: 'failureStreak',
  window_calls: 'windowCalls',
  window_failures: 'windowFailures',
  failure_rate: 'failureRate',
  slow_call_rate: 'slowCallRate',
  trips: 'trips',
  next_attempt_ms: 'nextAttemptTime',
  last_success_ms: 'lastSuccessTime',
  last_failure_ms: 'lastFailureTime',
};

const MANUAL = { force_open: 'open', trip: 'trip', half_open: 'forceHalfOpen', close: 'close', reset: 'reset', disable: 'disable', enable: 'enable' };

/** windowStats() under the vector's names (tests/vectors/README.md). */
function vectorWindowStats(w) {
  if (w === null) return null;
  return {
    successes: w.successes, failures: w.failures, rejects: w.rejects, timeouts: w.timeouts, fallbacks: w.fallbacks,
    buckets: w.buckets.map((b) => [b.successes, b.failures, b.rejects, b.timeouts]),
    percentiles_ms: Object.entries(w.percentiles).sort(([a], [b]) => a - b).map(([, v]) => v),
  };
}

const show = (t) => (t === null ? null : `${t.from}->${t.to}`);

function adapter(vector) {
  const clock = new ManualClock(0);
  const options = { name: `vector: ${vector.name}`, clock };
  for (const [key, value] of Object.entries(vector.config)) options[camel(key.replace(/_ms$/, ''))] = value;
  let breaker = new CircuitBreaker(options);
  return {
    now: () => clock.now(),
    // The ManualClock fires the breaker's timers (the half-open timer) on the way.
    setTime(ms) {
      const changes = [];
      const onStateChange = (from, to) => changes.push(`${from}->${to}`);
      breaker.on('stateChange', onStateChange);
      try {
        clock.set(ms);
      } finally {
        breaker.off('stateChange', onStateChange);
      }
      return changes;
    },
    acquire() {
      const got = breaker.tryAcquire();
      if (got instanceof Permit) return { granted: true, permit: got, transition: show(got.transition) };
      assert.ok(got instanceof CircuitBreakerOpenError, `tryAcquire returned ${got}`);
      return { granted: false, rejected: got.state, retryAfter: got.retryAfter, transition: null };
    },
    end: (permit, outcome) => show(permit[outcome]()),
    // The function runs synchronously, so the outcome is recorded before execute()
    // returns; events report the transitions and the refusal.
    execute(outcome, ms) {
      const seen = { granted: false, transition: null };
      const transitions = [];
      const onStateChange = (from, to) => transitions.push(`${from}->${to}`);
      const onRejected = ({ error }) => Object.assign(seen, { rejected: error.state, retryAfter: error.retryAfter });
      breaker.on('stateChange', onStateChange);
      breaker.on('callRejected', onRejected);
      breaker
        .execute(() => {
          seen.granted = true;
          clock.advance(ms);
          if (outcome === 'failure') throw new Error('vector failure');
          return 1;
        })
        .catch(() => {});
      breaker.off('stateChange', onStateChange);
      breaker.off('callRejected', onRejected);
      seen.transition = transitions.at(-1) ?? null;
      return seen;
    },
    manual: (op) => show(breaker[MANUAL[op]]()),
    snapshotRestore() {
      breaker = CircuitBreaker.fromJSON(JSON.parse(JSON.stringify(breaker)), { clock });
    },
    state: () => breaker.getState(),
    windowStats: () => vectorWindowStats(breaker.windowStats()),
    stats() {
      const stats = breaker.getStats();
      const out = Object.fromEntries(Object.entries(STATS).map(([name, field]) => [name, stats[field]]));
      if (out.next_attempt_ms === 0) out.next_attempt_ms = null;
      return out;
    },
  };
}

test('there are vectors to replay', () => {
  assert.ok(files.length > 0, `no vectors in ${dir}`);
});

for (const file of files) {
  const vector = JSON.parse(readFileSync(join(dir, file), 'utf8'));
  test(`vector ${file}: ${vector.name}`, async () => {
    try {
      await replayVector(vector, adapter(vector));
    } finally {
      circuitBreakerRegistry.clear();
    }
  });
}
