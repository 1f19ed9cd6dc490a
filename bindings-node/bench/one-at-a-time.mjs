// One request at a time, as a long-running service has it: every contender in one
// process, interleaved round by round; contenders made at start-up and a full gc()
// before each timed loop (they live in V8's old generation); each call awaited before
// the next. Prints one JSON line: per contender, the overhead over the bare call
// (ns per call) in process CPU time (all threads: GC helpers and tripwire's ticking
// clock count; the time other processes hold the CPU does not) and in wall time,
// each round's and the median.
//   node --expose-gc one-at-a-time.mjs <microtask|macrotask> [rounds] [calls] [contender...]
// microtask: the calls back to back (the loop of scenario.mjs's `-gc` rows);
// macrotask: each call in its own turn of the event loop (setImmediate), as a
// request handler runs. Contenders: tripwire (its default 30 s call timeout),
// tripwire-notimeout, cockatiel (its breaker alone, no timeout); service,
// service-notimeout, cockatiel-stack and cockatiel-stack-timeout (one successful call
// through executeWithCircuitBreaker with retry and bulkhead, and cockatiel's
// wrap(retry, circuitBreaker, [timeout(30 s),] bulkhead): service.mjs's setups);
// tripwire-failure, tripwire-failure-full (10,000 successes already in its window) and
// cockatiel-failure: a failing call each (the bare failing call subtracted).
// Default: the three breakers.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const [shape = 'microtask', roundsArg, callsArg, ...picked] = process.argv.slice(2);
if (shape !== 'microtask' && shape !== 'macrotask') throw new Error(`unknown loop shape ${shape}`);
const ROUNDS = Number(roundsArg ?? 15);
const N = Number(callsArg ?? (shape === 'microtask' ? 200_000 : 50_000));
const NEVER = 4_000_000_000;

function breaker(timeout) {
  const { CircuitBreaker } = require('tripwire');
  const b = new CircuitBreaker({ name: `one-at-a-time-${timeout}`, failureThreshold: NEVER, timeout });
  return (fn) => b.execute(fn);
}

function service(timeout) {
  const { CircuitBreakerService } = require('tripwire');
  const svc = new CircuitBreakerService();
  svc.updateServiceConfig('bench', {
    retryPolicy: { maxAttempts: 3, baseDelay: 100, multiplier: 2 },
    bulkhead: { maxConcurrent: 10, queueSize: 100 },
    config: { failureThreshold: 5, ...(timeout ? {} : { timeout: false }) },
  });
  return (fn) => svc.executeWithCircuitBreaker('bench', 'op', fn);
}

function cockatielStack(timed) {
  const c = require('cockatiel');
  const policy = c.wrap(
    c.retry(c.handleAll, { maxAttempts: 2, backoff: new c.ExponentialBackoff({ initialDelay: 100 }) }),
    c.circuitBreaker(c.handleAll, { halfOpenAfter: 60000, breaker: new c.ConsecutiveBreaker(5) }),
    ...(timed ? [c.timeout(30000, c.TimeoutStrategy.Cooperative)] : []),
    c.bulkhead(10, 100),
  );
  return (fn) => policy.execute(fn);
}

function windowed() {
  const { CircuitBreaker } = require('tripwire');
  const b = new CircuitBreaker({ name: 'one-at-a-time-window', failureThreshold: 0.5, minimumRequests: NEVER, timeout: 30000 });
  return (fn) => b.execute(fn);
}

const makers = {
  tripwire: () => breaker(30000),
  'tripwire-failure': () => breaker(30000),
  'tripwire-failure-full': windowed,
  'cockatiel-failure': () => makers.cockatiel(),
  'tripwire-notimeout': () => breaker(false),
  cockatiel: () => {
    const { circuitBreaker, handleAll, ConsecutiveBreaker } = require('cockatiel');
    const b = circuitBreaker(handleAll, { halfOpenAfter: 60000, breaker: new ConsecutiveBreaker(NEVER) });
    return (fn) => b.execute(fn);
  },
  service: () => service(true),
  'service-notimeout': () => service(false),
  'cockatiel-stack': () => cockatielStack(false),
  'cockatiel-stack-timeout': () => cockatielStack(true),
};

const names = picked.length > 0 ? picked : ['tripwire', 'tripwire-notimeout', 'cockatiel'];
for (const name of names) if (!makers[name]) throw new Error(`unknown contender ${name}`);
const ok = async () => 1;
const error = new Error('boom');
const boom = async () => {
  throw error;
};
const catchAll = () => {};
const failing = (run) => () => run(boom).catch(catchAll);
const turn = () => new Promise((resolve) => setImmediate(resolve));

const cpuNs = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) * 1000;
};
const wallNs = () => Number(process.hrtime.bigint());

/** ns per call of `body`: [cpu, wall]. */
async function timeLoop(n, body) {
  const cpu = cpuNs();
  const wall = wallNs();
  if (shape === 'microtask') {
    for (let i = 0; i < n; i++) await body();
  } else {
    for (let i = 0; i < n; i++) {
      await turn();
      await body();
    }
  }
  return [(cpuNs() - cpu) / n, (wallNs() - wall) / n];
}

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

const runs = [];
for (const name of names) {
  const run = makers[name]();
  const fails = name.includes('-failure');
  // The window's 10,000 calls, before any timing.
  if (name.endsWith('-full')) for (let i = 0; i < 10_000; i++) await run(ok);
  runs.push({ name, body: fails ? failing(run) : () => run(ok), bare: fails ? failing((fn) => fn()) : ok, cpu: [], wall: [] });
}
for (const r of runs) {
  await timeLoop(20_000, r.body);
  await timeLoop(20_000, r.bare);
}
for (let round = 0; round < ROUNDS; round++) {
  for (const r of runs) {
    globalThis.gc();
    const base = await timeLoop(N, r.bare);
    globalThis.gc();
    const t = await timeLoop(N, r.body);
    r.cpu.push(Math.round(t[0] - base[0]));
    r.wall.push(Math.round(t[1] - base[1]));
  }
}
const out = { shape };
for (const r of runs) out[r.name] = { cpu: median(r.cpu), wall: median(r.wall), cpuRounds: r.cpu, wallRounds: r.wall };
console.log(JSON.stringify(out));
