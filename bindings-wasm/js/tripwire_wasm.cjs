// pkg-node's entry (CommonJS, copied into pkg-node/ as tripwire_wasm.js by
// scripts/build-wasm.sh): the shared facade (tripwire.mjs) over the WebAssembly
// engine loaded synchronously (engine.js, wasm-bindgen --target nodejs). Loading the
// facade is a require() of an ES module: Node ≥ 20.19 or ≥ 22.12.
'use strict';
const wasm = require('./engine.js');
const facade = require('./tripwire.mjs');

const api = facade.createTripwire(facade.wasmEngine(wasm));
module.exports = {
  CircuitState: facade.CircuitState,
  CircuitBreakerError: facade.CircuitBreakerError,
  CircuitBreakerOpenError: facade.CircuitBreakerOpenError,
  CircuitBreakerTimeoutError: facade.CircuitBreakerTimeoutError,
  ManualClock: facade.ManualClock,
  CircuitBreaker: api.CircuitBreaker,
  Permit: api.Permit,
  circuitBreakerRegistry: api.circuitBreakerRegistry,
  createCircuitBreaker: api.createCircuitBreaker,
  withCircuitBreaker: api.withCircuitBreaker,
  createExternalServiceCircuitBreaker: api.createExternalServiceCircuitBreaker,
  getAllCircuitBreakerStats: api.getAllCircuitBreakerStats,
  CircuitBreakerFactory: api.CircuitBreakerFactory,
  CircuitBreakerMonitor: api.CircuitBreakerMonitor,
  guardFetch: api.guardFetch,
  setLogger: api.setLogger,
  getLogger: api.getLogger,
};
