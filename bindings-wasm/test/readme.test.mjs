// Every code block of bindings-wasm/README.md runs, or is marked as not runnable,
// by its fence:
//   html   a page: served at / of a local server on 127.0.0.1 beside pkg/ (the
//          browser build) and the endpoints the examples call, then opened in
//          headless Chromium; it must log the breaker's state to the console with
//          no uncaught error, within a time limit
//   sh     shell commands, never run
// Any other fence fails the test: nothing is skipped silently.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { extname, join, normalize, sep } from 'node:path';
import { launchBrowser, root } from './harness.mjs';

const README = join(root, 'README.md');
const ALLOWED = ['html', 'sh'];
const LIMIT_MS = 20_000;
const ITEMS = [{ name: 'tea' }, { name: 'scones' }];

/** The fenced blocks: `{ info, line, code }`, `line` being the README line of the fence. */
function fencedBlocks(text) {
  const blocks = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^(`{3,})(.*)$/.exec(lines[i]);
    if (!open) continue;
    const line = i + 1;
    const body = [];
    for (i++; i < lines.length && lines[i] !== open[1]; i++) body.push(lines[i]);
    if (i === lines.length) throw new Error(`bindings-wasm/README.md:${line}: unclosed code fence`);
    blocks.push({ info: open[2].trim(), line, code: body.join('\n') + '\n' });
  }
  return blocks;
}

const blocks = fencedBlocks(readFileSync(README, 'utf8'));

test('bindings-wasm/README.md: every fence is one this test knows', () => {
  for (const { info, line } of blocks) {
    assert.ok(ALLOWED.includes(info), `bindings-wasm/README.md:${line}: fence \`\`\`${info}: use \`\`\`html (run) or \`\`\`sh (not run)`);
  }
  assert.ok(blocks.some((b) => b.info === 'html'), 'an html example');
});

const types = { '.js': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json' };

/** The page at `/`, pkg/ at `/pkg/`, and `/api/items`; every request counted. */
async function serve(page) {
  const hits = {};
  const server = createServer(async (req, res) => {
    const path = new URL(req.url, 'http://x').pathname;
    hits[path] = (hits[path] ?? 0) + 1;
    if (path === '/') return res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(page);
    if (path === '/api/items') return res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(ITEMS));
    const file = normalize(join(root, path));
    if (!path.startsWith('/pkg/') || !file.startsWith(join(root, 'pkg') + sep)) return res.writeHead(404).end();
    try {
      const body = await readFile(file);
      res.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream' }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}/`,
    hits,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(resolve);
    }),
  };
}

for (const { info, line, code } of blocks.filter((b) => b.info === 'html')) {
  test(`bindings-wasm/README.md:${line} (${info}) runs in Chromium`, { timeout: 60_000 }, async () => {
    const where = `bindings-wasm/README.md:${line}`;
    let server;
    let browser;
    try {
      server = await serve(`<!doctype html>\n<meta charset="utf-8">\n<title>${where}</title>\n${code}`);
      browser = await launchBrowser();
      const page = browser.context.pages()[0] ?? await browser.context.newPage();
      const logs = [];
      const errors = [];
      let logged;
      const state = new Promise((resolve) => { logged = resolve; });
      page.on('console', (message) => {
        logs.push(`${message.type()}: ${message.text()}`);
        if (/^(CLOSED|OPEN|HALF_OPEN)$/.test(message.text())) logged(message.text());
      });
      page.on('pageerror', (error) => {
        errors.push(error);
        logged(null);
      });
      await page.goto(server.url);
      let timer;
      const limit = new Promise((resolve) => { timer = setTimeout(() => resolve('timed out'), LIMIT_MS); });
      const result = await Promise.race([state, limit]);
      clearTimeout(timer);
      if (errors.length) throw Object.assign(new Error(`${where}: ${errors[0].message}`), { cause: errors[0] });
      assert.notEqual(result, 'timed out', `${where}: no state logged within ${LIMIT_MS} ms\n${logs.join('\n')}`);
      if (code.includes("'/api/items'")) {
        // The guarded-fetch page: one request, the items rendered, the breaker closed.
        assert.equal(result, 'CLOSED', `${where}: the API answered, so the breaker stays closed`);
        assert.equal(server.hits['/api/items'], 1);
        assert.deepEqual(await page.locator('#items li').allTextContents(), ITEMS.map((i) => i.name));
      }
    } finally {
      await browser?.close();
      await server?.close();
    }
  });
}
