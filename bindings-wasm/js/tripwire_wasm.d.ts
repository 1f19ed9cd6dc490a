// The browser package's types (hand-written: the API is the shared JS facade,
// js/tripwire.js, over the wasm engine). Checked by test/types.test.mjs (tsc --strict).

import type {
  CircuitBreakerOptions as SharedOptions,
  CircuitBreakerStats,
  CircuitBreakerEvents,
  CircuitBreakerMethods,
  CircuitBreakerRegistry,
  EvictEvent,
  GuardedFetch as SharedGuardedFetch,
  Clock,
  Logger,
  CallContext,
} from './tripwire-types.js';

// The facade's shared types and classes, declared once for this package and the
// Node package (js/tripwire-types.d.ts); the ones declared here too extend them.
export * from './tripwire-types.js';

/** Options of `new CircuitBreaker(name, options)`: the Node package's names and meanings, in ms. */
export interface CircuitBreakerOptions extends SharedOptions {
  /** Milliseconds: a function or an object with `now()`. Default `performance.now()`. */
  clock?: (() => number) | Clock;
  /** `{ debug, info, warn, error }`: the breaker's log lines. */
  logger?: Logger;
}

/** Options of `guardFetch`: the options of every origin's breaker, and the bound. */
export interface GuardFetchOptions extends CircuitBreakerOptions {
  /**
   * Origins kept with a breaker (default 1,000): past it, a new origin evicts an idle
   * one (closed, not forced or disabled, nothing in flight).
   */
  maxOrigins?: number;
}
/** What an `evict` event carries: an idle origin's breaker dropped to keep the bound. */
export type GuardEvictEvent = EvictEvent<CircuitBreaker>;
/** `fetch` guarded by one circuit breaker per origin. */
export type GuardedFetch = SharedGuardedFetch<CircuitBreaker>;
export declare const CircuitState: Readonly<{ CLOSED: 'CLOSED'; OPEN: 'OPEN'; HALF_OPEN: 'HALF_OPEN' }>;

/**
 * A circuit breaker: `execute` functions or `fetch` under it; read its `state` and
 * `getStats()`; control it with `open()`, `close()`, `reset()`. The same class as the
 * Node package's (one JavaScript facade over both engines).
 */
export interface CircuitBreaker extends CircuitBreakerMethods {}
export declare class CircuitBreaker {
  constructor(name: string, options?: CircuitBreakerOptions, logger?: Logger);
  constructor(options?: CircuitBreakerOptions, logger?: Logger);
  /**
   * Runs `fn` (sync or async) under the breaker. Resolves with its result; rejects
   * with its error, with `CircuitBreakerTimeoutError` after the call timeout, or
   * with `CircuitBreakerOpenError` (or resolves with the fallback's result) while open.
   */
  execute<T>(f: (ctx: CallContext) => T | PromiseLike<T>): Promise<Awaited<T>>;
  /** `fetch` under the breaker; see the README for what counts as a failure. */
  fetch(input: RequestInfo | URL, init?: RequestInit | null): Promise<Response>;
  on<K extends keyof CircuitBreakerEvents>(type: K, listener: (...args: CircuitBreakerEvents[K]) => void): this;
  once<K extends keyof CircuitBreakerEvents>(type: K, listener: (...args: CircuitBreakerEvents[K]) => void): this;
  off<K extends keyof CircuitBreakerEvents>(type: K, listener: (...args: CircuitBreakerEvents[K]) => void): this;
  listenerCount(type: keyof CircuitBreakerEvents): number;
  /** The whole state as compact bytes (pkg-node/ only: the browser build leaves it out). */
  snapshot(): Uint8Array;
  static restore(name: string, options: CircuitBreakerOptions | undefined, snapshot: Uint8Array): CircuitBreaker;
}

/** Every breaker by name, bounded (`capacity`, default 10,000) by evicting idle ones. */
export declare const circuitBreakerRegistry: CircuitBreakerRegistry<CircuitBreaker, CircuitBreakerStats>;
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
