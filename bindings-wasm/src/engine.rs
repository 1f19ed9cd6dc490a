//! Breakers by id, behind the numeric calls the shared JS facade makes (the same
//! names and codes as the Node addon's): `create`, `acquireAt`, `recordAt`, `state`,
//! `control`, `stats`, `settings`, `outstanding`, `release`. Instants are the
//! facade's clock readings in milliseconds; the core counts nanoseconds.

use alloc::sync::Arc;
use alloc::vec::Vec;

use js_sys::{Object, Reflect};
use tripwire_core::{
    Backoff, Breaker, Config, ConfigShare, Outcome, Permit, Rejected, State, Threshold, Unit,
    WindowKind, NANOS_PER_MILLI,
};
use wasm_bindgen::prelude::*;

use crate::options::{self, type_error};
use crate::protocol::*;
use crate::Global;

/// The facade's milliseconds as core nanoseconds, rounded (negative and NaN become 0).
pub(crate) fn nanos(ms: f64) -> u64 {
    Unit::Millis.to_nanos(ms)
}

fn millis(nanos: u64) -> f64 {
    Unit::Millis.from_nanos(nanos)
}

/// One core breaker and the permits it has handed out, by slot.
pub(crate) struct Entry {
    pub(crate) breaker: Breaker,
    permits: Vec<Option<Permit>>,
    free: Vec<u32>,
    out: u32,
}

struct Slab {
    entries: Vec<Option<Entry>>,
    free: Vec<u32>,
}

static SLAB: Global<Slab> = Global::new(Slab {
    entries: Vec::new(),
    free: Vec::new(),
});
/// Breakers made in a row with equal options share their configuration (made on the
/// first `create`: `ConfigShare::default` is not `const`).
static CONFIGS: Global<Option<ConfigShare>> = Global::new(None);

fn error(message: &str) -> JsValue {
    js_sys::Error::new(message).into()
}

pub(crate) fn with<T>(
    id: u32,
    f: impl FnOnce(&mut Entry) -> Result<T, JsValue>,
) -> Result<T, JsValue> {
    SLAB.with_borrow_mut(|slab| match slab.entries.get_mut(id as usize) {
        Some(Some(entry)) => f(entry),
        _ => Err(error("tripwire: no such breaker")),
    })
}

pub(crate) fn insert(breaker: Breaker) -> u32 {
    let entry = Entry {
        breaker,
        permits: Vec::new(),
        free: Vec::new(),
        out: 0,
    };
    SLAB.with_borrow_mut(|slab| match slab.free.pop() {
        Some(id) => {
            slab.entries[id as usize] = Some(entry);
            id
        }
        None => {
            slab.entries.push(Some(entry));
            (slab.entries.len() - 1) as u32
        }
    })
}

pub(crate) fn config_of(options: &JsValue) -> Result<Config, JsValue> {
    options::parse(options)
}

/// A new breaker with `options` (the facade's own keys skipped; any other unknown key
/// is a `TypeError`); returns its id.
#[wasm_bindgen(skip_typescript)]
pub fn create(options: JsValue, now_ms: f64) -> Result<u32, JsValue> {
    let config = config_of(&options)?;
    let config: Arc<Config> = CONFIGS.with_borrow_mut(|configs| {
        configs
            .get_or_insert_with(ConfigShare::default)
            .share(config)
    });
    let breaker =
        Breaker::with_shared_config_at(config, nanos(now_ms)).map_err(options::config_error)?;
    Ok(insert(breaker))
}

/// Frees breaker `id` (its id may be reused). Unknown ids are ignored.
#[wasm_bindgen(skip_typescript)]
pub fn release(id: u32) {
    SLAB.with_borrow_mut(|slab| {
        if let Some(slot) = slab.entries.get_mut(id as usize) {
            if slot.take().is_some() {
                slab.free.push(id);
            }
        }
    });
}

/// A permit code (`slot * PERMIT_STRIDE`, + 1 when this acquire moved OPEN →
/// HALF_OPEN) or a rejection code; the retry-after is whole milliseconds, rounded up.
#[wasm_bindgen(js_name = acquireAt, skip_typescript)]
pub fn acquire_at(id: u32, now_ms: f64) -> Result<f64, JsValue> {
    with(id, |e| {
        Ok(match e.breaker.try_acquire(nanos(now_ms)) {
            Ok(permit) => {
                let half_opened = permit.transition().is_some();
                let slot = match e.free.pop() {
                    Some(slot) => {
                        e.permits[slot as usize] = Some(permit);
                        slot
                    }
                    None => {
                        e.permits.push(Some(permit));
                        (e.permits.len() - 1) as u32
                    }
                };
                e.out += 1;
                f64::from(slot) * f64::from(PERMIT_STRIDE) + f64::from(u8::from(half_opened))
            }
            Err(Rejected { may_wait: true, .. }) => REJECTED_HALF_OPEN_WAIT,
            Err(Rejected {
                state: State::HalfOpen,
                ..
            }) => REJECTED_HALF_OPEN,
            Err(Rejected {
                retry_after: None, ..
            }) => REJECTED_FORCED,
            Err(Rejected {
                retry_after: Some(wait),
                ..
            // Whole milliseconds, rounded up, in integers (`f64::ceil` is std-only).
            }) => REJECTED_OPEN - wait.div_ceil(NANOS_PER_MILLI) as f64,
        })
    })
}

/// Whether the permit in `slot` is a half-open trial (`undefined` if not outstanding).
#[wasm_bindgen(js_name = permitTrial, skip_typescript)]
pub fn permit_trial(id: u32, slot: u32) -> Result<Option<bool>, JsValue> {
    with(id, |e| {
        Ok(e.permits
            .get(slot as usize)
            .and_then(Option::as_ref)
            .map(Permit::is_trial))
    })
}

/// Records the outcome of the permit in `slot`; returns the transition code.
#[wasm_bindgen(js_name = recordAt, skip_typescript)]
pub fn record_at(id: u32, slot: u32, outcome: u32, now_ms: f64) -> Result<u32, JsValue> {
    let outcome = match outcome {
        OUTCOME_SUCCESS => Outcome::Success,
        OUTCOME_FAILURE => Outcome::Failure,
        OUTCOME_TIMEOUT => Outcome::Timeout,
        OUTCOME_IGNORED => Outcome::Ignored,
        OUTCOME_CANCELLED => Outcome::Cancelled,
        _ => return Err(type_error("tripwire: unknown outcome code")),
    };
    with(id, |e| {
        let permit = e
            .permits
            .get_mut(slot as usize)
            .and_then(Option::take)
            .ok_or_else(|| type_error("tripwire: this permit is not outstanding"))?;
        e.free.push(slot);
        e.out -= 1;
        Ok(transition_code(e.breaker.record(
            permit,
            outcome,
            nanos(now_ms),
        )))
    })
}

/// The effective state code.
#[wasm_bindgen(skip_typescript)]
pub fn state(id: u32, now_ms: f64) -> Result<u32, JsValue> {
    with(id, |e| Ok(state_code(e.breaker.state(nanos(now_ms)))))
}

/// Manual control (`OP_*`); returns the transition code.
#[wasm_bindgen(skip_typescript)]
pub fn control(id: u32, op: u32, now_ms: f64) -> Result<u32, JsValue> {
    let now = nanos(now_ms);
    with(id, |e| {
        let transition = match op {
            OP_OPEN => e.breaker.force_open(now),
            OP_CLOSE => e.breaker.close(now),
            OP_RESET => e.breaker.reset(now),
            OP_DISABLE => e.breaker.disable(now),
            OP_ENABLE => e.breaker.enable(now),
            OP_TRIP => e.breaker.trip(now),
            OP_HALF_OPEN => e.breaker.half_open(now),
            _ => return Err(type_error("tripwire: unknown operation")),
        };
        Ok(transition_code(Some(transition)))
    })
}

/// When the facade's half-open timer should fire (ms), or null for no timer.
#[wasm_bindgen(js_name = halfOpenAt, skip_typescript)]
pub fn half_open_at(id: u32) -> Result<Option<f64>, JsValue> {
    with(id, |e| Ok(e.breaker.half_open_due().map(millis)))
}

/// What the half-open timer does at `now`: the transition code (0 for none).
#[wasm_bindgen(skip_typescript)]
pub fn elapse(id: u32, now_ms: f64) -> Result<u32, JsValue> {
    with(id, |e| Ok(transition_code(e.breaker.elapse(nanos(now_ms)))))
}

#[cfg(feature = "window-stats")]
fn bucket(b: &tripwire_core::BucketCounts) -> Object {
    let o = Object::new();
    set(&o, "successes", num(b.successes as f64));
    set(&o, "failures", num(b.failures as f64));
    set(&o, "rejects", num(b.rejects as f64));
    set(&o, "timeouts", num(b.timeouts as f64));
    set(&o, "fallbacks", num(b.fallbacks as f64));
    o
}

/// The windowed statistics (the Node addon's `windowStats` fields), or null.
#[cfg(feature = "window-stats")]
#[wasm_bindgen(js_name = windowStats, skip_typescript)]
pub fn window_stats(id: u32, now_ms: f64) -> Result<JsValue, JsValue> {
    with(id, |e| {
        let Some(w) = e.breaker.window_stats(nanos(now_ms)) else {
            return Ok(JsValue::NULL);
        };
        let o = Object::new();
        set(&o, "bucketWidth", num(millis(w.bucket_width)));
        let buckets = js_sys::Array::new();
        for b in &w.buckets {
            buckets.push(&bucket(b));
        }
        set(&o, "buckets", buckets.into());
        set(&o, "total", bucket(&w.total).into());
        set(
            &o,
            "latencyMean",
            num(w.latency_mean / NANOS_PER_MILLI as f64),
        );
        let percentiles = js_sys::Array::new();
        for p in w.percentiles {
            percentiles.push(&opt(p.map(millis)));
        }
        set(&o, "percentiles", percentiles.into());
        let quantiles = js_sys::Array::new();
        for q in tripwire_core::PERCENTILES {
            quantiles.push(&num(q));
        }
        set(&o, "quantiles", quantiles.into());
        Ok(o.into())
    })
}

/// Counts a fallback the facade ran (windowed statistics only).
#[cfg(feature = "window-stats")]
#[wasm_bindgen(js_name = recordFallback, skip_typescript)]
pub fn record_fallback(id: u32, now_ms: f64) -> Result<(), JsValue> {
    with(id, |e| {
        e.breaker.record_fallback(nanos(now_ms));
        Ok(())
    })
}

/// Permits handed out and not yet recorded.
#[wasm_bindgen(skip_typescript)]
pub fn outstanding(id: u32) -> Result<u32, JsValue> {
    with(id, |e| Ok(e.out))
}

fn set(o: &Object, key: &str, value: JsValue) {
    let _ = Reflect::set(o, &JsValue::from_str(key), &value);
}

fn num(v: f64) -> JsValue {
    JsValue::from_f64(v)
}

fn opt(v: Option<f64>) -> JsValue {
    v.map_or(JsValue::NULL, JsValue::from_f64)
}

/// Counters, rates and timings: the Node addon's `stats` fields (instants in ms).
#[wasm_bindgen(skip_typescript)]
pub fn stats(id: u32, now_ms: f64) -> Result<Object, JsValue> {
    with(id, |e| {
        let s = e.breaker.stats(nanos(now_ms));
        let o = Object::new();
        set(&o, "state", num(f64::from(state_code(s.state))));
        set(&o, "forcedOpen", JsValue::from_bool(s.forced_open));
        set(&o, "disabled", JsValue::from_bool(s.disabled));
        set(&o, "requests", num(s.requests as f64));
        set(&o, "successes", num(s.successes as f64));
        set(&o, "failures", num(s.failures as f64));
        set(&o, "timeouts", num(s.timeouts as f64));
        set(&o, "slowCalls", num(s.slow_calls as f64));
        set(&o, "rejected", num(s.rejected as f64));
        set(&o, "ignored", num(s.ignored as f64));
        set(
            &o,
            "consecutiveFailures",
            num(f64::from(s.consecutive_failures)),
        );
        set(
            &o,
            "consecutiveSuccesses",
            num(f64::from(s.consecutive_successes)),
        );
        set(&o, "failureStreak", num(f64::from(s.failure_streak)));
        set(&o, "windowCalls", num(f64::from(s.window_calls)));
        set(&o, "windowFailures", num(f64::from(s.window_failures)));
        set(&o, "failureRate", num(s.failure_rate));
        set(&o, "slowCallRate", num(s.slow_call_rate));
        set(&o, "lastSuccessAt", opt(s.last_success_at.map(millis)));
        set(&o, "lastFailureAt", opt(s.last_failure_at.map(millis)));
        set(&o, "nextAttemptAt", opt(s.next_attempt_at.map(millis)));
        set(
            &o,
            "meanLatency",
            num(s.mean_latency / NANOS_PER_MILLI as f64),
        );
        set(&o, "latencyP50", opt(s.latency_p50.map(millis)));
        set(&o, "latencyP90", opt(s.latency_p90.map(millis)));
        set(&o, "latencyP99", opt(s.latency_p99.map(millis)));
        set(&o, "trips", num(f64::from(s.trips)));
        Ok(o)
    })
}

/// The resolved configuration (ms), defaults applied: the Node addon's `settings`.
#[wasm_bindgen(skip_typescript)]
pub fn settings(id: u32) -> Result<Object, JsValue> {
    with(id, |e| {
        let c = e.breaker.config();
        let o = Object::new();
        let (threshold, rate) = match c.failure_threshold {
            Threshold::Count(n) => (f64::from(n), false),
            Threshold::Rate(r) => (r, true),
        };
        set(&o, "failureThreshold", num(threshold));
        set(&o, "rateThreshold", JsValue::from_bool(rate));
        set(
            &o,
            "minimumRequests",
            num(f64::from(c.effective_minimum_requests())),
        );
        set(&o, "recoveryTimeout", num(millis(c.open_duration)));
        set(&o, "requestTimeout", opt(c.call_timeout.map(millis)));
        set(&o, "successThreshold", num(f64::from(c.success_threshold)));
        set(
            &o,
            "halfOpenMaxCalls",
            num(f64::from(c.half_open_max_calls)),
        );
        match c.window {
            WindowKind::Time { duration, buckets } => {
                set(&o, "monitoringWindow", num(millis(duration)));
                set(&o, "windowBuckets", num(f64::from(buckets)));
            }
            WindowKind::Count { size } => set(&o, "countWindow", num(f64::from(size))),
        }
        set(
            &o,
            "expectedResponseTime",
            opt(c.slow_call_duration.map(millis)),
        );
        set(&o, "slowCallRateThreshold", opt(c.slow_call_rate_threshold));
        if let Backoff::Exponential {
            multiplier,
            max,
            jitter,
        } = c.backoff
        {
            set(&o, "backoffMultiplier", num(multiplier));
            set(&o, "maxRecoveryTimeout", num(millis(max)));
            set(&o, "backoffJitter", num(jitter));
        }
        set(&o, "seed", num(c.seed as f64));
        set(
            &o,
            "ignoredAsSuccess",
            JsValue::from_bool(c.ignored_as_success),
        );
        set(
            &o,
            "strictRateThreshold",
            JsValue::from_bool(c.strict_rate_threshold),
        );
        set(&o, "rejectsInRate", JsValue::from_bool(c.rejects_in_rate));
        set(&o, "keepWindow", JsValue::from_bool(c.keep_window));
        set(&o, "halfOpenTimer", JsValue::from_bool(c.half_open_timer));
        set(&o, "halfOpenWait", JsValue::from_bool(c.half_open_wait));
        set(&o, "windowStats", JsValue::from_bool(c.window_stats));
        Ok(o)
    })
}
