// The from-checkout path: `npm run build` in the checkout (scripts/test-node.sh has
// run it, as a debug build), then `npm install <checkout>` in an empty project links
// the checkout, runs no install script (the package has none), and both
// `require('tripwire')` and `import ... from 'tripwire'` load the addon built there.
// The released packages (no cargo at all) are proven by tests/dist/install.test.mjs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const checkout = resolve(fileURLToPath(import.meta.url), '../../..');

test('npm run build, then npm install <checkout> into an empty project: require and import', { timeout: 600_000 }, () => {
  const project = mkdtempSync(join(tmpdir(), 'tripwire-install-'));
  try {
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
    const env = { ...process.env };
    delete env.TRIPWIRE_NODE_ADDON;
    const npm = spawnSync('npm', ['install', checkout, '--foreground-scripts', '--no-audit', '--no-fund'], {
      cwd: project, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'],
    });
    const log = npm.stdout + npm.stderr;
    assert.equal(npm.status, 0, log);
    assert.match(log, /added \d+ packages?/);
    assert.doesNotMatch(log, /install script|allowScripts|tripwire: built/i, 'nothing ran on install');
    const script = `
      const { CircuitBreaker, CircuitState } = require('tripwire');
      const b = new CircuitBreaker({ name: 'installed', failureThreshold: 1 });
      b.execute(async () => { throw new Error('x'); }).catch(() => console.log(b.getState() === CircuitState.OPEN ? 'cjs-ok' : 'cjs-bad'));
    `;
    assert.equal(execFileSync(process.execPath, ['-e', script], { cwd: project, encoding: 'utf8' }).trim(), 'cjs-ok');
    const esm = `
      import { CircuitBreaker, CircuitState } from 'tripwire';
      const b = new CircuitBreaker({ name: 'installed-esm' });
      console.log((await b.execute(async () => 41 + 1)) === 42 && b.getState() === CircuitState.CLOSED ? 'esm-ok' : 'esm-bad');
    `;
    writeFileSync(join(project, 'main.mjs'), esm);
    assert.equal(execFileSync(process.execPath, ['main.mjs'], { cwd: project, encoding: 'utf8' }).trim(), 'esm-ok');
    // tripwire/opossum, both ways: opossum's class, the same one.
    const opossum = `
      import CircuitBreaker from 'tripwire/opossum';
      import { createRequire } from 'node:module';
      const same = createRequire(import.meta.url)('tripwire/opossum') === CircuitBreaker;
      const b = new CircuitBreaker(async (x) => x * 2);
      console.log(same && (await b.fire(21)) === 42 && b.closed ? 'opossum-ok' : 'opossum-bad');
      b.shutdown();
    `;
    writeFileSync(join(project, 'opossum.mjs'), opossum);
    assert.equal(execFileSync(process.execPath, ['opossum.mjs'], { cwd: project, encoding: 'utf8' }).trim(), 'opossum-ok');
  } finally {
    rmSync(project, { recursive: true, force: true });
  }
});
