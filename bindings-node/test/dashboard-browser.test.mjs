// The dashboard (<tripwire-dashboard>, served by tripwire/control at /dashboard) in
// real headless Chromium against the Node server (issue 12). Refreshes are driven by
// calling the element's refresh(): no real waits, no timing assertions. One
// screenshot per scenario: target/dashboard-node-*.png.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtemp, rm, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { CircuitBreakerService } from 'tripwire';
import { serve } from 'tripwire/control';

const require = createRequire(import.meta.url);
const { chromium } = require('playwright-core');
const TARGET = fileURLToPath(new URL('../../target/', import.meta.url));
const TOKEN = 'dashboard-test-token';

/** Lets due work run (the server's handlers, the page's fetches), a few turns at most. */
const turn = () => new Promise((resolve) => setImmediate(resolve));

/** Polls `check()` (not a timing assertion: it waits for an effect, bounded by turns). */
async function until(check, what) {
  for (let i = 0; i < 2000; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  assert.fail(`never happened: ${what}`);
}

async function withDashboard(body) {
  const svc = new CircuitBreakerService();
  svc.updateServiceConfig('db', { config: { failureThreshold: 2 }, retryPolicy: { maxAttempts: 1 } });
  svc.updateServiceConfig('slow', { bulkhead: { maxConcurrent: 1, queueSize: 2 } });
  let server;
  let other;
  let context;
  let profile;
  try {
    server = await serve({ service: svc, token: TOKEN });
    // A second origin, for the cross-site POST.
    other = http.createServer((req, res) => res.end('<!doctype html><title>elsewhere</title>'));
    await new Promise((resolve) => other.listen(0, '127.0.0.1', resolve));
    profile = await mkdtemp(join(tmpdir(), 'tripwire-dashboard-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: '/usr/bin/chromium',
      headless: true,
      viewport: { width: 1280, height: 1000 },
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    const page = context.pages()[0] ?? (await context.newPage());
    const problems = [];
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    await page.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (e) => console.error(`CSP: ${e.violatedDirective} ${e.blockedURI}`));
    });
    const open = async (withToken) => {
      await page.goto(`${server.url}/dashboard${withToken ? `#token=${TOKEN}` : ''}`);
      await page.waitForSelector('tripwire-dashboard [data-overall]');
    };
    const refresh = () => page.evaluate(() => document.querySelector('tripwire-dashboard').refresh());
    const shot = async (name) => {
      await mkdir(TARGET, { recursive: true });
      await page.screenshot({ path: join(TARGET, `dashboard-node-${name}.png`), fullPage: true });
    };
    await body({ svc, server, other, page, open, refresh, shot, problems });
    assert.deepEqual(problems, [], 'no console errors, no CSP violations');
  } finally {
    await context?.close();
    if (profile) await rm(profile, { recursive: true, force: true });
    await server?.close();
    if (other) await new Promise((resolve) => other.close(resolve));
  }
}

const fail = async () => {
  throw new Error('connection refused');
};

test('dashboard in Chromium against the Node server', async (t) => {
  await withDashboard(async ({ svc, server, other, page, open, refresh, shot, problems }) => {
    await svc.executeWithCircuitBreaker('db', 'query', async () => 'ok');
    await svc.executeWithCircuitBreaker('db', 'write', async () => 'ok');
    await open(true);

    await t.test('failures driven through the service move a row to OPEN after the next refresh', async () => {
      const row = page.locator('tripwire-dashboard [data-breaker="db:query"] [data-state]');
      assert.equal(await row.textContent(), 'CLOSED');
      await svc.executeWithCircuitBreaker('db', 'query', fail).catch(() => {});
      await svc.executeWithCircuitBreaker('db', 'query', fail).catch(() => {});
      assert.equal(svc.getCircuitBreaker('db', 'query').getState(), 'OPEN');
      assert.equal(await row.textContent(), 'CLOSED', 'not before the refresh');
      await refresh();
      assert.equal(await row.getAttribute('data-state'), 'OPEN');
      assert.equal(await page.locator('tripwire-dashboard [data-overall]').textContent(), 'degraded');
      await shot('open-row');
    });

    await t.test('clicking force-open and reset changes the real service', async () => {
      const row = page.locator('tripwire-dashboard [data-breaker="db:write"]');
      await row.getByRole('button', { name: 'Force open' }).click();
      await until(() => svc.getCircuitBreaker('db', 'write').getStats().state === 'OPEN', 'db:write forced open');
      await until(async () => (await row.locator('[data-state]').textContent()) === 'FORCED OPEN', 'the row says forced open');
      await shot('forced-open');
      await row.getByRole('button', { name: 'Reset' }).click();
      await until(() => svc.getCircuitBreaker('db', 'write').getState() === 'CLOSED', 'db:write reset');
      await until(async () => (await row.locator('[data-state]').textContent()) === 'CLOSED', 'the row says closed');
    });

    await t.test('a dead letter is retried from the page', async () => {
      let down = true;
      await svc.executeWithCircuitBreaker('mail', 'send', async () => {
        if (down) throw new Error('smtp down');
        return 'sent';
      }, { fallbackOptions: { queue: true }, retryPolicy: { maxAttempts: 1 } }).catch(() => {});
      assert.equal(svc.getDeadLetterQueue().length, 1);
      down = false;
      await refresh();
      const item = page.locator('tripwire-dashboard [data-dead-letter]');
      assert.equal(await item.count(), 1);
      assert.match(await item.textContent(), /smtp down/);
      await shot('dead-letter');
      await item.getByRole('button', { name: 'Retry' }).click();
      await until(() => svc.getDeadLetterQueue().length === 0, 'the dead letter retried');
      await until(async () => (await page.locator('tripwire-dashboard [data-dead-letter]').count()) === 0, 'the page shows it gone');
    });

    await t.test('a saturated bulkhead shows 100 %', async () => {
      let release;
      const running = svc.executeWithCircuitBreaker('slow', 'op', () => new Promise((resolve) => { release = resolve; }));
      await turn();
      await refresh();
      const cell = page.locator('tripwire-dashboard [data-service="slow"] [data-utilisation]');
      assert.equal(await cell.getAttribute('data-utilisation'), '100');
      assert.match(await cell.textContent(), /100 % \(1\/1\)/);
      await shot('bulkhead-full');
      release('done');
      await running;
    });

    await t.test('the uPlot legend does not overlap the chart', async () => {
      const boxes = await page.evaluate(() => {
        const root = document.querySelector('tripwire-dashboard').shadowRoot;
        return [...root.querySelectorAll('[data-chart]')].map((chart) => {
          const plot = chart.querySelector('.u-over, canvas').getBoundingClientRect();
          const legend = chart.querySelector('.u-legend').getBoundingClientRect();
          return { plot: { top: plot.top, bottom: plot.bottom }, legend: { top: legend.top, bottom: legend.bottom } };
        });
      });
      assert.equal(boxes.length, 3, 'three charts');
      for (const { plot, legend } of boxes) assert.ok(legend.top >= plot.bottom - 0.5, `legend ${JSON.stringify(legend)} below plot ${JSON.stringify(plot)}`);
      await shot('charts');
    });

    await t.test('without a token the buttons are disabled and a cross-site POST is refused', async () => {
      await open(false);
      assert.equal(await page.locator('tripwire-dashboard [data-readonly]').count(), 1);
      const buttons = page.locator('tripwire-dashboard button');
      assert.ok((await buttons.count()) > 0);
      for (const b of await buttons.all()) assert.equal(await b.isDisabled(), true);
      await shot('read-only');
      // From another origin: with the token (a CORS preflight the API does not grant)
      // and without (a no-cors POST): neither changes the service.
      await page.goto(`http://127.0.0.1:${other.address().port}/`);
      const outcome = await page.evaluate(async ({ url, token }) => {
        const out = [];
        try {
          const r = await fetch(`${url}/force-open/db`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
          out.push(`status ${r.status}`);
        } catch (e) {
          out.push(`refused: ${e.name}`);
        }
        const opaque = await fetch(`${url}/force-open/db`, { method: 'POST', mode: 'no-cors' });
        out.push(`opaque ${opaque.type}`);
        return out;
      }, { url: server.url, token: TOKEN });
      assert.deepEqual(outcome, ['refused: TypeError', 'opaque opaque']);
      assert.equal(svc.getSystemHealth().services.db.forcedOpen, false, 'the service is unchanged');
      // The browser reports the refused cross-origin fetch on the console: expected here.
      for (let i = problems.length - 1; i >= 0; i--) if (/CORS|Failed to load resource|net::ERR_FAILED|status of 40[13]/.test(problems[i])) problems.splice(i, 1);
    });
  });
});
