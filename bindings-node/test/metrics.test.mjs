// Metrics at scrape time (issue 12): the golden scenarios of tests/vectors/metrics give
// byte-identical text in Node (both formats), promtool accepts Node's exposition, label
// values are escaped and every series is written once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  metricsText, metricsContentType, CircuitBreaker, CircuitBreakerService, ManualClock, circuitBreakerRegistry,
} from 'tripwire';
import { replay } from './service-replay.mjs';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DIR = new URL('../../tests/vectors/metrics/', import.meta.url);
const vectors = readdirSync(DIR).filter((f) => f.endsWith('.json')).sort();

/** Every sample line's series (name and labels), for the uniqueness checks. */
function series(text) {
  return text.split('\n').filter((l) => l !== '' && !l.startsWith('#')).map((l) => l.slice(0, l.lastIndexOf(' ')));
}

function promtool() {
  const bin = `${ROOT}target/tools/promtool`;
  if (!existsSync(bin)) {
    const setup = spawnSync('bash', [`${ROOT}scripts/setup-promtool.sh`], { stdio: ['ignore', 'inherit', 'inherit'] });
    assert.equal(setup.status, 0, 'scripts/setup-promtool.sh');
  }
  return bin;
}

// First, while the process holds nothing else: the registry then holds exactly the
// golden service's breakers (shown once, with their service's labels) and the package's
// default circuitBreakerService is unused (shown not at all).
for (const file of vectors) {
  test(`golden metrics: ${file}`, async () => {
    const vector = JSON.parse(readFileSync(new URL(file, DIR), 'utf8'));
    const svc = await replay(vector);
    const base = file.replace(/\.json$/, '');
    for (const [format, ext] of [['prometheus', 'prom'], ['openmetrics', 'openmetrics']]) {
      const want = readFileSync(new URL(`${base}.${ext}`, DIR), 'utf8').replaceAll('runtime="RUNTIME"', 'runtime="node"');
      assert.equal(metricsText({ format }), want, `${file} as ${format}`);
    }
    assert.equal(metricsText(), metricsText({ format: 'prometheus' }), 'prometheus is the default');
    assert.ok(circuitBreakerRegistry.has('db:query'), 'the service breakers are in the registry too');
    // Keep the service alive until here.
    assert.ok(svc instanceof CircuitBreakerService);
  });
}

test('promtool check metrics accepts the exposition', async () => {
  const clock = new ManualClock(0);
  const b = new CircuitBreaker({ name: 'promtool-standalone', clock, failureThreshold: 1 });
  await b.execute(() => Promise.reject(new Error('x'))).catch(() => {});
  const text = metricsText();
  const run = spawnSync(promtool(), ['check', 'metrics'], { input: text, encoding: 'utf8' });
  assert.equal(run.status, 0, `promtool: ${run.stdout}${run.stderr}`);
});

test('label values are escaped, every series is written once, freed breakers vanish', () => {
  const clock = new ManualClock(0);
  const name = 'we"ird\\name\nλ';
  const b = new CircuitBreaker({ name, clock });
  const svc = new CircuitBreakerService({ clock });
  svc.getCircuitBreaker('pay', 'charge');
  for (const format of ['prometheus', 'openmetrics']) {
    const text = metricsText({ format });
    assert.ok(text.includes('tripwire_circuitbreaker_state{name="we\\"ird\\\\name\\nλ",service="",operation="",state="closed"} 1'), text);
    const all = series(text);
    assert.equal(new Set(all).size, all.length, `${format}: a series is written once`);
    const charge = all.filter((s) => s.startsWith('tripwire_circuitbreaker_state{name="pay:charge",'));
    assert.equal(charge.length, 5, 'in the registry and the service: shown once, as the service\'s');
    assert.ok(charge.every((s) => s.includes('service="pay",operation="charge"')), charge.join('\n'));
  }
  assert.ok(b.name === name);
  circuitBreakerRegistry.remove(name);
  assert.ok(!metricsText().includes('we\\"ird\\\\name\\nλ",service=""'), 'out of the registry: gone');
});

test('format is checked and content types are the core\'s', () => {
  assert.throws(() => metricsText({ format: 'json' }), (e) => e instanceof RangeError && e.message.includes('format'));
  assert.throws(() => metricsText({ format: 1 }), (e) => e instanceof TypeError && e.message.includes('format'));
  assert.throws(() => metricsText('prometheus'), TypeError);
  assert.ok(metricsText({ format: 'openmetrics' }).endsWith('# EOF\n'));
  assert.equal(metricsContentType(), 'text/plain; version=0.0.4; charset=utf-8');
  assert.equal(metricsContentType('openmetrics'), 'application/openmetrics-text; version=1.0.0; charset=utf-8');
});
