//! Replays every conformance vector in `tests/vectors/` against the core.

use std::collections::HashMap;
mod common;

use common::breaker_vectors::{config, ms, outcome, same, stat, window_stats, Seen, NS_PER_MS};

use std::path::Path;

use serde_json::Value;
use tripwire_core::{Breaker, Permit};

fn replay(path: &Path) {
    replay_json(&std::fs::read_to_string(path).unwrap());
}

fn replay_json(json: &str) {
    let vector: Value = serde_json::from_str(json).unwrap();
    let name = vector["name"].as_str().unwrap_or("?");
    let config = config(vector["config"].as_object().expect("config"));
    let mut breaker = Breaker::new_at(config, 0).unwrap();
    let mut permits: HashMap<String, Permit> = HashMap::new();
    let mut clock = 0u64;
    for (i, step) in vector["steps"].as_array().unwrap().iter().enumerate() {
        let at = (step["at"].as_f64().expect("at") * NS_PER_MS) as u64;
        assert!(at >= clock, "{name}: step {i} goes back in time");
        clock = at;
        let op = step["op"].as_str().unwrap();
        let mut seen = Seen::default();
        // The binding's half-open timer: due on the way to `at`, it fires at its instant.
        if let Some(due) = breaker.half_open_due().filter(|due| *due <= at) {
            seen.timer = breaker.elapse(due);
        }
        let acquire = |breaker: &mut Breaker, seen: &mut Seen, now| match breaker.try_acquire(now) {
            Ok(permit) => {
                seen.permit = Some(true);
                seen.transition = Some(permit.transition());
                Some(permit)
            }
            Err(rejected) => {
                seen.permit = Some(false);
                seen.rejected = Some((rejected.state.as_str(), rejected.retry_after));
                seen.transition = Some(None);
                None
            }
        };
        match op {
            "acquire" => {
                if let Some(permit) = acquire(&mut breaker, &mut seen, clock) {
                    if let Some(id) = step["id"].as_str() {
                        permits.insert(id.to_owned(), permit);
                    }
                }
            }
            "success" | "failure" | "timeout" | "ignore" | "cancel" => {
                let id = step["id"].as_str().expect("id");
                let permit = permits
                    .remove(id)
                    .unwrap_or_else(|| panic!("{name}: no permit {id}"));
                seen.transition = Some(breaker.record(permit, outcome(op), clock));
            }
            "call" => {
                if let Some(permit) = acquire(&mut breaker, &mut seen, clock) {
                    clock += (step["duration"].as_f64().unwrap_or(0.0) * NS_PER_MS) as u64;
                    let t =
                        breaker.record(permit, outcome(step["outcome"].as_str().unwrap()), clock);
                    seen.transition = Some(t.or(seen.transition.flatten()));
                }
            }
            "force_open" => seen.transition = Some(Some(breaker.force_open(clock))),
            "trip" => seen.transition = Some(Some(breaker.trip(clock))),
            "half_open" => seen.transition = Some(Some(breaker.half_open(clock))),
            "close" => seen.transition = Some(Some(breaker.close(clock))),
            "reset" => seen.transition = Some(Some(breaker.reset(clock))),
            "disable" => seen.transition = Some(Some(breaker.disable(clock))),
            "enable" => seen.transition = Some(Some(breaker.enable(clock))),
            "snapshot_restore" => {
                let json = serde_json::to_string(&breaker.snapshot(clock)).unwrap();
                let snapshot = serde_json::from_str(&json).unwrap();
                breaker = Breaker::restore(config, &snapshot, clock).unwrap();
                permits.clear();
            }
            "check" => {}
            other => panic!("{name}: unknown op {other}"),
        }
        let ctx = format!("{name} (step {i}: {op} at {})", step["at"]);
        let Some(expect) = step.get("expect").and_then(Value::as_object) else {
            continue;
        };
        for (key, want) in expect {
            let got = match key.as_str() {
                "permit" => {
                    serde_json::json!(seen.permit.unwrap_or_else(|| panic!("{ctx}: no acquire")))
                }
                "rejected" => serde_json::json!(seen.rejected.map(|r| r.0)),
                "retry_after_ms" => ms(seen.rejected.and_then(|r| r.1)),
                "transition" => {
                    let t = seen
                        .transition
                        .unwrap_or_else(|| panic!("{ctx}: step reports no transition"));
                    t.map_or(Value::Null, |t| {
                        format!("{}->{}", t.from.as_str(), t.to.as_str()).into()
                    })
                }
                "window_stats" => {
                    let got = window_stats(breaker.window_stats(clock));
                    if want.is_null() || got.is_null() {
                        assert_eq!(want, &got, "{ctx}: window_stats");
                        continue;
                    }
                    for (k, v) in want.as_object().unwrap() {
                        assert!(
                            same(v, &got[k]),
                            "{ctx}: window_stats.{k} expected {v}, got {}",
                            got[k]
                        );
                    }
                    continue;
                }
                "timer" => seen.timer.map_or(Value::Null, |t| {
                    format!("{}->{}", t.from.as_str(), t.to.as_str()).into()
                }),
                "state" => breaker.state(clock).as_str().into(),
                "stats" => {
                    let stats = breaker.stats(clock);
                    for (k, v) in want.as_object().unwrap() {
                        let got = stat(&stats, k);
                        assert!(same(v, &got), "{ctx}: stats.{k} expected {v}, got {got}");
                    }
                    continue;
                }
                other => panic!("{ctx}: unknown expectation {other}"),
            };
            assert!(same(want, &got), "{ctx}: {key} expected {want}, got {got}");
        }
    }
}

#[test]
fn every_vector_replays() {
    common::replay_all("", 40, replay);
}

/// The example in `tests/vectors/README.md` is a vector like the others. Every fenced
/// block there must be `json` (a vector): any other fence fails, so none is skipped.
#[test]
fn readme_example_replays() {
    let readme = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors/README.md");
    let text = std::fs::read_to_string(&readme).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let mut replayed = 0;
    let mut i = 0;
    while i < lines.len() {
        let Some(info) = lines[i].strip_prefix("```") else {
            i += 1;
            continue;
        };
        let at = i + 1;
        assert_eq!(
            info.trim(),
            "json",
            "tests/vectors/README.md:{at}: a ```{info} block; only ```json (a vector) is expected here"
        );
        let end = (i + 1..lines.len())
            .find(|&j| lines[j] == "```")
            .unwrap_or_else(|| panic!("tests/vectors/README.md:{at}: unclosed fence"));
        let json = lines[i + 1..end].join("\n");
        if let Err(panic) = std::panic::catch_unwind(|| replay_json(&json)) {
            eprintln!("tests/vectors/README.md:{at}: the example vector does not replay");
            std::panic::resume_unwind(panic);
        }
        replayed += 1;
        i = end + 1;
    }
    assert!(replayed >= 1, "no example vector in {}", readme.display());
}
