// Issue 11, item 1: one throwaway breaker per unit of work, one call each. Peak RSS
// over 3,000,000 such breakers (goal: under 300 MB), in two shapes: the event loop
// turning every 1,024 units (a server between requests) and a loop that never yields
// (FinalizationRegistry callbacks, which free a breaker's native state, then run only
// when V8 yields to the embedder). Prints one JSON line (MB, seconds).
//   node churn.mjs [breakers] [turning|tight]
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { CircuitBreaker } = require('tripwire');

const count = Number(process.argv[2] ?? 3_000_000);
const shape = process.argv[3] ?? 'turning';
const mb = (bytes) => Math.round((bytes / 1048576) * 10) / 10;
const ok = async () => 1;

async function main() {
  for (let i = 0; i < 10_000; i++) await new CircuitBreaker('warm').execute(ok);
  const before = process.memoryUsage().rss;
  const started = process.hrtime.bigint();
  let peak = before;
  for (let i = 0; i < count; i++) {
    await new CircuitBreaker('unit-of-work').execute(ok);
    if (shape === 'turning' && (i & 1023) === 0) await new Promise((resolve) => setImmediate(resolve));
    if ((i & 0x3fff) === 0) peak = Math.max(peak, process.memoryUsage().rss);
  }
  const after = process.memoryUsage().rss;
  return {
    breakers: count,
    shape,
    rssBeforeMB: mb(before),
    peakRssMB: mb(Math.max(peak, after)),
    rssAfterMB: mb(after),
    seconds: Math.round(Number(process.hrtime.bigint() - started) / 1e8) / 10,
  };
}

main().then(
  (r) => console.log(JSON.stringify(r)),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
