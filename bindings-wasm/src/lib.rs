//! tripwire in the browser: the core breaker behind wasm-bindgen, as an engine.
//!
//! The browser package's API (`CircuitBreaker`, `execute`, `fetch`, `guardFetch`,
//! errors, events, registries) is the JS facade shared with the Node package
//! (`js/tripwire.js`); this crate is the engine under it, the same small interface
//! the Node addon implements: breakers by id, `acquireAt` / `recordAt` with numeric
//! codes (declared once, in `protocol.rs`), `stats`, `settings`, `control`, and the
//! core's eviction index. It converts values and maps errors; every rule lives in
//! `tripwire-core`. The crate is empty on non-wasm targets so host builds pass.
#![cfg(target_family = "wasm")]

mod engine;
mod evict;
mod options;
mod protocol;
#[cfg(feature = "snapshot")]
mod snapshot;

use wasm_bindgen::prelude::*;

/// The heap: talc instead of the standard library's dlmalloc, about 2.4 KB less of
/// the package gzipped (BENCHMARKS.md, "Size"). Freed blocks are reused and the
/// memory grows on demand, as with dlmalloc; the call path allocates nothing once a
/// breaker's permit slots exist. Single-threaded wasm (no `atomics`) only, as built.
#[cfg(not(target_feature = "atomics"))]
#[global_allocator]
static TALC: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

/// Runs once when the module is instantiated. In debug builds, a panic becomes a JS
/// `Error` carrying the panic message instead of a bare `unreachable` trap. Release
/// builds are panic-free on bad input (every conversion returns an error).
#[wasm_bindgen(start, skip_typescript)]
fn start() {
    #[cfg(debug_assertions)]
    std::panic::set_hook(Box::new(|info| {
        wasm_bindgen::throw_str(&format!("tripwire panicked: {info}"));
    }));
}

/// Whether a response with `status` counts as a failure (the core's one rule:
/// status ≥ 500 or 429).
#[wasm_bindgen(js_name = httpFailure, skip_typescript)]
pub fn http_failure(status: f64) -> bool {
    tripwire_core::http_status_is_failure(status)
}
