//! A service's configuration as users change it: presets, breaker options, bulkhead
//! limits and the retry policy, each checked when given (unknown names and bad values
//! are errors naming the option there, not on the next call) and laid over what the
//! service has.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use super::presets::{preset, Preset, PRESETS};
use super::retry::{Classifier, RetryPolicy};
use super::BulkheadConfig;
use crate::config::ConfigError;
use crate::options::{closest, type_error, OptionValue, Options, Unit};

/// One part of a service update, as users name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Section {
    /// `preset`: a preset by name, under the other sections.
    Preset,
    /// `config`: the breakers' options.
    Config,
    /// `bulkhead`: the service's concurrency limits.
    Bulkhead,
    /// `retryPolicy` / `retry_policy`: how calls are retried.
    Retry,
}

const SECTIONS: [(&str, Section); 5] = [
    ("preset", Section::Preset),
    ("config", Section::Config),
    ("bulkhead", Section::Bulkhead),
    ("retryPolicy", Section::Retry),
    ("retry_policy", Section::Retry),
];

/// Names of the bulkhead's options, both spellings.
const BULKHEAD_OPTIONS: [&str; 6] = [
    "maxConcurrent",
    "max_concurrent",
    "queueSize",
    "queue_size",
    "maxQueueWait",
    "max_queue_wait",
];

/// Names of the retry policy's options, both spellings.
const RETRY_OPTIONS: [&str; 14] = [
    "maxAttempts",
    "max_attempts",
    "baseDelay",
    "base_delay",
    "maxDelay",
    "max_delay",
    "multiplier",
    "jitter",
    "retryableErrors",
    "retryable_errors",
    "nonRetryableErrors",
    "non_retryable_errors",
    "seed",
    "seed",
];

/// Which list of error codes a `retryableErrors` / `nonRetryableErrors` option sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodeList {
    /// Codes retried besides the defaults.
    Retryable,
    /// Codes never retried.
    NonRetryable,
}

/// A retry policy with its error classification and jitter seed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Retry {
    /// Attempts and delays.
    pub policy: RetryPolicy,
    /// Which errors are retried.
    pub classifier: Classifier,
    /// The jitter's stream; `None`: the service's.
    pub seed: Option<u64>,
}

/// Changes to a retry policy, checked as they are given and applied over a base.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RetryUpdate {
    numbers: Vec<(String, f64)>,
    retryable: Option<Vec<String>>,
    non_retryable: Option<Vec<String>>,
    seed: Option<u64>,
}

impl RetryUpdate {
    /// Sets one numeric option (`maxAttempts`, `baseDelay`, `maxDelay`, `multiplier`,
    /// `jitter`, `seed`; durations in `unit`). Unknown names are errors (with "did you
    /// mean" for typos); so are bad values.
    pub fn set(
        &mut self,
        name: &str,
        value: OptionValue<'_>,
        unit: Unit,
    ) -> Result<(), ConfigError> {
        if name == "seed" {
            let mut options = Options::new(unit);
            options.set("seed", value)?;
            if let OptionValue::Number(n) = value {
                self.seed = Some(n as u64);
            }
            return Ok(());
        }
        if matches!(
            name,
            "retryableErrors" | "retryable_errors" | "nonRetryableErrors" | "non_retryable_errors"
        ) {
            return match value {
                OptionValue::Missing => Ok(()),
                _ => Err(type_error(
                    name,
                    "must be a list of error codes (strings)".to_string(),
                )),
            };
        }
        // Checked on a scratch policy now; replayed over the service's when applied.
        let mut scratch = RetryPolicy::default();
        if !scratch.set(name, value, unit)? {
            return Err(unknown(name, &RETRY_OPTIONS));
        }
        if let OptionValue::Number(n) = value {
            self.numbers.retain(|(n0, _)| !same_option(n0, name));
            self.numbers.push((name.to_string(), n));
        }
        Ok(())
    }

    /// Sets `retryableErrors` or `nonRetryableErrors`.
    pub fn set_codes(&mut self, list: CodeList, codes: Vec<String>) {
        match list {
            CodeList::Retryable => self.retryable = Some(codes),
            CodeList::NonRetryable => self.non_retryable = Some(codes),
        }
    }

    /// Which list a name sets, for a binding reading a list of codes.
    pub fn code_list(name: &str) -> Option<CodeList> {
        match name {
            "retryableErrors" | "retryable_errors" => Some(CodeList::Retryable),
            "nonRetryableErrors" | "non_retryable_errors" => Some(CodeList::NonRetryable),
            _ => None,
        }
    }

    /// Whether nothing is set.
    pub fn is_empty(&self) -> bool {
        self == &RetryUpdate::default()
    }

    /// `base` with these changes; the error names the first bad option.
    pub fn apply(&self, base: &Retry, unit: Unit) -> Result<Retry, ConfigError> {
        let mut retry = base.clone();
        for (name, number) in &self.numbers {
            retry.policy.set(name, OptionValue::Number(*number), unit)?;
        }
        retry.policy.validate().map_err(|e| self.named(e))?;
        if let Some(codes) = &self.retryable {
            retry.classifier.retryable = codes.clone();
        }
        if let Some(codes) = &self.non_retryable {
            retry.classifier.non_retryable = codes.clone();
        }
        if self.seed.is_some() {
            retry.seed = self.seed;
        }
        Ok(retry)
    }

    /// Names a cross-field error (e.g. `max_delay` below `base_delay`) as the user spelled it.
    fn named(&self, mut error: ConfigError) -> ConfigError {
        if let Some((name, _)) = self
            .numbers
            .iter()
            .find(|(n, _)| same_option(n, &error.field))
        {
            error.field = name.clone().into();
        }
        error
    }
}

/// Whether two spellings name one option (`maxDelay` and `max_delay`).
fn same_option(a: &str, b: &str) -> bool {
    let norm = |s: &str| {
        s.bytes()
            .filter(|c| *c != b'_')
            .map(|c| c.to_ascii_lowercase())
            .collect::<Vec<u8>>()
    };
    norm(a) == norm(b)
}

/// The error for an option a retry policy does not have, with "did you mean" (the
/// bindings' standalone `RetryPolicy`, as the service's `retryPolicy` section).
pub fn unknown_retry_option(name: &str) -> ConfigError {
    unknown(name, &RETRY_OPTIONS)
}

/// The error for an option a bulkhead does not have, with "did you mean".
pub fn unknown_bulkhead_option(name: &str) -> ConfigError {
    unknown(name, &BULKHEAD_OPTIONS)
}

fn unknown(name: &str, known: &[&str]) -> ConfigError {
    // Suggest in the user's spelling: `max_attemps` → `max_attempts`, `maxAttemps` →
    // `maxAttempts` (a name with no `_` and no capital, such as `jitter`, fits both).
    let snake = !name.bytes().any(|c| c.is_ascii_uppercase());
    let same: Vec<&str> = known
        .iter()
        .copied()
        .filter(|k| {
            if snake {
                !k.bytes().any(|c| c.is_ascii_uppercase())
            } else {
                !k.contains('_')
            }
        })
        .collect();
    match closest(name, &same).or_else(|| closest(name, known)) {
        Some(s) => type_error(name, format!("unknown option (did you mean `{s}`?)")),
        None => type_error(
            name,
            format!("unknown option (one of {})", own_names(known)),
        ),
    }
}

/// The camelCase names of a list of both spellings, for an error message.
fn own_names(known: &[&str]) -> String {
    let mut names: Vec<&str> = known.iter().copied().filter(|n| !n.contains('_')).collect();
    names.dedup();
    names.join(", ")
}

/// Changes to a service: a preset, breaker options, bulkhead limits, a retry policy.
/// Built one option at a time as a binding reads the user's object; every bad name or
/// value is an error at once; applied whole by [`Service::update`](super::Service::update).
#[derive(Clone, Debug)]
pub struct ServiceUpdate {
    pub(crate) preset: Option<&'static Preset>,
    pub(crate) config: Option<Options>,
    pub(crate) bulkhead: Option<Vec<(String, OptionValue<'static>)>>,
    pub(crate) retry: Option<RetryUpdate>,
    unit: Unit,
}

impl ServiceUpdate {
    /// No change yet; durations in `unit`.
    pub fn new(unit: Unit) -> ServiceUpdate {
        ServiceUpdate {
            preset: None,
            config: None,
            bulkhead: None,
            retry: None,
            unit,
        }
    }

    /// The section a top-level name stands for; unknown names are errors ("did you mean").
    pub fn section(name: &str) -> Result<Section, ConfigError> {
        if let Some((_, s)) = SECTIONS.iter().find(|(n, _)| *n == name) {
            return Ok(*s);
        }
        let names: Vec<&str> = SECTIONS.iter().map(|(n, _)| *n).collect();
        Err(unknown(name, &names))
    }

    /// Applies the preset `name` under the other sections.
    pub fn set_preset(&mut self, name: &str) -> Result<(), ConfigError> {
        match preset(name) {
            Some(p) => {
                self.preset = Some(p);
                Ok(())
            }
            None => {
                let names: Vec<&str> = PRESETS.iter().map(|p| p.name).collect();
                Err(ConfigError {
                    field: "preset".into(),
                    reason: format!("unknown preset {name:?} (one of {})", names.join(", ")).into(),
                    kind: crate::config::ErrorKind::Range,
                })
            }
        }
    }

    /// Marks a section as given (an empty object still counts: it is checked and kept).
    pub fn touch(&mut self, section: Section) {
        match section {
            Section::Preset => {}
            Section::Config => {
                self.config.get_or_insert_with(|| Options::new(self.unit));
            }
            Section::Bulkhead => {
                self.bulkhead.get_or_insert_with(Vec::new);
            }
            Section::Retry => {
                self.retry.get_or_insert_with(RetryUpdate::default);
            }
        }
    }

    /// Sets one option of `section` (not [`Section::Preset`]); unknown names and bad
    /// values are errors naming the option.
    pub fn set(
        &mut self,
        section: Section,
        name: &str,
        value: OptionValue<'_>,
    ) -> Result<(), ConfigError> {
        let unit = self.unit;
        match section {
            Section::Preset => self.set_preset(name),
            Section::Config => {
                let options = self.config.get_or_insert_with(|| Options::new(unit));
                if options.set(name, value)? {
                    Ok(())
                } else {
                    Err(options
                        .unknown(name, &[])
                        .unwrap_or_else(|| type_error(name, "unknown option".to_string())))
                }
            }
            Section::Bulkhead => {
                let mut scratch = BulkheadConfig::default();
                if !scratch.set(name, value, unit)? {
                    return Err(unknown(name, &BULKHEAD_OPTIONS));
                }
                let stored = match value {
                    OptionValue::Number(n) => OptionValue::Number(n),
                    OptionValue::Bool(b) => OptionValue::Bool(b),
                    _ => OptionValue::Missing,
                };
                let list = self.bulkhead.get_or_insert_with(Vec::new);
                list.retain(|(n, _)| !same_option(n, name));
                list.push((name.to_string(), stored));
                Ok(())
            }
            Section::Retry => self
                .retry
                .get_or_insert_with(RetryUpdate::default)
                .set(name, value, unit),
        }
    }

    /// The retry section, to set its lists of codes.
    pub fn retry_mut(&mut self) -> &mut RetryUpdate {
        self.retry.get_or_insert_with(RetryUpdate::default)
    }

    /// The breaker options a preset stands for, in `unit`.
    pub(crate) fn preset_options(p: &Preset, unit: Unit) -> Options {
        let mut options = Options::new(unit);
        // Preset values are valid by construction.
        let _ = options.set(
            "failureThreshold",
            OptionValue::Number(f64::from(p.failure_threshold)),
        );
        let _ = options.set("timeout", OptionValue::Number(unit.from_nanos(p.timeout)));
        options
    }

    /// The unit durations are read in.
    pub fn unit(&self) -> Unit {
        self.unit
    }
}

/// A bulkhead configuration with `changes` laid over `base`.
pub(crate) fn bulkhead_with(
    base: BulkheadConfig,
    changes: &[(String, OptionValue<'static>)],
    unit: Unit,
) -> Result<BulkheadConfig, ConfigError> {
    let mut config = base;
    for (name, value) in changes {
        if matches!(value, OptionValue::Missing)
            && matches!(name.as_str(), "maxQueueWait" | "max_queue_wait")
        {
            // `null` / `None` lifts the wait limit.
            config.max_queue_wait = None;
            continue;
        }
        config.set(name, *value, unit)?;
    }
    config.validate()?;
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn did_you_mean_answers_in_the_users_spelling() {
        let message = |name: &str| {
            let mut r = RetryUpdate::default();
            r.set(name, OptionValue::Number(2.0), Unit::Millis)
                .unwrap_err()
                .to_string()
        };
        assert!(
            message("max_attemps").contains("`max_attempts`"),
            "{}",
            message("max_attemps")
        );
        assert!(message("maxAttemps").contains("`maxAttempts`"));
        let section = |name: &str| ServiceUpdate::section(name).unwrap_err().to_string();
        assert!(section("retry_polcy").contains("`retry_policy`"));
        assert!(section("retryPolcy").contains("`retryPolicy`"));
        let mut u = ServiceUpdate::new(Unit::Millis);
        let e = u
            .set(Section::Bulkhead, "max_concurent", OptionValue::Number(1.0))
            .unwrap_err();
        assert!(e.to_string().contains("`max_concurrent`"), "{e}");
    }
}
