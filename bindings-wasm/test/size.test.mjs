// The browser package's size, as a page loads it: every file of pkg/ that a page
// fetches (the entry, the facade, the wasm-bindgen glue and the .wasm), each gzipped
// at level 9, must total at most 40 KB (40,000 bytes: issues 11 and 14; BENCHMARKS.md,
// "Size"). A size, not a timing: it is exact for a given build. Needs the release
// build (scripts/test-wasm.sh makes it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LOADED, loadedSizes } from '../../scripts/browser-size.mjs';

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..', 'pkg');
const LIMIT = 40_000;

test(`the browser package is at most ${LIMIT} bytes gzipped (release build)`, () => {
  const manifest = JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8'));
  for (const file of LOADED) assert.ok(manifest.files.includes(file), `${file} is shipped`);
  // Every shipped file a page can load is counted (the .d.ts files are for editors).
  const loadable = manifest.files.filter((f) => !f.endsWith('.d.ts'));
  assert.deepEqual([...loadable].sort(), [...LOADED].sort(), 'a new shipped file must be counted here');
  const sizes = loadedSizes(pkg);
  const total = sizes.reduce((sum, s) => sum + s.gzip, 0);
  const table = sizes.map((s) => `${s.file} ${s.raw} B, ${s.gzip} B gzipped`).join('; ');
  // A debug build is far larger and unminified: say so rather than report a regression.
  const wasm = sizes.find((s) => s.file === 'engine_bg.wasm');
  assert.ok(wasm.raw < 150_000, `pkg/ holds a debug build (${table}): run scripts/build-wasm.sh --release`);
  assert.ok(total <= LIMIT, `${total} B gzipped > ${LIMIT} B: ${table}`);
  console.log(`browser package: ${total} B gzipped (${table})`);
});
