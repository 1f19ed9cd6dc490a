// The dashboard (<tripwire-dashboard>) in real headless Chromium against the Python
// server (issue 12): tripwire.control.serve() in a Python process
// (dashboard_server.py, steered through JSON lines on its stdin), driven the way
// bindings-node/test/dashboard-browser.test.mjs drives the Node server. Refreshes are
// the element's refresh(): no real waits, no timing assertions. One screenshot per
// scenario: target/dashboard-python-*.png. Run by scripts/test-python.sh with
// TRIPWIRE_PYTHON set to the interpreter that has the package installed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { mkdtemp, rm, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { chromium } = require('playwright-core');
const TARGET = fileURLToPath(new URL('../../target/', import.meta.url));
const SERVER = fileURLToPath(new URL('./dashboard_server.py', import.meta.url));
const PYTHON = process.env.TRIPWIRE_PYTHON || fileURLToPath(new URL('../../target/venv-python/bin/python', import.meta.url));
const TOKEN = 'dashboard-test-token';

/** The Python server: `send(command)` resolves with its reply line, parsed. */
async function startPython() {
  // From a directory outside the checkout: `import tripwire` finds the installed package only.
  const child = spawn(PYTHON, [SERVER, TOKEN], { cwd: tmpdir(), stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  const waiting = [];
  lines.on('line', (line) => waiting.shift()?.resolve(JSON.parse(line)));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.once('exit', (code) => {
    for (const w of waiting.splice(0)) w.reject(new Error(`the Python server exited (${code})`));
  });
  const next = () => new Promise((resolve, reject) => waiting.push({ resolve, reject }));
  const { url } = await next();
  return {
    url,
    send(command) {
      const reply = next();
      child.stdin.write(`${JSON.stringify(command)}\n`);
      return reply;
    },
    async close() {
      child.stdin.end();
      await exited;
    },
  };
}

/** Polls `check()` (not a timing assertion: it waits for an effect, bounded). */
async function until(check, what) {
  for (let i = 0; i < 2000; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  assert.fail(`never happened: ${what}`);
}

async function withDashboard(body) {
  let py;
  let other;
  let context;
  let profile;
  try {
    py = await startPython();
    other = http.createServer((req, res) => res.end('<!doctype html><title>elsewhere</title>'));
    await new Promise((resolve) => other.listen(0, '127.0.0.1', resolve));
    profile = await mkdtemp(join(tmpdir(), 'tripwire-dashboard-py-'));
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
      await page.goto(`${py.url}/dashboard${withToken ? `#token=${TOKEN}` : ''}`);
      await page.waitForSelector('tripwire-dashboard [data-overall]');
    };
    const refresh = () => page.evaluate(() => document.querySelector('tripwire-dashboard').refresh());
    const shot = async (name) => {
      await mkdir(TARGET, { recursive: true });
      await page.screenshot({ path: join(TARGET, `dashboard-python-${name}.png`), fullPage: true });
    };
    await body({ py, other, page, open, refresh, shot, problems });
    assert.deepEqual(problems, [], 'no console errors, no CSP violations');
  } finally {
    await context?.close();
    if (profile) await rm(profile, { recursive: true, force: true });
    await py?.close();
    if (other) await new Promise((resolve) => other.close(resolve));
  }
}

test('dashboard in Chromium against the Python server', async (t) => {
  await withDashboard(async ({ py, other, page, open, refresh, shot, problems }) => {
    await py.send({ op: 'call', service: 'db', operation: 'query' });
    await py.send({ op: 'call', service: 'db', operation: 'write' });
    await open(true);
    const state = async (service, operation) => (await py.send({ op: 'state', service, operation })).state;

    await t.test('failures driven through the service move a row to OPEN after the next refresh', async () => {
      const row = page.locator('tripwire-dashboard [data-breaker="db:query"] [data-state]');
      assert.equal(await row.textContent(), 'CLOSED');
      await py.send({ op: 'call', service: 'db', operation: 'query', fail: true });
      await py.send({ op: 'call', service: 'db', operation: 'query', fail: true });
      assert.equal(await state('db', 'query'), 'OPEN');
      assert.equal(await row.textContent(), 'CLOSED', 'not before the refresh');
      await refresh();
      assert.equal(await row.getAttribute('data-state'), 'OPEN');
      assert.equal(await page.locator('tripwire-dashboard [data-overall]').textContent(), 'degraded');
      await shot('open-row');
    });

    await t.test('clicking force-open and reset changes the real Python service', async () => {
      const row = page.locator('tripwire-dashboard [data-breaker="db:write"]');
      await row.getByRole('button', { name: 'Force open' }).click();
      await until(async () => (await py.send({ op: 'state', service: 'db', operation: 'write' })).forced, 'db:write forced open');
      assert.equal(await state('db', 'write'), 'OPEN');
      await until(async () => (await row.locator('[data-state]').textContent()) === 'FORCED OPEN', 'the row says forced open');
      await shot('forced-open');
      await row.getByRole('button', { name: 'Reset' }).click();
      await until(async () => (await state('db', 'write')) === 'CLOSED', 'db:write reset');
      await until(async () => (await row.locator('[data-state]').textContent()) === 'CLOSED', 'the row says closed');
    });

    await t.test('a dead letter is retried from the page', async () => {
      assert.equal((await py.send({ op: 'mail-fail' })).dead_letters, 1);
      await refresh();
      const item = page.locator('tripwire-dashboard [data-dead-letter]');
      assert.equal(await item.count(), 1);
      assert.match(await item.textContent(), /smtp down/);
      await shot('dead-letter');
      await item.getByRole('button', { name: 'Retry' }).click();
      await until(async () => (await py.send({ op: 'dead-letters' })).dead_letters === 0, 'the dead letter retried');
      await until(async () => (await page.locator('tripwire-dashboard [data-dead-letter]').count()) === 0, 'the page shows it gone');
    });

    await t.test('a saturated bulkhead shows 100 %', async () => {
      await py.send({ op: 'hold' });
      await refresh();
      const cell = page.locator('tripwire-dashboard [data-service="slow"] [data-utilisation]');
      assert.equal(await cell.getAttribute('data-utilisation'), '100');
      assert.match(await cell.textContent(), /100 % \(1\/1\)/);
      await shot('bulkhead-full');
      await py.send({ op: 'release' });
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
      }, { url: py.url, token: TOKEN });
      assert.deepEqual(outcome, ['refused: TypeError', 'opaque opaque']);
      assert.equal((await py.send({ op: 'forced', service: 'db' })).forced, false, 'the service is unchanged');
      for (let i = problems.length - 1; i >= 0; i--) if (/CORS|Failed to load resource|net::ERR_FAILED|status of 40[13]/.test(problems[i])) problems.splice(i, 1);
    });
  });
});
