// One Node worker of `make demo-fleet` (started by demo-fleet.mjs, which reads its
// stdout): a breaker named DEMO_NAME shared through a RedisStore at DEMO_REDIS, guarding
// fetch calls to the flaky upstream at DEMO_UPSTREAM every 20 ms until stdin closes.
// Prints one JSON line per event: joined, each transition with the mode, then a summary.
import { CircuitBreaker, CircuitBreakerOpenError, RedisStore } from 'tripwire';

const { DEMO_REDIS, DEMO_UPSTREAM, DEMO_NAME, DEMO_LABEL } = process.env;
const say = (message) => process.stdout.write(`${JSON.stringify(message)}\n`);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const store = new RedisStore({ url: DEMO_REDIS });
// The same trip rules in every worker (the fleet compares them; demo-fleet-worker.py's
// are these in seconds).
const breaker = new CircuitBreaker({
  name: DEMO_NAME, failureThreshold: 3, resetTimeout: 1000, successThreshold: 1, halfOpenMaxCalls: 1, timeout: 2000, store,
});
breaker.on('stateChange', (from, to) => say({ event: 'transition', from, to, mode: breaker.getStats().mode }));

let running = true;
process.stdin.on('end', () => { running = false; });
process.stdin.resume();

const counts = { sent: 0, ok: 0, failed: 0, refused: 0, sentWhileOpen: 0 };
while (breaker.getStats().lastSyncAge === null) await sleep(5);
say({ event: 'joined', mode: breaker.getStats().mode });
while (running) {
  try {
    await breaker.execute(async ({ signal }) => {
      // The state this admitted call runs in, as the upstream's tally sees it.
      const state = breaker.getState();
      counts.sent++;
      if (state === 'OPEN') counts.sentWhileOpen++;
      const response = await fetch(DEMO_UPSTREAM, { signal, headers: { 'x-worker': DEMO_LABEL, 'x-state': state } });
      if (!response.ok) throw new Error(`upstream answered ${response.status}`);
      return response.text();
    });
    counts.ok++;
  } catch (error) {
    if (error instanceof CircuitBreakerOpenError) counts.refused++;
    else counts.failed++;
  }
  await sleep(20);
}
say({ event: 'summary', ...counts, state: breaker.getState(), mode: breaker.getStats().mode });
await store.close();
