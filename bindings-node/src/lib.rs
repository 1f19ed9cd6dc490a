//! tripwire-node: the napi-rs binding of tripwire.
//!
//! Core [`tripwire_core::Breaker`]s live in a per-thread slab, named by id
//! (`create`, `release`; see `breaker.rs`). The JS facade (`bindings-node/index.js`)
//! gives users the seeds' API on top. While a breaker is quiet
//! (`Breaker::quiet_until`) a call makes no crossing at all: JS admits it and queues
//! its success in shared memory (`hot.rs`). Otherwise the hot path is one crossing
//! per acquire and one per record, raw Node-API functions taking the breaker's id
//! and passing and returning numbers only:
//!
//! * `acquireAt(id, nowMs)` returns `slot * 2 + 1` when the acquire moved
//!   OPEN → HALF_OPEN, `slot * 2` otherwise (a non-negative integer), or a rejection
//!   code: [`REJECTED_FORCED`] (forced open, no retry-after), [`REJECTED_HALF_OPEN`]
//!   (every trial slot taken), [`REJECTED_HALF_OPEN_WAIT`] (taken, and the caller may
//!   wait for the trial), or `REJECTED_OPEN - retryAfterMs` (≤ -3).
//! * `recordAt(id, slot, outcome, nowMs)` returns 0, or a transition code
//!   `1 + from * 3 + to` with states numbered CLOSED 0, OPEN 1, HALF_OPEN 2.
//!
//! Instants cross as milliseconds (`f64`): the caller's clock, or the process
//! clock JS reads from the ticking array of `ticker.rs`; a `nowMs` left out means
//! the process's monotonic clock read here (see [`now_ms`]).
#![deny(missing_docs)]
// Under cfg(test) napi-derive registers nothing, so every export looks unused.
#![cfg_attr(test, allow(dead_code))]

mod breaker;
mod control;
mod evict;
mod fleet;
mod hold;
mod hot;
mod metrics;
mod options;
mod protocol;
mod resilience;
mod service;
mod slab;
mod ticker;

use std::sync::OnceLock;
use std::time::Instant;
use tripwire_core::Unit;

use napi_derive::napi;

pub use tripwire_core::bindings::codes::{
    REJECTED_FORCED, REJECTED_HALF_OPEN, REJECTED_HALF_OPEN_WAIT, REJECTED_OPEN,
};

static ORIGIN: OnceLock<Instant> = OnceLock::new();

/// Nanoseconds on the process clock: a monotonic clock counted from the first read.
pub(crate) fn now_nanos() -> u64 {
    ORIGIN.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

pub(crate) const NANOS_PER_MS: f64 = 1e6;

/// JS milliseconds as core nanoseconds, rounded (negative and NaN become 0).
pub(crate) fn nanos(ms: f64) -> u64 {
    Unit::Millis.to_nanos(ms)
}

/// Core nanoseconds as JS milliseconds.
pub(crate) fn millis(nanos: u64) -> f64 {
    Unit::Millis.from_nanos(nanos)
}

/// The caller's clock reading (ms), or the process clock when there is none.
pub(crate) fn at(now_ms: Option<f64>) -> u64 {
    now_ms.map_or_else(now_nanos, nanos)
}

/// Milliseconds on the process clock the breakers read when no clock is given.
/// The facade maps these to epoch milliseconds once, at load.
#[napi]
pub fn now_ms() -> f64 {
    millis(now_nanos())
}

/// Whether a response with `status` counts as a failure: the core's one rule
/// (status ≥ 500 or 429), shared with the browser and Python.
#[napi]
pub fn http_failure(status: f64) -> bool {
    tripwire_core::http_status_is_failure(status)
}
