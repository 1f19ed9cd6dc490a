// Seed 004's resilience service: circuit breakers with retry, bulkhead, fallbacks and
// a dead-letter queue, on the seed-003 CircuitBreakerService facade.
//
// Every decision that must match the Python package is the Rust core's
// (core/src/resilience): the backoff schedule, which errors are retried, bulkhead
// accounting (who runs, who waits, who is refused, FIFO), the dead-letter queue's
// bound, alert conditions and episodes, service health and the presets. This file only waits
// (timers on the service's clock), queues (promises by ticket) and calls.
'use strict';

const { EventEmitter } = require('node:events');
const native = require('./native.js');
// index.js requires this module after setting its exports: the base classes are there.
const base = require('./index.js');

const { CircuitBreaker, CircuitBreakerError, circuitBreakerRegistry } = base;
const BaseService = base.CircuitBreakerService;
const { bulkheadEnterAt, bulkheadLeaveAt, serviceEnterAt, serviceSucceedAt } = native.bulkheadHotPath();
const { shared, processNow, Call } = require('./shared.js');

// serviceEnterAt / serviceSucceedAt write the bulkhead's entry or admitted ticket here.
const serviceCell = shared.service;

// The transition code of OPEN -> HALF_OPEN (1 + from * 3 + to), as index.js has it.
const OPEN_TO_HALF_OPEN = 1 + 1 * 3 + 2;

/**
 * The context a protected function receives on the service's fast path: a Call
 * (shared.js) whose timeout goes on to the service's retries instead of rejecting.
 */
class ServiceCall extends Call {
  constructor(slot, start) {
    super(slot, 0, start);
    // Set while a timeout may end the call: what _reject needs to go on.
    this._onFailure = null;
    this._reject = rejectServiceCall;
  }
}

/** The attempt failed and was recorded (CircuitBreaker#_timedOut calls it on a timeout). */
function rejectServiceCall(error) {
  this._resolve(this._onFailure(error));
}

// Codes of the raw bulkhead pair (bindings-node/src/resilience.rs).
const ENTRY_RUN = -1;
const ENTRY_REJECTED = -2;

const STATE_CODES = { CLOSED: 0, OPEN: 1, HALF_OPEN: 2 };
const HEALTH_ORDER = { healthy: 0, degraded: 1, unhealthy: 2 };
const ERROR_RATE_ALERT = native.errorRateAlert();
const ERROR_RATE_ALERT_MIN_CALLS = native.errorRateAlertMinCalls();
const DEAD_LETTER_ALERT = native.deadLetterAlert();
const DEFAULT_MAX_BREAKERS = native.defaultMaxBreakers();
const DEFAULT_DEAD_LETTER_SIZE = native.defaultDeadLetterSize();
const EMPTY = Object.freeze({});

// Frees native objects once their JS owner is collected: [releaseFunctionName, id].
const releaser = new FinalizationRegistry(([fn, id]) => native[fn](id));

function describe(value) {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  const type = typeof value;
  return type === 'object' ? 'an object' : `a ${type}`;
}

function checkOptions(what, options) {
  if (options === undefined || options === null) return EMPTY;
  if (typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError(`${what} must be an object, not ${describe(options)}`);
  }
  return options;
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
  let code = typeof error.code === 'string' ? error.code : undefined;
  const cause = error.cause;
  if (code === undefined && cause !== null && typeof cause === 'object' && typeof cause.code === 'string') code = cause.code;
  let status = statusOf(error);
  if (status === undefined && error.response !== null && typeof error.response === 'object') status = statusOf(error.response);
  return [code, status];
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
    return native.retryDelay(this._id, attempt);
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

/** Readable bulkhead stats from the native ones. */
function bulkheadStats(id) {
  const s = native.bulkheadStats(id);
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
    maxQueueWait: s.maxQueueWait ?? null,
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
    const code = bulkheadEnterAt(this._id, nowMs);
    if (code === ENTRY_RUN) return { entry: 'run' };
    if (code === ENTRY_REJECTED) return { entry: 'rejected' };
    return { entry: 'queued', ticket: code };
  }

  leave(nowMs) {
    const ticket = bulkheadLeaveAt(this._id, nowMs);
    return ticket < 0 ? null : ticket;
  }

  abandon(ticket) {
    return native.bulkheadAbandon(this._id, ticket);
  }

  expire(nowMs) {
    return native.bulkheadExpire(this._id, nowMs);
  }

  /** Changes the limits named; returns the tickets a larger limit admits now. */
  configure(options, nowMs = undefined) {
    return native.bulkheadConfigure(this._id, checkOptions('bulkhead', options), nowMs);
  }

  stats() {
    return bulkheadStats(this._id);
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

/** A preset as service options: breaker config, bulkhead, retry policy. */
function presetOptions(name) {
  const p = SERVICE_PRESETS[name];
  if (p === undefined) {
    throw new RangeError(`unknown preset ${JSON.stringify(name)}: one of ${Object.keys(SERVICE_PRESETS).join(', ')}`);
  }
  return {
    config: { failureThreshold: p.failureThreshold, timeout: p.timeout },
    bulkhead: { maxConcurrent: p.maxConcurrent },
    retryPolicy: { maxAttempts: p.retryAttempts + 1 },
  };
}

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

/** One service's bulkhead, retry policy, breaker options and waiting calls. */
class ServiceState {
  constructor(owner, name) {
    this.name = name;
    this.bulkheadId = native.bulkheadCreate({});
    releaser.register(this, ['bulkheadRelease', this.bulkheadId], this);
    this.retryOptions = EMPTY;
    this.policy = owner._defaultPolicy;
    this.config = EMPTY;
    this.preset = null;
    this.configured = false;
    this.forced = false;
    this.operations = new Map();
    this.waiters = new Map();
    this.bulkheadAlert = false;
    this.errorAlerts = null;
    this.lastBulkheadOptions = null;
  }

  release() {
    releaser.unregister(this);
    native.bulkheadRelease(this.bulkheadId);
  }
}

/**
 * Seed 004's CircuitBreakerService: `executeWithCircuitBreaker(service, operation, fn,
 * options?)` with retries, a bulkhead per service, fallbacks and a dead-letter queue,
 * plus seed 003's `execute(...)` and `getCircuitBreakerStats(...)`.
 *
 * Options: `clock` (ms; a ManualClock makes retries and queue waits sleep-free),
 * `maxBreakers` (LRU cap on idle breakers, default 1000), `deadLetterQueueSize`
 * (default 1000), `services` (`{ name: presetName | { preset, config, bulkhead,
 * retryPolicy } }`), `onAlert(alert)`.
 */
class CircuitBreakerService extends BaseService {
  constructor(options = {}) {
    super();
    options = checkOptions('options', options);
    const clock = options.clock ?? null;
    if (clock !== null && (typeof clock !== 'object' || typeof clock.now !== 'function')) {
      throw new TypeError('invalid option `clock`: must be an object with a now() method returning milliseconds');
    }
    const maxBreakers = options.maxBreakers ?? DEFAULT_MAX_BREAKERS;
    if (!Number.isInteger(maxBreakers) || maxBreakers < 1) throw new RangeError('invalid option `maxBreakers`: must be a whole number ≥ 1');
    const dlqSize = options.deadLetterQueueSize ?? DEFAULT_DEAD_LETTER_SIZE;
    if (!Number.isInteger(dlqSize) || dlqSize < 1) throw new RangeError('invalid option `deadLetterQueueSize`: must be a whole number ≥ 1');
    if (options.onAlert !== undefined && typeof options.onAlert !== 'function') {
      throw new TypeError(`invalid option \`onAlert\`: must be a function, not ${describe(options.onAlert)}`);
    }
    this._clock = clock;
    this._setTimer = clock !== null && typeof clock.setTimeout === 'function' ? clock.setTimeout.bind(clock) : setTimeout;
    this._clearTimer = clock !== null && typeof clock.clearTimeout === 'function' ? clock.clearTimeout.bind(clock) : clearTimeout;
    this._maxBreakers = maxBreakers;
    this._evictions = 0;
    this._tick = 0;
    this._services = new Map();
    this._defaultPolicy = new RetryPolicy();
    this._emitter = new EventEmitter();
    this._onAlert = options.onAlert ?? null;
    this._dlqId = native.deadLetterCreate(dlqSize);
    this._dlqCapacity = dlqSize;
    this._dlqItems = new Map();
    this._episodes = native.episodesCreate();
    releaser.register(this, ['deadLetterRelease', this._dlqId]);
    releaser.register(this, ['episodesRelease', this._episodes]);
    for (const [name, spec] of Object.entries(checkOptions('services', options.services))) {
      this.updateServiceConfig(name, typeof spec === 'string' ? { preset: spec } : spec);
    }
  }

  // ---- events ----------------------------------------------------------------------

  /** Listens to `alert` (`{ type, service, operation?, message, timestamp, ... }`). */
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

  /** Fires an alert when `key`'s condition starts (the core's Episodes: once per episode). */
  _observe(key, active, alert) {
    if (!native.episodesObserve(this._episodes, key, active) || alert === null) return false;
    const payload = { ...alert(), timestamp: Date.now() };
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
    return true;
  }

  // ---- services and breakers ---------------------------------------------------------

  /** Now on the breakers' and bulkheads' clock (ms): the caller's, or the process clock. */
  _instant() {
    return this._clock === null ? processNow() : this._clock.now();
  }

  /** Now for timestamps (dead letters, alerts): epoch ms, or the caller's clock. */
  _now() {
    return this._clock === null ? Date.now() : this._clock.now();
  }

  _service(name) {
    let svc = this._services.get(name);
    if (svc === undefined) {
      checkName('the service name', name);
      svc = new ServiceState(this, name);
      this._services.set(name, svc);
    }
    return svc;
  }

  /** The breaker of (service, operation), made with the service's config (then `options`) the first time. */
  getCircuitBreaker(service, operation, options = undefined) {
    return this._breaker(this._service(service), operation, options);
  }

  _breaker(svc, operation, options) {
    let breaker = svc.operations.get(operation);
    if (breaker !== undefined) {
      breaker._lastUsed = ++this._tick;
      return breaker;
    }
    checkName('the operation name', operation);
    const merged = { successThreshold: 1, halfOpenMaxCalls: 1, ...svc.config, ...checkOptions('config', options) };
    breaker = this._makeBreaker(svc, operation, merged, null);
    if (this._breakers.size > this._maxBreakers) this._evict();
    return breaker;
  }

  /** A breaker for (svc, operation) with `options`, in the state of `snapshot` when given. */
  _makeBreaker(svc, operation, options, from) {
    const key = `${svc.name}:${operation}`;
    const full = { ...options, name: key };
    if (this._clock !== null) full.clock = this._clock;
    let breaker;
    if (from !== null) {
      const { clock, ...json } = full;
      try {
        breaker = CircuitBreaker.fromJSON({ name: key, options: json, snapshot: from.toJSON().snapshot }, clock ? { clock } : {});
      } catch (error) {
        if (error instanceof TypeError || error instanceof RangeError) throw error;
        // The snapshot does not fit the new window shape: a fresh window, same manual mode.
        breaker = new CircuitBreaker(full);
        if (from.getStats().forcedOpen) breaker.open();
      }
    } else {
      breaker = new CircuitBreaker(full);
    }
    breaker._svcOptions = options;
    breaker._lastUsed = ++this._tick;
    // No facade hooks (fallback, errorFilter, isFailureResult): the fast first attempt applies.
    const h = breaker._profile.hooks;
    breaker._svcFast = h.fallback === null && h.errorFilter === null && h.isFailureResult === null && h.logger === null;
    breaker.on('stateChange', (f, t) => this._transition(svc, operation, f, t));
    svc.operations.set(operation, breaker);
    this._breakers.set(key, breaker);
    if (svc.forced && from === null) breaker.open();
    return breaker;
  }

  /**
   * Evicts idle breakers (closed, nothing in flight, not forced), least recently used
   * first, down to 90 % of the cap; their services go too when nothing else is left.
   */
  _evict() {
    const idle = [];
    for (const breaker of this._breakers.values()) {
      // Forced open reads OPEN: only closed breakers with no permit out are idle.
      if (native.outstanding(breaker._id) === 0 && breaker.getState() === 'CLOSED') idle.push(breaker);
    }
    idle.sort((a, b) => a._lastUsed - b._lastUsed);
    const target = Math.max(1, Math.floor(this._maxBreakers * 0.9));
    for (const breaker of idle) {
      if (this._breakers.size <= target) break;
      const key = breaker.name;
      this._breakers.delete(key);
      if (circuitBreakerRegistry.get(key) === breaker) circuitBreakerRegistry.remove(key);
      const service = key.slice(0, key.indexOf(':'));
      const svc = this._services.get(service);
      if (svc === undefined) continue;
      const operation = key.slice(service.length + 1);
      if (svc.operations.get(operation) === breaker) svc.operations.delete(operation);
      this._evictions++;
      // Its episodes end with it: the episode set stays as bounded as the breakers.
      native.episodesObserve(this._episodes, `error-rate:${key}`, false);
      native.episodesObserve(this._episodes, `circuit-opened:${key}`, false);
      if (svc.errorAlerts !== null) svc.errorAlerts.delete(operation);
      if (svc.operations.size === 0 && !svc.configured && !svc.forced && svc.waiters.size === 0 && native.bulkheadStats(svc.bulkheadId).running === 0) {
        native.episodesObserve(this._episodes, `all-circuits-open:${service}`, false);
        native.episodesObserve(this._episodes, `bulkhead-full:${service}`, false);
        svc.release();
        this._services.delete(service);
      }
    }
  }

  _transition(svc, operation, from, to) {
    const { name } = svc;
    this._observe(`circuit-opened:${name}:${operation}`, to !== 'CLOSED', () => ({
      type: 'circuit-opened',
      service: name,
      operation,
      message: `Circuit breaker '${name}:${operation}' opened`,
      previousState: from,
    }));
    // The episode starts when every breaker is open and lasts until one closes (a
    // half-open trial that fails is the same outage): the core's rule.
    const states = [];
    for (const breaker of svc.operations.values()) states.push(STATE_CODES[breaker.getState()]);
    const key = `all-circuits-open:${name}`;
    const active = native.allCircuitsOpenAlertOf(states, native.episodesIsActive(this._episodes, key));
    this._observe(key, active, () => ({
      type: 'all-circuits-open',
      service: name,
      message: `Every circuit of '${name}' is open: the service is unavailable`,
      circuits: svc.operations.size,
    }));
  }

  /**
   * The high-error-rate condition of (svc, operation), from the breaker's window (the
   * core's rule: at least 10 calls, more than 10 % failed). Checked after failures, and
   * after successes only while its episode goes on (`svc.errorAlerts`).
   */
  _errorRate(svc, operation, breaker) {
    const { windowCalls, windowFailures, failureRate } = breaker.getStats();
    const high = native.errorRateAlertOf(windowCalls, windowFailures);
    const key = `error-rate:${svc.name}:${operation}`;
    const started = this._observe(key, high, () => ({
      type: 'high-error-rate',
      service: svc.name,
      operation,
      message: `Error rate of '${svc.name}:${operation}' is ${(failureRate * 100).toFixed(1)} % over ${windowCalls} calls (alert above ${ERROR_RATE_ALERT * 100} % once ${ERROR_RATE_ALERT_MIN_CALLS} calls are in the window)`,
      failureRate,
      windowCalls,
      windowFailures,
    }));
    if (started) (svc.errorAlerts ??= new Set()).add(operation);
    else if (!high && svc.errorAlerts !== null) svc.errorAlerts.delete(operation);
  }

  // ---- configuration -----------------------------------------------------------------

  /**
   * Changes a service's `config` (breaker options), `bulkhead` (`maxConcurrent`,
   * `queueSize`, `maxQueueWait`) and `retryPolicy`, or applies a `preset` first. Applies
   * to new calls; breakers keep their state. Everything is checked before anything changes.
   */
  updateServiceConfig(service, update = {}) {
    update = checkOptions('the update', update);
    const svc = this._service(service);
    let { config, bulkhead, retryPolicy } = update;
    if (update.preset !== undefined) {
      const p = presetOptions(update.preset);
      config = { ...p.config, ...checkOptions('config', config) };
      bulkhead = { ...p.bulkhead, ...checkOptions('bulkhead', bulkhead) };
      retryPolicy = { ...p.retryPolicy, ...checkOptions('retryPolicy', retryPolicy) };
    }
    // Check everything first.
    const retryOptions = retryPolicy === undefined ? null : { ...svc.retryOptions, ...checkOptions('retryPolicy', retryPolicy) };
    const policy = retryOptions === null ? null : new RetryPolicy(retryOptions);
    if (bulkhead !== undefined) new Bulkhead({ ...this._bulkheadOptions(svc), ...checkOptions('bulkhead', bulkhead) });
    const newConfig = config === undefined ? null : { ...svc.config, ...checkOptions('config', config) };
    const rebuilt = [];
    if (newConfig !== null) {
      native.release(native.create({ successThreshold: 1, halfOpenMaxCalls: 1, ...newConfig }));
      for (const [operation, old] of svc.operations) rebuilt.push([operation, old, { ...old._svcOptions, ...checkOptions('config', config) }]);
    }
    // Then apply.
    svc.configured = true;
    if (update.preset !== undefined) svc.preset = update.preset;
    if (policy !== null) {
      svc.retryOptions = retryOptions;
      svc.policy = policy;
    }
    if (bulkhead !== undefined) this._configureBulkhead(svc, bulkhead);
    if (newConfig !== null) {
      svc.config = newConfig;
      for (const [operation, old, options] of rebuilt) {
        const breaker = this._makeBreaker(svc, operation, options, old);
        breaker._lastUsed = old._lastUsed;
      }
    }
  }

  _bulkheadOptions(svc) {
    const s = native.bulkheadStats(svc.bulkheadId);
    return { maxConcurrent: s.maxConcurrent, queueSize: s.queueSize, maxQueueWait: s.maxQueueWait ?? null };
  }

  _configureBulkhead(svc, options) {
    svc.lastBulkheadOptions = options;
    const admitted = native.bulkheadConfigure(svc.bulkheadId, options, this._instant());
    for (const ticket of admitted) this._admit(svc, ticket);
  }

  /** Applies a preset (`llm`, `cache`, `database`, `external-api`, `websocket`) to a service. */
  usePreset(service, preset) {
    this.updateServiceConfig(service, { preset });
  }

  /** The options in force for a service. */
  getServiceConfig(service) {
    const svc = this._service(service);
    return {
      preset: svc.preset,
      config: { successThreshold: 1, halfOpenMaxCalls: 1, ...svc.config },
      bulkhead: this._bulkheadOptions(svc),
      retryPolicy: svc.policy.toJSON(),
    };
  }

  // ---- the call --------------------------------------------------------------------

  /**
   * Runs `fn` for (service, operation): one bulkhead slot for the whole sequence, each
   * attempt through the breaker, retries as the policy says (stopping as soon as the
   * circuit opens), then the fallback or the dead-letter queue.
   *
   * `options`: `fallbackOptions` (`fallbackValue`, `fallbackFunction(error)`, `queue`),
   * `retryPolicy` (this call's, over the service's), `bulkhead` (the service's limits
   * from now on), `config` (breaker options, used when the breaker is first made).
   */
  executeWithCircuitBreaker(service, operation, fn, options = undefined) {
    if (typeof fn !== 'function') return Promise.reject(new TypeError(`executeWithCircuitBreaker() needs a function, not ${describe(fn)}`));
    let svc;
    let breaker;
    let policy;
    try {
      const opts = options === undefined ? EMPTY : checkOptions('options', options);
      svc = this._service(service);
      breaker = this._breaker(svc, operation, opts.config);
      policy = svc.policy;
      if (opts.retryPolicy !== undefined && opts.retryPolicy !== null) policy = new RetryPolicy({ ...svc.retryOptions, ...checkOptions('retryPolicy', opts.retryPolicy) });
      if (opts.bulkhead !== undefined && opts.bulkhead !== null && opts.bulkhead !== svc.lastBulkheadOptions) {
        this._configureBulkhead(svc, checkOptions('bulkhead', opts.bulkhead));
      }
      options = opts;
    } catch (error) {
      return Promise.reject(error);
    }
    return this._execute(svc, operation, breaker, policy, fn, options, null);
  }

  _execute(svc, operation, breaker, policy, fn, options, report) {
    if (breaker._svcFast) return this._fast(svc, operation, breaker, policy, fn, options, report);
    const id = svc.bulkheadId;
    const code = bulkheadEnterAt(id, this._instant());
    if (code === ENTRY_RUN) return this._attempts(svc, operation, breaker, policy, fn, options, report, 1);
    return this._notAdmitted(svc, operation, policy, fn, options, report, code);
  }

  /** A call the bulkhead did not admit at once: refused, or queued until a slot frees. */
  _notAdmitted(svc, operation, policy, fn, options, report, code) {
    this._observe(`bulkhead-full:${svc.name}`, true, () => ({
      type: 'bulkhead-full',
      service: svc.name,
      message: `Bulkhead of '${svc.name}' is at capacity`,
      ...this._bulkheadOptions(svc),
    }));
    svc.bulkheadAlert = true;
    if (code === ENTRY_REJECTED) return this._failed(svc, operation, fn, options, this._rejection(svc, 'full'), 0, report);
    return this._wait(svc, code).then(
      () => this._attempts(svc, operation, this._breaker(svc, operation, options.config), policy, fn, options, report, 1),
      (error) => this._failed(svc, operation, fn, options, error, 0, report),
    );
  }

  /**
   * The first attempt of a call on a breaker without facade hooks: the bulkhead and
   * the breaker in one native call each way (serviceEnter, serviceSucceed), the rest
   * as CircuitBreaker#execute does it (timeouts, events).
   */
  _fast(svc, operation, breaker, policy, fn, options, report) {
    const start = this._instant();
    const code = serviceEnterAt(svc.bulkheadId, breaker._id, start);
    const entry = serviceCell[0];
    if (entry !== ENTRY_RUN) return this._notAdmitted(svc, operation, policy, fn, options, report, entry);
    if (code < 0) {
      return breaker._refuse(code).then(undefined, (error) => {
        this._leave(svc);
        return this._failed(svc, operation, fn, options, error, 1, report);
      });
    }
    if ((code & 1) === 1) breaker._transition(OPEN_TO_HALF_OPEN);
    const call = new ServiceCall(code >> 1, start);
    let result;
    let then;
    try {
      result = fn(call);
      then = result !== null && (typeof result === 'object' || typeof result === 'function') ? result.then : undefined;
    } catch (error) {
      breaker._failure(call, error);
      return this._retryOrFail(svc, operation, breaker, policy, fn, options, report, error, 1);
    }
    if (typeof then !== 'function') return Promise.resolve(this._fastValue(svc, operation, breaker, call, result, report));
    const onFailure = (error) => this._retryOrFail(svc, operation, breaker, policy, fn, options, report, error, 1);
    const timed = breaker._profile.timeoutMs !== null;
    if (!timed && result instanceof Promise) {
      // Nothing can settle the call before `result` does: chain on it directly.
      return result.then(
        (value) => this._fastValue(svc, operation, breaker, call, value, report),
        (error) => {
          breaker._failure(call, error);
          return onFailure(error);
        },
      );
    }
    return new Promise((resolve) => {
      call._resolve = resolve;
      call._onFailure = onFailure;
      if (timed) breaker._track(call);
      const onError = (error) => {
        if (call._settled) return;
        call._settled = true;
        if (timed) breaker._untrack(call);
        breaker._failure(call, error);
        resolve(onFailure(error));
      };
      try {
        then.call(
          result,
          (value) => {
            if (call._settled) return;
            call._settled = true;
            if (timed) breaker._untrack(call);
            resolve(this._fastValue(svc, operation, breaker, call, value, report));
          },
          onError,
        );
      } catch (error) {
        onError(error);
      }
    });
  }

  /** Success of a first attempt: recorded and the slot left in one native call. */
  _fastValue(svc, operation, breaker, call, value, report) {
    const transition = serviceSucceedAt(svc.bulkheadId, breaker._id, call._slot, this._instant());
    const ticket = serviceCell[0];
    if (transition !== 0) breaker._transition(transition);
    if (breaker._listens('success')) breaker._reportSuccess(call._start);
    this._left(svc, ticket);
    if (svc.errorAlerts !== null && svc.errorAlerts.has(operation)) this._errorRate(svc, operation, breaker);
    if (report !== null) report.attempts = 1;
    return value;
  }

  _rejection(svc, reason) {
    const s = native.bulkheadStats(svc.bulkheadId);
    return new BulkheadRejectedError(svc.name, { reason, maxConcurrent: s.maxConcurrent, queueSize: s.queueSize, maxQueueWait: s.maxQueueWait ?? null });
  }

  /** Waits for the bulkhead to hand `ticket` a slot (or for its wait to expire). */
  _wait(svc, ticket) {
    return new Promise((resolve, reject) => {
      const waiter = { resolve, reject, timer: null };
      svc.waiters.set(ticket, waiter);
      const limit = native.bulkheadStats(svc.bulkheadId).maxQueueWait;
      if (limit != null) {
        // The core expires waits longer than the limit: look just after it.
        waiter.timer = this._setTimer(() => this._expire(svc), limit + 1);
        if (this._clock === null && typeof waiter.timer.unref === 'function') waiter.timer.unref();
      }
    });
  }

  _expire(svc) {
    const expired = native.bulkheadExpire(svc.bulkheadId, this._instant());
    for (const ticket of expired) {
      const waiter = svc.waiters.get(ticket);
      if (waiter === undefined) continue;
      svc.waiters.delete(ticket);
      waiter.reject(this._rejection(svc, 'queue-timeout'));
    }
  }

  _admit(svc, ticket) {
    const waiter = svc.waiters.get(ticket);
    if (waiter === undefined) return;
    svc.waiters.delete(ticket);
    if (waiter.timer !== null) this._clearTimer(waiter.timer);
    waiter.resolve();
  }

  _leave(svc) {
    const id = svc.bulkheadId;
    this._left(svc, bulkheadLeaveAt(id, this._instant()));
  }

  /** After a slot was left: hand it to `ticket`, or end the bulkhead-full episode. */
  _left(svc, ticket) {
    if (ticket >= 0) this._admit(svc, ticket);
    else if (svc.bulkheadAlert) {
      svc.bulkheadAlert = false;
      this._observe(`bulkhead-full:${svc.name}`, false, null);
    }
  }

  /** Attempt `attempts` and those after it, holding the call's bulkhead slot until the last ends. */
  _attempts(svc, operation, breaker, policy, fn, options, report, attempts) {
    return breaker.execute(fn).then(
      (value) => {
        this._leave(svc);
        if (svc.errorAlerts !== null && svc.errorAlerts.has(operation)) this._errorRate(svc, operation, breaker);
        if (report !== null) report.attempts = attempts;
        return value;
      },
      (error) => this._retryOrFail(svc, operation, breaker, policy, fn, options, report, error, attempts),
    );
  }

  /** After attempt `attempts` failed (already recorded): wait and retry, or end the call. */
  _retryOrFail(svc, operation, breaker, policy, fn, options, report, error, attempts) {
    const refused = error instanceof CircuitBreakerError;
    if (!refused) this._errorRate(svc, operation, breaker);
    const open = refused || breaker.getState() === 'OPEN';
    const [code, status] = errorFacts(error);
    if (attempts < policy.maxAttempts && native.shouldRetry(policy._id, code, status, open)) {
      const delay = native.retryDelay(policy._id, attempts);
      return new Promise((resolve) => this._setTimer(resolve, delay)).then(() =>
        this._attempts(svc, operation, this._breaker(svc, operation, undefined), policy, fn, options, report, attempts + 1),
      );
    }
    this._leave(svc);
    return this._failed(svc, operation, fn, options, error, attempts, report);
  }

  /** The end of a failed call: the dead-letter queue, then the fallback or the error. */
  _failed(svc, operation, fn, options, error, attempts, report) {
    if (report !== null) report.attempts = attempts;
    const fb = options.fallbackOptions;
    if (fb === undefined || fb === null) return Promise.reject(error);
    if (fb.queue === true) this._deadLetter(svc.name, operation, fn, options, error, attempts);
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

  // ---- seed 004's service-specific helpers ---------------------------------------------

  _helper(service, preset, operation, fn, fallback, extra) {
    if (!this._services.has(service) || this._services.get(service).preset === null && !this._services.get(service).configured) {
      this.updateServiceConfig(service, { preset });
    }
    let fallbackOptions;
    if (extra !== undefined) fallbackOptions = extra;
    else if (typeof fallback === 'function') fallbackOptions = { fallbackFunction: fallback };
    else if (fallback !== undefined) fallbackOptions = { fallbackValue: fallback };
    return this.executeWithCircuitBreaker(service, operation, fn, fallbackOptions === undefined ? undefined : { fallbackOptions });
  }

  /** Service `ollama` (preset `llm`); `fallback` a function of the error, or a value. */
  executeOllamaRequest(operation, fn, fallback = undefined) {
    return this._helper('ollama', 'llm', operation, fn, fallback);
  }

  /** Service `redis` (preset `cache`); `fallbackValue` returned when it fails (may be null). */
  executeRedisOperation(operation, fn, ...fallbackValue) {
    return this._helper('redis', 'cache', operation, fn, undefined, fallbackValue.length > 0 ? fallbackOf(fallbackValue[0]) : undefined);
  }

  /** Service `database` (preset `database`). */
  executeDatabaseQuery(queryName, fn, ...fallbackValue) {
    return this._helper('database', 'database', queryName, fn, undefined, fallbackValue.length > 0 ? fallbackOf(fallbackValue[0]) : undefined);
  }

  /** Service `apiName` (preset `external-api`). */
  executeExternalAPI(apiName, operation, fn, ...fallbackValue) {
    return this._helper(apiName, 'external-api', operation, fn, undefined, fallbackValue.length > 0 ? fallbackOf(fallbackValue[0]) : undefined);
  }

  /** Service `websocket` (preset `websocket`); `queueOnFailure` sends failures to the dead-letter queue. */
  executeWebSocketOperation(operation, fn, queueOnFailure = false) {
    return this._helper('websocket', 'websocket', operation, fn, undefined, queueOnFailure ? { queue: true } : undefined);
  }

  // ---- dead-letter queue --------------------------------------------------------------

  _deadLetter(service, operation, fn, options, error, attempts) {
    const [id, dropped] = native.deadLetterPush(this._dlqId);
    if (dropped >= 0) this._dlqItems.delete(dropped);
    const item = { id, service, operation, error, attempts, timestamp: Date.now() };
    Object.defineProperty(item, kCall, { value: { fn, options }, enumerable: false });
    this._dlqItems.set(id, item);
    this._dlqAlert();
  }

  _dlqAlert() {
    const size = this._dlqItems.size;
    this._observe('dead-letter-queue', native.deadLetterAlertOf(size), () => ({
      type: 'dead-letter-queue',
      message: `Dead-letter queue holds ${size} items (> ${DEAD_LETTER_ALERT})`,
      size,
    }));
  }

  /** The failed operations kept for a retry, oldest first: `{ id, service, operation, error, attempts, timestamp }`. */
  getDeadLetterQueue() {
    return native.deadLetterIds(this._dlqId).map((id) => ({ ...this._dlqItems.get(id) }));
  }

  /** `{ size, capacity, dropped }`: dropped counts the oldest items pushed out when full. */
  getDeadLetterStats() {
    const [size, dropped] = native.deadLetterCounts(this._dlqId);
    return { size, capacity: this._dlqCapacity, dropped };
  }

  /**
   * Runs a dead-letter item again through the service (same retry and bulkhead, no
   * fallback); resolves with its result and removes it on success. On failure the item
   * stays, with the new error and its attempts added.
   */
  retryDeadLetterItem(itemId) {
    const item = this._dlqItems.get(itemId);
    if (item === undefined) return Promise.reject(new RangeError(`no dead-letter item ${String(itemId)}`));
    if (item[kRetrying]) return Promise.reject(new Error(`dead-letter item ${itemId} is already being retried`));
    item[kRetrying] = true;
    const { fn, options } = item[kCall];
    const rerun = { ...options, fallbackOptions: undefined };
    const report = { attempts: 0 };
    let run;
    try {
      const svc = this._service(item.service);
      const breaker = this._breaker(svc, item.operation, rerun.config);
      const policy = rerun.retryPolicy == null ? svc.policy : new RetryPolicy({ ...svc.retryOptions, ...rerun.retryPolicy });
      run = this._execute(svc, item.operation, breaker, policy, fn, rerun, report);
    } catch (error) {
      run = Promise.reject(error);
    }
    return run.then(
      (value) => {
        item[kRetrying] = false;
        if (native.deadLetterRemove(this._dlqId, itemId)) this._dlqItems.delete(itemId);
        this._dlqAlert();
        return value;
      },
      (error) => {
        item[kRetrying] = false;
        item.error = error;
        item.attempts += report.attempts;
        item.timestamp = Date.now();
        throw error;
      },
    );
  }

  /** Removes one item without running it; whether it was there. */
  removeDeadLetterItem(itemId) {
    const removed = native.deadLetterRemove(this._dlqId, itemId);
    if (removed) this._dlqItems.delete(itemId);
    this._dlqAlert();
    return removed;
  }

  /** Empties the dead-letter queue; returns how many items it held. */
  clearDeadLetterQueue() {
    const size = this._dlqItems.size;
    native.deadLetterClear(this._dlqId);
    this._dlqItems.clear();
    this._dlqAlert();
    return size;
  }

  // ---- manual control -----------------------------------------------------------------

  /** Resets one breaker, or every breaker of the service (ending a forced open). */
  resetCircuitBreaker(service, operation = undefined) {
    const svc = this._services.get(service);
    if (svc === undefined) return;
    if (operation === undefined) {
      svc.forced = false;
      for (const breaker of svc.operations.values()) breaker.reset();
    } else {
      const breaker = svc.operations.get(operation);
      if (breaker !== undefined) breaker.reset();
    }
  }

  /**
   * Opens one breaker, or every breaker of the service including operations first used
   * later, until resetCircuitBreaker (maintenance mode).
   */
  forceCircuitBreakerOpen(service, operation = undefined) {
    const svc = this._service(service);
    if (operation === undefined) {
      svc.forced = true;
      for (const breaker of svc.operations.values()) breaker.open();
    } else {
      this._breaker(svc, operation, undefined).open();
    }
  }

  // ---- reading ------------------------------------------------------------------------

  /** Every breaker keyed `service:operation`, with its stats. */
  getCircuitBreakerState() {
    const all = {};
    for (const [key, breaker] of this._breakers) {
      const { options, ...stats } = breaker.getStats();
      void options;
      all[key] = stats;
    }
    return all;
  }

  /** A service's bulkhead stats (running, queued, rejected, wait times...). */
  getBulkheadStats(service) {
    const svc = this._services.get(service);
    return svc === undefined ? undefined : bulkheadStats(svc.bulkheadId);
  }

  /**
   * `{ overall, services, deadLetterQueue, breakers: { count, evictions } }`: a service is
   * unhealthy when every breaker is open, degraded when any is open or half-open or its
   * bulkhead is saturated; overall is the worst service.
   */
  getSystemHealth() {
    let overall = 'healthy';
    const services = {};
    for (const [name, svc] of this._services) {
      const circuits = {};
      const states = [];
      for (const [operation, breaker] of svc.operations) {
        const state = breaker.getState();
        circuits[operation] = state;
        states.push(STATE_CODES[state]);
      }
      const bulkhead = bulkheadStats(svc.bulkheadId);
      const status = native.serviceHealthOf(states, bulkhead.saturated);
      if (HEALTH_ORDER[status] > HEALTH_ORDER[overall]) overall = status;
      services[name] = { status, circuits, bulkhead, forcedOpen: svc.forced };
    }
    return {
      overall,
      services,
      deadLetterQueue: this.getDeadLetterStats(),
      breakers: { count: this._breakers.size, max: this._maxBreakers, evictions: this._evictions },
      timestamp: Date.now(),
    };
  }

  /** Breakers evicted by the LRU cap since construction. */
  get evictions() {
    return this._evictions;
  }
}

const kCall = Symbol('tripwire.deadLetterCall');
const kRetrying = Symbol('tripwire.deadLetterRetrying');

function fallbackOf(value) {
  return typeof value === 'function' ? { fallbackFunction: value } : { fallbackValue: value };
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
