// Issue 10: 1,000,000 distinct service names through one CircuitBreakerService with the
// default maxBreakers (1,000): memory must stay within what 1,000 breakers need, since
// evicted breakers are released at once. Prints one JSON line: RSS and heap growth (MB),
// live breakers, evictions, seconds.
//   node --expose-gc service-memory.mjs [names]
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { CircuitBreakerService } = require('tripwire');

const names = Number(process.argv[2] ?? 1_000_000);
const gc = typeof globalThis.gc === 'function' ? globalThis.gc : () => {};
const mb = (bytes) => Math.round((bytes / 1048576) * 10) / 10;

async function main() {
  const svc = new CircuitBreakerService();
  const ok = async () => 1;
  // Warm up to the cap first: growth is measured past it.
  for (let i = 0; i < 2000; i++) await svc.executeWithCircuitBreaker(`warm-${i}`, 'op', ok);
  gc();
  const before = process.memoryUsage();
  const started = process.hrtime.bigint();
  let peakRss = before.rss;
  for (let i = 0; i < names; i++) {
    await svc.executeWithCircuitBreaker(`tenant-${i}`, 'op', ok);
    // A server turns its event loop between requests (I/O); a loop of resolved promises
    // never does, and FinalizationRegistry callbacks (which free an evicted breaker's
    // native state once its facade is collected) run only on a turn of the loop.
    if ((i & 1023) === 0) await new Promise((resolve) => setImmediate(resolve));
    if ((i & 0xffff) === 0) peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  gc();
  await new Promise((resolve) => setTimeout(resolve, 100));
  gc();
  const after = process.memoryUsage();
  const health = svc.getSystemHealth();
  return {
    names,
    rssGrowthMB: mb(after.rss - before.rss),
    peakRssGrowthMB: mb(Math.max(peakRss, after.rss) - before.rss),
    heapGrowthMB: mb(after.heapUsed - before.heapUsed),
    breakers: health.breakers.count,
    evictions: health.breakers.evictions,
    seconds: Math.round(seconds * 10) / 10,
  };
}

main().then(
  (result) => {
    console.log(JSON.stringify({ scenario: 'service-memory', ...result }));
    process.exit(0);
  },
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
