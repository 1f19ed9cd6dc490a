//! Retry: the backoff schedule and which errors are worth another attempt.

use alloc::string::String;
use alloc::vec::Vec;

use crate::config::ConfigError;
use crate::options::{check, read, Kind, OptionValue, Unit};
use crate::NANOS_PER_MILLI;

/// How often and how far apart to retry; durations in nanoseconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (≥ 1; 1 = no retry).
    pub max_attempts: u32,
    /// Delay before the second attempt.
    pub base_delay: u64,
    /// Cap on any delay.
    pub max_delay: u64,
    /// Growth per attempt (≥ 1).
    pub multiplier: f64,
    /// Random extra of up to this fraction of the delay (0..=1; 0 = none).
    pub jitter: f64,
}

impl Default for RetryPolicy {
    /// 3 attempts, 100 ms doubling up to 30 s, 20 % jitter.
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            base_delay: 100 * NANOS_PER_MILLI,
            max_delay: 30_000 * NANOS_PER_MILLI,
            multiplier: 2.0,
            jitter: 0.2,
        }
    }
}

impl RetryPolicy {
    /// Checks every field; the error names the first bad one (snake_case).
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.max_attempts == 0 {
            return Err(ConfigError::range("max_attempts", "must be at least 1"));
        }
        if !(self.multiplier.is_finite() && self.multiplier >= 1.0) {
            return Err(ConfigError::range(
                "multiplier",
                "must be a finite number ≥ 1",
            ));
        }
        if !(0.0..=1.0).contains(&self.jitter) {
            return Err(ConfigError::range("jitter", "must be in [0, 1]"));
        }
        if self.max_delay < self.base_delay {
            return Err(ConfigError::range(
                "max_delay",
                "must be at least base_delay",
            ));
        }
        Ok(())
    }

    /// Sets one option as a user spelled it (`maxAttempts` / `max_attempts`, `baseDelay`,
    /// `maxDelay`, `multiplier`, `jitter`; durations in `unit`). Returns `Ok(false)` for a
    /// name that is not a retry option; a bad value is an error naming it.
    pub fn set(
        &mut self,
        name: &str,
        value: OptionValue<'_>,
        unit: Unit,
    ) -> Result<bool, ConfigError> {
        let kind = match name {
            "maxAttempts" | "max_attempts" => Kind::Count,
            "baseDelay" | "base_delay" | "maxDelay" | "max_delay" => Kind::Duration,
            "multiplier" => Kind::Factor,
            "jitter" => Kind::Fraction,
            _ => return Ok(false),
        };
        let Some(number) = read(name, value)? else {
            return Ok(true);
        };
        check(name, number, kind, unit)?;
        match name {
            "maxAttempts" | "max_attempts" => self.max_attempts = number as u32,
            "baseDelay" | "base_delay" => self.base_delay = unit.to_nanos(number),
            "maxDelay" | "max_delay" => self.max_delay = unit.to_nanos(number),
            "multiplier" => self.multiplier = number,
            _ => self.jitter = number,
        }
        Ok(true)
    }

    /// The delay before attempt `attempt + 1`, after attempt `attempt` (1-based) failed:
    /// `min(max_delay, base_delay × multiplier^(attempt-1))` plus `jitter × unit` of it,
    /// where `unit` is a uniform number in [0, 1) (see [`crate::Rng`]).
    pub fn delay(&self, attempt: u32, unit: f64) -> u64 {
        let mut delay = self.base_delay as f64;
        for _ in 1..attempt {
            delay *= self.multiplier;
            if delay >= self.max_delay as f64 {
                break;
            }
        }
        let capped = if delay >= self.max_delay as f64 {
            self.max_delay
        } else {
            delay as u64
        };
        capped.saturating_add((capped as f64 * self.jitter * unit) as u64)
    }
}

/// Codes retried by default: connection resets and refusals, timeouts, a busy database.
pub const RETRYABLE_CODES: [&str; 6] = [
    "ECONNRESET",
    "ECONNREFUSED",
    "ETIMEDOUT",
    "TIMEOUT",
    "SQLITE_BUSY",
    "SQLITE_LOCKED",
];
/// HTTP statuses retried by default: the upstream's transient errors.
pub const RETRYABLE_STATUSES: [u16; 3] = [502, 503, 504];
/// Codes never retried by default: bad data and bad credentials do not get better.
pub const NON_RETRYABLE_CODES: [&str; 2] = ["SQLITE_CONSTRAINT", "WS_AUTH_FAILED"];
/// HTTP statuses never retried by default: the request itself is wrong.
pub const NON_RETRYABLE_STATUSES: [u16; 4] = [400, 401, 403, 404];

/// Decides whether an error is worth another attempt.
///
/// An open circuit is never retried. A code in `non_retryable` is never retried,
/// even if the defaults or `retryable` list it. Then the default and added retryable
/// codes and statuses are retried. Anything else — unknown errors included — is not:
/// retrying unknown failures is unsafe for non-idempotent operations.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Classifier {
    /// Codes retried in addition to the defaults (`retryableErrors`).
    pub retryable: Vec<String>,
    /// Codes never retried, overriding every other list (`nonRetryableErrors`).
    pub non_retryable: Vec<String>,
}

impl Classifier {
    /// Whether to retry an error with this `code` and HTTP `status` (either may be absent).
    pub fn should_retry(
        &self,
        code: Option<&str>,
        status: Option<u16>,
        circuit_open: bool,
    ) -> bool {
        if circuit_open {
            return false;
        }
        let listed = |list: &[String], code: &str| list.iter().any(|c| c == code);
        if let Some(code) = code {
            if listed(&self.non_retryable, code) || NON_RETRYABLE_CODES.contains(&code) {
                return false;
            }
            if listed(&self.retryable, code) || RETRYABLE_CODES.contains(&code) {
                return true;
            }
        }
        match status {
            Some(s) if NON_RETRYABLE_STATUSES.contains(&s) => false,
            Some(s) => RETRYABLE_STATUSES.contains(&s),
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use alloc::vec;

    #[test]
    fn delays_grow_cap_and_jitter() {
        let policy = RetryPolicy {
            jitter: 0.0,
            ..RetryPolicy::default()
        };
        let ms = |n| policy.delay(n, 0.99) / NANOS_PER_MILLI;
        assert_eq!(
            [ms(1), ms(2), ms(3), ms(9), ms(10), ms(40)],
            [100, 200, 400, 25_600, 30_000, 30_000]
        );
        let jittered = RetryPolicy::default();
        assert_eq!(jittered.delay(1, 0.0), 100 * NANOS_PER_MILLI);
        assert_eq!(jittered.delay(1, 0.5), 110 * NANOS_PER_MILLI);
    }

    #[test]
    fn classification() {
        let c = Classifier::default();
        for code in RETRYABLE_CODES {
            assert!(c.should_retry(Some(code), None, false), "{code}");
            assert!(
                !c.should_retry(Some(code), None, true),
                "{code} with an open circuit"
            );
        }
        for status in RETRYABLE_STATUSES {
            assert!(c.should_retry(None, Some(status), false));
        }
        for status in NON_RETRYABLE_STATUSES.into_iter().chain([500, 429, 200]) {
            assert!(!c.should_retry(None, Some(status), false), "{status}");
        }
        for code in NON_RETRYABLE_CODES {
            assert!(
                !c.should_retry(Some(code), Some(503), false),
                "{code} overrides a retryable status"
            );
        }
        assert!(!c.should_retry(Some("SOMETHING_ELSE"), None, false));
        assert!(
            c.should_retry(Some("SOMETHING_ELSE"), Some(503), false),
            "an unknown code defers to the status"
        );
        assert!(!c.should_retry(None, None, false));
        let custom = Classifier {
            retryable: vec!["CUSTOM".to_string()],
            non_retryable: vec!["ECONNRESET".to_string()],
        };
        assert!(custom.should_retry(Some("CUSTOM"), None, false));
        assert!(!custom.should_retry(Some("ECONNRESET"), None, false));
    }

    #[test]
    fn options_by_either_spelling() {
        let mut p = RetryPolicy::default();
        assert!(p
            .set("maxAttempts", OptionValue::Number(5.0), Unit::Millis)
            .unwrap());
        assert!(p
            .set("base_delay", OptionValue::Number(0.25), Unit::Seconds)
            .unwrap());
        assert!(!p
            .set("retryableErrors", OptionValue::Other("array"), Unit::Millis)
            .unwrap());
        assert_eq!((p.max_attempts, p.base_delay), (5, 250 * NANOS_PER_MILLI));
        assert_eq!(
            p.set("jitter", OptionValue::Number(2.0), Unit::Millis)
                .unwrap_err()
                .field,
            "jitter"
        );
        assert_eq!(
            p.set("multiplier", OptionValue::Bool(true), Unit::Millis)
                .unwrap_err()
                .field,
            "multiplier"
        );
    }

    #[test]
    fn validation_names_the_option() {
        let bad = RetryPolicy {
            max_attempts: 0,
            ..RetryPolicy::default()
        };
        assert_eq!(bad.validate().unwrap_err().field, "max_attempts");
        let bad = RetryPolicy {
            max_delay: 1,
            ..RetryPolicy::default()
        };
        assert_eq!(bad.validate().unwrap_err().field, "max_delay");
    }
}
