//! What the breaker-vector runners share (`vectors.rs` replays the vectors on a
//! `Breaker`, `fleet_vectors.rs` on a `FleetBreaker`): reading a vector's config and
//! outcomes, and comparing stats with its expectations.

use serde_json::{Map, Value};
use tripwire_core::{Config, OptionValue, Options, Outcome, Stats, Transition, Unit};

pub const NS_PER_MS: f64 = 1e6;

pub fn config(json: &Map<String, Value>) -> Config {
    let mut options = Options::new(Unit::Millis);
    for (key, value) in json {
        let name = key.strip_suffix("_ms").unwrap_or(key);
        let value = match value {
            Value::Number(n) => OptionValue::Number(n.as_f64().unwrap()),
            Value::Bool(b) => OptionValue::Bool(*b),
            Value::Null => OptionValue::Missing,
            Value::String(text) => OptionValue::Text {
                value: text,
                kind: "a string",
            },
            _ => OptionValue::Other("other"),
        };
        assert!(
            options.set(name, value).expect("valid option"),
            "unknown option {key}"
        );
    }
    options.build().expect("valid config")
}

pub fn outcome(name: &str) -> Outcome {
    match name {
        "success" => Outcome::Success,
        "failure" => Outcome::Failure,
        "timeout" => Outcome::Timeout,
        "ignore" => Outcome::Ignored,
        "cancel" => Outcome::Cancelled,
        other => panic!("unknown outcome {other}"),
    }
}

pub fn ms(ns: Option<u64>) -> Value {
    ns.map_or(Value::Null, |ns| serde_json::json!(ns as f64 / NS_PER_MS))
}

pub fn stat(stats: &Stats, key: &str) -> Value {
    use serde_json::json;
    match key {
        "requests" => json!(stats.requests),
        "successes" => json!(stats.successes),
        "failures" => json!(stats.failures),
        "timeouts" => json!(stats.timeouts),
        "slow_calls" => json!(stats.slow_calls),
        "rejected" => json!(stats.rejected),
        "ignored" => json!(stats.ignored),
        "consecutive_failures" => json!(stats.consecutive_failures),
        "consecutive_successes" => json!(stats.consecutive_successes),
        "failure_streak" => json!(stats.failure_streak),
        "window_calls" => json!(stats.window_calls),
        "window_failures" => json!(stats.window_failures),
        "failure_rate" => json!(stats.failure_rate),
        "slow_call_rate" => json!(stats.slow_call_rate),
        "trips" => json!(stats.trips),
        "next_attempt_ms" => ms(stats.next_attempt_at),
        "last_success_ms" => ms(stats.last_success_at),
        "last_failure_ms" => ms(stats.last_failure_at),
        other => panic!("unknown stat {other}"),
    }
}

pub fn same(expected: &Value, actual: &Value) -> bool {
    match (expected, actual) {
        (Value::Array(e), Value::Array(a)) => {
            e.len() == a.len() && e.iter().zip(a).all(|(e, a)| same(e, a))
        }
        _ => match (expected.as_f64(), actual.as_f64()) {
            (Some(e), Some(a)) => (e - a).abs() <= 1e-9,
            _ => expected == actual,
        },
    }
}

/// The windowed statistics under the vector's names (README, `window_stats`), or null.
pub fn window_stats(stats: Option<tripwire_core::WindowStats>) -> Value {
    use serde_json::json;
    let Some(w) = stats else {
        return Value::Null;
    };
    let t = w.total;
    json!({
        "successes": t.successes,
        "failures": t.failures,
        "rejects": t.rejects,
        "timeouts": t.timeouts,
        "fallbacks": t.fallbacks,
        "buckets": w.buckets.iter().map(|b| json!([b.successes, b.failures, b.rejects, b.timeouts])).collect::<Vec<_>>(),
        "percentiles_ms": w.percentiles.iter().map(|p| ms(*p)).collect::<Vec<_>>(),
    })
}

/// What one step produced, to compare with its `expect`.
#[derive(Default)]
pub struct Seen {
    pub permit: Option<bool>,
    pub rejected: Option<(&'static str, Option<u64>)>,
    pub transition: Option<Option<Transition>>,
    /// What a half-open timer reported while the clock moved to the step's instant.
    pub timer: Option<Transition>,
}
