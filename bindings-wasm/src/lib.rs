//! tripwire in the browser: the core breaker behind wasm-bindgen, plus fetch guarding.
//!
//! The binding converts JS values to core options, reads the clock, drives promises
//! and maps the core's answers to JS errors; every rule lives in `tripwire-core`.
//! The crate is empty on non-wasm targets so host builds of the workspace pass.
#![cfg(target_family = "wasm")]

mod breaker;
mod clock;
mod errors;
mod fetch;
mod options;
#[cfg(feature = "snapshot")]
mod snapshot;
mod stats;

pub use breaker::{CircuitBreaker, Permit};
pub use fetch::guard_fetch;

use wasm_bindgen::prelude::*;

/// Runs once when the module is instantiated: puts `execute` and `fetch` (JS, in
/// settle.js) on `CircuitBreaker`. In debug builds, a panic becomes a JS `Error`
/// carrying the panic message instead of a bare `unreachable` trap. Release builds
/// are panic-free on bad input (every conversion returns an error).
#[wasm_bindgen(start, skip_typescript)]
fn start() {
    #[cfg(debug_assertions)]
    std::panic::set_hook(Box::new(|info| {
        wasm_bindgen::throw_str(&format!("tripwire panicked: {info}"));
    }));
    breaker::install_methods();
}
