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
    /// Absent from snapshots taken before it was kept: no streak.
    #[serde(default)]
    failure_streak: u32,
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
            failure_streak: self.failure_streak,
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
        breaker.failure_streak = snapshot.failure_streak;
        breaker.open_until = now.saturating_add(snapshot.open_remaining);
        breaker.trips = snapshot.trips;
        breaker.rng = snapshot.rng;
        breaker.totals = snapshot.totals;
        breaker.last_success_at = snapshot.last_success_age.map(|age| now.saturating_sub(age));
        breaker.last_failure_at = snapshot.last_failure_age.map(|age| now.saturating_sub(age));
        Ok(breaker)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::breaker::Outcome;
    use crate::config::{Threshold, WindowKind};
    use alloc::string::String;

    fn json_of(config: Config) -> String {
        let mut b = Breaker::new(config).unwrap();
        let p = b.try_acquire(0).unwrap();
        b.record(p, Outcome::Failure, 5);
        serde_json::to_string(&b.snapshot(10)).unwrap()
    }

    #[test]
    fn round_trip_keeps_the_state() {
        let config = Config {
            failure_threshold: Threshold::Count(1),
            ..Config::default()
        };
        let snapshot: Snapshot = serde_json::from_str(&json_of(config)).unwrap();
        let b = Breaker::restore(config, &snapshot, 1_000).unwrap();
        assert_eq!(b.state(1_000), State::Open);
        assert_eq!(b.stats(1_000).last_failure_at, Some(995));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let config = Config::default();
        for text in ["", "null", "{}", "[1,2,3]", r#"{"version":1}"#] {
            assert!(serde_json::from_str::<Snapshot>(text).is_err(), "{text}");
        }
        let good = json_of(config);
        let tampered = [
            good.replace("\"version\":1", "\"version\":2"),
            good.replace("\"mode\":\"normal\"", "\"mode\":\"forced_open\""),
            good.replace("\"timeouts\":0", "\"timeouts\":7"),
            good.replace("{\"time\":[", "{\"count\":[")
                .replace("[0,{\"calls\":1,\"failures\":1,\"slow\":0}]", "1"),
            good.replace(
                "[0,{\"calls\":1,\"failures\":1,\"slow\":0}]",
                "[99,{\"calls\":1,\"failures\":1,\"slow\":0}]",
            ),
            good.replace(
                "[0,{\"calls\":1,\"failures\":1,\"slow\":0}]",
                "[0,{\"calls\":1,\"failures\":2,\"slow\":0}]",
            ),
        ];
        for text in &tampered {
            assert_ne!(text, &good, "the tampering must change something");
            let snapshot: Snapshot = serde_json::from_str(text).unwrap();
            assert!(Breaker::restore(config, &snapshot, 0).is_err(), "{text}");
        }
        // A count-window snapshot does not restore into a longer or different window.
        let count = Config {
            window: WindowKind::Count { size: 2 },
            ..Config::default()
        };
        let snapshot: Snapshot = serde_json::from_str(&json_of(count)).unwrap();
        assert!(Breaker::restore(config, &snapshot, 0).is_err());
        let bad_flags = json_of(count).replace("{\"count\":[1]}", "{\"count\":[9]}");
        let snapshot: Snapshot = serde_json::from_str(&bad_flags).unwrap();
        assert!(Breaker::restore(count, &snapshot, 0).is_err());
    }
}
