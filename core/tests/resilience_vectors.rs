//! Replays `tests/vectors/resilience/*.json` against the core's resilience decisions.

mod common;

use std::path::Path;

use serde_json::{json, Value};
use tripwire_core::resilience::{
    all_circuits_open_alert, check_health, dead_letter_alert, error_rate_alert, service_health,
    Bulkhead, BulkheadConfig, Classifier, Entry, RetryPolicy, Ticket,
};
use tripwire_core::{OptionValue, Rng, State, Unit};

const NS_PER_MS: f64 = 1e6;

/// Feeds a vector's `{snake_case[_ms]: number}` object to a `set(name, value, unit)`.
fn apply(options: &Value, mut set: impl FnMut(&str, OptionValue<'_>) -> bool) {
    for (key, value) in options.as_object().unwrap() {
        let name = key.strip_suffix("_ms").unwrap_or(key);
        assert!(
            set(name, OptionValue::Number(value.as_f64().unwrap())),
            "unknown option {key}"
        );
    }
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect()
}

fn state(name: &str) -> State {
    match name {
        "CLOSED" => State::Closed,
        "OPEN" => State::Open,
        "HALF_OPEN" => State::HalfOpen,
        other => panic!("unknown state {other}"),
    }
}

fn close(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => (x - y).abs() <= 1e-9,
        _ => a == b,
    }
}

fn bulkhead(v: &Value, name: &str) {
    let mut config = BulkheadConfig {
        max_queue_wait: None,
        ..BulkheadConfig::default()
    };
    apply(&v["config"], |k, x| config.set(k, x, Unit::Millis).unwrap());
    let mut b = Bulkhead::new(config).unwrap();
    for (i, step) in v["steps"].as_array().unwrap().iter().enumerate() {
        let now = (step["at"].as_f64().unwrap() * NS_PER_MS) as u64;
        let ctx = format!("{name} (step {i})");
        let mut seen = serde_json::Map::new();
        match step["op"].as_str().unwrap() {
            "enter" => match b.try_enter(now) {
                Entry::Run => drop(seen.insert("entry".into(), "run".into())),
                Entry::Rejected => drop(seen.insert("entry".into(), "rejected".into())),
                Entry::Queued(Ticket(t)) => {
                    seen.insert("entry".into(), "queued".into());
                    seen.insert("ticket_is".into(), json!(t));
                }
            },
            "leave" => drop(seen.insert("admitted".into(), json!(b.leave(now).map(|t| t.0)))),
            "abandon" => {
                let ticket = Ticket(step["ticket"].as_u64().unwrap());
                seen.insert("abandoned".into(), json!(b.abandon(ticket)));
            }
            "expire" => drop(seen.insert(
                "expired".into(),
                json!(b.expire(now).iter().map(|t| t.0).collect::<Vec<_>>()),
            )),
            other => panic!("{ctx}: unknown op {other}"),
        }
        let s = b.stats();
        seen.insert(
            "stats".into(),
            json!({
                "running": s.running, "queued": s.queued, "rejected": s.rejected, "admitted": s.admitted,
                "peak_running": s.peak_running, "saturated": s.saturated,
                "mean_wait_ms": s.mean_wait / NS_PER_MS, "max_wait_ms": s.max_wait as f64 / NS_PER_MS,
            }),
        );
        let Some(expect) = step.get("expect").and_then(Value::as_object) else {
            continue;
        };
        for (key, want) in expect {
            if key == "stats" {
                for (k, w) in want.as_object().unwrap() {
                    assert!(
                        close(w, &seen["stats"][k]),
                        "{ctx}: stats.{k} expected {w}, got {}",
                        seen["stats"][k]
                    );
                }
            } else {
                let got = seen
                    .get(key)
                    .unwrap_or_else(|| panic!("{ctx}: step reports no {key}"));
                assert!(close(want, got), "{ctx}: {key} expected {want}, got {got}");
            }
        }
    }
}

fn replay(path: &Path) {
    let v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let name = v["name"].as_str().unwrap();
    match v["kind"].as_str().unwrap() {
        "retry_delays" => {
            let mut policy = RetryPolicy::default();
            apply(&v["policy"], |k, x| policy.set(k, x, Unit::Millis).unwrap());
            let mut rng = v.get("seed").map(|s| Rng::new(s.as_u64().unwrap()));
            for (i, want) in v["delays_ms"].as_array().unwrap().iter().enumerate() {
                let unit = rng.as_mut().map_or(0.0, Rng::next_unit);
                let got = policy.delay(i as u32 + 1, unit) as f64 / NS_PER_MS;
                assert!(
                    close(want, &json!(got)),
                    "{name}: delay after attempt {} expected {want}, got {got}",
                    i + 1
                );
            }
        }
        "classify" => {
            let classifier = Classifier {
                retryable: strings(&v["retryable_errors"]),
                non_retryable: strings(&v["non_retryable_errors"]),
            };
            for case in v["cases"].as_array().unwrap() {
                let got = classifier.should_retry(
                    case["code"].as_str(),
                    case["status"].as_u64().map(|s| s as u16),
                    case["circuit_open"].as_bool().unwrap(),
                );
                assert_eq!(got, case["retry"].as_bool().unwrap(), "{name}: {case}");
            }
        }
        "bulkhead" => bulkhead(&v, name),
        "health_checks" => {
            for case in v["cases"].as_array().unwrap() {
                let checks = case["checks"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|c| (c[0].as_bool().unwrap(), c[1].as_bool().unwrap()));
                assert_eq!(
                    check_health(checks).as_str(),
                    case["expect"],
                    "{name}: {case}"
                );
            }
        }
        "service_health" => {
            for case in v["cases"].as_array().unwrap() {
                let states = case["breakers"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|s| state(s.as_str().unwrap()));
                let got = service_health(states, case["bulkhead_saturated"].as_bool().unwrap());
                assert_eq!(got.as_str(), case["expect"], "{name}: {case}");
            }
        }
        "alerts" => {
            for case in v["error_rate"].as_array().unwrap() {
                let got = error_rate_alert(
                    case["window_calls"].as_u64().unwrap() as u32,
                    case["window_failures"].as_u64().unwrap() as u32,
                );
                assert_eq!(
                    got,
                    case["expect"].as_bool().unwrap(),
                    "{name}: error rate {case}"
                );
            }
            for case in v["dead_letter"].as_array().unwrap() {
                let got = dead_letter_alert(case["size"].as_u64().unwrap() as usize);
                assert_eq!(
                    got,
                    case["expect"].as_bool().unwrap(),
                    "{name}: dead letters {case}"
                );
            }
            for case in v["all_circuits_open"].as_array().unwrap() {
                let states = case["breakers"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|s| state(s.as_str().unwrap()));
                let got = all_circuits_open_alert(states, case["ongoing"].as_bool().unwrap());
                assert_eq!(
                    got,
                    case["expect"].as_bool().unwrap(),
                    "{name}: all open {case}"
                );
            }
        }
        other => panic!("{name}: unknown kind {other}"),
    }
}

#[test]
fn every_resilience_vector_replays() {
    common::replay_all("resilience", 10, replay);
}
