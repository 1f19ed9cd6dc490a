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
  GATE: 4,
};
for (const [name, value] of Object.entries(HARD_CODED)) {
  if (P[name] !== value) {
    throw Object.assign(new Error(`tripwire: the native addon's ${name} is ${P[name]}, the facade expects ${value}: rebuild the addon (node bindings-node/build.js)`), {
      code: 'ERR_TRIPWIRE_NATIVE',
    });
  }
}

/** The symbols of a CircuitBreaker's internal interface (js/tripwire.js, shared with the browser). */
const { internal } = require('../js/tripwire.js');

/**
 * What scrapes read (metrics.js): the registry's entries (set by index.js: a function
 * returning its Map of name → CircuitBreaker) and every live CircuitBreakerService
 * (resilience.js adds each, weakly: id → WeakRef).
 */
const live = { registry: () => new Map(), services: new Map() };

module.exports = { P, internal, live };
