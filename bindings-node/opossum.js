// tripwire/opossum: opossum 9's CircuitBreaker class over tripwire's engine.
//
// `const CircuitBreaker = require('tripwire/opossum')` and the code written for
// opossum keeps working: the same constructor, fire/call, fallback, errorFilter,
// options, events (names, payloads, order), getters, Status with its buckets and
// percentiles, toJSON, open/close/disable/enable/shutdown/healthCheck/clearCache,
// isOurError and newStatus. Every breaking decision is the core's: a tripwire
// CircuitBreaker (js/tripwire.js) with opossum's rules selected by options
// (strictRateThreshold, rejectsInRate, keepWindow, successThreshold 1, halfOpenTimer,
// windowStats, a timed open through trip()). This file only gives opossum's shapes: its errors, its events
// in its order, its cache and coalescing of promises, its capacity, its Status.
// The differences that remain are listed in README.md, "Migrating from opossum".
'use strict';

const { EventEmitter } = require('node:events');
const { CircuitBreaker: Breaker, CircuitBreakerOpenError, CircuitBreakerTimeoutError, circuitBreakerRegistry } = require('./index.js');
const native = require('./native.js');
const { processNow } = require('./shared.js');
const { internal } = require('./internal.js');

const OUR_ERROR = Symbol('opossum.ourError');
// opossum's percentiles (tripwire_core::PERCENTILES are the same fractions).
const PERCENTILES = [0, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.995, 1];
// A failure rate no window reaches: errorThresholdPercentage ≥ 100 never trips.
const NEVER = 4_000_000_000;

// The breaker's own errors are values on the hot path (a refusal, a timeout): made
// without capturing a stack, whose frames would be the breaker's or a timer's anyway.
function buildError(message, code) {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  const error = new Error(message);
  Error.stackTraceLimit = limit;
  error.code = code;
  error[OUR_ERROR] = true;
  return error;
}

/** opossum's bucket: its counters, percentiles and latencies (left empty: see the README). */
const bucket = () => ({
  failures: 0,
  fallbacks: 0,
  successes: 0,
  rejects: 0,
  fires: 0,
  timeouts: 0,
  cacheHits: 0,
  cacheMisses: 0,
  coalesceCacheHits: 0,
  coalesceCacheMisses: 0,
  semaphoreRejections: 0,
  percentiles: {},
  latencyTimes: [],
});
// What the core counts per bucket; the others are counted here (they never reach it).
const CORE_COUNTS = ['successes', 'failures', 'rejects', 'timeouts', 'fallbacks'];
const JS_COUNTS = ['fires', 'cacheHits', 'cacheMisses', 'coalesceCacheHits', 'coalesceCacheMisses', 'semaphoreRejections'];

/**
 * opossum's Status: the rolling window of a breaker, read from the core's windowed
 * statistics (successes, failures, rejects, timeouts, fallbacks, latency percentiles)
 * plus the counts only this module sees (fires answered without the core: cache hits,
 * coalesced calls, disabled calls; cache and semaphore counters), bucketed by time
 * the same way. `snapshot` events every bucket while someone listens (no idle timer).
 */
class Status extends EventEmitter {
  constructor(options = {}) {
    super();
    this._buckets = options.rollingCountBuckets || 10;
    this._timeout = options.rollingCountTimeout || 10000;
    this._width = Math.max(1, Math.floor(this._timeout / this._buckets));
    this.rollingPercentilesEnabled = options.rollingPercentilesEnabled !== false;
    this.enableSnapshots = options.enableSnapshots !== false;
    this.rotateBucketController = options.rotateBucketController;
    // The buckets turn with the core's clock, so a 'rotate' event has nothing to move;
    // the listener is attached, removed and re-attached as opossum's is, so that a
    // controller shared by many breakers holds one listener per enabled breaker.
    this.rotateBucket = () => {};
    this.startListeneningForRotateEvent();
    // This module's counts: bucket objects tagged with their time slot, in a ring made
    // on the first count (most breakers never see a cache hit or a semaphore refusal).
    this._ring = null;
    this._source = null;
    this._snapshots = null;
    this._shut = false;
    this.on('newListener', (type) => {
      if (type === 'snapshot' && this._snapshots === null && this.enableSnapshots && !this._shut) {
        this._snapshots = setInterval(() => this.emit('snapshot', this.stats), this._width);
        this._snapshots.unref();
      }
    });
    this.on('removeListener', (type) => {
      if (type === 'snapshot' && this._snapshots !== null && this.listenerCount('snapshot') === 0) {
        clearInterval(this._snapshots);
        this._snapshots = null;
      }
    });
    if (options.stats) this._prime(options.stats);
  }

  /** The current bucket of this module's counts. */
  _current() {
    const slot = Math.floor(Date.now() / this._width);
    if (this._ring === null) this._ring = Array.from({ length: this._buckets }, () => ({ slot: -Infinity, counts: bucket(), open: undefined }));
    const entry = this._ring[slot % this._buckets];
    if (entry.slot !== slot) {
      entry.slot = slot;
      entry.counts = bucket();
      entry.open = undefined;
    }
    return entry;
  }

  _prime(stats) {
    const counts = this._current().counts;
    for (const key of [...CORE_COUNTS, ...JS_COUNTS]) {
      if (typeof stats[key] === 'number') counts[key] += stats[key];
    }
  }

  /** Counts one event that the core does not see. */
  increment(property) {
    this._current().counts[property]++;
  }

  open() {
    this._current().open = true;
  }

  close() {
    this._current().open = false;
  }

  /** The buckets, newest first (opossum's order), each merged with the core's. */
  get window() {
    const slot = Math.floor(Date.now() / this._width);
    const core = this._source === null ? null : this._source.windowStats();
    const coreBuckets = core === null ? [] : core.buckets;
    const window = [];
    let open = false;
    for (let age = this._buckets - 1; age >= 0; age--) {
      const entry = this._ring === null ? null : this._ring[(slot - age) % this._buckets];
      const mine = entry !== null && entry.slot === slot - age ? entry : null;
      const merged = mine === null ? bucket() : { ...mine.counts, percentiles: {}, latencyTimes: [] };
      const theirs = coreBuckets[coreBuckets.length - 1 - age];
      if (theirs !== undefined) {
        for (const key of CORE_COUNTS) merged[key] += theirs[key];
        // A call the core counted was fired (its reject, success or failure).
        merged.fires += theirs.successes + theirs.failures + theirs.rejects;
      }
      if (mine !== null && mine.open !== undefined) open = mine.open;
      merged.isCircuitBreakerOpen = open;
      window.unshift(merged);
    }
    return window;
  }

  /** The totals over the window, with the latency mean and percentiles (-1 when disabled). */
  get stats() {
    const totals = bucket();
    for (const b of this.window) {
      for (const key of [...CORE_COUNTS, ...JS_COUNTS]) totals[key] += b[key];
    }
    const core = this._source === null ? null : this._source.windowStats();
    if (!this.rollingPercentilesEnabled) {
      totals.latencyMean = -1;
      for (const p of PERCENTILES) totals.percentiles[p] = -1;
    } else {
      totals.latencyMean = core === null ? 0 : core.latencyMean;
      for (const p of PERCENTILES) totals.percentiles[p] = core === null ? 0 : (core.percentiles[p] ?? 0);
    }
    return totals;
  }

  shutdown() {
    this._shut = true;
    this.removeAllListeners();
    if (this._snapshots !== null) clearInterval(this._snapshots);
    this._snapshots = null;
    this.removeRotateBucketControllerListener();
  }

  /** Detaches this status from the `rotateBucketController` (disable, shutdown). */
  removeRotateBucketControllerListener() {
    if (this.rotateBucketController) this.rotateBucketController.removeListener('rotate', this.rotateBucket);
  }

  /** Attaches this status to the `rotateBucketController`, once (construction, enable). */
  startListeneningForRotateEvent() {
    const controller = this.rotateBucketController;
    if (controller && controller.listeners('rotate').indexOf(this.rotateBucket) === -1) controller.on('rotate', this.rotateBucket);
  }
}

/** opossum's MemoryCache: entries with an expiry (0 = never), oldest dropped when full. */
class MemoryCache {
  constructor(maxEntries) {
    this.cache = new Map();
    this.maxEntries = maxEntries ?? 2 ** 24 - 1;
  }

  get(key) {
    const cached = this.cache.get(key);
    if (cached) {
      if (cached.expiresAt > Date.now() || cached.expiresAt === 0) return cached.value;
      this.cache.delete(key);
    }
    return undefined;
  }

  set(key, value, ttl) {
    if (this.cache.size === this.maxEntries && this.get(key) === undefined) {
      this.cache.delete(this.cache.keys().next().value);
    }
    this.cache.set(key, { expiresAt: ttl, value });
  }

  delete(key) {
    this.cache.delete(key);
  }

  flush() {
    this.cache.clear();
  }
}

/** A filtered error, passed through the core as the success opossum counts it as. */
class Filtered {
  constructor(error) {
    this.error = error;
  }
}

// opossum's numeric options: each must be a finite number when given (timeout may be false).
const NUMERIC_OPTIONS = ['timeout', 'resetTimeout', 'errorThresholdPercentage', 'rollingCountTimeout', 'rollingCountBuckets', 'cacheTTL', 'coalesceTTL'];
// The core's names of opossum's options, for the core's errors.
const OPTION_NAMES = {
  requestTimeout: 'timeout',
  timeout: 'timeout',
  recoveryTimeout: 'resetTimeout',
  resetTimeout: 'resetTimeout',
  failureThreshold: 'errorThresholdPercentage',
  minimumRequests: 'volumeThreshold',
  monitoringWindow: 'rollingCountTimeout',
  windowBuckets: 'rollingCountBuckets',
  openRemaining: 'state',
  initialState: 'state',
};

/** A core option error, naming opossum's option instead. */
function renamed(error) {
  if (!(error instanceof TypeError || error instanceof RangeError)) return error;
  const message = error.message.replace(/`(\w+)`/g, (whole, name) => (OPTION_NAMES[name] === undefined ? whole : `\`${OPTION_NAMES[name]}\``));
  return new error.constructor(message);
}

const nextName = () =>
  'xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx'.replace(/[xy]/g, (c) => {
    const r = (Math.random() * 16) | 0;
    return (c === 'x' ? r : (r & 0x3) | 0x8).toString(16);
  });

/**
 * The core breaker under a tripwire/opossum breaker. fire() hands the core the call's
 * arguments (the call's `_theirs`) and returns the core's own promise: what the call
 * answers (opossum's events, errors and fallback) is decided here, as the core settles
 * it, not in a second promise chained on the core's (a promise, two callbacks and a
 * microtask less a call). Calls made through execute() (cache, coalescing, the
 * semaphore, errorFilter: `_theirs` undefined) settle as the core's own do, and the
 * breaker answers them in a chained promise (`fireSucceeded`, `fireFailed`).
 */
class Engine extends Breaker {
  constructor(options, owner) {
    super(options);
    this._owner = owner;
  }

  _succeeded(call, value) {
    value = super._succeeded(call, value);
    if (call._theirs === undefined) return value;
    this._owner._active--;
    return this._owner._succeededWith(value, call._start);
  }

  /** Every failure comes here (the core's fallback hook is set, and never called). */
  _runFallback(error, call) {
    if (call === undefined || call._theirs === undefined) return Promise.reject(error);
    this._owner._active--;
    // A listener that throws rejects the call (a timeout comes here from a timer).
    try {
      return this._owner._failed(error, call._theirs, call._start, '');
    } catch (thrown) {
      return Promise.reject(thrown);
    }
  }

  /**
   * A refusal of fire() (the breaker opened after fire() looked): opossum's. (No
   * refusal here waits for a trial: the core is made without halfOpenWait.)
   */
  _admitted(code, fn, start, theirs) {
    if (code >= 0 || theirs === undefined) return super._admitted(code, fn, start, theirs);
    this._owner._active--;
    return this._owner._refused(theirs, '');
  }
}

/** The action of a call made with call(context, ...args), `this` its context. */
function applyAction(action, args) {
  return action.apply(this, args);
}

/** What a call through execute() resolves with when the action succeeds (`this` the breaker). */
function fireSucceeded(held, start, key, value) {
  if (held) this._active--;
  if (value instanceof Filtered) {
    this._flush();
    this.emit('success', value.error, this._listens('success') ? Math.round(processNow() - start) : 0);
    this._resetCoalesce(key, 'error');
    throw value.error;
  }
  this._succeededWith(value, start);
  this._resetCoalesce(key, 'success');
  const options = this.options;
  if (options.cache) {
    const ttl = options.cacheTTL;
    options.cacheTransport.set(key, Promise.resolve(value), ttl > 0 ? Date.now() + ttl : 0);
  }
  return value;
}

/** What a call through execute() answers when the action fails (`this` the breaker). */
function fireFailed(held, start, key, args, error) {
  if (held) this._active--;
  return this._failed(error, args, start, key);
}

const { kId } = internal;

class CircuitBreaker extends EventEmitter {
  /** Whether `error` was made by the breaker (open, timeout, semaphore, shutdown), not the action. */
  static isOurError(error) {
    return !!(error && error[OUR_ERROR]);
  }

  /** A Status to prime a breaker with (`options.status`). */
  static newStatus(options) {
    return new Status(options);
  }

  constructor(action, options = {}) {
    super();
    for (const name of NUMERIC_OPTIONS) {
      const value = options[name];
      if (value === undefined || (name === 'timeout' && value === false)) continue;
      if (typeof value !== 'number') throw new TypeError(`invalid option \`${name}\`: must be a finite number, not ${typeof value === 'string' ? `'${value}'` : typeof value}`);
      if (!Number.isFinite(value)) throw new RangeError(`invalid option \`${name}\`: must be a finite number, not ${value}`);
    }
    this.options = options;
    options.timeout = options.timeout ?? 10000;
    options.resetTimeout = options.resetTimeout ?? 30000;
    options.errorThresholdPercentage = options.errorThresholdPercentage ?? 50;
    options.rollingCountTimeout = options.rollingCountTimeout ?? 10000;
    options.rollingCountBuckets = options.rollingCountBuckets ?? 10;
    options.rollingPercentilesEnabled = options.rollingPercentilesEnabled !== false;
    options.capacity = Number.isInteger(options.capacity) ? options.capacity : Number.MAX_SAFE_INTEGER;
    const filter = options.errorFilter || null;
    options.errorFilter = options.errorFilter || ((_) => false);
    options.cacheTTL = options.cacheTTL ?? 0;
    options.cacheGetKey = options.cacheGetKey ?? ((...args) => JSON.stringify(args));
    options.enableSnapshots = options.enableSnapshots !== false;
    options.coalesce = !!options.coalesce;
    options.coalesceTTL = options.coalesceTTL ?? options.timeout;
    options.coalesceResetOn = options.coalesceResetOn?.filter((o) => ['error', 'success', 'timeout'].includes(o)) || [];
    if (options.cache) {
      if (options.cacheTransport === undefined) {
        options.cacheTransport = new MemoryCache(options.cacheSize);
      } else if (typeof options.cacheTransport !== 'object' || !options.cacheTransport.get || !options.cacheTransport.set || !options.cacheTransport.flush) {
        throw new TypeError('options.cacheTransport should be an object with `get`, `set` and `flush` methods');
      }
    }
    if (options.coalesce) options.coalesceCache = new MemoryCache(options.coalesceSize);
    if (!action) throw new TypeError('No action provided. Cannot construct a CircuitBreaker without an invocable action.');
    if (options.autoRenewAbortController && !options.abortController) options.abortController = new AbortController();
    if (options.abortController && typeof options.abortController.abort !== 'function') {
      throw new TypeError('AbortController does not contain `abort()` method');
    }
    if (options.maxFailures) console.error('options.maxFailures is deprecated. Please use options.errorThresholdPercentage');

    this._volumeThreshold = Number.isInteger(options.volumeThreshold) ? options.volumeThreshold : 0;
    this._warmUp = options.allowWarmUp === true;
    this._filter = filter;
    this._fallbackFn = null;
    this._active = 0;
    this._pendingClose = false;
    // opossum sets it at construction and when the breaker opens (the restore reads it).
    this._lastTimerAt = Date.now();
    this._healthChecks = [];
    // Transitions caused by a call, emitted after the call's own events (opossum's order).
    this._deferred = [];
    this._shut = false;
    this._direct = 0;
    this._name = options.name || action.name || nextName();
    this._group = options.group || this._name;
    this.action = typeof action === 'function' ? action : () => Promise.resolve(action);
    // fire()'s function for the core: the action with the call's arguments (see Engine).
    this._fireAction = (call) => {
      const act = this.action;
      const args = call._theirs;
      // No argument or one, the common cases, without spreading an array (apply's
      // CallWithArrayLike cost ~150 instructions more a call).
      if (args.length === 1) return act.call(act, args[0]);
      return args.length === 0 ? act.call(act) : act.apply(act, args);
    };

    // The start state: opossum's `state` (toJSON().state), as the core's start options.
    const state = options.state;
    let initialState = 'CLOSED';
    let openRemaining;
    let shutdown = false;
    this._enabled = options.enabled !== false;
    if (state) {
      this._enabled = state.enabled !== false;
      this._warmUp = state.warmUp || this._warmUp;
      shutdown = state.shutdown || false;
      if (state.halfOpen) {
        initialState = 'HALF_OPEN';
      } else if (state.closed === false) {
        const elapsed = state.lastTimerAt === undefined ? 0 : Date.now() - state.lastTimerAt;
        if (elapsed > options.resetTimeout) {
          initialState = 'HALF_OPEN';
        } else {
          initialState = 'OPEN';
          openRemaining = Math.max(0, options.resetTimeout - elapsed);
          this._lastTimerAt = state.lastTimerAt ?? Date.now();
        }
      }
    }
    const rate = options.errorThresholdPercentage / 100;
    this._breaker = this._engine({
      name: this._name,
      timeout: options.timeout || false,
      resetTimeout: options.resetTimeout,
      // opossum trips when the failure percentage is above the threshold, once the
      // window holds volumeThreshold calls, and closes on one successful trial. No
      // rate is above 100 %: then no window holds enough calls. 0 % is any failure.
      failureThreshold: rate >= 1 ? 0.5 : Math.max(rate, 1e-9),
      strictRateThreshold: true,
      // opossum divides its failures by every fire, refused ones included, over a
      // rolling window that no state change empties.
      rejectsInRate: true,
      keepWindow: true,
      minimumRequests: rate >= 1 ? NEVER : Math.max(1, this._volumeThreshold),
      // 0 means the default here, as in opossum's Status.
      monitoringWindow: options.rollingCountTimeout || 10000,
      windowBuckets: options.rollingCountBuckets || 10,
      successThreshold: 1,
      halfOpenTimer: true,
      windowStats: true,
      initialState,
      ...(openRemaining === undefined ? {} : { openRemaining }),
      // A resolved fetch Response is a success whatever its status, as in opossum (the
      // core's HTTP rule, 5xx and 429 as failures, is tripwire's own).
      isFailureResponse: () => false,
      // Set so that every failure reaches Engine#_runFallback, which answers it.
      fallback: () => undefined,
      onStateChange: (from, to) => this._onTransition(to),
    });
    this._state = this._breaker.state;
    if (initialState === 'HALF_OPEN') this._pendingClose = true;

    if (options.status) {
      this._status = options.status instanceof Status ? options.status : new Status({ ...options, stats: options.status });
    } else {
      this._status = new Status(options);
    }
    this._status._source = this._breaker;
    if (this._state === 'OPEN') this._status.open();

    // Warm-up: the core always permits and still counts (disable) until the window has run once.
    this._warmUpTimer = null;
    if (this._warmUp) {
      this._breaker.disable();
      this._warmUpTimer = setTimeout(() => {
        this._warmUp = false;
        this._warmUpTimer = null;
        if (this._state !== 'SHUTDOWN') this._breaker.enable();
      }, options.rollingCountTimeout);
      this._warmUpTimer.unref();
    }
    if (shutdown) this.shutdown();
  }

  /** The core breaker behind this one; its option errors name opossum's options. */
  _engine(options) {
    try {
      return new Engine(options, this);
    } catch (error) {
      throw renamed(error);
    }
  }

  /**
   * The core's transition, as opossum's state and event. One caused by a call waits
   * for that call's settling (failure, then open; close, then success: opossum closes
   * in its own success listener, which runs before the user's), as in opossum, where
   * the state changes when the event is emitted.
   */
  _onTransition(to) {
    if (this._shut) {
      // As in opossum, a call in flight at shutdown that trips the breaker still opens
      // it (opossum's open() runs with every listener gone), and nothing moves it after.
      if (to === 'OPEN' && this._state === 'SHUTDOWN') this._state = 'OPEN';
      return;
    }
    if (this._direct > 0 || to === 'HALF_OPEN') {
      this._enter(to);
      return;
    }
    if (this._deferred.push(to) === 1) setImmediate(() => this._flush());
  }

  _enter(to) {
    this._state = to;
    if (to === 'OPEN') {
      this._pendingClose = false;
      this._lastTimerAt = Date.now();
      this._status.open();
      this.emit('open');
      return;
    }
    this._pendingClose = to === 'HALF_OPEN';
    if (to === 'CLOSED') this._status.close();
    this._renewAbortControllerIfNeeded();
    if (to === 'CLOSED') this.emit('close');
    else this.emit('halfOpen', this.options.resetTimeout);
  }

  _flush() {
    const deferred = this._deferred;
    if (deferred.length === 0) return;
    this._deferred = [];
    for (const to of deferred) if (this._state !== 'SHUTDOWN') this._enter(to);
  }

  /** A manual operation on the core: its transition's event is emitted at once. */
  _control(op) {
    this._direct++;
    try {
      this._breaker[op]();
    } finally {
      this._direct--;
    }
  }

  _renewAbortControllerIfNeeded() {
    const options = this.options;
    if (options.autoRenewAbortController && options.abortController && options.abortController.signal.aborted) {
      options.abortController = new AbortController();
    }
  }

  /** Closes the breaker, allowing the action to execute again. */
  close() {
    if (this._state !== 'CLOSED' && this._state !== 'SHUTDOWN') this._control('close');
  }

  /** Opens the breaker; it half-opens after `resetTimeout` (opossum's open is timed). */
  open() {
    if (this._state !== 'OPEN' && this._state !== 'SHUTDOWN') this._control('trip');
  }

  /** Shuts the breaker down: every later call is refused with ESHUTDOWN. */
  shutdown() {
    this.emit('shutdown');
    this.disable();
    this.removeAllListeners();
    if (this._warmUpTimer !== null) clearTimeout(this._warmUpTimer);
    for (const timer of this._healthChecks) clearInterval(timer);
    this._healthChecks = [];
    this._status.shutdown();
    this._state = 'SHUTDOWN';
    this._shut = true;
    this._deferred = [];
    if (circuitBreakerRegistry.get(this._name) === this._breaker) circuitBreakerRegistry.remove(this._name);
    this.clearCache();
  }

  get isShutdown() {
    return this._state === 'SHUTDOWN';
  }

  get name() {
    return this._name;
  }

  get group() {
    return this._group;
  }

  get pendingClose() {
    return this._pendingClose;
  }

  get closed() {
    return this._state === 'CLOSED';
  }

  get opened() {
    return this._state === 'OPEN';
  }

  get halfOpen() {
    return this._state === 'HALF_OPEN';
  }

  get status() {
    return this._status;
  }

  /** opossum's semaphore, as far as it is read: `count` is the capacity left. */
  get semaphore() {
    const breaker = this;
    return {
      get count() {
        return breaker.options.capacity - breaker._active;
      },
    };
  }

  get stats() {
    return this._status.stats;
  }

  get enabled() {
    return this._enabled;
  }

  get warmUp() {
    return this._warmUp;
  }

  get volumeThreshold() {
    return this._volumeThreshold;
  }

  toJSON() {
    return {
      state: {
        name: this.name,
        enabled: this.enabled,
        closed: this.closed,
        open: this.opened,
        halfOpen: this.halfOpen,
        warmUp: this.warmUp,
        shutdown: this.isShutdown,
        lastTimerAt: this._lastTimerAt,
      },
      status: this._status.stats,
    };
  }

  /** The function (or breaker) that answers a failed or refused call: `(...args, error)`. */
  fallback(func) {
    this._fallbackFn = func instanceof CircuitBreaker ? (...args) => func.fire(...args) : func;
    return this;
  }

  /** Calls the action with `args`; resolves with its result, or the fallback's. */
  fire(...args) {
    return this._call(this.action, args);
  }

  /** As fire(), with `context` as the action's `this`. */
  call(context, ...args) {
    return this._call(context, args);
  }

  _call(context, args) {
    if (this._state === 'SHUTDOWN') return Promise.reject(buildError('The circuit has been shutdown.', 'ESHUTDOWN'));
    // emit() with no listener still costs a call with its arguments: most fires have
    // none. (`_events` is a dictionary: a breaker without listeners skips the lookup.)
    if (this._listens('fire')) this.emit('fire', args);
    // Disabled: the action alone, no protection, cache or coalescing.
    if (!this._enabled) {
      this._status.increment('fires');
      const result = this.action.apply(context, args);
      return result !== null && result !== undefined && typeof result.then === 'function' ? result : Promise.resolve(result);
    }
    const options = this.options;
    if (!options.cache && !options.coalesce) return this._run(context, args, '', false);
    const key = options.cacheGetKey.apply(this, args);
    if (options.cache) {
      const cached = options.cacheTransport.get(key);
      if (cached) {
        this._status.increment('fires');
        this._status.increment('cacheHits');
        this.emit('cacheHit');
        return cached;
      }
      this._status.increment('cacheMisses');
      this.emit('cacheMiss');
    }
    if (options.coalesce) {
      const inFlight = options.coalesceCache.get(key);
      if (inFlight) {
        this._status.increment('fires');
        this._status.increment('coalesceCacheHits');
        this.emit('coalesceCacheHit');
        return inFlight;
      }
      this._status.increment('coalesceCacheMisses');
      this.emit('coalesceCacheMiss');
    }
    return this._run(context, args, key, true);
  }

  /**
   * One call through the core: the action (or the semaphore's refusal) under execute().
   * `keyed`: the call is cached or coalesced under `key`.
   */
  _run(context, args, key, keyed) {
    // Open, or half-open with the trial in flight: the core refuses now (and counts it),
    // and the refusal is reported before fire() returns, as opossum does.
    if (this._state === 'OPEN' || (this._state === 'HALF_OPEN' && !this._pendingClose)) {
      const permit = this._breaker.tryAcquire();
      if (permit instanceof Error) return this._refused(args, key);
      // The open duration ended before its timer ran: this call is the trial.
      permit.cancel();
    }
    // The capacity is taken before the action runs (the core calls it at once).
    const held = this._active < this.options.capacity;
    if (this._pendingClose) this._pendingClose = false;
    if (held && this._filter === null && !keyed) {
      this._active++;
      // The core calls fn with the call, whose `_theirs` is `args` (see Engine).
      return this._breaker._run(context === this.action ? this._fireAction : applyAction.bind(context, this.action, args), args);
    }
    // Latencies on tripwire's process clock: Date.now() costs ~80 ns a read on some
    // machines (this project's VM), a good part of a whole success.
    const start = processNow();
    const action = this.action;
    let fn;
    if (!held) {
      // opossum's semaphore: a refusal that counts as a failure (and may fall back).
      const error = buildError('Semaphore locked', 'ESEMLOCKED');
      this._status.increment('semaphoreRejections');
      this.emit('semaphoreLocked', error, 0);
      fn = () => {
        throw error;
      };
    } else if (this._filter === null) {
      fn = applyAction.bind(context, action, args);
    } else {
      fn = () => this._filtered(action, context, args);
    }
    if (held) this._active++;
    const promise = this._breaker.execute(fn).then(fireSucceeded.bind(this, held, start, key), fireFailed.bind(this, held, start, key, args));
    // Callers with the same key share this call (until it settles, per coalesceResetOn, or coalesceTTL).
    const options = this.options;
    if (options.coalesce) options.coalesceCache.set(key, promise, options.coalesceTTL > 0 ? Date.now() + options.coalesceTTL : 0);
    return promise;
  }

  /** Whether anyone listens to `type` (Node's listener table is a dictionary: looked up only if any listens). */
  _listens(type) {
    return this._eventsCount !== 0 && this._events[type] !== undefined;
  }

  /**
   * A success's events: the close it caused first (opossum closes in a success
   * listener of its own, registered before any of the user's), then `success`.
   */
  _succeededWith(value, start) {
    if (this._deferred.length !== 0) this._flush();
    if (this._listens('success')) this.emit('success', value, Math.round(processNow() - start));
    return value;
  }

  /** The action with errorFilter applied: a filtered error goes to the core as a success. */
  _filtered(action, context, args) {
    const filter = this._filter;
    let result;
    try {
      result = action.apply(context, args);
    } catch (error) {
      if (filter(error, ...args)) return new Filtered(error);
      throw error;
    }
    if (result !== null && result !== undefined && typeof result.then === 'function') {
      return result.then(undefined, (error) => {
        if (filter(error, ...args)) return new Filtered(error);
        throw error;
      });
    }
    return result;
  }

  _failed(error, args, start, key) {
    if (error instanceof CircuitBreakerOpenError) return this._refused(args, key);
    const latency = Math.round(processNow() - start);
    let timedOut = false;
    if (error instanceof CircuitBreakerTimeoutError) {
      timedOut = true;
      error = buildError(`Timed out after ${this.options.timeout}ms`, 'ETIMEDOUT');
      this.emit('timeout', error, latency, args);
    }
    this.emit('failure', error, latency, args);
    this._flush();
    const fallback = this._fallback(error, args);
    this._resetCoalesce(key, timedOut ? 'timeout' : 'error');
    if (timedOut && this.options.abortController) this.options.abortController.abort();
    return fallback || Promise.reject(error);
  }

  _refused(args, key) {
    const refusal = buildError('Breaker is open', 'EOPENBREAKER');
    this.emit('reject', refusal);
    this._resetCoalesce(key);
    return this._fallback(refusal, args) || Promise.reject(refusal);
  }

  _fallback(error, args) {
    const fn = this._fallbackFn;
    if (fn === null || fn === undefined) return undefined;
    try {
      const result = fn.apply(fn, [...args, error]);
      this.emit('fallback', result, error);
      if (this._state !== 'SHUTDOWN') native.recordFallback(this._breaker[kId], this._breaker._now());
      return result instanceof Promise ? result : Promise.resolve(result);
    } catch (thrown) {
      return Promise.reject(thrown);
    }
  }

  _resetCoalesce(key, event) {
    const options = this.options;
    if (options.coalesceCache && (event === undefined || options.coalesceResetOn.includes(event))) {
      options.coalesceCache.delete(key);
    }
  }

  clearCache() {
    if (this.options.cache) this.options.cacheTransport.flush();
    if (this.options.coalesceCache) this.options.coalesceCache.flush();
  }

  /** Calls `func` (with this breaker as `this`) now and every `interval` ms; a rejection opens the breaker. */
  healthCheck(func, interval) {
    interval = interval || 5000;
    if (typeof func !== 'function') throw new TypeError('Health check function must be a function');
    if (isNaN(interval)) throw new TypeError('Health check interval must be a number');
    const check = () => {
      func.apply(this).catch((e) => {
        this.emit('healthCheckFailed', e);
        this.open();
      });
    };
    const timer = setInterval(check, interval);
    timer.unref();
    this._healthChecks.push(timer);
    check();
  }

  enable() {
    this._enabled = true;
    this._status.startListeneningForRotateEvent();
  }

  disable() {
    this._enabled = false;
    this._status.removeRotateBucketControllerListener();
  }

  getSignal() {
    const controller = this.options.abortController;
    return controller && controller.signal ? controller.signal : undefined;
  }

  getAbortController() {
    return this.options.abortController;
  }
}

CircuitBreaker.Status = Status;
module.exports = CircuitBreaker;
