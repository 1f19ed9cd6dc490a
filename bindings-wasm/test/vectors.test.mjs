// Replays every conformance vector (tests/vectors/*.json) through the wasm build
// loaded in Node from pkg-node/ (wasm-bindgen --target nodejs, with snapshots);
// the replay itself is replay.mjs, which browser.test.mjs also runs in Chromium.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { root } from './harness.mjs';
import { replay } from './replay.mjs';

const api = createRequire(import.meta.url)(join(root, 'pkg-node/tripwire_wasm.js'));
const dir = process.env.TRIPWIRE_VECTORS_DIR ?? join(root, '../tests/vectors');
const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();

test('there are vectors to replay', () => {
  assert.ok(files.length > 0, `no vectors in ${dir}`);
});

for (const file of files) {
  const vector = JSON.parse(readFileSync(join(dir, file), 'utf8'));
  test(`${file}: ${vector.name}`, () => replay(api, vector));
}
