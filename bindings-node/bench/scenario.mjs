// One benchmark scenario for one library, in its own process; prints one JSON line.
//   node --expose-gc scenario.mjs <tripwire|tripwire-notimeout|cockatiel|cockatiel-timeout|opossum|tripwire-opossum> <scenario>
// Scenarios: success, failure, failure-full (after 10,000 calls in the window),
// reject (open circuit), memory (10,000 breakers), timers (1,000 idle breakers),
// crossing (tripwire only: the cost of the native calls themselves). A per-call
// scenario with the suffix `-gc` (success-gc, failure-gc, failure-full-gc) forces a
// full gc() before every timed loop: the breaker lives in V8's old generation, as
// one made at a service's start-up does. Every loop awaits each call before making
// the next (one request at a time).
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const [lib, scenarioArg] = process.argv.slice(2);
const forceGc = scenarioArg.endsWith('-gc');
const scenario = forceGc ? scenarioArg.slice(0, -3) : scenarioArg;
const NEVER = 4_000_000_000; // a minimum no run reaches: the circuit never trips

function makeFactory() {
  switch (lib) {
    case 'tripwire':
    case 'tripwire-notimeout': {
      const { CircuitBreaker } = require('tripwire');
      const timeout = lib === 'tripwire' ? 30000 : false;
      let n = 0;
      // The registry holds every breaker by name: memory counts it, as users have it.
      const raw = (kind) =>
        new CircuitBreaker(
          kind === 'window'
            ? { name: `b${n++}`, failureThreshold: 0.5, minimumRequests: NEVER, timeout }
            : { name: `b${n++}`, failureThreshold: NEVER, timeout },
        );
      return {
        raw,
        make: (kind) => {
          const breaker = raw(kind);
          return { run: (fn) => breaker.execute(fn), open: () => breaker.open() };
        },
      };
    }
    case 'cockatiel':
    case 'cockatiel-timeout': {
      const { circuitBreaker, handleAll, ConsecutiveBreaker, SamplingBreaker, timeout, TimeoutStrategy, wrap } = require('cockatiel');
      const breaker = (kind) =>
        circuitBreaker(handleAll, {
          halfOpenAfter: 60000,
          breaker:
            kind === 'window'
              ? new SamplingBreaker({ threshold: 0.5, duration: 60000, minimumRps: NEVER })
              : new ConsecutiveBreaker(NEVER),
        });
      return {
        raw: breaker,
        make: (kind) => {
          // Like-for-like with tripwire's default 30 s call timeout: a timeout policy around the breaker.
          const inner = breaker(kind);
          const policy = lib === 'cockatiel' ? inner : wrap(timeout(30000, TimeoutStrategy.Cooperative), inner);
          return { run: (fn) => policy.execute(fn), open: () => inner.isolate() };
        },
      };
    }
    case 'opossum':
    case 'tripwire-opossum': {
      // The same code for both: opossum 9, and tripwire/opossum in its place.
      const CircuitBreaker = require(lib === 'opossum' ? 'opossum' : 'tripwire/opossum');
      const raw = () => new CircuitBreaker((fn) => fn(), { name: `o${opossumNames++}`, timeout: 30000, volumeThreshold: NEVER, resetTimeout: 60000 });
      return {
        raw,
        make: () => {
          const breaker = raw();
          return { run: (fn) => breaker.fire(fn), open: () => breaker.open() };
        },
      };
    }
    default:
      throw new Error(`unknown library ${lib}`);
  }
}

const ok = async () => 1;
const error = new Error('boom');
const boom = async () => {
  throw error;
};

async function timeLoop(n, body) {
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await body();
  return Number(process.hrtime.bigint() - start) / n;
}

async function perOp(n, body, baselineBody) {
  // Warm up, then the median of 5 rounds, minus the same loop without a breaker.
  await timeLoop(Math.min(n, 20000), body);
  await timeLoop(20000, baselineBody);
  const rounds = [];
  const bases = [];
  for (let r = 0; r < 5; r++) {
    if (forceGc) globalThis.gc();
    bases.push(await timeLoop(n, baselineBody));
    if (forceGc) globalThis.gc();
    rounds.push(await timeLoop(n, body));
  }
  const median = (xs) => xs.sort((a, b) => a - b)[xs.length >> 1];
  const total = median(rounds);
  const base = median(bases);
  return { ns: total, baseline: base, overhead: total - base };
}

const catchAll = () => {};

// opossum's failure path grows with the failures it has seen (about 25 µs per call
// after 1,000 failures, 200 µs after 8,000, measured here): run it 50× fewer times.
const failureOps = lib === 'opossum' ? 2_000 : 100_000;
// tripwire/opossum's breakers are registered by name: a name each, as the others.
let opossumNames = 0;

async function main() {
  const factory = makeFactory();
  switch (scenario) {
    case 'success': {
      const b = factory.make('count');
      return perOp(200_000, () => b.run(ok), ok);
    }
    case 'failure': {
      const b = factory.make('window');
      return perOp(failureOps, () => b.run(boom).catch(catchAll), () => boom().catch(catchAll));
    }
    case 'failure-full': {
      const b = factory.make('window');
      for (let i = 0; i < 10_000; i++) await b.run(boom).catch(catchAll);
      return perOp(failureOps, () => b.run(boom).catch(catchAll), () => boom().catch(catchAll));
    }
    case 'reject': {
      const b = factory.make('count');
      b.open();
      return perOp(200_000, () => b.run(ok).catch(catchAll), () => Promise.resolve().catch(catchAll));
    }
    case 'memory': {
      const N = 10_000;
      const keep = [];
      globalThis.gc();
      globalThis.gc();
      const before = process.memoryUsage();
      // The breaker objects alone, as a user holds them (no bench wrapper).
      for (let i = 0; i < N; i++) keep.push(factory.raw('count'));
      globalThis.gc();
      globalThis.gc();
      const after = process.memoryUsage();
      const result = {
        heapPerBreaker: (after.heapUsed - before.heapUsed) / N,
        rssPerBreaker: (after.rss - before.rss) / N,
        kept: keep.length,
      };
      if (lib.startsWith('tripwire')) {
        // The native side alone: core breakers made without their JS objects.
        const native = require('../native.js');
        const ids = [];
        const rss = process.memoryUsage().rss;
        for (let i = 0; i < N; i++) ids.push(native.create({}));
        result.nativeRssPerBreaker = (process.memoryUsage().rss - rss) / N;
        ids.forEach((id) => native.release(id));
      }
      return result;
    }
    case 'timers': {
      const N = 1000;
      const breakers = Array.from({ length: N }, () => factory.make('count'));
      const before = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
      await Promise.all(breakers.map((b) => b.run(ok)));
      await new Promise((r) => setImmediate(r));
      const after = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
      return { timersPerIdleBreaker: (after - before) / N, referencedTimers: after - before };
    }
    case 'crossing': {
      if (!lib.startsWith('tripwire')) return {};
      const native = require('tripwire/package.json') && require('../native.js');
      const id = native.create({ failureThreshold: NEVER });
      const N = 2_000_000;
      const loop = (f) => {
        for (let i = 0; i < 100_000; i++) f();
        const start = process.hrtime.bigint();
        for (let i = 0; i < N; i++) f();
        return Number(process.hrtime.bigint() - start) / N;
      };
      return {
        acquireRecordPair: loop(() => native.recordAt(id, native.acquireAt(id, 5) >> 1, 0, 5)),
        readClock: loop(() => native.readClock()),
        napiRsFunctionNoArgs: loop(() => native.nowMs()),
        napiRsFunctionOneArg: loop(() => native.outstanding(id)),
      };
    }
    default:
      throw new Error(`unknown scenario ${scenario}`);
  }
}

main().then(
  (result) => {
    console.log(JSON.stringify({ lib, scenario: scenarioArg, ...result }));
    process.exit(0);
  },
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
