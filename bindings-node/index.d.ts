// Types of the npm package `tripwire` (hand-maintained; checked by
// bindings-node/test/types with `tsc --noEmit --strict`).
/// <reference types="node" />
import { EventEmitter } from 'node:events';
import type {
  CircuitBreakerEvents as SharedEvents,
  CircuitBreakerOptions as SharedOptions,
  CircuitBreakerStats as SharedStats,
  CircuitBreakerMethods,
  CircuitBreakerRegistry,
  EvictEvent,
  GuardedFetch as SharedGuardedFetch,
  Clock,
  Logger,
  CallContext,
} from '../js/tripwire-types.js';

// The facade's shared types and classes, declared once for this package and the
// browser package (js/tripwire-types.d.ts); the ones declared here too extend them.
export * from '../js/tripwire-types.js';

/** The three states, as the strings every runtime reports. */
export declare const CircuitState: {
  readonly CLOSED: 'CLOSED';
  readonly OPEN: 'OPEN';
  readonly HALF_OPEN: 'HALF_OPEN';
};
export type CircuitState = (typeof CircuitState)[keyof typeof CircuitState];

/**
 * Options, in every spelling the seeds use (the shared ones, js/tripwire-types.d.ts),
 * and Node's own.
 */
export interface CircuitBreakerOptions<T = any> extends SharedOptions<T> {
  /**
   * Opt-in OpenTelemetry tracing through `@opentelemetry/api` (an optional peer,
   * loaded only when set): `'events'` adds rejections and transitions as events on the
   * active span; `'spans'` also runs each guarded call in a span of its own. Off by
   * default (a span costs more than the whole guarded call).
   */
  tracing?: 'events' | 'spans' | false | null;
  /** The clock (ms); a ManualClock makes tests sleep-free. Not with `store`. */
  clock?: Clock;
  /**
   * Share this breaker's state with every process using the same Redis and name (Node
   * only). Default: the store of `TRIPWIRE_STORE_URL` when set (and no `clock`); `null`:
   * local even then.
   */
  store?: RedisStore | null;
}

/** `new RedisStore(options)`: durations in milliseconds. */
export interface RedisStoreOptions {
  /** `redis://[user[:password]@]host[:port][/db]`, `valkey://…` or `unix:///path` (no TLS). */
  url: string;
  /** Key prefix (default `tw`). */
  prefix?: string;
  /** How often pending outcomes are flushed (default 100; 0: after every outcome). */
  flushInterval?: number;
  /** Every store operation's timeout, no retry (default 100). */
  timeout?: number;
  /** A half-open trial's lease (default: the call timeout + 1 s, 31 s without one). */
  leaseTtl?: number;
  /** The jittered re-read of the fleet's state (default 1000). */
  pollInterval?: number;
  /**
   * Whether a breaker compares its trip rules with the fleet's when it joins (default
   * `true`: one whose rules differ decides locally and emits an `error` naming the
   * option). `false`: every breaker joins and applies its own rules to the fleet's counts.
   */
  checkRules?: boolean;
}

export interface RedisStoreEvents {
  /** The first breaker of this process went to local mode (one per outage). */
  storeDown: [{ message: string }];
  /** Every breaker shares again. */
  storeUp: [{}];
}

/** A process's connection to Redis or Valkey, shared by the breakers made with it. */
export declare class RedisStore extends EventEmitter {
  constructor(options: RedisStoreOptions);
  /** Flushes what is pending and stops the store's threads; the breakers go on alone. */
  close(): Promise<void>;
  on<E extends keyof RedisStoreEvents>(event: E, listener: (...args: RedisStoreEvents[E]) => void): this;
  once<E extends keyof RedisStoreEvents>(event: E, listener: (...args: RedisStoreEvents[E]) => void): this;
}

/** The fleet's lifetime totals at the last sync (a shared breaker's getStats()). */
export interface FleetTotals {
  successes: number;
  failures: number;
  timeouts: number;
  slowCalls: number;
  rejected: number;
  ignored: number;
}

/** Counters since construction or the last reset(); a shared breaker's fleet fields too. */
export interface CircuitBreakerStats extends SharedStats {
  /** Shared breakers only: `shared`, or `local` while the store is unreachable (or refused this process). */
  mode?: 'shared' | 'local';
  /** Shared breakers only: milliseconds since the last reply from the store, or null. */
  lastSyncAge?: number | null;
  /** Shared breakers only: the fleet's totals at the last sync. */
  fleetTotals?: FleetTotals;
}

/** A breaker's events; a shared breaker's too. */
export interface CircuitBreakerEvents extends SharedEvents {
  /** Shared breakers: this breaker went to local mode / shares again. */
  storeDown: [{ name: string }];
  storeUp: [{ name: string }];
  /** Shared breakers: the fleet's trip rules differ (`code` ERR_TRIPWIRE_FLEET_CONFIG, `option`). */
  error: [Error & { code: string; option: string }];
}

/** A breaker's state, stats and control: the shared declaration (js/tripwire-types.d.ts). */
export interface CircuitBreaker<T = any> extends CircuitBreakerMethods<CircuitBreakerStats> {}

export declare class CircuitBreaker<T = any> extends EventEmitter {
  constructor(options?: CircuitBreakerOptions<T>, logger?: Logger);
  constructor(name: string, options?: CircuitBreakerOptions<T>, logger?: Logger);
  /** Runs `fn` unless the circuit refuses it; its result, or the fallback's answer. */
  execute<R = T>(fn: (ctx: CallContext) => R | PromiseLike<R>): Promise<R>;
  /**
   * `fetch` under the breaker: network errors and timeouts fail, so do responses with
   * status ≥ 500 or 429 (which still resolve); the timeout aborts the request.
   */
  fetch(input: string | URL | Request, init?: RequestInit | null): Promise<Response>;
  /** The whole state as JSON text, for `CircuitBreaker.restore`. */
  snapshot(): string;
  static restore<T = any>(name: string, options: CircuitBreakerOptions<T> | undefined, snapshot: string): CircuitBreaker<T>;
  toJSON(): { name: string; state: CircuitState; options: Record<string, unknown>; snapshot: unknown };
  /**
   * A breaker from `toJSON()` output (warm start). `options` adds what JSON cannot
   * carry (callbacks, clock, logger); the core options come from the JSON, and
   * giving one again under another spelling is a TypeError.
   */
  static fromJSON<T = any>(
    json: string | ReturnType<CircuitBreaker['toJSON']>,
    options?: CircuitBreakerOptions<T> & { logger?: Logger },
  ): CircuitBreaker<T>;

  on<K extends keyof CircuitBreakerEvents>(event: K, listener: (...args: CircuitBreakerEvents[K]) => void): this;
  on(event: string | symbol, listener: (...args: any[]) => void): this;
  once<K extends keyof CircuitBreakerEvents>(event: K, listener: (...args: CircuitBreakerEvents[K]) => void): this;
  once(event: string | symbol, listener: (...args: any[]) => void): this;
}

/** What the registry's `evict` event carries: an idle entry dropped to keep the bound. */
export type RegistryEvictEvent = EvictEvent<CircuitBreaker>;

/**
 * Every breaker by name. Bounded: past `capacity` names (default 10,000), registering
 * a new name evicts an idle entry (closed, not forced, nothing in flight).
 */
export declare const circuitBreakerRegistry: CircuitBreakerRegistry<CircuitBreaker, CircuitBreakerStats>;

/** `fetch` guarded by one breaker per origin (as the browser package's). */
export type GuardedFetch = SharedGuardedFetch<CircuitBreaker<Response>>;

/** One breaker per origin, at most `maxOrigins` (default 1,000; idle ones are evicted). */
export declare function guardFetch(options?: CircuitBreakerOptions<Response> & { maxOrigins?: number }): GuardedFetch;

// ---- tripwire's own logger -----------------------------------------------------------

/** A store (the fleet store) as logStoreEvents() watches it: an emitter of `storeDown` / `storeUp`. */
export interface StoreEventSource {
  name?: string;
  on(event: 'storeDown' | 'storeUp', listener: (details?: { error?: unknown }) => void): unknown;
  off(event: 'storeDown' | 'storeUp', listener: (details?: { error?: unknown }) => void): unknown;
}

/**
 * Makes `logger` tripwire's own (`null`: off): breaker transitions (`{ event:
 * 'transition', breaker, from, to, cause }`), store outages (`storeDown` / `storeUp`, one
 * line per outage) and control-API mutations log through it, unless the breaker,
 * service or control API has a `logger` of its own. `TRIPWIRE_LOG=1` sets the JSON
 * `logger` at start-up. Returns the previous one.
 */
export declare function setLogger(logger: Logger | null): Logger | null;
/** The logger of setLogger() or TRIPWIRE_LOG, or null. */
export declare function getLogger(): Logger | null;
/**
 * Logs a store's `storeDown` / `storeUp` events, one line per outage; returns a function
 * that stops it. Every `RedisStore` already does it through tripwire's logger.
 */
export declare function logStoreEvents(store: StoreEventSource, logger?: Logger): () => void;

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

export interface StructuredLoggerOptions {
  /** Default: SERVICE_NAME, else AWS_LAMBDA_FUNCTION_NAME, else 'tripwire'. */
  service?: string;
  /** Default: LOG_LEVEL (case-insensitive; 'warning' means warn), else 'info'. */
  level?: LogLevel | Uppercase<LogLevel> | 'warning';
  /** Added to every line. */
  fields?: Record<string, unknown>;
  /** Where lines go (default process.stdout; the console where there is none). */
  destination?: { write(line: string): unknown };
}

/** One JSON object per line: timestamp, level, message, service, then the fields. */
export declare class StructuredLogger implements Logger {
  constructor(options?: StructuredLoggerOptions);
  readonly service: string;
  level: LogLevel;
  isLevelEnabled(level: LogLevel): boolean;
  /** A logger adding `fields` to every line. */
  child(fields: Record<string, unknown>): StructuredLogger;
  /** `fields`: an object (merged), an Error (as `error`), anything else (as `data`). */
  debug(message: string, fields?: unknown): void;
  info(message: string, fields?: unknown): void;
  warn(message: string, fields?: unknown): void;
  error(message: string, fields?: unknown): void;
}

export declare function createLogger(options?: StructuredLoggerOptions): StructuredLogger;
/** The shared JSON logger (made on first use, from LOG_LEVEL and SERVICE_NAME). */
export declare const logger: StructuredLogger;

/** The registered breaker for `name`, or a new one with `options`. */
export declare function createCircuitBreaker<T = any>(name: string, options?: CircuitBreakerOptions<T>): CircuitBreaker<T>;

/** Runs `fn` under the registered breaker for `name` (made with `options` if new). */
export declare function withCircuitBreaker<R>(
  name: string,
  fn: (ctx: CallContext) => R | PromiseLike<R>,
  options?: CircuitBreakerOptions<R>,
): Promise<R>;

/** Seed 000: rate 0.5 over ≥ 10 calls, 30 s timeout, 60 s open, with a fallback. */
export declare function createExternalServiceCircuitBreaker<T = any>(
  name: string,
  fallback?: (error: unknown) => T | PromiseLike<T>,
  options?: CircuitBreakerOptions<T>,
): CircuitBreaker<T>;

/** Stats of every registered breaker, keyed by name (seed 000). */
export declare function getAllCircuitBreakerStats(): Record<string, CircuitBreakerStats>;

/** Seed 002's breaker config (all optional but `name`). */
export type CircuitBreakerConfig = CircuitBreakerOptions & { name: string };

export declare class CircuitBreakerFactory {
  constructor(logger?: Logger);
  create(config: CircuitBreakerConfig): CircuitBreaker;
  get(name: string): CircuitBreaker | undefined;
  getAll(): Map<string, CircuitBreaker>;
  reset(name: string): void;
  resetAll(): void;
}

export interface CircuitBreakerMetric {
  eventType: 'CircuitBreakerMetric';
  timestamp: number;
  breakerName: string;
  state: CircuitState;
  totalCalls: number;
  totalFailures: number;
  totalSuccesses: number;
  totalTimeouts: number;
  rejectedCount: number;
  averageResponseTime: number;
  /** Percent. */
  failureRate: number;
  /** Percent. */
  successRate: number;
}

export interface MetricStreamer {
  streamMetrics(metrics: any[]): unknown;
}

export declare class CircuitBreakerMonitor {
  constructor(factory: CircuitBreakerFactory, metricStreamer: MetricStreamer);
  collectMetrics(): CircuitBreakerMetric[];
  reportMetrics(): Promise<void>;
  /** The timer does not keep the process alive. */
  startMonitoring(intervalMs?: number): void;
  stopMonitoring(): void;
}

/** Seed 003's per-breaker stats. */
export interface ServiceCircuitBreakerStats {
  state: CircuitState;
  failureCount: number;
  successCount: number;
  totalRequests: number;
  lastFailureTime: Date | null;
  lastSuccessTime: Date | null;
  nextAttemptTime: Date | null;
  failureRate: number;
}

// ---- seed 004: the resilience service (bindings-node/resilience.js) ----------------

/** Retry settings (ms). Unknown names are a TypeError; bad values a RangeError naming the option. */
export interface RetryPolicyOptions {
  /** Attempts in all, the first included (default 3; 1 = no retry). */
  maxAttempts?: number;
  /** Delay before the second attempt, ms (default 100). */
  baseDelay?: number;
  /** Cap on any delay, ms (default 30000). */
  maxDelay?: number;
  /** Growth per attempt, ≥ 1 (default 2). */
  multiplier?: number;
  /** Random extra of up to this fraction of each delay, 0..1 (default 0.2). */
  jitter?: number;
  /** Error codes retried besides ECONNRESET, ECONNREFUSED, ETIMEDOUT, TIMEOUT, SQLITE_BUSY, SQLITE_LOCKED. */
  retryableErrors?: string[];
  /** Error codes never retried; overrides every other list. */
  nonRetryableErrors?: string[];
  /** The jitter's random stream (default: from the clock). */
  seed?: number;
}

/** Bulkhead limits of a service. */
export interface BulkheadOptions {
  /** Calls running at once (default 10). */
  maxConcurrent?: number;
  /** Calls waiting, FIFO (default 100; 0 = none). */
  queueSize?: number;
  /** Longest wait for a slot, ms (default none; null removes it). */
  maxQueueWait?: number | null;
}

export interface BulkheadStats {
  running: number;
  queued: number;
  rejected: number;
  admitted: number;
  peakRunning: number;
  /** Mean wait of calls admitted from the queue, ms. */
  meanWait: number;
  maxWait: number;
  saturated: boolean;
  maxConcurrent: number;
  queueSize: number;
  maxQueueWait: number | null;
}

/** The core's retry policy and error classifier. */
export declare class RetryPolicy {
  constructor(options?: RetryPolicyOptions);
  readonly maxAttempts: number;
  readonly baseDelay: number;
  readonly maxDelay: number;
  readonly multiplier: number;
  readonly jitter: number;
  readonly retryableErrors: string[];
  readonly nonRetryableErrors: string[];
  /** Delay (ms) after attempt `attempt` (1-based) failed. */
  delay(attempt: number): number;
  /** Reads `code` (else `cause.code`), `status` / `statusCode` or `response`; never when `circuitOpen`. */
  shouldRetry(error: unknown, circuitOpen?: boolean): boolean;
  toJSON(): Required<Omit<RetryPolicyOptions, 'seed'>>;
}

export type BulkheadEntry = { entry: 'run' } | { entry: 'rejected' } | { entry: 'queued'; ticket: number };

/** The core's bulkhead accounting alone (instants in ms). */
export declare class Bulkhead {
  constructor(options?: BulkheadOptions);
  enter(nowMs: number): BulkheadEntry;
  leave(nowMs: number): number | null;
  abandon(ticket: number): boolean;
  expire(nowMs: number): number[];
  configure(options: BulkheadOptions, nowMs?: number): number[];
  stats(): BulkheadStats;
}

export type HealthStatus = 'healthy' | 'degraded' | 'unhealthy';

/** A report's status from its checks (the core's rule). */
export declare function checkHealth(
  checks: Iterable<{ critical: boolean; passed: boolean } | [critical: boolean, passed: boolean]>,
): HealthStatus;
/** A service's status from its breakers' states and its bulkhead (the core's rule). */
export declare function serviceHealth(states: Iterable<CircuitState>, bulkheadSaturated?: boolean): HealthStatus;
/**
 * Whether a breaker's window is a high error rate (the core's rule, the service's
 * `high-error-rate` alert): at least 10 calls in the window and more than 10 % of them
 * failed (`windowCalls` / `windowFailures` of `getStats()`; slow calls count as failures).
 */
export declare function errorRateAlert(windowCalls: number, windowFailures: number): boolean;
/** Whether a dead-letter queue of `size` items is an alert: more than 10 (the core's rule). */
export declare function deadLetterAlert(size: number): boolean;
/**
 * Whether a service is unavailable (the core's rule, the `all-circuits-open` alert): every
 * breaker open; while the episode is `ongoing`, until one closes (half-open does not end it).
 */
export declare function allCircuitsOpenAlert(states: Iterable<CircuitState>, ongoing?: boolean): boolean;

export type PresetName = 'llm' | 'cache' | 'database' | 'external-api' | 'websocket';
export interface ServicePreset {
  name: PresetName;
  failureThreshold: number;
  /** ms */
  timeout: number;
  maxConcurrent: number;
  /** Retries after the first attempt. */
  retryAttempts: number;
  fallback: string;
}
/** Seed 004's service configurations by name. */
export declare const SERVICE_PRESETS: Readonly<Record<PresetName, Readonly<ServicePreset>>>;

/** The bulkhead refused the call: full, or no slot within `maxQueueWait`. Not a CircuitBreakerError. */
export declare class BulkheadRejectedError extends Error {
  constructor(
    service: string,
    details?: { reason?: 'full' | 'queue-timeout'; maxConcurrent?: number; queueSize?: number; maxQueueWait?: number | null },
  );
  readonly name: 'BulkheadRejectedError';
  readonly code: 'EBULKHEAD';
  readonly service: string;
  readonly reason: 'full' | 'queue-timeout';
  readonly maxConcurrent: number | null;
  readonly queueSize: number | null;
}

export interface FallbackOptions<T> {
  /** Returned when the call fails after retries or is refused by the breaker or the bulkhead. */
  fallbackValue?: T;
  /** Called with the error instead; its answer is returned. */
  fallbackFunction?: (error: unknown) => T | PromiseLike<T>;
  /** Keep the failed operation in the dead-letter queue (the call still rejects without a fallback). */
  queue?: boolean;
}

export interface ExecuteOptions<T> {
  fallbackOptions?: FallbackOptions<T>;
  /** This call's retry policy, over the service's. */
  retryPolicy?: RetryPolicyOptions;
  /** The service's bulkhead limits from this call on. */
  bulkhead?: BulkheadOptions;
  /** Breaker options, used when the (service, operation) breaker is first made. */
  config?: CircuitBreakerOptions;
}

export interface ServiceConfigUpdate {
  /** Apply a preset first. */
  preset?: PresetName;
  config?: CircuitBreakerOptions;
  bulkhead?: BulkheadOptions;
  retryPolicy?: RetryPolicyOptions;
}

export interface DeadLetterItem {
  id: number;
  service: string;
  operation: string;
  error: unknown;
  attempts: number;
  /** Epoch ms. */
  timestamp: number;
}

export type AlertType = 'circuit-opened' | 'high-error-rate' | 'bulkhead-full' | 'dead-letter-queue' | 'all-circuits-open';

export interface Alert {
  type: AlertType;
  message: string;
  /** Epoch ms. */
  timestamp: number;
  service?: string;
  operation?: string;
  [detail: string]: unknown;
}

export interface ServiceHealth {
  status: HealthStatus;
  circuits: Record<string, CircuitState>;
  bulkhead: BulkheadStats;
  forcedOpen: boolean;
}

export interface SystemHealth {
  overall: HealthStatus;
  services: Record<string, ServiceHealth>;
  deadLetterQueue: { size: number; capacity: number; dropped: number };
  breakers: { count: number; max: number; evictions: number };
  timestamp: number;
}

export interface CircuitBreakerServiceOptions {
  /** Breakers' clock, retry delays and queue waits (a ManualClock makes tests sleep-free). */
  clock?: Clock;
  /** LRU cap on idle breakers (default 1000). */
  maxBreakers?: number;
  /** Dead-letter queue bound (default 1000; the oldest is dropped and counted). */
  deadLetterQueueSize?: number;
  /** Services configured up front: a preset name or an update. */
  services?: Record<string, PresetName | ServiceConfigUpdate>;
  onAlert?: (alert: Alert) => void;
  /** Logs its breakers' transitions (default: tripwire's own, `setLogger()` / `TRIPWIRE_LOG`). */
  logger?: Logger;
  /** Seeds the retry jitter of services whose policy names no seed (default: random). */
  seed?: number;
  /**
   * Shares every breaker of the service with the fleet (as `CircuitBreaker`'s `store`);
   * null keeps them local; absent: TRIPWIRE_STORE_URL's store when set.
   */
  store?: RedisStore | null;
}

/** A service's retry outcomes since the service was made (never reset). */
export interface ServiceRetryCounters {
  successfulWithoutRetry: number;
  successfulWithRetry: number;
  failedWithoutRetry: number;
  failedWithRetry: number;
}

/** One breaker in `getCircuitBreakerState()`: its key and its stats. */
export type ServiceBreakerState = Omit<CircuitBreakerStats, 'options'> & {
  service: string;
  operation: string | null;
};

export declare class CircuitBreakerService {
  constructor(options?: CircuitBreakerServiceOptions);
  getCircuitBreaker(service: string, operation: string, options?: CircuitBreakerOptions): CircuitBreaker;
  execute<T>(
    service: string,
    operation: string,
    fn: (ctx: CallContext) => T | PromiseLike<T>,
    fallback?: (error: unknown) => T | PromiseLike<T>,
    options?: CircuitBreakerOptions<T>,
  ): Promise<T>;
  getCircuitBreakerStats(service: string, operation: string): ServiceCircuitBreakerStats | undefined;
  /** Keyed by breaker name, as getCircuitBreakerState(). */
  getAllCircuitBreakerStats(): Record<string, ServiceCircuitBreakerStats>;
  resetAll(): void;

  executeWithCircuitBreaker<T>(
    service: string,
    operation: string,
    fn: (ctx: CallContext) => T | PromiseLike<T>,
    options?: ExecuteOptions<T>,
  ): Promise<T>;
  updateServiceConfig(service: string, update: ServiceConfigUpdate): void;
  usePreset(service: string, preset: PresetName): void;
  getServiceConfig(service: string): {
    preset: PresetName | null;
    config: CircuitBreakerOptions;
    bulkhead: Required<BulkheadOptions>;
    retryPolicy: Required<Omit<RetryPolicyOptions, 'seed'>>;
  };
  executeOllamaRequest<T>(operation: string, fn: () => T | PromiseLike<T>, fallback?: T | ((error: unknown) => T | PromiseLike<T>)): Promise<T>;
  executeRedisOperation<T, F = T>(operation: string, fn: () => T | PromiseLike<T>, fallbackValue?: F): Promise<T | F>;
  executeDatabaseQuery<T, F = T>(queryName: string, fn: () => T | PromiseLike<T>, fallbackValue?: F): Promise<T | F>;
  executeExternalAPI<T, F = T>(apiName: string, operation: string, fn: () => T | PromiseLike<T>, fallbackValue?: F): Promise<T | F>;
  executeWebSocketOperation<T>(operation: string, fn: () => T | PromiseLike<T>, queueOnFailure?: boolean): Promise<T>;
  getDeadLetterQueue(): DeadLetterItem[];
  getDeadLetterStats(): { size: number; capacity: number; dropped: number };
  retryDeadLetterItem<T = unknown>(itemId: number): Promise<T>;
  removeDeadLetterItem(itemId: number): boolean;
  clearDeadLetterQueue(): number;
  resetCircuitBreaker(service: string, operation?: string): void;
  forceCircuitBreakerOpen(service: string, operation?: string): void;
  /** Every breaker by name (`service:operation`, with `%` and `:` inside each part escaped `%25`, `%3A`). */
  getCircuitBreakerState(): Record<string, ServiceBreakerState>;
  getBulkheadStats(service: string): BulkheadStats | undefined;
  /** Retry outcomes (never reset) and the bulkhead of a service. */
  getServiceStats(service: string): { retries: ServiceRetryCounters; bulkhead: BulkheadStats | null };
  getSystemHealth(): SystemHealth;
  /** Breakers evicted by the LRU cap. */
  readonly evictions: number;
  on(event: 'alert', listener: (alert: Alert) => void): this;
  once(event: 'alert', listener: (alert: Alert) => void): this;
  off(event: 'alert', listener: (alert: Alert) => void): this;
}

export declare const circuitBreakerService: CircuitBreakerService;

// ---- seed 000: health checks (bindings-node/health.js) -----------------------------

export interface HealthCheckResult {
  healthy: boolean;
  message?: string;
}

export interface HealthCheck {
  name: string;
  check: () => HealthCheckResult | boolean | PromiseLike<HealthCheckResult | boolean>;
  /** Default true: failing makes the report unhealthy (else degraded). */
  critical?: boolean;
  /** ms; default the manager's. */
  timeout?: number;
}

export interface HealthCheckManagerOptions {
  serviceName?: string;
  version?: string;
  checks?: HealthCheck[];
  /** Per check, ms (default 5000). */
  timeout?: number;
  clock?: Clock;
}

export interface CheckReport {
  status: 'healthy' | 'unhealthy';
  message: string;
  /** ms */
  responseTime: number;
  critical: boolean;
}

export interface HealthReport {
  status: HealthStatus;
  /** ISO 8601. */
  timestamp: string;
  service: string;
  version: string;
  /** Seconds since the manager was made. */
  uptime: number;
  checks: Record<string, CheckReport>;
  circuitBreakers: Record<
    string,
    Pick<CircuitBreakerStats, 'state' | 'failureCount' | 'successCount' | 'totalRequests' | 'failureRate' | 'rejectedCount' | 'lastFailureTime' | 'nextAttemptTime'>
  >;
}

export declare class HealthCheckManager {
  constructor(options?: HealthCheckManagerOptions);
  readonly serviceName: string;
  readonly version: string;
  readonly checkNames: string[];
  registerCheck(check: HealthCheck): this;
  unregisterCheck(name: string): boolean;
  /** Never rejects: a throwing or slow check is a failed check. */
  executeHealthChecks(): Promise<HealthReport>;
}

export interface HealthResponse {
  statusCode: number;
  headers: Record<string, string>;
  /** JSON text. */
  body: string;
}

export type HealthHandler = (event?: unknown, context?: unknown) => Promise<HealthResponse>;

export declare function createHealthCheckHandler(manager: HealthCheckManager): {
  liveness: HealthHandler;
  readiness: HealthHandler;
  health: HealthHandler;
};

/** A node:http handler for `<basePath>/liveness`, `<basePath>/readiness` and `<basePath>` (default `/health`). */
export declare function createHealthCheckHttpHandler(
  manager: HealthCheckManager,
  options?: { basePath?: string },
): (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse, next?: () => void) => Promise<void> | void;

export declare function createEnvVarHealthCheck(names: string[], options?: { name?: string; critical?: boolean }): HealthCheck;
/** Heap used as a percentage of the V8 heap limit. */
export declare function createMemoryHealthCheck(maxPercent?: number, options?: { name?: string; critical?: boolean }): HealthCheck;
export declare function createHttpHealthCheck(
  url: string | URL,
  options?: {
    name?: string;
    method?: string;
    headers?: Record<string, string>;
    timeout?: number;
    expectedStatus?: number | number[];
    critical?: boolean;
  },
): HealthCheck;

// ---- issue 12: metrics at scrape time ------------------------------------------------

/** The exposition formats of `metricsText`. */
export type MetricsFormat = 'prometheus' | 'openmetrics';

/**
 * Every breaker's and service's metrics now (the registry's breakers and every live
 * `CircuitBreakerService`, each breaker once), rendered by the core: Prometheus text
 * 0.0.4 (default) or OpenMetrics 1.0. Read at scrape time: nothing is counted per call.
 */
export declare function metricsText(options?: { format?: MetricsFormat }): string;

/** The `Content-Type` of a format's text. */
export declare function metricsContentType(format?: MetricsFormat): string;
