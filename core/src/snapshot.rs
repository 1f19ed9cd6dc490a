//! Snapshot and restore: the whole state as a small serde value, for warm starts
//! and for sharing state between processes. Instants are stored as ages relative to
//! the `now` of the snapshot, so a snapshot moves between clocks with different origins.

use alloc::vec::Vec;
use core::fmt;

use serde::{Deserialize, Serialize};

use crate::breaker::{Breaker, Mode, State, Totals};
use crate::config::Config;
use crate::rng::Rng;
use crate::window::Counts;

/// The outcomes in a window: per call for a count window (bit 0 failed, bit 1 slow),
/// per bucket for a time window (age in buckets, counts).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WindowState {
    /// The last calls of a count window, oldest first.
    Count(Vec<u8>),
    /// The non-empty buckets of a time window, oldest first.
    Time(Vec<(u32, Counts)>),
}

/// A breaker's state, detached from any clock. Latency percentiles are not carried
/// (the mean is); calls in flight at snapshot time are not carried either: the
/// restored breaker starts a new generation, so their outcomes count in the totals only.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Format version (1).
    pub version: u32,
    state: State,
    mode: Mode,
    generation: u64,
    consecutive_failures: u32,
    consecutive_successes: u32,
    /// Nanoseconds left of the open duration.
    open_remaining: u64,
    trips: u32,
    rng: Rng,
    totals: Totals,
    last_success_age: Option<u64>,
    last_failure_age: Option<u64>,
    window: WindowState,
}

/// A snapshot that cannot be restored under the given configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RestoreError(pub &'static str);

impl fmt::Display for RestoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot restore snapshot: {}", self.0)
    }
}

#[cfg(feature = "std")]
impl std::error::Error for RestoreError {}

impl Breaker {
    /// The whole state at `now`.
    pub fn snapshot(&self, now: u64) -> Snapshot {
        Snapshot {
            version: 1,
            state: self.state,
            mode: self.mode,
            generation: self.generation,
            consecutive_failures: self.consecutive_failures,
            consecutive_successes: self.consecutive_successes,
            open_remaining: self.open_until.saturating_sub(now),
            trips: self.trips,
            rng: self.rng,
            totals: self.totals,
            last_success_age: self.last_success_at.map(|t| now.saturating_sub(t)),
            last_failure_age: self.last_failure_at.map(|t| now.saturating_sub(t)),
            window: self.window.export(now),
        }
    }

    /// A breaker with `config` in the state `snapshot` describes, at `now`.
    /// Half-open trials in flight when the snapshot was taken are not restored.
    pub fn restore(config: Config, snapshot: &Snapshot, now: u64) -> Result<Breaker, RestoreError> {
        if snapshot.version != 1 {
            return Err(RestoreError("unknown version"));
        }
        match (snapshot.mode, snapshot.state) {
            (Mode::ForcedOpen, State::Open)
            | (Mode::Disabled, State::Closed)
            | (Mode::Normal, _) => {}
            _ => return Err(RestoreError("mode and state disagree")),
        }
        let t = &snapshot.totals;
        if t.timeouts > t.failures || t.slow > t.successes.saturating_add(t.failures) {
            return Err(RestoreError("totals are inconsistent"));
        }
        let mut breaker =
            Breaker::new(config).map_err(|_| RestoreError("invalid configuration"))?;
        breaker
            .window
            .import(&snapshot.window, now)
            .map_err(RestoreError)?;
        breaker.state = snapshot.state;
        breaker.mode = snapshot.mode;
        // A new generation: permits issued before the snapshot are stale here.
        breaker.generation = snapshot.generation.wrapping_add(1);
        breaker.consecutive_failures = snapshot.consecutive_failures;
        breaker.consecutive_successes = snapshot.consecutive_successes;
        breaker.open_until = now.saturating_add(snapshot.open_remaining);
        breaker.trips = snapshot.trips;
        breaker.rng = snapshot.rng;
        breaker.totals = snapshot.totals;
        breaker.last_success_at = snapshot.last_success_age.map(|age| now.saturating_sub(age));
        breaker.last_failure_at = snapshot.last_failure_age.map(|age| now.saturating_sub(age));
        Ok(breaker)
    }
}
