// Compiled by types.test.mjs with tsc --strict against the generated pkg/*.d.ts:
// the valid uses must compile, and each @ts-expect-error line must be an error.
import init, {
  CircuitBreaker,
  guardFetch,
  setLogger,
  getLogger,
  type CircuitBreakerOptions,
  type CircuitBreakerStats,
  type CircuitStateName,
  type GuardedFetch,
} from '../../pkg/tripwire_wasm.js';

export async function valid(): Promise<void> {
  const previous = setLogger(console);
  setLogger(previous ?? getLogger());
  await init();
  const options: CircuitBreakerOptions = {
    failureThreshold: 0.5,
    minimumRequests: 10,
    resetTimeout: 30_000,
    timeout: false,
    expectedResponseTime: 2000,
    fallback: (error: unknown) => ({ cached: true, why: String(error) }),
    errorFilter: (error: unknown) => error instanceof TypeError,
    onStateChange: (from: CircuitStateName, to: CircuitStateName) => console.log(from, to),
    clock: { now: () => performance.now() },
    isFailureResponse: (response: Response) => response.status >= 500,
  };
  const breaker = new CircuitBreaker('api', options);
  const state: CircuitStateName = breaker.state;
  const stats: CircuitBreakerStats = breaker.stats();
  const rate: number = stats.failureRate;
  const next: number = stats.nextAttemptTime;
  const lastError: string | undefined = stats.lastError;
  const timeout: number | null = stats.options.requestTimeout;
  const response: Response = await breaker.fetch('/api', { method: 'POST' });
  const value: number = await breaker.execute(async () => 42);
  const sync: string = await breaker.execute(() => 'sync');
  const aborted: unknown = await breaker.execute(async ({ signal }) => signal.aborted);
  const plain: Response = await breaker.fetch('/no-init');
  const guarded: GuardedFetch = guardFetch({ failureThreshold: 3 });
  const other: Response = await guarded(new URL('https://example.com/x'));
  const byOrigin: CircuitBreaker = guarded.breakerFor('https://example.com');
  const transition = breaker.open();
  const to: CircuitStateName = transition.to;
  console.log(state, rate, next, lastError, timeout, response, value, sync, aborted, plain, other, byOrigin, to);
}

export function invalid(): void {
  // @ts-expect-error a threshold is a number
  new CircuitBreaker('a', { failureThreshold: '5' });
  // @ts-expect-error misspelled option (excess property)
  new CircuitBreaker('a', { failureTreshold: 5 });
  // @ts-expect-error the state callback takes state names
  new CircuitBreaker('a', { onStateChange: (from: number) => from });
  // @ts-expect-error timeout is a number or false
  new CircuitBreaker('a', { timeout: true });
  // @ts-expect-error the name is a string
  new CircuitBreaker(42);
  // @ts-expect-error not a state name
  const state: 'closed' = new CircuitBreaker('a').state;
  // @ts-expect-error execute resolves with what the function returns
  const wrong: Promise<string> = new CircuitBreaker('a').execute(async () => 42);
  // @ts-expect-error the call context has no such field
  new CircuitBreaker('a').execute(async (ctx) => ctx.nope);
  // @ts-expect-error stats have no such field
  new CircuitBreaker('a').stats().nope;
  console.log(state, wrong);
}
