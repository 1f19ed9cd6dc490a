// make demo-ops: a CircuitBreakerService with some traffic (a flaky dependency that
// trips now and then, a queue of dead letters, a busy bulkhead), the control API on
// loopback with a random token, and the dashboard's URL with the token in its
// fragment. Runs until Ctrl-C, or for TRIPWIRE_DEMO_SECONDS seconds.
import { randomBytes } from 'node:crypto';
import { CircuitBreakerService } from 'tripwire';
import { serve } from 'tripwire/control';

const seconds = process.env.TRIPWIRE_DEMO_SECONDS === undefined ? null : Number(process.env.TRIPWIRE_DEMO_SECONDS);
if (seconds !== null && !(seconds > 0)) throw new RangeError('TRIPWIRE_DEMO_SECONDS must be a positive number');

const service = new CircuitBreakerService({ deadLetterQueueSize: 50 });
service.updateServiceConfig('payments', { config: { failureThreshold: 0.5, minimumRequests: 10, resetTimeout: 5000 }, retryPolicy: { maxAttempts: 2, baseDelay: 50 } });
service.updateServiceConfig('search', { bulkhead: { maxConcurrent: 4, queueSize: 8 } });

const token = randomBytes(18).toString('base64url');
const ops = await serve({ service, token });
ops.on('control', (e) => console.log(`control: ${e.action} ${e.service ?? ''}${e.operation ? `/${e.operation}` : ''} → ${e.status}`));
console.log(`tripwire demo-ops: the control API is at ${ops.url}`);
console.log(`dashboard: ${ops.url}/dashboard#token=${token}`);
console.log(`metrics:   ${ops.url}/metrics`);
console.log(seconds === null ? 'Ctrl-C to stop.' : `stopping after ${seconds} s.`);

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
let outage = false;
let stopping = false;
const traffic = async () => {
  let n = 0;
  while (!stopping) {
    n += 1;
    if (n % 200 === 0) outage = !outage;
    const fail = outage ? Math.random() < 0.8 : Math.random() < 0.05;
    service.executeWithCircuitBreaker('payments', 'charge', async () => {
      await sleep(5 + Math.random() * 20);
      if (fail) throw Object.assign(new Error('upstream 503'), { status: 503 });
      return 'ok';
    }, { fallbackOptions: { queue: n % 10 === 0 } }).catch(() => {});
    service.executeWithCircuitBreaker('search', 'query', () => sleep(20 + Math.random() * 60)).catch(() => {});
    await sleep(25);
  }
};
const running = traffic();

const stop = async () => {
  if (stopping) return;
  stopping = true;
  await running;
  await ops.close();
  console.log('tripwire demo-ops: stopped');
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
if (seconds !== null) setTimeout(stop, seconds * 1000);
