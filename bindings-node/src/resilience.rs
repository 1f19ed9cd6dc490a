//! The resilience pieces on their own (`tripwire_core::resilience`) for the facade's
//! small standalone classes and functions (`RetryPolicy`, `Bulkhead`, `checkHealth`,
//! `serviceHealth`, the alert conditions, `SERVICE_PRESETS`; `resilience.js`,
//! `health.js`). The `CircuitBreakerService` drives the core's whole engine instead
//! (`service.rs`). Conversion and error mapping only: every rule is the core's.
//!
//! Like the breakers (`breaker.rs`), each object lives in a per-thread slab and JS
//! holds its id (freed from a `FinalizationRegistry`). The bulkhead's pair, enter and
//! leave, are raw Node-API callbacks (numbers in and out, see `hot.rs`):
//!
//! * `bulkheadEnterAt(id, nowMs)`: [`ENTRY_RUN`], [`ENTRY_REJECTED`], or the queued
//!   call's ticket (≥ 0).
//! * `bulkheadLeaveAt(id, nowMs)`: the ticket admitted to the freed slot, or
//!   [`NO_TICKET`].

use std::borrow::Cow;
use std::cell::RefCell;
use std::ffi::CStr;

use napi::bindgen_prelude::{Array, JsObjectValue, Object, Unknown};
use napi::{sys, Env, Error, JsValue, Result, Status, ValueType};
use napi_derive::napi;
use tripwire_core::resilience::{
    self as core, check_health, preset, service_health, unknown_bulkhead_option,
    unknown_retry_option, Bulkhead, BulkheadConfig, Classifier, Entry, RetryPolicy, Ticket,
    DEAD_LETTER_ALERT, DEFAULT_DEAD_LETTER_SIZE, DEFAULT_MAX_BREAKERS, ERROR_RATE_ALERT,
    ERROR_RATE_ALERT_MIN_CALLS, PRESETS,
};
use tripwire_core::{ConfigError, ErrorKind, OptionValue, Rng, State, Unit};

use crate::hot::{args, double, export_raw, finish, uint, Callback};
use crate::options::{option_value, throw};
use crate::slab::Slab;
use crate::{at, millis, nanos, now_nanos, NANOS_PER_MS};

/// `bulkheadEnter`: run now.
pub const ENTRY_RUN: f64 = -1.0;
/// `bulkheadEnter`: refused (every slot and queue place taken).
pub const ENTRY_REJECTED: f64 = -2.0;
/// `bulkheadLeave`: no waiting call took the slot.
pub const NO_TICKET: f64 = -1.0;

// ---- slabs ------------------------------------------------------------------------

/// The object `id` of a slab, or an error naming `what` is missing.
fn get<'a, T>(slab: &'a mut Slab<T>, id: u32, what: &str) -> Result<&'a mut T> {
    slab.get_mut(id)
        .ok_or_else(|| Error::new(Status::InvalidArg, format!("no {what} {id}")))
}

/// A retry policy with its classifier and the stream its jitter draws from.
struct Policy {
    policy: RetryPolicy,
    classifier: Classifier,
    rng: Rng,
}

thread_local! {
    static POLICIES: RefCell<Slab<Policy>> = const { RefCell::new(Slab::new()) };
    static BULKHEADS: RefCell<Slab<Bulkhead>> = const { RefCell::new(Slab::new()) };
}

fn policy<R>(id: u32, f: impl FnOnce(&mut Policy) -> R) -> Result<R> {
    POLICIES.with_borrow_mut(|s| get(s, id, "retry policy").map(f))
}

fn bulkhead<R>(id: u32, f: impl FnOnce(&mut Bulkhead) -> R) -> Result<R> {
    BULKHEADS.with_borrow_mut(|s| get(s, id, "bulkhead").map(f))
}

// ---- options ----------------------------------------------------------------------

pub(crate) fn type_error(field: String, reason: &'static str) -> ConfigError {
    ConfigError {
        field: Cow::Owned(field),
        reason: Cow::Borrowed(reason),
        kind: ErrorKind::Type,
    }
}

/// Reads the keys of `options`, handing each to `set` (which returns whether it knew
/// the name); an unknown name is a `TypeError` naming it.
fn each_option(
    env: &Env,
    options: &Object,
    unknown: fn(&str) -> ConfigError,
    mut set: impl FnMut(&str, &Unknown) -> std::result::Result<bool, ConfigError>,
) -> Result<()> {
    for name in Object::keys(options)? {
        let value: Unknown = options.get_named_property(&name)?;
        match set(&name, &value) {
            Ok(true) => {}
            Ok(false) => return Err(throw(env, &unknown(&name))),
            Err(error) => return Err(throw(env, &error)),
        }
    }
    Ok(())
}

/// An array of strings (`retryableErrors`, `nonRetryableErrors`).
pub(crate) fn strings(
    name: &str,
    value: &Unknown,
) -> std::result::Result<Vec<String>, ConfigError> {
    let bad = || type_error(name.to_string(), "must be an array of strings");
    match value.get_type().map_err(|_| bad())? {
        ValueType::Undefined | ValueType::Null => return Ok(Vec::new()),
        ValueType::Object => {}
        _ => return Err(bad()),
    }
    // SAFETY: the type was just checked; `is_array` guards the cast's meaning.
    let object = unsafe { value.cast::<Object>() }.map_err(|_| bad())?;
    if !object.is_array().map_err(|_| bad())? {
        return Err(bad());
    }
    let array = unsafe { value.cast::<Array>() }.map_err(|_| bad())?;
    let mut out = Vec::with_capacity(array.len() as usize);
    for i in 0..array.len() {
        let item: Unknown = array.get(i).map_err(|_| bad())?.ok_or_else(bad)?;
        if item.get_type().map_err(|_| bad())? != ValueType::String {
            return Err(bad());
        }
        out.push(unsafe { item.cast::<String>() }.map_err(|_| bad())?);
    }
    Ok(out)
}

/// A retry policy from `{ maxAttempts, baseDelay, maxDelay, multiplier, jitter,
/// retryableErrors, nonRetryableErrors, seed }` (milliseconds); returns its id.
/// Without `seed` the jitter stream starts from the process clock.
#[napi]
pub fn retry_policy_create(env: Env, options: Object) -> Result<u32> {
    let mut policy = RetryPolicy::default();
    let mut classifier = Classifier::default();
    let mut seed = None;
    each_option(&env, &options, unknown_retry_option, |name, value| {
        match name {
            "retryableErrors" => classifier.retryable = strings(name, value)?,
            "nonRetryableErrors" => classifier.non_retryable = strings(name, value)?,
            "seed" => match option_value(value)
                .map_err(|_| type_error(name.into(), "must be a number"))?
            {
                OptionValue::Missing => {}
                OptionValue::Number(n) if n.is_finite() && n >= 0.0 && n.fract() == 0.0 => {
                    seed = Some(n as u64)
                }
                _ => return Err(type_error(name.into(), "must be a whole number ≥ 0")),
            },
            _ => {
                let value =
                    option_value(value).map_err(|_| type_error(name.into(), "cannot be read"))?;
                return policy.set(name, value, Unit::Millis);
            }
        }
        Ok(true)
    })?;
    policy.validate().map_err(|e| throw(&env, &e))?;
    let rng = Rng::new(seed.unwrap_or_else(|| now_nanos() ^ 0x5DEE_CE66_D1CE_5EED));
    Ok(POLICIES.with_borrow_mut(|s| {
        s.insert(Policy {
            policy,
            classifier,
            rng,
        })
    }))
}

/// A retry policy's settings, milliseconds.
#[napi(object)]
pub struct NativeRetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// Delay before the second attempt (ms).
    pub base_delay: f64,
    /// Cap on any delay (ms).
    pub max_delay: f64,
    /// Growth per attempt.
    pub multiplier: f64,
    /// Random extra fraction of each delay.
    pub jitter: f64,
    /// Codes retried in addition to the defaults.
    pub retryable_errors: Vec<String>,
    /// Codes never retried.
    pub non_retryable_errors: Vec<String>,
}

/// The settings of retry policy `id`.
#[napi]
pub fn retry_policy_info(id: u32) -> Result<NativeRetryPolicy> {
    policy(id, |p| NativeRetryPolicy {
        max_attempts: p.policy.max_attempts,
        base_delay: millis(p.policy.base_delay),
        max_delay: millis(p.policy.max_delay),
        multiplier: p.policy.multiplier,
        jitter: p.policy.jitter,
        retryable_errors: p.classifier.retryable.clone(),
        non_retryable_errors: p.classifier.non_retryable.clone(),
    })
}

/// The delay (ms) before attempt `attempt + 1` after attempt `attempt` failed; the
/// jitter draws the next number of the policy's stream.
#[napi]
pub fn retry_delay(id: u32, attempt: u32) -> Result<f64> {
    policy(id, |p| {
        let unit = if p.policy.jitter > 0.0 {
            p.rng.next_unit()
        } else {
            0.0
        };
        millis(p.policy.delay(attempt, unit))
    })
}

/// Whether an error with this code and HTTP status is worth another attempt.
/// A status that is not a whole number in 0..=65535 counts as absent.
#[napi]
pub fn should_retry(
    id: u32,
    code: Option<String>,
    status: Option<f64>,
    circuit_open: bool,
) -> Result<bool> {
    let status = status
        .filter(|s| s.fract() == 0.0 && (0.0..=65535.0).contains(s))
        .map(|s| s as u16);
    policy(id, |p| {
        p.classifier
            .should_retry(code.as_deref(), status, circuit_open)
    })
}

/// Frees retry policy `id`. Unknown ids are ignored.
#[napi]
pub fn retry_policy_release(id: u32) {
    POLICIES.with_borrow_mut(|s| drop(s.remove(id)));
}

// ---- bulkheads ----------------------------------------------------------------------

fn bulkhead_config(
    env: &Env,
    mut config: BulkheadConfig,
    options: &Object,
) -> Result<BulkheadConfig> {
    each_option(env, options, unknown_bulkhead_option, |name, value| {
        let value = option_value(value).map_err(|_| type_error(name.into(), "cannot be read"))?;
        // `maxQueueWait: null` removes the limit.
        if matches!(name, "maxQueueWait" | "max_queue_wait") && value == OptionValue::Missing {
            config.max_queue_wait = None;
            return Ok(true);
        }
        config.set(name, value, Unit::Millis)
    })?;
    config.validate().map_err(|e| throw(env, &e))?;
    Ok(config)
}

/// A bulkhead from `{ maxConcurrent, queueSize, maxQueueWait }` (ms; defaults 10, 100,
/// none); returns its id.
#[napi]
pub fn bulkhead_create(env: Env, options: Object) -> Result<u32> {
    let config = bulkhead_config(
        &env,
        BulkheadConfig {
            max_queue_wait: None,
            ..BulkheadConfig::default()
        },
        &options,
    )?;
    let b = Bulkhead::new(config).map_err(|e| throw(&env, &e))?;
    Ok(BULKHEADS.with_borrow_mut(|s| s.insert(b)))
}

/// Changes the limits named in `options` (the others stay); returns the tickets a
/// larger limit admits now.
#[napi]
pub fn bulkhead_configure(
    env: Env,
    id: u32,
    options: Object,
    now_ms: Option<f64>,
) -> Result<Vec<f64>> {
    let current = bulkhead(id, |b| b.config())?;
    let config = bulkhead_config(&env, current, &options)?;
    let now = at(now_ms);
    bulkhead(id, |b| b.set_config(config, now))?
        .map(|tickets| tickets.into_iter().map(|t| t.0 as f64).collect())
        .map_err(|e| throw(&env, &e))
}

/// A waiting call gives up; whether it was still waiting (then counted as rejected).
#[napi]
pub fn bulkhead_abandon(id: u32, ticket: f64) -> Result<bool> {
    bulkhead(id, |b| b.abandon(Ticket(ticket as u64)))
}

/// The waiting calls whose wait exceeded `maxQueueWait`, removed, oldest first.
#[napi]
pub fn bulkhead_expire(id: u32, now_ms: Option<f64>) -> Result<Vec<f64>> {
    let now = at(now_ms);
    bulkhead(id, |b| {
        b.expire(now).into_iter().map(|t| t.0 as f64).collect()
    })
}

/// A bulkhead's counters and limits, milliseconds.
#[napi(object)]
pub struct NativeBulkheadStats {
    /// Calls running now.
    pub running: u32,
    /// Calls waiting now.
    pub queued: u32,
    /// Calls refused (queue full or waited too long).
    pub rejected: f64,
    /// Calls admitted.
    pub admitted: f64,
    /// Most calls ever running at once.
    pub peak_running: u32,
    /// Mean wait of calls admitted from the queue (ms).
    pub mean_wait: f64,
    /// Longest such wait (ms).
    pub max_wait: f64,
    /// Every slot is taken.
    pub saturated: bool,
    /// The limit on running calls.
    pub max_concurrent: u32,
    /// The limit on waiting calls.
    pub queue_size: u32,
    /// The longest wait allowed (ms), or null.
    pub max_queue_wait: Option<f64>,
}

/// The counters of bulkhead `id`.
#[napi]
pub fn bulkhead_stats(id: u32) -> Result<NativeBulkheadStats> {
    bulkhead(id, |b| {
        let s = b.stats();
        let c = b.config();
        NativeBulkheadStats {
            running: s.running,
            queued: s.queued,
            rejected: s.rejected as f64,
            admitted: s.admitted as f64,
            peak_running: s.peak_running,
            mean_wait: s.mean_wait / NANOS_PER_MS,
            max_wait: millis(s.max_wait),
            saturated: s.saturated,
            max_concurrent: c.max_concurrent,
            queue_size: c.queue_size,
            max_queue_wait: c.max_queue_wait.map(millis),
        }
    })
}

/// Frees bulkhead `id`. Unknown ids are ignored.
#[napi]
pub fn bulkhead_release(id: u32) {
    BULKHEADS.with_borrow_mut(|s| drop(s.remove(id)));
}

fn enter(id: u32, now: u64) -> Result<f64> {
    bulkhead(id, |b| match b.try_enter(now) {
        Entry::Run => ENTRY_RUN,
        Entry::Rejected => ENTRY_REJECTED,
        Entry::Queued(Ticket(t)) => t as f64,
    })
}

fn leave(id: u32, now: u64) -> Result<f64> {
    bulkhead(id, |b| b.leave(now).map_or(NO_TICKET, |t| t.0 as f64))
}

/// The queue length above which the dead-letter alert fires (seed 004: 10).
#[napi]
pub fn dead_letter_alert() -> u32 {
    DEAD_LETTER_ALERT as u32
}

/// Breakers a service keeps before evicting idle ones, unless configured.
#[napi]
pub fn default_max_breakers() -> u32 {
    DEFAULT_MAX_BREAKERS as u32
}

/// Items a service's dead-letter queue keeps, unless configured.
#[napi]
pub fn default_dead_letter_size() -> u32 {
    DEFAULT_DEAD_LETTER_SIZE as u32
}

/// The window failure rate above which the error-rate alert fires (seed 004: 0.1).
#[napi]
pub fn error_rate_alert() -> f64 {
    ERROR_RATE_ALERT
}

/// The calls a breaker's window must hold before its failure rate can alert (10).
#[napi]
pub fn error_rate_alert_min_calls() -> u32 {
    ERROR_RATE_ALERT_MIN_CALLS
}

// ---- alert conditions -------------------------------------------------------------

/// Whether a breaker's window (`window_calls` calls, `window_failures` of them failed or
/// slow) is a high error rate: at least [`ERROR_RATE_ALERT_MIN_CALLS`] calls and more
/// than [`ERROR_RATE_ALERT`] failed.
#[napi]
pub fn error_rate_alert_of(window_calls: u32, window_failures: u32) -> bool {
    core::error_rate_alert(window_calls, window_failures)
}

/// Whether a dead-letter queue of `size` items is an alert (more than [`DEAD_LETTER_ALERT`]).
#[napi]
pub fn dead_letter_alert_of(size: u32) -> bool {
    core::dead_letter_alert(size as usize)
}

/// Whether a service is unavailable, from its breakers' states (0 CLOSED, 1 OPEN,
/// 2 HALF_OPEN) and whether that episode is `ongoing`: every breaker open, or while
/// ongoing, none closed.
#[napi]
pub fn all_circuits_open_alert_of(states: Vec<u32>, ongoing: bool) -> Result<bool> {
    Ok(core::all_circuits_open_alert(states_of(states)?, ongoing))
}

// ---- health and presets -----------------------------------------------------------

/// A report's status from its checks, flattened `[critical, passed, critical, passed, ...]`.
#[napi]
pub fn check_health_of(checks: Vec<bool>) -> String {
    check_health(checks.chunks_exact(2).map(|c| (c[0], c[1])))
        .as_str()
        .to_string()
}

/// A service's status from its breakers' states (0 CLOSED, 1 OPEN, 2 HALF_OPEN) and
/// whether its bulkhead is saturated.
#[napi]
pub fn service_health_of(states: Vec<u32>, bulkhead_saturated: bool) -> Result<String> {
    Ok(service_health(states_of(states)?, bulkhead_saturated)
        .as_str()
        .to_string())
}

/// Circuit states from their codes (0 CLOSED, 1 OPEN, 2 HALF_OPEN).
fn states_of(codes: Vec<u32>) -> Result<Vec<State>> {
    codes
        .into_iter()
        .map(|s| match s {
            0 => Ok(State::Closed),
            1 => Ok(State::Open),
            2 => Ok(State::HalfOpen),
            _ => Err(Error::new(
                Status::InvalidArg,
                format!("unknown state code {s}"),
            )),
        })
        .collect()
}

/// One of seed 004's service presets, milliseconds.
#[napi(object)]
pub struct NativePreset {
    /// `llm`, `cache`, `database`, `external-api` or `websocket`.
    pub name: String,
    /// Consecutive failures that open the circuit.
    pub failure_threshold: u32,
    /// Per-call timeout (ms).
    pub timeout: f64,
    /// Calls running at once.
    pub max_concurrent: u32,
    /// Retries after the first attempt.
    pub retry_attempts: u32,
    /// The seed's fallback strategy.
    pub fallback: String,
}

/// Every preset, in the seed's order.
#[napi]
pub fn presets() -> Vec<NativePreset> {
    PRESETS
        .iter()
        .map(|p| {
            let p = preset(p.name).unwrap_or(p);
            NativePreset {
                name: p.name.to_string(),
                failure_threshold: p.failure_threshold,
                timeout: millis(p.timeout),
                max_concurrent: p.max_concurrent,
                retry_attempts: p.retry_attempts,
                fallback: p.fallback.to_string(),
            }
        })
        .collect()
}

// ---- the raw per-call pair ----------------------------------------------------------

/// `bulkheadEnterAt(id, nowMs)` on the caller's clock.
unsafe extern "C" fn bulkhead_enter_at(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    // SAFETY: as in `bulkhead_enter`.
    unsafe {
        let [id, now] = args::<2>(env, info);
        finish(env, enter(uint(env, id), nanos(double(env, now))))
    }
}

/// `bulkheadLeaveAt(id, nowMs)` on the caller's clock.
unsafe extern "C" fn bulkhead_leave_at(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    // SAFETY: as in `bulkhead_enter`.
    unsafe {
        let [id, now] = args::<2>(env, info);
        finish(env, leave(uint(env, id), nanos(double(env, now))))
    }
}

const HOT: [(&CStr, Callback); 2] = [
    (c"bulkheadEnterAt", bulkhead_enter_at),
    (c"bulkheadLeaveAt", bulkhead_leave_at),
];

/// An object with the raw functions of the standalone `Bulkhead` (`bulkheadEnterAt`,
/// `bulkheadLeaveAt`); the facade asks once.
#[napi]
pub fn bulkhead_hot_path(env: Env) -> Result<Object<'static>> {
    let exports = Object::new(&env)?;
    export_raw(&env, &exports, &HOT)?;
    Ok(exports)
}
