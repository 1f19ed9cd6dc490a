// Scraping 10,000 breakers (issue 12): tripwire's metricsText() (one core render of the
// registry) beside prom-client + opossum-prometheus with 10,000 opossum breakers, in
// the same process and run. Each breaker has served a few calls (successes, failures,
// a timeout-free latency spread) so every series has data. Prints the median of the
// rounds in ms and the ratio; goal ≤ 0.25×. Run by scripts/bench-node.sh.
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';

const require = createRequire(import.meta.url);
const tripwire = require('tripwire');
const CircuitBreaker = require('opossum');
const PrometheusMetrics = require('opossum-prometheus');
const client = require('prom-client');

const N = Number(process.env.TRIPWIRE_SCRAPE_BREAKERS || 10000);
const ROUNDS = 15;

const ok = () => Promise.resolve('ok');
const bad = () => Promise.reject(new Error('x'));

async function median(fn) {
  for (let i = 0; i < 3; i++) await fn();
  const times = [];
  for (let i = 0; i < ROUNDS; i++) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return times[ROUNDS >> 1];
}

tripwire.circuitBreakerRegistry.capacity = N + 10;
const ours = [];
for (let i = 0; i < N; i++) {
  const b = new tripwire.CircuitBreaker({ name: `dep-${i}`, timeout: false, failureThreshold: 0.5, minimumRequests: 10 });
  ours.push(b);
  await b.execute(ok);
  await b.execute(bad).catch(() => {});
}
let bytes = 0;
const tw = await median(() => {
  bytes = tripwire.metricsText().length;
});

const registry = new client.Registry();
const circuits = [];
for (let i = 0; i < N; i++) circuits.push(new CircuitBreaker((fail) => (fail ? bad() : ok()), { name: `dep-${i}`, timeout: false }));
// opossum-prometheus counts events as they happen: register first, then call.
const metrics = new PrometheusMetrics({ circuits, registry });
for (const c of circuits) {
  await c.fire(false);
  await c.fire(true).catch(() => {});
}
let theirBytes = 0;
const op = await median(async () => {
  theirBytes = (await registry.metrics()).length;
});
for (const c of circuits) c.shutdown();
void metrics;

console.log(`scrape of ${N} breakers (median of ${ROUNDS}):`);
console.log(`  tripwire metricsText()                 ${tw.toFixed(1).padStart(8)} ms  (${(bytes / 1e6).toFixed(1)} MB of text)`);
console.log(`  opossum-prometheus + prom-client        ${op.toFixed(1).padStart(8)} ms  (${(theirBytes / 1e6).toFixed(1)} MB of text)`);
console.log(`  ratio                                   ${(tw / op).toFixed(2)}×  (goal ≤ 0.25×)`);
console.log(JSON.stringify({ breakers: N, tripwireMs: tw, opossumPrometheusMs: op, ratio: tw / op }));
