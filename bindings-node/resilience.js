// Seeds 003 and 004's resilience service, CircuitBreakerService: circuit breakers per
// (service, operation) with retry, a bulkhead per service, fallbacks and a dead-letter
// queue.
//
// Every decision is the Rust core's engine (core/src/resilience/service.rs, driven
// through bindings-node/src/service.rs): keys, eviction, configuration and presets,
// bulkhead admission, the retry schedule and classification, dead-letter bookkeeping,
// alert episodes, health and counters. This file only waits (timers on the service's
// clock), runs the user's function, reads `code` / `status` off an error, runs
// fallbacks, keeps dead-letter payloads by id and emits events. Each step of a call is
// one native call doing the engine's part and the breaker's together.
'use strict';

const { EventEmitter } = require('node:events');
const native = require('./native.js');
// index.js requires this module after setting its exports: the breaker is there.
const { CircuitBreaker, CircuitBreakerError, circuitBreakerRegistry } = require('./index.js');
const { shared, processNow, Call, QUIET, readOwnClock, describe, JS_TIMER_LIMIT_MS } = require('./shared.js');
const { P, internal, live } = require('./internal.js');
const { fleet } = require('./store.js');

const {
  kAdopt, kId, kHooked, kTimeoutMs, kTransition, kRefusal, kTrack, kUntrack, kQuietRecord, kSucceeded, kFailed,
  kReportsSuccess, kRefresh, kRelease, kOnTransition, kOnTimeout, kLogger,
} = internal;
const { serviceBegin, serviceAcquire, serviceSucceed, serviceFlush } = native.serviceHotPath();
const { bulkheadEnterAt, bulkheadLeaveAt } = native.bulkheadHotPath();
const cell = shared.service;
const {
  CELL_BEGIN, CELL_CALL, CELL_WAIT, CELL_AFTER, CELL_VALUE, CELL_LETTER, CELL_DROPPED, CELL_ADMIT, CELL_ALERTS,
  CELL_EPOCH, CELL_QUIET, CELL_Q_STATE, CELL_Q_SVC, CELL_Q_CIRCUIT, CELL_Q_RETRY, CELL_Q_START, CELL_Q_GENERATION,
  CELL_RING, CELL_RING_ENTRY, CELL_RING_CAPACITY, QUIET_CALL, QUIET_NONE, QUIET_STARTED, GATE,
  BEGIN_RUN, BEGIN_QUEUED, REFUSED_QUEUE_TIMEOUT, AFTER_RETRY, AFTER_FAILED, RETRY_SERVICE, RETRY_NONE,
  WAIT_ADMITTED, WAIT_REFUSED, OUTCOME_SUCCESS, OUTCOME_FAILURE, OUTCOME_TIMEOUT, OUTCOME_REFUSED, OUTCOME_CANCELLED,
  STATE_OPEN, STATE_HALF_OPEN, OPEN_ELAPSED,
} = P;
const STATE_NAMES = ['CLOSED', 'OPEN', 'HALF_OPEN'];
const promiseThen = Promise.prototype.then;

// Codes of the raw bulkhead pair of the standalone Bulkhead (bindings-node/src/resilience.rs).
const ENTRY_RUN = -1;
const ENTRY_REJECTED = -2;

const STATE_CODES = { CLOSED: P.STATE_CLOSED, OPEN: STATE_OPEN, HALF_OPEN: STATE_HALF_OPEN };
const EMPTY = Object.freeze({});

// Frees native objects once their JS owner is collected: [releaseFunctionName, id].
const releaser = new FinalizationRegistry(([fn, id]) => native[fn](id));
// Frees a call's retry policy once no call or dead letter holds it: [serviceId, id].
const retryReleaser = new FinalizationRegistry(([svc, id]) => native.serviceRetryRelease(svc, id));


function checkOptions(what, options) {
  if (options === undefined || options === null) return EMPTY;
  if (typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError(`${what} must be an object, not ${describe(options)}`);
  }
  return options;
}

/** Whether a (service, operation) pair of strings holds a lone surrogate. */
function illFormed(service, operation) {
  return typeof service === 'string' && typeof operation === 'string' && !(service.isWellFormed() && operation.isWellFormed());
}

function checkName(what, name) {
  if (typeof name !== 'string') throw new TypeError(`${what} must be a string, not ${describe(name)}`);
}

/**
 * The code and HTTP status the classifier reads from an error: `code` (a string; else
 * the code of `error.cause`, as fetch's "fetch failed" carries ECONNREFUSED...),
 * `status` / `statusCode`, or the same on `error.response`.
 */
function errorFacts(error) {
  if (error === null || (typeof error !== 'object' && typeof error !== 'function')) return [undefined, undefined];
  try {
    let code = typeof error.code === 'string' ? error.code : undefined;
    const cause = error.cause;
    if (code === undefined && cause !== null && typeof cause === 'object' && typeof cause.code === 'string') code = cause.code;
    let status = statusOf(error);
    if (status === undefined && error.response !== null && typeof error.response === 'object') status = statusOf(error.response);
    return [code, status];
  } catch {
    // A getter that throws, a revoked Proxy: an error that says nothing classifies as none.
    return [undefined, undefined];
  }
}

function statusOf(object) {
  for (const value of [object.status, object.statusCode]) {
    if (typeof value === 'number' && Number.isInteger(value)) return value;
    if (typeof value === 'string' && /^\d{3}$/.test(value)) return Number(value);
  }
  return undefined;
}

// ---- the core's pieces as small classes (also what the conformance vectors drive) ----

/**
 * How often and how far apart to retry, and which errors are worth it (the core's
 * RetryPolicy and Classifier). Options: `maxAttempts` (3), `baseDelay` (100 ms),
 * `maxDelay` (30 s), `multiplier` (2), `jitter` (0.2), `retryableErrors`,
 * `nonRetryableErrors`, `seed` (the jitter's stream; default: from the clock).
 */
class RetryPolicy {
  constructor(options = {}) {
    const id = native.retryPolicyCreate(checkOptions('retryPolicy', options));
    releaser.register(this, ['retryPolicyRelease', id]);
    this._id = id;
    const info = native.retryPolicyInfo(id);
    this.maxAttempts = info.maxAttempts;
    this.baseDelay = info.baseDelay;
    this.maxDelay = info.maxDelay;
    this.multiplier = info.multiplier;
    this.jitter = info.jitter;
    this.retryableErrors = info.retryableErrors;
    this.nonRetryableErrors = info.nonRetryableErrors;
  }

  /** The delay (ms) after attempt `attempt` (1-based) failed; jitter draws the policy's next number. */
  delay(attempt) {
    if (!Number.isInteger(attempt) || attempt < 1) throw new RangeError('delay() needs an attempt number ≥ 1');
    // Past 2^32 - 1 attempts the delay is long since at maxDelay: the engine counts in u32.
    return native.retryDelay(this._id, Math.min(attempt, 0xffffffff));
  }

  /**
   * Whether `error` is worth another attempt: read from its `code` (else its cause's),
   * `status` / `statusCode` or `response`; never when `circuitOpen`.
   */
  shouldRetry(error, circuitOpen = false) {
    const [code, status] = errorFacts(error);
    return native.shouldRetry(this._id, code, status, Boolean(circuitOpen));
  }

  toJSON() {
    const { maxAttempts, baseDelay, maxDelay, multiplier, jitter, retryableErrors, nonRetryableErrors } = this;
    return { maxAttempts, baseDelay, maxDelay, multiplier, jitter, retryableErrors, nonRetryableErrors };
  }
}

/** `nowMs` checked: a finite number of milliseconds (a TypeError naming it otherwise). */
function instant(method, nowMs) {
  if (typeof nowMs !== 'number' || !Number.isFinite(nowMs)) {
    throw new TypeError(`${method}(nowMs): \`nowMs\` must be a finite number of milliseconds, not ${typeof nowMs === 'number' ? String(nowMs) : describe(nowMs)}`);
  }
  return nowMs;
}

/** A native object's absent optional field as null. */
function nullable(value) {
  return value === undefined ? null : value;
}

/** Readable bulkhead stats from the native ones (absent optional fields are null). */
function bulkheadOf(s) {
  return {
    running: s.running,
    queued: s.queued,
    rejected: s.rejected,
    admitted: s.admitted,
    peakRunning: s.peakRunning,
    meanWait: s.meanWait,
    maxWait: s.maxWait,
    saturated: s.saturated,
    maxConcurrent: s.maxConcurrent,
    queueSize: s.queueSize,
    maxQueueWait: nullable(s.maxQueueWait),
  };
}

/**
 * The core's bulkhead accounting on its own, instants in ms (the service drives one
 * per service): `enter(now)` → `{ entry: 'run' | 'queued' | 'rejected', ticket? }`,
 * `leave(now)` → the ticket admitted or null, `abandon(ticket)`, `expire(now)`.
 */
class Bulkhead {
  constructor(options = {}) {
    const id = native.bulkheadCreate(checkOptions('bulkhead', options));
    releaser.register(this, ['bulkheadRelease', id]);
    this._id = id;
  }

  enter(nowMs) {
    const code = bulkheadEnterAt(this._id, instant('enter', nowMs));
    if (code === ENTRY_RUN) return { entry: 'run' };
    if (code === ENTRY_REJECTED) return { entry: 'rejected' };
    return { entry: 'queued', ticket: code };
  }

  leave(nowMs) {
    const ticket = bulkheadLeaveAt(this._id, instant('leave', nowMs));
    return ticket < 0 ? null : ticket;
  }

  abandon(ticket) {
    if (!Number.isSafeInteger(ticket) || ticket < 0) throw new TypeError(`abandon(ticket): \`ticket\` must be a ticket from enter(), not ${describe(ticket)}`);
    return native.bulkheadAbandon(this._id, ticket);
  }

  expire(nowMs) {
    return native.bulkheadExpire(this._id, instant('expire', nowMs));
  }

  /** Changes the limits named; returns the tickets a larger limit admits now. */
  configure(options, nowMs = undefined) {
    return native.bulkheadConfigure(this._id, checkOptions('bulkhead', options), nowMs);
  }

  stats() {
    return bulkheadOf(native.bulkheadStats(this._id));
  }
}

/** A report's status from its checks, each `{ critical, passed }` or `[critical, passed]`. */
function checkHealth(checks) {
  const flat = [];
  for (const c of checks) {
    if (Array.isArray(c)) flat.push(Boolean(c[0]), Boolean(c[1]));
    else flat.push(Boolean(c.critical), Boolean(c.passed));
  }
  return native.checkHealthOf(flat);
}

/** A service's status from its breakers' states and whether its bulkhead is saturated. */
function serviceHealth(states, bulkheadSaturated = false) {
  return native.serviceHealthOf(stateCodes(states), Boolean(bulkheadSaturated));
}

function stateCodes(states) {
  return Array.from(states, (s) => {
    const code = STATE_CODES[s];
    if (code === undefined) throw new TypeError(`unknown circuit state ${String(s)}`);
    return code;
  });
}

function countOf(what, value) {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new RangeError(`${what} must be a whole number ≥ 0, not ${typeof value === 'number' ? value : describe(value)}`);
  }
  return value;
}

/**
 * Whether a breaker's window is a high error rate (the core's rule): at least 10 calls
 * (`windowCalls`, as getStats() reports it) and more than 10 % of them failed
 * (`windowFailures`).
 */
function errorRateAlert(windowCalls, windowFailures) {
  return native.errorRateAlertOf(countOf('windowCalls', windowCalls), countOf('windowFailures', windowFailures));
}

/** Whether a dead-letter queue of `size` items is an alert: more than 10 (the core's rule). */
function deadLetterAlert(size) {
  return native.deadLetterAlertOf(countOf('size', size));
}

/**
 * Whether a service is unavailable, from its breakers' states (the core's rule): every
 * one open; while the episode is `ongoing`, until one closes.
 */
function allCircuitsOpenAlert(states, ongoing = false) {
  return native.allCircuitsOpenAlertOf(stateCodes(states), Boolean(ongoing));
}

/** Seed 004's kinds of service with its numbers, by name (the core's PRESETS). */
const SERVICE_PRESETS = Object.freeze(
  Object.fromEntries(native.presets().map((p) => [p.name, Object.freeze({ ...p })])),
);

// ---- errors ------------------------------------------------------------------------

/** The bulkhead refused the call: every slot and queue place taken, or it waited too long. */
class BulkheadRejectedError extends Error {
  /**
   * @param {string} service
   * @param {{reason?: 'full'|'queue-timeout', maxConcurrent?: number, queueSize?: number, maxQueueWait?: number|null}} [details]
   */
  constructor(service, details = {}) {
    const reason = details.reason === 'queue-timeout' ? 'queue-timeout' : 'full';
    super(
      reason === 'full'
        ? `Bulkhead '${service}' is full: ${details.maxConcurrent ?? '?'} running, ${details.queueSize ?? '?'} waiting`
        : `Bulkhead '${service}': no slot within ${details.maxQueueWait ?? '?'}ms`,
    );
    this.code = 'EBULKHEAD';
    this.service = service;
    this.reason = reason;
    this.maxConcurrent = details.maxConcurrent ?? null;
    this.queueSize = details.queueSize ?? null;
  }
}
BulkheadRejectedError.prototype.name = 'BulkheadRejectedError';


// ---- the service -------------------------------------------------------------------

const CIRCUIT_HOOKS = ['fallback', 'onStateChange', 'onOpen', 'onClose', 'errorFilter', 'isFailureResult'];

/** The facade's own callbacks among a breaker's options, checked (the core reads the rest). */
function hooksOf(config) {
  const hooks = {};
  if (config === undefined) return hooks;
  for (const key of CIRCUIT_HOOKS) {
    const value = config[key];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'function') throw new TypeError(`invalid option \`${key}\`: must be a function, not ${describe(value)}`);
    hooks[key] = value;
  }
  return hooks;
}

/** What the engine answered after an attempt, read off the cell at once. */
function readEnd() {
  return {
    after: cell[CELL_AFTER],
    value: cell[CELL_VALUE],
    letter: cell[CELL_LETTER],
    dropped: cell[CELL_DROPPED],
    admit: cell[CELL_ADMIT],
    alerts: cell[CELL_ALERTS],
  };
}

/** Queues a quiet call's success for the engine (told before anything else reads it). */
function queueQuietCall(svc, circuit, retry, start, end) {
  let n = cell[CELL_RING];
  if (n === CELL_RING_CAPACITY) {
    serviceFlush();
    n = 0;
  }
  const at = CELL_RING + 1 + CELL_RING_ENTRY * n;
  cell[at] = svc;
  cell[at + 1] = circuit;
  cell[at + 2] = retry;
  cell[at + 3] = start;
  cell[at + 4] = end;
  cell[CELL_RING] = n + 1;
}

/** A call's own retry policy in the engine, freed once nothing holds it. */
class RetryHandle {
  constructor(svc, id) {
    this.id = id;
    retryReleaser.register(this, [svc, id]);
  }
}

/** One call: from its admission to its end, across its attempts. */
class Run {
  constructor(circuit, fn, retry, handle, fallback, report) {
    this.circuit = circuit;
    this.fn = fn;
    this.retry = retry;
    this.handle = handle;
    this.fallback = fallback;
    this.report = report;
    this.call = -1;
    this.admitted = null;
    this.timer = null;
    // The last instant read for the call while no attempt runs (queued, or between
    // attempts): where the engine ends it if the clock then fails. null until then (a
    // field of any kind: as a field of doubles every call would box one).
    this.at = null;
  }
}

/** The context a service attempt's function receives; its timeout goes to the engine. */
class ServiceCall extends Call {
  constructor(slot, start) {
    super(slot, 0, start);
    this[kOnTimeout] = undefined;
  }
}

// One instance of each per-call class, kept for the module's lifetime (as Call.kept in
// js/tripwire.js): a full GC that finds no call in flight would otherwise collect their
// hidden classes and deoptimise the service's call path (`--trace-deopt`: "weak
// objects"), re-optimised after every full GC; one request at a time in V8's old
// generation, that doubled an untimed service call's cost. A start, and the engine's
// call id (read from a Float64Array), are fractional here: those fields then hold
// doubles from the start, as real calls make them (a field that changes representation
// replaces the class, and the kept instance would keep the old one).
ServiceCall.kept = new ServiceCall(QUIET, 0.5);
Run.kept = new Run(null, null, RETRY_NONE, null, null, null);
Run.kept.call = 0.5;


function seed003Stats(breaker) {
  const s = breaker.getStats();
  const date = (ms) => (ms === null || ms === 0 ? null : new Date(ms));
  return {
    state: s.state,
    failureCount: s.failureCount,
    successCount: s.successCount,
    totalRequests: s.totalRequests,
    lastFailureTime: date(s.lastFailureTime),
    lastSuccessTime: date(s.lastSuccessTime),
    nextAttemptTime: date(s.nextAttemptTime),
    failureRate: s.failureRate,
  };
}

function fallbackOf(value) {
  return typeof value === 'function' ? { fallbackFunction: value } : { fallbackValue: value };
}

/**
 * Seeds 003 and 004's CircuitBreakerService: `executeWithCircuitBreaker(service,
 * operation, fn, options?)` with retries, a bulkhead per service, fallbacks and a
 * dead-letter queue; seed 003's `execute(...)` (one attempt) and stats.
 *
 * Options: `clock` (ms; a ManualClock makes retries and queue waits sleep-free),
 * `maxBreakers` (cap on idle breakers, default 1000), `deadLetterQueueSize` (default
 * 1000), `services` (`{ name: presetName | { preset, config, bulkhead, retryPolicy } }`),
 * `onAlert(alert)`, `seed` (the retry jitter's stream; default random), `logger` (its
 * breakers' transitions; default tripwire's own, see setLogger()).
 */

/** A dead-letter item id of the wrong type: a TypeError naming the argument. */
function deadLetterIdError(method, itemId) {
  const what = itemId === null ? 'null' : Array.isArray(itemId) ? 'an array' : typeof itemId === 'object' ? 'an object' : `a ${typeof itemId}`;
  return new TypeError(`${method}(itemId): \`itemId\` must be a number (an id from getDeadLetterQueue()), not ${what}`);
}

/** Whether a number can be a dead-letter item id (ids are whole numbers the engine hands out). */
function isItemId(itemId) {
  return Number.isSafeInteger(itemId) && itemId >= 0;
}
class CircuitBreakerService {
  constructor(options = {}) {
    options = checkOptions('options', options);
    const clock = options.clock ?? null;
    if (clock !== null && (typeof clock !== 'object' || typeof clock.now !== 'function')) {
      throw new TypeError('invalid option `clock`: must be an object with a now() method returning milliseconds');
    }
    if (options.onAlert !== undefined && typeof options.onAlert !== 'function') {
      throw new TypeError(`invalid option \`onAlert\`: must be a function, not ${describe(options.onAlert)}`);
    }
    const logger = options.logger ?? null;
    if (logger !== null && (typeof logger !== 'object' || typeof logger.info !== 'function' || typeof logger.warn !== 'function')) {
      throw new TypeError(`invalid option \`logger\`: must be an object with debug/info/warn/error methods, not ${describe(logger)}`);
    }
    const services = checkOptions('services', options.services);
    // `store` (a RedisStore, null: local, absent: TRIPWIRE_STORE_URL's if set): its
    // breakers join the fleet as CircuitBreaker({ store }) does (checked here, as for
    // a breaker on the service's clock; each breaker resolves it again with its own).
    // TRIPWIRE_STORE_URL's store is made at the first breaker, never here: the default
    // service is made when the package loads, and a bad URL must not fail `require`.
    if (options.store !== undefined) fleet.storeOf({ store: options.store }, clock, false);
    this._storeOption = options.store;
    // Unknown names (with "did you mean"), maxBreakers, deadLetterQueueSize, seed: the engine's.
    this._id = native.serviceCreate(options);
    releaser.register(this, ['serviceRelease', this._id]);
    live.services.set(this._id, new WeakRef(this));
    this._clock = clock;
    this._setTimer = clock !== null && typeof clock.setTimeout === 'function' ? clock.setTimeout.bind(clock) : setTimeout;
    this._clearTimer = clock !== null && typeof clock.clearTimeout === 'function' ? clock.clearTimeout.bind(clock) : clearTimeout;
    // The facades of the engine's breakers: by circuit id, and by service then operation.
    this._circuits = [];
    this._byService = new Map();
    this._waiting = new Map();
    this._letters = new Map();
    this._emitter = new EventEmitter();
    this._onAlert = options.onAlert ?? null;
    // The logger of its breakers' transitions (else tripwire's own: setLogger()).
    this._logger = logger;
    for (const [name, spec] of Object.entries(services)) {
      this.updateServiceConfig(name, typeof spec === 'string' ? { preset: spec } : spec);
    }
  }

  // ---- events ----------------------------------------------------------------------

  /** Listens to `alert` (`{ type, service?, operation?, message, timestamp, ... }`). */
  on(event, listener) {
    this._emitter.on(event, listener);
    return this;
  }

  once(event, listener) {
    this._emitter.once(event, listener);
    return this;
  }

  off(event, listener) {
    this._emitter.off(event, listener);
    return this;
  }

  _takeAlerts() {
    this._emitAlerts(native.serviceTakeAlerts(this._id));
  }

  /** Emits the engine's alerts, with details read from the breakers and the bulkhead. */
  _emitAlerts(alerts) {
    for (const a of alerts) {
      const payload = { type: a.type };
      if (a.service != null) payload.service = a.service;
      if (a.operation != null) payload.operation = a.operation;
      payload.message = a.message;
      payload.timestamp = Date.now();
      if (a.type === 'high-error-rate' || a.type === 'circuit-opened') {
        const c = this._lookup(a.service, a.operation);
        if (c !== undefined) {
          const s = c.breaker.getStats();
          if (a.type === 'circuit-opened') payload.state = s.state;
          else Object.assign(payload, { failureRate: s.failureRate, windowCalls: s.windowCalls, windowFailures: s.windowFailures });
        }
      } else if (a.type === 'bulkhead-full') {
        const b = this.getBulkheadStats(a.service);
        if (b !== undefined) Object.assign(payload, { maxConcurrent: b.maxConcurrent, queueSize: b.queueSize, maxQueueWait: b.maxQueueWait });
      } else if (a.type === 'dead-letter-queue') {
        payload.size = this.getDeadLetterStats().size;
      }
      try {
        this._emitter.emit('alert', payload);
      } catch (error) {
        process.emitWarning(`tripwire: an 'alert' listener threw: ${error && error.message}`);
      }
      if (this._onAlert !== null) {
        try {
          this._onAlert(payload);
        } catch (error) {
          process.emitWarning(`tripwire: onAlert threw: ${error && error.message}`);
        }
      }
    }
  }

  // ---- breakers ----------------------------------------------------------------------

  /** Now on the breakers' and bulkheads' clock (ms): the caller's, or the process clock. */
  _instant() {
    return this._clock === null ? processNow() : readOwnClock(this._clock);
  }

  /** Now on a breaker's clock: its own (seed 003's per-breaker `clock` option) or the service's. */
  _at(circuit) {
    const clock = circuit.clock;
    return clock === null ? processNow() : readOwnClock(clock);
  }

  _lookup(service, operation) {
    const ops = this._byService.get(service);
    const known = ops === undefined ? undefined : ops.get(operation);
    if (known !== undefined || !illFormed(service, operation)) return known;
    return this._lookup(service.toWellFormed(), operation.toWellFormed());
  }

  /** The facade of (service, operation)'s breaker; the engine makes it when new (`config` then applies). */
  _circuit(service, operation, config) {
    const known = this._lookup(service, operation);
    if (known !== undefined) return known;
    checkName('the service name', service);
    checkName('the operation name', operation);
    // Keyed as the engine keys them: names are UTF-8 there, a lone surrogate U+FFFD.
    if (illFormed(service, operation)) return this._circuit(service.toWellFormed(), operation.toWellFormed(), config);
    const own = config === undefined || config === null ? undefined : checkOptions('config', config);
    const hooks = hooksOf(own);
    // Seed 003 passes a clock with each breaker's options: that breaker runs on it.
    let clock = this._clock;
    if (own !== undefined && own.clock !== undefined && own.clock !== null) {
      clock = own.clock;
      if (typeof clock !== 'object' || typeof clock.now !== 'function') {
        throw new TypeError('invalid option `clock`: must be an object with a now() method returning milliseconds');
      }
    }
    // Shared with the fleet: the service's store (a breaker with a clock of its own stays
    // local with TRIPWIRE_STORE_URL's, and is an error with an explicit store).
    const store = fleet.storeOf({ store: this._storeOption }, clock, false);
    const join = store === null ? null : fleet.reserve(store);
    const made = native.serviceCircuit(this._id, service, operation, own, clock === null ? processNow() : clock.now(),
      join?.nativeStore, join?.token ?? 0);
    for (const id of made.evicted) this._forget(id);
    if (!made.isNew) throw new Error(`tripwire: the service lost the facade of circuit ${made.circuit}`);
    const breaker = new CircuitBreaker({ ...hooks, name: made.name, clock, [kAdopt]: made.breaker });
    if (join !== null) fleet.adopt(breaker, store, join.token);
    // `quiet`: the engine epoch in which a call on this breaker may be quiet (-1: none yet).
    // A shared breaker's attempts go through its facade, which awaits a half-open
    // trial's lease (the one round trip to the store) before running the function.
    const circuit = { id: made.circuit, service, operation, breaker, hooked: join !== null || breaker[kHooked], clock, quiet: -1 };
    breaker[kOnTransition] = () => this._observe(circuit);
    if (this._logger !== null) breaker[kLogger] = this._logger;
    this._circuits[made.circuit] = circuit;
    let ops = this._byService.get(service);
    if (ops === undefined) this._byService.set(service, (ops = new Map()));
    ops.set(operation, circuit);
    if (cell[CELL_ALERTS] !== 0) this._takeAlerts();
    return circuit;
  }

  /** An evicted breaker: forgotten here and in the registry; nothing of the service keeps it alive. */
  _forget(id) {
    const circuit = this._circuits[id];
    if (circuit === undefined) return;
    this._circuits[id] = undefined;
    const ops = this._byService.get(circuit.service);
    if (ops !== undefined && ops.get(circuit.operation) === circuit) {
      ops.delete(circuit.operation);
      if (ops.size === 0) this._byService.delete(circuit.service);
    }
    const { breaker } = circuit;
    breaker[kOnTransition] = undefined;
    breaker[kRelease]();
    if (circuitBreakerRegistry.get(breaker.name) === breaker) circuitBreakerRegistry.remove(breaker.name);
  }

  /** After a transition of one of its breakers: the engine's alert episodes. */
  _observe(circuit) {
    if (this._circuits[circuit.id] !== circuit) return;
    let now;
    try {
      now = this._at(circuit);
    } catch {
      // A clock that fails here fails the calls that read it next; the episodes wait.
      return;
    }
    this._emitAlerts(native.serviceObserve(this._id, circuit.id, now));
  }

  /** The breaker of (service, operation), made with the service's config (then `options`) the first time. */
  getCircuitBreaker(service, operation, options = undefined) {
    return this._circuit(service, operation, options).breaker;
  }

  // ---- configuration -----------------------------------------------------------------

  /**
   * Changes a service's `config` (breaker options), `bulkhead` (`maxConcurrent`,
   * `queueSize`, `maxQueueWait`) and `retryPolicy`, or applies a `preset` under them.
   * Everything is checked before anything changes (unknown names are a TypeError with
   * "did you mean"); breakers are reconfigured in place and keep their state.
   */
  updateServiceConfig(service, update = {}) {
    this._configure(service, update, false);
  }

  /**
   * Applies `update` to a service; `byCall`: the defaults a call brings (a helper's
   * preset, a call's bulkhead), which leave the service to go with its last breaker.
   */
  _configure(service, update, byCall) {
    checkName('the service name', service);
    const updated = native.serviceUpdate(this._id, service, update, this._instant(), byCall);
    for (const id of updated.reconfigured) {
      const circuit = this._circuits[id];
      if (circuit !== undefined) circuit.breaker[kRefresh]();
    }
    for (const call of updated.admitted) this._admit(call);
    // Their longest wait changed (one queued with no limit had no timer): they look again.
    for (const call of updated.rewait) {
      const run = this._waiting.get(call);
      if (run === undefined) continue;
      if (run.timer !== null) this._clearTimer(run.timer);
      this._waitOver(run);
    }
    if (cell[CELL_ALERTS] !== 0) this._takeAlerts();
  }

  /** Applies a preset (`llm`, `cache`, `database`, `external-api`, `websocket`) to a service. */
  usePreset(service, preset) {
    this.updateServiceConfig(service, { preset });
  }

  /** The options in force for a service. */
  getServiceConfig(service) {
    checkName('the service name', service);
    const c = native.serviceConfig(this._id, service);
    const s = c.config;
    const config = {
      failureThreshold: s.failureThreshold,
      minimumRequests: s.minimumRequests,
      recoveryTimeout: s.recoveryTimeout,
      requestTimeout: nullable(s.requestTimeout),
      successThreshold: s.successThreshold,
      halfOpenMaxCalls: s.halfOpenMaxCalls,
    };
    if (s.countWindow != null) config.countWindow = s.countWindow;
    else config.monitoringWindow = s.monitoringWindow;
    if (s.expectedResponseTime != null) config.expectedResponseTime = s.expectedResponseTime;
    const r = c.retryPolicy;
    return {
      preset: nullable(c.preset),
      config,
      bulkhead: { maxConcurrent: c.maxConcurrent, queueSize: c.queueSize, maxQueueWait: nullable(c.maxQueueWait) },
      retryPolicy: {
        maxAttempts: r.maxAttempts,
        baseDelay: r.baseDelay,
        maxDelay: r.maxDelay,
        multiplier: r.multiplier,
        jitter: r.jitter,
        retryableErrors: r.retryableErrors,
        nonRetryableErrors: r.nonRetryableErrors,
      },
    };
  }

  // ---- the call --------------------------------------------------------------------

  /**
   * Runs `fn` for (service, operation): one bulkhead slot for the whole sequence, each
   * attempt through the breaker, retries as the engine says (stopping as soon as the
   * circuit opens), then the fallback or the dead-letter queue.
   *
   * `options`: `fallbackOptions` (`fallbackValue`, `fallbackFunction(error)`, `queue`),
   * `retryPolicy` (this call's, over the service's), `bulkhead` (the service's limits
   * from now on), `config` (breaker options, used when the breaker is first made).
   */
  executeWithCircuitBreaker(service, operation, fn, options = undefined) {
    if (typeof fn !== 'function') return Promise.reject(new TypeError(`executeWithCircuitBreaker() needs a function, not ${describe(fn)}`));
    try {
      const opts = options === undefined ? EMPTY : checkOptions('options', options);
      const circuit = this._circuit(service, operation, opts.config);
      if (opts.bulkhead !== undefined && opts.bulkhead !== null) this._configure(service, { bulkhead: opts.bulkhead }, true);
      let retry = RETRY_SERVICE;
      let handle = null;
      if (opts.retryPolicy !== undefined && opts.retryPolicy !== null) {
        handle = new RetryHandle(this._id, native.serviceCallRetry(this._id, service, opts.retryPolicy));
        retry = handle.id;
      }
      const fallback = opts.fallbackOptions === undefined || opts.fallbackOptions === null ? null : checkOptions('fallbackOptions', opts.fallbackOptions);
      const deadLetter = fallback !== null && fallback.queue === true;
      return this._start(new Run(circuit, fn, retry, handle, fallback, null), deadLetter);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Seed 003: runs `fn` once (no retry; the service's bulkhead applies) under the
   * (service, operation) breaker; `fallback` answers refusals, failures and timeouts.
   * `options` are breaker options, used when the breaker is first made.
   */
  execute(service, operation, fn, fallback = undefined, options = undefined) {
    if (fallback !== undefined && fallback !== null && typeof fallback !== 'function') {
      throw new TypeError(`fallback must be a function, not ${describe(fallback)}`);
    }
    if (typeof fn !== 'function') return Promise.reject(new TypeError(`execute() needs a function, not ${describe(fn)}`));
    try {
      const circuit = this._circuit(service, operation, options);
      return this._start(new Run(circuit, fn, RETRY_NONE, null, fallback ? { fallbackFunction: fallback } : null, null), false);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** A call asks the bulkhead, and (when admitted) the breaker, in one native call. */
  _start(run, deadLetter) {
    const { circuit } = run;
    const start = this._at(circuit);
    if (circuit.quiet === cell[CELL_EPOCH] && cell[CELL_Q_STATE] === QUIET_NONE && !deadLetter) {
      // The engine said a call may start quietly, and nothing changed it since: if the
      // breaker is quiet too, run without a crossing (one such call at a time).
      const { breaker } = circuit;
      const gate = GATE * breaker[kId];
      const gates = shared.gates;
      if (start < gates[gate]) {
        cell[CELL_Q_SVC] = this._id;
        cell[CELL_Q_CIRCUIT] = circuit.id;
        cell[CELL_Q_RETRY] = run.retry;
        cell[CELL_Q_START] = start;
        cell[CELL_Q_GENERATION] = gates[gate + 1];
        cell[CELL_Q_STATE] = QUIET_STARTED;
        run.call = QUIET_CALL;
        return this._attempt(run, QUIET, start);
      }
    }
    const code = serviceBegin(this._id, circuit.id, run.retry, deadLetter ? 1 : 0, circuit.hooked ? 0 : 1, start);
    const begin = cell[CELL_BEGIN];
    run.call = cell[CELL_CALL];
    if (begin === BEGIN_RUN) {
      if (circuit.hooked) {
        if (cell[CELL_ALERTS] !== 0) this._takeAlerts();
        return this._viaFacade(run, start);
      }
      return this._permitted(run, code, start);
    }
    const wait = cell[CELL_WAIT];
    if (cell[CELL_ALERTS] !== 0) this._takeAlerts();
    if (begin === BEGIN_QUEUED) {
      run.at = start;
      return this._queue(run, wait);
    }
    return this._final(run, this._bulkheadError(circuit.service, run.call), 0, -1, -1);
  }

  /** The answer to a permit: refused (the engine already heard), or run the attempt. */
  _permitted(run, code, start) {
    const { breaker } = run.circuit;
    if (code < 0) {
      const end = readEnd();
      return this._next(run, breaker[kRefusal](code), end);
    }
    if (cell[CELL_ALERTS] !== 0) this._takeAlerts();
    if ((code & 1) === 1) breaker[kTransition](OPEN_ELAPSED);
    return this._attempt(run, code >> 1, start);
  }

  /** A retry, or a call the bulkhead admitted after a wait: the next permit. */
  _again(run) {
    const start = this._timeOf(run, -1, run.at);
    if (typeof start !== 'number') return start;
    if (run.circuit.hooked) return this._viaFacade(run, start);
    return this._permitted(run, serviceAcquire(this._id, run.call, start), start);
  }

  /**
   * Now on `run`'s breaker's clock; if the clock fails, the call ends (`_clockFailed`,
   * with `slot` and `at`) and the answer is the caller's rejected promise instead.
   */
  _timeOf(run, slot, at) {
    try {
      return this._at(run.circuit);
    } catch (error) {
      return this._clockFailed(run, slot, at, error);
    }
  }

  /**
   * The clock failed while `run`'s call was in the engine: the engine ends the call as
   * cancelled at `at`, the last instant read (its bulkhead place, and permit `slot` if
   * one is held, handed back), and the caller gets the clock's error.
   */
  _clockFailed(run, slot, at, error) {
    native.serviceEnd(this._id, run.call, slot, OUTCOME_CANCELLED, undefined, undefined, at);
    // A cancelled call's end: what it freed is admitted, then the caller gets `error`.
    return this._next(run, error, readEnd());
  }

  /** One attempt holding permit `slot`: the function, its timeout, its outcome. */
  _attempt(run, slot, start) {
    const call = new ServiceCall(slot, start);
    const { breaker } = run.circuit;
    let result;
    let then;
    try {
      result = run.fn(call);
      then = result !== null && (typeof result === 'object' || typeof result === 'function') ? result.then : undefined;
    } catch (error) {
      return this._failed(run, call, error, OUTCOME_FAILURE);
    }
    if (typeof then !== 'function') return Promise.resolve(this._succeeded(run, call, result));
    const timed = breaker[kTimeoutMs] !== null;
    if (!timed && then === promiseThen) {
      // Nothing but `result` can settle the attempt: chain on it.
      try {
        return result.then(
          (value) => this._succeeded(run, call, value),
          (error) => this._failed(run, call, error, OUTCOME_FAILURE),
        );
      } catch (error) {
        // A promise whose `constructor` or species throws: the attempt's failure.
        return this._failed(run, call, error, OUTCOME_FAILURE);
      }
    }
    return new Promise((resolve) => {
      if (timed) {
        // The breaker's timer calls this once the deadline passed (the call is settled
        // then), or with the clock's error if the clock failed as it looked.
        call[kOnTimeout] = (error, clockFailed) =>
          resolve(clockFailed ? this._clockFailed(run, call._slot, call._start, error) : this._failed(run, call, error, OUTCOME_TIMEOUT));
        breaker[kTrack](call);
      }
      const onError = (error) => {
        if (call._settled) return;
        call._settled = true;
        if (timed) breaker[kUntrack](call);
        resolve(this._failed(run, call, error, OUTCOME_FAILURE));
      };
      try {
        then.call(
          result,
          (value) => {
            if (call._settled) return;
            call._settled = true;
            if (timed) breaker[kUntrack](call);
            resolve(this._succeeded(run, call, value));
          },
          onError,
        );
      } catch (error) {
        onError(error);
      }
    });
  }

  /** A success: recorded on the breaker and the call ended, in one native call. */
  _succeeded(run, call, value) {
    const { circuit } = run;
    const { breaker } = circuit;
    const now = this._timeOf(run, call._slot, call._start);
    if (typeof now !== 'number') return now;
    if (run.call === QUIET_CALL && cell[CELL_Q_STATE] === QUIET_STARTED) {
      // The engine has not heard of the call: queue its success (and the breaker's).
      cell[CELL_Q_STATE] = QUIET_NONE;
      const code = breaker[kQuietRecord](call._start, cell[CELL_Q_GENERATION]);
      queueQuietCall(this._id, circuit.id, run.retry, call._start, now);
      if (code !== 0) breaker[kTransition](code, 'success');
      if (breaker[kReportsSuccess]) breaker[kSucceeded](call._start);
      return value;
    }
    const transition = serviceSucceed(this._id, run.call, call._slot, now);
    const admit = cell[CELL_ADMIT];
    const alerts = cell[CELL_ALERTS];
    if (cell[CELL_QUIET] === 1 && !circuit.hooked) circuit.quiet = cell[CELL_EPOCH];
    if (transition !== 0) breaker[kTransition](transition, 'success');
    if (breaker[kReportsSuccess]) breaker[kSucceeded](call._start);
    if (admit >= 0) this._admit(admit);
    if (alerts !== 0) this._takeAlerts();
    return value;
  }

  /** A failure or timeout: recorded, and the engine says what follows, in one native call. */
  _failed(run, call, error, outcome) {
    const { breaker } = run.circuit;
    const now = this._timeOf(run, call._slot, call._start);
    if (typeof now !== 'number') return now;
    run.at = now;
    const [code, status] = errorFacts(error);
    const transition = native.serviceEnd(this._id, run.call, call._slot, outcome, code, status, now);
    // The quiet call now has its engine call id (a retry asks with it).
    if (run.call === QUIET_CALL) run.call = cell[CELL_CALL];
    const end = readEnd();
    if (transition !== 0) breaker[kTransition](transition, outcome === OUTCOME_TIMEOUT ? 'timeout' : 'failure');
    breaker[kFailed](call, error);
    return this._next(run, error, end);
  }

  /** An attempt through the breaker's own execute (a breaker with facade hooks), started at `start`. */
  _viaFacade(run, start) {
    return run.circuit.breaker.execute(run.fn).then(
      (value) => {
        const now = this._timeOf(run, -1, start);
        if (typeof now !== 'number') return now;
        native.serviceEnd(this._id, run.call, -1, OUTCOME_SUCCESS, undefined, undefined, now);
        const end = readEnd();
        if (end.admit >= 0) this._admit(end.admit);
        if (end.alerts !== 0) this._takeAlerts();
        return value;
      },
      (error) => {
        const now = this._timeOf(run, -1, start);
        if (typeof now !== 'number') return now;
        run.at = now;
        const outcome = error instanceof CircuitBreakerError ? OUTCOME_REFUSED : OUTCOME_FAILURE;
        const [code, status] = errorFacts(error);
        native.serviceEnd(this._id, run.call, -1, outcome, code, status, now);
        return this._next(run, error, readEnd());
      },
    );
  }

  /** What follows a failed attempt, as the engine said: wait and retry, or the end. */
  _next(run, error, end) {
    if (end.admit >= 0) this._admit(end.admit);
    if (end.alerts !== 0) this._takeAlerts();
    if (end.after === AFTER_RETRY) {
      return new Promise((resolve) => this._setTimer(resolve, end.value)).then(() => this._again(run));
    }
    if (end.after === AFTER_FAILED) return this._final(run, error, end.value, end.letter, end.dropped);
    return Promise.reject(error);
  }

  /** The end of a failed call: its dead letter's payload, then the fallback or the error. */
  _final(run, error, attempts, letter, dropped) {
    if (dropped >= 0) this._letters.delete(dropped);
    if (letter >= 0) this._letters.set(letter, { error, timestamp: Date.now(), fn: run.fn, retry: run.retry, handle: run.handle });
    if (run.report !== null) run.report.attempts = attempts;
    const fb = run.fallback;
    if (fb === null) return Promise.reject(error);
    if (typeof fb.fallbackFunction === 'function') {
      try {
        return Promise.resolve(fb.fallbackFunction(error));
      } catch (fallbackError) {
        return Promise.reject(fallbackError);
      }
    }
    if (Object.prototype.hasOwnProperty.call(fb, 'fallbackValue')) return Promise.resolve(fb.fallbackValue);
    return Promise.reject(error);
  }

  _bulkheadError(service, reason) {
    const s = this.getBulkheadStats(service);
    return new BulkheadRejectedError(service, {
      reason: reason === REFUSED_QUEUE_TIMEOUT ? 'queue-timeout' : 'full',
      maxConcurrent: s?.maxConcurrent,
      queueSize: s?.queueSize,
      maxQueueWait: s?.maxQueueWait,
    });
  }

  // ---- bulkhead waits ---------------------------------------------------------------

  /**
   * Waits until the engine admits the call (a slot frees) or refuses it (waited too
   * long); `run.admitted` answers true, false, or the clock's error.
   */
  _queue(run, maxWait) {
    return new Promise((resolve) => {
      run.admitted = resolve;
      this._waiting.set(run.call, run);
      // The engine refuses waits longer than maxQueueWait: look just after it.
      if (maxWait >= 0) this._armWait(run, maxWait + 1);
    }).then((admitted) => {
      if (admitted === true) return this._again(run);
      if (admitted === false) return this._final(run, this._bulkheadError(run.circuit.service, REFUSED_QUEUE_TIMEOUT), 0, -1, -1);
      return Promise.reject(admitted);
    });
  }

  _armWait(run, ms) {
    run.timer = this._setTimer(() => this._waitOver(run), ms);
    if (this._clock === null && typeof run.timer.unref === 'function') run.timer.unref();
  }

  _waitOver(run) {
    run.timer = null;
    let now;
    try {
      now = this._instant();
    } catch (error) {
      // No wait can be judged: the call gives up its place (in a timer, nothing may throw).
      this._waiting.delete(run.call);
      native.serviceAbandon(this._id, run.call, run.at);
      const end = readEnd();
      if (end.admit >= 0) this._admit(end.admit);
      if (end.alerts !== 0) this._takeAlerts();
      run.admitted(error);
      return;
    }
    const answer = native.serviceWaitOver(this._id, run.call, now);
    const alerts = cell[CELL_ALERTS];
    if (answer === WAIT_ADMITTED || answer === WAIT_REFUSED) {
      this._waiting.delete(run.call);
      run.admitted(answer === WAIT_ADMITTED);
    } else {
      // No limit (the engine's "forever"), or one past what a JavaScript timer holds:
      // look again then.
      this._armWait(run, Math.min(answer, JS_TIMER_LIMIT_MS));
    }
    if (alerts !== 0) this._takeAlerts();
  }

  /** The engine gave waiting call `call` a slot. */
  _admit(call) {
    const run = this._waiting.get(call);
    if (run === undefined) return;
    this._waiting.delete(call);
    if (run.timer !== null) this._clearTimer(run.timer);
    run.timer = null;
    run.admitted(true);
  }

  // ---- seed 004's service-specific helpers ---------------------------------------------

  _helper(service, preset, operation, fn, fallbackOptions) {
    checkName('the service name', service);
    if (!native.serviceIsConfigured(this._id, service)) this._configure(service, { preset }, true);
    return this.executeWithCircuitBreaker(service, operation, fn, fallbackOptions === undefined ? undefined : { fallbackOptions });
  }

  /** Service `ollama` (preset `llm`); `fallback` a function of the error, or a value. */
  executeOllamaRequest(operation, fn, fallback = undefined) {
    return this._helper('ollama', 'llm', operation, fn, fallback === undefined ? undefined : fallbackOf(fallback));
  }

  /** Service `redis` (preset `cache`); `fallbackValue` returned when it fails (may be null). */
  executeRedisOperation(operation, fn, ...fallbackValue) {
    return this._helper('redis', 'cache', operation, fn, fallbackValue.length > 0 ? fallbackOf(fallbackValue[0]) : undefined);
  }

  /** Service `database` (preset `database`). */
  executeDatabaseQuery(queryName, fn, ...fallbackValue) {
    return this._helper('database', 'database', queryName, fn, fallbackValue.length > 0 ? fallbackOf(fallbackValue[0]) : undefined);
  }

  /** Service `apiName` (preset `external-api`). */
  executeExternalAPI(apiName, operation, fn, ...fallbackValue) {
    return this._helper(apiName, 'external-api', operation, fn, fallbackValue.length > 0 ? fallbackOf(fallbackValue[0]) : undefined);
  }

  /** Service `websocket` (preset `websocket`); `queueOnFailure` sends failures to the dead-letter queue. */
  executeWebSocketOperation(operation, fn, queueOnFailure = false) {
    return this._helper('websocket', 'websocket', operation, fn, queueOnFailure ? { queue: true } : undefined);
  }

  // ---- dead-letter queue --------------------------------------------------------------

  /** The failed operations kept for a retry, oldest first: `{ id, service, operation, error, attempts, timestamp }`. */
  getDeadLetterQueue() {
    return native.serviceDeadLetters(this._id).map((d) => {
      const payload = this._letters.get(d.id);
      return {
        id: d.id,
        service: d.service,
        operation: nullable(d.operation),
        error: payload === undefined ? undefined : payload.error,
        attempts: d.attempts,
        timestamp: payload === undefined ? undefined : payload.timestamp,
      };
    });
  }

  /** `{ size, capacity, dropped }`: dropped counts the oldest items pushed out when full. */
  getDeadLetterStats() {
    const [size, capacity, dropped] = native.serviceDeadLetterStats(this._id);
    return { size, capacity, dropped };
  }

  /**
   * Runs a dead-letter item again through the service (its call's retry policy, the
   * bulkhead, no fallback); resolves with its result and removes it on success. On
   * failure the item stays, with the new error and its attempts added.
   */
  retryDeadLetterItem(itemId) {
    if (typeof itemId !== 'number') return Promise.reject(deadLetterIdError('retryDeadLetterItem', itemId));
    if (!isItemId(itemId)) return Promise.reject(new RangeError(`no dead-letter item ${String(itemId)}`));
    const payload = this._letters.get(itemId);
    let run;
    const report = { attempts: 0 };
    try {
      const key = native.serviceRetryDeadLetter(this._id, itemId);
      const circuit = this._circuit(key.service, key.operation);
      run = this._start(new Run(circuit, payload.fn, payload.retry, payload.handle, null, report), false);
    } catch (error) {
      return Promise.reject(error);
    }
    return run.then(
      (value) => {
        native.serviceDeadLetterRetried(this._id, itemId, true, report.attempts);
        this._letters.delete(itemId);
        if (cell[CELL_ALERTS] !== 0) this._takeAlerts();
        return value;
      },
      (error) => {
        native.serviceDeadLetterRetried(this._id, itemId, false, report.attempts);
        payload.error = error;
        payload.timestamp = Date.now();
        throw error;
      },
    );
  }

  /** Removes one item without running it; whether it was there. */
  removeDeadLetterItem(itemId) {
    if (typeof itemId !== 'number') throw deadLetterIdError('removeDeadLetterItem', itemId);
    if (!isItemId(itemId)) return false;
    const removed = native.serviceRemoveDeadLetter(this._id, itemId);
    this._letters.delete(itemId);
    if (cell[CELL_ALERTS] !== 0) this._takeAlerts();
    return removed;
  }

  /** Empties the dead-letter queue; returns how many items it held. */
  clearDeadLetterQueue() {
    const ids = native.serviceClearDeadLetters(this._id);
    for (const id of ids) this._letters.delete(id);
    if (cell[CELL_ALERTS] !== 0) this._takeAlerts();
    return ids.length;
  }

  // ---- manual control -----------------------------------------------------------------

  /** Resets one breaker, or every breaker of the service (ending a forced open). */
  resetCircuitBreaker(service, operation = undefined) {
    checkName('the service name', service);
    if (operation !== undefined) checkName('the operation name', operation);
    for (const id of native.serviceReset(this._id, service, operation)) {
      const circuit = this._circuits[id];
      if (circuit !== undefined) circuit.breaker.reset();
    }
  }

  /**
   * Opens one breaker, or every breaker of the service including operations first used
   * later, until resetCircuitBreaker (maintenance mode).
   */
  forceCircuitBreakerOpen(service, operation = undefined) {
    checkName('the service name', service);
    if (operation !== undefined) this._circuit(service, operation, undefined);
    for (const id of native.serviceForceOpen(this._id, service, operation)) {
      const circuit = this._circuits[id];
      if (circuit !== undefined) circuit.breaker.open();
    }
  }

  /** Resets every breaker of this service. */
  resetAll() {
    for (const circuit of this._circuits) if (circuit !== undefined) circuit.breaker.reset();
  }

  // ---- reading ------------------------------------------------------------------------

  /** Seed 003's stats of (service, operation), or undefined for a breaker it does not hold. */
  getCircuitBreakerStats(service, operation) {
    const circuit = this._lookup(service, operation);
    return circuit === undefined ? undefined : seed003Stats(circuit.breaker);
  }

  /** Seed 003's stats of every breaker, keyed by its name (`service:operation`, `:` and `%` escaped). */
  getAllCircuitBreakerStats() {
    const all = Object.create(null);
    for (const key of native.serviceCircuits(this._id)) {
      const circuit = this._circuits[key.circuit];
      if (circuit !== undefined) all[key.name] = seed003Stats(circuit.breaker);
    }
    return all;
  }

  /** Every breaker's stats with its `service` and `operation`, keyed by its name. */
  getCircuitBreakerState() {
    const all = Object.create(null);
    for (const key of native.serviceCircuits(this._id)) {
      const circuit = this._circuits[key.circuit];
      if (circuit === undefined) continue;
      const { options, ...stats } = circuit.breaker.getStats();
      void options;
      all[key.name] = { service: key.service, operation: nullable(key.operation), ...stats };
    }
    return all;
  }

  /** A service's bulkhead stats (running, queued, rejected, wait times...), or undefined. */
  getBulkheadStats(service) {
    const s = native.serviceBulkheadStats(this._id, service);
    return s == null ? undefined : bulkheadOf(s);
  }

  /** A service's retry outcomes since the service was made (never reset) and its bulkhead. */
  getServiceStats(service) {
    checkName('the service name', service);
    const r = native.serviceRetryCounters(this._id, service);
    return {
      retries: {
        successfulWithoutRetry: r.successfulWithoutRetry,
        successfulWithRetry: r.successfulWithRetry,
        failedWithoutRetry: r.failedWithoutRetry,
        failedWithRetry: r.failedWithRetry,
      },
      bulkhead: this.getBulkheadStats(service) ?? null,
    };
  }

  /**
   * `{ overall, services, deadLetterQueue, breakers: { count, max, evictions } }`: a service is
   * unhealthy when every breaker is open, degraded when any is open or half-open or its
   * bulkhead is saturated; overall is the worst service (the engine's rules).
   */
  getSystemHealth() {
    const h = native.serviceHealth(this._id, this._instant());
    const services = Object.create(null);
    for (const s of h.services) {
      const circuits = Object.create(null);
      s.operations.forEach((operation, i) => {
        if (operation != null) circuits[operation] = STATE_NAMES[s.states[i]];
      });
      services[s.name] = { status: s.status, circuits, bulkhead: bulkheadOf(s.bulkhead), forcedOpen: s.forcedOpen };
    }
    return {
      overall: h.overall,
      services,
      deadLetterQueue: { size: h.size, capacity: h.capacity, dropped: h.dropped },
      breakers: { count: h.count, max: h.max, evictions: h.evictions },
      timestamp: Date.now(),
    };
  }

  /** Breakers evicted since construction. */
  get evictions() {
    return native.serviceSize(this._id)[1];
  }
}

module.exports = {
  CircuitBreakerService,
  circuitBreakerService: new CircuitBreakerService(),
  BulkheadRejectedError,
  RetryPolicy,
  Bulkhead,
  checkHealth,
  serviceHealth,
  errorRateAlert,
  deadLetterAlert,
  allCircuitsOpenAlert,
  SERVICE_PRESETS,
};
