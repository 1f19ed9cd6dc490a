// make demo-ops's script in its self-stopping mode (TRIPWIRE_DEMO_SECONDS): it prints the
// dashboard URL with the token in the fragment, serves it, and exits on its own.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

test('demo-ops prints the dashboard URL with its token, serves it, and stops by itself', async () => {
  const script = fileURLToPath(new URL('../demo-ops.mjs', import.meta.url));
  const child = spawn(process.execPath, [script], { env: { ...process.env, TRIPWIRE_DEMO_SECONDS: '2' }, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    const url = await new Promise((resolve, reject) => {
      child.stdout.on('data', (chunk) => {
        out += chunk;
        const m = /dashboard: (http:\/\/127\.0\.0\.1:\d+\/api\/circuit-breaker\/dashboard)#token=([\w-]+)/.exec(out);
        if (m) resolve({ page: m[1], token: m[2] });
      });
      child.once('exit', () => reject(new Error(`exited early:\n${out}`)));
    });
    const page = await fetch(url.page);
    assert.equal(page.status, 200);
    const base = url.page.replace(/\/dashboard$/, '');
    const reset = await fetch(`${base}/reset/payments`, { method: 'POST', headers: { authorization: `Bearer ${url.token}` } });
    assert.equal(reset.status, 200, 'the printed token works');
    assert.equal(await exited, 0);
    assert.match(out, /stopped/);
  } finally {
    if (child.exitCode === null) child.kill();
  }
});
