// tripwire/opossum beside opossum 9 in ONE process, interleaved: the awaited success
// of fire() (30 s timeout, a breaker that never trips), bare call subtracted; and
// tripwire's own execute() with the same timeout, the floor under tripwire/opossum.
// A first round warms up and is not counted.
//   node --expose-gc bindings-node/bench/opossum-same.mjs [rounds=7] [calls=100000]
// Measured in CPU time (process.cpuUsage), which a loaded machine distorts less than
// wall time (time descheduled is not counted). Each loop starts from a collected heap
// and pays for collecting its own garbage (a full gc() after it, timed): otherwise one
// library's garbage is collected, and charged, during the next library's loop.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const Opossum = require('opossum');
const Tripwire = require('tripwire/opossum');
const { CircuitBreaker: Engine } = require('tripwire');
const [rounds = 7, calls = 100_000] = process.argv.slice(2).map(Number);
if (typeof globalThis.gc !== 'function') throw new Error('run with node --expose-gc');
const NEVER = 4_000_000_000;
const ok = async () => 1;
const make = (CircuitBreaker) => new CircuitBreaker((fn) => fn(), { timeout: 30000, volumeThreshold: NEVER, resetTimeout: 60000 });

async function loop(run) {
  globalThis.gc();
  const start = process.cpuUsage();
  for (let i = 0; i < calls; i++) await run(ok);
  globalThis.gc();
  const used = process.cpuUsage(start);
  return ((used.user + used.system) * 1000) / calls;
}

const opossum = make(Opossum);
const tripwire = make(Tripwire);
const engine = new Engine({ name: 'opossum-same', failureThreshold: NEVER, timeout: 30000 });
const contenders = {
  bare: (fn) => fn(),
  opossum: (fn) => opossum.fire(fn),
  tripwire: (fn) => tripwire.fire(fn),
  execute: (fn) => engine.execute(fn),
};
const seen = { bare: [], opossum: [], tripwire: [], execute: [] };
// One round first, not counted: in it V8 is still compiling the libraries' code (the
// first round's ratio stood apart in every run, 0.27-0.48 against 0.20-0.26 after).
for (const run of Object.values(contenders)) await loop(run);
for (let r = 0; r < rounds; r++) {
  for (const [name, run] of Object.entries(contenders)) seen[name].push(await loop(run));
}
const median = (xs) => xs.slice().sort((a, b) => a - b)[xs.length >> 1];
const ratios = seen.tripwire.map((t, i) => (t - seen.bare[i]) / (seen.opossum[i] - seen.bare[i]));
console.log(JSON.stringify({
  bareNs: Math.round(median(seen.bare)),
  opossumNs: Math.round(median(seen.opossum) - median(seen.bare)),
  tripwireOpossumNs: Math.round(median(seen.tripwire) - median(seen.bare)),
  executeNs: Math.round(median(seen.execute) - median(seen.bare)),
  ratio: Number(median(ratios).toFixed(2)),
  perRound: ratios.map((x) => Number(x.toFixed(2))),
}));
opossum.shutdown();
tripwire.shutdown();
