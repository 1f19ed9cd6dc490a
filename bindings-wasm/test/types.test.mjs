// The generated .d.ts types the options, stats and states (not `any`): a TypeScript
// file using the API compiles under --strict, and every misuse marked
// @ts-expect-error in it is a type error (tsc fails on an unused expectation).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { root } from './harness.mjs';

test('tsc --strict accepts the valid uses and rejects the misuses', () => {
  const tsc = join(root, 'node_modules/.bin/tsc');
  const result = spawnSync(tsc, [
    '--noEmit', '--strict', '--target', 'es2022', '--module', 'esnext', '--moduleResolution', 'bundler',
    '--lib', 'esnext,dom', '--skipLibCheck', 'false', join(root, 'test/types/usage.ts'),
  ], { encoding: 'utf8' });
  assert.equal(result.status, 0, `tsc failed:\n${result.stdout}${result.stderr}`);
});
