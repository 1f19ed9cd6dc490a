//! Core `Stats` as the plain object JS callers read: the Node package's
//! `getStats()` fields.

use js_sys::{Object, Reflect};
use tripwire_core::{Config, Stats, Threshold, WindowKind};
use wasm_bindgen::prelude::*;

use crate::breaker::{state_name, Inner};
use crate::clock::to_millis;

#[wasm_bindgen(typescript_custom_section)]
const STATS_TS: &'static str = r#"
/** The options in force, defaults resolved (durations in ms). */
export interface ResolvedOptions {
  name: string;
  failureThreshold: number;
  minimumRequests: number;
  recoveryTimeout: number;
  requestTimeout: number | null;
  successThreshold: number;
  halfOpenMaxCalls: number;
  monitoringWindow: number | null;
  countWindow: number | null;
  expectedResponseTime: number | null;
  slowCallRateThreshold: number | null;
}

/**
 * `breaker.stats()` / `getStats()`: counters since construction or the last
 * `reset()`; instants in epoch ms (the clock's ms with a given clock). The Node
 * package's fields.
 */
export interface CircuitBreakerStats {
  name: string;
  state: CircuitStateName;
  /** Calls that failed (timeouts included). */
  failureCount: number;
  /** Calls that succeeded. */
  successCount: number;
  /** Calls that ran (successes + failures). */
  totalRequests: number;
  /** Failure rate over the window, 0..1. */
  failureRate: number;
  /** Every call made: ran, ignored or refused. */
  totalCalls: number;
  totalFailures: number;
  totalSuccesses: number;
  totalTimeouts: number;
  /** Calls refused. */
  rejectedCount: number;
  /** Calls ignored (errorFilter) or cancelled (the caller's abort). */
  ignoredCount: number;
  /** Calls slower than expectedResponseTime. */
  slowCallCount: number;
  slowCallRate: number;
  consecutiveFailures: number;
  consecutiveSuccesses: number;
  windowCalls: number;
  windowFailures: number;
  /** Consecutive trips without closing (drives backoff). */
  trips: number;
  /** Mean call duration, ms. */
  averageResponseTime: number;
  latencyP50: number | null;
  latencyP90: number | null;
  latencyP99: number | null;
  lastError: string | undefined;
  lastFailureTime: number | null;
  lastSuccessTime: number | null;
  /** When an open circuit admits a trial, or 0. */
  nextAttemptTime: number;
  forcedOpen: boolean;
  disabled: boolean;
  options: ResolvedOptions;
}
"#;

#[wasm_bindgen]
extern "C" {
    /// `CircuitBreakerStats` in the generated `.d.ts`.
    #[wasm_bindgen(typescript_type = "CircuitBreakerStats")]
    pub type JsStats;
}

fn set(object: &Object, key: &str, value: JsValue) {
    let _ = Reflect::set(object, &JsValue::from_str(key), &value);
}

fn millis(ns: Option<u64>) -> JsValue {
    ns.map_or(JsValue::NULL, |ns| JsValue::from_f64(to_millis(ns)))
}

fn options(name: &JsValue, config: &Config) -> Object {
    let object = Object::new();
    set(&object, "name", name.clone());
    let threshold = match config.failure_threshold {
        Threshold::Count(n) => f64::from(n),
        Threshold::Rate(r) => r,
    };
    set(&object, "failureThreshold", threshold.into());
    set(
        &object,
        "minimumRequests",
        config.effective_minimum_requests().into(),
    );
    set(
        &object,
        "recoveryTimeout",
        to_millis(config.open_duration).into(),
    );
    set(&object, "requestTimeout", millis(config.call_timeout));
    set(&object, "successThreshold", config.success_threshold.into());
    set(
        &object,
        "halfOpenMaxCalls",
        config.half_open_max_calls.into(),
    );
    let (window, count) = match config.window {
        WindowKind::Time { duration, .. } => (millis(Some(duration)), JsValue::NULL),
        WindowKind::Count { size } => (JsValue::NULL, size.into()),
    };
    set(&object, "monitoringWindow", window);
    set(&object, "countWindow", count);
    set(
        &object,
        "expectedResponseTime",
        millis(config.slow_call_duration),
    );
    set(
        &object,
        "slowCallRateThreshold",
        config
            .slow_call_rate_threshold
            .map_or(JsValue::NULL, JsValue::from_f64),
    );
    object
}

pub(crate) fn to_js(inner: &Inner, stats: &Stats) -> JsStats {
    let object = Object::new();
    let n = |v: u64| JsValue::from_f64(v as f64);
    let epoch = |ns: Option<u64>| {
        ns.map_or(JsValue::NULL, |ns| {
            JsValue::from_f64(inner.clock.epoch_ms(ns))
        })
    };
    set(&object, "name", inner.name_js.clone());
    set(&object, "state", state_name(stats.state));
    set(&object, "failureCount", n(stats.failures));
    set(&object, "successCount", n(stats.successes));
    set(&object, "totalRequests", n(stats.requests));
    set(&object, "failureRate", stats.failure_rate.into());
    set(
        &object,
        "totalCalls",
        n(stats.requests + stats.ignored + stats.rejected),
    );
    set(&object, "totalFailures", n(stats.failures));
    set(&object, "totalSuccesses", n(stats.successes));
    set(&object, "totalTimeouts", n(stats.timeouts));
    set(&object, "rejectedCount", n(stats.rejected));
    set(&object, "ignoredCount", n(stats.ignored));
    set(&object, "slowCallCount", n(stats.slow_calls));
    set(&object, "slowCallRate", stats.slow_call_rate.into());
    set(
        &object,
        "consecutiveFailures",
        stats.consecutive_failures.into(),
    );
    set(
        &object,
        "consecutiveSuccesses",
        stats.consecutive_successes.into(),
    );
    set(&object, "windowCalls", stats.window_calls.into());
    set(&object, "windowFailures", stats.window_failures.into());
    set(&object, "trips", stats.trips.into());
    set(
        &object,
        "averageResponseTime",
        (stats.mean_latency / tripwire_core::NANOS_PER_MILLI as f64).into(),
    );
    set(&object, "latencyP50", millis(stats.latency_p50));
    set(&object, "latencyP90", millis(stats.latency_p90));
    set(&object, "latencyP99", millis(stats.latency_p99));
    set(
        &object,
        "lastError",
        inner
            .last_error
            .borrow()
            .as_deref()
            .map_or(JsValue::UNDEFINED, JsValue::from_str),
    );
    set(&object, "lastFailureTime", epoch(stats.last_failure_at));
    set(&object, "lastSuccessTime", epoch(stats.last_success_at));
    set(
        &object,
        "nextAttemptTime",
        stats.next_attempt_at.map_or(JsValue::from_f64(0.0), |ns| {
            JsValue::from_f64(inner.clock.epoch_ms(ns))
        }),
    );
    set(&object, "forcedOpen", stats.forced_open.into());
    set(&object, "disabled", stats.disabled.into());
    set(
        &object,
        "options",
        options(&inner.name_js, inner.core.borrow().config()).into(),
    );
    object.unchecked_into()
}
