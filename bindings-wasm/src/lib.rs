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
// `no_std` (with `alloc`): the standard library's panic machinery, thread-locals and
// allocator cost the browser package about 1 KB gzipped (BENCHMARKS.md, "Size").
#![no_std]

extern crate alloc;

// wasm32 with the `atomics` feature has threads: `Global` below would be unsound there.
#[cfg(target_feature = "atomics")]
compile_error!("tripwire-wasm is single-threaded: build it without the `atomics` target feature");

mod engine;
mod evict;
mod options;
mod protocol;
#[cfg(feature = "snapshot")]
mod snapshot;

use core::cell::RefCell;

use wasm_bindgen::prelude::*;

/// The heap: talc instead of the standard library's dlmalloc, about 2.4 KB less of
/// the package gzipped (BENCHMARKS.md, "Size"). Freed blocks are reused and the
/// memory grows on demand, as with dlmalloc; the call path allocates nothing once a
/// breaker's permit slots exist. Single-threaded wasm (no `atomics`) only, as built.
#[global_allocator]
static TALC: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

/// A panic: in debug builds a JS `Error` carrying the panic message, in release builds
/// a bare `unreachable` trap (no message formatting shipped). Release builds are
/// panic-free on bad input (every conversion returns an error).
#[cfg(not(test))]
#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    if cfg!(debug_assertions) {
        wasm_bindgen::throw_str(&alloc::format!("tripwire panicked: {info}"));
    }
    core::arch::wasm32::unreachable()
}

/// The engine's state: a static cell where `std` would use `thread_local!`.
pub(crate) struct Global<T>(RefCell<T>);

// SAFETY: the module runs on one thread (wasm32 without `atomics`: the
// `compile_error!` above), so the cell is never shared between threads.
unsafe impl<T> Sync for Global<T> {}

impl<T> Global<T> {
    pub(crate) const fn new(value: T) -> Self {
        Self(RefCell::new(value))
    }

    /// Runs `f` on the value (a `RefCell` borrow, like `LocalKey::with_borrow_mut`).
    pub(crate) fn with_borrow_mut<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        f(&mut self.0.borrow_mut())
    }
}

/// Whether a response with `status` counts as a failure (the core's one rule:
/// status ≥ 500 or 429).
#[wasm_bindgen(js_name = httpFailure, skip_typescript)]
pub fn http_failure(status: f64) -> bool {
    tripwire_core::http_status_is_failure(status)
}
