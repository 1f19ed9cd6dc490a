//! Core `Stats` as the plain object JS callers read (the Node package's field names).

use js_sys::{Object, Reflect};
use tripwire_core::Stats;
use wasm_bindgen::prelude::*;

use crate::clock::to_millis;

#[wasm_bindgen(typescript_custom_section)]
const STATS_TS: &'static str = r#"
/** `breaker.stats()`: totals since construction or the last `reset()`; times in ms of the breaker's clock. */
export interface CircuitBreakerStats {
  state: CircuitStateName;
  forcedOpen: boolean;
  disabled: boolean;
  /** Calls that ran: successes + failures (timeouts included). Also `totalRequests`, `totalCalls`. */
  requests: number;
  totalRequests: number;
  totalCalls: number;
  successes: number;
  totalSuccesses: number;
  /** Failures, timeouts included. */
  failures: number;
  totalFailures: number;
  timeouts: number;
  totalTimeouts: number;
  slowCalls: number;
  /** Calls refused while open (or half-open with no free trial). */
  rejected: number;
  /** Calls ignored or cancelled (e.g. aborted by the caller). */
  ignored: number;
  consecutiveFailures: number;
  consecutiveSuccesses: number;
  windowCalls: number;
  windowFailures: number;
  /** Failure rate over the window, 0..1. */
  failureRate: number;
  slowCallRate: number;
  lastSuccessAt: number | null;
  lastFailureAt: number | null;
  /** When an open breaker admits a trial call (null unless OPEN by a trip). */
  nextAttemptAt: number | null;
  /** Mean call duration, ms. Also `averageResponseTime`. */
  meanLatency: number;
  averageResponseTime: number;
  latencyP50: number | null;
  latencyP90: number | null;
  latencyP99: number | null;
  /** Consecutive trips without closing (drives backoff). */
  trips: number;
}
"#;

#[wasm_bindgen]
extern "C" {
    /// `CircuitBreakerStats` in the generated `.d.ts`.
    #[wasm_bindgen(typescript_type = "CircuitBreakerStats")]
    pub type JsStats;
}

fn millis(ns: Option<u64>) -> JsValue {
    ns.map_or(JsValue::NULL, |ns| JsValue::from_f64(to_millis(ns)))
}

pub(crate) fn to_js(stats: &Stats) -> JsStats {
    let object = Object::new();
    let set = |key: &str, value: JsValue| {
        let _ = Reflect::set(&object, &JsValue::from_str(key), &value);
    };
    let n = |v: u64| JsValue::from_f64(v as f64);
    set("state", JsValue::from_str(stats.state.as_str()));
    set("forcedOpen", stats.forced_open.into());
    set("disabled", stats.disabled.into());
    for key in ["requests", "totalRequests", "totalCalls"] {
        set(key, n(stats.requests));
    }
    for key in ["successes", "totalSuccesses"] {
        set(key, n(stats.successes));
    }
    for key in ["failures", "totalFailures"] {
        set(key, n(stats.failures));
    }
    for key in ["timeouts", "totalTimeouts"] {
        set(key, n(stats.timeouts));
    }
    set("slowCalls", n(stats.slow_calls));
    set("rejected", n(stats.rejected));
    set("ignored", n(stats.ignored));
    set("consecutiveFailures", stats.consecutive_failures.into());
    set("consecutiveSuccesses", stats.consecutive_successes.into());
    set("windowCalls", stats.window_calls.into());
    set("windowFailures", stats.window_failures.into());
    set("failureRate", stats.failure_rate.into());
    set("slowCallRate", stats.slow_call_rate.into());
    set("lastSuccessAt", millis(stats.last_success_at));
    set("lastFailureAt", millis(stats.last_failure_at));
    set("nextAttemptAt", millis(stats.next_attempt_at));
    let mean = JsValue::from_f64(stats.mean_latency / tripwire_core::NANOS_PER_MILLI as f64);
    set("meanLatency", mean.clone());
    set("averageResponseTime", mean);
    set("latencyP50", millis(stats.latency_p50));
    set("latencyP90", millis(stats.latency_p90));
    set("latencyP99", millis(stats.latency_p99));
    set("trips", stats.trips.into());
    object.unchecked_into()
}
