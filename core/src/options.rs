//! Options as users spell them, in every runtime: one table of names and aliases,
//! one set of type and range checks, errors that name the option as it was written.
//!
//! | option | spellings | meaning |
//! |---|---|---|
//! | failure threshold | `failureThreshold`, `failure_threshold`, `fail_max` | < 1: failure rate; ≥ 1 (integer): consecutive failures |
//! | minimum calls | `minimumRequests`, `minimumRequestCount`, `minimum_requests`, `minimum_request_count` | calls in the window before any rule applies |
//! | open duration | `recoveryTimeout`, `resetTimeout`, `retryDelay`, `recovery_timeout`, `reset_timeout` | how long the circuit stays open |
//! | call timeout | `requestTimeout`, `timeout`, `request_timeout` | per-call timeout; `false` disables |
//! | success threshold | `successThreshold`, `success_threshold` | trial successes that close |
//! | half-open trials | `halfOpenMaxCalls`, `half_open_max_calls` | concurrent trial calls |
//! | time window | `monitoringWindow`, `monitoring_window` | length of the rate window |
//! | buckets | `windowBuckets`, `window_buckets` | buckets in the time window (default 10) |
//! | count window | `countWindow`, `count_window` | use the last N calls instead of a time window |
//! | slow call | `expectedResponseTime`, `slowCallDuration`, `slow_call_duration`, `expected_response_time` | slower calls count as failures and as slow |
//! | slow-call rate | `slowCallRateThreshold`, `slow_call_rate_threshold` | trip on the slow-call rate alone |
//! | backoff | `backoffMultiplier`, `maxRecoveryTimeout`, `backoffJitter` (and snake_case) | exponential open duration |
//! | seed | `seed` | jitter seed |
//! | start state | `initialState`, `initial_state` | `'CLOSED'` (default), `'OPEN'` or `'HALF_OPEN'` (case, `-` and `_` ignored) |
//! | open remaining | `openRemaining`, `open_remaining` | with `initialState: 'OPEN'`: time until it half-opens (default: the open duration) |
//! | ignored as success | `ignoredAsSuccess`, `ignored_as_success` | `true`: an ignored (filtered, excluded) outcome counts as a success |
//! | strict rate | `strictRateThreshold`, `strict_rate_threshold` | `true`: rate rules trip above the threshold (`>`), not at it (`≥`) |
//! | rejects in rate | `rejectsInRate`, `rejects_in_rate` | `true`: refused calls count as calls in the window (the rate's denominator and the minimum) |
//! | keep window | `keepWindow`, `keep_window` | `true`: the window outlives half-open and close (only time and `reset` empty it) |
//! | half-open wait | `halfOpenWait`, `half_open_wait` | `true`: a call finding every trial slot taken waits for the trial instead of being refused |
//! | windowed statistics | `windowStats`, `window_stats` | `true`: keep per-bucket counts and latency percentiles over the time window |
//! | half-open timer | `halfOpenTimer`, `half_open_timer` | `true`: OPEN → HALF_OPEN is reported by a timer when the open duration ends |
//!
//! Durations are milliseconds or seconds, as the binding says ([`Unit`]).

use alloc::borrow::Cow;
use alloc::format;
use alloc::string::{String, ToString};

use crate::config::{Backoff, Config, ConfigError, ErrorKind, Start, Threshold, WindowKind};
use crate::{NANOS_PER_MILLI, NANOS_PER_SEC};

/// The unit of duration options in a runtime.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// JavaScript: milliseconds.
    Millis,
    /// Python: seconds.
    Seconds,
}

impl Unit {
    /// A duration or clock reading in this unit as nanoseconds, rounded to the nearest
    /// (negative and NaN give 0). Rounded, not truncated: an instant the core returned,
    /// read back in this unit and converted again, is the same instant (truncating lost
    /// a nanosecond for about 2 % of them, and a breaker told to half-open at the end of
    /// its open period was told "not yet").
    pub fn to_nanos(self, value: f64) -> u64 {
        // No `f64::round` in core: 1.001 s is 1_001_000_000 ns although 1.001 × 1e9 is
        // 1_000_999_999.99… in binary floating point.
        (value * self.nanos_per_unit() as f64 + 0.5) as u64
    }

    /// Nanoseconds in this unit.
    pub fn from_nanos(self, nanos: u64) -> f64 {
        nanos as f64 / self.nanos_per_unit() as f64
    }

    /// Nanoseconds in one of this unit.
    pub(crate) fn nanos_per_unit(self) -> u64 {
        match self {
            Unit::Millis => NANOS_PER_MILLI,
            Unit::Seconds => NANOS_PER_SEC,
        }
    }
}

/// An option's value, reduced to what the rules need to know.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum OptionValue<'a> {
    /// A number.
    Number(f64),
    /// A boolean (accepted only as `false` for the call timeout).
    Bool(bool),
    /// `undefined` / `None` / `null`: the default applies.
    Missing,
    /// A string (accepted only by the start state), with the runtime's name for its
    /// type (for the errors of the other options).
    Text {
        /// The string.
        value: &'a str,
        /// The runtime's name for a string (`a string`, `str`).
        kind: &'a str,
    },
    /// Anything else, with the runtime's name for its type.
    Other(&'a str),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Key {
    FailureThreshold,
    MinimumRequests,
    RecoveryTimeout,
    RequestTimeout,
    SuccessThreshold,
    HalfOpenMaxCalls,
    MonitoringWindow,
    WindowBuckets,
    CountWindow,
    SlowCallDuration,
    SlowCallRateThreshold,
    BackoffMultiplier,
    MaxRecoveryTimeout,
    BackoffJitter,
    Seed,
    InitialState,
    OpenRemaining,
    IgnoredAsSuccess,
    StrictRateThreshold,
    RejectsInRate,
    KeepWindow,
    HalfOpenTimer,
    HalfOpenWait,
    WindowStats,
}

const KEYS: usize = 24;

/// Spellings per key: the first is the camelCase name, the second the snake_case one.
const SPELLINGS: [(Key, &[&str]); KEYS] = [
    (
        Key::FailureThreshold,
        &["failureThreshold", "failure_threshold", "fail_max"],
    ),
    (
        Key::MinimumRequests,
        &[
            "minimumRequests",
            "minimum_requests",
            "minimumRequestCount",
            "minimum_request_count",
        ],
    ),
    (
        Key::RecoveryTimeout,
        &[
            "recoveryTimeout",
            "recovery_timeout",
            "resetTimeout",
            "retryDelay",
            "reset_timeout",
        ],
    ),
    (
        Key::RequestTimeout,
        &["requestTimeout", "request_timeout", "timeout"],
    ),
    (
        Key::SuccessThreshold,
        &["successThreshold", "success_threshold"],
    ),
    (
        Key::HalfOpenMaxCalls,
        &["halfOpenMaxCalls", "half_open_max_calls"],
    ),
    (
        Key::MonitoringWindow,
        &["monitoringWindow", "monitoring_window"],
    ),
    (Key::WindowBuckets, &["windowBuckets", "window_buckets"]),
    (Key::CountWindow, &["countWindow", "count_window"]),
    (
        Key::SlowCallDuration,
        &[
            "expectedResponseTime",
            "slow_call_duration",
            "slowCallDuration",
            "expected_response_time",
        ],
    ),
    (
        Key::SlowCallRateThreshold,
        &["slowCallRateThreshold", "slow_call_rate_threshold"],
    ),
    (
        Key::BackoffMultiplier,
        &["backoffMultiplier", "backoff_multiplier"],
    ),
    (
        Key::MaxRecoveryTimeout,
        &["maxRecoveryTimeout", "max_recovery_timeout"],
    ),
    (Key::BackoffJitter, &["backoffJitter", "backoff_jitter"]),
    (Key::Seed, &["seed", "seed"]),
    (Key::InitialState, &["initialState", "initial_state"]),
    (Key::OpenRemaining, &["openRemaining", "open_remaining"]),
    (
        Key::IgnoredAsSuccess,
        &["ignoredAsSuccess", "ignored_as_success"],
    ),
    (
        Key::StrictRateThreshold,
        &["strictRateThreshold", "strict_rate_threshold"],
    ),
    (Key::RejectsInRate, &["rejectsInRate", "rejects_in_rate"]),
    (Key::KeepWindow, &["keepWindow", "keep_window"]),
    (Key::HalfOpenTimer, &["halfOpenTimer", "half_open_timer"]),
    (Key::HalfOpenWait, &["halfOpenWait", "half_open_wait"]),
    (Key::WindowStats, &["windowStats", "window_stats"]),
];

/// The start states `initialState` names, matched ignoring case, `-` and `_`.
const START_STATES: [&str; 3] = ["closed", "open", "halfopen"];

// `Key as usize` indexes `SPELLINGS` (and `Options::values`): checked at compile time.
const _: () = {
    let mut i = 0;
    while i < KEYS {
        assert!(
            SPELLINGS[i].0 as usize == i,
            "SPELLINGS must list the keys in `Key` order"
        );
        i += 1;
    }
};

/// The longest delay JavaScript timers keep: `setTimeout` in Node and in browsers
/// takes a signed 32-bit number of milliseconds (2^31 − 1 ms, about 24.8 days), and a
/// longer one fires at once (Node: re-armed every millisecond with a
/// `TimeoutOverflowWarning`). The JS bindings pass it to [`Options::timer_limit`].
pub const JS_TIMER_LIMIT_MS: f64 = 2_147_483_647.0;

/// Other circuit-breaker libraries' option names (opossum, Hystrix, pybreaker), with the
/// tripwire option that does that job: every binding answers them with this message
/// (`{name}` is a tripwire option, spelled in the runtime's style). Matched ignoring
/// case and `_`, so `error_threshold_percentage` finds `errorThresholdPercentage`.
pub const FOREIGN_OPTIONS: &[(&str, &str)] = &[
    (
        "errorThresholdPercentage",
        "use {failureThreshold} with a rate below 1 (50 % is 0.5)",
    ),
    (
        "volumeThreshold",
        "use {minimumRequests} (calls in the window before any rule applies)",
    ),
    ("allowWarmUp", "use {minimumRequests}"),
    (
        "rollingCountTimeout",
        "use {monitoringWindow} (the time window, in the runtime's unit)",
    ),
    (
        "rollingCountBuckets",
        "use {windowBuckets} (the buckets of the time window)",
    ),
    (
        "capacity",
        "a breaker does not limit concurrency: use the resilience service's bulkhead ({maxConcurrent}); {halfOpenMaxCalls} limits half-open trials",
    ),
    (
        "rollingPercentilesEnabled",
        "latency percentiles are always kept (stats: latencyP50, latencyP90, latencyP99)",
    ),
    ("enabled", "call disable() / enable() on the breaker"),
    (
        "abortController",
        "the guarded function receives a context whose `signal` aborts on timeout",
    ),
    (
        "autoRenewAbortController",
        "the guarded function receives a fresh `signal` on every call",
    ),
    ("cache", "tripwire does not cache results: answer refusals with {fallback}"),
    ("cacheTTL", "tripwire does not cache results: answer refusals with {fallback}"),
    (
        "errorThreshold",
        "use {failureThreshold} (< 1 a rate, ≥ 1 consecutive failures)",
    ),
    ("resetTimeoutMs", "use {recoveryTimeout}"),
    ("halfOpenAfter", "use {recoveryTimeout}"),
    ("maxFailures", "use {failureThreshold} (consecutive failures when ≥ 1)"),
];

/// The options a [`Config`] field comes from, by the field's name (as
/// [`crate::fleet::fingerprint`] writes it): what a message about that field calls it.
const FIELD_OPTIONS: &[(&str, &[Key])] = &[
    ("failure_threshold", &[Key::FailureThreshold]),
    ("minimum_requests", &[Key::MinimumRequests]),
    ("window", &[Key::MonitoringWindow, Key::CountWindow]),
    ("open_duration", &[Key::RecoveryTimeout]),
    ("backoff", &[Key::BackoffMultiplier]),
    ("half_open_max_calls", &[Key::HalfOpenMaxCalls]),
    ("success_threshold", &[Key::SuccessThreshold]),
    ("slow_call_duration", &[Key::SlowCallDuration]),
    ("slow_call_rate_threshold", &[Key::SlowCallRateThreshold]),
    ("call_timeout", &[Key::RequestTimeout]),
    ("strict_rate_threshold", &[Key::StrictRateThreshold]),
    ("ignored_as_success", &[Key::IgnoredAsSuccess]),
];

/// What the option behind the [`Config`] field `field` is called in a runtime: its
/// camelCase name for [`Unit::Millis`] (JavaScript), its snake_case one for
/// [`Unit::Seconds`] (Python); several options are joined by `/`
/// (`monitoringWindow/countWindow`). A name that is no field is returned as is.
pub fn option_name(field: &str, unit: Unit) -> String {
    let Some((_, keys)) = FIELD_OPTIONS.iter().find(|(f, _)| *f == field) else {
        return field.to_string();
    };
    let spelling = match unit {
        Unit::Millis => 0,
        Unit::Seconds => 1,
    };
    let mut name = String::new();
    for key in keys.iter() {
        if !name.is_empty() {
            name.push('/');
        }
        name.push_str(SPELLINGS[*key as usize].1[spelling]);
    }
    name
}

/// Collects options one by one, then builds a validated [`Config`].
#[derive(Clone, Debug)]
pub struct Options {
    unit: Unit,
    values: [Option<f64>; KEYS],
    spelled: [Option<String>; KEYS],
    timeout_disabled: bool,
    /// The longest call timeout the runtime's timers can keep, in `unit`.
    timer_limit: Option<f64>,
}

fn lookup(name: &str) -> Option<(usize, Key)> {
    SPELLINGS
        .iter()
        .enumerate()
        .find(|(_, (_, names))| names.contains(&name))
        .map(|(i, (k, _))| (i, *k))
}

pub(crate) fn type_error(field: &str, reason: String) -> ConfigError {
    ConfigError {
        field: Cow::Owned(field.to_string()),
        reason: Cow::Owned(reason),
        kind: ErrorKind::Type,
    }
}

fn static_type_error(field: &str, reason: &'static str) -> ConfigError {
    ConfigError {
        field: Cow::Owned(field.to_string()),
        reason: Cow::Borrowed(reason),
        kind: ErrorKind::Type,
    }
}

pub(crate) fn range_error(field: &str, reason: &'static str) -> ConfigError {
    ConfigError {
        field: Cow::Owned(field.to_string()),
        reason: Cow::Borrowed(reason),
        kind: ErrorKind::Range,
    }
}

impl Options {
    /// No options set yet; durations will be read in `unit`.
    pub fn new(unit: Unit) -> Options {
        Options {
            unit,
            values: [None; KEYS],
            spelled: Default::default(),
            timeout_disabled: false,
            timer_limit: None,
        }
    }

    /// The longest call timeout the runtime's timers keep, in the options' unit
    /// (JavaScript: [`JS_TIMER_LIMIT_MS`]); a longer one is a range error naming the
    /// option. Set it before the options.
    pub fn timer_limit(mut self, limit: f64) -> Options {
        self.timer_limit = Some(limit);
        self
    }

    /// Whether `name` is one of the core's option names (in any spelling).
    pub fn is_known(name: &str) -> bool {
        lookup(name).is_some()
    }

    /// Sets one option. Returns `Ok(false)` if `name` is not a core option (the binding
    /// may know it); errors on a bad value or a second spelling of an option already set.
    pub fn set(&mut self, name: &str, value: OptionValue<'_>) -> Result<bool, ConfigError> {
        let Some((index, key)) = lookup(name) else {
            return Ok(false);
        };
        if matches!(value, OptionValue::Missing) {
            return Ok(true);
        }
        if let Some(previous) = &self.spelled[index] {
            return Err(type_error(
                name,
                format!("conflicts with `{previous}`: give one spelling of this option"),
            ));
        }
        self.spelled[index] = Some(name.to_string());
        if value == OptionValue::Bool(false) && key == Key::RequestTimeout {
            self.timeout_disabled = true;
            return Ok(true);
        }
        if matches!(
            key,
            Key::IgnoredAsSuccess
                | Key::StrictRateThreshold
                | Key::RejectsInRate
                | Key::KeepWindow
                | Key::HalfOpenTimer
                | Key::HalfOpenWait
                | Key::WindowStats
        ) {
            // Static messages: this module's formatting is linked into the browser build.
            let OptionValue::Bool(flag) = value else {
                return Err(static_type_error(name, "must be a boolean"));
            };
            self.values[index] = Some(if flag { 1.0 } else { 0.0 });
            return Ok(true);
        }
        if key == Key::InitialState {
            const STATES: &str = "must be 'CLOSED', 'OPEN' or 'HALF_OPEN'";
            let OptionValue::Text { value: text, .. } = value else {
                return Err(static_type_error(name, STATES));
            };
            let folded = || {
                text.bytes()
                    .filter(|c| *c != b'_' && *c != b'-')
                    .map(|c| c.to_ascii_lowercase())
            };
            let Some(code) = START_STATES.iter().position(|s| s.bytes().eq(folded())) else {
                return Err(range_error(name, STATES));
            };
            self.values[index] = Some(code as f64);
            return Ok(true);
        }
        let Some(number) = read(name, value)? else {
            return Ok(true);
        };
        let kind = match key {
            Key::FailureThreshold if number < 1.0 => {
                if number == 0.0 {
                    return Err(range_error(
                        name,
                        "must be a rate in (0, 1) or a whole count ≥ 1",
                    ));
                }
                Kind::Fraction
            }
            Key::FailureThreshold
            | Key::MinimumRequests
            | Key::SuccessThreshold
            | Key::HalfOpenMaxCalls => Kind::Count,
            Key::WindowBuckets | Key::CountWindow => Kind::Whole,
            Key::Seed => Kind::Seed,
            Key::SlowCallRateThreshold | Key::BackoffJitter => Kind::Fraction,
            Key::RecoveryTimeout
            | Key::RequestTimeout
            | Key::MonitoringWindow
            | Key::SlowCallDuration
            | Key::MaxRecoveryTimeout
            | Key::OpenRemaining => Kind::Duration,
            Key::BackoffMultiplier => Kind::Factor,
            // Handled above.
            Key::InitialState
            | Key::IgnoredAsSuccess
            | Key::StrictRateThreshold
            | Key::RejectsInRate
            | Key::KeepWindow
            | Key::HalfOpenTimer
            | Key::HalfOpenWait
            | Key::WindowStats => Kind::Whole,
        };
        check(name, number, kind, self.unit)?;
        if let Some(limit) = self
            .timer_limit
            .filter(|limit| key == Key::RequestTimeout && number > *limit)
        {
            let unit = if self.unit == Unit::Millis { "ms" } else { "s" };
            return Err(ConfigError {
                field: Cow::Owned(name.to_string()),
                reason: Cow::Owned(format!(
                    "must be at most {} {unit}, the longest timer this runtime keeps; give `false` for no timeout",
                    plain(limit)
                )),
                kind: ErrorKind::Range,
            });
        }
        self.values[index] = Some(number);
        Ok(true)
    }

    /// Lays `other` over these options: each option `other` sets replaces this one's
    /// (a service's configuration over its preset, a call's over its service's).
    pub fn merge(&mut self, other: &Options) {
        for i in 0..KEYS {
            if other.spelled[i].is_some() {
                self.values[i] = other.values[i];
                self.spelled[i] = other.spelled[i].clone();
            }
        }
        if other.spelled[Key::RequestTimeout as usize].is_some() {
            self.timeout_disabled = other.timeout_disabled;
        }
    }

    /// The unit durations are read in.
    pub fn unit(&self) -> Unit {
        self.unit
    }

    /// The closest core option name to an unknown `name`, if it looks like a typo
    /// (case, `_`, or at most two edits away). `extra` lists the binding's own names.
    pub fn suggest(&self, name: &str, extra: &[&str]) -> Option<String> {
        // Suggest the runtime's own style: camelCase in milliseconds, snake_case in seconds.
        let own_style = |n: &&&str| match self.unit {
            Unit::Millis => !n.contains('_'),
            Unit::Seconds => !n.bytes().any(|c| c.is_ascii_uppercase()),
        };
        let candidates = SPELLINGS
            .iter()
            .flat_map(|(_, names)| names.iter())
            .filter(own_style)
            .chain(extra.iter());
        closest(name, candidates).map(|c| c.to_string())
    }

    /// The error for an unknown option that is another library's name for a tripwire
    /// option ([`FOREIGN_OPTIONS`]) or looks like a typo of a known one; `None` when
    /// neither (see [`Options::reject`] for an error in every case).
    pub fn unknown(&self, name: &str, extra: &[&str]) -> Option<ConfigError> {
        if let Some(reason) = self.foreign(name) {
            return Some(type_error(name, reason));
        }
        self.suggest(name, extra)
            .map(|s| type_error(name, format!("unknown option (did you mean `{s}`?)")))
    }

    /// The error for any unknown option: another library's name, a typo, or plainly
    /// unknown. Strict bindings (Node, the browser, Python) raise it for every key
    /// that neither the core nor the binding knows.
    pub fn reject(&self, name: &str, extra: &[&str]) -> ConfigError {
        self.unknown(name, extra)
            .unwrap_or_else(|| type_error(name, "unknown option".to_string()))
    }

    /// What to use instead of another library's option `name`, in this runtime's
    /// spelling (camelCase for milliseconds, snake_case for seconds).
    pub fn foreign(&self, name: &str) -> Option<String> {
        // ASCII folding only: Unicode case tables would cost the wasm build ~10 KB.
        let folded = |s: &str| -> String {
            s.chars()
                .filter(|c| *c != '_')
                .map(|c| c.to_ascii_lowercase())
                .collect()
        };
        let wanted = folded(name);
        let (_, hint) = FOREIGN_OPTIONS.iter().find(|(n, _)| folded(n) == wanted)?;
        let styled = |camel: &str| -> String {
            if self.unit == Unit::Millis {
                return camel.to_string();
            }
            let mut out = String::new();
            for c in camel.chars() {
                if c.is_ascii_uppercase() {
                    out.push('_');
                    out.push(c.to_ascii_lowercase());
                } else {
                    out.push(c);
                }
            }
            out
        };
        // Option names in the hint are written `{camelCase}`: styled for the runtime.
        let mut reason = String::from("is not a tripwire option: ");
        // Split, not sliced by index: no slicing panic (and its char formatting) linked in.
        let mut parts = hint.split('{');
        reason.push_str(parts.next().unwrap_or(""));
        for part in parts {
            let (option, text) = part.split_once('}').unwrap_or((part, ""));
            reason.push('`');
            reason.push_str(&styled(option));
            reason.push('`');
            reason.push_str(text);
        }
        Some(reason)
    }

    /// The validated configuration; a range error names the option as spelled.
    pub fn build(&self) -> Result<Config, ConfigError> {
        let get = |key: Key| self.values[key as usize];
        let nanos = |key: Key| get(key).map(|v| self.unit.to_nanos(v));
        let defaults = Config::default();
        let failure_threshold = match get(Key::FailureThreshold) {
            None => defaults.failure_threshold,
            Some(v) if v < 1.0 => Threshold::Rate(v),
            Some(v) => Threshold::Count(v as u32),
        };
        if get(Key::CountWindow).is_some() && get(Key::MonitoringWindow).is_some() {
            return Err(self.named(ConfigError::range(
                "count_window",
                "give either a count window or a monitoring window",
            )));
        }
        let window = match (get(Key::CountWindow), defaults.window) {
            (Some(size), _) => WindowKind::Count { size: size as u32 },
            (None, WindowKind::Time { duration, buckets }) => WindowKind::Time {
                duration: nanos(Key::MonitoringWindow).unwrap_or(duration),
                buckets: get(Key::WindowBuckets).map_or(buckets, |b| b as u32),
            },
            (None, count) => count,
        };
        let open_duration = nanos(Key::RecoveryTimeout).unwrap_or(defaults.open_duration);
        let exponential = [
            Key::BackoffMultiplier,
            Key::MaxRecoveryTimeout,
            Key::BackoffJitter,
        ]
        .iter()
        .any(|k| get(*k).is_some());
        let backoff = if exponential {
            Backoff::Exponential {
                multiplier: get(Key::BackoffMultiplier).unwrap_or(2.0),
                // Default cap: 10 minutes, or the open duration if that is longer.
                max: nanos(Key::MaxRecoveryTimeout)
                    .unwrap_or((600 * NANOS_PER_SEC).max(open_duration)),
                jitter: get(Key::BackoffJitter).unwrap_or(0.0),
            }
        } else {
            Backoff::Fixed
        };
        // The start state is stored as its index in START_STATES.
        let state = get(Key::InitialState).map_or(0, |code| code as u8);
        let start = match (state, nanos(Key::OpenRemaining)) {
            (1, remaining) => Start::Open { remaining },
            (_, Some(_)) => {
                let reason = if self.unit == Unit::Millis {
                    "needs `initialState` OPEN"
                } else {
                    "needs `initial_state` OPEN"
                };
                return Err(self.named(ConfigError::range("open_remaining", reason)));
            }
            (2, None) => Start::HalfOpen,
            _ => Start::Closed,
        };
        let flag = |key: Key| get(key) == Some(1.0);
        let config = Config {
            start,
            ignored_as_success: flag(Key::IgnoredAsSuccess),
            strict_rate_threshold: flag(Key::StrictRateThreshold),
            rejects_in_rate: flag(Key::RejectsInRate),
            keep_window: flag(Key::KeepWindow),
            half_open_timer: flag(Key::HalfOpenTimer),
            half_open_wait: flag(Key::HalfOpenWait),
            window_stats: flag(Key::WindowStats),
            failure_threshold,
            minimum_requests: get(Key::MinimumRequests).map(|v| v as u32),
            window,
            open_duration,
            backoff,
            seed: get(Key::Seed).map_or(defaults.seed, |v| v as u64),
            half_open_max_calls: get(Key::HalfOpenMaxCalls)
                .map_or(defaults.half_open_max_calls, |v| v as u32),
            success_threshold: get(Key::SuccessThreshold)
                .map_or(defaults.success_threshold, |v| v as u32),
            slow_call_duration: nanos(Key::SlowCallDuration),
            slow_call_rate_threshold: get(Key::SlowCallRateThreshold),
            call_timeout: if self.timeout_disabled {
                None
            } else {
                nanos(Key::RequestTimeout).or(defaults.call_timeout)
            },
        };
        config.validate().map_err(|e| self.named(e))?;
        Ok(config)
    }

    /// Renames a canonical (snake_case) field to the caller's spelling, or to the
    /// runtime's own spelling when the caller did not give it.
    fn named(&self, mut error: ConfigError) -> ConfigError {
        if let Some((index, _)) = lookup(&error.field) {
            let own = SPELLINGS[index].1[if self.unit == Unit::Millis { 0 } else { 1 }];
            error.field = Cow::Owned(
                self.spelled[index]
                    .clone()
                    .unwrap_or_else(|| own.to_string()),
            );
        }
        error
    }
}

/// `x` (finite, ≥ 0) written with at most three decimals through integer formatting:
/// `f64`'s `Display` would link core's float printing (about 20 KB of wasm) into
/// every binding for this one message.
fn plain(x: f64) -> String {
    let thousandths = (x * 1000.0 + 0.5) as u64;
    let (whole, frac) = (thousandths / 1000, thousandths % 1000);
    if frac == 0 {
        format!("{whole}")
    } else {
        let digits = format!("{frac:03}");
        format!("{whole}.{}", digits.trim_end_matches('0'))
    }
}

/// What a numeric option holds, for the checks every option of that kind shares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A whole number ≥ 1.
    Count,
    /// A whole number ≥ 0.
    Whole,
    /// A whole number below 2^53 (exact in every runtime's numbers).
    Seed,
    /// A fraction in [0, 1].
    Fraction,
    /// A growth factor ≥ 1.
    Factor,
    /// A duration in the runtime's unit, at most about 146 years.
    Duration,
}

/// The number in `value`: `None` when missing; a type error for anything but a number;
/// a range error for NaN, infinities and negatives.
pub(crate) fn read(name: &str, value: OptionValue<'_>) -> Result<Option<f64>, ConfigError> {
    let number = match value {
        OptionValue::Missing => return Ok(None),
        OptionValue::Number(n) => n,
        OptionValue::Bool(_) => {
            return Err(type_error(
                name,
                "must be a number, not a boolean".to_string(),
            ))
        }
        OptionValue::Other(kind) | OptionValue::Text { kind, .. } => {
            return Err(type_error(name, format!("must be a number, not {kind}")))
        }
    };
    if !number.is_finite() {
        return Err(range_error(name, "must be a finite number"));
    }
    if number < 0.0 {
        return Err(range_error(name, "must not be negative"));
    }
    Ok(Some(number))
}

/// Checks a non-negative finite `number` against its kind.
pub(crate) fn check(name: &str, number: f64, kind: Kind, unit: Unit) -> Result<(), ConfigError> {
    match kind {
        Kind::Count if number < 1.0 => Err(range_error(name, "must be at least 1")),
        Kind::Count | Kind::Whole => whole(name, number),
        Kind::Seed if number > 9_007_199_254_740_991.0 || !is_whole(number) => {
            Err(range_error(name, "must be a whole number below 2^53"))
        }
        Kind::Fraction if number > 1.0 => Err(range_error(name, "must be a fraction in [0, 1]")),
        Kind::Factor if number < 1.0 => Err(range_error(name, "must be at least 1")),
        // 2^62 ns is about 146 years: anything longer is a mistake, not a wish.
        Kind::Duration if number * unit.nanos_per_unit() as f64 > (1u64 << 62) as f64 => {
            Err(range_error(name, "is too large"))
        }
        _ => Ok(()),
    }
}

/// The name in `candidates` an unknown `name` is most likely a typo of (case, `_`, or
/// at most two edits away), if any: the bindings' "did you mean" for option tables of
/// their own (the fleet store's options).
pub fn suggest_name<'c>(name: &str, candidates: &'c [&'c str]) -> Option<&'c str> {
    closest(name, candidates)
}

/// The candidate an unknown `name` is most likely a typo of (case, `_`, or at most
/// two edits away), if any.
pub(crate) fn closest<'c>(
    name: &str,
    candidates: impl IntoIterator<Item = &'c &'c str>,
) -> Option<&'c str> {
    let mut best: Option<(usize, &str)> = None;
    for candidate in candidates {
        let d = distance(name, candidate);
        if d <= 2 && d < name.len() / 2 && best.is_none_or(|(b, _)| d < b) {
            best = Some((d, candidate));
        }
    }
    best.map(|(_, c)| c)
}

fn whole(name: &str, value: f64) -> Result<(), ConfigError> {
    if value > f64::from(u32::MAX) {
        return Err(range_error(name, "is too large"));
    }
    if !is_whole(value) {
        return Err(range_error(name, "must be a whole number"));
    }
    Ok(())
}

/// Whether a non-negative `value` below 2^64 has no fractional part (`f64::fract` is std-only).
fn is_whole(value: f64) -> bool {
    value == (value as u64) as f64
}

/// Edit distance between option names, ignoring case and `_`; names over 48 bytes
/// are never close.
fn distance(a: &str, b: &str) -> usize {
    const MAX: usize = 48;
    let norm = |s: &str| {
        let mut out = [0u8; MAX];
        let mut len = 0;
        for c in s.bytes().filter(|c| *c != b'_') {
            if len == MAX {
                return None;
            }
            out[len] = c.to_ascii_lowercase();
            len += 1;
        }
        Some((out, len))
    };
    let (Some((a, la)), Some((b, lb))) = (norm(a), norm(b)) else {
        return usize::MAX;
    };
    let mut row = [0usize; MAX + 1];
    for (j, cell) in row.iter_mut().enumerate().take(lb + 1) {
        *cell = j;
    }
    for i in 1..=la {
        let mut diagonal = row[0];
        row[0] = i;
        for j in 1..=lb {
            let above = row[j];
            row[j] = (above + 1)
                .min(row[j - 1] + 1)
                .min(diagonal + usize::from(a[i - 1] != b[j - 1]));
            diagonal = above;
        }
    }
    row[lb]
}

#[cfg(test)]
mod tests {
    #[test]
    fn plain_numbers_without_float_printing() {
        assert_eq!(super::plain(2_147_483_647.0), "2147483647");
        assert_eq!(super::plain(2_147_483.647), "2147483.647");
        assert_eq!(super::plain(0.5), "0.5");
        assert_eq!(super::plain(0.0), "0");
    }

    use super::*;
    use OptionValue::*;

    fn build(pairs: &[(&str, OptionValue<'_>)], unit: Unit) -> Result<Config, ConfigError> {
        let mut options = Options::new(unit);
        for (k, v) in pairs {
            assert!(options.set(k, *v)?, "{k} is a core option");
        }
        options.build()
    }

    #[test]
    fn a_timer_limit_bounds_the_call_timeout_only() {
        let mut js = Options::new(Unit::Millis).timer_limit(JS_TIMER_LIMIT_MS);
        assert!(js.set("timeout", Number(JS_TIMER_LIMIT_MS)).unwrap());
        let mut js = Options::new(Unit::Millis).timer_limit(JS_TIMER_LIMIT_MS);
        let error = js
            .set("timeout", Number(JS_TIMER_LIMIT_MS + 1.0))
            .unwrap_err();
        assert_eq!(
            (error.field.as_ref(), error.kind),
            ("timeout", ErrorKind::Range)
        );
        assert!(error.reason.contains("2147483647 ms"), "{error}");
        // Other durations and runtimes without the limit are unaffected.
        let mut js = Options::new(Unit::Millis).timer_limit(JS_TIMER_LIMIT_MS);
        assert!(js.set("recoveryTimeout", Number(3e9)).unwrap());
        assert!(js.set("timeout", Bool(false)).unwrap());
        assert!(Options::new(Unit::Millis)
            .set("timeout", Number(3e9))
            .unwrap());
    }

    #[test]
    fn seed_spellings_map_to_one_config() {
        let a = build(
            &[
                ("failureThreshold", Number(0.5)),
                ("minimumRequests", Number(10.0)),
                ("timeout", Number(30000.0)),
                ("resetTimeout", Number(60000.0)),
            ],
            Unit::Millis,
        )
        .unwrap();
        let b = build(
            &[
                ("failure_threshold", Number(0.5)),
                ("minimum_request_count", Number(10.0)),
                ("request_timeout", Number(30.0)),
                ("recovery_timeout", Number(60.0)),
            ],
            Unit::Seconds,
        )
        .unwrap();
        assert_eq!(a, b);
        assert_eq!(a.failure_threshold, Threshold::Rate(0.5));
        assert_eq!(a.open_duration, 60 * NANOS_PER_SEC);
    }

    #[test]
    fn errors_name_the_caller_spelling() {
        type Case<'a> = (&'a [(&'a str, OptionValue<'a>)], &'a str, ErrorKind);
        let cases: &[Case<'_>] = &[
            (
                &[("failureThreshold", Number(1.5))],
                "failureThreshold",
                ErrorKind::Range,
            ),
            (
                &[("failureThreshold", Number(0.0))],
                "failureThreshold",
                ErrorKind::Range,
            ),
            (
                &[("fail_max", Number(f64::NAN))],
                "fail_max",
                ErrorKind::Range,
            ),
            (
                &[("retryDelay", Number(-1.0))],
                "retryDelay",
                ErrorKind::Range,
            ),
            (
                &[("minimumRequestCount", Bool(true))],
                "minimumRequestCount",
                ErrorKind::Type,
            ),
            (&[("timeout", Other("string"))], "timeout", ErrorKind::Type),
            (
                &[
                    ("resetTimeout", Number(1.0)),
                    ("recoveryTimeout", Number(1.0)),
                ],
                "recoveryTimeout",
                ErrorKind::Type,
            ),
            (
                &[("monitoringWindow", Number(0.0))],
                "monitoringWindow",
                ErrorKind::Range,
            ),
            (
                &[("recoveryTimeout", Number(1e300))],
                "recoveryTimeout",
                ErrorKind::Range,
            ),
            (
                &[("successThreshold", Number(0.0))],
                "successThreshold",
                ErrorKind::Range,
            ),
        ];
        for (pairs, field, kind) in cases {
            let mut options = Options::new(Unit::Millis);
            let err = pairs
                .iter()
                .try_for_each(|(k, v)| options.set(k, *v).map(|_| ()))
                .and_then(|_| options.build().map(|_| ()))
                .unwrap_err();
            assert_eq!((&*err.field, err.kind), (*field, *kind), "{pairs:?}");
        }
        // With a count window of 5 and a rate threshold, the default minimum (10) is too big.
        let err = build(
            &[
                ("count_window", Number(5.0)),
                ("failure_threshold", Number(0.5)),
            ],
            Unit::Seconds,
        )
        .unwrap_err();
        assert_eq!(err.field, "minimum_requests");
    }

    #[test]
    fn timeout_false_disables_it_and_unknown_names_are_left_to_the_binding() {
        let mut options = Options::new(Unit::Millis);
        assert!(options.set("timeout", Bool(false)).unwrap());
        assert!(!options.set("fallback", Other("function")).unwrap());
        assert_eq!(options.build().unwrap().call_timeout, None);
    }

    #[test]
    fn durations_round_to_the_nearest_nanosecond() {
        assert_eq!(Unit::Seconds.to_nanos(1.001), 1_001_000_000);
        assert_eq!(Unit::Millis.to_nanos(0.1), 100_000);
        let mismatches = (0..100_000u32)
            .filter(|ms| {
                Unit::Seconds.to_nanos(f64::from(*ms) / 1000.0) != u64::from(*ms) * 1_000_000
            })
            .count();
        assert_eq!(mismatches, 0);
    }

    #[test]
    fn an_instant_read_back_in_a_unit_converts_to_itself() {
        // Truncating, about 2 % of these came back a nanosecond early.
        for unit in [Unit::Millis, Unit::Seconds] {
            for step in 0..200_000u64 {
                let instant = 1_000_000_007 + step * 999_983;
                assert_eq!(unit.to_nanos(unit.from_nanos(instant)), instant, "{unit:?}");
            }
        }
    }

    #[test]
    fn typos_get_a_suggestion() {
        let options = Options::new(Unit::Millis);
        assert_eq!(
            options.suggest("failureTreshold", &[]).as_deref(),
            Some("failureThreshold")
        );
        assert_eq!(
            options.suggest("ResetTimeout", &[]).as_deref(),
            Some("resetTimeout")
        );
        assert_eq!(
            options.suggest("fallbak", &["fallback"]).as_deref(),
            Some("fallback")
        );
        assert_eq!(options.suggest("name", &[]), None);
        let python = Options::new(Unit::Seconds);
        assert_eq!(
            python.suggest("failure_treshold", &[]).as_deref(),
            Some("failure_threshold")
        );
        assert_eq!(
            python.suggest("failureThreshold", &[]).as_deref(),
            Some("failure_threshold")
        );
        assert_eq!(options.suggest("somethingElse", &[]), None);
        let err = options.unknown("sucessThreshold", &[]).unwrap();
        assert!(err.to_string().contains("successThreshold"));
        assert_eq!(
            options.reject("somethingElse", &[]).to_string(),
            "invalid option `somethingElse`: unknown option"
        );
    }

    #[test]
    fn other_libraries_names_name_the_tripwire_option() {
        let node = Options::new(Unit::Millis);
        let e = node.reject("errorThresholdPercentage", &[]);
        assert_eq!(e.kind, ErrorKind::Type);
        assert!(e.to_string().contains("`failureThreshold`"), "{e}");
        assert!(node
            .reject("volumeThreshold", &[])
            .to_string()
            .contains("`minimumRequests`"));
        assert!(node
            .reject("rollingCountTimeout", &[])
            .to_string()
            .contains("`monitoringWindow`"));
        assert!(node
            .reject("rollingCountBuckets", &[])
            .to_string()
            .contains("`windowBuckets`"));
        assert!(node
            .reject("capacity", &[])
            .to_string()
            .contains("`maxConcurrent`"));
        let python = Options::new(Unit::Seconds);
        let e = python.reject("error_threshold_percentage", &[]);
        assert!(e.to_string().contains("`failure_threshold`"), "{e}");
        assert!(e.to_string().contains("error_threshold_percentage"), "{e}");
    }
}
