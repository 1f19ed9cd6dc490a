// One conformance vector replayed through a tripwire wasm build, with a manual
// clock: the adapter over this package's API for the shared loop in
// tests/vectors/replay.mjs. Plain ES module with no Node imports: vectors.test.mjs
// runs it in Node against pkg-node/, browser.test.mjs in Chromium against pkg/.
// Calls that end in success or failure go through `execute` (the public path); the
// others through `acquire` / `record`.
import { replayVector, leftOutOfBrowser } from '../../tests/vectors/replay.mjs';

export { leftOutOfBrowser };

const camel = (key) => key.replace(/_([a-z])/g, (_, c) => c.toUpperCase());

/** The vector format's stat names → fields of `breaker.stats()`, where not camelCase. */
const STATS = {
  requests: 'totalRequests',
  successes: 'totalSuccesses',
  failures: 'totalFailures',
  timeouts: 'totalTimeouts',
  slow_calls: 'slowCallCount',
  rejected: 'rejectedCount',
  ignored: 'ignoredCount',
  next_attempt_ms: 'nextAttemptTime',
  last_success_ms: 'lastSuccessTime',
  last_failure_ms: 'lastFailureTime',
};

const OUTCOMES = { ignore: 'ignored', cancel: 'cancelled' };
const MANUAL = { force_open: 'open', trip: 'trip', half_open: 'forceHalfOpen', close: 'close', reset: 'reset', disable: 'disable', enable: 'enable' };

const transitionName = (t) => (t ? `${t.from}->${t.to}` : null);

/** Replays `vector` through the package `api` (its CircuitBreaker and ManualClock). */
export function replay({ CircuitBreaker, ManualClock }, vector) {
  const clock = new ManualClock(0);
  let changes = [];
  const options = {
    clock,
    onStateChange: (from, to) => changes.push(`${from}->${to}`),
  };
  for (const [key, value] of Object.entries(vector.config)) options[camel(key.replace(/_ms$/, ''))] = value;
  let breaker = new CircuitBreaker(vector.name, options);
  const refused = (error) => {
    if (error.name !== 'CircuitBreakerOpenError') throw error;
    return { granted: false, rejected: error.state, retryAfter: error.retryAfter, transition: null };
  };
  return replayVector(vector, {
    now: () => clock.now(),
    // The ManualClock fires the breaker's timers (the half-open timer) on the way.
    setTime(ms) {
      changes = [];
      clock.set(ms);
      return [...changes]; // a copy: later steps' transitions go to `changes` too
    },
    acquire() {
      try {
        const permit = breaker.acquire();
        return { granted: true, permit, transition: transitionName(permit.transition) };
      } catch (error) {
        return refused(error);
      }
    },
    end: (permit, outcome) => transitionName(breaker.record(permit, OUTCOMES[outcome] ?? outcome)),
    async execute(outcome, ms) {
      changes = [];
      const marker = new Error('the call failed');
      let ran = false;
      try {
        const value = await breaker.execute(async () => {
          ran = true;
          clock.advance(ms);
          if (outcome === 'failure') throw marker;
          return 'value';
        });
        if (value !== 'value' || outcome !== 'success') throw new Error(`${vector.name}: a ${outcome} resolved with ${value}`);
      } catch (error) {
        if (!ran) return refused(error);
        if (error !== marker) throw new Error(`${vector.name}: the caller's error must propagate unchanged, got ${error}`);
      }
      // The record's transition if any, else the acquire's.
      return { granted: true, transition: changes.at(-1) ?? null };
    },
    manual: (op) => transitionName(breaker[MANUAL[op]]()),
    snapshotRestore() {
      // structuredClone: the snapshot is plain data, detached from the breaker.
      const snapshot = structuredClone(breaker.snapshot());
      if (!(snapshot instanceof Uint8Array)) throw new Error(`${vector.name}: a snapshot is bytes`);
      breaker = CircuitBreaker.restore(vector.name, options, snapshot);
    },
    state: () => breaker.state,
    windowStats() {
      const w = breaker.windowStats();
      if (w === null) return null;
      return {
        successes: w.successes, failures: w.failures, rejects: w.rejects, timeouts: w.timeouts, fallbacks: w.fallbacks,
        buckets: w.buckets.map((b) => [b.successes, b.failures, b.rejects, b.timeouts]),
        percentiles_ms: Object.entries(w.percentiles).sort(([a], [b]) => a - b).map(([, v]) => v),
      };
    },
    stats() {
      const stats = breaker.stats();
      const out = {};
      for (const [name, field] of Object.entries(STATS)) out[name] = stats[field];
      for (const name of ['consecutive_failures', 'consecutive_successes', 'failure_streak', 'window_calls', 'window_failures', 'failure_rate', 'slow_call_rate', 'trips']) {
        out[name] = stats[camel(name)];
      }
      if (out.next_attempt_ms === 0) out.next_attempt_ms = null;
      return out;
    },
  });
}
