// The fleet API's types (issue 13), type-checked with tsc --strict.
import { CircuitBreaker, CircuitBreakerService, RedisStore, createCircuitBreaker, withCircuitBreaker } from 'tripwire';

const store = new RedisStore({ url: 'redis://127.0.0.1:6379', prefix: 'tw', flushInterval: 100, timeout: 100, leaseTtl: 5000, pollInterval: 1000 });
store.on('storeDown', ({ message }) => console.warn(`store down: ${message}`));
store.on('storeUp', () => console.info('store up'));
const breaker = new CircuitBreaker<string>({ name: 'payments', store, failureThreshold: 5 });
const local = createCircuitBreaker('local', { store: null });
const stats = breaker.getStats();
const mode: 'shared' | 'local' | undefined = stats.mode;
const age: number | null | undefined = stats.lastSyncAge;
breaker.on('error', (error) => console.error(error.option));
async function run(): Promise<void> {
  await withCircuitBreaker('inventory', async () => 1, { store });
  await store.close();
}
void run;
void local;
// Every breaker of the service shares; null: local.
const service = new CircuitBreakerService({ store, maxBreakers: 100 });
const localService = new CircuitBreakerService({ store: null });
void service.execute('inventory-api', 'list', async () => [1, 2]);
void localService;
void mode;
void age;
