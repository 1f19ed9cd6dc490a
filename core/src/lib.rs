//! tripwire-core: the circuit-breaker state machine behind every tripwire binding.
//!
//! The core is sans-IO and sans-time: it never reads a clock, starts a timer or
//! allocates on the hot path. Every operation takes `now`, a monotonic instant in
//! nanoseconds chosen by the caller, so the same sequence of calls gives the same
//! answers in Rust, Node, Python and the browser.
//!
//! ```
//! use tripwire_core::{Breaker, Config, Outcome, State, Threshold};
//!
//! let config = Config { failure_threshold: Threshold::Count(2), ..Config::default() };
//! let mut breaker = Breaker::new(config).unwrap();
//! for t in [0, 1] {
//!     let permit = breaker.try_acquire(t).unwrap();
//!     breaker.record(permit, Outcome::Failure, t);
//! }
//! assert_eq!(breaker.state(2), State::Open);
//! assert!(breaker.try_acquire(2).is_err());
//! ```
#![cfg_attr(not(feature = "std"), no_std)]
#![deny(missing_docs)]
#![forbid(unsafe_code)]

extern crate alloc;

mod breaker;
mod clock;
mod config;
pub mod control;
pub mod dashboard;
mod evict;
pub mod fleet;
mod histogram;
mod http;
pub mod metrics;
mod options;
#[cfg(feature = "std")]
mod registry;
pub mod resilience;
mod rng;
#[cfg(feature = "serde")]
mod snapshot;
#[cfg(feature = "std")]
mod sync;
mod window;

pub use breaker::{
    Breaker, Cause, Durations, Lifetime, Outcome, Permit, Rejected, State, Stats, Transition,
    DURATION_EDGES,
};
#[cfg(feature = "std")]
pub use clock::MonotonicClock;
pub use clock::{Clock, ManualClock};
#[doc(hidden)]
pub use config::ConfigShare;
pub use config::{Backoff, Config, ConfigError, ErrorKind, Threshold, WindowKind};
pub use evict::{Eviction, Probe, DEFAULT_ORIGIN_CAPACITY, DEFAULT_REGISTRY_CAPACITY};
pub use http::http_status_is_failure;
pub use options::{OptionValue, Options, Unit, FOREIGN_OPTIONS, JS_TIMER_LIMIT_MS};
#[cfg(feature = "std")]
pub use registry::Registry;
#[doc(hidden)]
pub use rng::Rng;
pub use window::Counts;

/// What only tripwire's own bindings use: sharing configurations between breakers made
/// alike, the seeded jitter stream, and (on [`Breaker`], hidden from these docs) the
/// quiet path that lets a binding admit calls and batch successes without crossing
/// into native code per call (`quiet_until`, `quiet_permit`, `generation`,
/// `record_quiet_successes`). No stability promise is made for them.
pub mod bindings {
    pub use crate::config::ConfigShare;
    pub use crate::rng::Rng;
}
#[cfg(feature = "serde")]
pub use snapshot::{RestoreError, Snapshot};
#[cfg(feature = "std")]
pub use sync::{CallError, SyncBreaker};

/// The repository README, so that `cargo test` compiles and runs its Rust example.
#[cfg(all(doctest, feature = "std"))]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;

/// Nanoseconds in one millisecond.
pub const NANOS_PER_MILLI: u64 = 1_000_000;
/// Nanoseconds in one second.
pub const NANOS_PER_SEC: u64 = 1_000_000_000;
