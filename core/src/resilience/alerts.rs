//! Seed 004's alert conditions, and their episodes: an alert fires once per episode,
//! when its condition becomes true, not while it stays true.
//!
//! The conditions are small pure functions so that every binding decides them the same
//! way; a binding reads the inputs (a breaker's window, the queue's length, the
//! breakers' states), asks here, and feeds the answer to [`Episodes::observe`].
//! "Breaker opened" is a breaker leaving CLOSED and "bulkhead at capacity" is the
//! bulkhead's own [`Entry`](super::Entry) (a call that could not run at once): both are
//! read from the core directly.

use alloc::collections::BTreeSet;
use alloc::string::String;

use super::{DEAD_LETTER_ALERT, ERROR_RATE_ALERT, ERROR_RATE_ALERT_MIN_CALLS};
use crate::breaker::State;

/// Whether a breaker's window is a high error rate (seed 004: "> 10 % failures"): at
/// least [`ERROR_RATE_ALERT_MIN_CALLS`] calls in the window, and more than
/// [`ERROR_RATE_ALERT`] of them failed (`>`, not `≥`: 1 in 10 is not an alert, 2 in 10
/// is). Below the minimum a rate means nothing (one failure in one call is 100 %), as
/// with Resilience4j's `minimumNumberOfCalls` and opossum's `volumeThreshold`.
///
/// `window_calls` and `window_failures` are the breaker's
/// [`Stats::window_calls`](crate::Stats::window_calls) and
/// [`Stats::window_failures`](crate::Stats::window_failures) (slow calls count as failures).
pub fn error_rate_alert(window_calls: u32, window_failures: u32) -> bool {
    window_calls >= ERROR_RATE_ALERT_MIN_CALLS
        && f64::from(window_failures) / f64::from(window_calls) > ERROR_RATE_ALERT
}

/// Whether a dead-letter queue holding `size` items is an alert: more than
/// [`DEAD_LETTER_ALERT`] (seed 004: "> 10 items").
pub fn dead_letter_alert(size: usize) -> bool {
    size > DEAD_LETTER_ALERT
}

/// Whether a service is unavailable (seed 004: "all circuits open"), from its breakers'
/// states and whether that episode is `ongoing`: it starts when the service has
/// breakers and every one is open, and lasts until one closes (a half-open trial that
/// fails is the same outage, so half-open breakers do not end it).
pub fn all_circuits_open_alert(states: impl IntoIterator<Item = State>, ongoing: bool) -> bool {
    let (mut total, mut open, mut closed) = (0usize, 0usize, 0usize);
    for state in states {
        total += 1;
        open += usize::from(state == State::Open);
        closed += usize::from(state == State::Closed);
    }
    (total > 0 && open == total) || (ongoing && closed == 0)
}

/// The conditions currently active, by key (e.g. `"breaker-opened:ollama:generate"`).
#[derive(Clone, Debug, Default)]
pub struct Episodes {
    active: BTreeSet<String>,
}

impl Episodes {
    /// No active condition.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reports whether `key`'s condition holds now; returns `true` when an episode starts
    /// (the alert should fire), `false` while it continues or after it ended.
    pub fn observe(&mut self, key: &str, active: bool) -> bool {
        if active {
            !self.active.contains(key) && self.active.insert(String::from(key))
        } else {
            self.active.remove(key);
            false
        }
    }

    /// Whether `key`'s episode is going on.
    pub fn is_active(&self, key: &str) -> bool {
        self.active.contains(key)
    }

    /// Ends every episode.
    pub fn clear(&mut self) {
        self.active.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fires_once_per_episode() {
        let mut e = Episodes::new();
        assert!(e.observe("open:a", true));
        assert!(!e.observe("open:a", true));
        assert!(e.observe("open:b", true));
        assert!(!e.observe("open:a", false));
        assert!(!e.is_active("open:a"));
        assert!(e.observe("open:a", true));
    }

    #[test]
    fn error_rate_needs_the_minimum_calls() {
        assert!(!error_rate_alert(0, 0));
        assert!(
            !error_rate_alert(1, 1),
            "one failure in one call is no rate yet"
        );
        assert!(!error_rate_alert(9, 9));
        assert!(error_rate_alert(10, 10));
        assert!(!error_rate_alert(10, 1), "10 % is not above 10 %");
        assert!(error_rate_alert(10, 2));
        assert!(!error_rate_alert(30, 3));
        assert!(error_rate_alert(30, 4));
        assert!(!error_rate_alert(1_000_000, 100_000));
        assert!(error_rate_alert(1_000_000, 100_001));
        assert!(!error_rate_alert(u32::MAX, 0));
    }

    #[test]
    fn dead_letters_above_ten() {
        assert!(!dead_letter_alert(0));
        assert!(!dead_letter_alert(10));
        assert!(dead_letter_alert(11));
    }

    #[test]
    fn all_circuits_open_until_one_closes() {
        use State::*;
        assert!(!all_circuits_open_alert([], false));
        assert!(
            all_circuits_open_alert([], true),
            "an outage lasts until a breaker closes"
        );
        assert!(all_circuits_open_alert([Open], false));
        assert!(all_circuits_open_alert([Open, Open], false));
        assert!(!all_circuits_open_alert([Open, HalfOpen], false));
        assert!(all_circuits_open_alert([Open, HalfOpen], true));
        assert!(all_circuits_open_alert([HalfOpen], true));
        assert!(!all_circuits_open_alert([HalfOpen], false));
        assert!(!all_circuits_open_alert([Open, Closed], true));
        assert!(!all_circuits_open_alert([Closed], false));
    }
}
