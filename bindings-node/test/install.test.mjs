// `npm install <checkout>` in an empty project builds the addon from source (the
// package's install script runs cargo) and both `require('tripwire')` and
// `import ... from 'tripwire'` work there.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const checkout = resolve(fileURLToPath(import.meta.url), '../../..');

test('npm install <checkout> into an empty project, then require and import', { timeout: 600_000 }, () => {
  const project = mkdtempSync(join(tmpdir(), 'tripwire-install-'));
  try {
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
    // A debug build keeps the test lean; the install script runs cargo either way.
    const env = { ...process.env, TRIPWIRE_NODE_PROFILE: 'debug' };
    const npm = spawnSync('npm', ['install', checkout, '--foreground-scripts', '--no-audit', '--no-fund'], {
      cwd: project, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'],
    });
    const log = npm.stdout + npm.stderr;
    assert.equal(npm.status, 0, log);
    assert.match(log, /added 1 package/);
    // The package's install script ran cargo and placed the addon.
    assert.match(log, /tripwire: built bindings-node\/tripwire\.node \(debug\)/);
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
  } finally {
    rmSync(project, { recursive: true, force: true });
  }
});
