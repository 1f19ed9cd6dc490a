// The types of the shared JavaScript facade (js/tripwire.js), declared once for both npm
// packages: `tripwire` (bindings-node/index.d.ts imports this file) and `tripwire-wasm`
// (bindings-wasm/js/tripwire_wasm.d.ts; scripts/build-wasm.sh copies this file beside
// it). Each re-exports these and adds what its runtime has. Checked through both with
// `tsc --strict` (bindings-node/test/types, bindings-wasm/test/types.test.mjs).

/** A state name, as every tripwire runtime spells it. */
export type CircuitStateName = 'CLOSED' | 'OPEN' | 'HALF_OPEN';

/** A source of time in milliseconds; `setTimeout`/`clearTimeout` are used for call timeouts when present. */
export interface Clock {
  now(): number;
  setTimeout?(fn: () => void, ms: number): unknown;
  clearTimeout?(timer: unknown): void;
}

/** A logger: any of these methods (seed 002's). */
export interface Logger {
  debug?(message: string, ...meta: unknown[]): void;
  info?(message: string, ...meta: unknown[]): void;
  warn?(message: string, ...meta: unknown[]): void;
  error?(message: string, ...meta: unknown[]): void;
}

/** What the protected function receives. */
export interface CallContext {
  /** Aborted (with a CircuitBreakerTimeoutError) when the call times out. */
  readonly signal: AbortSignal;
}

/** How a call guarded with `acquire()` ended. */
export type CallOutcome = 'success' | 'failure' | 'timeout' | 'ignored' | 'cancelled';

/**
 * Options, in every spelling the seeds use. Durations are milliseconds. Giving two
 * spellings of one option is an error; bad values throw TypeError/RangeError naming
 * the option as spelled.
 */
export interface CircuitBreakerOptions<T = any> {
  /** Registry name (default `'default'`; the first argument of the constructor sets it too). */
  name?: string;
  /** In (0, 1): a failure rate over the window (0.5 = 50 %); a whole number ≥ 1: consecutive failures. Default 5. */
  failureThreshold?: number;
  /** Calls in the window before any trip rule applies (default 1 with a count, 10 with a rate). */
  minimumRequests?: number;
  /** Alias of `minimumRequests` (seed 003). */
  minimumRequestCount?: number;
  /** Per-call timeout in ms (default 30000); `false` disables it. */
  timeout?: number | false;
  /** Alias of `timeout` (seed 001). */
  requestTimeout?: number | false;
  /** How long the circuit stays open, ms (default 60000). */
  resetTimeout?: number;
  /** Alias of `resetTimeout` (seed 001). */
  recoveryTimeout?: number;
  /** Alias of `resetTimeout` (seed 002). */
  retryDelay?: number;
  /** Trial successes that close a half-open circuit (default 2). */
  successThreshold?: number;
  /** Concurrent trial calls while half-open (default 1). */
  halfOpenMaxCalls?: number;
  /** Length of the time window for rates, ms (default 60000). */
  monitoringWindow?: number;
  /** Buckets of the time window (default 10). */
  windowBuckets?: number;
  /** Use the last N calls as the window instead of a time window. */
  countWindow?: number;
  /** A call slower than this (ms) counts as a failure and as slow (seed 003). */
  expectedResponseTime?: number;
  /** Alias of `expectedResponseTime`. */
  slowCallDuration?: number;
  /** If set (0..1), the slow-call rate alone trips the circuit (needs expectedResponseTime). */
  slowCallRateThreshold?: number;
  /** Exponential open duration: growth per consecutive trip (≥ 1). */
  backoffMultiplier?: number;
  /** Cap of the exponential open duration, ms. */
  maxRecoveryTimeout?: number;
  /** Random extra fraction (0..1) of the open duration, drawn from `seed`. */
  backoffJitter?: number;
  /** Seed of the jitter, for reproducible runs. */
  seed?: number;
  /**
   * The state a new breaker starts in (case, `-` and `_` ignored; default `'CLOSED'`).
   * `'OPEN'` is open as if it had just tripped; `'HALF_OPEN'` admits trials at once.
   */
  initialState?: 'CLOSED' | 'OPEN' | 'HALF_OPEN' | 'closed' | 'open' | 'half_open' | 'half-open' | 'halfOpen';
  /** With `initialState: 'OPEN'`: ms until it half-opens (default: the open duration). */
  openRemaining?: number;
  /**
   * `true`: an ignored outcome (`errorFilter` said so) counts as a success: it closes a
   * half-open circuit and resets the consecutive failures (opossum, pybreaker). Default
   * `false`: it is not counted and a half-open trial slot is handed back.
   */
  ignoredAsSuccess?: boolean;
  /** `true`: a rate threshold trips when the rate is above it (`>`, opossum), not at it (`≥`). */
  strictRateThreshold?: boolean;
  /**
   * `true`: a refused call counts as a call in the window (in the rate's denominator
   * and towards `minimumRequests`), as opossum divides its failures by every `fire`.
   * Refusals happen while open or half-open: with `keepWindow` they weigh on the rate
   * after a recovery. Default `false`: the window holds the calls that ran.
   */
  rejectsInRate?: boolean;
  /**
   * `true`: the window outlives half-open and close, as opossum's rolling window does
   * (only time and `reset()` empty it): a circuit that has just closed still weighs the
   * failures that tripped it. Default `false`: half-open and closed start a fresh window.
   */
  keepWindow?: boolean;
  /**
   * `true`: a timer emits OPEN → HALF_OPEN (`halfOpen`, `stateChange`) when the open
   * duration ends, as opossum does: one timer per open breaker (unref'd in Node), none
   * while closed. Default `false`: the next call reports it, no idle timer.
   */
  halfOpenTimer?: boolean;
  /**
   * `true`: a call that finds every half-open trial slot taken waits for the trial
   * (cockatiel): it runs once the trial closed the circuit, or is refused if the trial
   * reopened it. Default `false`: refused at once. `tryAcquire()` never waits.
   */
  halfOpenWait?: boolean;
  /**
   * `true`: keep windowed statistics (`windowStats()`): per bucket of the time window,
   * successes, failures, rejects, timeouts, fallbacks and latencies (a latency histogram
   * per bucket, about 2.7 KB). Needs a time window (not `countWindow`). Default `false`.
   */
  windowStats?: boolean;
  /**
   * Answers refusals, failures and timeouts (not the caller's own abort); receives the
   * error; what it returns (or throws) is the call's result.
   */
  fallback?: (error: unknown) => T | PromiseLike<T>;
  /** Every change of state, with the breaker's name (guardFetch: the origin). */
  onStateChange?: (from: CircuitStateName, to: CircuitStateName, name: string) => void;
  onOpen?: () => void;
  onClose?: () => void;
  onHalfOpen?: () => void;
  /** `true`: the error is not the upstream's fault (not counted; still thrown). */
  errorFilter?: (error: unknown) => boolean;
  /**
   * `true`: a returned value counts as a failure (it is still returned). Without it, a
   * fetch `Response` with status ≥ 500 or 429 counts as a failure (and still resolves).
   */
  isFailureResult?: (result: unknown) => boolean;
  /** Whether a fetch `Response` counts as a failure (default: status ≥ 500 or 429). */
  isFailureResponse?: (response: Response) => boolean;
  /** `breaker.fetch` only: the fetch to guard (default `globalThis.fetch`). */
  fetch?: typeof fetch;
}

/** The options in force, defaults resolved (durations in ms). */
export interface ResolvedOptions {
  name: string;
  failureThreshold: number;
  minimumRequests: number;
  recoveryTimeout: number;
  requestTimeout: number | null;
  successThreshold: number;
  halfOpenMaxCalls: number;
  monitoringWindow: number | null;
  countWindow: number | null;
  expectedResponseTime: number | null;
  slowCallRateThreshold: number | null;
  ignoredAsSuccess: boolean;
  strictRateThreshold: boolean;
  rejectsInRate: boolean;
  keepWindow: boolean;
  halfOpenTimer: boolean;
  halfOpenWait: boolean;
  windowStats: boolean;
}

/** What one bucket of the time window (or the whole window) counted. */
export interface BucketCounts {
  successes: number;
  failures: number;
  rejects: number;
  timeouts: number;
  fallbacks: number;
}

/** `windowStats()`: the buckets (oldest first) and their sums; durations in ms. */
export interface WindowStats extends BucketCounts {
  bucketWidth: number;
  buckets: BucketCounts[];
  latencyMean: number;
  /** Latency at 0, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.995 and 1 (ms; null without calls). */
  percentiles: Record<number, number | null>;
}

/** Counters since construction or the last reset(); instants in epoch ms (the clock's ms with a custom clock). */
export interface CircuitBreakerStats {
  name: string;
  state: CircuitStateName;
  /** Calls that failed (timeouts included). */
  failureCount: number;
  /** Calls that succeeded. */
  successCount: number;
  /** Calls that ran (successes + failures). */
  totalRequests: number;
  /** Failure rate over the window, 0..1. */
  failureRate: number;
  /** Every call made: ran, ignored or refused. */
  totalCalls: number;
  totalFailures: number;
  totalSuccesses: number;
  totalTimeouts: number;
  /** Calls refused. */
  rejectedCount: number;
  /** Calls ignored (errorFilter) or cancelled (the caller's abort). */
  ignoredCount: number;
  /** Calls slower than expectedResponseTime. */
  slowCallCount: number;
  slowCallRate: number;
  consecutiveFailures: number;
  consecutiveSuccesses: number;
  /** Consecutive failures that a trip does not reset (a success, close() or reset() ends them); the fleet's on a shared breaker. */
  failureStreak: number;
  windowCalls: number;
  windowFailures: number;
  /** Consecutive trips without closing (drives backoff). */
  trips: number;
  /** Mean call duration, ms. */
  averageResponseTime: number;
  latencyP50: number | null;
  latencyP90: number | null;
  latencyP99: number | null;
  lastError: string | undefined;
  lastFailureTime: number | null;
  lastSuccessTime: number | null;
  /** When an open circuit admits a trial, or 0. */
  nextAttemptTime: number;
  forcedOpen: boolean;
  disabled: boolean;
  options: ResolvedOptions;
}

/** A change of state reported by `record`, `open`, `close`, `reset`, `disable`, `enable`. */
export interface Transition {
  from: CircuitStateName;
  to: CircuitStateName;
}

/** A breaker's events (each runtime may add its own). */
export interface CircuitBreakerEvents {
  success: [{ responseTime: number; state: CircuitStateName }];
  failure: [{ error: unknown; responseTime: number; state: CircuitStateName }];
  timeout: [{ error: CircuitBreakerTimeoutError; timeout: number }];
  callRejected: [{ error: CircuitBreakerOpenError; state: CircuitStateName }];
  fallback: [{ error: unknown }];
  stateChange: [from: CircuitStateName, to: CircuitStateName];
  circuitOpened: [{ name: string; previousState: CircuitStateName; failureCount: number; nextAttemptTime: number }];
  circuitClosed: [{ name: string; previousState: CircuitStateName; successCount: number }];
  halfOpen: [{ name: string; previousState: CircuitStateName }];
  reset: [{ name: string }];
  disabled: [{ name: string }];
  enabled: [{ name: string }];
}

/** The breaker refused the call. */
export declare class CircuitBreakerError extends Error {
  constructor(
    message: string,
    details?: { state?: CircuitStateName; breakerName?: string; code?: string; retryAfter?: number | null },
  );
  readonly state: CircuitStateName;
  readonly breakerName: string;
  readonly code: string;
  /** Whole milliseconds until a call may pass (the `Retry-After`); null while forced open. */
  readonly retryAfter: number | null;
}

/** Raised while OPEN, and while HALF_OPEN with every trial slot taken. `code` is `'EOPENBREAKER'`. */
export declare class CircuitBreakerOpenError extends CircuitBreakerError {
  constructor(breakerName: string, state?: CircuitStateName, retryAfter?: number | null);
  readonly name: 'CircuitBreakerOpenError';
}

/** A call ran out of time (`Timeout after <ms>ms`, code `'ETIMEDOUT'`). Not a CircuitBreakerError. */
export declare class CircuitBreakerTimeoutError extends Error {
  constructor(timeout: number, breakerName?: string);
  readonly code: 'ETIMEDOUT';
  readonly timeout: number;
  readonly breakerName: string;
}

/** A clock that moves only when told to; its timers fire as it moves. */
export declare class ManualClock implements Clock {
  constructor(start?: number);
  now(): number;
  advance(ms: number): void;
  set(ms: number): void;
  setTimeout(fn: () => void, ms?: number): unknown;
  clearTimeout(timer: unknown): void;
  readonly pendingTimers: number;
}

/** Leave to run one call (`tryAcquire()` / `acquire()`). End it exactly once. */
export declare class Permit {
  private constructor();
  /** OPEN → HALF_OPEN when this acquire caused it. */
  readonly transition: Transition | null;
  /** Whether this is a half-open trial call. */
  readonly trial: boolean;
  /** When it was issued, in ms of the breaker's clock. */
  readonly issuedAt: number;
  success(): Transition | null;
  failure(error?: unknown): Transition | null;
  timeout(): Transition | null;
  ignore(): Transition | null;
  cancel(): Transition | null;
}

/**
 * What a breaker answers in both packages: merged into each package's `CircuitBreaker`
 * class (which adds its constructor, `execute`, `fetch`, events and snapshots).
 * `Stats`: the package's stats (the Node package's adds the fleet's fields).
 */
export interface CircuitBreakerMethods<Stats = CircuitBreakerStats> {
  readonly name: string;
  /** The name (as the errors' `breakerName`). */
  readonly breakerName: string;
  /** The effective state (HALF_OPEN once the open duration has passed). */
  getState(): CircuitStateName;
  readonly state: CircuitStateName;
  readonly opened: boolean;
  getStats(): Stats;
  /** The same as getStats(). */
  stats(): Stats;
  /** Windowed statistics (`windowStats: true`), or null. */
  windowStats(): WindowStats | null;
  getOptions(): ResolvedOptions;
  /** Opens the circuit until close() or reset() (forced open). */
  open(): Transition;
  /** Opens the circuit as if it had tripped: it half-opens after the open duration. */
  trip(): Transition;
  /** Half-opens the circuit now: the next calls are trials. */
  forceHalfOpen(): Transition;
  close(): Transition;
  reset(): Transition;
  disable(): Transition;
  enable(): Transition;
  /** A permit, or the refusal (returned, not thrown). */
  tryAcquire(): Permit | CircuitBreakerOpenError;
  /** A permit, or throws the CircuitBreakerOpenError. */
  acquire(): Permit;
  /** Ends a permit of this breaker; the transition it caused, if any. */
  record(permit: Permit, outcome: CallOutcome): Transition | undefined;
}

/** What an `evict` event carries: an idle breaker dropped to keep a bound. */
export interface EvictEvent<Breaker> {
  /** Its name (guardFetch: the origin). */
  name: string;
  /** Still usable by whoever holds it; the bounded set just forgot it. */
  breaker: Breaker;
}

/**
 * Breakers kept up to a bound: past `capacity`, a new one evicts an idle one (closed,
 * not forced or disabled, nothing in flight).
 */
export interface BoundedBreakers<Breaker> {
  /** Entries kept before idle ones are evicted. */
  readonly capacity: number;
  /** Entries evicted to keep the bound. */
  readonly evictions: number;
  /** Entries now. */
  readonly size: number;
  on(type: 'evict', listener: (event: EvictEvent<Breaker>) => void): this;
  once(type: 'evict', listener: (event: EvictEvent<Breaker>) => void): this;
  off(type: 'evict', listener: (event: EvictEvent<Breaker>) => void): this;
}

/** Every breaker by name (seed 001), bounded by `capacity` (default 10,000). */
export interface CircuitBreakerRegistry<Breaker, Stats> extends BoundedBreakers<Breaker> {
  /** Names kept before idle ones are evicted (default 10,000); a whole number ≥ 1. */
  capacity: number;
  get(name: string): Breaker | undefined;
  has(name: string): boolean;
  getAll(): Breaker[];
  getAllStats(): Stats[];
  resetAll(): void;
  remove(name: string): boolean;
  clear(): void;
}

/** `fetch` guarded by one circuit breaker per origin (`maxOrigins`, default 1,000). */
export interface GuardedFetch<Breaker> extends BoundedBreakers<Breaker> {
  (input: string | URL | Request, init?: RequestInit): Promise<Response>;
  /** The breaker of `origin` (or of any URL's origin), created on first use. */
  breakerFor(origin: string | URL): Breaker;
}
