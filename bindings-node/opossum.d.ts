// Types of `tripwire/opossum`: opossum 9's CircuitBreaker over tripwire's engine.
// `import CircuitBreaker from 'tripwire/opossum'` or `const CircuitBreaker = require('tripwire/opossum')`.
import { EventEmitter } from 'node:events';

declare class CircuitBreaker<TI extends unknown[] = unknown[], TR = unknown> extends EventEmitter {
  /** Whether `error` was made by the breaker (open, timeout, semaphore, shutdown), not by the action. */
  static isOurError(error: unknown): boolean;
  /** A Status to prime a breaker with (`options.status`). */
  static newStatus(options: CircuitBreaker.StatusOptions): CircuitBreaker.Status;

  constructor(action: ((...args: TI) => TR | Promise<TR>) | TR, options?: CircuitBreaker.Options<TI>);

  /** The options given, with opossum's defaults filled in. */
  readonly options: CircuitBreaker.Options<TI>;
  readonly action: (...args: TI) => TR | Promise<TR>;
  readonly name: string;
  readonly group: string;
  readonly enabled: boolean;
  readonly pendingClose: boolean;
  readonly closed: boolean;
  readonly opened: boolean;
  readonly halfOpen: boolean;
  readonly isShutdown: boolean;
  readonly status: CircuitBreaker.Status;
  readonly stats: CircuitBreaker.Stats;
  readonly warmUp: boolean;
  readonly volumeThreshold: number;
  /** opossum's semaphore as far as it is read: the capacity left. */
  readonly semaphore: { readonly count: number };

  /** Calls the action with `args`; resolves with its result, or the fallback's. */
  fire(...args: TI): Promise<TR>;
  /** As fire(), with `context` as the action's `this`. */
  call(context: unknown, ...args: TI): Promise<TR>;
  /** The function (or breaker) that answers a failed or refused call, given the call's arguments and the error. */
  fallback(func: ((...args: [...TI, Error]) => unknown) | CircuitBreaker<any[], unknown>): this;
  /** Opens the breaker: it half-opens after `resetTimeout`. */
  open(): void;
  close(): void;
  disable(): void;
  enable(): void;
  shutdown(): void;
  clearCache(): void;
  /** Runs `func` now and every `interval` ms (default 5000); a rejection emits healthCheckFailed and opens. */
  healthCheck(func: () => Promise<unknown>, interval?: number): void;
  getSignal(): AbortSignal | undefined;
  getAbortController(): AbortController | undefined;
  toJSON(): { state: CircuitBreaker.State; status: CircuitBreaker.Stats };

  on(event: 'fire', listener: (args: TI) => void): this;
  on(event: 'success', listener: (result: TR, latencyMs: number) => void): this;
  on(event: 'failure' | 'timeout', listener: (error: Error, latencyMs: number, args: TI) => void): this;
  on(event: 'reject', listener: (error: Error) => void): this;
  on(event: 'semaphoreLocked', listener: (error: Error, latencyMs: number) => void): this;
  on(event: 'healthCheckFailed', listener: (error: Error) => void): this;
  on(event: 'fallback', listener: (result: unknown, error: Error) => void): this;
  on(event: 'halfOpen', listener: (resetTimeout: number) => void): this;
  on(event: 'open' | 'close' | 'shutdown' | 'cacheHit' | 'cacheMiss' | 'coalesceCacheHit' | 'coalesceCacheMiss', listener: () => void): this;
  on(event: string | symbol, listener: (...args: any[]) => void): this;
}

declare namespace CircuitBreaker {
  interface CacheTransport {
    get(key: string): unknown;
    set(key: string, value: unknown, expiresAt?: number): void;
    flush(): void;
  }

  interface Options<TI extends unknown[] = unknown[]> {
    /** ms before a call times out (ETIMEDOUT), or false. Default 10000. */
    timeout?: number | false;
    /** Failure percentage above which the breaker opens. Default 50. */
    errorThresholdPercentage?: number;
    /** ms open before a trial call. Default 30000. */
    resetTimeout?: number;
    /** The rolling window, ms. Default 10000. */
    rollingCountTimeout?: number;
    /** Buckets in the window. Default 10. */
    rollingCountBuckets?: number;
    rollingPercentilesEnabled?: boolean;
    /** Calls in the window before the breaker may open. Default 0. */
    volumeThreshold?: number;
    /** Concurrent calls allowed; more are refused (ESEMLOCKED). */
    capacity?: number;
    /** No opening during the first window. Default false. */
    allowWarmUp?: boolean;
    abortController?: AbortController;
    autoRenewAbortController?: boolean;
    enabled?: boolean;
    name?: string;
    group?: string;
    /** `toJSON().state` of another breaker: start in its state. */
    state?: Partial<State>;
    /** A Status (newStatus) or plain counts to start from. */
    status?: Status | Partial<Stats>;
    /** true: the error is not a failure (counted as a success; still rejects; no fallback). */
    errorFilter?: (error: any, ...args: TI) => boolean | void;
    cache?: boolean;
    cacheTTL?: number;
    cacheSize?: number;
    cacheGetKey?: (...args: TI) => string;
    cacheTransport?: CacheTransport;
    coalesce?: boolean;
    coalesceTTL?: number;
    coalesceSize?: number;
    coalesceResetOn?: Array<'error' | 'success' | 'timeout'>;
    enableSnapshots?: boolean;
    /** Accepted; the window is the core's, rotated by time (README). */
    rotateBucketController?: EventEmitter;
    /** Deprecated in opossum: logs its deprecation. */
    maxFailures?: number;
  }

  interface State {
    name: string;
    enabled: boolean;
    closed: boolean;
    open: boolean;
    halfOpen: boolean;
    warmUp: boolean;
    shutdown: boolean;
    lastTimerAt: number | undefined;
  }

  interface Bucket {
    failures: number;
    fallbacks: number;
    successes: number;
    rejects: number;
    fires: number;
    timeouts: number;
    cacheHits: number;
    cacheMisses: number;
    coalesceCacheHits: number;
    coalesceCacheMisses: number;
    semaphoreRejections: number;
    percentiles: { [percentile: number]: number };
    latencyTimes: number[];
  }

  interface WindowBucket extends Bucket {
    isCircuitBreakerOpen: boolean;
  }

  interface Stats extends Bucket {
    latencyMean: number;
  }

  interface StatusOptions {
    rollingCountTimeout?: number;
    rollingCountBuckets?: number;
    rollingPercentilesEnabled?: boolean;
    enableSnapshots?: boolean;
    rotateBucketController?: EventEmitter;
    stats?: Partial<Stats>;
  }

  class Status extends EventEmitter {
    constructor(options?: StatusOptions);
    readonly stats: Stats;
    /** The buckets, newest first. */
    readonly window: WindowBucket[];
    readonly rollingPercentilesEnabled: boolean;
    readonly enableSnapshots: boolean;
    increment(property: keyof Bucket): void;
    open(): void;
    close(): void;
    shutdown(): void;
    on(event: 'snapshot', listener: (stats: Stats) => void): this;
    on(event: string | symbol, listener: (...args: any[]) => void): this;
  }
}

export = CircuitBreaker;
