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
mod rolling;
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
pub use config::{Backoff, Config, ConfigError, ErrorKind, Start, Threshold, WindowKind};
pub use evict::{Eviction, Probe, DEFAULT_ORIGIN_CAPACITY, DEFAULT_REGISTRY_CAPACITY};
pub use http::http_status_is_failure;
pub use options::{
    option_name, suggest_name, OptionValue, Options, Unit, FOREIGN_OPTIONS, JS_TIMER_LIMIT_MS,
};
#[cfg(feature = "std")]
pub use registry::Registry;
#[doc(hidden)]
pub use rng::Rng;
pub use rolling::{BucketCounts, WindowStats, PERCENTILES};
pub use window::Counts;

/// What only tripwire's own bindings use: sharing configurations between breakers made
/// alike, the seeded jitter stream, and (on [`Breaker`], hidden from these docs) the
/// quiet path that lets a binding admit calls and batch successes without crossing
/// into native code per call (`quiet_until`, `quiet_permit`, `generation`,
/// `record_quiet_successes`, `quiet_failures`, `record_quiet_failures`). No stability
/// promise is made for them.
pub mod bindings {
    pub use crate::config::ConfigShare;
    pub use crate::rng::Rng;

    /// The codes the shared JavaScript facade (`js/tripwire.js`) and its engines (the
    /// napi addon, the wasm module) exchange as numbers, declared once: each engine
    /// uses these constants and hands [`codes::ENGINE_CODES`] to the facade, which checks them
    /// at load.
    pub mod codes {
        use crate::breaker::{Cause, State, Transition};

        /// State codes: CLOSED, OPEN, HALF_OPEN.
        pub const STATE_CLOSED: u32 = 0;
        /// See [`STATE_CLOSED`].
        pub const STATE_OPEN: u32 = 1;
        /// See [`STATE_CLOSED`].
        pub const STATE_HALF_OPEN: u32 = 2;
        /// A transition's code is `TRANSITION_BASE + (cause * STATES + from) * STATES + to`
        /// ([`transition_code`]); 0 is none. The cause is [`Cause`] `as u32`, named by
        /// [`CAUSE_NAMES`].
        pub const TRANSITION_BASE: u32 = 1;
        /// See [`TRANSITION_BASE`].
        pub const STATES: u32 = 3;
        /// How many causes a transition code may carry (see [`TRANSITION_BASE`]).
        pub const CAUSES: u32 = Cause::ALL.len() as u32;
        /// Each cause's [`Cause::name`], by its code: the `cause` of the facade's log lines.
        pub const CAUSE_NAMES: [&str; CAUSES as usize] = {
            let mut names = [""; CAUSES as usize];
            let mut i = 0;
            while i < Cause::ALL.len() {
                assert!(
                    Cause::ALL[i] as usize == i,
                    "Cause::ALL lists the causes in declaration order"
                );
                names[i] = Cause::ALL[i].name();
                i += 1;
            }
            names
        };
        /// The code of OPEN → HALF_OPEN when an acquire finds the open duration passed:
        /// the permit code flags it rather than carrying it (see [`PERMIT_STRIDE`]).
        pub const OPEN_ELAPSED: u32 = transition_code(Some(Transition {
            from: State::Open,
            to: State::HalfOpen,
            cause: Cause::OpenElapsed,
        }));

        /// A state's code ([`STATE_CLOSED`]...).
        pub const fn state_code(state: State) -> u32 {
            match state {
                State::Closed => STATE_CLOSED,
                State::Open => STATE_OPEN,
                State::HalfOpen => STATE_HALF_OPEN,
            }
        }

        /// A transition's code, with its cause (see [`TRANSITION_BASE`]); 0 for none.
        pub const fn transition_code(transition: Option<Transition>) -> u32 {
            match transition {
                None => 0,
                Some(t) => {
                    TRANSITION_BASE
                        + ((t.cause as u32) * STATES + state_code(t.from)) * STATES
                        + state_code(t.to)
                }
            }
        }
        /// Outcome codes of `recordAt`.
        pub const OUTCOME_SUCCESS: u32 = 0;
        /// See [`OUTCOME_SUCCESS`].
        pub const OUTCOME_FAILURE: u32 = 1;
        /// See [`OUTCOME_SUCCESS`].
        pub const OUTCOME_TIMEOUT: u32 = 2;
        /// See [`OUTCOME_SUCCESS`].
        pub const OUTCOME_IGNORED: u32 = 3;
        /// See [`OUTCOME_SUCCESS`].
        pub const OUTCOME_CANCELLED: u32 = 4;
        /// Permit codes of `acquireAt`: `slot * PERMIT_STRIDE + 1` when the acquire
        /// moved OPEN → HALF_OPEN, `slot * PERMIT_STRIDE` otherwise; or a rejection code.
        pub const PERMIT_STRIDE: u32 = 2;
        /// Rejected: forced open (no retry-after).
        pub const REJECTED_FORCED: f64 = -1.0;
        /// Rejected: half-open with every trial slot taken.
        pub const REJECTED_HALF_OPEN: f64 = -2.0;
        /// Rejected: open; this minus the retry-after in whole milliseconds.
        pub const REJECTED_OPEN: f64 = -3.0;
        /// Half-open with every trial slot taken, and the caller may wait for the trial
        /// (`Rejected::may_wait`): between [`REJECTED_OPEN`] and [`REJECTED_HALF_OPEN`],
        /// so that it is neither a retry-after nor another refusal.
        pub const REJECTED_HALF_OPEN_WAIT: f64 = -2.5;
        /// Manual operations of `control`.
        pub const OP_OPEN: u32 = 0;
        /// See [`OP_OPEN`].
        pub const OP_CLOSE: u32 = 1;
        /// See [`OP_OPEN`].
        pub const OP_RESET: u32 = 2;
        /// See [`OP_OPEN`].
        pub const OP_DISABLE: u32 = 3;
        /// See [`OP_OPEN`].
        pub const OP_ENABLE: u32 = 4;
        /// See [`OP_OPEN`]: open as if tripped (half-opens after the open duration).
        pub const OP_TRIP: u32 = 5;
        /// See [`OP_OPEN`]: half-open now.
        pub const OP_HALF_OPEN: u32 = 6;

        /// Every code above by its JS name, for an engine's `protocol()`.
        /// [`CAUSE_NAMES`] is handed over beside them, as an array.
        pub const ENGINE_CODES: [(&str, f64); 24] = [
            ("STATE_CLOSED", STATE_CLOSED as f64),
            ("STATE_OPEN", STATE_OPEN as f64),
            ("STATE_HALF_OPEN", STATE_HALF_OPEN as f64),
            ("TRANSITION_BASE", TRANSITION_BASE as f64),
            ("STATES", STATES as f64),
            ("CAUSES", CAUSES as f64),
            ("OPEN_ELAPSED", OPEN_ELAPSED as f64),
            ("OUTCOME_SUCCESS", OUTCOME_SUCCESS as f64),
            ("OUTCOME_FAILURE", OUTCOME_FAILURE as f64),
            ("OUTCOME_TIMEOUT", OUTCOME_TIMEOUT as f64),
            ("OUTCOME_IGNORED", OUTCOME_IGNORED as f64),
            ("OUTCOME_CANCELLED", OUTCOME_CANCELLED as f64),
            ("PERMIT_STRIDE", PERMIT_STRIDE as f64),
            ("REJECTED_FORCED", REJECTED_FORCED),
            ("REJECTED_HALF_OPEN", REJECTED_HALF_OPEN),
            ("REJECTED_OPEN", REJECTED_OPEN),
            ("REJECTED_HALF_OPEN_WAIT", REJECTED_HALF_OPEN_WAIT),
            ("OP_OPEN", OP_OPEN as f64),
            ("OP_CLOSE", OP_CLOSE as f64),
            ("OP_RESET", OP_RESET as f64),
            ("OP_DISABLE", OP_DISABLE as f64),
            ("OP_ENABLE", OP_ENABLE as f64),
            ("OP_TRIP", OP_TRIP as f64),
            ("OP_HALF_OPEN", OP_HALF_OPEN as f64),
        ];

        #[cfg(test)]
        mod tests {
            use super::*;

            #[test]
            fn a_transition_code_carries_its_states_and_cause() {
                let states = [State::Closed, State::Open, State::HalfOpen];
                for cause in Cause::ALL {
                    for (from, to) in states.iter().flat_map(|f| states.map(|t| (*f, t))) {
                        let n =
                            transition_code(Some(Transition { from, to, cause })) - TRANSITION_BASE;
                        // What the facade decodes (js/tripwire.js transitionOf and causeOf).
                        assert_eq!(CAUSE_NAMES[(n / (STATES * STATES)) as usize], cause.name());
                        assert_eq!((n / STATES) % STATES, state_code(from));
                        assert_eq!(n % STATES, state_code(to));
                    }
                }
                assert_eq!(transition_code(None), 0);
            }
        }
    }
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
