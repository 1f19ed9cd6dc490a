// An opossum 9 user's code, with only the import changed: checked by tsc --strict.
import CircuitBreaker from 'tripwire/opossum';

interface User {
  id: number;
  name: string;
}

async function fetchUser(id: number): Promise<User> {
  return { id, name: `user ${id}` };
}

const breaker = new CircuitBreaker(fetchUser, {
  timeout: 3000,
  errorThresholdPercentage: 50,
  resetTimeout: 30000,
  rollingCountTimeout: 10000,
  rollingCountBuckets: 10,
  volumeThreshold: 5,
  capacity: 10,
  allowWarmUp: true,
  abortController: new AbortController(),
  name: 'users',
  group: 'api',
  cache: true,
  cacheTTL: 1000,
  cacheGetKey: (id) => String(id),
  coalesce: true,
  coalesceTTL: 500,
  coalesceResetOn: ['error', 'timeout'],
  errorFilter: (err: { statusCode?: number }, id) => err.statusCode === 404 && id > 0,
});

breaker.fallback((id, error) => ({ id, name: `unknown (${error.message})` }));
breaker.on('success', (result, latency) => console.log(result.name, latency));
breaker.on('failure', (error, latency, args) => console.log(error.message, latency, args[0]));
breaker.on('halfOpen', (resetTimeout) => console.log(resetTimeout + 1));
breaker.on('open', () => console.log('open'));
breaker.status.on('snapshot', (stats) => console.log(stats.fires, stats.percentiles[0.99], stats.latencyMean));

const user: User = await breaker.fire(1);
console.log(user.name, breaker.opened, breaker.closed, breaker.halfOpen, breaker.pendingClose, breaker.enabled, breaker.warmUp);
const viaCall: User = await breaker.call({ lunch: 'sushi' }, 2);
console.log(viaCall.id);

const stats: CircuitBreaker.Stats = breaker.stats;
const open: boolean = breaker.status.window[0].isCircuitBreakerOpen;
console.log(stats.failures + stats.successes + stats.rejects + stats.timeouts + stats.fallbacks, open);

try {
  await breaker.fire(-1);
} catch (error) {
  if (CircuitBreaker.isOurError(error)) console.log((error as Error & { code: string }).code);
}

const saved = breaker.toJSON();
const restored = new CircuitBreaker(fetchUser, { state: saved.state, status: CircuitBreaker.newStatus({ stats: saved.status }) });
restored.healthCheck(async () => undefined, 5000);
restored.open();
restored.close();
restored.disable();
restored.enable();
restored.clearCache();
console.log(restored.semaphore.count, restored.getSignal()?.aborted, restored.getAbortController(), restored.volumeThreshold, restored.group);
restored.shutdown();
breaker.shutdown();

// A breaker over a value, and one falling back to another breaker.
const constant = new CircuitBreaker('foobar');
const chained = new CircuitBreaker(fetchUser).fallback(new CircuitBreaker(fetchUser));
console.log(await constant.fire(), chained.name);
