// tripwire for Node.js: the circuit-breaker APIs on the native engine.
//
// The call path (execute, fetch, timeouts, errors, events, registries) is the
// JavaScript facade shared with the browser package, js/tripwire.js; this file gives
// it the native addon as its engine, with Node's fast paths behind that interface
// (the shared quiet gates and success ring, the ticking process clock: shared.js,
// src/hot.rs, src/ticker.rs), Node's EventEmitter, and opt-in tracing.
'use strict';

const { EventEmitter } = require('node:events');
const native = require('./native.js');
const { shared, processNow, queueSuccess, queueFailure, holdLoopFor } = require('./shared.js');
const { live } = require('./internal.js');
const facade = require('../js/tripwire.js');
const log = require('../js/log.js');
const { RedisStore, fleet, breakerEvent, kEvent, logging: storeLogging } = require('./store.js');

/** The engine interface of js/tripwire.js, implemented by the addon. */
const engine = { ...native, now: processNow, queueSuccess, queueFailure, shared };

const api = facade.createTripwire(engine, {
  EventEmitter,
  nextTick: process.nextTick,
  hold: holdLoopFor,
  fleet,
  tracing(breaker, option) {
    const otel = require('./otel.js');
    otel.traceBreaker(breaker, otel.tracingMode(option));
  },
});
live.registry = () => api.breakers;
// TRIPWIRE_LOG=1: the JSON logger is tripwire's own from the start (setLogger() changes it).
if (log.loggingRequested()) api.setLogger(log.defaultLogger());
api.CircuitBreaker.prototype[kEvent] = breakerEvent;
storeLogging.getLogger = api.getLogger;

const { CircuitState, CircuitBreakerError, CircuitBreakerOpenError, CircuitBreakerTimeoutError, ManualClock } = facade;
const {
  CircuitBreaker, Permit, circuitBreakerRegistry, createCircuitBreaker, withCircuitBreaker,
  createExternalServiceCircuitBreaker, getAllCircuitBreakerStats, CircuitBreakerFactory, CircuitBreakerMonitor,
} = api;

module.exports = {
  CircuitState,
  CircuitBreaker,
  CircuitBreakerError,
  CircuitBreakerOpenError,
  CircuitBreakerTimeoutError,
  ManualClock,
  Permit,
  circuitBreakerRegistry,
  createCircuitBreaker,
  withCircuitBreaker,
  createExternalServiceCircuitBreaker,
  getAllCircuitBreakerStats,
  CircuitBreakerFactory,
  CircuitBreakerMonitor,
  guardFetch: api.guardFetch,
  // tripwire's own logger (transitions, store outages, control-API mutations) and the
  // structured JSON logger (js/log.js).
  setLogger: api.setLogger,
  getLogger: api.getLogger,
  logStoreEvents: (store, logger = undefined) => log.logStoreEvents(store, logger, api.getLogger),
  StructuredLogger: log.StructuredLogger,
  createLogger: log.createLogger,
  logger: log.logger,
  RedisStore,
};

// Seeds 003 and 004's resilience service (CircuitBreakerService, on the core's engine)
// and seed 000's health checks.
Object.assign(module.exports, require('./resilience.js'), require('./health.js'));

// Metrics at scrape time (issue 12).
const { metricsText, metricsContentType } = require('./metrics.js');
Object.assign(module.exports, { metricsText, metricsContentType });
