// What the facade's modules share with each other and never with users: the JS↔Rust
// protocol (declared once, in bindings-node/src/protocol.rs, read here at load) and the
// Symbol-keyed interface the resilience service uses on a CircuitBreaker (as opossum
// does), so the facade's own members can change without breaking the service.
'use strict';

const native = require('./native.js');

/** The codes and strides of the native addon (src/protocol.rs). */
const P = native.protocol();

// Values the facade's arithmetic hard-codes (permit codes, rejection codes, transition
// codes, the shape of the arrays): loading fails if the addon says otherwise.
const HARD_CODED = {
  STATE_CLOSED: 0,
  STATE_OPEN: 1,
  STATE_HALF_OPEN: 2,
  PERMIT_STRIDE: 2,
  REJECTED_FORCED: -1,
  REJECTED_HALF_OPEN: -2,
  REJECTED_OPEN: -3,
  TICKER_NOW: 0,
  TICKER_TICKING: 1,
  TICKER_READS: 2,
  RING_ENTRY: 5,
  GATE: 2,
};
for (const [name, value] of Object.entries(HARD_CODED)) {
  if (P[name] !== value) {
    throw Object.assign(new Error(`tripwire: the native addon's ${name} is ${P[name]}, the facade expects ${value}: rebuild the addon (node bindings-node/build.js)`), {
      code: 'ERR_TRIPWIRE_NATIVE',
    });
  }
}

/** The symbols of a CircuitBreaker's internal interface (see index.js). */
const internal = Object.freeze({
  /** Options key: wrap this native breaker id instead of making one. */
  kAdopt: Symbol('tripwire.adopt'),
  /** The native breaker id. */
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
  /** (start) → a success's events; (call, error) → a failure's (and lastError). */
  kSucceeded: Symbol('tripwire.succeeded'),
  kFailed: Symbol('tripwire.failed'),
  /** Whether a success needs reporting (a listener or a logger). */
  kReportsSuccess: Symbol('tripwire.reportsSuccess'),
  /** () → re-read the options after the native breaker was reconfigured. */
  kRefresh: Symbol('tripwire.refresh'),
  /** () → drop the idle timeout timer (the breaker leaves a service). */
  kRelease: Symbol('tripwire.release'),
  /** A function called after every transition (the service's observer), or undefined. */
  kOnTransition: Symbol('tripwire.onTransition'),
  /** A Call's handler of its own timeout (the service records it with the engine). */
  kOnTimeout: Symbol('tripwire.onTimeout'),
});

/**
 * What scrapes read (metrics.js): the registry's entries (set by index.js: a function
 * returning its Map of name → CircuitBreaker) and every live CircuitBreakerService
 * (resilience.js adds each, weakly: id → WeakRef).
 */
const live = { registry: () => new Map(), services: new Map() };

module.exports = { P, internal, live };
