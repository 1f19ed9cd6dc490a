// Shared by the Chromium tests: a static server on 127.0.0.1 for bindings-wasm/
// (so /pkg/ and /test/ are reachable) with test endpoints, and a headless
// Debian Chromium driven by playwright-core.
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, normalize, extname, dirname, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');

const types = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.map': 'application/json',
};

/**
 * Starts the server. Endpoints besides static files:
 *   /ok       200 "ok"           /fail   503 "down"
 *   /busy     429                /bad    404
 *   /hang     never answers (the request is recorded as aborted when the client gives up)
 *   POST /report   a page's JSON report (the bench run without DevTools), handed to
 *                  the promise of `nextReport()`
 * Every request to an endpoint is counted in `hits` by path; aborted /hang
 * requests are counted in `aborted`. CORS is open so a second server (another
 * origin) can be called from the page.
 */
export async function startServer() {
  const hits = {};
  const aborted = {};
  const reports = [];
  const waiting = [];
  const server = createServer(async (req, res) => {
    const path = new URL(req.url, 'http://x').pathname;
    res.setHeader('access-control-allow-origin', '*');
    if (path === '/report' && req.method === 'POST') {
      let body = '';
      for await (const chunk of req) body += chunk;
      res.writeHead(204).end();
      const waiter = waiting.shift();
      if (waiter) waiter(body);
      else reports.push(body);
      return;
    }
    const endpoint = (status, body) => {
      hits[path] = (hits[path] ?? 0) + 1;
      res.writeHead(status, { 'content-type': 'text/plain', 'cache-control': 'no-store' });
      res.end(body);
    };
    switch (path) {
      case '/ok': return endpoint(200, 'ok');
      case '/fail': return endpoint(503, 'down');
      case '/busy': return endpoint(429, 'slow down');
      case '/bad': return endpoint(404, 'no such thing');
      case '/hang':
        hits[path] = (hits[path] ?? 0) + 1;
        req.on('close', () => { aborted[path] = (aborted[path] ?? 0) + 1; });
        return; // never answers
    }
    // The shared replay loop (tests/vectors/replay.mjs, imported by test/replay.mjs)
    // is the one file served from outside the package.
    const shared = join(root, '..', 'tests', 'vectors');
    const file = path.startsWith('/tests/vectors/')
      ? normalize(join(root, '..', path))
      : normalize(join(root, path === '/' ? 'test/page.html' : path));
    if (!file.startsWith(root) && !file.startsWith(shared + sep)) {
      res.writeHead(403).end();
      return;
    }
    try {
      const body = await readFile(file);
      const headers = { 'content-type': types[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' };
      if (path === '/test/bench.html') {
        // Cross-origin isolation: performance.now() at 5 µs resolution instead of 100 µs.
        headers['cross-origin-opener-policy'] = 'same-origin';
        headers['cross-origin-embedder-policy'] = 'require-corp';
      }
      res.writeHead(200, headers);
      res.end(body);
    } catch {
      res.writeHead(404).end('not found');
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${server.address().port}`;
  return {
    url,
    hits,
    aborted,
    /** The next report POSTed by a page (its body, as text). */
    nextReport: () => (reports.length ? Promise.resolve(reports.shift()) : new Promise((resolve) => waiting.push(resolve))),
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(resolve);
    }),
  };
}

/** Headless Debian Chromium in a fresh profile (TOOLCHAIN.md: launchPersistentContext). */
export async function launchBrowser() {
  const profile = await mkdtemp(join(tmpdir(), 'tripwire-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run', '--disable-quic'],
  });
  return {
    context,
    close: async () => {
      await context.close();
      await rm(profile, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
    },
  };
}

/**
 * Opens `url` in a headless Chromium with no DevTools connection (a plain process,
 * no playwright): for figures without the inspector's per-Error and per-rejection
 * cost. The page reports by POSTing to the server. Returns `{ close }`.
 */
export async function launchPlainBrowser(url) {
  const profile = await mkdtemp(join(tmpdir(), 'tripwire-chromium-'));
  const child = spawn('/usr/bin/chromium', ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic', `--user-data-dir=${profile}`, url], { stdio: 'ignore' });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  return {
    close: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill();
      await exited;
      await rm(profile, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
    },
  };
}

/**
 * Runs `body(page, servers)` with the servers and the browser started inside one
 * try/finally, so a failed launch never leaves `node --test` hanging on a server.
 * `servers` is [main, other]: two origins. The page is at main's `/` with
 * `window.tripwire` holding the initialised module.
 */
export async function withPage(body) {
  const servers = [];
  let browser;
  try {
    servers.push(await startServer(), await startServer());
    browser = await launchBrowser();
    const page = browser.context.pages()[0] ?? await browser.context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e));
    await page.goto(`${servers[0].url}/`);
    await page.waitForFunction(() => window.tripwireReady !== undefined);
    const ready = await page.evaluate(() => window.tripwireReady);
    if (ready !== true) throw new Error(`the page could not load the package: ${ready}`);
    await body(page, servers);
    if (errors.length) throw errors[0];
  } finally {
    await browser?.close();
    for (const s of servers) await s.close();
  }
}
