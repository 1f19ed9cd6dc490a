// Issue 5 in real headless Chromium: the page loads pkg/ from a local server on
// 127.0.0.1 that also serves /ok (200), /fail (503), /busy (429), /bad (404) and
// /hang (never answers); a second server on another port is a second origin.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { withPage, root } from './harness.mjs';

/** Waits until `check()` is true (the server sees an aborted socket a little after the page). */
async function eventually(check, what) {
  for (let i = 0; i < 500; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail(`never happened: ${what}`);
}

test('breaker.fetch and guardFetch in Chromium', async (t) => {
  await withPage(async (page, [main, other]) => {
    await t.test('503s trip the breaker; an open breaker rejects without touching the network', async () => {
      const r = await page.evaluate(async () => {
        const { CircuitBreaker } = window.tripwire;
        const changes = [];
        const breaker = new CircuitBreaker('trip', {
          failureThreshold: 3, recoveryTimeout: 60000, onStateChange: (from, to) => changes.push(`${from}->${to}`),
        });
        const statuses = [];
        for (let i = 0; i < 3; i++) {
          const res = await breaker.fetch('/fail');
          statuses.push(res.status, await res.text());
        }
        let refused;
        try {
          await breaker.fetch('/fail');
        } catch (e) {
          refused = { name: e.name, state: e.state, retryAfter: e.retryAfter };
        }
        return { statuses, refused, state: breaker.state, changes, stats: breaker.stats() };
      });
      assert.deepEqual(r.statuses, [503, 'down', 503, 'down', 503, 'down'], 'the response resolves untouched');
      assert.equal(r.refused.name, 'CircuitBreakerOpenError');
      assert.equal(r.refused.state, 'OPEN');
      assert.ok(r.refused.retryAfter > 0 && r.refused.retryAfter <= 60000);
      assert.equal(r.state, 'OPEN');
      assert.deepEqual(r.changes, ['CLOSED->OPEN']);
      assert.equal(r.stats.totalFailures, 3);
      assert.equal(r.stats.rejectedCount, 1);
      assert.equal(r.stats.lastError, 'HTTP 503');
      assert.equal(main.hits['/fail'], 3, 'the refused call never reached the server');
    });

    await t.test('429 counts as a failure, 404 as a success, isFailureResponse overrides', async () => {
      const r = await page.evaluate(async () => {
        const { CircuitBreaker } = window.tripwire;
        const a = new CircuitBreaker('codes', { failureThreshold: 10 });
        await a.fetch('/busy');
        await a.fetch('/bad');
        await a.fetch('/ok');
        const b = new CircuitBreaker('custom', { failureThreshold: 10, isFailureResponse: (res) => res.status === 404 });
        await b.fetch('/bad');
        await b.fetch('/fail');
        return [a.stats(), b.stats()].map((s) => [s.totalFailures, s.totalSuccesses]);
      });
      assert.deepEqual(r, [[1, 2], [1, 1]]);
    });

    await t.test('recovery after the open duration (manual clock), then a trial closes it', async () => {
      const r = await page.evaluate(async () => {
        const { CircuitBreaker } = window.tripwire;
        let now = 0;
        const breaker = new CircuitBreaker('recover', {
          failureThreshold: 1, recoveryTimeout: 5000, successThreshold: 1, clock: () => now,
        });
        await breaker.fetch('/fail');
        const states = [breaker.state];
        now = 4999;
        states.push(breaker.state);
        now = 5000;
        states.push(breaker.state);
        const res = await breaker.fetch('/ok');
        states.push(breaker.state);
        return { states, status: res.status };
      });
      assert.deepEqual(r.states, ['OPEN', 'OPEN', 'HALF_OPEN', 'CLOSED']);
      assert.equal(r.status, 200);
    });

    await t.test('recovery after the open duration (performance.now)', async () => {
      const r = await page.evaluate(async () => {
        const { CircuitBreaker } = window.tripwire;
        const breaker = new CircuitBreaker('recover-real', { failureThreshold: 1, recoveryTimeout: 50, successThreshold: 1 });
        await breaker.fetch('/fail');
        const first = breaker.state;
        while (breaker.state === 'OPEN') await new Promise((r) => setTimeout(r, 10));
        const res = await breaker.fetch('/ok');
        return { first, status: res.status, state: breaker.state };
      });
      assert.deepEqual(r, { first: 'OPEN', status: 200, state: 'CLOSED' });
    });

    await t.test('a timeout aborts the request and counts as a failure', async () => {
      const before = main.aborted['/hang'] ?? 0;
      const r = await page.evaluate(async () => {
        const { CircuitBreaker } = window.tripwire;
        const breaker = new CircuitBreaker('slow', { requestTimeout: 100, failureThreshold: 1 });
        try {
          await breaker.fetch('/hang');
          return 'resolved';
        } catch (e) {
          return { name: e.name, timeout: e.timeout, stats: breaker.stats(), state: breaker.state };
        }
      });
      assert.equal(r.name, 'CircuitBreakerTimeoutError');
      assert.equal(r.timeout, 100);
      assert.equal(r.stats.totalTimeouts, 1);
      assert.equal(r.stats.totalFailures, 1);
      assert.equal(r.state, 'OPEN');
      await eventually(() => (main.aborted['/hang'] ?? 0) > before, 'the server saw the request aborted');
    });

    await t.test("the caller's own abort rejects with AbortError and counts as cancelled", async () => {
      const before = main.aborted['/hang'] ?? 0;
      const r = await page.evaluate(async () => {
        const { CircuitBreaker } = window.tripwire;
        const breaker = new CircuitBreaker('aborted', { requestTimeout: 60000, failureThreshold: 1 });
        const controller = new AbortController();
        const pending = breaker.fetch('/hang', { signal: controller.signal });
        setTimeout(() => controller.abort(), 50);
        try {
          await pending;
          return 'resolved';
        } catch (e) {
          const s = breaker.stats();
          return { name: e.name, failures: s.totalFailures, ignored: s.ignoredCount, state: breaker.state };
        }
      });
      assert.deepEqual(r, { name: 'AbortError', failures: 0, ignored: 1, state: 'CLOSED' });
      await eventually(() => (main.aborted['/hang'] ?? 0) > before, 'the server saw the request aborted');
    });

    await t.test("a Request's own signal counts as the caller's, with or without a timeout", async () => {
      const r = await page.evaluate(async () => {
        const { CircuitBreaker } = window.tripwire;
        const out = [];
        for (const timeout of [60000, false]) {
          const breaker = new CircuitBreaker('request-signal', { timeout, failureThreshold: 1 });
          const controller = new AbortController();
          const pending = breaker.fetch(new Request('/hang', { signal: controller.signal }));
          setTimeout(() => controller.abort(), 20);
          try {
            await pending;
            out.push('resolved');
          } catch (e) {
            const s = breaker.stats();
            out.push(`${e.name} ${s.totalFailures}/${s.ignoredCount} ${breaker.state}`);
          }
        }
        return out;
      });
      assert.deepEqual(r, ['AbortError 0/1 CLOSED', 'AbortError 0/1 CLOSED']);
    });

    await t.test('network errors count as failures; execute times out too', async () => {
      const r = await page.evaluate(async () => {
        const { CircuitBreaker } = window.tripwire;
        const breaker = new CircuitBreaker('net', { failureThreshold: 5, requestTimeout: 100 });
        const names = [];
        try {
          await breaker.fetch('http://127.0.0.1:1/nothing-listens-here');
        } catch (e) {
          names.push(e.name);
        }
        try {
          await breaker.execute(() => new Promise(() => {}));
        } catch (e) {
          names.push(e.name);
        }
        const s = breaker.stats();
        return { names, failures: s.totalFailures, timeouts: s.totalTimeouts };
      });
      assert.deepEqual(r, { names: ['TypeError', 'CircuitBreakerTimeoutError'], failures: 2, timeouts: 1 });
    });

    await t.test('fallback answers while open, given the open error', async () => {
      const r = await page.evaluate(async () => {
        const { CircuitBreaker } = window.tripwire;
        const breaker = new CircuitBreaker('fallback', {
          failureThreshold: 1, fallback: (error) => ({ cached: true, because: error.name }),
        });
        breaker.open();
        const fromFetch = await breaker.fetch('/ok');
        const fromExecute = await breaker.execute(async () => 'live');
        breaker.close();
        const live = await breaker.execute(async () => 'live');
        return { fromFetch, fromExecute, live, rejected: breaker.stats().rejectedCount };
      });
      assert.deepEqual(r.fromFetch, { cached: true, because: 'CircuitBreakerOpenError' });
      assert.deepEqual(r.fromExecute, { cached: true, because: 'CircuitBreakerOpenError' });
      assert.equal(r.live, 'live');
      assert.equal(r.rejected, 2);
      assert.equal(main.hits['/ok'] > 0, true);
    });

    await t.test("fetch: the fallback answers network errors and timeouts, not the caller's abort", async () => {
      const before = main.aborted['/hang'] ?? 0;
      const r = await page.evaluate(async () => {
        const { CircuitBreaker } = window.tripwire;
        const breaker = new CircuitBreaker('fetch-fallback', {
          failureThreshold: 10, timeout: 50, fallback: (e) => `fallback: ${e.name}`,
        });
        const timedOut = await breaker.fetch('/hang');
        const network = await breaker.fetch('http://127.0.0.1:1/nothing-listens-here');
        const controller = new AbortController();
        controller.abort();
        let aborted;
        try {
          aborted = await breaker.fetch('/ok', { signal: controller.signal });
        } catch (e) {
          aborted = e.name;
        }
        return { timedOut, network, aborted };
      });
      assert.deepEqual(r, {
        timedOut: 'fallback: CircuitBreakerTimeoutError',
        network: 'fallback: TypeError',
        aborted: 'AbortError',
      });
      await eventually(() => (main.aborted['/hang'] ?? 0) > before, 'the timed-out request was aborted');
    });

    await t.test('guardFetch keeps one breaker per origin: a dead API does not block the others', async () => {
      const otherHitsBefore = other.hits['/fail'] ?? 0;
      const r = await page.evaluate(async (otherUrl) => {
        const { guardFetch } = window.tripwire;
        const changes = [];
        const guarded = guardFetch({
          failureThreshold: 2, recoveryTimeout: 60000, onStateChange: (from, to, name) => changes.push(`${name}: ${from}->${to}`),
        });
        await guarded(`${otherUrl}/fail`);
        await guarded(new Request(`${otherUrl}/fail`));
        let refused;
        try {
          await guarded(`${otherUrl}/fail`);
        } catch (e) {
          refused = e.name;
        }
        const ok = await guarded('/ok'); // relative: the page's origin
        const otherBreaker = guarded.breakerFor(otherUrl);
        return {
          refused,
          okStatus: ok.status,
          otherState: otherBreaker.state,
          otherName: otherBreaker.name,
          pageState: guarded.breakerFor(location.origin).state,
          pageSuccesses: guarded.breakerFor(`${location.origin}/any/path`).stats().totalSuccesses,
          same: guarded.breakerFor(otherUrl) === guarded.breakerFor(`${otherUrl}/x`),
          changes,
        };
      }, other.url);
      assert.deepEqual(r, {
        refused: 'CircuitBreakerOpenError',
        okStatus: 200,
        otherState: 'OPEN',
        otherName: other.url,
        pageState: 'CLOSED',
        pageSuccesses: 1,
        same: true,
        changes: [`${other.url}: CLOSED->OPEN`],
      });
      assert.equal(other.hits['/fail'] - otherHitsBefore, 2, 'the refused call never reached the other origin');
    });

    await t.test('the conformance vectors replay through the browser build (pkg/) too', async () => {
      const dir = join(root, '../tests/vectors');
      const vectors = readdirSync(dir).filter((f) => f.endsWith('.json')).sort()
        .map((f) => ({ file: f, ...JSON.parse(readFileSync(join(dir, f), 'utf8')) }));
      const r = await page.evaluate(async (all) => {
        const { replay, leftOutOfBrowser } = await import('/test/replay.mjs');
        const out = { ran: 0, skipped: [], failures: [] };
        for (const vector of all) {
          // pkg/ leaves snapshot/restore and windowed statistics out (features `snapshot`,
          // `window-stats`); pkg-node/ replays those.
          if (leftOutOfBrowser(vector)) {
            out.skipped.push(vector.file);
            continue;
          }
          try {
            await replay(window.tripwire, vector);
            out.ran++;
          } catch (e) {
            out.failures.push(`${vector.file}: ${e.message}`);
          }
        }
        return out;
      }, vectors);
      assert.deepEqual(r.failures, []);
      assert.ok(r.ran > 0);
      assert.equal(r.ran + r.skipped.length, vectors.length);
      assert.ok(r.skipped.length < vectors.length / 4, `skipped: ${r.skipped}`);
    });

    await t.test('bad options throw errors that name the option', async () => {
      const r = await page.evaluate(() => {
        const { CircuitBreaker, guardFetch } = window.tripwire;
        const cases = [
          () => new CircuitBreaker('x', { failureThreshold: -1 }),
          () => new CircuitBreaker('x', { timeout: 'soon' }),
          () => new CircuitBreaker('x', { resetTimeout: 10, recoveryTimeout: 10 }),
          () => new CircuitBreaker('x', { fallback: 3 }),
          () => new CircuitBreaker('x', { failureTreshold: 3 }),
          () => new CircuitBreaker('x', { minimumRequests: 2.5 }),
          () => new CircuitBreaker('x', 'not an object'),
          () => new CircuitBreaker(42),
          () => guardFetch({ retryDelay: Number.NaN }),
        ];
        return cases.map((make) => {
          try {
            make();
            return 'no error';
          } catch (e) {
            return `${e.constructor.name}: ${e.message}`;
          }
        });
      });
      const expected = [
        [/^RangeError: .*`failureThreshold`/],
        [/^TypeError: .*`timeout`/],
        [/^TypeError: .*`recoveryTimeout`.*`resetTimeout`/],
        [/^TypeError: .*`fallback`/],
        [/^TypeError: .*`failureTreshold`.*did you mean `failureThreshold`/],
        [/^RangeError: .*`minimumRequests`/],
        [/^TypeError: options must be an object/],
        [/^TypeError: .*`name` must be a string/],
        [/^RangeError: .*`retryDelay`/],
      ];
      assert.equal(r.length, expected.length);
      r.forEach((message, i) => assert.match(message, expected[i][0]));
    });
  });
});
