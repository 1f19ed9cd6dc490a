// Replays tests/vectors/resilience/*.json through the package: RetryPolicy (delays,
// classification), Bulkhead (enter/leave/abandon/expire/stats), checkHealth,
// serviceHealth, errorRateAlert / deadLetterAlert / allCircuitsOpenAlert. Keys are
// camelCased; `_ms` keys are milliseconds already.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  RetryPolicy,
  Bulkhead,
  checkHealth,
  serviceHealth,
  errorRateAlert,
  deadLetterAlert,
  allCircuitsOpenAlert,
  CircuitBreakerService,
  ManualClock,
} from 'tripwire';

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
  alerts(v) {
    for (const c of v.error_rate) assert.equal(errorRateAlert(c.window_calls, c.window_failures), c.expect, `error rate ${JSON.stringify(c)}`);
    for (const c of v.dead_letter) assert.equal(deadLetterAlert(c.size), c.expect, `dead letters ${JSON.stringify(c)}`);
    for (const c of v.all_circuits_open) {
      assert.equal(allCircuitsOpenAlert(c.breakers, c.ongoing), c.expect, `all circuits open ${JSON.stringify(c)}`);
    }
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

// The alerts the service itself fires: a breaker's window filled with the case's calls
// (successes first, then failures: both parts of the condition only grow, so the alert
// fires during the run iff it holds at the end), a dead-letter queue filled to the size.
const alertVectors = files
  .map((f) => [f, JSON.parse(readFileSync(join(dir, f), 'utf8'))])
  .filter(([, v]) => v.kind === 'alerts');
for (const [file, v] of alertVectors) {
  test(`${file}: the service fires high-error-rate as the vector says`, async () => {
    for (const c of v.error_rate.filter((c) => c.window_calls <= 100)) {
      const svc = new CircuitBreakerService({ clock: new ManualClock(0) });
      const alerts = [];
      svc.on('alert', (a) => alerts.push(a));
      const opts = { config: { timeout: false, failureThreshold: 1000 }, retryPolicy: { maxAttempts: 1 } };
      for (let i = 0; i < c.window_calls - c.window_failures; i++) await svc.executeWithCircuitBreaker('s', 'op', async () => i, opts);
      for (let i = 0; i < c.window_failures; i++) {
        await svc.executeWithCircuitBreaker('s', 'op', async () => { throw new Error('down'); }, opts).catch(() => {});
      }
      const stats = svc.getCircuitBreaker('s', 'op', opts.config).getStats();
      assert.deepEqual([stats.windowCalls, stats.windowFailures], [c.window_calls, c.window_failures]);
      const fired = alerts.filter((a) => a.type === 'high-error-rate');
      assert.equal(fired.length, c.expect ? 1 : 0, `error rate ${JSON.stringify(c)}`);
      // It fired at the first failure after which the condition held: its window says so.
      if (c.expect) assert.ok(errorRateAlert(fired[0].windowCalls, fired[0].windowFailures), JSON.stringify(fired[0]));
    }
  });

  test(`${file}: the service fires dead-letter-queue as the vector says`, async () => {
    for (const c of v.dead_letter) {
      const svc = new CircuitBreakerService({ clock: new ManualClock(0) });
      const alerts = [];
      svc.on('alert', (a) => alerts.push(a.type));
      const opts = { config: { timeout: false, failureThreshold: 100000 }, retryPolicy: { maxAttempts: 1 }, fallbackOptions: { queue: true, fallbackValue: null } };
      for (let i = 0; i < c.size; i++) await svc.executeWithCircuitBreaker('s', 'op', async () => { throw new Error('down'); }, opts);
      assert.equal(svc.getDeadLetterStats().size, c.size);
      assert.equal(alerts.filter((t) => t === 'dead-letter-queue').length, c.expect ? 1 : 0, `dead letters ${JSON.stringify(c)}`);
    }
  });
}
