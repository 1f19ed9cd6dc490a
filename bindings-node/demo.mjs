// The main job, live: a flaky local HTTP upstream, `withCircuitBreaker` guarding
// real fetch calls, state changes and fail-fast counts printed as they happen.
//
//   node bindings-node/demo.mjs
//
// The upstream (127.0.0.1 only) answers 200 for a while, then fails (503) for a
// while, then recovers. The breaker opens on the failures, refuses calls without
// touching the upstream while open, lets a trial through after the open duration,
// and closes once the upstream is back. Bounded: 120 calls, 25 ms apart.
import { createServer } from 'node:http';
import { CircuitBreakerOpenError, circuitBreakerRegistry, withCircuitBreaker } from 'tripwire';

const CALLS = 120;
const GAP_MS = 25;
let phase = 'healthy';
let upstreamHits = 0;

const server = createServer((req, res) => {
  upstreamHits++;
  if (phase === 'down') {
    res.writeHead(503).end('unavailable');
  } else {
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
  }
});

const options = { failureThreshold: 3, recoveryTimeout: 500, successThreshold: 2, requestTimeout: 1000 };

async function call(url) {
  return withCircuitBreaker(
    'flaky-upstream',
    async ({ signal }) => {
      const response = await fetch(url, { signal });
      if (!response.ok) throw new Error(`upstream answered ${response.status}`);
      return response.json();
    },
    options,
  );
}

await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${server.address().port}/`;
try {
  const counts = { ok: 0, failed: 0, failedFast: 0 };
  // Created on the first call; subscribe once it exists.
  await call(url).then(() => counts.ok++);
  const breaker = circuitBreakerRegistry.get('flaky-upstream');
  const t0 = Date.now();
  const stamp = () => `${String(Date.now() - t0).padStart(5)} ms`;
  breaker.on('stateChange', (from, to) => console.log(`${stamp()}  state ${from} -> ${to}`));
  for (let i = 1; i < CALLS; i++) {
    if (i === 30) {
      phase = 'down';
      console.log(`${stamp()}  upstream goes down (503)`);
    }
    if (i === 75) {
      phase = 'healthy';
      console.log(`${stamp()}  upstream recovers`);
    }
    try {
      await call(url);
      counts.ok++;
    } catch (error) {
      if (error instanceof CircuitBreakerOpenError) counts.failedFast++;
      else counts.failed++;
    }
    await new Promise((resolve) => setTimeout(resolve, GAP_MS));
  }
  const stats = breaker.getStats();
  console.log(`\n${CALLS} calls: ${counts.ok} ok, ${counts.failed} failed at the upstream, ${counts.failedFast} failed fast (never sent)`);
  console.log(`upstream saw ${upstreamHits} requests; breaker: ${stats.state}, ${stats.rejectedCount} refused, mean latency ${stats.averageResponseTime.toFixed(2)} ms`);
} finally {
  server.close();
}
