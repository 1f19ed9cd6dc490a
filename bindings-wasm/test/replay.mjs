// One conformance vector replayed through a tripwire wasm build, with a manual
// clock. Plain ES module with no Node imports: vectors.test.mjs runs it in Node
// against pkg-node/, browser.test.mjs in Chromium against pkg/. Calls that end in
// success or failure go through `execute` (the public path); the others through
// `acquire` / `record`. Throws an Error naming the vector, step and field on a mismatch.

/** The assertions replay needs, without node:assert (it also runs in a page). */
const assert = {
  ok(value, message) {
    if (!value) throw new Error(message);
  },
  equal(actual, expected, message) {
    if (!Object.is(actual, expected)) {
      throw new Error(`${message}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
    }
  },
  fail(message) {
    throw new Error(message);
  },
};

/** Whether replaying `vector` needs `snapshot()` (not in the browser build). */
export const needsSnapshot = (vector) => vector.steps.some((step) => step.op === 'snapshot_restore');

const camel = (key) => key.replace(/_([a-z])/g, (_, c) => c.toUpperCase());

/** The vector format's stat names → fields of `breaker.stats()` (the Node package's). */
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

/** nextAttemptTime is 0 when there is none; the vectors say null. */
const statValue = (key, value) => (key === 'next_attempt_ms' && value === 0 ? null : value);

function options(config) {
  const out = {};
  for (const [key, value] of Object.entries(config)) out[camel(key.replace(/_ms$/, ''))] = value;
  return out;
}

function same(want, got) {
  return typeof want === 'number' && typeof got === 'number' ? Math.abs(want - got) <= 1e-9 : want === got;
}

const transitionName = (t) => (t ? `${t.from}->${t.to}` : null);

export async function replay(CircuitBreaker, vector) {
  let now = 0;
  let changes = [];
  const opts = {
    ...options(vector.config),
    clock: () => now,
    onStateChange: (from, to) => changes.push(`${from}->${to}`),
  };
  let breaker = new CircuitBreaker(vector.name, opts);
  const permits = new Map();
  for (const [i, step] of vector.steps.entries()) {
    assert.ok(step.at >= now, `step ${i} goes back in time`);
    now = step.at;
    changes = [];
    const seen = {};
    const ctx = `${vector.name} (step ${i}: ${step.op} at ${step.at})`;
    const refused = (error) => {
      assert.equal(error.name, 'CircuitBreakerOpenError', `${ctx}: ${error.stack}`);
      seen.permit = false;
      seen.rejected = error.state;
      seen.retryAfter = error.retryAfter;
      seen.transition = null;
    };
    const acquire = () => {
      try {
        const permit = breaker.acquire();
        seen.permit = true;
        seen.transition = transitionName(permit.transition);
        return permit;
      } catch (error) {
        refused(error);
        return undefined;
      }
    };
    switch (step.op) {
      case 'acquire': {
        const permit = acquire();
        if (permit && step.id !== undefined) permits.set(step.id, permit);
        break;
      }
      case 'success': case 'failure': case 'timeout': case 'ignore': case 'cancel': {
        const permit = permits.get(step.id);
        assert.ok(permit, `${ctx}: no permit ${step.id}`);
        permits.delete(step.id);
        const outcome = { ignore: 'ignored', cancel: 'cancelled' }[step.op] ?? step.op;
        seen.transition = transitionName(breaker.record(permit, outcome));
        break;
      }
      case 'call': {
        const end = step.at + (step.duration ?? 0);
        if (step.outcome === 'success' || step.outcome === 'failure') {
          const marker = new Error('the call failed');
          let ran = false;
          try {
            const value = await breaker.execute(async () => {
              ran = true;
              now = end;
              if (step.outcome === 'failure') throw marker;
              return 'value';
            });
            assert.equal(value, 'value', ctx);
            assert.equal(step.outcome, 'success', `${ctx}: a failing call resolved`);
          } catch (error) {
            if (!ran) {
              refused(error);
              break;
            }
            assert.equal(error, marker, `${ctx}: the caller's error must propagate unchanged`);
          }
          seen.permit = true;
          // For a call: the record's transition if any, else the acquire's.
          seen.transition = changes.length ? changes[changes.length - 1] : null;
        } else {
          const permit = acquire();
          if (permit) {
            now = end;
            const outcome = { ignore: 'ignored', cancel: 'cancelled' }[step.outcome] ?? step.outcome;
            seen.transition = transitionName(breaker.record(permit, outcome)) ?? seen.transition;
          }
        }
        break;
      }
      case 'force_open': seen.transition = transitionName(breaker.open()); break;
      case 'close': seen.transition = transitionName(breaker.close()); break;
      case 'reset': seen.transition = transitionName(breaker.reset()); break;
      case 'disable': seen.transition = transitionName(breaker.disable()); break;
      case 'enable': seen.transition = transitionName(breaker.enable()); break;
      case 'snapshot_restore': {
        // structuredClone: the snapshot is plain data, detached from the breaker.
        const snapshot = structuredClone(breaker.snapshot());
        assert.ok(snapshot instanceof Uint8Array, `${ctx}: a snapshot is bytes`);
        breaker = CircuitBreaker.restore(vector.name, opts, snapshot);
        permits.clear();
        break;
      }
      case 'check': break;
      default: assert.fail(`${ctx}: unknown op ${step.op}`);
    }
    for (const [key, want] of Object.entries(step.expect ?? {})) {
      switch (key) {
        case 'permit':
          assert.ok('permit' in seen, `${ctx}: no acquire in this step`);
          assert.equal(seen.permit, want, `${ctx}: permit`);
          break;
        case 'rejected': assert.equal(seen.rejected ?? null, want, `${ctx}: rejected`); break;
        case 'retry_after_ms': assert.ok(same(want, seen.retryAfter ?? null), `${ctx}: retry_after_ms expected ${want}, got ${seen.retryAfter}`); break;
        case 'transition':
          assert.ok('transition' in seen, `${ctx}: step reports no transition`);
          assert.equal(seen.transition, want, `${ctx}: transition`);
          break;
        case 'state': assert.equal(breaker.state, want, `${ctx}: state`); break;
        case 'stats': {
          const stats = breaker.stats();
          for (const [k, v] of Object.entries(want)) {
            const field = STATS[k] ?? camel(k);
            assert.ok(field in stats, `${ctx}: stats has no ${field}`);
            const got = statValue(k, stats[field]);
            assert.ok(same(v, got), `${ctx}: stats.${k} expected ${v}, got ${got}`);
          }
          break;
        }
        default: assert.fail(`${ctx}: unknown expectation ${key}`);
      }
    }
  }
}

