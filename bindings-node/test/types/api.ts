// The .d.ts itself: inference where it helps, and mistakes it must reject.
import {
  CircuitBreaker,
  CircuitBreakerOpenError,
  CircuitBreakerTimeoutError,
  CircuitState,
  ManualClock,
  Permit,
  allCircuitsOpenAlert,
  circuitBreakerService,
  deadLetterAlert,
  errorRateAlert,
  withCircuitBreaker,
  type CircuitBreakerStats,
} from 'tripwire';

const clock = new ManualClock(0);
const breaker = new CircuitBreaker<number>({ name: 'typed', failureThreshold: 0.5, minimumRequestCount: 10, clock, timeout: false });

async function inference() {
  const n: number = await breaker.execute(async ({ signal }) => (signal.aborted ? 0 : 1));
  const s: string = await breaker.execute(() => 'sync values too');
  const r: { ok: boolean } = await withCircuitBreaker('w', async () => ({ ok: true }));
  const state: 'CLOSED' | 'OPEN' | 'HALF_OPEN' = breaker.getState();
  const stats: CircuitBreakerStats = breaker.getStats();
  const retry: number | null = new CircuitBreakerOpenError('x').retryAfter;
  const code: 'ETIMEDOUT' = new CircuitBreakerTimeoutError(5).code;
  const got = breaker.tryAcquire();
  if (got instanceof Permit) got.success();
  else {
    const refused: CircuitBreakerOpenError = got;
    void refused;
  }
  return [n, s, r, state, stats, retry, code];
}

// @ts-expect-error: a threshold is a number
new CircuitBreaker({ failureThreshold: '5' });
// @ts-expect-error: the timeout may be false, not true
new CircuitBreaker({ timeout: true });
// @ts-expect-error: execute takes a function
breaker.execute(42);
// @ts-expect-error: states are the three strings
const wrong: CircuitState = 'BROKEN';
// @ts-expect-error: stats of an unknown breaker may be undefined
const failureRate: number = circuitBreakerService.getCircuitBreakerStats('a', 'b').failureRate;
// @ts-expect-error: onStateChange receives states
new CircuitBreaker({ onStateChange: (from: number) => from });
breaker.on('stateChange', (from, to) => {
  const a: CircuitState = from;
  const b: CircuitState = to;
  void [a, b];
});

// The alert conditions take the stats' window counts and the breakers' states.
const windowStats: CircuitBreakerStats = breaker.getStats();
const alerts: boolean[] = [
  errorRateAlert(windowStats.windowCalls, windowStats.windowFailures),
  deadLetterAlert(11),
  allCircuitsOpenAlert([breaker.getState()], true),
];
// @ts-expect-error: states are circuit states
allCircuitsOpenAlert([1]);

void [inference, wrong, failureRate, alerts];
