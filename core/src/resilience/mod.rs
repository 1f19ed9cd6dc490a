//! The decisions of a resilience service that must be the same in every runtime:
//! retry schedules and error classification, bulkhead accounting, a bounded
//! dead-letter queue, health aggregation, alert episodes and service presets.
//! Bindings only wait, queue and call.

mod alerts;
mod bulkhead;
mod dead_letter;
mod health;
mod presets;
mod retry;
mod service;
mod update;

pub use alerts::{all_circuits_open_alert, dead_letter_alert, error_rate_alert, Episodes};
pub use bulkhead::{Bulkhead, BulkheadConfig, BulkheadStats, Entry, Ticket};
pub use dead_letter::DeadLetterQueue;
pub use health::{check_health, service_health, Health};
pub use presets::{preset, Preset, PRESETS};
pub use retry::{Classifier, RetryPolicy};
pub use service::{
    After, Alert, AlertKind, Attempt, Begin, CallId, CallPlan, Circuit, CircuitId, DeadLetter,
    DeadLetterError, DeadLetterStats, Ended, Evicted, Facts, Key, Lookup, Refusal, RetryCounters,
    Service, ServiceConfig, ServiceHealth, Settings, Updated, Waited,
};
pub use update::{
    unknown_bulkhead_option, unknown_retry_option, CodeList, Retry, RetryUpdate, Section,
    ServiceUpdate,
};

/// Alert when a service's window failure rate exceeds this (seed 004: "> 10 %").
pub const ERROR_RATE_ALERT: f64 = 0.1;
/// Calls a breaker's window must hold before its failure rate can alert: one failure in
/// one call is a 100 % rate that means nothing (see [`error_rate_alert`]).
pub const ERROR_RATE_ALERT_MIN_CALLS: u32 = 10;
/// Alert when the dead-letter queue holds more than this many items (seed 004).
pub const DEAD_LETTER_ALERT: usize = 10;
/// Breakers a resilience service keeps before it evicts the least recently used idle ones.
pub const DEFAULT_MAX_BREAKERS: usize = 1000;
/// Items a service's dead-letter queue keeps before it drops (and counts) the oldest.
pub const DEFAULT_DEAD_LETTER_SIZE: usize = 1000;
