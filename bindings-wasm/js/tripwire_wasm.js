// The browser package's entry (copied into pkg/ by scripts/build-wasm.sh): the
// JavaScript facade shared with the Node package (tripwire.js, from js/tripwire.js in
// the repository) over the WebAssembly engine (engine.js + engine_bg.wasm, made by
// wasm-bindgen). `await init()` (the default export) before the first breaker: the
// exports below are live bindings, set once the engine is loaded.
import initEngine, { initSync as initEngineSync } from './engine.js';
import * as wasm from './engine.js';
import { createTripwire, wasmEngine } from './tripwire.js';

export {
  CircuitState, CircuitBreakerError, CircuitBreakerOpenError, CircuitBreakerTimeoutError, ManualClock,
} from './tripwire.js';

export let CircuitBreaker;
export let Permit;
export let circuitBreakerRegistry;
export let createCircuitBreaker;
export let withCircuitBreaker;
export let createExternalServiceCircuitBreaker;
export let getAllCircuitBreakerStats;
export let CircuitBreakerFactory;
export let CircuitBreakerMonitor;
export let guardFetch;
export let setLogger;
export let getLogger;

let api;

function ready() {
  if (api !== undefined) return;
  api = createTripwire(wasmEngine(wasm));
  ({
    CircuitBreaker, Permit, circuitBreakerRegistry, createCircuitBreaker, withCircuitBreaker,
    createExternalServiceCircuitBreaker, getAllCircuitBreakerStats, CircuitBreakerFactory, CircuitBreakerMonitor,
    guardFetch, setLogger, getLogger,
  } = api);
}

/** Loads the WebAssembly engine (from `engine_bg.wasm` next to this file, or `input`). */
export default async function init(input) {
  const exports = await initEngine(input);
  ready();
  return exports;
}

/** Loads the engine from a compiled module or bytes, synchronously. */
export function initSync(module) {
  const exports = initEngineSync(module);
  ready();
  return exports;
}
