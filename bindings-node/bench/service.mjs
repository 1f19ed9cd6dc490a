// Issue 6's scenario: one successful call through seed 004's executeWithCircuitBreaker
// with retry and bulkhead configured, against cockatiel's wrap(retry, circuitBreaker,
// bulkhead) doing the same job. One library per process; prints one JSON line.
//   node service.mjs <tripwire|tripwire-notimeout|cockatiel|cockatiel-timeout>
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const lib = process.argv[2];

function make() {
  switch (lib) {
    case 'tripwire':
    case 'tripwire-notimeout': {
      const { CircuitBreakerService } = require('tripwire');
      const svc = new CircuitBreakerService();
      svc.updateServiceConfig('bench', {
        // 3 attempts = cockatiel's maxAttempts: 2 retries; 100 ms doubling, as cockatiel's default backoff.
        retryPolicy: { maxAttempts: 3, baseDelay: 100, multiplier: 2 },
        bulkhead: { maxConcurrent: 10, queueSize: 100 },
        config: { failureThreshold: 5, ...(lib === 'tripwire-notimeout' ? { timeout: false } : {}) },
      });
      return (fn) => svc.executeWithCircuitBreaker('bench', 'op', fn);
    }
    case 'cockatiel':
    case 'cockatiel-timeout': {
      const { wrap, retry, circuitBreaker, bulkhead, timeout, TimeoutStrategy, handleAll, ExponentialBackoff, ConsecutiveBreaker } =
        require('cockatiel');
      const policies = [
        retry(handleAll, { maxAttempts: 2, backoff: new ExponentialBackoff({ initialDelay: 100 }) }),
        circuitBreaker(handleAll, { halfOpenAfter: 60000, breaker: new ConsecutiveBreaker(5) }),
        // Like-for-like with tripwire's default 30 s call timeout.
        ...(lib === 'cockatiel-timeout' ? [timeout(30000, TimeoutStrategy.Cooperative)] : []),
        bulkhead(10, 100),
      ];
      const policy = wrap(...policies);
      return (fn) => policy.execute(fn);
    }
    default:
      throw new Error(`unknown library ${lib}`);
  }
}

const ok = async () => 1;

async function timeLoop(n, body) {
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await body();
  return Number(process.hrtime.bigint() - start) / n;
}

async function main() {
  const run = make();
  const body = () => run(ok);
  const N = 100_000;
  await timeLoop(20_000, body);
  await timeLoop(20_000, ok);
  const rounds = [];
  const bases = [];
  for (let r = 0; r < 5; r++) {
    bases.push(await timeLoop(N, ok));
    rounds.push(await timeLoop(N, body));
  }
  const median = (xs) => xs.sort((a, b) => a - b)[xs.length >> 1];
  const ns = median(rounds);
  const baseline = median(bases);
  return { ns, baseline, overhead: ns - baseline };
}

main().then(
  (result) => {
    console.log(JSON.stringify({ lib, scenario: 'service', ...result }));
    process.exit(0);
  },
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
