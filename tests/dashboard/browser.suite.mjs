// The dashboard (<tripwire-dashboard>, served by each runtime's control API at
// /dashboard) in real headless Chromium (issue 12): one suite, driven against the Node
// server (bindings-node/test/dashboard-browser.test.mjs) and the Python server
// (bindings-python/tests/dashboard-browser.test.mjs). Each runner hands over a driver
// of its runtime's service; the page and the assertions are the same. Refreshes are the
// element's refresh(): no real waits, no timing assertions. One screenshot per
// scenario: target/dashboard-<runtime>-*.png.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtemp, rm, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { chromium } = require('playwright-core');
const TARGET = fileURLToPath(new URL('../../target/', import.meta.url));
export const TOKEN = 'dashboard-test-token';

/** Polls `check()` (not a timing assertion: it waits for an effect, bounded). */
async function until(check, what) {
  for (let i = 0; i < 2000; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  assert.fail(`never happened: ${what}`);
}

async function withDashboard(runtime, body, host = undefined) {
  let svc;
  let other;
  let context;
  let profile;
  try {
    svc = await runtime.start(TOKEN, host);
    // A second origin, for the cross-site POST.
    other = http.createServer((req, res) => res.end('<!doctype html><title>elsewhere</title>'));
    await new Promise((resolve) => other.listen(0, '127.0.0.1', resolve));
    profile = await mkdtemp(join(tmpdir(), `tripwire-dashboard-${runtime.name}-`));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: '/usr/bin/chromium',
      headless: true,
      viewport: { width: 1280, height: 1000 },
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    const page = context.pages()[0] ?? (await context.newPage());
    const problems = [];
    page.on('console', (m) => {
      // The browser's own favicon request (not the page's) may 404, as for any API.
      if (m.type() === 'error' && !m.location().url.endsWith('/favicon.ico')) problems.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    await page.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (e) => console.error(`CSP: ${e.violatedDirective} ${e.blockedURI}`));
    });
    const open = async (withToken) => {
      await page.goto(`${svc.url}/dashboard${withToken ? `#token=${TOKEN}` : ''}`);
      await page.waitForSelector('tripwire-dashboard [data-overall]');
    };
    const refresh = () => page.evaluate(() => document.querySelector('tripwire-dashboard').refresh());
    const shot = async (name) => {
      await mkdir(TARGET, { recursive: true });
      await page.screenshot({ path: join(TARGET, `dashboard-${runtime.name}-${name}.png`), fullPage: true });
    };
    await body({ svc, other, page, open, refresh, shot, problems });
    assert.deepEqual(problems, [], 'no console errors, no CSP violations');
  } finally {
    await context?.close();
    if (profile) await rm(profile, { recursive: true, force: true });
    await svc?.close();
    if (other) await new Promise((resolve) => other.close(resolve));
  }
}

/**
 * The suite against one runtime. `runtime`: `{ name, label, start(token, host) }`; `start`
 * serves a service configured as `db` (failureThreshold 2, one attempt) and `slow`
 * (bulkhead of 1, queue of 2) with `token`, bound to `host` (default loopback; its `url`
 * reaches it through 127.0.0.1), and resolves with its driver:
 * `{ url, call(service, operation, fail), state(service, operation) → { state, forced },
 * failMail() → dead letters (one failed `mail:send` queued, the upstream up again),
 * deadLetters(), hold() (one `slow` call running until release()), release(),
 * forced(service) → whether the service is forced open, close() }`.
 */
export function dashboardSuite(runtime) {
  test(`dashboard beyond loopback in Chromium against the ${runtime.label} server: the page loads, the token in its URL reads`, async () => {
    // Off loopback every read needs the token; the page and its files hold no data and
    // are served without it (a browser cannot send a header when it loads a page).
    await withDashboard(runtime, async ({ svc, page, open, refresh }) => {
      await svc.call('db', 'query');
      await open(true);
      const row = page.locator('tripwire-dashboard [data-breaker="db:query"] [data-state]');
      assert.equal(await row.textContent(), 'CLOSED');
      await svc.call('db', 'query', true);
      await svc.call('db', 'query', true);
      await refresh();
      assert.equal(await row.getAttribute('data-state'), 'OPEN');
    }, '0.0.0.0');
  });

  test(`dashboard in Chromium against the ${runtime.label} server`, async (t) => {
    await withDashboard(runtime, async ({ svc, other, page, open, refresh, shot, problems }) => {
      await svc.call('db', 'query');
      await svc.call('db', 'write');
      await open(true);

      await t.test('failures driven through the service move a row to OPEN after the next refresh', async () => {
        const row = page.locator('tripwire-dashboard [data-breaker="db:query"] [data-state]');
        assert.equal(await row.textContent(), 'CLOSED');
        await svc.call('db', 'query', true);
        await svc.call('db', 'query', true);
        assert.equal((await svc.state('db', 'query')).state, 'OPEN');
        assert.equal(await row.textContent(), 'CLOSED', 'not before the refresh');
        await refresh();
        assert.equal(await row.getAttribute('data-state'), 'OPEN');
        assert.equal(await page.locator('tripwire-dashboard [data-overall]').textContent(), 'degraded');
        await shot('open-row');
      });

      await t.test(`clicking force-open and reset changes the real ${runtime.label} service`, async () => {
        const row = page.locator('tripwire-dashboard [data-breaker="db:write"]');
        await row.getByRole('button', { name: 'Force open' }).click();
        await until(async () => (await svc.state('db', 'write')).forced, 'db:write forced open');
        assert.equal((await svc.state('db', 'write')).state, 'OPEN');
        await until(async () => (await row.locator('[data-state]').textContent()) === 'FORCED OPEN', 'the row says forced open');
        await shot('forced-open');
        await row.getByRole('button', { name: 'Reset' }).click();
        await until(async () => (await svc.state('db', 'write')).state === 'CLOSED', 'db:write reset');
        await until(async () => (await row.locator('[data-state]').textContent()) === 'CLOSED', 'the row says closed');
      });

      await t.test('a dead letter is retried from the page', async () => {
        assert.equal(await svc.failMail(), 1);
        await refresh();
        const item = page.locator('tripwire-dashboard [data-dead-letter]');
        assert.equal(await item.count(), 1);
        assert.match(await item.textContent(), /smtp down/);
        await shot('dead-letter');
        await item.getByRole('button', { name: 'Retry' }).click();
        await until(async () => (await svc.deadLetters()) === 0, 'the dead letter retried');
        await until(async () => (await page.locator('tripwire-dashboard [data-dead-letter]').count()) === 0, 'the page shows it gone');
      });

      await t.test('a saturated bulkhead shows 100 %', async () => {
        await svc.hold();
        await refresh();
        const cell = page.locator('tripwire-dashboard [data-service="slow"] [data-utilisation]');
        assert.equal(await cell.getAttribute('data-utilisation'), '100');
        assert.match(await cell.textContent(), /100 % \(1\/1\)/);
        await shot('bulkhead-full');
        await svc.release();
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
        }, { url: svc.url, token: TOKEN });
        assert.deepEqual(outcome, ['refused: TypeError', 'opaque opaque']);
        assert.equal(await svc.forced('db'), false, 'the service is unchanged');
        // The browser reports the refused cross-origin fetch on the console: expected here.
        for (let i = problems.length - 1; i >= 0; i--) if (/CORS|Failed to load resource|net::ERR_FAILED|status of 40[13]/.test(problems[i])) problems.splice(i, 1);
      });
    });
  });
}
