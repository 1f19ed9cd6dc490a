// The browser package's types (hand-written: the API is the shared JS facade,
// js/tripwire.js, over the wasm engine). Checked by test/types.test.mjs (tsc --strict).

/** A state name, as every tripwire runtime spells it. */
export type CircuitStateName = 'CLOSED' | 'OPEN' | 'HALF_OPEN';

/**
 * Options of `new CircuitBreaker(name, options)`: the Node package's names and
 * meanings. Durations are milliseconds. Aliases (one spelling per option):
 * `recoveryTimeout` = `resetTimeout` = `retryDelay`, `requestTimeout` = `timeout`,
 * `minimumRequests` = `minimumRequestCount`, `expectedResponseTime` = `slowCallDuration`.
 */
export interface CircuitBreakerOptions {
  /** < 1: failure rate over the window (0.5 = 50 %); ≥ 1: consecutive failures. Default 5. */
  failureThreshold?: number;
  /** Calls in the window before any rule applies. Default 1 (count threshold) or 10 (rate). */
  minimumRequests?: number;
  minimumRequestCount?: number;
  /** How long the circuit stays open, ms. Default 60000. */
  recoveryTimeout?: number;
  resetTimeout?: number;
  retryDelay?: number;
  /** Per-call timeout, ms (default 30000); `false` disables it. */
  requestTimeout?: number | false;
  timeout?: number | false;
  /** Consecutive trial successes that close the circuit. Default 2. */
  successThreshold?: number;
  /** Concurrent trial calls while half-open. Default 1. */
  halfOpenMaxCalls?: number;
  /** Length of the time window, ms. Default 60000. */
  monitoringWindow?: number;
  /** Buckets of the time window. Default 10. */
  windowBuckets?: number;
  /** Use the last N calls as the window instead of a time window. */
  countWindow?: number;
  /** A call slower than this (ms) counts as a failure and as slow. */
  expectedResponseTime?: number;
  slowCallDuration?: number;
  /** Trip when this share of the window's calls is slow (needs expectedResponseTime). */
  slowCallRateThreshold?: number;
  /** Exponential open duration: multiplier per consecutive trip (≥ 1). */
  backoffMultiplier?: number;
  /** Cap of the exponential open duration, ms. */
  maxRecoveryTimeout?: number;
  /** Random extra open time, as a fraction of the open duration (0..1). */
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
   * (only time and `reset()` empty it). Default `false`: half-open and closed start a
   * fresh window.
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
   * Answers refusals, failures and timeouts (not the caller's own abort); receives
   * the error; what it returns (or throws) is the call's result.
   */
  fallback?: (error: unknown) => unknown;
  /** `true`: the error is not the upstream's fault (not counted; still thrown). */
  errorFilter?: (error: unknown) => boolean;
  /** `true`: a returned value counts as a failure (it is still returned). */
  isFailureResult?: (result: unknown) => boolean;
  /** Called on every change of state, with the breaker's name (guardFetch: the origin). */
  onStateChange?: (from: CircuitStateName, to: CircuitStateName, name: string) => void;
  onOpen?: () => void;
  onClose?: () => void;
  onHalfOpen?: () => void;
  /** Milliseconds: a function or an object with `now()`. Default `performance.now()`. */
  clock?: (() => number) | { now(): number; setTimeout?(fn: () => void, ms: number): unknown; clearTimeout?(timer: any): void };
  /** `{ debug, info, warn, error }`: the breaker's log lines. */
  logger?: Logger;
  /** The breaker's name (the first argument of the constructor sets it too). */
  name?: string;
  /** `fetch` only: whether a response counts as a failure. Default: status ≥ 500 or 429. */
  isFailureResponse?: (response: Response) => boolean;
  /** `fetch` only: the fetch to guard. Default `globalThis.fetch`. */
  fetch?: typeof fetch;
}

/** Options of `guardFetch`: the options of every origin's breaker, and the bound. */
export interface GuardFetchOptions extends CircuitBreakerOptions {
  /**
   * Origins kept with a breaker (default 1,000): past it, a new origin evicts an idle
   * one (closed, not forced or disabled, nothing in flight).
   */
  maxOrigins?: number;
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

/**
 * `breaker.stats()` / `getStats()`: counters since construction or the last
 * `reset()`; instants in epoch ms (the clock's ms with a given clock). The Node
 * package's fields.
 */
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
  /** Consecutive failures that a trip does not reset (a success, close() or reset() ends them). */
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
/** What an `evict` event carries: an idle origin's breaker dropped to keep the bound. */
export interface GuardEvictEvent {
  /** The origin. */
  name: string;
  /** Still usable by whoever holds it. */
  breaker: CircuitBreaker;
}
/** `fetch` guarded by one circuit breaker per origin. */
export interface GuardedFetch {
  (input: RequestInfo | URL, init?: RequestInit): Promise<Response>;
  /** The breaker of `origin` (or of any URL's origin), created on first use. */
  breakerFor(origin: string | URL): CircuitBreaker;
  /** Origins kept before idle ones are evicted (`maxOrigins`, default 1,000). */
  readonly capacity: number;
  /** Origins evicted to keep the bound. */
  readonly evictions: number;
  /** Origins with a breaker now. */
  readonly size: number;
  on(type: 'evict', listener: (event: GuardEvictEvent) => void): GuardedFetch;
  once(type: 'evict', listener: (event: GuardEvictEvent) => void): GuardedFetch;
  off(type: 'evict', listener: (event: GuardEvictEvent) => void): GuardedFetch;
}
/** A change of state reported by `record`, `open`, `close`, `reset`, `disable`, `enable`. */
export interface Transition {
  from: CircuitStateName;
  to: CircuitStateName;
}
/** What `execute`'s function receives, as in the Node package. */
export interface CallContext {
  /** Aborted (with the CircuitBreakerTimeoutError) when the call times out. */
  readonly signal: AbortSignal;
}
/** How a call guarded with `acquire()` ended. */
export type CallOutcome = 'success' | 'failure' | 'timeout' | 'ignored' | 'cancelled';

/** A logger: any of these methods. */
export interface Logger {
  debug?(message: string): void;
  info?(message: string): void;
  warn?(message: string): void;
  error?(message: string): void;
}

export declare const CircuitState: Readonly<{ CLOSED: 'CLOSED'; OPEN: 'OPEN'; HALF_OPEN: 'HALF_OPEN' }>;

/** The breaker refused the call (open, or half-open with no free trial). */
export declare class CircuitBreakerError extends Error {
  constructor(message: string, details?: { state?: CircuitStateName; breakerName?: string; code?: string; retryAfter?: number | null });
  state: CircuitStateName;
  breakerName: string;
  code: string;
  /** Whole milliseconds until a call may pass (the `Retry-After`); null while forced open. */
  retryAfter: number | null;
}

/** Raised while OPEN, and while HALF_OPEN with every trial slot taken. */
export declare class CircuitBreakerOpenError extends CircuitBreakerError {
  constructor(breakerName: string, state?: CircuitStateName, retryAfter?: number | null);
}

/** A call ran out of time (not a refusal). */
export declare class CircuitBreakerTimeoutError extends Error {
  constructor(timeout: number, breakerName?: string);
  code: 'ETIMEDOUT';
  timeout: number;
  breakerName: string;
}

/** A clock that moves only when told to, with timers that fire as it moves. */
export declare class ManualClock {
  constructor(start?: number);
  now(): number;
  advance(ms: number): void;
  set(ms: number): void;
  setTimeout(fn: () => void, ms?: number): unknown;
  clearTimeout(timer: unknown): void;
  readonly pendingTimers: number;
}

/** Leave to run one call, from `acquire()`; end it once, with `record(permit, outcome)` or its methods. */
export declare class Permit {
  private constructor();
  /** Whether this is a half-open trial call. */
  readonly trial: boolean;
  /** When it was issued, in ms of the breaker's clock. */
  readonly issuedAt: number;
  /** `OPEN → HALF_OPEN` if this acquire caused it, else null. */
  readonly transition: Transition | null;
  success(): Transition | null;
  failure(error?: unknown): Transition | null;
  timeout(): Transition | null;
  ignore(): Transition | null;
  cancel(): Transition | null;
}

/** The events of a breaker, as the Node package's. */
export interface CircuitBreakerEvents {
  success: [{ responseTime: number; state: CircuitStateName }];
  failure: [{ error: unknown; responseTime: number; state: CircuitStateName }];
  timeout: [{ error: CircuitBreakerTimeoutError; timeout: number }];
  callRejected: [{ error: CircuitBreakerOpenError; state: CircuitStateName }];
  fallback: [{ error: unknown }];
  stateChange: [from: CircuitStateName, to: CircuitStateName];
  circuitOpened: [{ name: string; previousState: CircuitStateName; failureCount: number; nextAttemptTime: number }];
  halfOpen: [{ name: string; previousState: CircuitStateName }];
  circuitClosed: [{ name: string; previousState: CircuitStateName; successCount: number }];
  reset: [{ name: string }];
  disabled: [{ name: string }];
  enabled: [{ name: string }];
}

/**
 * A circuit breaker: `execute` functions or `fetch` under it; read its `state` and
 * `getStats()`; control it with `open()`, `close()`, `reset()`. The same class as the
 * Node package's (one JavaScript facade over both engines).
 */
export declare class CircuitBreaker {
  constructor(name: string, options?: CircuitBreakerOptions, logger?: Logger);
  constructor(options?: CircuitBreakerOptions, logger?: Logger);
  readonly name: string;
  readonly breakerName: string;
  /**
   * Runs `fn` (sync or async) under the breaker. Resolves with its result; rejects
   * with its error, with `CircuitBreakerTimeoutError` after the call timeout, or
   * with `CircuitBreakerOpenError` (or resolves with the fallback's result) while open.
   */
  execute<T>(f: (ctx: CallContext) => T | PromiseLike<T>): Promise<Awaited<T>>;
  /** `fetch` under the breaker; see the README for what counts as a failure. */
  fetch(input: RequestInfo | URL, init?: RequestInit | null): Promise<Response>;
  /** The effective state (HALF_OPEN once the open duration has passed). */
  readonly state: CircuitStateName;
  getState(): CircuitStateName;
  readonly opened: boolean;
  stats(): CircuitBreakerStats;
  /** Windowed statistics (`windowStats: true`), or null. */
  windowStats(): WindowStats | null;
  getStats(): CircuitBreakerStats;
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
  /** A permit, or throws `CircuitBreakerOpenError`. */
  acquire(): Permit;
  /** A permit, or (returned) the `CircuitBreakerOpenError`. */
  tryAcquire(): Permit | CircuitBreakerOpenError;
  /** Ends a permit of this breaker; the transition it caused, if any. */
  record(permit: Permit, outcome: CallOutcome): Transition | undefined;
  on<K extends keyof CircuitBreakerEvents>(type: K, listener: (...args: CircuitBreakerEvents[K]) => void): this;
  once<K extends keyof CircuitBreakerEvents>(type: K, listener: (...args: CircuitBreakerEvents[K]) => void): this;
  off<K extends keyof CircuitBreakerEvents>(type: K, listener: (...args: CircuitBreakerEvents[K]) => void): this;
  listenerCount(type: keyof CircuitBreakerEvents): number;
  /** The whole state as compact bytes (pkg-node/ only: the browser build leaves it out). */
  snapshot(): Uint8Array;
  static restore(name: string, options: CircuitBreakerOptions | undefined, snapshot: Uint8Array): CircuitBreaker;
}

/** Every breaker by name, bounded (`capacity`, default 10,000) by evicting idle ones. */
export declare const circuitBreakerRegistry: {
  capacity: number;
  readonly evictions: number;
  readonly size: number;
  on(type: 'evict', listener: (event: GuardEvictEvent) => void): unknown;
  once(type: 'evict', listener: (event: GuardEvictEvent) => void): unknown;
  off(type: 'evict', listener: (event: GuardEvictEvent) => void): unknown;
  get(name: string): CircuitBreaker | undefined;
  has(name: string): boolean;
  getAll(): CircuitBreaker[];
  getAllStats(): CircuitBreakerStats[];
  resetAll(): void;
  remove(name: string): boolean;
  clear(): void;
};
export declare function createCircuitBreaker(name: string, options?: CircuitBreakerOptions): CircuitBreaker;
export declare function withCircuitBreaker<T>(name: string, fn: (ctx: CallContext) => T | PromiseLike<T>, options?: CircuitBreakerOptions): Promise<Awaited<T>>;
export declare function getAllCircuitBreakerStats(): Record<string, CircuitBreakerStats>;
export declare function guardFetch(options?: GuardFetchOptions): GuardedFetch;
/**
 * Makes `logger` (`console` will do) tripwire's own: every breaker without one of its
 * own logs its transitions (`{ event: 'transition', breaker, from, to, cause }`)
 * through it. `null` turns it off. Returns the previous one.
 */
export declare function setLogger(logger: Logger | null): Logger | null;
export declare function getLogger(): Logger | null;

/** Loads the WebAssembly engine; call (and await) it once before the first breaker. */
export default function init(input?: unknown): Promise<unknown>;
export declare function initSync(module: unknown): unknown;
