//! Breaker configuration and its validation.

use alloc::borrow::Cow;
use alloc::sync::Arc;
use core::fmt;

use crate::NANOS_PER_SEC;

/// When the failures in the window trip the breaker.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Threshold {
    /// Open after this many consecutive failures (at least 1).
    Count(u32),
    /// Open when the failure rate over the window is at least this (0 < rate ≤ 1).
    Rate(f64),
}

/// How the window of recent outcomes is kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WindowKind {
    /// The outcomes of the last `duration` nanoseconds, kept in `buckets` fixed buckets.
    Time {
        /// Length of the window in nanoseconds.
        duration: u64,
        /// Number of buckets the window is split into (1..=1000).
        buckets: u32,
    },
    /// The last `size` outcomes (1..=1_000_000).
    Count {
        /// Number of outcomes kept.
        size: u32,
    },
}

/// How long the breaker stays open after each consecutive trip.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Backoff {
    /// Always `Config::open_duration`.
    Fixed,
    /// `open_duration × multiplier^(n-1)` for the n-th consecutive trip, capped at `max`,
    /// plus a random extra of up to `jitter ×` that duration drawn from `Config::seed`.
    Exponential {
        /// Growth factor per consecutive trip (≥ 1).
        multiplier: f64,
        /// Cap on the open duration, in nanoseconds (≥ `open_duration`).
        max: u64,
        /// Extra random fraction in 0..=1 (0 = deterministic schedule).
        jitter: f64,
    },
}

/// The state a new breaker starts in ([`Breaker::new_at`](crate::Breaker::new_at)):
/// a documented value, for starting from another library's stored state without a
/// tripwire snapshot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Start {
    /// Closed, as a new breaker (the default).
    #[default]
    Closed,
    /// Open as if it had just tripped (one trip counted), half-opening after
    /// `remaining` nanoseconds (`None`: the open duration).
    Open {
        /// Nanoseconds until a trial is admitted, or `None` for the open duration.
        remaining: Option<u64>,
    },
    /// Half-open: the next calls are trials (one trip counted).
    HalfOpen,
}

/// Hands breakers made in a row with equal configurations one shared copy
/// ([`Breaker::with_shared_config`](crate::Breaker::with_shared_config)): a
/// configuration is about 150 bytes, and services make many breakers alike.
#[derive(Clone, Debug, Default)]
pub struct ConfigShare {
    last: Option<Arc<Config>>,
}

impl ConfigShare {
    /// The shared copy of `config`: the previous one if equal, else a new one.
    pub fn share(&mut self, config: Config) -> Arc<Config> {
        match &self.last {
            Some(last) if **last == config => Arc::clone(last),
            _ => Arc::clone(self.last.insert(Arc::new(config))),
        }
    }
}

/// Everything the state machine needs to know; durations in nanoseconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Config {
    /// The trip rule on failures.
    pub failure_threshold: Threshold,
    /// Calls that must be in the window before any trip rule applies.
    /// `None`: 1 with a count threshold, 10 with a rate threshold.
    pub minimum_requests: Option<u32>,
    /// The window the rates and the minimum are computed over.
    pub window: WindowKind,
    /// How long the circuit stays open before a trial call is allowed.
    pub open_duration: u64,
    /// Growth of the open duration over consecutive trips.
    pub backoff: Backoff,
    /// Seed of the jitter generator, so that every run is reproducible.
    pub seed: u64,
    /// Concurrent trial calls admitted while half-open (≥ 1).
    pub half_open_max_calls: u32,
    /// Consecutive successful trials that close the circuit (≥ 1).
    pub success_threshold: u32,
    /// A call taking longer than this is slow: a failure for the trip rules.
    pub slow_call_duration: Option<u64>,
    /// If set, the slow-call rate alone trips the breaker at this rate (0 < rate ≤ 1).
    pub slow_call_rate_threshold: Option<f64>,
    /// The per-call timeout the binding enforces; a success recorded after it counts
    /// as a timeout.
    pub call_timeout: Option<u64>,
    /// The state a new breaker starts in (ignored by `reconfigure`).
    pub start: Start,
    /// Whether an ignored outcome (a filtered or excluded error) counts as a success
    /// (opossum's `errorFilter`, pybreaker's `exclude`): it then closes a half-open
    /// breaker and resets the consecutive failures. `false`: it is not counted, and a
    /// half-open slot is handed back.
    pub ignored_as_success: bool,
    /// Whether the rate rules trip only above their threshold (`>`, opossum) rather
    /// than at it (`≥`, the default).
    pub strict_rate_threshold: bool,
    /// Whether a refused call counts as a call in the window (neither failure nor
    /// success): in the rate's denominator and towards `minimum_requests`, as opossum
    /// divides its failures by every `fire`. Refusals happen while open or half-open,
    /// so they weigh on a rate once the circuit has closed only with
    /// [`Config::keep_window`]. `false` (the default): the window holds calls that ran.
    pub rejects_in_rate: bool,
    /// Whether the window outlives state changes (half-open, close), as opossum's
    /// rolling window does: only time (or `reset`) empties it, so a circuit that has
    /// just closed still weighs the failures that tripped it. `false` (the default):
    /// half-open and closed start a fresh window (an open circuit keeps the one that
    /// tripped it either way).
    pub keep_window: bool,
    /// Whether the binding reports OPEN → HALF_OPEN when the open duration ends, from
    /// a timer ([`Breaker::half_open_due`](crate::Breaker::half_open_due) says when,
    /// [`Breaker::elapse`](crate::Breaker::elapse) moves it), as opossum's `halfOpen`
    /// event does; `false` (the default): on the next acquire, no idle timer.
    pub half_open_timer: bool,
    /// Whether a call refused because every half-open trial slot is taken may wait for
    /// the trial instead ([`Rejected::may_wait`](crate::Rejected::may_wait), as
    /// cockatiel queues callers): the binding asks again once a call ends; such a
    /// refusal is not counted. `false` (the default): refused.
    pub half_open_wait: bool,
    /// Whether to keep windowed statistics ([`Breaker::window_stats`](crate::Breaker::window_stats)):
    /// per bucket of the time window, successes, failures, rejections, timeouts,
    /// fallbacks and latencies. Off by default (a latency histogram per bucket).
    pub window_stats: bool,
}

impl Default for Config {
    /// Seed 001's defaults: 5 consecutive failures, 60 s open, 2 trial successes,
    /// 30 s call timeout, a 60 s window in 10 buckets.
    fn default() -> Self {
        Config {
            failure_threshold: Threshold::Count(5),
            minimum_requests: None,
            window: WindowKind::Time {
                duration: 60 * NANOS_PER_SEC,
                buckets: 10,
            },
            open_duration: 60 * NANOS_PER_SEC,
            backoff: Backoff::Fixed,
            seed: 0,
            half_open_max_calls: 1,
            success_threshold: 2,
            slow_call_duration: None,
            slow_call_rate_threshold: None,
            call_timeout: Some(30 * NANOS_PER_SEC),
            start: Start::Closed,
            ignored_as_success: false,
            strict_rate_threshold: false,
            rejects_in_rate: false,
            keep_window: false,
            half_open_timer: false,
            half_open_wait: false,
            window_stats: false,
        }
    }
}

/// Largest count window, so that memory stays bounded.
pub const MAX_COUNT_WINDOW: u32 = 1_000_000;
/// Largest number of buckets in a time window.
pub const MAX_BUCKETS: u32 = 1_000;

impl Config {
    /// The minimum number of calls in the window, with the default applied.
    pub fn effective_minimum_requests(&self) -> u32 {
        self.minimum_requests
            .unwrap_or(match self.failure_threshold {
                Threshold::Count(_) => 1,
                Threshold::Rate(_) => 10,
            })
    }

    /// Whether a window rate `rate` reaches the rate threshold `threshold` (`≥`, or
    /// `>` with [`Config::strict_rate_threshold`]).
    #[inline]
    pub fn rate_reaches(&self, rate: f64, threshold: f64) -> bool {
        if self.strict_rate_threshold {
            rate > threshold
        } else {
            rate >= threshold
        }
    }

    /// The longest success that is neither a timeout nor slow (nanoseconds): the
    /// successes [`Breaker::quiet_until`](crate::Breaker::quiet_until) speaks for.
    pub fn quiet_limit(&self) -> u64 {
        let limit = |d: Option<u64>| d.unwrap_or(u64::MAX);
        limit(self.call_timeout).min(limit(self.slow_call_duration))
    }

    /// Checks every field; the error names the first offending one (snake_case).
    pub fn validate(&self) -> Result<(), ConfigError> {
        match self.failure_threshold {
            Threshold::Count(0) => {
                return Err(ConfigError::range(
                    "failure_threshold",
                    "must be at least 1",
                ))
            }
            Threshold::Rate(r) if !(r > 0.0 && r <= 1.0) => {
                return Err(ConfigError::range(
                    "failure_threshold",
                    "a rate must be in (0, 1]",
                ))
            }
            _ => {}
        }
        if self.minimum_requests == Some(0) {
            return Err(ConfigError::range("minimum_requests", "must be at least 1"));
        }
        match self.window {
            WindowKind::Time { duration, buckets } => {
                if buckets == 0 || buckets > MAX_BUCKETS {
                    return Err(ConfigError::range("window_buckets", "must be in 1..=1000"));
                }
                if duration < u64::from(buckets) {
                    return Err(ConfigError::range(
                        "monitoring_window",
                        "must be positive and at least 1 ns per bucket",
                    ));
                }
            }
            WindowKind::Count { size } => {
                if size == 0 || size > MAX_COUNT_WINDOW {
                    return Err(ConfigError::range("count_window", "must be in 1..=1000000"));
                }
                if size < self.effective_minimum_requests() {
                    return Err(ConfigError::range(
                        "minimum_requests",
                        "must not exceed count_window",
                    ));
                }
            }
        }
        if let Backoff::Exponential {
            multiplier,
            max,
            jitter,
        } = self.backoff
        {
            if !(multiplier.is_finite() && multiplier >= 1.0) {
                return Err(ConfigError::range(
                    "backoff_multiplier",
                    "must be a finite number ≥ 1",
                ));
            }
            if max < self.open_duration {
                return Err(ConfigError::range(
                    "max_recovery_timeout",
                    "must be at least recovery_timeout",
                ));
            }
            if !(0.0..=1.0).contains(&jitter) {
                return Err(ConfigError::range("backoff_jitter", "must be in [0, 1]"));
            }
        }
        if self.half_open_max_calls == 0 {
            return Err(ConfigError::range(
                "half_open_max_calls",
                "must be at least 1",
            ));
        }
        if self.success_threshold == 0 {
            return Err(ConfigError::range(
                "success_threshold",
                "must be at least 1",
            ));
        }
        if self.slow_call_duration == Some(0) {
            return Err(ConfigError::range("slow_call_duration", "must be positive"));
        }
        if let Some(r) = self.slow_call_rate_threshold {
            if !(r > 0.0 && r <= 1.0) {
                return Err(ConfigError::range(
                    "slow_call_rate_threshold",
                    "must be in (0, 1]",
                ));
            }
            if self.slow_call_duration.is_none() {
                return Err(ConfigError::range(
                    "slow_call_rate_threshold",
                    "needs slow_call_duration",
                ));
            }
        }
        if self.window_stats && !cfg!(feature = "window-stats") {
            return Err(ConfigError::range(
                "window_stats",
                "windowed statistics are not built into this package",
            ));
        }
        if self.window_stats && matches!(self.window, WindowKind::Count { .. }) {
            return Err(ConfigError::range(
                "window_stats",
                "needs a time window (monitoring_window), not count_window",
            ));
        }
        if self.call_timeout == Some(0) {
            return Err(ConfigError::range("request_timeout", "must be positive"));
        }
        Ok(())
    }
}

/// Whether a bad option has the wrong type or a value out of range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// Wrong type (JS `TypeError`, Python `TypeError`).
    Type,
    /// Right type, bad value (JS `RangeError`, Python `ValueError`).
    Range,
}

/// An invalid option: names the field, as the caller spelled it where known.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// The offending option.
    pub field: Cow<'static, str>,
    /// What is wrong with it.
    pub reason: Cow<'static, str>,
    /// Type or range problem.
    pub kind: ErrorKind,
}

impl ConfigError {
    pub(crate) fn range(field: &'static str, reason: &'static str) -> Self {
        ConfigError {
            field: Cow::Borrowed(field),
            reason: Cow::Borrowed(reason),
            kind: ErrorKind::Range,
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid option `{}`: {}", self.field, self.reason)
    }
}

#[cfg(feature = "std")]
impl std::error::Error for ConfigError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_configurations_in_a_row_share_one_copy() {
        let mut share = ConfigShare::default();
        let a = share.share(Config::default());
        let b = share.share(Config::default());
        assert!(Arc::ptr_eq(&a, &b));
        let other = Config {
            success_threshold: 3,
            ..Config::default()
        };
        let c = share.share(other);
        assert!(!Arc::ptr_eq(&a, &c));
        assert_eq!(*c, other);
    }

    #[test]
    fn default_is_valid() {
        Config::default().validate().unwrap();
    }

    #[test]
    fn errors_name_the_field() {
        let bad = [
            (
                Config {
                    failure_threshold: Threshold::Count(0),
                    ..Config::default()
                },
                "failure_threshold",
            ),
            (
                Config {
                    failure_threshold: Threshold::Rate(f64::NAN),
                    ..Config::default()
                },
                "failure_threshold",
            ),
            (
                Config {
                    failure_threshold: Threshold::Rate(1.5),
                    ..Config::default()
                },
                "failure_threshold",
            ),
            (
                Config {
                    minimum_requests: Some(0),
                    ..Config::default()
                },
                "minimum_requests",
            ),
            (
                Config {
                    window: WindowKind::Count { size: 5 },
                    minimum_requests: Some(6),
                    ..Config::default()
                },
                "minimum_requests",
            ),
            (
                Config {
                    window: WindowKind::Count { size: 0 },
                    ..Config::default()
                },
                "count_window",
            ),
            (
                Config {
                    window: WindowKind::Time {
                        duration: 0,
                        buckets: 10,
                    },
                    ..Config::default()
                },
                "monitoring_window",
            ),
            (
                Config {
                    half_open_max_calls: 0,
                    ..Config::default()
                },
                "half_open_max_calls",
            ),
            (
                Config {
                    success_threshold: 0,
                    ..Config::default()
                },
                "success_threshold",
            ),
            (
                Config {
                    slow_call_rate_threshold: Some(0.5),
                    ..Config::default()
                },
                "slow_call_rate_threshold",
            ),
            (
                Config {
                    backoff: Backoff::Exponential {
                        multiplier: 0.5,
                        max: u64::MAX,
                        jitter: 0.0,
                    },
                    ..Config::default()
                },
                "backoff_multiplier",
            ),
            (
                Config {
                    backoff: Backoff::Exponential {
                        multiplier: 2.0,
                        max: 1,
                        jitter: 0.0,
                    },
                    ..Config::default()
                },
                "max_recovery_timeout",
            ),
            (
                Config {
                    call_timeout: Some(0),
                    ..Config::default()
                },
                "request_timeout",
            ),
        ];
        for (config, field) in bad {
            let err = config.validate().unwrap_err();
            assert_eq!(err.field, field, "{config:?}");
            assert!(err.to_string().contains(field));
        }
    }

    #[test]
    fn minimum_defaults_by_threshold_kind() {
        assert_eq!(Config::default().effective_minimum_requests(), 1);
        let rate = Config {
            failure_threshold: Threshold::Rate(0.5),
            ..Config::default()
        };
        assert_eq!(rate.effective_minimum_requests(), 10);
    }
}
