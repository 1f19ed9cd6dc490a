// Replays tests/vectors/resilience/*.json through the package: RetryPolicy (delays,
// classification), Bulkhead (enter/leave/abandon/expire/stats), checkHealth,
// serviceHealth. Keys are camelCased; `_ms` keys are milliseconds already.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RetryPolicy, Bulkhead, checkHealth, serviceHealth, CircuitBreakerService } from 'tripwire';

const dir = resolve(fileURLToPath(import.meta.url), '../../../tests/vectors/resilience');
const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
const camel = (snake) => snake.replace(/_ms$/, '').replace(/_([a-z])/g, (_, c) => c.toUpperCase());
const options = (o) => Object.fromEntries(Object.entries(o).map(([k, v]) => [camel(k), v]));
const close = (a, b) => (typeof a === 'number' && typeof b === 'number' ? Math.abs(a - b) <= 1e-6 : a === b);

const STATS = {
  running: 'running',
  queued: 'queued',
  rejected: 'rejected',
  admitted: 'admitted',
  peak_running: 'peakRunning',
  saturated: 'saturated',
  mean_wait_ms: 'meanWait',
  max_wait_ms: 'maxWait',
};

const kinds = {
  retry_delays(v) {
    const policy = new RetryPolicy({ ...options(v.policy), ...(v.seed === undefined ? {} : { seed: v.seed }) });
    v.delays_ms.forEach((expected, i) => {
      const got = policy.delay(i + 1);
      assert.ok(close(got, expected), `delay ${i + 1}: ${got} ≠ ${expected}`);
    });
  },
  classify(v) {
    const policy = new RetryPolicy({ retryableErrors: v.retryable_errors, nonRetryableErrors: v.non_retryable_errors });
    // The same decision reached through the service's reading of real error shapes.
    for (const c of v.cases) {
      const error = Object.assign(new Error('x'), c.code === null ? {} : { code: c.code }, c.status === null ? {} : { status: c.status });
      assert.equal(policy.shouldRetry(error, c.circuit_open), c.retry, JSON.stringify(c));
      const fromResponse = Object.assign(new Error('x'), c.code === null ? {} : { code: c.code }, c.status === null ? {} : { response: { statusCode: c.status } });
      assert.equal(policy.shouldRetry(fromResponse, c.circuit_open), c.retry, `${JSON.stringify(c)} via response.statusCode`);
    }
  },
  bulkhead(v) {
    const b = new Bulkhead(options(v.config));
    v.steps.forEach((step, i) => {
      const ctx = `${v.name} (step ${i}: ${step.op} at ${step.at})`;
      const seen = {};
      switch (step.op) {
        case 'enter': {
          const e = b.enter(step.at);
          seen.entry = e.entry;
          if (e.entry === 'queued') seen.ticket_is = e.ticket;
          break;
        }
        case 'leave':
          seen.admitted = b.leave(step.at);
          break;
        case 'abandon':
          seen.abandoned = b.abandon(step.ticket);
          break;
        case 'expire':
          seen.expired = b.expire(step.at);
          break;
        default:
          assert.fail(`${ctx}: unknown op`);
      }
      for (const [key, expected] of Object.entries(step.expect ?? {})) {
        if (key === 'stats') {
          const stats = b.stats();
          for (const [name, value] of Object.entries(expected)) {
            assert.ok(name in STATS, `${ctx}: unknown stat ${name}`);
            assert.ok(close(stats[STATS[name]], value), `${ctx}: ${name} ${stats[STATS[name]]} ≠ ${value}`);
          }
        } else {
          assert.deepEqual(seen[key], expected, `${ctx}: ${key}`);
        }
      }
    });
  },
  health_checks(v) {
    for (const c of v.cases) assert.equal(checkHealth(c.checks), c.expect, JSON.stringify(c.checks));
  },
  service_health(v) {
    for (const c of v.cases) assert.equal(serviceHealth(c.breakers, c.bulkhead_saturated), c.expect, JSON.stringify(c));
  },
};

test('there are resilience vectors of every kind', () => {
  const seen = new Set(files.map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')).kind));
  assert.deepEqual([...seen].sort(), Object.keys(kinds).sort());
});

for (const file of files) {
  const vector = JSON.parse(readFileSync(join(dir, file), 'utf8'));
  test(`${file}: ${vector.name}`, () => {
    const replay = kinds[vector.kind];
    assert.ok(replay, `unknown kind ${vector.kind}`);
    replay(vector);
  });
}

// The schedule the service itself waits: the delays it asks its clock for are the
// vector's (jitter 0 or seeded), so the service and the vectors cannot drift apart.
for (const file of files.filter((f) => f.startsWith('retry-'))) {
  const v = JSON.parse(readFileSync(join(dir, file), 'utf8'));
  test(`${file}: the service waits the vector's delays`, async () => {
    const requested = [];
    let now = 0;
    const timers = [];
    const clock = {
      now: () => now,
      setTimeout(fn, ms) {
        requested.push(ms);
        timers.push(fn);
        return {};
      },
      clearTimeout() {},
    };
    const svc = new CircuitBreakerService({ clock });
    const retryPolicy = { ...options(v.policy), maxAttempts: v.delays_ms.length + 1, ...(v.seed === undefined ? {} : { seed: v.seed }) };
    const run = svc.executeWithCircuitBreaker('s', 'op', async () => {
      throw Object.assign(new Error('reset'), { code: 'ECONNRESET' });
    }, { retryPolicy, config: { timeout: false, failureThreshold: 1000 } }).catch((e) => e);
    let settled = false;
    run.then(() => (settled = true));
    while (!settled) {
      await new Promise((r) => setImmediate(r));
      const fire = timers.shift();
      if (fire) {
        now += requested.at(-1);
        fire();
      }
    }
    assert.equal((await run).code, 'ECONNRESET');
    assert.equal(requested.length, v.delays_ms.length);
    requested.forEach((ms, i) => assert.ok(close(ms, v.delays_ms[i]), `delay ${i + 1}: ${ms} ≠ ${v.delays_ms[i]}`));
  });
}
