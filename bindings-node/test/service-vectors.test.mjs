// The service vectors (tests/vectors/service/*.json, format in its README.md) replayed
// through the public CircuitBreakerService API on a ManualClock (service-replay.mjs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { replay } from './service-replay.mjs';

const DIR = new URL('../../tests/vectors/service/', import.meta.url);
const files = readdirSync(DIR).filter((f) => f.endsWith('.json')).sort();

test('there are service vectors', () => {
  assert.ok(files.length >= 30, `${files.length} vectors`);
});

for (const file of files) {
  const vector = JSON.parse(readFileSync(new URL(file, DIR), 'utf8'));
  test(`${file}: ${vector.name}`, () => replay(vector));
}
