// tripwire's JavaScript call path, written once for Node and the browser.
//
// `createTripwire(engine, host)` builds the public API (CircuitBreaker with execute
// and fetch, the errors, events, the registry, guardFetch, ...) over an engine: the
// Node addon (bindings-node/index.js) or the WebAssembly module (bindings-wasm,
// built into pkg/ by scripts/build-wasm.sh). The engine holds every rule (thresholds,
// windows, transitions, option checks, the HTTP status rule); this module converts
// values, drives async (promises, timeouts, AbortSignal) and turns the engine's
// transitions into events. The hot path makes one engine call to acquire and one to
// record, passing and returning numbers only.
//
// The engine interface (both engines implement it, same names and codes):
//   protocol()                      the codes below (src/protocol.rs of each engine)
//   now()                           the default clock, ms (Node: the ticking process clock)
//   create(options, now) → id       strict options: unknown keys are a TypeError
//   restore(options, snapshot, now) → id, snapshot(id, now), release(id)
//   acquireAt(id, now) → code       permit (slot * 2 + half-opened) or a refusal code
//   recordAt(id, slot, outcome, now) → transition code
//   permitTrial(id, slot), state(id, now), control(id, op, now), stats(id, now),
//   settings(id), outstanding(id), httpFailure(status)
//   evictionNew/Admit/Remove/Clear/Stats/SetCapacity/Release   the core's eviction index
//   shared.gates, growGates(n), recordQuietAt(...), queueSuccess(...) and
//   queueFailure(...) → whether queued
//                                   Node's quiet fast path (wasm: gates stay empty, so
//                                   no call is quiet and the three are never called)
// and `host` gives what differs by runtime: { EventEmitter, nextTick, tracing,
// deferRefusals } (defaults: the Emitter below, none, none, true unless nextTick is
// given: Node's).

/** The three states, as the strings every runtime reports. */
export const CircuitState = Object.freeze({ CLOSED: 'CLOSED', OPEN: 'OPEN', HALF_OPEN: 'HALF_OPEN' });
const STATES = ['CLOSED', 'OPEN', 'HALF_OPEN'];

/** The symbols of a CircuitBreaker's internal interface (Node's resilience service). */
export const internal = Object.freeze({
  /** Options key: wrap this engine breaker id instead of making one. */
  kAdopt: Symbol('tripwire.adopt'),
  /** The engine breaker id. */
  kId: Symbol('tripwire.id'),
  /** Whether the breaker has facade hooks (fallback, errorFilter, isFailureResult, logger). */
  kHooked: Symbol('tripwire.hooked'),
  /** The call timeout (ms) or null. */
  kTimeoutMs: Symbol('tripwire.timeoutMs'),
  /** (code) → the transition's events and callbacks. */
  kTransition: Symbol('tripwire.transition'),
  /** (code) → the CircuitBreakerOpenError of a refused permit code (emits callRejected). */
  kRefusal: Symbol('tripwire.refusal'),
  /** (call) → watch a call's deadline; (call) → stop watching it. */
  kTrack: Symbol('tripwire.track'),
  kUntrack: Symbol('tripwire.untrack'),
  /** (start, generation) → records a quiet call's success (queued or not); the transition code. */
  kQuietRecord: Symbol('tripwire.quietRecord'),
  /** (start) → a success's events; (call, error) → a failure's (and lastError). */
  kSucceeded: Symbol('tripwire.succeeded'),
  kFailed: Symbol('tripwire.failed'),
  /** Whether a success needs reporting (a listener or a logger). */
  kReportsSuccess: Symbol('tripwire.reportsSuccess'),
  /** () → re-read the options after the engine breaker was reconfigured. */
  kRefresh: Symbol('tripwire.refresh'),
  /** () → drop the idle timeout timer (the breaker leaves a service). */
  kRelease: Symbol('tripwire.release'),
  /** A function called after every transition (the service's observer), or undefined. */
  kOnTransition: Symbol('tripwire.onTransition'),
  /**
   * A Call's handler of its own timeout, `(error, clockFailed)`: the service records
   * the timeout with its engine (or, if the clock failed, ends the call).
   */
  kOnTimeout: Symbol('tripwire.onTimeout'),
  /** Options key: a snapshot to restore (the engine's format). */
  kRestore: Symbol('tripwire.restore'),
  /** A logger of this breaker's transitions and store episodes only (a service's `logger`). */
  kLogger: Symbol('tripwire.logger'),
});

const {
  kAdopt, kId, kHooked, kTimeoutMs, kTransition, kRefusal, kTrack, kUntrack, kQuietRecord, kSucceeded, kFailed,
  kReportsSuccess, kRefresh, kRelease, kOnTransition, kOnTimeout, kRestore, kLogger,
} = internal;

// Codes this module's arithmetic hard-codes: an engine that says otherwise is refused.
const HARD_CODED = {
  STATE_CLOSED: 0, STATE_OPEN: 1, STATE_HALF_OPEN: 2, PERMIT_STRIDE: 2,
  REJECTED_FORCED: -1, REJECTED_HALF_OPEN: -2, REJECTED_OPEN: -3, REJECTED_HALF_OPEN_WAIT: -2.5, GATE: 4,
};

/** Builds an error without capturing a stack: refusals are values on the hot path. */
function withoutStack(make) {
  const limit = Error.stackTraceLimit;
  if (typeof limit !== 'number') return make();
  Error.stackTraceLimit = 0;
  try {
    return make();
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/** The breaker refused the call (open, or half-open with no free trial). */
export class CircuitBreakerError extends Error {
  /**
   * @param {string} message
   * @param {{state?: string, breakerName?: string, code?: string, retryAfter?: number|null}} [details]
   */
  constructor(message, details = {}) {
    super(message);
    this.state = details.state === undefined ? CircuitState.OPEN : details.state;
    this.breakerName = details.breakerName === undefined ? '' : details.breakerName;
    this.code = details.code === undefined ? 'EBREAKER' : details.code;
    this.retryAfter = details.retryAfter === undefined ? null : details.retryAfter;
  }
}
CircuitBreakerError.prototype.name = 'CircuitBreakerError';
// Refusals made by `refusal()` have no own stack: report "Name: message", no frames.
Object.defineProperty(CircuitBreakerError.prototype, 'stack', {
  configurable: true,
  get() {
    return `${this.name}: ${this.message}`;
  },
  set(value) {
    Object.defineProperty(this, 'stack', { value, writable: true, configurable: true, enumerable: false });
  },
});

/** Raised while OPEN, and while HALF_OPEN with every trial slot taken. */
export class CircuitBreakerOpenError extends CircuitBreakerError {
  /**
   * @param {string} breakerName
   * @param {string} [state]
   * @param {number|null} [retryAfter] whole milliseconds until a call may pass; null when forced open
   */
  constructor(breakerName, state = CircuitState.OPEN, retryAfter = null) {
    super(`Circuit breaker '${breakerName}' is ${state}`, { state, breakerName, code: 'EOPENBREAKER', retryAfter });
  }
}
CircuitBreakerOpenError.prototype.name = 'CircuitBreakerOpenError';

/**
 * A refusal built without running the Error constructor: no stack capture, about
 * 15 ns instead of 300 ns (with Error.stackTraceLimit = 0) or 2.5 µs (with a stack).
 * Same prototype and own fields as `new CircuitBreakerOpenError(...)`.
 */
function refusal(breakerName, state, retryAfter) {
  const error = Object.create(CircuitBreakerOpenError.prototype);
  error.message = `Circuit breaker '${breakerName}' is ${state}`;
  error.state = state;
  error.breakerName = breakerName;
  error.code = 'EOPENBREAKER';
  error.retryAfter = retryAfter;
  return error;
}

// Kept for its hidden class, like Call.kept (below).
refusal.kept = refusal('', 'OPEN', 0);

/** A call ran out of time. Not a CircuitBreakerError: the breaker did not refuse it. */
export class CircuitBreakerTimeoutError extends Error {
  /**
   * @param {number} timeout milliseconds
   * @param {string} [breakerName]
   */
  constructor(timeout, breakerName = '') {
    super(`Timeout after ${timeout}ms`);
    this.code = 'ETIMEDOUT';
    this.timeout = timeout;
    this.breakerName = breakerName;
  }
}
CircuitBreakerTimeoutError.prototype.name = 'CircuitBreakerTimeoutError';

/**
 * A value as an error message names it: `null`, `undefined`, `an array`, `an object`,
 * `a function`, `a symbol`, `the string "..."` (its first 40 characters), `the number 5`,
 * `the boolean true`. Every module of both packages uses this one.
 */
export function describe(value) {
  if (value == null) return String(value);
  if (Array.isArray(value)) return 'an array';
  const type = typeof value;
  if (type === 'string') return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  if (type === 'object' || type === 'function' || type === 'symbol') return `${type === 'object' ? 'an' : 'a'} ${type}`;
  return `the ${type} ${String(value)}`;
}

/**
 * What an error says (its `message`, else the value as a string), for stats, logs and
 * reports. Anything may be thrown: a value with no prototype, a throwing `message`
 * getter or a revoked Proxy gets a placeholder instead of a second error.
 */
export function errorMessage(error) {
  try {
    if (error !== null && typeof error === 'object' && typeof error.message === 'string') return error.message;
    return String(error);
  } catch {
    return '(unreadable error)';
  }
}

/**
 * A clock that moves only when told to, with timers that fire as it moves:
 * tests of timeouts and recovery run without sleeping.
 */
export class ManualClock {
  /** @param {number} [start] milliseconds */
  constructor(start = 0) {
    if (typeof start !== 'number' || !Number.isFinite(start) || start < 0) {
      throw new RangeError('ManualClock start must be a finite number ≥ 0');
    }
    this._now = start;
    this._timers = [];
    this._seq = 0;
  }

  /** The current reading, in milliseconds. */
  now() {
    return this._now;
  }

  /** Moves the clock forward by `ms`, firing the timers that fall due on the way, in order. */
  advance(ms) {
    if (typeof ms !== 'number') throw new TypeError(`advance() needs a number of milliseconds, not ${describe(ms)}`);
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`advance() needs a finite number of milliseconds ≥ 0, not ${ms}`);
    this.set(this._now + ms);
  }

  /**
   * Sets the clock to `ms`, firing the timers that fall due on the way. A clock never
   * goes back: an earlier time is a RangeError (the same time is fine).
   */
  set(ms) {
    if (typeof ms !== 'number') throw new TypeError(`set() needs a number of milliseconds, not ${describe(ms)}`);
    if (!Number.isFinite(ms)) throw new RangeError(`set() needs a finite number of milliseconds, not ${ms}`);
    if (ms < this._now) throw new RangeError(`set(${ms}) would move the clock back from ${this._now}: a clock only goes forward`);
    const target = ms;
    for (;;) {
      const next = this._timers[0];
      if (next === undefined || next.at > target) break;
      this._timers.shift();
      this._now = Math.max(this._now, next.at);
      next.active = false;
      next.fn();
    }
    this._now = target;
  }

  /** Like the global setTimeout, on this clock. */
  setTimeout(fn, ms = 0) {
    const timer = { at: this._now + Math.max(0, Number(ms) || 0), seq: this._seq++, fn, active: true, ref() { return this; }, unref() { return this; }, hasRef() { return false; } };
    let i = this._timers.length;
    while (i > 0 && this._timers[i - 1].at > timer.at) i--;
    this._timers.splice(i, 0, timer);
    return timer;
  }

  /** Like the global clearTimeout, on this clock. */
  clearTimeout(timer) {
    if (!timer || !timer.active) return;
    timer.active = false;
    const i = this._timers.indexOf(timer);
    if (i >= 0) this._timers.splice(i, 1);
  }

  /** Timers not yet fired. */
  get pendingTimers() {
    return this._timers.length;
  }
}

/**
 * Events for runtimes without node:events (the browser): on, off, once, emit,
 * listenerCount, removeAllListeners, with EventEmitter's `_events` table (made on
 * the first on(), so that idle breakers stay small and `_listens` is one read).
 */
export class Emitter {
  on(type, listener) {
    if (typeof listener !== 'function') throw new TypeError(`the listener must be a function, not ${describe(listener)}`);
    if (this._events === undefined) this._events = Object.create(null);
    const list = this._events[type];
    if (list === undefined) this._events[type] = [listener];
    else list.push(listener);
    return this;
  }

  addListener(type, listener) {
    return this.on(type, listener);
  }

  once(type, listener) {
    if (typeof listener !== 'function') throw new TypeError(`the listener must be a function, not ${describe(listener)}`);
    const once = (...args) => {
      this.off(type, once);
      listener.apply(this, args);
    };
    once.listener = listener;
    return this.on(type, once);
  }

  off(type, listener) {
    const list = this._events?.[type];
    if (list === undefined) return this;
    const i = list.findLastIndex((l) => l === listener || l.listener === listener);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) delete this._events[type];
    return this;
  }

  removeListener(type, listener) {
    return this.off(type, listener);
  }

  removeAllListeners(type) {
    if (this._events === undefined) return this;
    if (type === undefined) this._events = undefined;
    else delete this._events[type];
    return this;
  }

  listenerCount(type) {
    return this._events?.[type]?.length ?? 0;
  }

  emit(type, ...args) {
    const list = this._events?.[type];
    if (list === undefined) return false;
    for (const listener of list.slice()) listener.apply(this, args);
    return true;
  }
}

// The slot of a call admitted while its breaker was quiet (it holds no permit).
export const QUIET = -1;

/**
 * The longest delay a JavaScript timer keeps (2^31 - 1 ms, about 24.8 days; a longer
 * one fires at once): the core checks options against the same limit
 * (`tripwire_core::JS_TIMER_LIMIT_MS`).
 */
export const JS_TIMER_LIMIT_MS = 2 ** 31 - 1;

/**
 * One in-flight call: the context passed to the protected function (`ctx.signal`)
 * and the facade's bookkeeping (slot or QUIET, the generation a quiet call was
 * admitted in, its start, what a timeout needs, a fetch's own signal, and the breaker
 * that settles it). The AbortController is made only if `signal` is read.
 */
export class Call {
  constructor(slot, generation, start) {
    this._slot = slot;
    this._generation = generation;
    this._start = start;
    this._settled = false;
    this._resolve = null;
    this._reject = null;
    this._prev = null;
    this._next = null;
    this._timeout = 0;
    this._controller = null;
    this._theirs = undefined;
    this._breaker = null;
  }

  /** Aborted when the call times out. */
  get signal() {
    if (this._controller === null) this._controller = new AbortController();
    return this._controller.signal;
  }
}

// Optimised code embeds the hidden classes (maps) of the objects it makes, and V8
// holds the transitions to a class weakly: a full GC that finds no live object of a
// per-call class (no call in flight, as between requests) collects it and
// deoptimises every function that embedded it, so a long-running service paid a
// round of re-optimisation (~15 ms here) after every full GC. One instance of each
// per-call class, kept for the module's lifetime, keeps the classes. Its fields take
// the kinds real calls give them, or its class would be replaced by the first real
// call's: the generation, start and deadline are numbers, small integers (stored
// unboxed in a field of any kind) or fractions. null here makes those fields hold any
// value; as fields of doubles each call boxed its numbers (32 B more a timed call).
Call.kept = new Call(QUIET, null, null);

/**
 * A reading of a caller's `clock` option: a finite number of milliseconds, or a
 * TypeError naming the option (a NaN or a string must not reach the engine). Node's
 * resilience service reads its clocks through it too.
 */
export function readOwnClock(clock) {
  const now = clock.now();
  if (typeof now !== 'number' || !Number.isFinite(now)) {
    const what = typeof now === 'number' ? String(now) : describe(now);
    throw new TypeError(`invalid option \`clock\`: now() must return a finite number of milliseconds, not ${what}`);
  }
  if (now < 0 || now > CLOCK_MAX_MS) {
    // The engine counts nanoseconds from 0 to 2^62: past it a reading would be cut (a
    // clock in microseconds half-opened at once; a negative one never did).
    throw new RangeError(`invalid option \`clock\`: now() must read 0 to 2^62 ns in ms, not ${now}`);
  }
  return now;
}

/** The latest instant a clock may read, in ms: 2^62 ns, the engine's range. */
const CLOCK_MAX_MS = 2 ** 62 / 1e6;

// Whether each store that reported storeDown is still down.
const storeDown = new WeakMap();

/**
 * The hook for a fleet store's `storeDown` / `storeUp` events (Node's logStoreEvents,
 * which every RedisStore runs on itself): one line per outage of the store, whatever
 * the number of its breakers, through `log(level, message, fields)`; `source` (named
 * `source.name`, if it has one) keeps whether it is down. Python's store logs the same
 * lines (`tripwire._logger.store_outage`).
 */
export function storeEpisode(source, type, details, log) {
  const down = type === 'storeDown';
  if (down === (storeDown.get(source) === true)) return;
  storeDown.set(source, down);
  const name = typeof source.name === 'string' ? source.name : undefined;
  const fields = { event: type };
  if (name !== undefined) fields.store = name;
  const store = name === undefined ? 'fleet store' : `fleet store '${name}'`;
  if (down) {
    const cause = details !== null && typeof details === 'object' ? details.error ?? details.message : undefined;
    if (cause !== undefined) fields.error = errorMessage(cause);
    log('warn', `tripwire: ${store} unreachable${cause === undefined ? '' : ` (${fields.error})`}; its breakers decide locally until it answers`, fields);
  } else {
    log('info', `tripwire: ${store} reachable again; its breakers share their state`, fields);
  }
}

/**
 * The public API over `engine` (see the top of this file), with `host`'s
 * EventEmitter (Node's, or Emitter above), `nextTick`, and optional `tracing` and
 * `hold(busy)` (Node's: keeps the event loop alive while a breaker has calls with a
 * deadline in flight, so that its timer need not be referenced per call; see Flight).
 */
export function createTripwire(engine, host = {}) {
  const P = engine.protocol();
  for (const [name, value] of Object.entries(HARD_CODED)) {
    if (P[name] !== value) {
      throw Object.assign(new Error(`tripwire: the engine's ${name} is ${P[name]}, the facade expects ${value}: rebuild it`), {
        code: 'ERR_TRIPWIRE_NATIVE',
      });
    }
  }
  const {
    OUTCOME_SUCCESS: SUCCESS, OUTCOME_FAILURE: FAILURE, OUTCOME_TIMEOUT: TIMEOUT, OUTCOME_IGNORED: IGNORED,
    OUTCOME_CANCELLED: CANCELLED, REJECTED_FORCED, REJECTED_HALF_OPEN, REJECTED_OPEN, REJECTED_HALF_OPEN_WAIT,
    OP_OPEN, OP_CLOSE, OP_RESET, OP_DISABLE, OP_ENABLE, OP_TRIP, OP_HALF_OPEN, TRANSITION_BASE, STATES: STATE_COUNT, GATE,
    OPEN_ELAPSED, CAUSE_NAMES,
  } = P;
  const { acquireAt, recordAt, recordQuietAt, queueSuccess, queueFailure } = engine;
  const processNow = engine.now;
  const shared = engine.shared;
  const Base = host.EventEmitter ?? Emitter;
  // A refusal rejects one microtask later, once the caller's handler is attached:
  // Chromium then neither tracks an unhandled rejection nor, with DevTools attached,
  // captures a stack for it (refusals 6.2 → 2.1 µs there). Node's immediate
  // Promise.reject costs ~60 ns, less than the deferral: off by default in Node.
  const deferRefusals = host.deferRefusals ?? host.nextTick === undefined;
  const promiseThen = Promise.prototype.then;

  // The context of calls without a timeout on a quiet breaker: nothing aborts them.
  const UNTIMED = Object.freeze({ signal: new AbortController().signal });

  // The default clock in epoch milliseconds: EPOCH_BASE + now().
  const EPOCH_BASE = Date.now() - processNow();

  // Options the facade reads itself (the engine skips them), all functions.
  const FACADE_FUNCTIONS = ['fallback', 'onStateChange', 'onOpen', 'onClose', 'onHalfOpen', 'errorFilter', 'isFailureResult', 'isFailureResponse', 'fetch'];

  /** Without a fleet store (the browser): the `store` option is an error. */
  function noStore(options) {
    if (options.store !== undefined && options.store !== null) throw new TypeError('invalid option `store`: not available in this runtime');
    return null;
  }

  // Frees a breaker's engine state once its CircuitBreaker is collected.
  const releaser = new FinalizationRegistry((id) => engine.release(id));
  // Clears the idle timer of a collected breaker (see Flight).
  const timers = new FinalizationRegistry((cell) => {
    if (cell.timer !== null) cell.clearTimer(cell.timer);
  });


  // A transition code is TRANSITION_BASE + (cause * STATES + from) * STATES + to
  // (tripwire_core::bindings::codes): the cause is the core's, named by CAUSE_NAMES.
  function transitionOf(code) {
    if (code === 0) return null;
    const n = code - TRANSITION_BASE;
    return { from: STATES[((n / STATE_COUNT) | 0) % STATE_COUNT], to: STATES[n % STATE_COUNT] };
  }

  function causeOf(code) {
    return CAUSE_NAMES[((code - TRANSITION_BASE) / (STATE_COUNT * STATE_COUNT)) | 0];
  }

  /** `Response` (fetch's), read on the first object with a numeric `status`; null where there is none. */
  let ResponseClass;
  function isResponse(value) {
    // `status` first: Node loads its fetch (undici, 20-75 ms here) when `globalThis.Response`
    // is first read, which must not happen inside the first call resolving `{ id: 1 }`.
    if (typeof value.status !== 'number') return false;
    if (ResponseClass === undefined) ResponseClass = typeof globalThis.Response === 'function' ? globalThis.Response : null;
    return ResponseClass !== null && value instanceof ResponseClass;
  }

  // ---- tripwire's own logger ------------------------------------------------------

  /** The logger of every breaker without one of its own, control API and store: setLogger(). */
  let processLogger = null;

  function checkLogger(logger, option) {
    if (logger === undefined || logger === null) return null;
    if (typeof logger !== 'object' && typeof logger !== 'function') {
      throw new TypeError(`invalid option \`${option}\`: must be an object with debug/info/warn/error methods, not ${describe(logger)}`);
    }
    for (const level of ['info', 'warn']) {
      if (typeof logger[level] !== 'function') throw new TypeError(`invalid option \`${option}\`: has no ${level}() method`);
    }
    return logger;
  }

  /**
   * Makes `logger` ({debug, info, warn, error}(message, fields)) tripwire's own, for
   * everything not given one: breaker transitions, store outages, control-API
   * mutations. null turns it off. Returns the previous one.
   */
  function setLogger(logger) {
    const previous = processLogger;
    processLogger = checkLogger(logger, 'logger');
    return previous;
  }

  /** The logger of setLogger() (or TRIPWIRE_LOG's), or null. */
  function getLogger() {
    return processLogger;
  }

  // ---- the registry ---------------------------------------------------------------

  /** The registry of breakers by name (see circuitBreakerRegistry). */
  const breakers = new Map();
  /** Frees the eviction index of a collected guardFetch. */
  const indexes = new FinalizationRegistry((cell) => {
    if (cell.index >= 0) engine.evictionRelease(cell.index);
  });
  /** Events of the registry: `evict`. */
  const registryEvents = new Base();

  /**
   * A bounded map of breakers by name: the core's eviction index decides which idle
   * entry goes when it is full (never one open, forced, half-open, disabled or with a
   * call in flight). The registry and every guardFetch are one.
   */
  class Bounded {
    constructor(map, capacity, emitter) {
      this.map = map;
      this.capacity0 = capacity;
      // The engine's index id, in a cell of its own: what frees it when a guardFetch
      // is collected (`indexes`) must not hold the guard's breakers.
      this.cell = { index: -1 };
      this.slotNames = [];
      this.emitter = emitter;
      this.probe = (slot) => {
        const breaker = this.map.get(this.slotNames[slot]);
        if (breaker === undefined) return -1;
        try {
          return idleActivity(breaker);
        } catch {
          return -1;
        }
      };
    }

    /** The engine's index, made on first use (the wasm module is ready by then). */
    id() {
      if (this.cell.index < 0) this.cell.index = engine.evictionNew(this.capacity0);
      return this.cell.index;
    }

    /** Registers `breaker` under `name`: replaces an entry of that name, or admits a new one (evicting if full). */
    add(name, breaker) {
      const previous = this.map.get(name);
      if (previous !== undefined) {
        if (this === registry) {
          breaker._regSlot = previous._regSlot;
          previous._regSlot = -1;
        }
        this.map.set(name, breaker);
        return;
      }
      const [slot, ...evicted] = engine.evictionAdmit(this.id(), this.probe);
      for (const gone of evicted) {
        const goneName = this.slotNames[gone];
        const goneBreaker = this.map.get(goneName);
        this.map.delete(goneName);
        this.slotNames[gone] = undefined;
        if (goneBreaker === undefined) continue;
        if (this === registry) goneBreaker._regSlot = -1;
        if (this.emitter.listenerCount('evict') > 0) {
          try {
            this.emitter.emit('evict', { name: goneName, breaker: goneBreaker });
          } catch {
            // A listener's failure must not fail the construction that caused the eviction.
          }
        }
      }
      this.slotNames[slot] = name;
      if (this === registry) breaker._regSlot = slot;
      this.map.set(name, breaker);
    }

    remove(name) {
      const breaker = this.map.get(name);
      if (breaker === undefined) return false;
      this.map.delete(name);
      const slot = this.slotNames.indexOf(name);
      if (slot >= 0) {
        engine.evictionRemove(this.id(), slot);
        this.slotNames[slot] = undefined;
      }
      if (this === registry) breaker._regSlot = -1;
      return true;
    }

    clear() {
      if (this === registry) for (const breaker of this.map.values()) breaker._regSlot = -1;
      this.map.clear();
      this.slotNames.length = 0;
      engine.evictionClear(this.id());
    }

    stats() {
      return engine.evictionStats(this.id());
    }
  }

  const DEFAULT_REGISTRY_CAPACITY = 10000;
  const DEFAULT_ORIGIN_CAPACITY = 1000;
  const registry = new Bounded(breakers, DEFAULT_REGISTRY_CAPACITY, registryEvents);

  /**
   * A breaker's activity count (total calls) when it is idle, else -1: open, forced
   * open, half-open, disabled, or with a call in flight (a permit out, a timed call
   * tracked, or an untimed quiet call pending) is never evicted.
   */
  function idleActivity(breaker) {
    if (breaker._pending > 0 || (breaker._flight !== null && breaker._flight.head !== null)) return -1;
    if (engine.outstanding(breaker._id) > 0) return -1;
    const s = engine.stats(breaker._id, breaker._now());
    if (s.state !== 0 || s.forcedOpen || s.disabled) return -1;
    return s.requests + s.rejected + s.ignored;
  }

  /** Sets `key` on a report object as an own, enumerable property, whatever the key ('__proto__' too). */
  function defineEntry(object, key, value) {
    Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
  }

  // Timers of the default clock, wrapped: browsers refuse setTimeout called as
  // another object's method.
  const setTimer = (fn, ms) => setTimeout(fn, ms);
  const clearTimer = (timer) => clearTimeout(timer);

  /** A Flight's timer callback: it reaches the Flight only through `cell` (see Flight). */
  function timerCallback(cell) {
    return () => {
      const flight = cell.flight ?? cell.weak.deref();
      if (flight !== undefined) flight.expire();
    };
  }

  /** Tracks between two replacements of a Flight's ends object (see Flight). */
  const ENDS_REUSE = 64;

  /**
   * The calls of one breaker in flight with a deadline, oldest first (one timeout
   * for all, so insertion order is deadline order), and the one timer that watches
   * them. While calls are in flight the process must stay alive until they end or
   * time out, and no longer: with Node's `host.hold` the timer of the default clock
   * is never referenced and the host keeps the loop alive (two crossings into libuv
   * a call saved: referencing the timer as the first call starts and unreferencing it
   * as the last ends); otherwise the timer is referenced while calls are in flight.
   */
  class Flight {
    constructor(breaker) {
      const clock = breaker._profile.clock;
      this.breaker = breaker;
      // The list's ends, in a small object replaced every ENDS_REUSE tracks: the
      // Flight lives as long as its breaker (V8's old generation in a service), and
      // linking each new call into it directly paid V8's old-to-new write barrier
      // twice a call; the ends object is young while it is used.
      this.ends = { head: null, tail: null };
      this.tracks = 0;
      this.timer = null;
      const own = clock !== null && typeof clock.setTimeout === 'function';
      this.setTimer = own ? clock.setTimeout.bind(clock) : setTimer;
      this.clearTimer = clock !== null && typeof clock.clearTimeout === 'function' ? clock.clearTimeout.bind(clock) : clearTimer;
      // What keeps the process alive while calls are in flight: the host, for timers
      // of the default clock (a caller's timers need not hold anything).
      this.hold = own || host.hold === undefined ? null : host.hold;
      // What the pending timer reaches: this Flight while calls are in flight (a call
      // must time out even if nothing else holds its breaker), else only a WeakRef.
      // An idle breaker nobody holds is then collected with its native state, and its
      // timer cleared (`timers`), instead of living until the timer fires (30 s by
      // default: a breaker per unit of work piled up millions of breakers).
      const cell = { flight: null, weak: new WeakRef(this), timer: null, clearTimer: this.clearTimer };
      this.cell = cell;
      // Made outside this constructor: a closure made here would share its context,
      // which holds `this`.
      this.onTimer = timerCallback(cell);
      timers.register(breaker, cell);
    }

    /** The oldest call in flight, or null. */
    get head() {
      return this.ends.head;
    }

    track(call) {
      // The timeout, not the deadline: a sum of fractions would be a number boxed per call.
      call._timeout = this.breaker._profile.timeoutMs;
      let ends = this.ends;
      if (++this.tracks === ENDS_REUSE) {
        this.tracks = 0;
        ends = this.ends = { head: ends.head, tail: ends.tail };
      }
      const first = ends.tail === null;
      if (first) {
        ends.head = call;
      } else {
        call._prev = ends.tail;
        ends.tail._next = call;
      }
      ends.tail = call;
      if (this.timer === null) this.arm(call._timeout);
      if (first) this.busy(true);
    }

    untrack(call) {
      const ends = this.ends;
      if (call._prev === null) ends.head = call._next;
      else call._prev._next = call._next;
      if (call._next === null) ends.tail = call._prev;
      else call._next._prev = call._prev;
      call._prev = null;
      call._next = null;
      if (ends.head === null) this.busy(false);
    }

    /** Calls are in flight now, or none are any more: what holds the process (and this). */
    busy(on) {
      this.cell.flight = on ? this : null;
      if (this.hold !== null) this.hold(on);
      else if (this.timer !== null) refTimer(this.timer, on);
    }

    /** The timer, for `ms` (armed only with calls in flight): referenced unless the host holds the loop. */
    arm(ms) {
      this.timer = this.cell.timer = this.setTimer(this.onTimer, ms);
      refTimer(this.timer, this.hold === null);
    }

    /** Clears the pending timer: nothing is in flight and the breaker goes, or another replaces it. */
    drop() {
      if (this.timer !== null) this.clearTimer(this.timer);
      this.timer = this.cell.timer = null;
    }

    expire() {
      this.timer = this.cell.timer = null;
      let now;
      try {
        now = this.breaker._now();
      } catch (error) {
        // The caller's clock failed: no deadline can be judged. Every call in flight
        // rejects with the clock's error (its permit handed back), never a crash in a timer.
        while (this.head !== null) {
          const call = this.head;
          call._settled = true;
          this.untrack(call);
          this.breaker._timedOut(call, error);
        }
        return;
      }
      while (this.head !== null && this.head._start + this.head._timeout <= now) {
        const call = this.head;
        call._settled = true;
        this.untrack(call);
        this.breaker._timedOut(call);
      }
      if (this.head !== null) {
        // A listener may have started a call, arming a timer for its deadline: the head's comes first.
        this.drop();
        this.arm(Math.max(1, this.head._start + this.head._timeout - now));
      }
    }
  }

  /** References a timer (Node's; others have no such notion), or not. */
  function refTimer(timer, on) {
    if (typeof timer.ref === 'function') {
      if (on) timer.ref();
      else timer.unref();
    }
  }

  /**
   * `_own`'s settling of a call (`this`, bound: a function bound with no arguments is
   * made and called faster) with a value, or an error (`ownError`).
   */
  function ownValue(value) {
    ownSettle(this._breaker, this, false, value);
  }

  function ownError(error) {
    ownSettle(this._breaker, this, true, error);
  }

  function ownSettle(breaker, call, failed, outcome) {
    if (!breaker._ending(call)) return;
    // A throw here (the caller's clock) rejects the call instead of getting lost.
    try {
      if (!failed) call._resolve(breaker._succeeded(call, outcome));
      else if (breaker._failure(call, outcome)) call._resolve(breaker._runFallback(outcome, call));
      else call._reject(outcome);
    } catch (thrown) {
      call._reject(thrown);
    }
  }

  const NO_HOOKS = Object.freeze({
    fallback: null,
    onStateChange: null,
    onOpen: null,
    onClose: null,
    onHalfOpen: null,
    errorFilter: null,
    isFailureResult: null,
    isFailureResponse: null,
    fetch: null,
    logger: null,
  });

  /**
   * The settling functions of the untimed quiet calls of `breaker` admitted at `start`
   * in `generation`: calls admitted alike settle alike, and under load the clock ticks
   * once a millisecond, so most calls share them instead of making two closures each.
   * A failure answers with `rejecting(error)`.
   */
  function quietBatch(breaker, start, generation) {
    return {
      start,
      generation,
      onValue(value) {
        breaker._pending--;
        return breaker._quietSuccess(start, generation, value);
      },
      onError(error) {
        breaker._pending--;
        if (breaker._failure(new Call(QUIET, generation, start), error)) return breaker._runFallback(error);
        return rejecting(error);
      },
    };
  }

  /**
   * A thenable rejecting with `error`: what a then-callback returns to reject its
   * promise without a throw (V8 walks the stack: ~500 ns) or a rejected promise (Node's
   * unhandled-rejection tracking sees it before it is adopted: more still).
   */
  function rejecting(error) {
    return {
      then(_, reject) {
        reject(error);
      },
    };
  }

  const NO_BATCH = Object.freeze({ start: NaN, generation: NaN, onValue: null, onError: null });

  /**
   * The facade's own options checked (its functions and logger; `clockOf` checks the
   * clock): TypeErrors naming them. Returns the logger (`logger`, else the option's).
   */
  function facadeLogger(options, logger) {
    for (const key of FACADE_FUNCTIONS) {
      const value = options[key];
      if (value !== undefined && value !== null && typeof value !== 'function') {
        throw new TypeError(`invalid option \`${key}\`: must be a function, not ${describe(value)}`);
      }
    }
    if (logger === undefined || logger === null) logger = options.logger;
    if (logger !== undefined && logger !== null && typeof logger !== 'object') {
      throw new TypeError(`logger must be an object with debug/info/warn/error methods, not ${describe(logger)}`);
    }
    return logger;
  }

  /** The facade's callbacks and logger, or the shared empty set (idle breakers stay small). */
  function hooksOf(options, logger) {
    const hooks = {
      fallback: options.fallback || null,
      onStateChange: options.onStateChange || null,
      onOpen: options.onOpen || null,
      onClose: options.onClose || null,
      onHalfOpen: options.onHalfOpen || null,
      errorFilter: options.errorFilter || null,
      isFailureResult: options.isFailureResult || null,
      isFailureResponse: options.isFailureResponse || null,
      fetch: options.fetch || null,
      logger,
    };
    return Object.values(hooks).every((h) => h === null) ? NO_HOOKS : hooks;
  }

  /**
   * What the facade needs of a breaker's options on every call, shared by breakers
   * made in a row with the same ones (idle breakers stay small): the clock (null for
   * the default clock), the call timeout (ms or null), the longest success a quiet
   * breaker may queue (ms), the callbacks and logger, whether a timer reports
   * OPEN → HALF_OPEN (`halfOpenTimer`).
   */
  let lastProfile = null;

  function profileOf(clock, timeoutMs, quietLimit, hooks, settings) {
    const halfOpenTimer = settings.halfOpenTimer === true;
    const windowStats = settings.windowStats === true;
    const p = lastProfile;
    if (p !== null && p.clock === clock && p.timeoutMs === timeoutMs && p.quietLimit === quietLimit && p.hooks === hooks
      && p.halfOpenTimer === halfOpenTimer && p.windowStats === windowStats) return p;
    lastProfile = Object.freeze({ clock, timeoutMs, quietLimit, hooks, halfOpenTimer, windowStats });
    return lastProfile;
  }

  // The pending half-open timer of each breaker made with `halfOpenTimer` that is open
  // (at most one each, none otherwise): kept here, not on every breaker.
  const halfOpenTimers = new Map();

  // Calls waiting for a half-open trial (`halfOpenWait`), by breaker: each asks again
  // when a call of that breaker ends or its state changes (the engine decides).
  const trialWaiters = new Map();

  function wakeTrialWaiters(breaker) {
    const waiting = trialWaiters.get(breaker);
    if (waiting === undefined) return;
    trialWaiters.delete(breaker);
    for (const wake of waiting) wake();
  }

  /** The `clock` option as an object with now() (a function is its own now), or null. */
  function clockOf(clock) {
    if (clock === undefined || clock === null) return null;
    if (typeof clock === 'function') return { now: clock };
    if (typeof clock !== 'object' || typeof clock.now !== 'function') {
      throw new TypeError('invalid option `clock`: must be a function or an object with a now() method returning milliseconds');
    }
    return clock;
  }

  /**
   * A circuit breaker: `execute(fn)` runs `fn` unless the circuit is open; `fetch`
   * runs a request under it. Events: success, failure, timeout, callRejected,
   * fallback, stateChange, circuitOpened, halfOpen, circuitClosed, reset, disabled,
   * enabled.
   */
  class CircuitBreaker extends Base {
    /**
     * `new CircuitBreaker(options[, logger])` or `new CircuitBreaker(name[, options[, logger]])`.
     * @param {object|string} [options] every spelling of the options table, or the name
     * @param {object} [logger] `{debug, info, warn, error}`; with a name first, the options
     */
    constructor(options = {}, logger = undefined, third = undefined) {
      super();
      // EventEmitter makes its listener table on the first on(); an idle breaker
      // need not carry the empty one super() made (a dictionary-mode object).
      this._events = undefined;
      if (typeof options === 'string') {
        const name = options;
        const given = logger === undefined || logger === null ? {} : logger;
        if (typeof given !== 'object' || Array.isArray(given)) throw new TypeError(`options must be an object, not ${describe(given)}`);
        if (given.name !== undefined && given.name !== name) {
          throw new TypeError(`invalid option \`name\`: the breaker is named '${name}' by the first argument`);
        }
        options = { ...given, name };
        logger = third;
      }
      if (options === null || typeof options !== 'object' || Array.isArray(options)) {
        throw new TypeError(`CircuitBreaker: \`name\` must be a string (or give an options object), not ${describe(options)}`);
      }
      const name = options.name === undefined ? 'default' : options.name;
      if (typeof name !== 'string') throw new TypeError(`invalid option \`name\`: must be a string, not ${describe(name)}`);
      const clock = clockOf(options.clock);
      logger = facadeLogger(options, logger);
      // Opt-in tracing (Node: tripwire/otel loads @opentelemetry/api only when asked).
      const tracing = options.tracing === undefined || options.tracing === null || options.tracing === false ? null : options.tracing;
      if (tracing !== null && host.tracing === undefined) throw new TypeError('invalid option `tracing`: not available in this runtime');
      const restore = options[kRestore];
      const adopt = options[kAdopt];
      // Fleet-wide (Node): the `store` option, or TRIPWIRE_STORE_URL's store; null: local.
      const store = host.fleet === undefined ? noStore(options) : host.fleet.storeOf(options, clock, restore !== undefined || adopt !== undefined);
      const now = clock === null ? processNow() : readOwnClock(clock);
      if (adopt !== undefined) this._id = adopt;
      else if (store !== null) this._id = host.fleet.create(this, options, store);
      else this._id = restore === undefined ? engine.create(options, now) : engine.restore(options, restore, now);
      this._store = store;
      if (GATE * this._id + GATE > shared.gates.length) engine.growGates(GATE * this._id + GATE);
      releaser.register(this, this._id);
      this.name = name;
      const settings = engine.settings(this._id);
      // Absent optional fields of an engine object are undefined or null: normalise to null.
      this._profile = profileOf(clock, settings.requestTimeout ?? null, settings.quietLimit ?? Infinity, hooksOf(options, logger || null), settings);
      this._lastError = undefined;
      // Calls in flight with a deadline: made on the first such call (idle breakers stay small).
      this._flight = null;
      // Untimed calls on a quiet breaker still pending (the registry's idle check).
      this._pending = 0;
      // The settling functions of untimed quiet calls admitted at this start and generation.
      this._quietBatch = NO_BATCH;
      // Whether a hook's promise answer was logged (once per breaker).
      this._warnedAsync = false;
      this._regSlot = -1;
      registry.add(name, this);
      if (tracing !== null) host.tracing(this, tracing);
      // Made open (a start state, a snapshot): its half-open timer starts now.
      if (this._profile.halfOpenTimer) this._armHalfOpen();
    }

    /** Builds a breaker from `toJSON()` output (a warm start); `options` adds functions, a clock... */
    static fromJSON(json, options = {}) {
      const data = typeof json === 'string' ? JSON.parse(json) : json;
      if (data === null || typeof data !== 'object' || data.snapshot === undefined) {
        throw new TypeError('fromJSON() needs the output of CircuitBreaker#toJSON()');
      }
      const snapshot = typeof data.snapshot === 'object' && !ArrayBuffer.isView(data.snapshot) ? JSON.stringify(data.snapshot) : data.snapshot;
      const merged = { ...data.options, ...options, [kRestore]: snapshot };
      if (merged.name === undefined && data.name !== undefined) merged.name = data.name;
      delete merged.logger;
      return new CircuitBreaker(merged, options.logger);
    }

    /** A breaker with `options` in the state of `snapshot()`'s output (the engine's format). */
    static restore(name, options, snapshot) {
      return new CircuitBreaker(name, { ...(options ?? {}), [kRestore]: snapshot });
    }

    /** The whole state now, in the engine's format (Node: JSON text; wasm: bytes), for `restore`. */
    snapshot() {
      if (typeof engine.snapshot !== 'function') throw new TypeError('snapshot() is not built into this package');
      return engine.snapshot(this._id, this._now());
    }

    /** The breaker's name (as the errors' `breakerName`). */
    get breakerName() {
      return this.name;
    }

    // ---- the hot path ---------------------------------------------------------

    /**
     * Runs `fn({ signal })` under the breaker and returns its result.
     * @template T
     * @param {(ctx: {signal: AbortSignal}) => T | PromiseLike<T>} fn
     * @returns {Promise<T>}
     */
    execute(fn) {
      if (typeof fn !== 'function') {
        return Promise.reject(new TypeError(`execute() needs a function, not ${describe(fn)}`));
      }
      return this._run(fn, undefined);
    }

    /**
     * `fetch` under the breaker; resolves with the Response untouched. Network errors
     * and timeouts are failures; so is a status ≥ 500 or 429 (the core's rule; the
     * response still resolves), unless `isFailureResponse`/`isFailureResult` says
     * otherwise. The timeout aborts the request; an abort by the caller's own signal
     * rejects with its AbortError and counts as cancelled.
     */
    fetch(input, init = undefined) {
      const theirs = init?.signal ?? (typeof input === 'object' && input !== null ? input.signal : undefined) ?? undefined;
      const fetcher = this._profile.hooks.fetch;
      const timed = this._profile.timeoutMs !== null;
      return this._run((call) => {
        let request = init;
        if (timed) {
          let signal = call.signal;
          // Without AbortSignal.any (older engines) the caller's signal stays: the
          // timeout still rejects and counts, but cannot abort the request itself.
          if (theirs !== undefined) signal = typeof AbortSignal.any === 'function' ? AbortSignal.any([theirs, signal]) : theirs;
          request = init == null ? { signal } : { ...init, signal };
        }
        return fetcher === null ? globalThis.fetch(input, request) : fetcher(input, request);
      }, theirs === undefined ? null : theirs);
    }

    /**
     * The calls of execute (`theirs` undefined) and fetch (the caller's signal, or
     * null), kept as the call's `_theirs`. tripwire/opossum's fire() passes the call's
     * arguments (an array, never `aborted`; its isFailureResponse says no to all).
     */
    _run(fn, theirs) {
      const id = this._id;
      const profile = this._profile;
      let start;
      if (profile.clock === null) {
        start = processNow();
      } else {
        // A clock that throws (or reads garbage) fails the call as a rejection, like
        // everything else execute() reports.
        try {
          start = readOwnClock(profile.clock);
        } catch (error) {
          return Promise.reject(error);
        }
      }
      const gates = shared.gates;
      if (start < gates[GATE * id]) {
        const generation = gates[GATE * id + 1];
        if (profile.timeoutMs === null && theirs === undefined) return this._untimedQuiet(fn, start, generation);
        return this._invoke(new Call(QUIET, generation, start), fn, theirs);
      }
      const code = acquireAt(id, start);
      // A shared breaker's half-open trial: a Promise of the code (the fleet's lease).
      if (typeof code !== 'number') return code.then((leased) => this._admitted(leased, fn, start, theirs));
      return this._admitted(code, fn, start, theirs);
    }

    /** Runs a call admitted (or refused) by a permit code. */
    _admitted(code, fn, start, theirs) {
      if (code < 0) return code === REJECTED_HALF_OPEN_WAIT ? this._waitForTrial(fn, theirs) : this._refuse(code);
      if ((code & 1) === 1) this._transition(OPEN_ELAPSED);
      return this._invoke(new Call(code >> 1, 0, start), fn, theirs);
    }

    _invoke(call, fn, theirs) {
      if (theirs !== undefined) call._theirs = theirs;
      let result;
      try {
        result = fn(call);
      } catch (error) {
        return this._thrown(call, error);
      }
      return this._settle(call, result);
    }

    /** Waits for the half-open trial in flight, then asks for a permit again. */
    _waitForTrial(fn, theirs) {
      return new Promise((resolve) => {
        const waiting = trialWaiters.get(this);
        if (waiting === undefined) trialWaiters.set(this, [resolve]);
        else waiting.push(resolve);
      }).then(() => this._run(fn, theirs));
    }

    /**
     * The common case, a call on a quiet breaker without a timeout: the function gets a
     * shared context (nothing aborts its signal) and a success is queued, no Call made.
     */
    _untimedQuiet(fn, start, generation) {
      let result;
      let plain;
      try {
        result = fn(UNTIMED);
        // Inside the try: a promise may carry a `then` getter of its own.
        plain = result instanceof Promise && result.then === promiseThen;
      } catch (error) {
        return this._thrown(new Call(QUIET, generation, start), error);
      }
      if (!plain) return this._settle(new Call(QUIET, generation, start), result);
      // Chained on `result`. `_pending` counts it in flight (nothing else does for an
      // untimed quiet call).
      this._pending++;
      let batch = this._quietBatch;
      if (batch.start !== start || batch.generation !== generation) batch = this._quietBatch = quietBatch(this, start, generation);
      try {
        return result.then(batch.onValue, batch.onError);
      } catch (error) {
        // A promise whose `constructor` or species throws: the call's failure.
        this._pending--;
        return this._thrown(new Call(QUIET, generation, start), error);
      }
    }

    /** A call ended by throwing (or by a `then` getter throwing). */
    _thrown(call, error) {
      try {
        return this._failure(call, error) ? this._runFallback(error, call) : Promise.reject(error);
      } catch (clockError) {
        return Promise.reject(clockError);
      }
    }

    /** Settles a call on what its function returned: a value, a promise or a thenable. */
    _settle(call, result) {
      let then;
      try {
        // Reading `then` may run a getter: a throw is the call's failure.
        then = result !== null && (typeof result === 'object' || typeof result === 'function') ? result.then : undefined;
      } catch (error) {
        return this._thrown(call, error);
      }
      if (typeof then !== 'function') {
        try {
          return Promise.resolve(this._succeeded(call, result));
        } catch (clockError) {
          return Promise.reject(clockError);
        }
      }
      if (this._profile.timeoutMs === null && then === promiseThen) return this._chain(call, result);
      return this._own(call, result, then);
    }

    /**
     * Nothing but `result` (a real promise) can settle the call: chain on it. A failure
     * answers with `result` itself, already rejected, so the caller's promise takes its
     * rejection without a rethrow (V8 walks the stack on a throw: ~300 ns). Only for
     * real promises: some thenables (query builders) run again on every then().
     * (Its own method: the closures' context is made only on this path.)
     */
    _chain(call, result) {
      try {
        return result.then(
          (value) => this._succeeded(call, value),
          (error) => (this._failure(call, error) ? this._runFallback(error, call) : result),
        );
      } catch (error) {
        // A promise whose `constructor` or species throws: the call's failure.
        return this._thrown(call, error);
      }
    }

    /**
     * A promise of the call's own: a timeout can settle it before `result` does, and a
     * failure rejects it directly (cheaper than rethrowing from a then-callback).
     */
    _own(call, result, then) {
      // The resolving functions go on `call`, which is young: kept in a long-lived
      // variable, every call would pay V8's old-to-new write barrier for them.
      const promise = new Promise((resolve, reject) => {
        call._resolve = resolve;
        call._reject = reject;
      });
      // Bound, not closures: a closure made per call enters V8's CompileLazy on its
      // first (only) call, and needs a context of its own.
      call._breaker = this;
      const onValue = ownValue.bind(call);
      const onError = ownError.bind(call);
      try {
        // Inside the try: a `clock` whose setTimeout throws fails the call (a rejection).
        if (this._profile.timeoutMs !== null) this._track(call);
        else if (call._slot === QUIET) this._pending++;
        // A real promise's then called as a method: V8 inlines it (then.call it does not).
        if (then === promiseThen) result.then(onValue, onError);
        else then.call(result, onValue, onError);
      } catch (error) {
        onError(error);
      }
      return promise;
    }

    /** Marks `call` settled and out of flight; false if it already was (its deadline came first). */
    _ending(call) {
      if (call._settled) return false;
      call._settled = true;
      if (this._profile.timeoutMs !== null) this._untrack(call);
      else if (call._slot === QUIET) this._pending--;
      return true;
    }

    /**
     * Whether a value a call resolved with is a failure: `isFailureResult` decides if
     * given; a fetch `Response` is one when `isFailureResponse` (if given) or the core's
     * HTTP rule (status ≥ 500 or 429) says so; what `fetch()` resolves with is taken
     * as a response if it has a numeric status. A hook that throws says no.
     */
    _failedValue(value, fetched) {
      const hooks = this._profile.hooks;
      if (hooks.isFailureResult !== null) return this._ask('isFailureResult', value);
      if (value === null || typeof value !== 'object') return false;
      try {
        if (fetched ? typeof value.status !== 'number' : !isResponse(value)) return false;
        if (hooks.isFailureResponse !== null) return this._ask('isFailureResponse', value);
        return engine.httpFailure(value.status);
      } catch {
        // A `status` getter that throws: a value, not a failure (the call is recorded).
        return false;
      }
    }

    /** Records a value; returns it. The transition's events, then the outcome's. */
    _succeeded(call, value) {
      let outcome = SUCCESS;
      if ((typeof value === 'object' || this._profile.hooks.isFailureResult !== null) && this._failedValue(value, call._theirs !== undefined)) outcome = FAILURE;
      const code = outcome === SUCCESS && call._slot === QUIET
        ? this._quietRecord(call._start, call._generation)
        : this._record(call, outcome);
      if (code !== 0) this._transition(code, outcome === SUCCESS ? 'success' : 'failure');
      if (outcome === SUCCESS) {
        if (this._profile.hooks.logger !== null || this._listens('success')) this._reportSuccess(call._start);
      } else {
        this._lastError = value !== null && typeof value === 'object' && typeof value.status === 'number' && this._profile.hooks.isFailureResult === null ? `HTTP ${value.status}` : 'failure result';
        if (this._profile.hooks.logger !== null || this._listens('failure')) this._reportFailure(call, value);
      }
      return value;
    }

    /** _succeeded for a quiet call on a breaker without hooks (the common case). */
    _quietSuccess(start, generation, value) {
      if (this._profile.hooks !== NO_HOOKS || (value !== null && typeof value === 'object')) {
        return this._succeeded(new Call(QUIET, generation, start), value);
      }
      const code = this._quietRecord(start, generation);
      if (code !== 0) this._transition(code, 'success');
      if (this._listens('success')) this._reportSuccess(start);
      return value;
    }

    /**
     * Records a quiet call's success now: queued for the engine if within the quiet
     * limit (no crossing), else recorded at once. Returns the transition code.
     */
    _quietRecord(start, generation) {
      const end = this._now();
      if (end - start <= this._profile.quietLimit && queueSuccess(this._id, generation, start, end)) return 0;
      return recordQuietAt(this._id, generation, start, SUCCESS, end);
    }

    /** Records an error; returns whether the fallback answers it (else it propagates). */
    _failure(call, error) {
      if (call._theirs !== undefined && call._theirs !== null && call._theirs.aborted) {
        // fetch: the caller's own abort is not the upstream's failure (and no fallback).
        this._record(call, CANCELLED);
        return false;
      }
      if (this._profile.hooks.errorFilter !== null && this._ask('errorFilter', error)) {
        this._record(call, IGNORED);
        return false;
      }
      const code = this._record(call, FAILURE);
      this._lastError = errorMessage(error);
      if (code !== 0) this._transition(code, 'failure');
      if (this._profile.hooks.logger !== null || this._listens('failure')) this._reportFailure(call, error);
      return this._profile.hooks.fallback !== null;
    }

    /** isFailureResult(value), a throw counting as "not a failure" (the value still goes to the caller). */
    /**
     * The answer of hook `name` (isFailureResult, isFailureResponse, errorFilter) about
     * `value`. One that throws says no. One that answers a promise says no too (it
     * cannot be waited for: a pending promise is not an answer), and the log says so,
     * once per breaker: a Promise is truthy, and taken as yes it counted every 200 as a
     * failure (or every error as filtered).
     */
    _ask(name, value) {
      let answer;
      try {
        answer = this._profile.hooks[name].call(this, value);
      } catch {
        return false;
      }
      if (answer !== null && typeof answer === 'object' && typeof answer.then === 'function') {
        if (!this._warnedAsync) {
          this._warnedAsync = true;
          this._logEvent('warn', `tripwire: \`${name}\` of '${this.name}' answered a promise, taken as false`, { breaker: this.name });
        }
        return false;
      }
      return Boolean(answer);
    }

    /** Hands `call`'s permit back as cancelled, dated at its start (when no clock can be read). */
    _cancelAtStart(call) {
      if (call._slot === QUIET) {
        recordQuietAt(this._id, call._generation, call._start, CANCELLED, call._start);
        return;
      }
      recordAt(this._id, call._slot, CANCELLED, call._start);
      if (trialWaiters.size !== 0) wakeTrialWaiters(this);
    }

    /** Records `call`'s outcome now; returns the transition code. */
    _record(call, outcome) {
      let now;
      try {
        now = this._now();
      } catch (error) {
        // The caller's clock failed: hand the permit back (at the call's start) so that
        // a half-open trial is not lost, then report the clock's error.
        this._cancelAtStart(call);
        throw error;
      }
      if (call._slot === QUIET) {
        // A failure that cannot trip is queued like a quiet success, if the engine can.
        if (outcome === FAILURE && queueFailure(this._id, call._generation, call._start, now)) return 0;
        return recordQuietAt(this._id, call._generation, call._start, outcome, now);
      }
      const code = recordAt(this._id, call._slot, outcome, now);
      // A trial may have ended: callers waiting for it ask again.
      if (trialWaiters.size !== 0) wakeTrialWaiters(this);
      return code;
    }

    /** The CircuitBreakerOpenError of a refusal code (emits callRejected). */
    _refusal(code) {
      const halfOpen = code === REJECTED_HALF_OPEN || code === REJECTED_HALF_OPEN_WAIT;
      const state = halfOpen ? CircuitState.HALF_OPEN : CircuitState.OPEN;
      const retryAfter = code === REJECTED_FORCED ? null : halfOpen ? 0 : REJECTED_OPEN - code;
      const error = refusal(this.name, state, retryAfter);
      if (this._listens('callRejected')) this._emit('callRejected', { error, state });
      return error;
    }

    /** The refusal of a call: the fallback's answer, or a rejected CircuitBreakerOpenError. */
    _refuse(code) {
      const error = this._refusal(code);
      if (this._profile.hooks.fallback !== null) return this._runFallback(error);
      if (deferRefusals) return new Promise((resolve, reject) => queueMicrotask(() => reject(error)));
      return Promise.reject(error);
    }

    /**
     * The fallback's answer to `error`, the failure of `call` (undefined for a refusal
     * or an untimed quiet call). tripwire/opossum overrides it, and reads the call.
     */
    _runFallback(error, call) {
      if (this._profile.windowStats) engine.recordFallback(this._id, this._now());
      if (this._listens('fallback')) this._emit('fallback', { error });
      try {
        return Promise.resolve(this._profile.hooks.fallback.call(this, error));
      } catch (fallbackError) {
        return Promise.reject(fallbackError);
      }
    }

    // ---- timeouts: one timer per breaker, only while calls are in flight -------

    /** Now on the breaker's clock: the caller's (checked), or the default clock (ms). */
    _now() {
      return this._profile.clock === null ? processNow() : readOwnClock(this._profile.clock);
    }

    _track(call) {
      if (this._flight === null) this._flight = new Flight(this);
      this._flight.track(call);
    }

    _untrack(call) {
      this._flight.untrack(call);
    }

    _timedOut(call, clockError = undefined) {
      const own = call[kOnTimeout];
      if (clockError !== undefined) {
        // A service call: the service ends it with its engine.
        if (own !== undefined) {
          own(clockError, true);
          return;
        }
        this._cancelAtStart(call);
        call._reject(clockError);
        return;
      }
      const error = withoutStack(() => new CircuitBreakerTimeoutError(this._profile.timeoutMs, this.name));
      if (own !== undefined) {
        // A service call: the service records the timeout with its engine.
        if (call._controller !== null) call._controller.abort(error);
        if (this._listens('timeout')) this._emit('timeout', { error, timeout: this._profile.timeoutMs });
        own(error);
        return;
      }
      let code;
      try {
        code = this._record(call, TIMEOUT);
      } catch (clockError) {
        call._reject(clockError);
        return;
      }
      this._lastError = error.message;
      if (call._controller !== null) call._controller.abort(error);
      if (code !== 0) this._transition(code, 'timeout');
      if (this._listens('timeout')) this._emit('timeout', { error, timeout: this._profile.timeoutMs });
      if (this._profile.hooks.logger !== null || this._listens('failure')) this._reportFailure(call, error);
      if (this._profile.hooks.fallback !== null) call._resolve(this._runFallback(error, call));
      else call._reject(error);
    }

    // ---- events ---------------------------------------------------------------

    /** Whether anyone listens to `type` (cheap: payloads are built only if so). */
    _listens(type) {
      const events = this._events;
      return events !== undefined && events[type] !== undefined;
    }

    /** Emits without letting a listener's exception break the call. */
    _emit(type, ...args) {
      try {
        this.emit(type, ...args);
      } catch (error) {
        this._log('error', `Circuit breaker '${this.name}': a '${type}' listener threw: ${errorMessage(error)}`);
      }
    }

    _log(level, message) {
      const logger = this._profile.hooks.logger;
      if (logger === null || typeof logger[level] !== 'function') return;
      try {
        logger[level](message);
      } catch {
        // A logger's failure is not the call's.
      }
    }

    _callback(fn, ...args) {
      if (fn === null) return;
      try {
        fn(...args);
      } catch (error) {
        this._log('error', `Circuit breaker '${this.name}': a callback threw: ${errorMessage(error)}`);
      }
    }

    _reportSuccess(start) {
      const responseTime = this._now() - start;
      this._log('debug', `${this.name} call succeeded in ${responseTime}ms`);
      if (this._listens('success')) this._emit('success', { responseTime, state: this.getState() });
    }

    _reportFailure(call, error) {
      const responseTime = this._now() - call._start;
      this._log('warn', `${this.name} call failed: ${errorMessage(error)}`);
      if (this._listens('failure')) this._emit('failure', { error, responseTime, state: this.getState() });
    }

    /**
     * A line for tripwire's logger (this breaker's, else its service's, else the one of
     * setLogger() / TRIPWIRE_LOG): transitions and store episodes, never per call.
     */
    _logEvent(level, message, fields) {
      const logger = this._profile.hooks.logger ?? this[kLogger] ?? processLogger;
      if (logger === null || logger === undefined || typeof logger[level] !== 'function') return;
      try {
        logger[level](message, fields);
      } catch {
        // A logger's failure is not the call's.
      }
    }

    /**
     * Turns an engine transition code into events, callbacks and a log line; returns
     * the transition. `by`: the outcome of the call that made it ('failure',
     * 'timeout', 'success', ...), for the log line; undefined for any other.
     */
    _transition(code, by = undefined) {
      const transition = transitionOf(code);
      // Before the events: a listener may change the state again (and re-arm).
      if (this._profile.halfOpenTimer || halfOpenTimers.has(this)) this._armHalfOpen();
      if (trialWaiters.size !== 0) wakeTrialWaiters(this);
      const { from, to } = transition;
      if (from === to) return transition;
      const fields = { event: 'transition', breaker: this.name, from, to, cause: causeOf(code) };
      // A success that opens the circuit was slow (slow calls count as failures).
      if (by !== undefined) fields.outcome = by === 'success' && to === CircuitState.OPEN ? 'slowCall' : by;
      this._emit('stateChange', from, to);
      if (this[kOnTransition] !== undefined) this[kOnTransition](code);
      this._callback(this._profile.hooks.onStateChange, from, to, this.name);
      if (to === CircuitState.OPEN) {
        this._logEvent('warn', `Circuit breaker '${this.name}' opened`, fields);
        if (this._listens('circuitOpened')) {
          const stats = engine.stats(this._id, this._now());
          this._emit('circuitOpened', {
            name: this.name,
            previousState: from,
            failureCount: stats.failures,
            nextAttemptTime: stats.nextAttemptAt == null ? 0 : this._epoch(stats.nextAttemptAt),
          });
        }
        this._callback(this._profile.hooks.onOpen);
      } else if (to === CircuitState.CLOSED) {
        this._logEvent('info', `Circuit breaker '${this.name}' closed`, fields);
        if (this._listens('circuitClosed')) {
          const stats = engine.stats(this._id, this._now());
          this._emit('circuitClosed', { name: this.name, previousState: from, successCount: stats.successes });
        }
        this._callback(this._profile.hooks.onClose);
      } else {
        this._logEvent('info', `Circuit breaker '${this.name}' half-open`, fields);
        this._emit('halfOpen', { name: this.name, previousState: from });
        this._callback(this._profile.hooks.onHalfOpen);
      }
      return transition;
    }

    /**
     * (Re)sets the half-open timer to when the engine says (`halfOpenAt`): one timer
     * while open, none otherwise. It fires `elapse`, whose OPEN → HALF_OPEN emits the
     * usual events; Node's timer is unref'd (an open breaker never holds the process).
     */
    _armHalfOpen() {
      const clock = this._profile.clock;
      const own = clock !== null && typeof clock.setTimeout === 'function';
      const pending = halfOpenTimers.get(this);
      if (pending !== undefined) {
        halfOpenTimers.delete(this);
        if (own && typeof clock.clearTimeout === 'function') clock.clearTimeout(pending);
        else clearTimer(pending);
      }
      const due = engine.halfOpenAt(this._id);
      if (due == null) return;
      const fire = () => {
        halfOpenTimers.delete(this);
        // The default clock's timers run on the event loop's millisecond clock, which
        // lags this one by up to a millisecond: one that fires less than that before
        // `due` is on time (set again, it would run after a timer set later for the
        // same moment). Earlier (a loop turn that ran long before it was set), it is
        // set again.
        const now = this._now();
        const code = engine.elapse(this._id, !own && due - now < 1 ? Math.max(now, due) : now);
        if (code !== 0) this._transition(code);
        else this._armHalfOpen();
      };
      // At most what a JavaScript timer holds (a longer delay fires at once, over and
      // over): an open period past 24.8 days is waited out in steps.
      const delay = Math.min(Math.max(0, due - this._now()), JS_TIMER_LIMIT_MS);
      const timer = own ? clock.setTimeout(fire, delay) : setTimer(fire, delay);
      if (typeof timer?.unref === 'function') timer.unref();
      halfOpenTimers.set(this, timer);
    }

    // ---- reading --------------------------------------------------------------

    _epoch(ms) {
      return this._profile.clock === null ? EPOCH_BASE + ms : ms;
    }

    /** The effective state: HALF_OPEN once the open duration has passed, before any call. */
    getState() {
      return STATES[engine.state(this._id, this._now())];
    }

    /** The effective state (as getState()). */
    get state() {
      return this.getState();
    }

    /** Whether calls are refused right now (OPEN). */
    get opened() {
      return this.getState() === CircuitState.OPEN;
    }

    /** Counters, rates and timings; totals since construction or the last reset(). */
    getStats() {
      const s = engine.stats(this._id, this._now());
      return {
        name: this.name,
        state: STATES[s.state],
        failureCount: s.failures,
        successCount: s.successes,
        totalRequests: s.requests,
        failureRate: s.failureRate,
        totalCalls: s.requests + s.rejected + s.ignored,
        totalFailures: s.failures,
        totalSuccesses: s.successes,
        totalTimeouts: s.timeouts,
        rejectedCount: s.rejected,
        ignoredCount: s.ignored,
        slowCallCount: s.slowCalls,
        slowCallRate: s.slowCallRate,
        consecutiveFailures: s.consecutiveFailures,
        consecutiveSuccesses: s.consecutiveSuccesses,
        failureStreak: s.failureStreak,
        windowCalls: s.windowCalls,
        windowFailures: s.windowFailures,
        trips: s.trips,
        averageResponseTime: s.meanLatency,
        latencyP50: s.latencyP50 ?? null,
        latencyP90: s.latencyP90 ?? null,
        latencyP99: s.latencyP99 ?? null,
        lastError: this._lastError,
        lastFailureTime: s.lastFailureAt == null ? null : this._epoch(s.lastFailureAt),
        lastSuccessTime: s.lastSuccessAt == null ? null : this._epoch(s.lastSuccessAt),
        nextAttemptTime: s.nextAttemptAt == null ? 0 : this._epoch(s.nextAttemptAt),
        forcedOpen: s.forcedOpen,
        disabled: s.disabled,
        options: this.getOptions(),
        ...(this._store === null ? undefined : host.fleet.stats(this._id)),
      };
    }

    /** The same as getStats(). */
    stats() {
      return this.getStats();
    }

    /**
     * The windowed statistics (`windowStats: true`), or null: per bucket of the time
     * window, oldest first, and summed, the successes, failures, rejects, timeouts and
     * fallbacks; the mean latency and latency percentiles (ms, keyed 0 … 1) over the
     * window. Transitions keep them; reset() clears them.
     */
    windowStats() {
      // Not built into the browser package (the option is refused there).
      if (typeof engine.windowStats !== 'function') return null;
      const w = engine.windowStats(this._id, this._now());
      if (w == null) return null;
      const percentiles = {};
      // The fractions are the core's (tripwire_core::PERCENTILES), sent beside the values.
      w.quantiles.forEach((q, i) => { percentiles[q] = w.percentiles[i] ?? null; });
      return { bucketWidth: w.bucketWidth, buckets: w.buckets, ...w.total, latencyMean: w.latencyMean, percentiles };
    }

    /** The options in force: what was given (JSON-safe), with every default resolved. */
    getOptions() {
      const s = engine.settings(this._id);
      return {
        name: this.name,
        failureThreshold: s.failureThreshold,
        minimumRequests: s.minimumRequests,
        recoveryTimeout: s.recoveryTimeout,
        requestTimeout: s.requestTimeout ?? null,
        successThreshold: s.successThreshold,
        halfOpenMaxCalls: s.halfOpenMaxCalls,
        monitoringWindow: s.monitoringWindow ?? null,
        countWindow: s.countWindow ?? null,
        expectedResponseTime: s.expectedResponseTime ?? null,
        slowCallRateThreshold: s.slowCallRateThreshold ?? null,
        ignoredAsSuccess: s.ignoredAsSuccess,
        strictRateThreshold: s.strictRateThreshold,
        rejectsInRate: s.rejectsInRate,
        keepWindow: s.keepWindow,
        halfOpenTimer: s.halfOpenTimer,
        halfOpenWait: s.halfOpenWait,
        windowStats: s.windowStats,
      };
    }

    /** The core options in force as an options object (every default explicit), for toJSON(). */
    _coreOptions() {
      const s = engine.settings(this._id);
      const o = {
        failureThreshold: s.failureThreshold,
        minimumRequests: s.minimumRequests,
        recoveryTimeout: s.recoveryTimeout,
        requestTimeout: s.requestTimeout ?? false,
        successThreshold: s.successThreshold,
        halfOpenMaxCalls: s.halfOpenMaxCalls,
        seed: s.seed,
      };
      if (s.countWindow != null) o.countWindow = s.countWindow;
      else Object.assign(o, { monitoringWindow: s.monitoringWindow, windowBuckets: s.windowBuckets });
      if (s.expectedResponseTime != null) o.expectedResponseTime = s.expectedResponseTime;
      if (s.slowCallRateThreshold != null) o.slowCallRateThreshold = s.slowCallRateThreshold;
      if (s.backoffMultiplier != null) {
        Object.assign(o, { backoffMultiplier: s.backoffMultiplier, maxRecoveryTimeout: s.maxRecoveryTimeout, backoffJitter: s.backoffJitter });
      }
      if (s.ignoredAsSuccess) o.ignoredAsSuccess = true;
      if (s.strictRateThreshold) o.strictRateThreshold = true;
      if (s.rejectsInRate) o.rejectsInRate = true;
      if (s.keepWindow) o.keepWindow = true;
      if (s.halfOpenTimer) o.halfOpenTimer = true;
      if (s.halfOpenWait) o.halfOpenWait = true;
      if (s.windowStats) o.windowStats = true;
      return o;
    }

    // ---- manual control -------------------------------------------------------

    _control(op) {
      return this._transition(engine.control(this._id, op, this._now()));
    }

    /** Opens the circuit until close() or reset(). */
    open() {
      return this._control(OP_OPEN);
    }

    /** Opens the circuit as if it had tripped: it half-opens after the open duration. */
    trip() {
      return this._control(OP_TRIP);
    }

    /** Half-opens the circuit now: the next calls are trials (forced half-open). */
    forceHalfOpen() {
      return this._control(OP_HALF_OPEN);
    }

    /** Closes the circuit and clears its window; totals are kept. */
    close() {
      return this._control(OP_CLOSE);
    }

    /** Back to a new breaker: closed, window and totals cleared. */
    reset() {
      const transition = this._control(OP_RESET);
      this._lastError = undefined;
      this._emit('reset', { name: this.name });
      return transition;
    }

    /** Always permits (still counts, never trips) until enable(). */
    disable() {
      const transition = this._control(OP_DISABLE);
      this._emit('disabled', { name: this.name });
      return transition;
    }

    /** Applies the rules again after disable(). */
    enable() {
      const transition = this._control(OP_ENABLE);
      this._emit('enabled', { name: this.name });
      return transition;
    }

    // ---- permits: the low-level API --------------------------------------------

    /**
     * Asks for a permit without running anything. Returns a Permit to end with
     * success()/failure()/timeout()/ignore()/cancel() (or `record(permit, outcome)`),
     * or (returned, not thrown) the CircuitBreakerOpenError that execute() would raise.
     */
    tryAcquire() {
      const now = this._now();
      let code = acquireAt(this._id, now);
      if (typeof code !== 'number') {
        // A shared breaker's trial needs the fleet's lease, which cannot be awaited
        // here: refused as a full half-open (execute() awaits it); a granted lease is
        // handed back.
        code.then((leased) => leased >= 0 && recordAt(this._id, leased >> 1, CANCELLED, now));
        code = REJECTED_HALF_OPEN;
      }
      if (code < 0) return this._refusal(code);
      const transition = (code & 1) === 1 ? this._transition(OPEN_ELAPSED) : null;
      return new Permit(this, code >> 1, transition, now);
    }

    /** As tryAcquire(), but a refusal is thrown. */
    acquire() {
      const permit = this.tryAcquire();
      if (permit instanceof Error) throw permit;
      return permit;
    }

    /**
     * Ends a permit of this breaker with `outcome` ('success' | 'failure' | 'timeout' |
     * 'ignored' | 'cancelled'); returns the transition it caused, or undefined. A
     * permit of another breaker, one already ended, or an unknown outcome is a
     * TypeError, and the permit stays usable.
     */
    record(permit, outcome) {
      if (!(permit instanceof Permit)) throw new TypeError(`record() needs a Permit from acquire(), not ${describe(permit)}`);
      if (permit._breaker !== this) throw new TypeError(`record(): this permit belongs to breaker '${permit._breaker.name}', not '${this.name}'`);
      const code = RECORD_OUTCOMES[outcome];
      if (typeof outcome !== 'string' || code === undefined || !Object.hasOwn(RECORD_OUTCOMES, outcome)) {
        throw new TypeError(`record(): the outcome must be 'success', 'failure', 'timeout', 'ignored' or 'cancelled', not ${typeof outcome === 'string' ? `'${outcome}'` : describe(outcome)}`);
      }
      if (permit._done) throw new TypeError('record(): this permit was already recorded');
      return permit._end(code) ?? undefined;
    }

    // ---- the internal interface (internal.js): what the resilience service uses ----

    get [kId]() {
      return this._id;
    }

    get [kHooked]() {
      const h = this._profile.hooks;
      return h.fallback !== null || h.errorFilter !== null || h.isFailureResult !== null || h.logger !== null;
    }

    get [kTimeoutMs]() {
      return this._profile.timeoutMs;
    }

    get [kReportsSuccess]() {
      return this._profile.hooks.logger !== null || this._listens('success');
    }

    [kTransition](code, outcome) {
      return this._transition(code, outcome);
    }

    [kRefusal](code) {
      return this._refusal(code);
    }

    [kTrack](call) {
      this._track(call);
    }

    [kUntrack](call) {
      this._untrack(call);
    }

    [kQuietRecord](start, generation) {
      return this._quietRecord(start, generation);
    }

    [kSucceeded](start) {
      this._reportSuccess(start);
    }

    [kFailed](call, error) {
      this._lastError = errorMessage(error);
      if (this._profile.hooks.logger !== null || this._listens('failure')) this._reportFailure(call, error);
    }

    [kRefresh]() {
      const settings = engine.settings(this._id);
      const p = this._profile;
      this._profile = profileOf(p.clock, settings.requestTimeout ?? null, settings.quietLimit ?? Infinity, p.hooks, settings);
      this._armHalfOpen();
      if (this._flight !== null && this._flight.head === null) {
        this._flight.drop();
        this._flight = null;
      }
    }

    [kRelease]() {
      if (this._flight !== null && this._flight.head === null) {
        this._flight.drop();
        this._flight = null;
      }
    }

    // ---- warm start -----------------------------------------------------------

    /** The whole state (name, options, snapshot), for CircuitBreaker.fromJSON(). */
    toJSON() {
      const json = { name: this.name, state: this.getState(), options: this._coreOptions() };
      // The browser package leaves snapshots out: JSON.stringify of anything holding a
      // breaker must not throw there.
      if (typeof engine.snapshot !== 'function') return json;
      const snapshot = this.snapshot();
      json.snapshot = typeof snapshot === 'string' ? JSON.parse(snapshot) : Array.from(snapshot);
      return json;
    }
  }

  // A transition's `by` (see _transition): the name of the outcome that made it.
  const OUTCOME_BY = { [SUCCESS]: 'success', [FAILURE]: 'failure', [TIMEOUT]: 'timeout', [IGNORED]: 'ignored', [CANCELLED]: 'cancelled' };
  const PERMIT_OUTCOMES = { success: SUCCESS, failure: FAILURE, timeout: TIMEOUT, ignore: IGNORED, cancel: CANCELLED };
  const RECORD_OUTCOMES = { success: SUCCESS, failure: FAILURE, timeout: TIMEOUT, ignored: IGNORED, cancelled: CANCELLED };

  /** Leave to run one call, from CircuitBreaker#tryAcquire(). End it exactly once. */
  class Permit {
    constructor(breaker, slot, transition, issuedAt) {
      this._breaker = breaker;
      this._slot = slot;
      this._done = false;
      /** The transition this acquire caused (OPEN → HALF_OPEN), or null. */
      this.transition = transition;
      /** When it was issued, in ms of the breaker's clock. */
      this.issuedAt = issuedAt;
      this._trial = undefined;
    }

    /** Whether this is a half-open trial call. */
    get trial() {
      if (this._trial === undefined) this._trial = this._done ? false : Boolean(engine.permitTrial(this._breaker._id, this._slot));
      return this._trial;
    }

    _end(outcome) {
      if (this._done) throw new Error('this permit was already ended');
      if (this._trial === undefined) this._trial = Boolean(engine.permitTrial(this._breaker._id, this._slot));
      this._done = true;
      const code = this._breaker._record(this, outcome);
      return code === 0 ? null : this._breaker._transition(code, OUTCOME_BY[outcome]);
    }

    /** The call succeeded; returns the transition it caused, or null. */
    success() {
      return this._end(PERMIT_OUTCOMES.success);
    }

    /** The call failed. */
    failure(error = undefined) {
      if (error !== undefined) this._breaker._lastError = errorMessage(error);
      return this._end(PERMIT_OUTCOMES.failure);
    }

    /** The call timed out (a failure, also counted as a timeout). */
    timeout() {
      return this._end(PERMIT_OUTCOMES.timeout);
    }

    /** The outcome does not count (hands a half-open trial back). */
    ignore() {
      return this._end(PERMIT_OUTCOMES.ignore);
    }

    /** The call never ran to an end (hands a half-open trial back). */
    cancel() {
      return this._end(PERMIT_OUTCOMES.cancel);
    }
  }

  // ---- the registry and its helpers -------------------------------------------

  function checkCapacity(what, value) {
    if (typeof value !== 'number') throw new TypeError(`${what} must be a number, not ${describe(value)}`);
    if (!Number.isInteger(value) || value < 1 || value > 0xffffffff) {
      throw new RangeError(`${what} must be a whole number ≥ 1, not ${value}`);
    }
    return value;
  }

  /**
   * Every breaker by name: each registers when constructed (a later one replaces the
   * entry). Bounded: past `capacity` names (default 10,000) registering a new name
   * evicts an idle entry (closed, not forced, nothing in flight; core/src/evict.rs),
   * counted in `evictions` and announced by an `evict` event. An evicted breaker keeps
   * working for whoever holds it; the registry just forgets it.
   */
  const circuitBreakerRegistry = {
    /** How many names the registry keeps before it evicts idle ones (default 10,000). */
    get capacity() {
      return registry.stats()[1];
    },
    set capacity(value) {
      engine.evictionSetCapacity(registry.id(), checkCapacity('circuitBreakerRegistry.capacity', value));
    },
    /** Entries evicted to keep the bound, since the process started. */
    get evictions() {
      return registry.stats()[2];
    },
    /** Listens to `evict` ({ name, breaker }): an idle entry was dropped to keep the bound. */
    on(type, listener) {
      registryEvents.on(type, listener);
      return this;
    },
    once(type, listener) {
      registryEvents.once(type, listener);
      return this;
    },
    off(type, listener) {
      registryEvents.off(type, listener);
      return this;
    },
    /** The breaker registered under `name`, or undefined. */
    get(name) {
      return breakers.get(name);
    },
    /** Whether a breaker is registered under `name`. */
    has(name) {
      return breakers.has(name);
    },
    /** Every registered breaker. */
    getAll() {
      return Array.from(breakers.values());
    },
    /** The stats of every registered breaker. */
    getAllStats() {
      return Array.from(breakers.values(), (breaker) => breaker.getStats());
    },
    /** Resets every registered breaker. */
    resetAll() {
      for (const breaker of breakers.values()) breaker.reset();
    },
    /** Removes the breaker registered under `name`; returns whether there was one. */
    remove(name) {
      const breaker = breakers.get(name);
      if (breaker === undefined) return false;
      breakers.delete(name);
      if (breaker._regSlot >= 0) {
        engine.evictionRemove(registry.id(), breaker._regSlot);
        registry.slotNames[breaker._regSlot] = undefined;
        breaker._regSlot = -1;
      }
      return true;
    },
    /** Forgets every breaker (they keep working for whoever holds them). */
    clear() {
      registry.clear();
    },
    /** Number of registered breakers. */
    get size() {
      return breakers.size;
    },
  };

  function checkName(name) {
    if (typeof name !== 'string') throw new TypeError(`the breaker name must be a string, not ${describe(name)}`);
  }

  /** The breaker registered under `name`, or a new one built with `options` (then registered). */
  function createCircuitBreaker(name, options = {}) {
    checkName(name);
    const existing = breakers.get(name);
    if (existing !== undefined) return existing;
    return new CircuitBreaker({ ...options, name });
  }

  /** Runs `fn` under the breaker registered as `name` (created with `options` if new). */
  function withCircuitBreaker(name, fn, options = {}) {
    return createCircuitBreaker(name, options).execute(fn);
  }

  /**
   * A breaker for an external service with these defaults: trips at a 50 % failure
   * rate over at least 10 calls, 30 s call timeout, 60 s open; and a fallback.
   */
  function createExternalServiceCircuitBreaker(name, fallback = undefined, options = {}) {
    checkName(name);
    return new CircuitBreaker({
      failureThreshold: 0.5,
      minimumRequests: 10,
      timeout: 30000,
      resetTimeout: 60000,
      ...options,
      name,
      ...(fallback === undefined ? {} : { fallback }),
    });
  }

  /** The stats of every registered breaker, keyed by name. */
  function getAllCircuitBreakerStats() {
    const all = {};
    // defineProperty: any string is a name ('__proto__' and 'constructor' too).
    for (const [name, breaker] of breakers) defineEntry(all, name, breaker.getStats());
    return all;
  }

  /** Makes and keeps breakers by name: create() returns the existing one for a known name. */
  class CircuitBreakerFactory {
    /** @param {object} [logger] passed to every breaker it makes */
    constructor(logger = undefined) {
      this._logger = logger;
      this._breakers = new Map();
    }

    /** The factory's breaker named `config.name`, or a new one with `config`. */
    create(config) {
      if (config === null || typeof config !== 'object') throw new TypeError(`config must be an object, not ${describe(config)}`);
      checkName(config.name);
      const existing = this._breakers.get(config.name);
      if (existing !== undefined) return existing;
      const breaker = new CircuitBreaker(config, this._logger);
      this._breakers.set(config.name, breaker);
      return breaker;
    }

    /** The factory's breaker named `name`, or undefined. */
    get(name) {
      return this._breakers.get(name);
    }

    /** A copy of the factory's breakers by name. */
    getAll() {
      return new Map(this._breakers);
    }

    /** Resets the breaker named `name`, if any. */
    reset(name) {
      const breaker = this._breakers.get(name);
      if (breaker !== undefined) breaker.reset();
    }

    /** Resets every breaker of this factory. */
    resetAll() {
      for (const breaker of this._breakers.values()) breaker.reset();
    }
  }

  /** Reports every breaker (its factory's and the registry's) to a metric streamer, on demand or on an interval. */
  class CircuitBreakerMonitor {
    /**
     * @param {CircuitBreakerFactory} factory
     * @param {{streamMetrics(metrics: object[]): unknown}} metricStreamer
     */
    constructor(factory, metricStreamer) {
      if (!factory || typeof factory.getAll !== 'function') throw new TypeError('factory must be a CircuitBreakerFactory');
      if (!metricStreamer || typeof metricStreamer.streamMetrics !== 'function') {
        throw new TypeError('metricStreamer must have a streamMetrics(metrics) method');
      }
      this._factory = factory;
      this._streamer = metricStreamer;
      this._interval = null;
    }

    /**
     * The metrics of every breaker now (one CircuitBreakerMetric event per breaker): the
     * factory's, then every other breaker of the registry (services' included), each once.
     */
    collectMetrics() {
      const timestamp = Date.now();
      const metrics = [];
      const all = new Map();
      const seen = new Set();
      for (const [name, breaker] of this._factory.getAll()) {
        all.set(name, breaker);
        seen.add(breaker);
      }
      const others = [];
      for (const [name, breaker] of breakers) if (!seen.has(breaker)) others.push([name, breaker]);
      const report = (breaker, name) => {
        const stats = breaker.getStats();
        metrics.push({
          eventType: 'CircuitBreakerMetric',
          timestamp,
          breakerName: name,
          state: stats.state,
          totalCalls: stats.totalCalls,
          totalFailures: stats.totalFailures,
          totalSuccesses: stats.totalSuccesses,
          totalTimeouts: stats.totalTimeouts,
          rejectedCount: stats.rejectedCount,
          averageResponseTime: stats.averageResponseTime,
          failureRate: stats.totalCalls > 0 ? (stats.totalFailures / stats.totalCalls) * 100 : 0,
          successRate: stats.totalCalls > 0 ? (stats.totalSuccesses / stats.totalCalls) * 100 : 0,
        });
      };
      all.forEach(report);
      for (const [name, breaker] of others) report(breaker, name);
      return metrics;
    }

    /** Sends the metrics of every breaker to the streamer (nothing when there is no breaker). */
    async reportMetrics() {
      const metrics = this.collectMetrics();
      if (metrics.length > 0) await this._streamer.streamMetrics(metrics);
    }

    /** Reports every `intervalMs`; the timer does not keep the process alive. */
    startMonitoring(intervalMs = 60000) {
      if (typeof intervalMs !== 'number' || !(intervalMs > 0) || !Number.isFinite(intervalMs)) {
        throw new RangeError('startMonitoring() needs a positive number of milliseconds');
      }
      this.stopMonitoring();
      this._interval = setInterval(() => {
        this.reportMetrics().catch((error) => console.error('Failed to report circuit breaker metrics:', error));
      }, intervalMs);
      this._interval.unref?.();
    }

    /** Stops the reports started by startMonitoring(). */
    stopMonitoring() {
      if (this._interval !== null) {
        clearInterval(this._interval);
        this._interval = null;
      }
    }
  }

  // ---- guardFetch: one breaker per origin ----------------------------------------

  // A URL a browser resolves to another host although it starts with `/`.
  const SCHEME_RELATIVE = /^\/[\\/]|[\t\n\r]/;

  /**
   * A function with fetch's signature keeping one breaker per origin (relative URLs
   * resolve against the document's base URL, as fetch resolves them), bounded by
   * `maxOrigins` (default 1,000) with the registry's eviction rule.
   */
  function guardFetch(options = undefined) {
    const given = options === undefined || options === null ? {} : options;
    if (typeof given !== 'object' || Array.isArray(given)) throw new TypeError(`options must be an object, not ${describe(given)}`);
    const { maxOrigins, ...breakerOptions } = given;
    const capacity = maxOrigins === undefined || maxOrigins === null ? DEFAULT_ORIGIN_CAPACITY : checkCapacity('invalid option `maxOrigins`:', maxOrigins);
    // Validate now, so that bad options throw here rather than on the first fetch.
    if (breakerOptions.name !== undefined) throw new TypeError('invalid option `name`: guardFetch names breakers by origin');
    facadeLogger(breakerOptions, undefined);
    const clock = clockOf(breakerOptions.clock);
    const probe = engine.create(breakerOptions, clock === null ? 0 : readOwnClock(clock));
    engine.release(probe);
    const events = new Base();
    const map = new Map();
    const bound = new Bounded(map, capacity, events);
    const origins = new Map();
    let lastBase;
    let lastBaseOrigin;
    const parse = (href, base) => {
      try {
        return new URL(href, base).origin;
      } catch {
        throw new TypeError(`guardFetch: cannot tell the origin of ${JSON.stringify(href)}`);
      }
    };
    // The document's base URL (a DOM getter): read only for URLs that are not cached.
    const baseURL = () => globalThis.document?.baseURI ?? globalThis.location?.href;
    const originOf = (target) => {
      const href = typeof target === 'string' ? target : typeof target?.url === 'string' ? target.url : String(target);
      let origin = origins.get(href);
      if (origin !== undefined) return origin;
      const base = baseURL();
      // A path on this origin; not `//host`, `/\host` or one holding a tab or newline
      // (the URL parser drops them: `/\t/host` is `//host`).
      if (href.charCodeAt(0) === 47 /* / */ && !SCHEME_RELATIVE.test(href) && base !== undefined) {
        if (base !== lastBase) {
          lastBaseOrigin = parse(base, undefined);
          lastBase = base;
        }
        return lastBaseOrigin;
      }
      origin = parse(href, base);
      if (origins.size >= 256) origins.clear();
      // Only absolute URLs: a relative one's origin depends on the base.
      if (/^[a-z][a-z0-9+.-]*:/i.test(href)) origins.set(href, origin);
      return origin;
    };
    const breakerFor = (target) => {
      const origin = originOf(target);
      let breaker = map.get(origin);
      if (breaker === undefined) {
        breaker = new CircuitBreaker(origin, breakerOptions);
        bound.add(origin, breaker);
      }
      return breaker;
    };
    const guarded = (input, init) => {
      let breaker;
      try {
        breaker = breakerFor(input);
      } catch (error) {
        return Promise.reject(error);
      }
      return breaker.fetch(input, init);
    };
    guarded.breakerFor = breakerFor;
    indexes.register(guarded, bound.cell);
    Object.defineProperties(guarded, {
      capacity: { get: () => bound.stats()[1] },
      evictions: { get: () => bound.stats()[2] },
      size: { get: () => map.size },
    });
    guarded.on = (type, listener) => {
      events.on(type, listener);
      return guarded;
    };
    guarded.once = (type, listener) => {
      events.once(type, listener);
      return guarded;
    };
    guarded.off = (type, listener) => {
      events.off(type, listener);
      return guarded;
    };
    return guarded;
  }

  return {
    CircuitBreaker,
    Permit,
    circuitBreakerRegistry,
    createCircuitBreaker,
    withCircuitBreaker,
    createExternalServiceCircuitBreaker,
    getAllCircuitBreakerStats,
    CircuitBreakerFactory,
    CircuitBreakerMonitor,
    guardFetch,
    setLogger,
    getLogger,
    /** The registry's Map of name → CircuitBreaker (Node's metrics read it). */
    breakers,
  };
}

/**
 * The engine interface over the WebAssembly module's exports (bindings-wasm): the
 * same functions as the Node addon's, less Node's fast paths: no quiet gates (an
 * empty array: no call is ever quiet, so nothing queues or records a quiet outcome)
 * and no ticker; `performance.now()` is the default clock (looked up once:
 * `globalThis.performance` is a DOM getter that costs as much as `now()`).
 */
export function wasmEngine(wasm) {
  const perf = globalThis.performance;
  return {
    ...wasm,
    now: () => perf.now(),
    shared: { gates: new Float64Array(0) },
    growGates() {},
  };
}
